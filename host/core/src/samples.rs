//! Sample data for tests, in this crate and others: a spec of every kind, a
//! representative multi-plugin stack, and a fake apply that turns a plan into the
//! state a real apply would leave (with made-up but stable AWS ids).
//!
//! Not `cfg(test)`: the CLI's, runtime's and policy tests use it too. Nothing here
//! is used by the engine itself.
//!
//! - [`spec`]: a valid spec of each [`Kind`], references replaced by literal ids.
//! - [`stack`]: six plugins shaped like the JapanCart stack (network, kinesis,
//!   secrets, cache, database, monitoring) using every kind, with references
//!   across plugins and the ten outputs; [`graph`] builds it.
//! - [`plugin_sha256s`]: stable fake sha256s for the stack's plugins.
//! - [`fake_attributes`] and [`fake_apply`]: what AWS would return, and the state
//!   after applying a plan.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::address::Address;
use crate::graph::Graph;
use crate::model::*;
use crate::plan::{Plan, StepOp};
use crate::state::{ResourceState, ResourceStatus, State};
use crate::value::replace_refs;

/// The region the fake ids and ARNs use.
pub const REGION: &str = "us-east-1";
/// The account the fake ARNs use.
pub const ACCOUNT: &str = "123456789012";

fn reference(s: &str) -> Reference {
    parse_ref(s).unwrap_or_else(|| panic!("sample reference `{s}` is malformed"))
}

/// A reference `plugin/name.attribute` as a [`Text`].
pub fn r(s: &str) -> Text {
    Text::Ref(reference(s))
}

fn tags(name: &str) -> Vec<Tag> {
    vec![
        Tag {
            key: "Name".into(),
            value: name.into(),
        },
        Tag {
            key: "Project".into(),
            value: "japancart".into(),
        },
    ]
}

fn res(plugin: &str, name: &str, spec: Spec) -> Resource {
    Resource {
        address: Address::new(plugin, name),
        spec,
        depends_on: vec![],
    }
}

fn decl(plugin: &str, resources: Vec<Resource>, outputs: Vec<(&str, OutputValue)>) -> Declaration {
    Declaration {
        plugin: plugin.into(),
        source: format!("plugins/{plugin}.wasm"),
        resources,
        outputs: outputs
            .into_iter()
            .map(|(name, value)| Output {
                name: name.into(),
                description: format!("The stack's {}.", name.replace('_', " ")),
                value,
                plugin: plugin.into(),
            })
            .collect(),
    }
}

fn out_ref(s: &str) -> OutputValue {
    OutputValue::Ref(reference(s))
}

fn rule(port: u16, from: Text, description: &str) -> SecurityGroupRule {
    SecurityGroupRule {
        protocol: IpProtocol::Tcp,
        from_port: port,
        to_port: port,
        cidr_blocks: vec![from],
        description: description.into(),
    }
}

fn subnet(cidr: &str, az: &str, public: bool, name: &str) -> Spec {
    Spec::Subnet(Subnet {
        vpc_id: r("network/vpc.id"),
        cidr_block: cidr.into(),
        availability_zone: az.into(),
        map_public_ip_on_launch: public,
        tags: tags(name),
    })
}

const FLOW_LOGS_TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"monitoring.rds.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A stack shaped like JapanCart, in six plugins, using every kind.
///
/// `network`: VPC, internet gateway, public and private subnets, route table,
/// default route, association, endpoint security group, Kinesis VPC endpoint.
/// `kinesis`: KMS key and alias, the transactions stream. `secrets`: the DB
/// credentials secret. `cache`: security group, subnet group, Redis replication
/// group. `database`: security group, DB subnet group, monitoring role, PostgreSQL
/// instance. `monitoring`: SNS topic, two alarms and an S3 archive bucket. Outputs: the reference
/// README's ten.
pub fn stack() -> Vec<Declaration> {
    let vpc_cidr = || r("network/vpc.cidr-block");
    let private = || vec![r("network/private-a.id"), r("network/private-b.id")];
    vec![
        decl(
            "network",
            vec![
                res(
                    "network",
                    "vpc",
                    Spec::Vpc(Vpc {
                        cidr_block: "10.0.0.0/16".into(),
                        enable_dns_support: true,
                        enable_dns_hostnames: true,
                        tags: tags("japancart-vpc-dev"),
                    }),
                ),
                res(
                    "network",
                    "igw",
                    Spec::InternetGateway(InternetGateway {
                        vpc_id: r("network/vpc.id"),
                        tags: tags("japancart-igw-dev"),
                    }),
                ),
                res(
                    "network",
                    "public-a",
                    subnet("10.0.1.0/24", "us-east-1a", true, "japancart-public-a-dev"),
                ),
                res(
                    "network",
                    "private-a",
                    subnet(
                        "10.0.11.0/24",
                        "us-east-1a",
                        false,
                        "japancart-private-a-dev",
                    ),
                ),
                res(
                    "network",
                    "private-b",
                    subnet(
                        "10.0.12.0/24",
                        "us-east-1b",
                        false,
                        "japancart-private-b-dev",
                    ),
                ),
                res(
                    "network",
                    "public",
                    Spec::RouteTable(RouteTable {
                        vpc_id: r("network/vpc.id"),
                        tags: tags("japancart-public-rt-dev"),
                    }),
                ),
                res(
                    "network",
                    "public-default",
                    Spec::Route(Route {
                        route_table_id: r("network/public.id"),
                        destination_cidr_block: "0.0.0.0/0".into(),
                        gateway_id: r("network/igw.id"),
                    }),
                ),
                res(
                    "network",
                    "public-a-assoc",
                    Spec::RouteTableAssociation(RouteTableAssociation {
                        route_table_id: r("network/public.id"),
                        subnet_id: r("network/public-a.id"),
                    }),
                ),
                res(
                    "network",
                    "endpoints",
                    Spec::SecurityGroup(SecurityGroup {
                        name: "japancart-endpoints-dev".into(),
                        description: "VPC endpoints, HTTPS from inside the VPC".into(),
                        vpc_id: r("network/vpc.id"),
                        ingress: vec![rule(443, vpc_cidr(), "HTTPS from the VPC")],
                        egress: vec![],
                        tags: tags("japancart-endpoints-dev"),
                    }),
                ),
                res(
                    "network",
                    "kinesis-endpoint",
                    Spec::VpcEndpoint(VpcEndpoint {
                        vpc_id: r("network/vpc.id"),
                        service_name: "com.amazonaws.us-east-1.kinesis-streams".into(),
                        endpoint_type: VpcEndpointType::Interface,
                        subnet_ids: private(),
                        security_group_ids: vec![r("network/endpoints.id")],
                        route_table_ids: vec![],
                        private_dns_enabled: true,
                        tags: tags("japancart-kinesis-endpoint-dev"),
                    }),
                ),
                res(
                    "network",
                    "default-sg",
                    Spec::DefaultSecurityGroup(DefaultSecurityGroup {
                        vpc_id: r("network/vpc.id"),
                        ingress: vec![],
                        // The hardened group has none; one here gives the tests a
                        // rule to change.
                        egress: vec![rule(443, vpc_cidr(), "HTTPS inside the VPC")],
                        tags: tags("japancart-default-dev"),
                    }),
                ),
                res(
                    "network",
                    "flow-logs",
                    Spec::LogGroup(LogGroup {
                        name: "/aws/vpc/flow-logs/japancart-dev".into(),
                        retention_days: 365,
                        kms_key_id: None,
                        tags: tags("japancart-flow-logs-dev"),
                    }),
                ),
                res(
                    "network",
                    "flow-logs-role",
                    Spec::IamRole(IamRole {
                        name: "japancart-flow-logs-dev".into(),
                        description: "Lets VPC flow logs write to their log group".into(),
                        assume_role_policy: FLOW_LOGS_TRUST_POLICY.into(),
                        managed_policy_arns: vec![],
                        tags: tags("japancart-flow-logs-dev"),
                    }),
                ),
                res(
                    "network",
                    "flow-logs-write",
                    Spec::IamRolePolicy(IamRolePolicy {
                        role_name: r("network/flow-logs-role.name"),
                        name: "write-flow-logs".into(),
                        statements: vec![PolicyStatement {
                            actions: vec![
                                "logs:CreateLogStream".into(),
                                "logs:PutLogEvents".into(),
                                "logs:DescribeLogStreams".into(),
                            ],
                            resources: vec![r("network/flow-logs.arn")],
                        }],
                    }),
                ),
                res(
                    "network",
                    "flow-log",
                    Spec::FlowLog(FlowLog {
                        vpc_id: r("network/vpc.id"),
                        traffic_type: FlowLogTraffic::All,
                        log_group_name: r("network/flow-logs.name"),
                        deliver_logs_permission_arn: r("network/flow-logs-role.arn"),
                        max_aggregation_interval_seconds: 600,
                        tags: tags("japancart-flow-log-dev"),
                    }),
                ),
            ],
            vec![("vpc_id", out_ref("network/vpc.id"))],
        ),
        decl(
            "kinesis",
            vec![
                res(
                    "kinesis",
                    "key",
                    Spec::KmsKey(KmsKey {
                        description: "Encrypts the japancart transaction stream".into(),
                        enable_key_rotation: true,
                        deletion_window_days: 7,
                        service_principals: vec![],
                        tags: tags("japancart-kinesis-key-dev"),
                    }),
                ),
                res(
                    "kinesis",
                    "key-alias",
                    Spec::KmsAlias(KmsAlias {
                        name: "alias/japancart-kinesis-dev".into(),
                        target_key_id: r("kinesis/key.id"),
                    }),
                ),
                res(
                    "kinesis",
                    "transactions",
                    Spec::KinesisStream(KinesisStream {
                        name: "japancart-transactions-dev".into(),
                        shard_count: 1,
                        retention_period_hours: 24,
                        kms_key_id: Some(r("kinesis/key.arn")),
                        shard_level_metrics: vec![
                            "IncomingBytes".into(),
                            "IncomingRecords".into(),
                            "IteratorAgeMilliseconds".into(),
                        ],
                        tags: tags("japancart-transactions-dev"),
                    }),
                ),
            ],
            vec![
                ("kinesis_stream_name", out_ref("kinesis/transactions.name")),
                ("kinesis_stream_arn", out_ref("kinesis/transactions.arn")),
            ],
        ),
        decl(
            "secrets",
            vec![
                res(
                    "secrets",
                    "redis-auth",
                    Spec::Secret(Secret {
                        name: "japancart-redis-auth-dev".into(),
                        description: "AUTH token of the japancart Redis".into(),
                        kms_key_id: None,
                        username: "default".into(),
                        password: PasswordPolicy {
                            length: 64,
                            exclude_characters: "\"%'()*+,./:;=?@[\\]_`{|}~ ".into(),
                        },
                        recovery_window_days: 7,
                        tags: tags("japancart-redis-auth-dev"),
                    }),
                ),
                res(
                    "secrets",
                    "db",
                    Spec::Secret(Secret {
                        name: "japancart-db-credentials-dev".into(),
                        description: "Master credentials of the japancart database".into(),
                        kms_key_id: None,
                        username: "japancart_admin".into(),
                        password: PasswordPolicy {
                            length: 32,
                            exclude_characters: "/@\" ".into(),
                        },
                        recovery_window_days: 7,
                        tags: tags("japancart-db-credentials-dev"),
                    }),
                ),
            ],
            vec![("db_secret_arn", out_ref("secrets/db.arn"))],
        ),
        decl(
            "cache",
            vec![
                res(
                    "cache",
                    "redis-sg",
                    Spec::SecurityGroup(SecurityGroup {
                        name: "japancart-redis-dev".into(),
                        description: "Redis, from inside the VPC only".into(),
                        vpc_id: r("network/vpc.id"),
                        ingress: vec![rule(6379, vpc_cidr(), "Redis from the VPC")],
                        egress: vec![],
                        tags: tags("japancart-redis-dev"),
                    }),
                ),
                res(
                    "cache",
                    "redis-subnets",
                    Spec::CacheSubnetGroup(CacheSubnetGroup {
                        name: "japancart-redis-dev".into(),
                        description: "Private subnets for Redis".into(),
                        subnet_ids: private(),
                        tags: tags("japancart-redis-dev"),
                    }),
                ),
                res(
                    "cache",
                    "redis",
                    Spec::CacheReplicationGroup(CacheReplicationGroup {
                        id: "japancart-redis-dev".into(),
                        description: "24-hour transaction history".into(),
                        engine_version: "7.0".into(),
                        node_type: "cache.t3.micro".into(),
                        num_cache_clusters: 2,
                        port: 6379,
                        subnet_group_name: r("cache/redis-subnets.name"),
                        security_group_ids: vec![r("cache/redis-sg.id")],
                        automatic_failover: true,
                        multi_az: true,
                        at_rest_encryption: true,
                        transit_encryption: true,
                        kms_key_id: None,
                        auth_token: Some(SecretValueRef {
                            secret_id: r("secrets/redis-auth.arn"),
                            key: "password".into(),
                        }),
                        snapshot_retention_days: 1,
                        tags: tags("japancart-redis-dev"),
                    }),
                ),
            ],
            vec![
                ("redis_endpoint", out_ref("cache/redis.primary-endpoint")),
                ("redis_port", out_ref("cache/redis.port")),
                (
                    "elasticache_security_group_id",
                    out_ref("cache/redis-sg.id"),
                ),
            ],
        ),
        decl(
            "database",
            vec![
                res(
                    "database",
                    "db-sg",
                    Spec::SecurityGroup(SecurityGroup {
                        name: "japancart-db-dev".into(),
                        description: "PostgreSQL, from inside the VPC only".into(),
                        vpc_id: r("network/vpc.id"),
                        ingress: vec![rule(5432, vpc_cidr(), "PostgreSQL from the VPC")],
                        egress: vec![],
                        tags: tags("japancart-db-dev"),
                    }),
                ),
                res(
                    "database",
                    "db-subnets",
                    Spec::DbSubnetGroup(DbSubnetGroup {
                        name: "japancart-db-dev".into(),
                        description: "Private subnets for PostgreSQL".into(),
                        subnet_ids: private(),
                        tags: tags("japancart-db-dev"),
                    }),
                ),
                res(
                    "database",
                    "monitoring-role",
                    Spec::IamRole(IamRole {
                        name: "japancart-rds-monitoring-dev".into(),
                        description: "Lets RDS publish enhanced monitoring metrics".into(),
                        assume_role_policy: TRUST_POLICY.into(),
                        managed_policy_arns: vec![
                            "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
                                .into(),
                        ],
                        tags: tags("japancart-rds-monitoring-dev"),
                    }),
                ),
                res(
                    "database",
                    "db",
                    Spec::DbInstance(DbInstance {
                        identifier: "japancart-db-dev".into(),
                        engine: "postgres".into(),
                        engine_version: "15.4".into(),
                        instance_class: "db.t3.micro".into(),
                        allocated_storage_gb: 20,
                        storage_type: "gp3".into(),
                        storage_encrypted: true,
                        kms_key_id: None,
                        db_name: "transactions".into(),
                        master_username: r("secrets/db.username"),
                        master_password: Some(SecretValueRef {
                            secret_id: r("secrets/db.arn"),
                            key: "password".into(),
                        }),
                        manage_master_user_password: false,
                        master_user_secret_kms_key_id: None,
                        iam_database_authentication: true,
                        cloudwatch_logs_exports: vec!["postgresql".into(), "upgrade".into()],
                        copy_tags_to_snapshot: true,
                        port: 5432,
                        db_subnet_group_name: r("database/db-subnets.name"),
                        vpc_security_group_ids: vec![r("database/db-sg.id")],
                        multi_az: true,
                        publicly_accessible: false,
                        backup_retention_days: 7,
                        monitoring_interval_seconds: 60,
                        monitoring_role_arn: Some(r("database/monitoring-role.arn")),
                        deletion_protection: false,
                        skip_final_snapshot: true,
                        tags: tags("japancart-db-dev"),
                    }),
                ),
            ],
            vec![
                ("rds_endpoint", out_ref("database/db.endpoint")),
                ("rds_port", out_ref("database/db.port")),
                ("rds_security_group_id", out_ref("database/db-sg.id")),
            ],
        ),
        decl(
            "monitoring",
            vec![
                res(
                    "monitoring",
                    "alarms",
                    Spec::SnsTopic(SnsTopic {
                        name: "japancart-alarms-dev".into(),
                        kms_key_id: Some(Text::lit("alias/aws/sns")),
                        tags: tags("japancart-alarms-dev"),
                    }),
                ),
                res(
                    "monitoring",
                    "stream-iterator-age",
                    Spec::MetricAlarm(MetricAlarm {
                        name: "japancart-stream-iterator-age-dev".into(),
                        description: "Consumers fall behind the transaction stream".into(),
                        namespace: "AWS/Kinesis".into(),
                        metric_name: "GetRecords.IteratorAgeMilliseconds".into(),
                        dimensions: vec![Dimension {
                            name: "StreamName".into(),
                            value: r("kinesis/transactions.name"),
                        }],
                        statistic: Statistic::Maximum,
                        period_seconds: 300,
                        evaluation_periods: 2,
                        threshold: 60000.0,
                        comparison_operator: ComparisonOperator::GreaterThanOrEqualToThreshold,
                        treat_missing_data: "notBreaching".into(),
                        alarm_actions: vec![r("monitoring/alarms.arn")],
                        ok_actions: vec![],
                        tags: tags("japancart-stream-iterator-age-dev"),
                    }),
                ),
                res(
                    "monitoring",
                    "db-cpu",
                    Spec::MetricAlarm(MetricAlarm {
                        name: "japancart-db-cpu-dev".into(),
                        description: "Database CPU above 80%".into(),
                        namespace: "AWS/RDS".into(),
                        metric_name: "CPUUtilization".into(),
                        dimensions: vec![Dimension {
                            name: "DBInstanceIdentifier".into(),
                            value: r("database/db.id"),
                        }],
                        statistic: Statistic::Average,
                        period_seconds: 300,
                        evaluation_periods: 2,
                        threshold: 80.0,
                        comparison_operator: ComparisonOperator::GreaterThanThreshold,
                        treat_missing_data: "missing".into(),
                        alarm_actions: vec![r("monitoring/alarms.arn")],
                        ok_actions: vec![r("monitoring/alarms.arn")],
                        tags: tags("japancart-db-cpu-dev"),
                    }),
                ),
                res(
                    "monitoring",
                    "archive",
                    Spec::S3Bucket(S3Bucket {
                        name: "japancart-alarm-archive-dev".into(),
                        versioning: true,
                        default_encryption: true,
                        kms_key_id: None,
                        block_public_access: true,
                        expiration_days: 365,
                        tags: tags("japancart-alarm-archive-dev"),
                    }),
                ),
            ],
            vec![],
        ),
    ]
}

/// The context the samples' plans are for: stack `default`, region `us-east-1`,
/// environment `dev`, no config.
pub fn context() -> crate::model::Context {
    crate::model::Context {
        stack: "default".into(),
        region: "us-east-1".into(),
        environment: "dev".into(),
        config: BTreeMap::new(),
    }
}

/// [`stack`], merged and validated.
pub fn graph() -> Graph {
    match Graph::build(&stack()) {
        Ok(g) => g,
        Err(diags) => panic!(
            "the sample stack is invalid:\n{}",
            diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// Stable fake sha256s for the plugins of [`stack`] (64 hex digits each).
pub fn plugin_sha256s() -> BTreeMap<String, String> {
    stack()
        .iter()
        .map(|d| (d.plugin.clone(), fake_sha256(&d.plugin)))
        .collect()
}

/// A stable fake sha256 (64 hex digits) derived from `seed`.
pub fn fake_sha256(seed: &str) -> String {
    (0..4u64)
        .map(|i| format!("{:016x}", fnv(&format!("{seed}#{i}"))))
        .collect()
}

/// A valid spec of `kind`: the first resource of that kind in [`stack`], with its
/// references replaced by the values [`fake_attributes`] gives the targets.
pub fn spec(kind: Kind) -> Spec {
    let g = graph();
    let resource = g
        .resources
        .values()
        .find(|r| r.spec.kind() == kind)
        .unwrap_or_else(|| panic!("the sample stack has no {kind}"));
    let mut props = resource.spec.properties();
    replace_refs(&mut props, &mut |reference| {
        let target = &g.resources[&reference.resource];
        let attrs = fake_attributes(
            &reference.resource,
            target.spec.kind(),
            &target.spec.properties(),
        );
        attrs.get(&reference.attribute).map(|v| match v {
            Value::String(_) => v.clone(),
            other => Value::String(other.to_string()),
        })
    });
    Spec::from_properties(kind, props)
        .unwrap_or_else(|e| panic!("sample {kind} does not rebuild: {e}"))
}

/// What AWS would return for a resource, made up but stable: every attribute its
/// kind exposes. An attribute named like a property echoes it; ids and ARNs are
/// derived from the address and the properties (so a replaced resource gets a new
/// id).
pub fn fake_attributes(address: &Address, kind: Kind, inputs: &Value) -> BTreeMap<String, Value> {
    let seed = format!("{address} {inputs}");
    let hex = format!("{:016x}", fnv(&seed));
    let short = &hex[..8];
    let uuid = {
        let h = format!("{hex}{:016x}", fnv(&format!("{seed}#")));
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    };
    let prop = |p: &str| inputs.get(p).and_then(Value::as_str).unwrap_or_default();
    let arn = |service: &str, rest: String| {
        Value::String(format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"))
    };
    let mut out = BTreeMap::new();
    for (attr, _) in kind.schema().attributes {
        let echo = inputs.get(*attr).filter(|v| !v.is_null());
        let value = match (*attr, echo) {
            (_, Some(v)) => v.clone(),
            ("id", None) => Value::String(match kind {
                Kind::Vpc => format!("vpc-0{hex}"),
                Kind::InternetGateway => format!("igw-0{hex}"),
                Kind::Subnet => format!("subnet-0{hex}"),
                Kind::RouteTable => format!("rtb-0{hex}"),
                Kind::Route => format!("r-rtb-0{hex}"),
                Kind::RouteTableAssociation => format!("rtbassoc-0{hex}"),
                Kind::SecurityGroup => format!("sg-0{hex}"),
                Kind::VpcEndpoint => format!("vpce-0{hex}"),
                Kind::FlowLog => format!("fl-0{hex}"),
                Kind::DefaultSecurityGroup => format!("sg-0{hex}"),
                Kind::KmsKey => uuid.clone(),
                Kind::DbInstance => prop("identifier").to_string(),
                _ => format!("{}-{hex}", kind.as_str()),
            }),
            ("arn", None) => match kind {
                Kind::KmsKey => arn("kms", format!("key/{uuid}")),
                Kind::KmsAlias => arn("kms", prop("name").to_string()),
                Kind::KinesisStream => arn("kinesis", format!("stream/{}", prop("name"))),
                Kind::Secret => arn(
                    "secretsmanager",
                    format!("secret:{}-{}", prop("name"), &hex[..6]),
                ),
                Kind::IamRole => {
                    Value::String(format!("arn:aws:iam::{ACCOUNT}:role/{}", prop("name")))
                }
                Kind::CacheReplicationGroup => {
                    arn("elasticache", format!("replicationgroup:{}", prop("id")))
                }
                Kind::DbSubnetGroup => arn("rds", format!("subgrp:{}", prop("name"))),
                Kind::DbInstance => arn("rds", format!("db:{}", prop("identifier"))),
                Kind::LogGroup => arn("logs", format!("log-group:{}", prop("name"))),
                Kind::SnsTopic => arn("sns", prop("name").to_string()),
                Kind::MetricAlarm => arn("cloudwatch", format!("alarm:{}", prop("name"))),
                _ => arn(kind.as_str(), format!("{}/{short}", kind.as_str())),
            },
            ("endpoint", None) => Value::String(format!(
                "{}.c{short}.{REGION}.rds.amazonaws.com",
                prop("identifier")
            )),
            ("primary-endpoint", None) => Value::String(format!(
                "master.{}.{short}.use1.cache.amazonaws.com",
                prop("id")
            )),
            ("reader-endpoint", None) => Value::String(format!(
                "replica.{}.{short}.use1.cache.amazonaws.com",
                prop("id")
            )),
            ("resource-id", None) => Value::String(format!("db-{}", hex.to_uppercase())),
            (other, None) => Value::String(format!("{other}-{hex}")),
        };
        out.insert((*attr).to_string(), value);
    }
    out
}

/// The state a successful apply of `plan` would leave, starting from `prior`:
/// runs [`Plan::steps`] in order with [`fake_attributes`] standing in for AWS.
///
/// Panics when a step needs a value that no earlier step produced (a reference
/// still unknown when its resource is created), which would be a planner bug. The
/// serial and lineage are left as they are: backends bump them on write.
pub fn fake_apply(plan: &Plan, prior: &State) -> State {
    let mut state = prior.clone();
    for step in plan.steps() {
        let change = &plan.changes[step.change];
        let address = &change.address;
        match step.op {
            StepOp::Delete => {
                state.resources.remove(address);
            }
            StepOp::DeleteDeposed => {
                state.deposed.remove(address);
            }
            StepOp::Create | StepOp::Update => {
                let mut inputs = change
                    .after
                    .clone()
                    .unwrap_or_else(|| panic!("{address}: a create or update has no `after`"));
                replace_refs(&mut inputs, &mut |reference| {
                    let v = state
                        .resources
                        .get(&reference.resource)
                        .and_then(|t| t.attributes.get(&reference.attribute))
                        .unwrap_or_else(|| {
                            panic!("{address}: `{reference}` is not known when it is needed")
                        });
                    Some(match v {
                        Value::String(_) => v.clone(),
                        other => Value::String(other.to_string()),
                    })
                });
                if step.op == StepOp::Create
                    && change.replace_order == Some(crate::plan::ReplaceOrder::CreateBeforeDelete)
                    && let Some(old) = state.resources.remove(address)
                {
                    state.deposed.insert(address.clone(), old);
                }
                let attributes = match (step.op, state.resources.get(address)) {
                    // An update keeps the ids; echoed properties follow.
                    (StepOp::Update, Some(old)) => {
                        let mut a = old.attributes.clone();
                        for (k, v) in fake_attributes(address, change.kind, &inputs) {
                            if inputs.get(&k).is_some() {
                                a.insert(k, v);
                            }
                        }
                        a
                    }
                    _ => fake_attributes(address, change.kind, &inputs),
                };
                state.resources.insert(
                    address.clone(),
                    ResourceState {
                        kind: change.kind,
                        plugin_sha256: change.plugin_sha256.clone().unwrap_or_default(),
                        inputs,
                        attributes,
                        dependencies: change.dependencies.clone(),
                        status: ResourceStatus::Ready,
                        tagged_as: None,
                    },
                );
            }
        }
    }
    for o in &plan.outputs {
        match &o.after {
            None => {
                state.outputs.remove(&o.name);
            }
            Some(after) => {
                let mut v = after.clone();
                replace_refs(&mut v, &mut |reference| {
                    state
                        .resources
                        .get(&reference.resource)
                        .and_then(|t| t.attributes.get(&reference.attribute))
                        .cloned()
                });
                state.outputs.insert(o.name.clone(), v);
            }
        }
    }
    state
}

/// The state after applying [`stack`] to an empty state, with a lineage and
/// serial 1 as a backend would write it.
pub fn applied_state() -> State {
    let empty = State::empty();
    let p = crate::plan::plan(&graph(), &empty, &plugin_sha256s());
    let mut s = fake_apply(&p, &empty);
    s.serial = 1;
    s.lineage = "6b0f5c1e-7d2a-4c3b-9e8f-000000000001".into();
    s
}

/// FNV-1a, 64 bits, then the SplitMix64 finaliser so that similar seeds give
/// unrelated values: stable across platforms and releases (unlike `DefaultHasher`).
fn fnv(s: &str) -> u64 {
    let mut z = s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Every property name of `kind`, from its sample.
pub fn property_names(kind: Kind) -> Vec<String> {
    match spec(kind).properties() {
        Value::Object(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}
