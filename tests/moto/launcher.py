#!/usr/bin/env python3
"""Starts a moto server for engine's tests, with a few documented gaps patched.

Usage: python3 tests/moto/launcher.py --port N [--host 127.0.0.1]
           [--realistic [--scale F] [--throttle-rate R] [--seed S]]

The server exits by itself when its standard input closes, so a test process that
dies (or never drops its handle) cannot leak it: the Rust helper
(`engine_aws::moto::MotoServer`) keeps a pipe to our stdin open for as long as it
needs the server.

Each patch below fills a gap of moto 5.2.5 with the behaviour that AWS documents.
Keep them few and faithful; remove one when moto implements the call itself.

1. ElastiCache DeleteCacheSubnetGroup is not implemented (moto answers HTTP 500,
   which the SDK retries). AWS: deletes the group; `CacheSubnetGroupNotFoundFault`
   if it does not exist, `CacheSubnetGroupInUse` while a replication group uses it.
2. ElastiCache ModifyCacheSubnetGroup is not implemented. AWS: replaces the
   description and/or the subnet list of an existing group.
3. A deleted replication group stays in `deleting` forever. AWS: `deleting`, then
   the group disappears (DescribeReplicationGroups says ReplicationGroupNotFoundFault).
   Patched: the DeleteReplicationGroup answer still says `deleting`, and the group is
   gone from the next Describe on.
4. CreateReplicationGroup ignores `NumCacheClusters` when cluster mode is disabled
   (members follow `ReplicasPerNodeGroup`). AWS: `NumCacheClusters` nodes, one
   primary plus replicas. Patched by deriving `ReplicasPerNodeGroup` from it.
5. A replication group's node group has no `ReaderEndpoint`. AWS: cluster-mode
   disabled groups report `ReaderEndpoint` (address and port) beside
   `PrimaryEndpoint`. Patched by filling it from the reader address moto computes.
6. RDS ModifyDBSubnetGroup removes the group from the backend (it pops the group and
   never stores it back), so it is gone afterwards. AWS: the group stays, modified.
7. EC2 DescribeVpcEndpoints does not know the `vpc-endpoint-id` filter (HTTP 500).
   AWS documents it ("vpc-endpoint-id - The ID of the endpoint").
8. DeleteVpcEndpoints fails with InvalidRoute.NotFound for a gateway endpoint whose
   route tables were added by ModifyVpcEndpoint (moto adds no route for them).
   AWS: the endpoint and whatever routes it has are deleted. Patched by skipping
   routes that do not exist.
9. AWS managed IAM policies (e.g. AmazonRDSEnhancedMonitoringRole) exist only with
   MOTO_IAM_LOAD_MANAGED_POLICIES=true, which this launcher sets.
10. S3 GetBucketVersioning answers with the root element
   `<GetBucketVersioningResponse>`, which the SDK cannot parse. AWS answers
   `<VersioningConfiguration>` with a `Status` (`Enabled` or `Suspended`), empty
   when "the versioning state has never been set on a bucket":
   https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html
11. Kinesis CreateStream ignores `Tags`. AWS: "A set of up to 50 key-value pairs to
   use to create the tags", applied with the stream:
   https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html
12. RDS CreateDBSubnetGroup silently replaces a group of the same name. AWS:
   `DBSubnetGroupAlreadyExists` ("DBSubnetGroupName is already used by an
   existing DB subnet group"):
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html
13. S3 conditional writes (PutObject with `If-None-Match: *` or `If-Match: ETAG`,
   DeleteObject with `If-Match`) check the condition and then write in two steps,
   on a threaded server: two requests racing for one key can both pass the check.
   AWS evaluates the condition with the write: "If multiple conditional writes
   occur for the same object name, the first write operation to finish succeeds"
   and the others get 412 Precondition Failed (the engine's S3 state lock relies
   on it). Patched by making every S3 object write and delete one step:
   https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
   https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html

Realistic profile
-----------------
Without `--realistic` the server is the fast profile above: everything answers at
once and moto forgives. With it (implemented in realistic.py), the server also
reproduces, as AWS documents them, behaviours that moto forgives, with durations
scaled down: every duration below is the default at `--scale 1` and is multiplied
by `--scale F`. A phase runs on wall-clock time from the call that started it;
statuses are worked out lazily before each request. `GET /engine-realistic/profile`
answers the active durations (after scale) as JSON, `GET /engine-realistic/stats`
the calls and injected throttles per service (also printed to stderr on exit), and
the S3 write conflicts answered (`s3_conflicts`, R11).

R1. RDS DB instance phases. CreateDBInstance answers `creating`; Describe shows
   `creating` for 4 s, `backing-up` for 2 s, then `available`. ModifyDBInstance:
   `modifying` for 2 s. DeleteDBInstance: `deleting` for 3 s, then gone
   (DBInstanceNotFound). Modify and Delete of an instance that is not `available`
   answer InvalidDBInstanceState (HTTP 400) "Instance X is not in available state."
   ("Instance X is already being deleted." while `deleting`; a `stopped` instance
   can be deleted):
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html
R2. RDS engine versions. A retired postgres minor (15.2 to 15.5), or any minor not
   offered, is refused: InvalidParameterCombination "Cannot find version 15.4 for
   postgres". A major version (`15`) is its newest offered minor (15.12), which
   Describe reports; no version is the newest offered. DescribeDBEngineVersions
   (HTTP 500 in moto) lists the offered ones (realistic.AVAILABLE):
   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.PostgreSQL.MinorUpgrade.html
   https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-release-calendar.html
R3. IAM propagation. CreateDBInstance or ModifyDBInstance whose MonitoringRoleArn
   names a role created less than 3 s ago (or no role at all) answers InvalidParameterValue
   (HTTP 400) "IAM role ARN value is invalid or does not include the required
   permissions for: ENHANCED_MONITORING"; IAM changes are eventually consistent:
   https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
R4. ElastiCache replication group phases: `creating` 4 s, then `available`;
   ModifyReplicationGroup: `modifying` 2 s; DeleteReplicationGroup: `deleting` 3 s,
   then gone (ReplicationGroupNotFoundFault), and its cache subnet group stays in
   use meanwhile (CacheSubnetGroupInUse, patch 1). While not `available`,
   ModifyReplicationGroup, DeleteReplicationGroup and ListTagsForResource,
   AddTagsToResource, RemoveTagsFromResource on its ARN answer
   InvalidReplicationGroupState (HTTP 400):
   https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ListTagsForResource.html
   https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_DeleteReplicationGroup.html
R5. Kinesis stream phases: `CREATING` 2 s, then `ACTIVE`; StartStreamEncryption,
   StopStreamEncryption, UpdateShardCount, Increase/DecreaseStreamRetentionPeriod:
   `UPDATING` 2 s; DeleteStream: `DELETING` 2 s, then gone (ResourceNotFoundException).
   Unless the stream is ACTIVE, those calls and AddTagsToStream, RemoveTagsFromStream,
   Enable/DisableEnhancedMonitoring answer ResourceInUseException (HTTP 400) "Stream X
   under account A not ACTIVE, instead in state S":
   https://docs.aws.amazon.com/kinesis/latest/APIReference/API_StartStreamEncryption.html
   https://docs.aws.amazon.com/kinesis/latest/APIReference/API_AddTagsToStream.html
R6. VPC endpoint phases: `pending` 2 s, then `available`; DeleteVpcEndpoints:
   `deleting` 2 s, then `deleted` (still listed, as in the fast profile). Until an
   interface endpoint is `deleted`, DeleteSubnet of its subnets ("The subnet 'X' has
   dependencies and cannot be deleted.") and DeleteSecurityGroup of its groups
   ("resource X has a dependent object") answer DependencyViolation (its network
   interfaces are still in use):
   https://docs.aws.amazon.com/vpc/latest/privatelink/delete-interface-endpoint.html
   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSubnet.html
R7. Secrets Manager. CreateSecret of a name scheduled for deletion answers
   InvalidRequestException "You can't create this secret because a secret with this
   name is already scheduled for deletion." (moto: ResourceExistsException);
   DeleteSecret of a secret scheduled for deletion (without
   ForceDeleteWithoutRecovery) answers InvalidRequestException "You can't perform
   this operation on the secret because it was marked for deletion." ListSecrets is
   eventually consistent: a secret created less than 3 s ago is not listed yet
   (DescribeSecret sees it at once, with DeletedDate once scheduled):
   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html
R8. KMS ListAliases lags: an alias created less than 3 s ago is not listed yet (KMS
   is eventually consistent). ScheduleKeyDeletion leaves the key PendingDeletion
   (moto already does):
   https://docs.aws.amazon.com/kms/latest/developerguide/accessing-kms.html#programming-eventual-consistency
R9. EC2 eventual consistency. For 1 s after CreateVpc, CreateSubnet,
   CreateSecurityGroup, CreateRouteTable or CreateInternetGateway, the mutating calls
   AuthorizeSecurityGroupIngress/Egress, RevokeSecurityGroupIngress/Egress,
   CreateTags, ModifyVpcAttribute, AttachInternetGateway, CreateRoute,
   AssociateRouteTable and ModifySubnetAttribute naming the new id answer its
   NotFound code (HTTP 400, EC2 XML): InvalidVpcID.NotFound, InvalidSubnetID.NotFound,
   InvalidGroup.NotFound, InvalidRouteTableID.NotFound,
   InvalidInternetGatewayID.NotFound:
   https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html
R10. Throttling. With `--throttle-rate R` (default 0) a random fraction R of the
   signed AWS calls (seeded by `--seed`; never /moto-api/) is refused with the
   service's throttling error, in its protocol. EC2: RequestLimitExceeded (HTTP 503,
   EC2 XML): https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
   Query services (IAM, STS, RDS, ElastiCache, SNS, CloudWatch): Throttling "Rate
   exceeded" (HTTP 400, ErrorResponse XML, Type Sender):
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html
   Kinesis: LimitExceededException (HTTP 400, JSON `__type` and x-amzn-ErrorType):
   https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DescribeStreamSummary.html
   KMS: ThrottlingException "You have exceeded the rate at which you may call KMS.
   Reduce the frequency of your calls.":
   https://docs.aws.amazon.com/kms/latest/developerguide/throttling.html
   Secrets Manager (and any other JSON service): ThrottlingException:
   https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html
   S3: SlowDown "Please reduce your request rate." (HTTP 503, S3 XML):
   https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
R11. S3 conditional write conflicts. An object write (PutObject, DeleteObject)
   takes 0.05 s; a conditional one (`If-None-Match` or `If-Match`) that arrives
   while another write of the same key is under way answers 409
   ConditionalRequestConflict ("A conflicting operation occurred. If using
   PutObject you can retry the request."), which AWS documents for concurrent
   requests on one key; the client fetches the ETag again and retries:
   https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
   https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
R12. ElastiCache AUTH tokens. CreateReplicationGroup and ModifyReplicationGroup with
   an `AuthToken` answer InvalidParameterCombination unless transit encryption is on
   (TransitEncryptionEnabled in the request, or the group's for Modify): "The AUTH
   token is only supported when encryption-in-transit is enabled"; and
   InvalidParameterValue "Invalid AuthToken provided." unless the token has 16 to 128
   printable ASCII characters, letters, digits and only the specials `!&#$^<>-`
   (the API documents both codes; AWS answers these messages). ModifyReplicationGroup
   (moto ignores the token) sets AuthTokenEnabled, clears it with
   AuthTokenUpdateStrategy DELETE (ROTATE is the default). moto already reports
   AuthTokenEnabled for a group created with a token:
   https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
   https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ModifyReplicationGroup.html
   https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html
R13. CloudWatch Logs KMS keys. CreateLogGroup with `kmsKeyId` and AssociateKmsKey
   (not implemented by moto; DisassociateKmsKey neither) answer AccessDeniedException
   (HTTP 400) "The specified KMS key does not exist or is not allowed to be used with
   Arn 'arn:aws:logs:REGION:ACCOUNT:log-group:NAME'" unless the key exists in the
   region, is enabled, and the Allow statements of its key policy that name the
   service principal `logs.REGION.amazonaws.com` (or `*`) grant kms:Encrypt,
   kms:Decrypt and kms:GenerateDataKey (wildcards such as kms:Encrypt* or kms:* count;
   a Deny statement naming it takes them back; conditions are taken as met):
   https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
   https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html
R14. CloudWatch Logs retention. PutRetentionPolicy answers InvalidParameterException
   unless retentionInDays is one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365,
   400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653:
   https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
R15. EC2 default security group. DeleteSecurityGroup of a VPC's default group answers
   CannotDelete ("the specified group: "sg-..." name: "default" cannot be deleted by
   a user"); it goes with its VPC:
   https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html
R16. RDS master password in Secrets Manager. CreateDBInstance or ModifyDBInstance
   with ManageMasterUserPassword true and a MasterUserPassword answers
   InvalidParameterCombination ("Can't manage the master user password with AWS
   Secrets Manager if MasterUserPassword is specified", as the API reference words
   the constraint). ModifyDBInstance with ManageMasterUserPassword false and no
   MasterUserPassword answers InvalidParameterCombination "MasterUserPassword must be
   provided when ManageMasterUserPassword is set to false." The API reference asks
   for the password when management is turned off; RDS also refuses an explicit
   false on an instance whose password is not managed (the RDS CloudFormation
   handler stopped sending an unchanged false because of it: pull request 442 of
   aws-cloudformation/aws-cloudformation-resource-providers-rds). (moto already
   refuses DeleteDBInstance of an instance with DeletionProtection:
   InvalidParameterCombination "Cannot delete protected DB Instance, please disable
   deletion protection and try again.")
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html
R17. EC2 idempotency. CreateRouteTable and CreateVpcEndpoint repeated with the same
   ClientToken answer the first result (and ClientToken) instead of creating another;
   the token with other parameters answers IdempotentParameterMismatch:
   https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html
moto already enforces, in both profiles, what AWS documents for CreateFlowLogs to
CloudWatch Logs (DeliverLogsPermissionArn required, MaxAggregationInterval 60 or
600: InvalidParameter):
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateFlowLogs.html
"""

import argparse
import atexit
import os
import sys
import threading


def exit_when_stdin_closes(before_exit=None) -> None:
    """Ends the process once the parent closes our stdin (or dies)."""

    def watch() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            if before_exit:
                before_exit()
            os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def patch_elasticache() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.elasticache import exceptions as exc
    from moto.elasticache.models import CacheSubnetGroup, ElastiCacheBackend, ReplicationGroup
    from moto.elasticache.responses import ElastiCacheResponse

    class CacheSubnetGroupInUse(exc.ElastiCacheException):
        code = "CacheSubnetGroupInUse"

        def __init__(self, name: str):
            super().__init__(
                "CacheSubnetGroupInUse",
                message=f"Cache subnet group {name} is currently in use by a replication group.",
            )

    # 1. DeleteCacheSubnetGroup
    def delete_cache_subnet_group(self: ElastiCacheBackend, name: str) -> None:
        if name not in self.cache_subnet_groups:
            raise exc.CacheSubnetGroupNotFound(name)
        for group in self.replication_groups.values():
            if group.cache_subnet_group_name == name:
                raise CacheSubnetGroupInUse(name)
        del self.cache_subnet_groups[name]

    def delete_cache_subnet_group_response(self: ElastiCacheResponse) -> EmptyResult:
        self.elasticache_backend.delete_cache_subnet_group(
            self._get_param("CacheSubnetGroupName")
        )
        return EmptyResult()

    ElastiCacheBackend.delete_cache_subnet_group = delete_cache_subnet_group
    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group_response

    # 2. ModifyCacheSubnetGroup
    def modify_cache_subnet_group(
        self: ElastiCacheBackend, name: str, description: str | None, subnet_ids: list[str]
    ) -> CacheSubnetGroup:
        if name not in self.cache_subnet_groups:
            raise exc.CacheSubnetGroupNotFound(name)
        old = self.cache_subnet_groups[name]
        new = CacheSubnetGroup(
            account_id=self.account_id,
            region_name=self.region_name,
            cache_subnet_group_name=name,
            cache_subnet_group_description=(
                description if description is not None else old.cache_subnet_group_description
            ),
            subnet_ids=subnet_ids or old.subnet_ids,
            tags=old.tags,
        )
        self.cache_subnet_groups[name] = new
        return new

    def modify_cache_subnet_group_response(self: ElastiCacheResponse) -> ActionResult:
        group = self.elasticache_backend.modify_cache_subnet_group(
            self._get_param("CacheSubnetGroupName"),
            self._get_param("CacheSubnetGroupDescription"),
            self._get_param("SubnetIds", []),
        )
        return ActionResult({"CacheSubnetGroup": group})

    ElastiCacheBackend.modify_cache_subnet_group = modify_cache_subnet_group
    ElastiCacheResponse.modify_cache_subnet_group = modify_cache_subnet_group_response

    # 3. Deleted replication groups disappear.
    original_delete = ElastiCacheBackend.delete_replication_group

    def delete_replication_group(self, replication_group_id, retain_primary_cluster):
        group = original_delete(self, replication_group_id, retain_primary_cluster)
        del self.replication_groups[replication_group_id]
        return group

    ElastiCacheBackend.delete_replication_group = delete_replication_group

    # 4. NumCacheClusters is honoured when cluster mode is disabled.
    original_create = ElastiCacheBackend.create_replication_group

    def create_replication_group(self, *args, **kwargs):
        num = kwargs.get("num_cache_clusters")
        if num and not kwargs.get("replicas_per_node_group") and kwargs.get("cluster_mode") != "enabled":
            kwargs["replicas_per_node_group"] = num - 1
        return original_create(self, *args, **kwargs)

    ElastiCacheBackend.create_replication_group = create_replication_group

    # 5. ReaderEndpoint for cluster-mode disabled groups.
    original_init = ReplicationGroup.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        for group in self.node_groups:
            if "reader_endpoint_address" in group and "reader_endpoint" not in group:
                group["reader_endpoint"] = {"address": group["reader_endpoint_address"], "port": self.port}

    ReplicationGroup.__init__ = init


def patch_rds() -> None:
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import RDSBackend

    # 12. CreateDBSubnetGroup refuses a name in use.
    original_create = RDSBackend.create_subnet_group

    def create_subnet_group(self, subnet_name, *args, **kwargs):
        if subnet_name in self.subnet_groups:
            raise RDSClientError(
                "DBSubnetGroupAlreadyExists",
                "DBSubnetGroupName is already used by an existing DB subnet group.",
            )
        return original_create(self, subnet_name, *args, **kwargs)

    RDSBackend.create_subnet_group = create_subnet_group

    # 6. ModifyDBSubnetGroup keeps the group.
    original = RDSBackend.modify_db_subnet_group

    def modify_db_subnet_group(self, subnet_name, description, subnets):
        group = original(self, subnet_name, description, subnets)
        self.subnet_groups[subnet_name] = group
        return group

    RDSBackend.modify_db_subnet_group = modify_db_subnet_group


def patch_ec2() -> None:
    from moto.ec2.models.vpcs import VPCEndPoint

    # 7. The vpc-endpoint-id filter.
    original = VPCEndPoint.get_filter_value

    def get_filter_value(self, filter_name, method_name=None):
        if filter_name == "vpc-endpoint-id":
            return self.id
        return original(self, filter_name, method_name)

    VPCEndPoint.get_filter_value = get_filter_value

    # 8. Deleting a gateway endpoint skips routes that do not exist (same steps as
    # moto's own delete_vpc_endpoints otherwise).
    from moto.ec2.exceptions import InvalidRouteError
    from moto.ec2.models import EC2Backend

    def delete_vpc_endpoints(self, vpce_ids=None):
        for vpce_id in vpce_ids or []:
            endpoint = self.vpc_end_points.get(vpce_id)
            if not endpoint:
                continue
            if endpoint.vpc_endpoint_type.lower() == "interface":
                for eni_id in endpoint.network_interface_ids:
                    self.enis.pop(eni_id, None)
            else:
                for route_table_id in endpoint.route_table_ids:
                    try:
                        self.delete_route(route_table_id, endpoint.destination_prefix_list_id)
                    except InvalidRouteError:
                        pass
            endpoint.state = "deleted"

    EC2Backend.delete_vpc_endpoints = delete_vpc_endpoints


def patch_s3() -> None:
    from moto.s3.responses import S3Response

    # 10. GetBucketVersioning answers a VersioningConfiguration.
    def get_bucket_versioning(self: S3Response):
        status = self.backend.get_bucket_versioning(self.bucket_name)
        inner = f"<Status>{status}</Status>" if status else ""
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"{inner}</VersioningConfiguration>"
        )
        return 200, {"Content-Type": "application/xml"}, body

    S3Response.get_bucket_versioning = get_bucket_versioning

    # 13. A conditional write's check and the write are one step.
    writes = threading.Lock()

    def atomic(original):
        def method(self: S3Response, *args, **kwargs):
            with writes:
                return original(self, *args, **kwargs)

        return method

    S3Response.put_object = atomic(S3Response.put_object)
    S3Response.delete_object = atomic(S3Response.delete_object)


def patch_kinesis() -> None:
    from moto.kinesis.responses import KinesisResponse

    original = KinesisResponse.create_stream

    # 11. CreateStream applies its Tags.
    def create_stream(self: KinesisResponse):
        result = original(self)
        tags = self._get_param("Tags")
        if tags:
            self.kinesis_backend.add_tags_to_stream(
                stream_arn=None, stream_name=self._get_param("StreamName"), tags=tags
            )
        return result

    KinesisResponse.create_stream = create_stream


# The patches above are written against this release (tests/moto/requirements.txt).
MOTO_VERSION = "5.2.5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="run until killed, instead of until stdin closes (for `./dev up`)",
    )
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="the realistic profile (R1-R17 above) instead of the fast one",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiplies every realistic duration"
    )
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        help="fraction of calls refused with a throttling error (realistic only)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the throttling choice")
    args = parser.parse_args()
    if not args.realistic and (args.scale != 1.0 or args.throttle_rate or args.seed != 1):
        parser.error("--scale, --throttle-rate and --seed need --realistic")
    if args.scale < 0 or not 0 <= args.throttle_rate <= 1:
        parser.error("--scale must be >= 0 and --throttle-rate within [0, 1]")

    try:
        import moto
    except ImportError:
        sys.exit("moto is not installed: pip install -r tests/moto/requirements.txt")
    if moto.__version__ != MOTO_VERSION:
        sys.exit(
            f"moto {moto.__version__} is installed but the tests need {MOTO_VERSION}: "
            "pip install -r tests/moto/requirements.txt"
        )

    # 9. AWS managed IAM policies.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

    patch_elasticache()
    patch_rds()
    patch_ec2()
    patch_s3()
    patch_kinesis()
    before_exit = None
    if args.realistic:
        from realistic import Profile, Realistic

        realistic = Realistic(Profile(args.scale, args.throttle_rate, args.seed))
        realistic.install()
        before_exit = realistic.report
        atexit.register(realistic.report)
    if not args.keep_running:
        exit_when_stdin_closes(before_exit)

    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
