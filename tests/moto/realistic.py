"""The realistic profile of `launcher.py --realistic`.

The launcher's docstring (section "Realistic profile") describes each behaviour,
R1 to R17, with the AWS page it follows; the function for each says which one it
is. Statuses move on with wall-clock time from the call that started a phase, and
are worked out lazily: before each request, `Timelines.advance` applies the status
every resource with a phase should have by now (no background thread). Where
moto's model has no place for what AWS remembers (when something was created), a
side table keyed by (service, account, region, id) keeps it (R9, which reads ids
off the wire, keys by (service, region, id)).
"""

import io
import json
import random
import re
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from urllib.parse import parse_qsl

# Phase durations in seconds at --scale 1 (every one is multiplied by --scale).
DEFAULT_DURATIONS = {
    "rds.creating": 4.0,
    "rds.backing-up": 2.0,
    "rds.modifying": 2.0,
    "rds.deleting": 3.0,
    "iam.propagation": 3.0,
    "elasticache.creating": 4.0,
    "elasticache.modifying": 2.0,
    "elasticache.deleting": 3.0,
    "kinesis.creating": 2.0,
    "kinesis.updating": 2.0,
    "kinesis.deleting": 2.0,
    "vpc-endpoint.pending": 2.0,
    "vpc-endpoint.deleting": 2.0,
    "secretsmanager.list-lag": 3.0,
    "kms.list-lag": 3.0,
    "ec2.consistency": 1.0,
    "s3.write": 0.05,
}

# R2. RDS for PostgreSQL minor versions that can be created: a subset of those in
# standard support after the February 2025 minor releases (17.4, 16.8, 15.12,
# 14.17, 13.20), from the RDS for PostgreSQL release calendar:
# https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/
#   postgresql-release-calendar.html
AVAILABLE = {
    "postgres": [
        "13.15", "13.16", "13.18", "13.20",
        "14.12", "14.13", "14.15", "14.17",
        "15.7", "15.8", "15.10", "15.12",
        "16.3", "16.4", "16.6", "16.8",
        "17.2", "17.4",
    ],
}  # fmt: skip
# Minor versions past their end of standard support: CreateDBInstance refuses them
# (as it refuses any version that is not AVAILABLE).
RETIRED = {"postgres": {"15.2", "15.3", "15.4", "15.5"}}


class Profile:
    """The active durations (after --scale) and the throttling settings."""

    def __init__(self, scale: float, throttle_rate: float, seed: int):
        self.scale = scale
        self.throttle_rate = throttle_rate
        self.seed = seed
        self.durations = {name: seconds * scale for name, seconds in DEFAULT_DURATIONS.items()}

    def __getitem__(self, name: str) -> float:
        return self.durations[name]

    def as_json(self) -> dict:
        return {
            "scale": self.scale,
            "throttle_rate": self.throttle_rate,
            "seed": self.seed,
            "durations": self.durations,
        }


# --- Phases by elapsed time ---------------------------------------------------------


def phase_at(elapsed: float, steps: list[tuple[str, float]], final: str | None) -> str | None:
    """The status `elapsed` seconds into `steps` ([(status, seconds), ...]), then
    `final` (None: the resource is gone)."""
    for status, seconds in steps:
        if elapsed < seconds:
            return status
        elapsed -= seconds
    return final


class Timeline:
    def __init__(self, steps, final, apply: Callable[[str | None], None]):
        self.started = time.monotonic()
        self.steps = steps
        self.final = final
        self.apply = apply

    def now(self) -> str | None:
        return phase_at(time.monotonic() - self.started, self.steps, self.final)


class Timelines:
    """Resources whose status moves on with time, keyed by (service, account,
    region, id); a new phase of a resource replaces its current one."""

    def __init__(self):
        self.lock = threading.RLock()
        self.timelines: dict[tuple, Timeline] = {}

    def start(self, key: tuple, steps, final, apply) -> None:
        with self.lock:
            timeline = Timeline(steps, final, apply)
            self.timelines[key] = timeline
            apply(timeline.now())

    def advance(self) -> None:
        with self.lock:
            for key, timeline in list(self.timelines.items()):
                status = timeline.now()
                timeline.apply(status)
                if status == timeline.final:
                    del self.timelines[key]

    def clear(self) -> None:
        with self.lock:
            self.timelines.clear()


class Ages:
    """When resources were created (monotonic clock), keyed by (service, ..., id)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.created: dict[tuple, float] = {}

    def mark(self, key: tuple, again: bool = True) -> None:
        """Notes that `key` was created now (unless known already and not `again`)."""
        with self.lock:
            if again or key not in self.created:
                self.created[key] = time.monotonic()

    def younger_than(self, key: tuple, seconds: float) -> bool:
        with self.lock:
            created = self.created.get(key)
        return created is not None and time.monotonic() - created < seconds

    def clear(self) -> None:
        with self.lock:
            self.created.clear()


def status_setter(store: dict, key: str, obj, attr: str = "status"):
    """Applies a status to `obj` (stored at `store[key]`); None removes it."""

    def apply(status: str | None) -> None:
        if status is None:
            if store.get(key) is obj:
                del store[key]
        else:
            setattr(obj, attr, status)

    return apply


# --- R1, R2, R3: RDS ------------------------------------------------------------------


def rds_error(code: str, message: str):
    from moto.rds.exceptions import RDSClientError

    return RDSClientError(code, message)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def resolve_engine_version(engine: str, version: str | None) -> str:
    """R2. A major version (`15`) is its newest available minor; no version is the
    newest available; a retired or unknown minor is refused."""
    available = sorted(AVAILABLE[engine], key=version_key)
    if not version:
        return available[-1]
    if "." not in version:
        minors = [v for v in available if v.split(".")[0] == version]
        if minors:
            return minors[-1]
    elif version in available and version not in RETIRED.get(engine, set()):
        return version
    raise rds_error("InvalidParameterCombination", f"Cannot find version {version} for {engine}")


def check_engine_version(db_kwargs, engine: str | None) -> None:
    """R2 for CreateDBInstance and ModifyDBInstance (non-Aurora engines we model)."""
    if engine in AVAILABLE and not db_kwargs.get("db_cluster_identifier"):
        version = db_kwargs.get("engine_version")
        db_kwargs["engine_version"] = resolve_engine_version(engine, version)


def check_monitoring_role(
    account_id: str, region: str, role_arn: str | None, window: float
) -> None:
    """R3. An enhanced-monitoring role that IAM has not propagated yet (created less
    than `window` seconds ago), or that does not exist, is refused."""
    if not role_arn:
        return
    from moto.core.utils import utcnow
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    try:
        role = iam_backends[account_id][get_partition(region)].get_role_by_arn(role_arn)
    except Exception:
        role = None
    if role is None or (utcnow() - role.create_date).total_seconds() < window:
        raise rds_error(
            "InvalidParameterValue",
            "IAM role ARN value is invalid or does not include the required permissions "
            "for: ENHANCED_MONITORING",
        )


def rds_checks(profile: Profile) -> None:
    """R2 and R3: CreateDBInstance and ModifyDBInstance validate the engine version
    and the monitoring role."""
    from moto.rds.models import RDSBackend

    create, modify = RDSBackend.create_db_instance, RDSBackend.modify_db_instance

    def check_role(backend, db_kwargs) -> None:
        role, window = db_kwargs.get("monitoring_role_arn"), profile["iam.propagation"]
        check_monitoring_role(backend.account_id, backend.region_name, role, window)

    def create_db_instance(self, db_kwargs):
        check_engine_version(db_kwargs, db_kwargs.get("engine"))
        check_role(self, db_kwargs)
        return create(self, db_kwargs)

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        db = self.describe_db_instances(db_instance_identifier)[0]
        if db_kwargs.get("engine_version"):
            check_engine_version(db_kwargs, db.engine)
        check_role(self, db_kwargs)
        return modify(self, db_instance_identifier, db_kwargs)

    RDSBackend.create_db_instance = create_db_instance
    RDSBackend.modify_db_instance = modify_db_instance


def rds_engine_versions() -> None:
    """R2. DescribeDBEngineVersions (moto answers 500) lists AVAILABLE."""
    from moto.core.responses import ActionResult
    from moto.rds.responses import RDSResponse

    def describe_db_engine_versions(self: RDSResponse) -> ActionResult:
        engine = self.params.get("Engine")
        wanted = self.params.get("EngineVersion")
        family = self.params.get("DBParameterGroupFamily")
        found = []
        for name, versions in AVAILABLE.items():
            if engine and engine != name:
                continue
            for version in sorted(versions, key=version_key):
                major = version.split(".")[0]
                if wanted and wanted not in (version, major):
                    continue
                if family and family != f"{name}{major}":
                    continue
                found.append(
                    {
                        "Engine": name,
                        "EngineVersion": version,
                        "MajorEngineVersion": major,
                        "DBParameterGroupFamily": f"{name}{major}",
                        "DBEngineDescription": "PostgreSQL",
                        "DBEngineVersionDescription": f"PostgreSQL {version}-R1",
                        "Status": "available",
                    }
                )
        if self.params.get("DefaultOnly") and found:
            found = [found[-1]]
        return ActionResult({"DBEngineVersions": found})

    RDSResponse.describe_db_engine_versions = describe_db_engine_versions


def rds_instance_phases(profile: Profile, timelines: Timelines) -> None:
    """R1. creating -> backing-up -> available; modifying; deleting -> gone.
    Modify and Delete need an available instance."""
    from moto.rds.models import RDSBackend

    create, modify, delete = (
        RDSBackend.create_db_instance,
        RDSBackend.modify_db_instance,
        RDSBackend.delete_db_instance,
    )

    def phases(backend, db, steps, final="available", key=None) -> None:
        # (moto keys an instance by the identifier as given, which may not be lower case.)
        key = key or next(k for k, v in backend.databases.items() if v is db)
        timelines.start(
            ("rds", backend.account_id, backend.region_name, key),
            steps,
            final,
            status_setter(backend.databases, key, db),
        )

    def require_available(db, deleting: bool) -> None:
        name = db.db_instance_identifier
        if deleting and db.status == "deleting":
            raise rds_error("InvalidDBInstanceState", f"Instance {name} is already being deleted.")
        # A stopped instance can be deleted, not modified.
        if db.status != "available" and not (deleting and db.status == "stopped"):
            raise rds_error("InvalidDBInstanceState", f"Instance {name} is not in available state.")

    def create_db_instance(self, db_kwargs):
        db = create(self, db_kwargs)
        steps = [("creating", profile["rds.creating"]), ("backing-up", profile["rds.backing-up"])]
        phases(self, db, steps)
        return db

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        require_available(self.describe_db_instances(db_instance_identifier)[0], deleting=False)
        db = modify(self, db_instance_identifier, db_kwargs)
        phases(self, db, [("modifying", profile["rds.modifying"])])
        return db

    def delete_db_instance(self, db_instance_identifier, *args, **kwargs):
        require_available(self.describe_db_instances(db_instance_identifier)[0], deleting=True)
        db = delete(self, db_instance_identifier, *args, **kwargs)
        # moto forgets it at once; AWS shows it `deleting` first.
        self.databases[db_instance_identifier] = db
        steps = [("deleting", profile["rds.deleting"])]
        phases(self, db, steps, final=None, key=db_instance_identifier)
        return db

    RDSBackend.create_db_instance = create_db_instance
    RDSBackend.modify_db_instance = modify_db_instance
    RDSBackend.delete_db_instance = delete_db_instance


# --- R4: ElastiCache ------------------------------------------------------------------


def elasticache_phases(profile: Profile, timelines: Timelines) -> None:
    """R4. Replication groups: creating -> available; modifying; deleting -> gone.
    Modify, Delete and the tag calls on the group need it available."""
    from moto.elasticache.exceptions import ElastiCacheException
    from moto.elasticache.models import ElastiCacheBackend

    class InvalidReplicationGroupState(ElastiCacheException):
        code = "InvalidReplicationGroupState"

    def phases(backend, group, steps, final="available") -> None:
        key = group.replication_group_id
        set_status = status_setter(backend.replication_groups, key, group)

        def apply(status):
            set_status(status)
            for node_group in group.node_groups if status else []:
                node_group["status"] = status

        timelines.start(
            ("elasticache", backend.account_id, backend.region_name, key), steps, final, apply
        )

    def require_available(backend, group_id: str) -> None:
        group = backend.replication_groups.get(group_id)
        if group is not None and group.status != "available":
            raise InvalidReplicationGroupState(
                "InvalidReplicationGroupState",
                f"Replication group {group_id} is not in the available state "
                f"(it is {group.status}).",
            )

    def group_of_arn(arn: str) -> str:
        return arn.split(":replicationgroup:")[1] if ":replicationgroup:" in (arn or "") else ""

    create = ElastiCacheBackend.create_replication_group
    modify = ElastiCacheBackend.modify_replication_group
    delete = ElastiCacheBackend.delete_replication_group

    def create_replication_group(self, *args, **kwargs):
        group = create(self, *args, **kwargs)
        phases(self, group, [("creating", profile["elasticache.creating"])])
        return group

    def modify_replication_group(self, replication_group_id, *args, **kwargs):
        require_available(self, replication_group_id)
        group = modify(self, replication_group_id, *args, **kwargs)
        phases(self, group, [("modifying", profile["elasticache.modifying"])])
        return group

    def delete_replication_group(self, replication_group_id, retain_primary_cluster):
        require_available(self, replication_group_id)
        group = delete(self, replication_group_id, retain_primary_cluster)
        # Patch 3 removes it at once; here it stays `deleting` for the phase (and so
        # keeps its cache subnet group in use).
        self.replication_groups[replication_group_id] = group
        phases(self, group, [("deleting", profile["elasticache.deleting"])], final=None)
        return group

    ElastiCacheBackend.create_replication_group = create_replication_group
    ElastiCacheBackend.modify_replication_group = modify_replication_group
    ElastiCacheBackend.delete_replication_group = delete_replication_group

    for name in ("list_tags_for_resource", "add_tags_to_resource", "remove_tags_from_resource"):
        original = getattr(ElastiCacheBackend, name)

        def tagging(self, arn, *args, _original=original):
            require_available(self, group_of_arn(arn))
            return _original(self, arn, *args)

        setattr(ElastiCacheBackend, name, tagging)


# --- R5: Kinesis ----------------------------------------------------------------------

# Calls that need an ACTIVE stream, and the phase each one starts.
KINESIS_GATED = {
    "add_tags_to_stream": None,
    "remove_tags_from_stream": None,
    "enable_enhanced_monitoring": None,
    "disable_enhanced_monitoring": None,
    "start_stream_encryption": "UPDATING",
    "stop_stream_encryption": "UPDATING",
    "update_shard_count": "UPDATING",
    "increase_stream_retention_period": "UPDATING",
    "decrease_stream_retention_period": "UPDATING",
    "delete_stream": "DELETING",
}


def kinesis_phases(profile: Profile, timelines: Timelines) -> None:
    """R5. CREATING -> ACTIVE; UPDATING; DELETING -> gone. The calls of
    KINESIS_GATED need an ACTIVE stream (ResourceInUseException)."""
    from moto.kinesis.exceptions import ResourceInUseError
    from moto.kinesis.responses import KinesisResponse

    def phases(backend, stream, status: str, seconds: float, final="ACTIVE") -> None:
        name = stream.stream_name
        timelines.start(
            ("kinesis", backend.account_id, backend.region_name, name),
            [(status, seconds)],
            final,
            status_setter(backend.streams, name, stream),
        )

    def stream_of(response):
        return response.kinesis_backend.describe_stream(
            response._get_param("StreamARN"), response._get_param("StreamName")
        )

    create = KinesisResponse.create_stream

    def create_stream(self):
        result = create(self)
        stream = self.kinesis_backend.streams[self._get_param("StreamName")]
        phases(self.kinesis_backend, stream, "CREATING", profile["kinesis.creating"])
        return result

    KinesisResponse.create_stream = create_stream

    for name, starts in KINESIS_GATED.items():
        original = getattr(KinesisResponse, name)

        def gated(self, _original=original, _starts=starts):
            backend = self.kinesis_backend
            stream = stream_of(self)
            if stream.status != "ACTIVE":
                raise ResourceInUseError(
                    f"Stream {stream.stream_name} under account {backend.account_id} "
                    f"not ACTIVE, instead in state {stream.status}"
                )
            result = _original(self)
            if _starts == "UPDATING":
                phases(backend, stream, "UPDATING", profile["kinesis.updating"])
            elif _starts == "DELETING":
                backend.streams[stream.stream_name] = stream  # moto forgets it at once
                phases(backend, stream, "DELETING", profile["kinesis.deleting"], final=None)
            return result

        setattr(KinesisResponse, name, gated)


# --- R6: VPC endpoints ----------------------------------------------------------------


def vpc_endpoint_phases(profile: Profile, timelines: Timelines) -> None:
    """R6. pending -> available; deleting -> deleted. An interface endpoint not yet
    deleted keeps its subnets and security groups in use (DependencyViolation)."""
    from moto.ec2.exceptions import DependencyViolationError
    from moto.ec2.models import EC2Backend

    def phases(backend, endpoint, status: str, seconds: float, final: str) -> None:
        timelines.start(
            ("ec2", backend.account_id, backend.region_name, endpoint.id),
            [(status, seconds)],
            final,
            status_setter(backend.vpc_end_points, endpoint.id, endpoint, attr="state"),
        )

    def endpoint_using(backend, subnet_id=None, group_id=None):
        for endpoint in backend.vpc_end_points.values():
            if (endpoint.vpc_endpoint_type or "").lower() != "interface":
                continue
            if endpoint.state == "deleted":
                continue
            if subnet_id in (endpoint.subnet_ids or []) or group_id in endpoint.security_group_ids:
                return endpoint
        return None

    create = EC2Backend.create_vpc_endpoint
    delete = EC2Backend.delete_vpc_endpoints
    delete_subnet = EC2Backend.delete_subnet
    delete_security_group = EC2Backend.delete_security_group

    def create_vpc_endpoint(self, *args, **kwargs):
        endpoint = create(self, *args, **kwargs)
        phases(self, endpoint, "pending", profile["vpc-endpoint.pending"], "available")
        return endpoint

    def delete_vpc_endpoints(self, vpce_ids=None):
        live = [
            vpce_id
            for vpce_id in vpce_ids or []
            if vpce_id in self.vpc_end_points
            and self.vpc_end_points[vpce_id].state not in ("deleting", "deleted")
        ]
        delete(self, live)
        for vpce_id in live:
            endpoint = self.vpc_end_points[vpce_id]
            phases(self, endpoint, "deleting", profile["vpc-endpoint.deleting"], "deleted")

    def delete_subnet_checked(self, subnet_id):
        if endpoint_using(self, subnet_id=subnet_id):
            raise DependencyViolationError(
                f"The subnet '{subnet_id}' has dependencies and cannot be deleted."
            )
        return delete_subnet(self, subnet_id)

    def delete_security_group_checked(self, name=None, group_id=None):
        group = self.get_security_group_by_name_or_id(group_id or name)
        if group is not None and endpoint_using(self, group_id=group.id):
            raise DependencyViolationError(f"resource {group.id} has a dependent object")
        return delete_security_group(self, name=name, group_id=group_id)

    EC2Backend.create_vpc_endpoint = create_vpc_endpoint
    EC2Backend.delete_vpc_endpoints = delete_vpc_endpoints
    EC2Backend.delete_subnet = delete_subnet_checked
    EC2Backend.delete_security_group = delete_security_group_checked


# --- R7: Secrets Manager --------------------------------------------------------------


def secrets_manager(profile: Profile, ages: Ages) -> None:
    """R7. A name scheduled for deletion can be neither created nor deleted again
    (without ForceDeleteWithoutRecovery); ListSecrets lags behind CreateSecret."""
    from moto.secretsmanager.exceptions import InvalidRequestException
    from moto.secretsmanager.models import SecretsManagerBackend

    create = SecretsManagerBackend.create_secret
    delete = SecretsManagerBackend.delete_secret
    list_secrets = SecretsManagerBackend.list_secrets

    def scheduled(backend, secret_id: str) -> bool:
        # (`in` and [] resolve names and ARNs; the store's .get does not.)
        if secret_id not in backend.secrets:
            return False
        return getattr(backend.secrets[secret_id], "deleted_date", None) is not None

    def create_secret(self, name, *args, **kwargs):
        if scheduled(self, name):
            raise InvalidRequestException(
                "You can't create this secret because a secret with this name is already "
                "scheduled for deletion."
            )
        new = name not in self.secrets
        result = create(self, name, *args, **kwargs)
        if new:
            ages.mark(("secretsmanager", self.account_id, self.region_name, self.secrets[name].arn))
        return result

    def delete_secret(self, secret_id, recovery_window_in_days, force_delete_without_recovery):
        if not force_delete_without_recovery and scheduled(self, secret_id):
            raise InvalidRequestException(
                "You can't perform this operation on the secret because it was marked for deletion."
            )
        return delete(self, secret_id, recovery_window_in_days, force_delete_without_recovery)

    def listed(self, *args, **kwargs):
        secrets, next_token = list_secrets(self, *args, **kwargs)
        lag = profile["secretsmanager.list-lag"]
        secrets = [
            secret
            for secret in secrets
            if not ages.younger_than(
                ("secretsmanager", self.account_id, self.region_name, secret["ARN"]), lag
            )
        ]
        return secrets, next_token

    SecretsManagerBackend.create_secret = create_secret
    SecretsManagerBackend.delete_secret = delete_secret
    SecretsManagerBackend.list_secrets = listed


# --- R8: KMS --------------------------------------------------------------------------


def kms_alias_lag(profile: Profile, ages: Ages) -> None:
    """R8. ListAliases lags behind CreateAlias."""
    from moto.kms.models import KmsBackend

    create, list_aliases = KmsBackend.create_alias, KmsBackend.list_aliases

    def create_alias(self, target_key_id, alias_name):
        alias = create(self, target_key_id, alias_name)
        ages.mark(("kms", self.account_id, self.region_name, alias_name))
        return alias

    def listed(self, key_id=None):
        lag = profile["kms.list-lag"]
        for alias in list_aliases(self, key_id=key_id):
            key = ("kms", self.account_id, self.region_name, alias.alias_name)
            if not ages.younger_than(key, lag):
                yield alias

    KmsBackend.create_alias = create_alias
    KmsBackend.list_aliases = listed


# --- R9: EC2 eventual consistency (on the wire) ---------------------------------------

# The element of each Create* answer that names the new resource.
EC2_CREATES = {
    "CreateVpc": "vpcId",
    "CreateSubnet": "subnetId",
    "CreateSecurityGroup": "groupId",
    "CreateRouteTable": "routeTableId",
    "CreateInternetGateway": "internetGatewayId",
}
# Mutating calls that do not see a young resource yet.
EC2_MUTATIONS = {
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "CreateTags",
    "ModifyVpcAttribute",
    "AttachInternetGateway",
    "CreateRoute",
    "AssociateRouteTable",
    "ModifySubnetAttribute",
}
# What they answer, by the prefix of the id they name.
EC2_NOT_FOUND = {
    "vpc-": ("InvalidVpcID.NotFound", "The vpc ID '{}' does not exist"),
    "subnet-": ("InvalidSubnetID.NotFound", "The subnet ID '{}' does not exist"),
    "sg-": ("InvalidGroup.NotFound", "The security group '{}' does not exist"),
    "rtb-": ("InvalidRouteTableID.NotFound", "The routeTable ID '{}' does not exist"),
    "igw-": ("InvalidInternetGatewayID.NotFound", "The internetGateway ID '{}' does not exist"),
}


class Ec2Consistency:
    """R9. For a moment after a Create*, mutating calls naming the new id answer
    its NotFound code. Ids are read from the Create* answers, so the resources
    moto makes by itself (default VPC, a VPC's main route table) are not young."""

    def __init__(self, profile: Profile, ages: Ages):
        self.window = profile["ec2.consistency"]
        self.ages = ages

    def refusal(self, region: str, params: dict[str, str]):
        if params.get("Action") not in EC2_MUTATIONS:
            return None
        for value in params.values():
            if self.ages.younger_than(("ec2", region, value), self.window):
                code, message = next(
                    found for prefix, found in EC2_NOT_FOUND.items() if value.startswith(prefix)
                )
                return 400, ec2_error(code, message.format(value))
        return None

    def record(self, region: str, action: str | None, body: bytes) -> None:
        element = EC2_CREATES.get(action or "")
        if element:
            found = re.search(rf"<{element}>([^<]+)</{element}>".encode(), body)
            if found:
                # (not again: a repeat of a create by its ClientToken, R17, answers the
                # first resource, which is no younger for it)
                self.ages.mark(("ec2", region, found.group(1).decode()), again=False)


# --- R10: throttling ------------------------------------------------------------------

# The documented throttling error of the JSON services (others: see throttle_answer).
JSON_THROTTLING = {
    "kinesis": ("LimitExceededException", "Rate exceeded"),
    "kms": (
        "ThrottlingException",
        "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
    ),
}


def ec2_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        f"</Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


def throttle_answer(service: str, content_type: str) -> tuple[int, dict[str, str], bytes]:
    """R10. The service's throttling error, in the protocol of the request."""
    request_id = str(uuid.uuid4())
    if service == "ec2":
        return (
            503,
            {"Content-Type": "text/xml"},
            ec2_error("RequestLimitExceeded", "Request limit exceeded."),
        )
    if service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            "<Message>Please reduce your request rate.</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        return 503, {"Content-Type": "application/xml"}, body.encode()
    if "json" in content_type:
        code, message = JSON_THROTTLING.get(service, ("ThrottlingException", "Rate exceeded"))
        headers = {
            "Content-Type": content_type.split(";")[0] or "application/x-amz-json-1.1",
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id,
        }
        return 400, headers, json.dumps({"__type": code, "message": message}).encode()
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        f"<Message>Rate exceeded</Message></Error><RequestId>{request_id}</RequestId>"
        "</ErrorResponse>"
    )
    return 400, {"Content-Type": "text/xml"}, body.encode()


class Throttle:
    """R10. Refuses a seeded random fraction of the calls, and counts them."""

    def __init__(self, profile: Profile):
        self.rate = profile.throttle_rate
        self.random = random.Random(profile.seed)
        self.lock = threading.Lock()
        self.calls: Counter = Counter()
        self.throttled: Counter = Counter()

    def refuses(self, service: str) -> bool:
        with self.lock:
            self.calls[service] += 1
            refused = self.rate > 0 and self.random.random() < self.rate
            if refused:
                self.throttled[service] += 1
            return refused

    def stats(self) -> dict:
        with self.lock:
            return {
                "calls": dict(self.calls),
                "throttled": dict(self.throttled),
                "total_calls": sum(self.calls.values()),
                "total_throttled": sum(self.throttled.values()),
            }

    def summary(self) -> str:
        stats = self.stats()
        per_service = ", ".join(f"{s}={n}" for s, n in sorted(stats["throttled"].items()))
        return (
            f"engine-realistic: throttled {stats['total_throttled']} of "
            f"{stats['total_calls']} calls ({per_service or 'none'})"
        )


class S3Writes:
    """R11. An S3 object write (PUT or DELETE of a key) takes `s3.write` seconds; a
    conditional one (`If-None-Match`, `If-Match`) that arrives while another write
    of the same key is under way answers 409 ConditionalRequestConflict."""

    # Bucket and object subresources that are not writes of the object itself.
    SUBRESOURCES = ("tagging", "acl", "uploadId", "partNumber", "retention", "legal-hold")

    def __init__(self, profile: Profile):
        self.seconds = profile["s3.write"]
        self.lock = threading.Lock()
        self.busy: Counter = Counter()
        self.conflicts = 0

    def call(self, environ, start_response, moto):
        query = environ.get("QUERY_STRING", "")
        path = environ.get("PATH_INFO", "")
        parts = path.lstrip("/").split("/", 1)
        is_object_write = (
            environ.get("REQUEST_METHOD") in ("PUT", "DELETE")
            and len(parts) == 2
            and parts[1]
            and not any(s in query for s in self.SUBRESOURCES)
        )
        if not is_object_write:
            return moto(environ, start_response)
        key = (environ.get("HTTP_HOST", ""), path)
        conditional = "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ
        with self.lock:
            if conditional and self.busy[key]:
                self.conflicts += 1
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                    "<Code>ConditionalRequestConflict</Code><Message>A conflicting operation "
                    "occurred. If using PutObject you can retry the request. If using "
                    "multipart upload you should initiate another CreateMultipartUpload "
                    "request and re-upload each part.</Message>"
                    f"<RequestId>{uuid.uuid4()}</RequestId></Error>"
                )
                return respond(
                    start_response, 409, {"Content-Type": "application/xml"}, body.encode()
                )
            self.busy[key] += 1
        try:
            time.sleep(self.seconds)
            return moto(environ, start_response)
        finally:
            with self.lock:
                self.busy[key] -= 1


# --- R12 to R17: what AWS checks or remembers of a request, and moto does not ---------

# R12. The only characters of an AUTH token besides letters and digits.
AUTH_TOKEN_SPECIALS = set("!&#$^<>-")


def check_auth_token(token: str) -> None:
    """R12. 16 to 128 printable ASCII characters: letters, digits and !&#$^<>- only
    (AWS gives one message for every way a token is wrong)."""
    from moto.elasticache.exceptions import InvalidParameterValueException

    allowed = all(
        (char.isascii() and char.isalnum()) or char in AUTH_TOKEN_SPECIALS for char in token
    )
    if not (16 <= len(token) <= 128 and allowed):
        raise InvalidParameterValueException("Invalid AuthToken provided.")


def elasticache_auth_token() -> None:
    """R12. An AuthToken needs TransitEncryptionEnabled and a valid token, on
    CreateReplicationGroup and ModifyReplicationGroup (which moto ignores the token
    of: here it sets AuthTokenEnabled, or clears it with the DELETE strategy)."""
    from moto.core.utils import utcnow
    from moto.elasticache.exceptions import InvalidParameterCombinationException
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    def needs_transit_encryption() -> None:
        raise InvalidParameterCombinationException(
            "The AUTH token is only supported when encryption-in-transit is enabled"
        )

    create = ElastiCacheBackend.create_replication_group

    def create_replication_group(self, *args, **kwargs):
        token = kwargs.get("auth_token")
        if token is not None:
            if kwargs.get("transit_encryption_enabled") is not True:
                needs_transit_encryption()
            check_auth_token(token)
        return create(self, *args, **kwargs)

    modify = ElastiCacheResponse.modify_replication_group

    def modify_replication_group(self: ElastiCacheResponse):
        token = self._get_param("AuthToken")
        strategy = self._get_param("AuthTokenUpdateStrategy") or "ROTATE"  # AWS's default
        group = self.elasticache_backend.replication_groups.get(
            self._get_param("ReplicationGroupId")
        )
        if token is not None and group is not None:
            enabling = self._get_bool_param("TransitEncryptionEnabled")
            if not (group.transit_encryption_enabled or enabling):
                needs_transit_encryption()
            check_auth_token(token)
        result = modify(self)
        if group is not None and (token is not None or strategy == "DELETE"):
            group.auth_token_enabled = strategy != "DELETE"
            group.auth_token_last_modified_date = utcnow()
        return result

    ElastiCacheBackend.create_replication_group = create_replication_group
    ElastiCacheResponse.modify_replication_group = modify_replication_group


# R13. What CloudWatch Logs must be allowed to do with a log group's key.
LOGS_KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def names_principal(statement: dict, service: str) -> bool:
    """Whether a policy statement's Principal is `service` (or everyone)."""
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return service in as_list(principal.get("Service")) or "*" in as_list(principal.get("AWS"))


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, `*` and `?` wildcards."""
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return re.fullmatch(regex, action.lower()) is not None


def key_policy_allows(policy: str, service: str, actions) -> bool:
    """Whether the Allow statements of a key policy that name `service` grant every
    one of `actions`, and no Deny statement naming it takes one back (conditions are
    taken as met)."""
    try:
        statements = as_list(json.loads(policy).get("Statement"))
    except (ValueError, AttributeError):
        return False
    allowed, denied = set(), set()
    for statement in statements:
        if not isinstance(statement, dict) or not names_principal(statement, service):
            continue
        granted = {
            action
            for action in actions
            for pattern in as_list(statement.get("Action"))
            if action_matches(pattern, action)
        }
        if statement.get("Effect") == "Allow":
            allowed |= granted
        elif statement.get("Effect") == "Deny":
            denied |= granted
    return set(actions) <= allowed and not denied


def logs_kms_key() -> None:
    """R13. CreateLogGroup with kmsKeyId and AssociateKmsKey (which moto does not
    implement; DisassociateKmsKey neither) need an enabled key of the region whose
    policy lets logs.REGION.amazonaws.com encrypt, decrypt and generate data keys."""
    from moto.kms.models import kms_backends
    from moto.logs.exceptions import LogsClientError, ResourceNotFoundException
    from moto.logs.models import LogsBackend
    from moto.logs.responses import LogsResponse

    def check_key(backend: LogsBackend, log_group_name: str, key_id: str) -> None:
        kms = kms_backends[backend.account_id][backend.region_name]
        try:
            key = kms.describe_key(key_id)
        except Exception:  # unknown key or alias
            key = None
        service = f"logs.{backend.region_name}.amazonaws.com"
        if (
            key is None
            or key.key_state != "Enabled"
            or not key_policy_allows(key.policy, service, LOGS_KMS_ACTIONS)
        ):
            region, account = backend.region_name, backend.account_id
            arn = f"arn:aws:logs:{region}:{account}:log-group:{log_group_name}"
            raise LogsClientError(
                "AccessDeniedException",
                f"The specified KMS key does not exist or is not allowed to be used with "
                f"Arn '{arn}'",
            )

    create = LogsBackend.create_log_group

    def create_log_group(self, log_group_name, tags, **kwargs):
        if kwargs.get("kmsKeyId") and log_group_name not in self.groups:
            check_key(self, log_group_name, kwargs["kmsKeyId"])
        return create(self, log_group_name, tags, **kwargs)

    def group_of(backend: LogsBackend, name: str):
        if name not in backend.groups:
            raise ResourceNotFoundException()
        return backend.groups[name]

    def associate_kms_key(self: LogsResponse) -> str:
        name, key_id = self._get_param("logGroupName"), self._get_param("kmsKeyId")
        group = group_of(self.logs_backend, name)
        check_key(self.logs_backend, name, key_id)
        group.kms_key_id = key_id
        return ""

    def disassociate_kms_key(self: LogsResponse) -> str:
        group_of(self.logs_backend, self._get_param("logGroupName")).kms_key_id = None
        return ""

    LogsBackend.create_log_group = create_log_group
    LogsResponse.associate_kms_key = associate_kms_key
    LogsResponse.disassociate_kms_key = disassociate_kms_key


# R14. The retention periods PutRetentionPolicy accepts, in days.
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
    2557, 2922, 3288, 3653,
)  # fmt: skip


def logs_retention() -> None:
    """R14. PutRetentionPolicy takes only the retention periods AWS lists."""
    from moto.logs.exceptions import InvalidParameterException
    from moto.logs.models import LogsBackend

    put = LogsBackend.put_retention_policy

    def put_retention_policy(self, log_group_name, retention_in_days):
        if retention_in_days not in RETENTION_DAYS:
            raise InvalidParameterException(
                constraint="Member must satisfy enum value set: "
                f"[{', '.join(str(days) for days in RETENTION_DAYS)}]",
                parameter="retentionInDays",
                value=retention_in_days,
            )
        return put(self, log_group_name, retention_in_days)

    LogsBackend.put_retention_policy = put_retention_policy


def ec2_default_security_group() -> None:
    """R15. DeleteSecurityGroup of a VPC's default group answers CannotDelete (on
    the API only: DeleteVpc still removes it, through the backend)."""
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.responses import EC2Response

    delete = EC2Response.delete_security_group

    def delete_security_group(self: EC2Response):
        wanted = self._get_param("GroupId") or self._get_param("GroupName")
        group = self.ec2_backend.get_security_group_by_name_or_id(wanted) if wanted else None
        if group is not None and group.name == "default" and group.vpc_id:
            raise EC2ClientError(
                "CannotDelete",
                f'the specified group: "{group.id}" name: "default" cannot be deleted by a user',
            )
        return delete(self)

    EC2Response.delete_security_group = delete_security_group


def rds_master_password() -> None:
    """R16. ManageMasterUserPassword excludes MasterUserPassword (CreateDBInstance,
    ModifyDBInstance); ModifyDBInstance with ManageMasterUserPassword false needs a
    MasterUserPassword (whether or not the password is managed at the time)."""
    from moto.rds.models import RDSBackend

    create, modify = RDSBackend.create_db_instance, RDSBackend.modify_db_instance

    def flag(db_kwargs, name: str):
        value = db_kwargs.get(name)
        return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value

    def check_both(db_kwargs) -> None:
        if flag(db_kwargs, "manage_master_user_password") and db_kwargs.get(
            "master_user_password"
        ):
            raise rds_error(
                "InvalidParameterCombination",
                "Can't manage the master user password with AWS Secrets Manager if "
                "MasterUserPassword is specified.",
            )

    def create_db_instance(self, db_kwargs):
        check_both(db_kwargs)
        return create(self, db_kwargs)

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        check_both(db_kwargs)
        turning_off = flag(db_kwargs, "manage_master_user_password") is False
        if turning_off and not db_kwargs.get("master_user_password"):
            raise rds_error(
                "InvalidParameterCombination",
                "MasterUserPassword must be provided when ManageMasterUserPassword is set "
                "to false.",
            )
        return modify(self, db_instance_identifier, db_kwargs)

    RDSBackend.create_db_instance = create_db_instance
    RDSBackend.modify_db_instance = modify_db_instance


def ec2_client_tokens() -> None:
    """R17. CreateRouteTable and CreateVpcEndpoint are idempotent by ClientToken: a
    repeat answers the first result; the token with other parameters answers
    IdempotentParameterMismatch."""
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.responses import EC2Response

    lock = threading.Lock()
    # (account, region, action, token) -> (the other parameters, the first result)
    first: dict[tuple, tuple[list, object]] = {}

    def idempotent(name: str, action: str, element: str):
        original = getattr(EC2Response, name)

        def create(self: EC2Response):
            token = self._get_param("ClientToken")
            if not token:
                return original(self)
            key = (self.current_account, self.region, action, token)
            others = sorted(
                (k, str(v)) for k, v in self.querystring.items() if k not in ("ClientToken",)
            )
            with lock:
                if key in first:
                    seen, result = first[key]
                    if seen != others:
                        raise EC2ClientError(
                            "IdempotentParameterMismatch",
                            f"The client token '{token}' was already used with other "
                            "parameters.",
                        )
                    return result
                result = original(self)
                if isinstance(getattr(result, "result", None), dict):
                    result.result.setdefault("ClientToken", token)
                    if element in result.result:
                        first[key] = (others, result)
                return result

        setattr(EC2Response, name, create)

    idempotent("create_route_table", "CreateRouteTable", "RouteTable")
    idempotent("create_vpc_endpoint", "CreateVpcEndpoint", "VpcEndpoint")


# --- The WSGI layer -------------------------------------------------------------------


def signing_scope(environ) -> tuple[str, str] | None:
    """(service, region) from the SigV4 credential scope of the Authorization header."""
    found = re.search(
        r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/aws4_request", environ.get("HTTP_AUTHORIZATION", "")
    )
    return (found.group(2).lower(), found.group(1)) if found else None


def query_params(environ) -> dict[str, str]:
    """The query-protocol parameters (form body and query string); the body is put
    back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    params = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8", "replace")))
    return params


def respond(start_response, status: int, headers: dict[str, str], body: bytes):
    reasons = {
        200: "OK",
        400: "Bad Request",
        404: "Not Found",
        409: "Conflict",
        503: "Service Unavailable",
    }
    headers = {**headers, "Content-Length": str(len(body))}
    start_response(f"{status} {reasons.get(status, '')}", list(headers.items()))
    return [body]


class Realistic:
    """Everything the profile keeps, and the WSGI middleware in front of moto."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.timelines = Timelines()
        self.ages = Ages()
        self.throttle = Throttle(profile)
        self.ec2 = Ec2Consistency(profile, self.ages)
        self.s3 = S3Writes(profile)
        self.reported = False

    def install(self) -> None:
        rds_checks(self.profile)
        rds_engine_versions()
        rds_instance_phases(self.profile, self.timelines)
        elasticache_phases(self.profile, self.timelines)
        kinesis_phases(self.profile, self.timelines)
        vpc_endpoint_phases(self.profile, self.timelines)
        secrets_manager(self.profile, self.ages)
        kms_alias_lag(self.profile, self.ages)
        elasticache_auth_token()
        logs_kms_key()
        logs_retention()
        ec2_default_security_group()
        rds_master_password()
        ec2_client_tokens()

        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        moto_call = DomainDispatcherApplication.__call__
        realistic = self

        def __call__(app, environ, start_response):
            return realistic(environ, start_response, lambda e, s: moto_call(app, e, s))

        DomainDispatcherApplication.__call__ = __call__

    def report(self) -> None:
        if not self.reported:
            self.reported = True
            print(self.throttle.summary(), file=sys.stderr, flush=True)

    def __call__(self, environ, start_response, moto):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/engine-realistic/"):
            return self.own_api(path, start_response)
        if path == "/moto-api/reset":
            self.timelines.clear()
            self.ages.clear()
        self.timelines.advance()
        scope = signing_scope(environ)
        if path.startswith("/moto-api") or scope is None:  # not an SDK call
            return moto(environ, start_response)
        service, region = scope
        if self.throttle.refuses(service):
            answer = throttle_answer(service, environ.get("CONTENT_TYPE", ""))
            return respond(start_response, *answer)
        if service == "s3":
            return self.s3.call(environ, start_response, moto)
        if service != "ec2":
            return moto(environ, start_response)
        return self.ec2_call(region, environ, start_response, moto)

    def ec2_call(self, region, environ, start_response, moto):
        params = query_params(environ)
        refusal = self.ec2.refusal(region, params)
        if refusal:
            status, body = refusal
            return respond(start_response, status, {"Content-Type": "text/xml"}, body)
        if params.get("Action") not in EC2_CREATES:
            return moto(environ, start_response)
        answered = {}

        def capture(status, headers, exc_info=None):
            answered["status"] = status
            return start_response(status, headers, exc_info)

        body = b"".join(moto(environ, capture))
        if answered.get("status", "").startswith("200"):
            self.ec2.record(region, params.get("Action"), body)
        return [body]

    def own_api(self, path: str, start_response):
        if path == "/engine-realistic/profile":
            answer = self.profile.as_json()
        elif path == "/engine-realistic/stats":
            answer = self.throttle.stats() | {"s3_conflicts": self.s3.conflicts}
        else:
            return respond(start_response, 404, {"Content-Type": "text/plain"}, b"not found")
        body = json.dumps(answer).encode()
        return respond(start_response, 200, {"Content-Type": "application/json"}, body)
