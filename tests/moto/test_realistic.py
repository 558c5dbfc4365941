"""Tests of launcher.py's realistic profile (R1-R17 in its docstring), and that the
fast profile stays fast.

Run: python3 -m unittest discover -s tests/moto -p 'test_*.py' -v
Three servers start at once (realistic at --scale 0.5, realistic with throttling,
fast); each test works on resources of its own.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.py")
REGION = "us-east-1"
PASSWORD = "password-of-16-chars"


ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})


class Server:
    """A launcher process on a free port; it ends when its stdin closes. (Other
    scripts that take `--port` and end with their stdin, such as the fault proxy,
    reuse it with `script` and `ready`, the path that answers once they listen.)"""

    def __init__(self, *args: str, script: str = LAUNCHER, ready: str = "/moto-api/data.json"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.ready = ready
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, script, "--port", str(self.port), *args],
            stdin=subprocess.PIPE,
            stdout=self.log,
            stderr=self.log,
        )

    def wait_ready(self, limit: float = 60) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.process.args[1]} exited: {self.output()}")
            try:
                self.get(self.ready)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.process.args[1]} did not answer within {limit} s")

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.endpoint + path, timeout=10) as answer:
            return answer.read()

    def get_json(self, path: str) -> dict:
        return json.loads(self.get(path))

    def client(self, service: str, config: Config = ONE_ATTEMPT):
        """A boto3 client of this server; by default one attempt per call, so that
        a throttled call is seen as such."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )

    def stop(self) -> None:
        """Closes stdin (the launcher exits by itself) and waits for the exit."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


SERVERS: dict[str, Server] = {}


def setUpModule() -> None:
    SERVERS["realistic"] = Server("--realistic", "--scale", "0.5")
    SERVERS["throttled"] = Server("--realistic", "--throttle-rate", "0.5", "--seed", "1")
    SERVERS["fast"] = Server()
    for server in SERVERS.values():
        server.wait_ready()


def tearDownModule() -> None:
    for server in SERVERS.values():
        server.stop()


def error_of(call, *args, **kwargs) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a call that must fail."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return (
            e.response["Error"]["Code"],
            e.response["Error"].get("Message", ""),
            e.response["ResponseMetadata"]["HTTPStatusCode"],
        )
    raise AssertionError(f"{call.__name__} succeeded")


def status_or_error(read):
    """What `read()` answers, or the code of its error."""
    try:
        return read()
    except ClientError as e:
        return e.response["Error"]["Code"]


def watch(read, until, started: float, limit: float = 15) -> list[tuple[str, float]]:
    """Polls `read` until it answers `until`; returns each new answer with the
    seconds since `started` when it was first seen."""
    seen: list[tuple[str, float]] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        now = status_or_error(read)
        if not seen or seen[-1][0] != now:
            seen.append((now, time.monotonic() - started))
        if now == until:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"never reached {until}: {seen}")


class RealisticProfile(unittest.TestCase):
    """R1-R9 and R12-R17 against `--realistic --scale 0.5` (R12-R17 also show that
    the fast profile, moto alone, takes what they refuse)."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = SERVERS["realistic"]
        cls.d = cls.server.get_json("/engine-realistic/profile")["durations"]

    def client(self, service: str):
        return self.server.client(service)

    def assertPhases(self, seen, expected: list[str], at_least: list[float]) -> None:
        """`seen` went through `expected`, each entered no sooner than `at_least`
        seconds after the start (and not absurdly late)."""
        self.assertEqual([status for status, _ in seen], expected, seen)
        for (status, when), earliest in zip(seen, at_least, strict=True):
            self.assertGreaterEqual(when, earliest, (status, seen))
            self.assertLess(when, earliest + 5, (status, seen))

    def test_profile_reports_scaled_durations(self):
        profile = self.server.get_json("/engine-realistic/profile")
        self.assertEqual(profile["scale"], 0.5)
        self.assertEqual(profile["throttle_rate"], 0.0)
        self.assertEqual(self.d["rds.creating"], 2.0)
        self.assertEqual(self.d["ec2.consistency"], 0.5)

    # R1
    def test_r1_rds_instance_phases(self):
        rds = self.client("rds")

        def status():
            return rds.describe_db_instances(DBInstanceIdentifier="r1")["DBInstances"][0][
                "DBInstanceStatus"
            ]

        started = time.monotonic()
        created = rds.create_db_instance(
            DBInstanceIdentifier="r1",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            EngineVersion="15",
            AllocatedStorage=20,
            MasterUsername="app",
            MasterUserPassword=PASSWORD,
        )["DBInstance"]
        self.assertEqual(created["DBInstanceStatus"], "creating")
        busy = ("InvalidDBInstanceState", "Instance r1 is not in available state.", 400)
        self.assertEqual(
            error_of(
                rds.modify_db_instance,
                DBInstanceIdentifier="r1",
                AllocatedStorage=30,
                ApplyImmediately=True,
            ),
            busy,
        )
        self.assertEqual(
            error_of(rds.delete_db_instance, DBInstanceIdentifier="r1", SkipFinalSnapshot=True),
            busy,
        )
        creating, backing_up = self.d["rds.creating"], self.d["rds.backing-up"]
        self.assertPhases(
            watch(status, "available", started),
            ["creating", "backing-up", "available"],
            [0, creating, creating + backing_up],
        )

        started = time.monotonic()
        modified = rds.modify_db_instance(
            DBInstanceIdentifier="r1", AllocatedStorage=30, ApplyImmediately=True
        )["DBInstance"]
        self.assertEqual(modified["DBInstanceStatus"], "modifying")
        self.assertPhases(
            watch(status, "available", started),
            ["modifying", "available"],
            [0, self.d["rds.modifying"]],
        )

        started = time.monotonic()
        deleted = rds.delete_db_instance(DBInstanceIdentifier="r1", SkipFinalSnapshot=True)
        self.assertEqual(deleted["DBInstance"]["DBInstanceStatus"], "deleting")
        code, message, http = error_of(
            rds.delete_db_instance, DBInstanceIdentifier="r1", SkipFinalSnapshot=True
        )
        self.assertEqual((code, http), ("InvalidDBInstanceState", 400))
        self.assertIn("already being deleted", message)
        self.assertPhases(
            watch(status, "DBInstanceNotFound", started),
            ["deleting", "DBInstanceNotFound"],
            [0, self.d["rds.deleting"]],
        )

    # R2
    def test_r2_rds_engine_versions(self):
        rds = self.client("rds")
        create = dict(
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            MasterUsername="app",
            MasterUserPassword=PASSWORD,
        )
        for retired in ("15.2", "15.3", "15.4", "15.5"):
            self.assertEqual(
                error_of(
                    rds.create_db_instance,
                    DBInstanceIdentifier="r2-old",
                    EngineVersion=retired,
                    **create,
                ),
                ("InvalidParameterCombination", f"Cannot find version {retired} for postgres", 400),
            )
        created = rds.create_db_instance(DBInstanceIdentifier="r2", EngineVersion="15", **create)
        self.assertEqual(created["DBInstance"]["EngineVersion"], "15.12")
        described = rds.describe_db_instances(DBInstanceIdentifier="r2")["DBInstances"][0]
        self.assertEqual(described["EngineVersion"], "15.12")
        created = rds.create_db_instance(
            DBInstanceIdentifier="r2-minor", EngineVersion="16.8", **create
        )
        self.assertEqual(created["DBInstance"]["EngineVersion"], "16.8")

        listed = rds.describe_db_engine_versions(Engine="postgres")["DBEngineVersions"]
        versions = [v["EngineVersion"] for v in listed]
        for newest in ("13.20", "14.17", "15.12", "16.8", "17.4"):
            self.assertIn(newest, versions)
        self.assertFalse({"15.2", "15.3", "15.4", "15.5"} & set(versions))
        fifteen = rds.describe_db_engine_versions(Engine="postgres", EngineVersion="15")
        self.assertTrue(
            all(v["EngineVersion"].startswith("15.") for v in fifteen["DBEngineVersions"])
        )
        one = rds.describe_db_engine_versions(Engine="postgres", EngineVersion="15.12")
        self.assertEqual(
            [(v["EngineVersion"], v["DBParameterGroupFamily"]) for v in one["DBEngineVersions"]],
            [("15.12", "postgres15")],
        )
        retired = rds.describe_db_engine_versions(Engine="postgres", EngineVersion="15.4")
        self.assertEqual(retired["DBEngineVersions"], [])

    # R3
    def test_r3_iam_propagation(self):
        rds, iam = self.client("rds"), self.client("iam")
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        )
        invalid = (
            "InvalidParameterValue",
            "IAM role ARN value is invalid or does not include the required permissions "
            "for: ENHANCED_MONITORING",
            400,
        )
        create = dict(
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            EngineVersion="16",
            AllocatedStorage=20,
            MasterUsername="app",
            MasterUserPassword=PASSWORD,
        )
        started = time.monotonic()
        rds.create_db_instance(DBInstanceIdentifier="r3-plain", **create)
        role = iam.create_role(RoleName="r3-create", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        monitoring = dict(MonitoringInterval=60, MonitoringRoleArn=role)
        self.assertEqual(
            error_of(rds.create_db_instance, DBInstanceIdentifier="r3", **create, **monitoring),
            invalid,
        )
        time.sleep(self.d["iam.propagation"])
        created = rds.create_db_instance(DBInstanceIdentifier="r3", **create, **monitoring)
        self.assertEqual(created["DBInstance"]["MonitoringRoleArn"], role)

        # ModifyDBInstance too (on an available instance, with a brand-new role).
        watch(
            lambda: rds.describe_db_instances(DBInstanceIdentifier="r3-plain")["DBInstances"][0][
                "DBInstanceStatus"
            ],
            "available",
            started,
        )
        role = iam.create_role(RoleName="r3-modify", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        modify = dict(
            DBInstanceIdentifier="r3-plain",
            MonitoringInterval=60,
            MonitoringRoleArn=role,
            ApplyImmediately=True,
        )
        self.assertEqual(error_of(rds.modify_db_instance, **modify), invalid)
        time.sleep(self.d["iam.propagation"])
        self.assertEqual(
            rds.modify_db_instance(**modify)["DBInstance"]["DBInstanceStatus"], "modifying"
        )

    # R4
    def test_r4_elasticache_replication_group_phases(self):
        ec2, cache = self.client("ec2"), self.client("elasticache")
        vpc = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.4.1.0/24")["Subnet"]["SubnetId"]
        cache.create_cache_subnet_group(
            CacheSubnetGroupName="r4", CacheSubnetGroupDescription="r4", SubnetIds=[subnet]
        )

        def status():
            return cache.describe_replication_groups(ReplicationGroupId="r4")["ReplicationGroups"][
                0
            ]["Status"]

        started = time.monotonic()
        group = cache.create_replication_group(
            ReplicationGroupId="r4",
            ReplicationGroupDescription="r4",
            Engine="redis",
            CacheNodeType="cache.t3.micro",
            NumCacheClusters=2,
            CacheSubnetGroupName="r4",
        )["ReplicationGroup"]
        self.assertEqual(group["Status"], "creating")
        arn = group["ARN"]
        busy = ("InvalidReplicationGroupState", 400)
        tag = [{"Key": "k", "Value": "v"}]
        modify = dict(
            ReplicationGroupId="r4", ReplicationGroupDescription="x", ApplyImmediately=True
        )
        refused = [
            (cache.list_tags_for_resource, dict(ResourceName=arn)),
            (cache.add_tags_to_resource, dict(ResourceName=arn, Tags=tag)),
            (cache.remove_tags_from_resource, dict(ResourceName=arn, TagKeys=["k"])),
            (cache.modify_replication_group, modify),
            (cache.delete_replication_group, dict(ReplicationGroupId="r4")),
        ]
        for call, kwargs in refused:
            code, _, http = error_of(call, **kwargs)
            self.assertEqual((code, http), busy, call.__name__)
        self.assertPhases(
            watch(status, "available", started),
            ["creating", "available"],
            [0, self.d["elasticache.creating"]],
        )
        cache.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "k", "Value": "v"}])
        self.assertEqual(
            cache.list_tags_for_resource(ResourceName=arn)["TagList"], [{"Key": "k", "Value": "v"}]
        )

        started = time.monotonic()
        modified = cache.modify_replication_group(
            ReplicationGroupId="r4", ReplicationGroupDescription="new", ApplyImmediately=True
        )["ReplicationGroup"]
        self.assertEqual(modified["Status"], "modifying")
        self.assertEqual(error_of(cache.list_tags_for_resource, ResourceName=arn)[::2], busy)
        self.assertPhases(
            watch(status, "available", started),
            ["modifying", "available"],
            [0, self.d["elasticache.modifying"]],
        )

        started = time.monotonic()
        deleted = cache.delete_replication_group(ReplicationGroupId="r4")["ReplicationGroup"]
        self.assertEqual(deleted["Status"], "deleting")
        self.assertEqual(
            error_of(cache.delete_replication_group, ReplicationGroupId="r4")[::2], busy
        )
        self.assertEqual(
            error_of(cache.delete_cache_subnet_group, CacheSubnetGroupName="r4")[0],
            "CacheSubnetGroupInUse",
        )
        self.assertPhases(
            watch(status, "ReplicationGroupNotFoundFault", started),
            ["deleting", "ReplicationGroupNotFoundFault"],
            [0, self.d["elasticache.deleting"]],
        )
        cache.delete_cache_subnet_group(CacheSubnetGroupName="r4")

    # R5
    def test_r5_kinesis_stream_phases(self):
        kinesis = self.client("kinesis")

        def status():
            return kinesis.describe_stream_summary(StreamName="r5")["StreamDescriptionSummary"][
                "StreamStatus"
            ]

        def refused(call, **kwargs):
            code, message, http = error_of(call, StreamName="r5", **kwargs)
            self.assertEqual((code, http), ("ResourceInUseException", 400), call.__name__)
            self.assertRegex(message, r"^Stream r5 under account \d+ not ACTIVE, instead in state ")

        started = time.monotonic()
        kinesis.create_stream(StreamName="r5", ShardCount=1)
        self.assertEqual(
            kinesis.describe_stream(StreamName="r5")["StreamDescription"]["StreamStatus"],
            "CREATING",
        )
        refused(kinesis.add_tags_to_stream, Tags={"k": "v"})
        refused(kinesis.remove_tags_from_stream, TagKeys=["k"])
        refused(kinesis.enable_enhanced_monitoring, ShardLevelMetrics=["ALL"])
        refused(kinesis.disable_enhanced_monitoring, ShardLevelMetrics=["ALL"])
        refused(kinesis.increase_stream_retention_period, RetentionPeriodHours=48)
        refused(kinesis.delete_stream)
        self.assertPhases(
            watch(status, "ACTIVE", started),
            ["CREATING", "ACTIVE"],
            [0, self.d["kinesis.creating"]],
        )
        kinesis.add_tags_to_stream(StreamName="r5", Tags={"k": "v"})

        updates = [
            (
                kinesis.start_stream_encryption,
                dict(EncryptionType="KMS", KeyId="alias/aws/kinesis"),
            ),
            (kinesis.stop_stream_encryption, dict(EncryptionType="KMS", KeyId="alias/aws/kinesis")),
            (kinesis.update_shard_count, dict(TargetShardCount=2, ScalingType="UNIFORM_SCALING")),
            (kinesis.increase_stream_retention_period, dict(RetentionPeriodHours=48)),
            (kinesis.decrease_stream_retention_period, dict(RetentionPeriodHours=24)),
        ]
        for index, (call, kwargs) in enumerate(updates):
            started = time.monotonic()
            call(StreamName="r5", **kwargs)
            self.assertEqual(status(), "UPDATING", call.__name__)
            next_call, next_kwargs = updates[(index + 1) % len(updates)]
            refused(next_call, **next_kwargs)
            if index == 0:  # one full phase is timed; the others only need to end
                self.assertPhases(
                    watch(status, "ACTIVE", started),
                    ["UPDATING", "ACTIVE"],
                    [0, self.d["kinesis.updating"]],
                )
            else:
                watch(status, "ACTIVE", started)

        started = time.monotonic()
        kinesis.delete_stream(StreamName="r5")
        refused(kinesis.add_tags_to_stream, Tags={"k": "v"})
        self.assertPhases(
            watch(status, "ResourceNotFoundException", started),
            ["DELETING", "ResourceNotFoundException"],
            [0, self.d["kinesis.deleting"]],
        )

    # R6
    def test_r6_vpc_endpoint_phases(self):
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="r6", Description="r6", VpcId=vpc)["GroupId"]

        def state():
            return ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"][0]["State"]

        def in_use():
            for call, kwargs in [
                (ec2.delete_subnet, dict(SubnetId=subnet)),
                (ec2.delete_security_group, dict(GroupId=group)),
            ]:
                code, _, http = error_of(call, **kwargs)
                self.assertEqual((code, http), ("DependencyViolation", 400), call.__name__)

        started = time.monotonic()
        endpoint = ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc,
            ServiceName="com.amazonaws.us-east-1.kinesis-streams",
            SubnetIds=[subnet],
            SecurityGroupIds=[group],
        )["VpcEndpoint"]["VpcEndpointId"]
        self.assertEqual(state(), "pending")
        in_use()
        self.assertPhases(
            watch(state, "available", started),
            ["pending", "available"],
            [0, self.d["vpc-endpoint.pending"]],
        )
        in_use()

        started = time.monotonic()
        ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint])
        self.assertEqual(state(), "deleting")
        in_use()
        self.assertPhases(
            watch(state, "deleted", started),
            ["deleting", "deleted"],
            [0, self.d["vpc-endpoint.deleting"]],
        )
        ec2.delete_subnet(SubnetId=subnet)
        ec2.delete_security_group(GroupId=group)

    # R7
    def test_r7_secrets_manager(self):
        secrets = self.client("secretsmanager")

        def listed():
            found = secrets.list_secrets(Filters=[{"Key": "name", "Values": ["r7"]}])
            return "listed" if [s for s in found["SecretList"] if s["Name"] == "r7"] else "absent"

        started = time.monotonic()
        arn = secrets.create_secret(Name="r7", SecretString="s")["ARN"]
        self.assertEqual(secrets.describe_secret(SecretId="r7")["ARN"], arn)
        self.assertPhases(
            watch(listed, "listed", started),
            ["absent", "listed"],
            [0, self.d["secretsmanager.list-lag"]],
        )

        secrets.delete_secret(SecretId="r7", RecoveryWindowInDays=7)
        self.assertIn("DeletedDate", secrets.describe_secret(SecretId="r7"))
        self.assertEqual(
            error_of(secrets.delete_secret, SecretId="r7", RecoveryWindowInDays=7),
            (
                "InvalidRequestException",
                "You can't perform this operation on the secret because it was marked for "
                "deletion.",
                400,
            ),
        )
        self.assertEqual(
            error_of(secrets.create_secret, Name="r7", SecretString="t"),
            (
                "InvalidRequestException",
                "You can't create this secret because a secret with this name is already "
                "scheduled for deletion.",
                400,
            ),
        )
        secrets.restore_secret(SecretId="r7")
        self.assertNotIn("DeletedDate", secrets.describe_secret(SecretId="r7"))
        secrets.delete_secret(SecretId="r7", RecoveryWindowInDays=7)
        secrets.delete_secret(SecretId="r7", ForceDeleteWithoutRecovery=True)
        self.assertEqual(
            error_of(secrets.describe_secret, SecretId="r7")[0], "ResourceNotFoundException"
        )

    # R8
    def test_r8_kms_alias_lag(self):
        kms = self.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]

        def listed():
            aliases = kms.list_aliases(KeyId=key)["Aliases"]
            return "listed" if any(a["AliasName"] == "alias/r8" for a in aliases) else "absent"

        started = time.monotonic()
        kms.create_alias(AliasName="alias/r8", TargetKeyId=key)
        self.assertEqual(kms.describe_key(KeyId="alias/r8")["KeyMetadata"]["KeyId"], key)
        self.assertPhases(
            watch(listed, "listed", started), ["absent", "listed"], [0, self.d["kms.list-lag"]]
        )
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        self.assertEqual(kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"], "PendingDeletion")

    # R9
    def test_r9_ec2_eventual_consistency(self):
        ec2 = self.client("ec2")
        window = self.d["ec2.consistency"]

        def not_found_then_ok(call, code: str, **kwargs):
            """`call` right after the create answers `code`; after the window it works."""
            self.assertEqual(error_of(call, **kwargs)[::2], (code, 400), call.__name__)
            time.sleep(window)
            call(**kwargs)

        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        self.assertEqual(
            error_of(ec2.create_tags, Resources=[vpc], Tags=[{"Key": "k", "Value": "v"}])[::2],
            ("InvalidVpcID.NotFound", 400),
        )
        not_found_then_ok(
            ec2.modify_vpc_attribute,
            "InvalidVpcID.NotFound",
            VpcId=vpc,
            EnableDnsSupport={"Value": True},
        )
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        not_found_then_ok(
            ec2.modify_subnet_attribute,
            "InvalidSubnetID.NotFound",
            SubnetId=subnet,
            MapPublicIpOnLaunch={"Value": True},
        )
        group = ec2.create_security_group(GroupName="r9", Description="r9", VpcId=vpc)["GroupId"]
        rule = [
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            }
        ]
        not_found_then_ok(
            ec2.authorize_security_group_ingress,
            "InvalidGroup.NotFound",
            GroupId=group,
            IpPermissions=rule,
        )
        gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        not_found_then_ok(
            ec2.attach_internet_gateway,
            "InvalidInternetGatewayID.NotFound",
            InternetGatewayId=gateway,
            VpcId=vpc,
        )
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        not_found_then_ok(
            ec2.create_route,
            "InvalidRouteTableID.NotFound",
            RouteTableId=table,
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=gateway,
        )
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        not_found_then_ok(
            ec2.associate_route_table,
            "InvalidRouteTableID.NotFound",
            RouteTableId=table,
            SubnetId=subnet,
        )
        ec2.create_tags(Resources=[vpc, subnet, group], Tags=[{"Key": "k", "Value": "v"}])

    # R12
    def test_r12_elasticache_auth_token(self):
        cache, fast = self.client("elasticache"), SERVERS["fast"].client("elasticache")
        group = dict(
            ReplicationGroupDescription="r12",
            Engine="redis",
            CacheNodeType="cache.t3.micro",
            NumCacheClusters=1,
        )
        token = "Abc-123!&#$^<>xyz"  # every special character allowed
        # moto alone takes a token without transit encryption.
        fast.create_replication_group(ReplicationGroupId="r12-fast", AuthToken=token, **group)
        code, message, http = error_of(
            cache.create_replication_group, ReplicationGroupId="r12-x", AuthToken=token, **group
        )
        self.assertEqual((code, http), ("InvalidParameterCombination", 400))
        self.assertIn("only supported when encryption-in-transit is enabled", message)
        # too short, too long, '@' and '%' (not allowed), a space, not ASCII
        for bad in ("x" * 15, "x" * 129, "sixteen-chars-@@", "with a space 1234", "é" * 16):
            code, message, http = error_of(
                cache.create_replication_group,
                ReplicationGroupId="r12-x",
                AuthToken=bad,
                TransitEncryptionEnabled=True,
                **group,
            )
            self.assertEqual((code, http), ("InvalidParameterValue", 400), bad)
            self.assertEqual(message, "Invalid AuthToken provided.")

        created = cache.create_replication_group(
            ReplicationGroupId="r12", AuthToken=token, TransitEncryptionEnabled=True, **group
        )["ReplicationGroup"]
        self.assertTrue(created["AuthTokenEnabled"])
        cache.create_replication_group(ReplicationGroupId="r12-plain", **group)
        cache.create_replication_group(
            ReplicationGroupId="r12-tls", TransitEncryptionEnabled=True, **group
        )

        def described(group_id):
            return cache.describe_replication_groups(ReplicationGroupId=group_id)[
                "ReplicationGroups"
            ][0]

        self.assertTrue(described("r12")["AuthTokenEnabled"])
        started = time.monotonic()
        for group_id in ("r12-plain", "r12-tls"):
            watch(lambda: described(group_id)["Status"], "available", started)
        self.assertFalse(described("r12-tls")["AuthTokenEnabled"])
        code, message, _ = error_of(
            cache.modify_replication_group,
            ReplicationGroupId="r12-plain",
            AuthToken=token,
            AuthTokenUpdateStrategy="ROTATE",
            ApplyImmediately=True,
        )
        self.assertEqual(code, "InvalidParameterCombination")
        self.assertIn("only supported when encryption-in-transit is enabled", message)
        code, message, _ = error_of(
            cache.modify_replication_group,
            ReplicationGroupId="r12-tls",
            AuthToken="sixteen-chars-%%",
            ApplyImmediately=True,
        )
        self.assertEqual(code, "InvalidParameterValue")
        self.assertEqual(message, "Invalid AuthToken provided.")
        cache.modify_replication_group(
            ReplicationGroupId="r12-tls",
            AuthToken=token,
            AuthTokenUpdateStrategy="SET",
            ApplyImmediately=True,
        )
        self.assertTrue(described("r12-tls")["AuthTokenEnabled"])

    # R13
    def test_r13_logs_kms_key_policy(self):
        logs, kms = self.client("logs"), self.client("kms")
        account = self.client("sts").get_caller_identity()["Account"]

        def key(*statements) -> str:
            root = {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
            policy = {"Version": "2012-10-17", "Statement": [root, *statements]}
            return kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]

        def logs_may(actions, region=REGION, effect="Allow"):
            return {
                "Effect": effect,
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": actions,
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{account}:*"
                    }
                },
            }

        documented = [
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ]
        unknown = f"arn:aws:kms:{REGION}:{account}:key/00000000-0000-0000-0000-000000000000"
        refused_keys = {
            "unknown": unknown,
            "default policy": key(),
            "other region": key(logs_may(documented, region="eu-west-1")),
            "no GenerateDataKey": key(logs_may(["kms:Encrypt*", "kms:Decrypt*"])),
            "denied": key(logs_may("kms:*"), logs_may("kms:Decrypt", effect="Deny")),
        }
        # moto alone takes any key.
        SERVERS["fast"].client("logs").create_log_group(logGroupName="r13", kmsKeyId=unknown)

        def refused(call, name, key_arn, why):
            code, message, http = error_of(call, logGroupName=name, kmsKeyId=key_arn)
            self.assertEqual((code, http), ("AccessDeniedException", 400), why)
            self.assertEqual(
                message,
                "The specified KMS key does not exist or is not allowed to be used with Arn "
                f"'arn:aws:logs:{REGION}:{account}:log-group:{name}'",
                why,
            )

        for why, key_arn in refused_keys.items():
            refused(logs.create_log_group, "r13-refused", key_arn, why)
        self.assertEqual(
            logs.describe_log_groups(logGroupNamePrefix="r13-refused")["logGroups"], []
        )

        documented_key = key(logs_may(documented))
        logs.create_log_group(logGroupName="r13", kmsKeyId=documented_key)
        everything_key = key(logs_may("kms:*"))
        logs.create_log_group(logGroupName="r13-star", kmsKeyId=everything_key)
        disabled = key(logs_may(documented))
        kms.disable_key(KeyId=disabled.split("/")[-1])  # (moto: the id, not the ARN)
        refused_keys["disabled"] = disabled

        def key_of(name):
            return logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0].get(
                "kmsKeyId"
            )

        self.assertEqual(key_of("r13-star"), everything_key)
        logs.create_log_group(logGroupName="r13-later")
        for why, key_arn in refused_keys.items():
            refused(logs.associate_kms_key, "r13-later", key_arn, why)
        self.assertIsNone(key_of("r13-later"))
        logs.associate_kms_key(logGroupName="r13-later", kmsKeyId=documented_key)
        self.assertEqual(key_of("r13-later"), documented_key)
        logs.disassociate_kms_key(logGroupName="r13-later")
        self.assertIsNone(key_of("r13-later"))

    # R14
    def test_r14_logs_retention_periods(self):
        logs, fast = self.client("logs"), SERVERS["fast"].client("logs")
        for client in (logs, fast):
            client.create_log_group(logGroupName="r14")
        fast.put_retention_policy(logGroupName="r14", retentionInDays=2)  # moto alone
        for days in (0, 2, 366, 3650, 4000):
            code, message, http = error_of(
                logs.put_retention_policy, logGroupName="r14", retentionInDays=days
            )
            self.assertEqual((code, http), ("InvalidParameterException", 400), days)
            self.assertIn(f"Value '{days}' at 'retentionInDays' failed to satisfy", message)
            self.assertIn("enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180,", message)
        for days in (1, 14, 400, 731, 3653):
            logs.put_retention_policy(logGroupName="r14", retentionInDays=days)
            group = logs.describe_log_groups(logGroupNamePrefix="r14")["logGroups"][0]
            self.assertEqual(group["retentionInDays"], days)

    # R15
    def test_r15_default_security_group_cannot_be_deleted(self):
        def default_group(ec2, vpc):
            return ec2.describe_security_groups(
                Filters=[
                    {"Name": "vpc-id", "Values": [vpc]},
                    {"Name": "group-name", "Values": ["default"]},
                ]
            )["SecurityGroups"]

        fast = SERVERS["fast"].client("ec2")
        vpc = fast.create_vpc(CidrBlock="10.15.0.0/16")["Vpc"]["VpcId"]
        fast.delete_security_group(GroupId=default_group(fast, vpc)[0]["GroupId"])  # moto alone

        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.15.0.0/16")["Vpc"]["VpcId"]
        group = default_group(ec2, vpc)[0]["GroupId"]
        self.assertEqual(
            error_of(ec2.delete_security_group, GroupId=group),
            (
                "CannotDelete",
                f'the specified group: "{group}" name: "default" cannot be deleted by a user',
                400,
            ),
        )
        # By name: the default VPC's.
        by_name = error_of(ec2.delete_security_group, GroupName="default")
        self.assertEqual(by_name[0], "CannotDelete")
        other = ec2.create_security_group(GroupName="r15", Description="r15", VpcId=vpc)
        ec2.delete_security_group(GroupId=other["GroupId"])
        ec2.delete_vpc(VpcId=vpc)  # takes its default group along
        self.assertEqual(default_group(ec2, vpc), [])

    # R16
    def test_r16_rds_managed_master_password(self):
        rds = self.client("rds")
        create = dict(
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            EngineVersion="16",
            AllocatedStorage=20,
            MasterUsername="app",
        )
        both = dict(ManageMasterUserPassword=True, MasterUserPassword=PASSWORD)
        SERVERS["fast"].client("rds").create_db_instance(  # moto alone takes both
            DBInstanceIdentifier="r16-fast", **create, **both
        )
        code, message, http = error_of(
            rds.create_db_instance, DBInstanceIdentifier="r16-both", **create, **both
        )
        self.assertEqual((code, http), ("InvalidParameterCombination", 400))
        self.assertIn("MasterUserPassword is specified", message)

        started = time.monotonic()
        rds.create_db_instance(
            DBInstanceIdentifier="r16",
            ManageMasterUserPassword=True,
            DeletionProtection=True,
            **create,
        )
        rds.create_db_instance(
            DBInstanceIdentifier="r16-plain", MasterUserPassword=PASSWORD, **create
        )

        def described(name="r16"):
            return rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]

        for name in ("r16", "r16-plain"):
            watch(lambda: described(name)["DBInstanceStatus"], "available", started)
        self.assertIn("MasterUserSecret", described())
        # An explicit false needs the password even where it is not managed.
        code, message, _ = error_of(
            rds.modify_db_instance,
            DBInstanceIdentifier="r16-plain",
            ManageMasterUserPassword=False,
            ApplyImmediately=True,
        )
        self.assertEqual(code, "InvalidParameterCombination")
        self.assertIn("MasterUserPassword must be provided", message)
        code, message, _ = error_of(
            rds.modify_db_instance,
            DBInstanceIdentifier="r16",
            ManageMasterUserPassword=False,
            ApplyImmediately=True,
        )
        self.assertEqual(code, "InvalidParameterCombination")
        self.assertEqual(
            message,
            "MasterUserPassword must be provided when ManageMasterUserPassword is set to false.",
        )
        self.assertEqual(
            error_of(
                rds.modify_db_instance, DBInstanceIdentifier="r16", ApplyImmediately=True, **both
            )[0],
            "InvalidParameterCombination",
        )
        # moto's own check, through R1's delete: deletion protection holds.
        self.assertEqual(
            error_of(rds.delete_db_instance, DBInstanceIdentifier="r16", SkipFinalSnapshot=True),
            (
                "InvalidParameterCombination",
                "Cannot delete protected DB Instance, please disable deletion protection and "
                "try again.",
                400,
            ),
        )
        modified = rds.modify_db_instance(
            DBInstanceIdentifier="r16",
            ManageMasterUserPassword=False,
            MasterUserPassword=PASSWORD,
            ApplyImmediately=True,
        )["DBInstance"]
        self.assertEqual(modified["DBInstanceStatus"], "modifying")
        self.assertNotIn("MasterUserSecret", modified)

    # R17
    def test_r17_ec2_client_token_idempotency(self):
        ec2, fast = self.client("ec2"), SERVERS["fast"].client("ec2")

        def tables(client, vpc):
            found = client.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
            return sorted(t["RouteTableId"] for t in found["RouteTables"])

        fast_vpc = fast.create_vpc(CidrBlock="10.17.0.0/16")["Vpc"]["VpcId"]
        for _ in range(2):  # moto alone makes two
            fast.create_route_table(VpcId=fast_vpc, ClientToken="r17-fast")
        self.assertEqual(len(tables(fast, fast_vpc)), 3)  # with the main one

        vpc = ec2.create_vpc(CidrBlock="10.17.0.0/16")["Vpc"]["VpcId"]
        main = tables(ec2, vpc)
        time.sleep(self.d["ec2.consistency"])
        first = ec2.create_route_table(VpcId=vpc, ClientToken="r17-rt")
        table = first["RouteTable"]["RouteTableId"]
        self.assertEqual(first["ClientToken"], "r17-rt")
        again = ec2.create_route_table(VpcId=vpc, ClientToken="r17-rt")
        self.assertEqual(again["RouteTable"]["RouteTableId"], table)
        self.assertEqual(tables(ec2, vpc), sorted(main + [table]))
        other = ec2.create_route_table(VpcId=vpc, ClientToken="r17-rt-2")["RouteTable"]
        self.assertNotEqual(other["RouteTableId"], table)
        other_vpc = ec2.create_vpc(CidrBlock="10.18.0.0/16")["Vpc"]["VpcId"]
        code, message, http = error_of(
            ec2.create_route_table, VpcId=other_vpc, ClientToken="r17-rt"
        )
        self.assertEqual((code, http), ("IdempotentParameterMismatch", 400))
        self.assertIn("r17-rt", message)

        endpoint = dict(
            VpcEndpointType="Gateway",
            VpcId=vpc,
            ServiceName="com.amazonaws.us-east-1.s3",
            RouteTableIds=[table],
            ClientToken="r17-vpce",
        )
        created = ec2.create_vpc_endpoint(**endpoint)["VpcEndpoint"]["VpcEndpointId"]
        again = ec2.create_vpc_endpoint(**endpoint)["VpcEndpoint"]["VpcEndpointId"]
        self.assertEqual(again, created)
        listed = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
        self.assertEqual([e["VpcEndpointId"] for e in listed["VpcEndpoints"]], [created])


class Throttling(unittest.TestCase):
    """R10 against `--realistic --throttle-rate 0.5 --seed 1`."""

    # service -> (a read-only call, the documented throttling code, HTTP status)
    CALLS = {
        "ec2": (lambda c: c.describe_vpcs(), "RequestLimitExceeded", 503),
        "iam": (lambda c: c.list_roles(), "Throttling", 400),
        "sts": (lambda c: c.get_caller_identity(), "Throttling", 400),
        "rds": (lambda c: c.describe_db_instances(), "Throttling", 400),
        "elasticache": (lambda c: c.describe_replication_groups(), "Throttling", 400),
        "sns": (lambda c: c.list_topics(), "Throttling", 400),
        "kinesis": (lambda c: c.list_streams(), "LimitExceededException", 400),
        "kms": (lambda c: c.list_keys(), "ThrottlingException", 400),
        "secretsmanager": (lambda c: c.list_secrets(), "ThrottlingException", 400),
        "s3": (lambda c: c.list_buckets(), "SlowDown", 503),
    }

    def test_r10_throttling(self):
        server = SERVERS["throttled"]
        self.assertEqual(server.get_json("/engine-realistic/profile")["throttle_rate"], 0.5)
        for _ in range(10):  # moto's own API is never throttled
            server.get("/moto-api/data.json")
        calls = throttled = 0
        for service, (call, code, http) in self.CALLS.items():
            client = server.client(service)
            seen = None
            for _ in range(12):  # until one is throttled (P(none) = 2^-12)
                calls += 1
                try:
                    call(client)
                    continue
                except ClientError as e:
                    seen = e.response
                throttled += 1
                break
            self.assertIsNotNone(seen, service)
            self.assertEqual(
                (seen["Error"]["Code"], seen["ResponseMetadata"]["HTTPStatusCode"]),
                (code, http),
                service,
            )
            if service in ("kinesis", "kms", "secretsmanager"):
                headers = seen["ResponseMetadata"]["HTTPHeaders"]
                self.assertEqual(headers["x-amzn-errortype"], code)
            # a few more calls for the rate
            for _ in range(3):
                calls += 1
                try:
                    call(client)
                except ClientError as e:
                    self.assertEqual(e.response["Error"]["Code"], code)
                    throttled += 1

        # CloudWatch (query protocol, as the engine's pinned SDK speaks it).
        for _ in range(12):
            calls += 1
            status, body = signed_query(
                server, "monitoring", "Action=ListMetrics&Version=2010-08-01"
            )
            if status != 200:
                throttled += 1
                self.assertEqual(status, 400)
                self.assertIn(b"<Type>Sender</Type><Code>Throttling</Code>", body)
                self.assertIn(b"<Message>Rate exceeded</Message>", body)
                break
        else:
            self.fail("CloudWatch was never throttled")

        self.assertGreaterEqual(calls, 40)
        self.assertTrue(0.25 <= throttled / calls <= 0.75, (throttled, calls))
        stats = server.get_json("/engine-realistic/stats")
        self.assertEqual((stats["total_calls"], stats["total_throttled"]), (calls, throttled))
        self.assertEqual(set(stats["throttled"]), set(self.CALLS) | {"monitoring"})

        server.stop()
        self.assertIn(f"engine-realistic: throttled {throttled} of {calls} calls", server.output())

    def test_realistic_without_throttle_rate_throttles_nothing(self):
        server = SERVERS["realistic"]
        before = server.get_json("/engine-realistic/stats")
        sts = server.client("sts")
        for _ in range(10):
            sts.get_caller_identity()
        after = server.get_json("/engine-realistic/stats")
        self.assertEqual(after["total_throttled"], 0)
        self.assertEqual(after["total_calls"] - before["total_calls"], 10)


def signed_query(server: Server, service: str, body: str) -> tuple[int, bytes]:
    """A SigV4-signed query-protocol POST (boto3 speaks CBOR to CloudWatch)."""
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    credentials = botocore.credentials.Credentials("testing", "testing")
    botocore.auth.SigV4Auth(credentials, service, REGION).add_auth(request)
    prepared = urllib.request.Request(
        request.url, data=body.encode(), headers=dict(request.headers), method="POST"
    )
    try:
        with urllib.request.urlopen(prepared, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class FastProfile(unittest.TestCase):
    """Without --realistic, everything answers at once (the Rust tests rely on it)."""

    def test_rds_is_available_at_once(self):
        rds = SERVERS["fast"].client("rds")
        created = rds.create_db_instance(
            DBInstanceIdentifier="fast",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            EngineVersion="15.4",
            AllocatedStorage=20,
            MasterUsername="app",
            MasterUserPassword=PASSWORD,
        )["DBInstance"]
        self.assertEqual(created["DBInstanceStatus"], "available")
        described = rds.describe_db_instances(DBInstanceIdentifier="fast")["DBInstances"][0]
        self.assertEqual(
            (described["DBInstanceStatus"], described["EngineVersion"]), ("available", "15.4")
        )
        rds.delete_db_instance(DBInstanceIdentifier="fast", SkipFinalSnapshot=True)
        self.assertEqual(
            error_of(rds.describe_db_instances, DBInstanceIdentifier="fast")[0],
            "DBInstanceNotFound",
        )

    def test_kinesis_is_active_at_once(self):
        kinesis = SERVERS["fast"].client("kinesis")
        kinesis.create_stream(StreamName="fast", ShardCount=1)
        summary = kinesis.describe_stream_summary(StreamName="fast")["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamStatus"], "ACTIVE")
        kinesis.add_tags_to_stream(StreamName="fast", Tags={"k": "v"})

    def test_patch_12_db_subnet_group_names_are_not_replaced(self):
        ec2 = SERVERS["fast"].client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        rds = SERVERS["fast"].client("rds")
        group = {"DBSubnetGroupName": "taken", "SubnetIds": [subnet]}
        rds.create_db_subnet_group(DBSubnetGroupDescription="first", **group)
        code = error_of(rds.create_db_subnet_group, DBSubnetGroupDescription="second", **group)[0]
        self.assertEqual(code, "DBSubnetGroupAlreadyExists")
        described = rds.describe_db_subnet_groups(DBSubnetGroupName="taken")["DBSubnetGroups"]
        self.assertEqual(described[0]["DBSubnetGroupDescription"], "first")


if __name__ == "__main__":
    unittest.main()
