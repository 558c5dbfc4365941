#!/usr/bin/env python3
"""Starts a moto server for engine's tests, with a few documented gaps patched.

Usage: python3 tests/moto/launcher.py --port N [--host 127.0.0.1]

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
"""

import argparse
import os
import sys
import threading


def exit_when_stdin_closes() -> None:
    """Ends the process once the parent closes our stdin (or dies)."""

    def watch() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
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
    from moto.rds.models import RDSBackend

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
    args = parser.parse_args()

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

    if not args.keep_running:
        exit_when_stdin_closes()
    patch_elasticache()
    patch_rds()
    patch_ec2()
    patch_s3()
    patch_kinesis()

    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
