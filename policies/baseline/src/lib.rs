//! The security baseline: a policy plugin that encodes the Security and Cost sections
//! of the JapanCart reference. `docs/policies.md` explains every rule and why it exists.
//!
//! | Rule | Severity | A violation is | Benchmark (Checkov 3.3) |
//! |---|---|---|---|
//! | `encryption-at-rest` | mandatory | a Kinesis stream or SNS topic without `kms-key-id`, a Redis group without `at-rest-encryption`, a database without `storage-encrypted`, an S3 bucket without `default-encryption` | CKV_AWS_43, CKV_AWS_29, CKV_AWS_16, CKV_AWS_26, CKV_AWS_19 |
//! | `redis-transit-encryption` | mandatory | a Redis group without `transit-encryption` | CKV_AWS_30 |
//! | `s3-block-public-access` | mandatory | an S3 bucket without `block-public-access` | CKV2_AWS_6 |
//! | `private-data-stores` | mandatory | a publicly accessible database; a cache or DB subnet group with a public subnet | CKV_AWS_17 |
//! | `ingress-restricted` | mandatory on data ports, advisory on others | a security-group ingress rule open to `0.0.0.0/0` or `::/0`, or to any block outside the VPC | - |
//! | `backup-retention` | mandatory | a database keeping automated backups fewer than 7 days | CKV_AWS_133 |
//! | `multi-az` | mandatory | a database without `multi-az`; a Redis group without `multi-az`, `automatic-failover` and two nodes | CKV_AWS_157 |
//! | `allowed-instance-classes` | mandatory | a database or cache node class not in [`ALLOWED_DB_CLASSES`] / [`ALLOWED_CACHE_NODE_TYPES`] | - |
//! | `no-nat-gateway` | mandatory | a route to anything but an internet gateway (a NAT gateway) | - |
//! | `redis-auth` | mandatory | a Redis group without `auth-token` | CKV_AWS_31 |
//! | `customer-managed-key` | mandatory | a Redis group encrypted at rest, or a database with `storage-encrypted`, without a customer-managed `kms-key-id` | CKV_AWS_191 (Redis); the scan's "storage encrypted with the AWS-managed key" for the database |
//! | `rds-iam-authentication` | mandatory | a database without `iam-database-authentication` | CKV_AWS_161 |
//! | `rds-log-exports` | mandatory | a PostgreSQL database whose `cloudwatch-logs-exports` lacks `postgresql` or `upgrade` | CKV_AWS_129 |
//! | `rds-copy-tags-to-snapshot` | mandatory | a database without `copy-tags-to-snapshot` | CKV2_AWS_60 |
//! | `rds-deletion-protection` | mandatory (not reported in `dev`) | a database without `deletion-protection`, unless the plan's environment is `dev` | CKV_AWS_293 |
//! | `secret-rotation` | mandatory | a database whose master password is a stack secret (`master-password`) rather than managed and rotated by RDS | CKV2_AWS_57 |
//! | `vpc-flow-logs` | mandatory | a VPC with no `flow-log` | CKV2_AWS_11 |
//! | `default-security-group-closed` | mandatory | a VPC whose default security group is not adopted; an adopted default security group with any rule | CKV2_AWS_12 |
//! | `log-retention` | mandatory under 365 days, advisory for never (`retention-days` 0) | a log group keeping events fewer than 365 days, or forever | CKV_AWS_338 |
//! | `log-group-kms` | advisory | a log group without `kms-key-id` | CKV_AWS_158 |
//!
//! [`RULES`] holds the same table in code; a test checks that `docs/policies.md`
//! lists every rule and every benchmark check, so the docs cannot drift. Every
//! message of a hardening rule ends with its benchmark check in parentheses.
//!
//! Secrets are not checked for encryption: Secrets Manager always encrypts, with
//! the `aws/secretsmanager` key when `kms-key-id` is not set.
//!
//! # How the rules read the plan
//!
//! - Resources planned for deletion are ignored: they break no rule and are no
//!   evidence for one (a route being deleted does not make a subnet public).
//! - A value the plan already knows is a literal. A value known only after apply
//!   (a resource's `id` while the resource is being created) stays a reference, and
//!   a reference names the resource it comes from: the rules follow it to that
//!   resource in the plan (a subnet group's `vpc/private-a.id` is the subnet
//!   `vpc/private-a`, a route's `vpc/igw.id` is an internet gateway).
//! - A literal id of a resource that already exists cannot be followed (the plan
//!   view carries properties, not ids), so literals are matched with literals (the
//!   same `subnet-...` in a route-table association and a subnet group), and by the
//!   AWS id prefix where that names the kind (`igw-` is an internet gateway).
//!   Evidence that cannot be found breaks no rule: the baseline reports what it
//!   can prove. So a VPC that already exists counts as logged (`vpc-flow-logs`)
//!   or closed (`default-security-group-closed`) when a flow log or default
//!   security group names a VPC by literal id: that id may be the VPC's. A VPC
//!   being created has no id yet, so only a reference to it counts.
//! - The plan's `environment` matters to one rule: `rds-deletion-protection` is
//!   not reported in `dev`, whose stacks are torn down by design.
//!
//! # Layout
//! - [`RULES`]: every rule with its severity, benchmark checks and summary.
//! - [`Plan`]: the plan's live resources by address, and the lookups the rules share.
//! - One function per rule, each appending its [`Violation`]s.
//! - [`check`]: every rule, in the order of the table above.

use std::collections::{BTreeMap, BTreeSet};

use engine_sdk::*;

struct Baseline;

impl PolicyPlugin for Baseline {
    fn info() -> PluginInfo {
        info!(
            "baseline",
            "The security baseline: encryption, private data stores, restricted ingress, \
             backups, Multi-AZ, small instance classes, no NAT gateway, and the hardening \
             checks of the Checkov benchmark (Redis AUTH, customer-managed keys, RDS IAM \
             auth, log exports, deletion protection, rotated passwords, flow logs, a closed \
             default security group, log retention)."
        )
    }

    fn check(plan: &PlanView) -> Vec<Violation> {
        check(plan)
    }
}

policy!(Baseline);

/// Database instance classes the baseline allows (the reference's "small instance
/// types (t3.micro) for cost efficiency"). A policy plugin takes no configuration:
/// a stack that needs more capacity extends this list in a reviewed change.
pub const ALLOWED_DB_CLASSES: &[&str] = &["db.t3.micro"];

/// Cache node types the baseline allows; see [`ALLOWED_DB_CLASSES`].
pub const ALLOWED_CACHE_NODE_TYPES: &[&str] = &["cache.t3.micro"];

/// The fewest days a database must keep its automated backups (the reference's
/// 7-day backup retention).
pub const MIN_BACKUP_RETENTION_DAYS: u32 = 7;

/// Ports of data stores: ingress to them must come from inside the VPC. The ports
/// of the caches and databases in the plan are data ports too.
pub const DATA_PORTS: &[(u16, &str)] = &[
    (1433, "SQL Server"),
    (1521, "Oracle"),
    (3306, "MySQL"),
    (5432, "PostgreSQL"),
    (5439, "Redshift"),
    (6379, "Redis"),
    (9042, "Cassandra"),
    (11211, "Memcached"),
    (27017, "MongoDB"),
];

/// One rule of the baseline, as `docs/policies.md` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The rule id, a violation's `policy`.
    pub id: &'static str,
    /// The severity of its violations, as the docs' table says it.
    pub severity: &'static str,
    /// The Checkov checks (Checkov 3.3 on a Terraform rendering of the stack) that
    /// the rule corresponds to; empty when the benchmark has none.
    pub benchmark: &'static [&'static str],
    /// What a violation is, in one line.
    pub summary: &'static str,
}

/// Every rule of the baseline, in the order [`check`] runs them. A test checks that
/// `docs/policies.md` has one row per rule (with this severity) and one row per
/// benchmark check naming the rule.
pub const RULES: &[Rule] = &[
    Rule {
        id: "encryption-at-rest",
        severity: "mandatory",
        benchmark: &[
            "CKV_AWS_43",
            "CKV_AWS_29",
            "CKV_AWS_16",
            "CKV_AWS_26",
            "CKV_AWS_19",
        ],
        summary: "data stores (streams, Redis, databases, topics, buckets) encrypted at rest",
    },
    Rule {
        id: "redis-transit-encryption",
        severity: "mandatory",
        benchmark: &["CKV_AWS_30"],
        summary: "a Redis group without `transit-encryption`",
    },
    Rule {
        id: "s3-block-public-access",
        severity: "mandatory",
        benchmark: &["CKV2_AWS_6"],
        summary: "an S3 bucket without `block-public-access`",
    },
    Rule {
        id: "private-data-stores",
        severity: "mandatory",
        benchmark: &["CKV_AWS_17"],
        summary: "a publicly accessible database; a cache or DB subnet group with a public subnet",
    },
    Rule {
        id: "ingress-restricted",
        severity: "mandatory on data ports, advisory on others",
        benchmark: &[],
        summary: "a security-group ingress rule open to any block outside the VPC",
    },
    Rule {
        id: "backup-retention",
        severity: "mandatory",
        benchmark: &["CKV_AWS_133"],
        summary: "a database keeping automated backups fewer than 7 days",
    },
    Rule {
        id: "multi-az",
        severity: "mandatory",
        benchmark: &["CKV_AWS_157"],
        summary: "a database or Redis group in one availability zone",
    },
    Rule {
        id: "allowed-instance-classes",
        severity: "mandatory",
        benchmark: &[],
        summary: "a database or cache node class not on the allowed lists",
    },
    Rule {
        id: "no-nat-gateway",
        severity: "mandatory",
        benchmark: &[],
        summary: "a route to anything but an internet gateway",
    },
    Rule {
        id: "redis-auth",
        severity: "mandatory",
        benchmark: &["CKV_AWS_31"],
        summary: "a Redis group without `auth-token`",
    },
    Rule {
        id: "customer-managed-key",
        severity: "mandatory",
        benchmark: &["CKV_AWS_191"],
        summary: "a Redis group or database encrypted at rest with the AWS managed key",
    },
    Rule {
        id: "rds-iam-authentication",
        severity: "mandatory",
        benchmark: &["CKV_AWS_161"],
        summary: "a database without `iam-database-authentication`",
    },
    Rule {
        id: "rds-log-exports",
        severity: "mandatory",
        benchmark: &["CKV_AWS_129"],
        summary: "a PostgreSQL database not exporting `postgresql` and `upgrade` logs",
    },
    Rule {
        id: "rds-copy-tags-to-snapshot",
        severity: "mandatory",
        benchmark: &["CKV2_AWS_60"],
        summary: "a database without `copy-tags-to-snapshot`",
    },
    Rule {
        id: "rds-deletion-protection",
        severity: "mandatory (not reported in `dev`)",
        benchmark: &["CKV_AWS_293"],
        summary: "a database without `deletion-protection` outside the `dev` environment",
    },
    Rule {
        id: "secret-rotation",
        severity: "mandatory",
        benchmark: &["CKV2_AWS_57"],
        summary: "a database whose master password is a stack secret, never rotated",
    },
    Rule {
        id: "vpc-flow-logs",
        severity: "mandatory",
        benchmark: &["CKV2_AWS_11"],
        summary: "a VPC with no flow log",
    },
    Rule {
        id: "default-security-group-closed",
        severity: "mandatory",
        benchmark: &["CKV2_AWS_12"],
        summary: "a VPC whose default security group is not adopted and emptied",
    },
    Rule {
        id: "log-retention",
        severity: "mandatory under 365 days, advisory for never",
        benchmark: &["CKV_AWS_338"],
        summary: "a log group keeping events fewer than 365 days, or forever",
    },
    Rule {
        id: "log-group-kms",
        severity: "advisory",
        benchmark: &["CKV_AWS_158"],
        summary: "a log group without `kms-key-id`",
    },
];

/// The fewest days a log group must keep its events (Checkov CKV_AWS_338: a year).
pub const MIN_LOG_RETENTION_DAYS: u32 = 365;

/// The logs a PostgreSQL database must export to CloudWatch Logs.
pub const POSTGRES_LOG_EXPORTS: &[&str] = &["postgresql", "upgrade"];

/// The environment in which `rds-deletion-protection` is not reported.
pub const DEV_ENVIRONMENT: &str = "dev";

/// Checks `view` against every rule of the baseline.
pub fn check(view: &PlanView) -> Vec<Violation> {
    let plan = Plan::new(view);
    let mut out = Vec::new();
    encryption_at_rest(&plan, &mut out);
    redis_transit_encryption(&plan, &mut out);
    s3_block_public_access(&plan, &mut out);
    private_data_stores(&plan, &mut out);
    ingress_restricted(&plan, &mut out);
    backup_retention(&plan, &mut out);
    multi_az(&plan, &mut out);
    allowed_instance_classes(&plan, &mut out);
    no_nat_gateway(&plan, &mut out);
    redis_auth(&plan, &mut out);
    customer_managed_key(&plan, &mut out);
    rds_iam_authentication(&plan, &mut out);
    rds_log_exports(&plan, &mut out);
    rds_copy_tags_to_snapshot(&plan, &mut out);
    rds_deletion_protection(&plan, &mut out);
    secret_rotation(&plan, &mut out);
    vpc_flow_logs(&plan, &mut out);
    default_security_group_closed(&plan, &mut out);
    log_retention(&plan, &mut out);
    log_group_kms(&plan, &mut out);
    out
}

/// The resources of a plan that will exist after apply (every action but delete).
pub struct Plan<'a> {
    live: BTreeMap<&'a str, &'a PlannedResource>,
    environment: &'a str,
}

impl<'a> Plan<'a> {
    /// The live resources of `view`.
    pub fn new(view: &'a PlanView) -> Plan<'a> {
        let live = view
            .resources
            .iter()
            .filter(|r| !matches!(r.action, Action::Delete))
            .map(|r| (r.address.as_str(), r))
            .collect();
        Plan {
            live,
            environment: view.environment.trim(),
        }
    }

    /// Every live resource with its spec, in address order.
    fn specs(&self) -> impl Iterator<Item = (&'a str, &'a ResourceSpec)> + '_ {
        self.live.iter().map(|(a, r)| (*a, &r.spec))
    }

    /// The resource a value comes from, when it is a reference to one in the plan.
    fn target(&self, t: &Text) -> Option<&'a ResourceSpec> {
        match t {
            Text::Ref(r) => self.live.get(r.resource.as_str()).map(|r| &r.spec),
            Text::Literal(_) => None,
        }
    }

    /// Whether `t` names an internet gateway: a reference to one in the plan, or the
    /// id of an existing one (`igw-...`). `None` when it cannot be told.
    fn is_internet_gateway(&self, t: &Text) -> Option<bool> {
        match t {
            Text::Literal(id) => Some(id.trim().starts_with("igw-")),
            Text::Ref(_) => self
                .target(t)
                .map(|s| matches!(s, ResourceSpec::InternetGateway(_))),
        }
    }

    /// Why the subnet `subnet_id` is public, if it is: it gives instances public IP
    /// addresses, or a route table associated with it sends the default route to an
    /// internet gateway. Empty when nothing in the plan says so.
    fn public_subnet_reasons(&self, subnet_id: &Text) -> Vec<String> {
        let mut why = Vec::new();
        if let Some(ResourceSpec::Subnet(s)) = self.target(subnet_id)
            && s.map_public_ip_on_launch
        {
            why.push("gives instances public IP addresses (`map-public-ip-on-launch`)".into());
        }
        for (_, spec) in self.specs() {
            let ResourceSpec::RouteTableAssociation(a) = spec else {
                continue;
            };
            if !same(&a.subnet_id, subnet_id) {
                continue;
            }
            for (_, spec) in self.specs() {
                let ResourceSpec::Route(r) = spec else {
                    continue;
                };
                if same(&r.route_table_id, &a.route_table_id)
                    && is_default_route(&r.destination_cidr_block)
                    && self.is_internet_gateway(&r.gateway_id) == Some(true)
                {
                    why.push(format!(
                        "its route table `{}` sends {} to the internet gateway `{}`",
                        show(&a.route_table_id),
                        r.destination_cidr_block.trim(),
                        show(&r.gateway_id)
                    ));
                }
            }
        }
        why
    }

    /// The value of a CIDR block: a literal, or a reference to a VPC's or subnet's
    /// `cidr-block`. `None` when it cannot be known before apply.
    fn cidr_value(&self, t: &'a Text) -> Option<&'a str> {
        match t {
            Text::Literal(s) => Some(s.trim()),
            Text::Ref(r) if r.attribute == "cidr-block" => match self.target(t)? {
                ResourceSpec::Vpc(v) => Some(v.cidr_block.trim()),
                ResourceSpec::Subnet(s) => Some(s.cidr_block.trim()),
                _ => None,
            },
            Text::Ref(_) => None,
        }
    }

    /// The blocks "inside the VPC" means for a security group in `vpc_id`, and how
    /// to name them: the referenced VPC's block; for an existing VPC (a literal id
    /// the plan cannot follow), the blocks of every VPC in the plan; with no VPC in
    /// the plan, the private address ranges of RFC 1918.
    fn vpc_blocks(&self, vpc_id: &Text) -> (Vec<Ipv4Cidr>, String) {
        if let Some(ResourceSpec::Vpc(v)) = self.target(vpc_id)
            && let Some(block) = parse_block(&v.cidr_block)
        {
            return (vec![block], format!("the VPC's block {block}"));
        }
        let blocks: Vec<Ipv4Cidr> = self
            .specs()
            .filter_map(|(_, s)| match s {
                ResourceSpec::Vpc(v) => parse_block(&v.cidr_block),
                _ => None,
            })
            .collect();
        if blocks.is_empty() {
            let private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
            return (
                private.iter().filter_map(|b| parse_block(b)).collect(),
                "private address ranges (no VPC in the plan)".into(),
            );
        }
        let names: Vec<String> = blocks.iter().map(ToString::to_string).collect();
        (
            blocks,
            format!("the stack's VPC blocks ({})", names.join(", ")),
        )
    }
}

/// Whether two values are the same: equal literals, or references to the same
/// attribute of the same resource.
fn same(a: &Text, b: &Text) -> bool {
    match (a, b) {
        (Text::Literal(x), Text::Literal(y)) => x.trim() == y.trim(),
        (Text::Ref(x), Text::Ref(y)) => x.resource == y.resource && x.attribute == y.attribute,
        _ => false,
    }
}

/// A value for a message: a literal as is, a reference to an `id` as the resource's
/// address, another reference as `address.attribute`.
fn show(t: &Text) -> String {
    match t {
        Text::Literal(s) => s.clone(),
        Text::Ref(r) if r.attribute == "id" => r.resource.clone(),
        Text::Ref(r) => format!("{}.{}", r.resource, r.attribute),
    }
}

fn is_default_route(destination: &str) -> bool {
    matches!(destination.trim(), "0.0.0.0/0" | "::/0")
}

/// Parses an IPv4 CIDR block, clearing any host bits (`10.0.0.5/24` is
/// `10.0.0.0/24`, as AWS reads it).
fn parse_block(s: &str) -> Option<Ipv4Cidr> {
    let (addr, prefix) = s.trim().split_once('/')?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
    let octets: Vec<u8> = addr
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [a, b, c, d] = octets[..] else {
        return None;
    };
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    Some(Ipv4Cidr {
        network: u32::from_be_bytes([a, b, c, d]) & mask,
        prefix,
    })
}

fn mandatory(policy: &str, address: &str, message: String, remediation: &str) -> Violation {
    Violation {
        policy: policy.into(),
        severity: Severity::Mandatory,
        address: address.into(),
        message,
        remediation: remediation.into(),
    }
}

/// Whether an optional key names a key (`none` and empty do not).
fn has_key(key: &Option<Text>) -> bool {
    match key {
        None => false,
        Some(Text::Literal(s)) => !s.trim().is_empty() && s.trim() != "none",
        Some(Text::Ref(_)) => true,
    }
}

/// Whether a rule checks a kind, or why it does not apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// The rule checks resources of this kind.
    Checked,
    /// The rule does not apply to this kind, for the reason given.
    NotApplicable(&'static str),
}

/// `encryption-at-rest`'s decision for every kind the SDK knows. A kind added to the
/// WIT without a line here fails this crate's tests: no kind is silently unchecked.
pub const ENCRYPTION_AT_REST: &[(&str, Coverage)] = {
    use Coverage::{Checked, NotApplicable as Na};
    const NETWORK: Coverage = Na("network configuration; it stores no data");
    &[
        ("vpc", NETWORK),
        ("internet-gateway", NETWORK),
        ("subnet", NETWORK),
        ("route-table", NETWORK),
        ("route", NETWORK),
        ("route-table-association", NETWORK),
        ("security-group", NETWORK),
        ("vpc-endpoint", NETWORK),
        (
            "kms-key",
            Na("it is the encryption key; KMS keeps key material in its HSMs"),
        ),
        ("kms-alias", Na("a name for a key; it stores no data")),
        ("kinesis-stream", Checked),
        (
            "secret",
            Na("Secrets Manager always encrypts, with `aws/secretsmanager` when no key is set"),
        ),
        ("iam-role", Na("an identity; it stores no data")),
        ("cache-subnet-group", NETWORK),
        ("cache-replication-group", Checked),
        ("db-subnet-group", NETWORK),
        ("db-instance", Checked),
        ("sns-topic", Checked),
        (
            "metric-alarm",
            Na("alarm configuration; the topic it notifies is checked"),
        ),
        ("s3-bucket", Checked),
        (
            "log-group",
            Na("CloudWatch Logs always encrypts events; a KMS key is `log-group-kms`'s advice"),
        ),
        (
            "flow-log",
            Na("delivery configuration; its records are stored in a log group"),
        ),
        ("default-security-group", NETWORK),
        (
            "iam-role-policy",
            Na("an identity's permissions; it stores no data"),
        ),
    ]
};

/// `encryption-at-rest`: every data store encrypted at rest.
fn encryption_at_rest(plan: &Plan, out: &mut Vec<Violation>) {
    const ID: &str = "encryption-at-rest";
    for (address, spec) in plan.specs() {
        let found = match spec {
            ResourceSpec::KinesisStream(s) if !has_key(&s.kms_key_id) => Some((
                format!(
                    "The Kinesis stream `{}` is not encrypted at rest: `kms-key-id` is not set.",
                    s.name
                ),
                "Set `kms-key-id` to a KMS key: a customer-managed key (its ARN, or a \
                 reference to one) or the AWS managed `alias/aws/kinesis`.",
            )),
            ResourceSpec::CacheReplicationGroup(c) if !c.at_rest_encryption => Some((
                format!(
                    "The Redis replication group `{}` is not encrypted at rest: \
                     `at-rest-encryption` is false.",
                    c.id
                ),
                "Set `at-rest-encryption` to true (this replaces the group: ElastiCache \
                 cannot encrypt an existing one).",
            )),
            ResourceSpec::DbInstance(d) if !d.storage_encrypted => Some((
                format!(
                    "The database `{}` is not encrypted at rest: `storage-encrypted` is false.",
                    d.identifier
                ),
                "Set `storage-encrypted` to true (this replaces the instance; to keep the \
                 data, restore an encrypted copy of a snapshot).",
            )),
            ResourceSpec::S3Bucket(b) if !b.default_encryption => Some((
                format!(
                    "The S3 bucket `{}` declares no default encryption: \
                     `default-encryption` is false.",
                    b.name
                ),
                "Set `default-encryption` to true, with `kms-key-id` for SSE-KMS (a \
                 customer-managed key) or without it for SSE-S3.",
            )),
            ResourceSpec::SnsTopic(t) if !has_key(&t.kms_key_id) => Some((
                format!(
                    "The SNS topic `{}` is not encrypted at rest: `kms-key-id` is not set.",
                    t.name
                ),
                "Set `kms-key-id` to a KMS key whose key policy lets the publishers (for \
                 alarms, `cloudwatch.amazonaws.com`) use it.",
            )),
            _ => None,
        };
        if let Some((message, remediation)) = found {
            out.push(mandatory(ID, address, message, remediation));
        }
    }
}

/// `s3-block-public-access`: no bucket can be made public.
fn s3_block_public_access(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        if let ResourceSpec::S3Bucket(b) = spec
            && !b.block_public_access
        {
            out.push(mandatory(
                "s3-block-public-access",
                address,
                format!(
                    "The S3 bucket `{}` can be made public: `block-public-access` is false, \
                     so a bucket policy or ACL may grant access to anyone.",
                    b.name
                ),
                "Set `block-public-access` to true; share objects through presigned URLs \
                 or a CloudFront distribution instead.",
            ));
        }
    }
}

/// `redis-transit-encryption`: Redis speaks TLS.
fn redis_transit_encryption(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        if let ResourceSpec::CacheReplicationGroup(c) = spec
            && !c.transit_encryption
        {
            out.push(mandatory(
                "redis-transit-encryption",
                address,
                format!(
                    "The Redis replication group `{}` is not encrypted in transit: \
                     `transit-encryption` is false, so clients and replicas talk in plain text.",
                    c.id
                ),
                "Set `transit-encryption` to true (this replaces the group) and connect \
                 clients with TLS (`rediss://`).",
            ));
        }
    }
}

/// `private-data-stores`: databases are not publicly accessible, and cache and DB
/// subnet groups list only private subnets.
fn private_data_stores(plan: &Plan, out: &mut Vec<Violation>) {
    const ID: &str = "private-data-stores";
    for (address, spec) in plan.specs() {
        let (what, name, subnet_ids) = match spec {
            ResourceSpec::DbInstance(d) => {
                if d.publicly_accessible {
                    out.push(mandatory(
                        ID,
                        address,
                        format!(
                            "The database `{}` is publicly accessible: `publicly-accessible` \
                             is true, so it gets a public IP address.",
                            d.identifier
                        ),
                        "Set `publicly-accessible` to false; reach the database from inside \
                         the VPC.",
                    ));
                }
                continue;
            }
            ResourceSpec::CacheSubnetGroup(g) => ("cache subnet group", &g.name, &g.subnet_ids),
            ResourceSpec::DbSubnetGroup(g) => ("DB subnet group", &g.name, &g.subnet_ids),
            _ => continue,
        };
        let public: Vec<String> = subnet_ids
            .iter()
            .filter_map(|id| {
                let why = plan.public_subnet_reasons(id);
                (!why.is_empty()).then(|| format!("`{}` ({})", show(id), why.join("; ")))
            })
            .collect();
        if !public.is_empty() {
            out.push(mandatory(
                ID,
                address,
                format!(
                    "The {what} `{name}` (`subnet-ids`) places data stores in public subnets: {}.",
                    public.join(", ")
                ),
                "List only private subnets in `subnet-ids`: subnets without \
                 `map-public-ip-on-launch` whose route table has no route to an internet \
                 gateway.",
            ));
        }
    }
}

/// `ingress-restricted`: ingress to data ports only from inside the VPC (never from
/// anywhere); ingress to other ports from outside the VPC is advisory.
fn ingress_restricted(plan: &Plan, out: &mut Vec<Violation>) {
    let mut data_ports: BTreeSet<u16> = DATA_PORTS.iter().map(|(p, _)| *p).collect();
    // Security groups that guard a data store, by address: all their ingress is
    // ingress to data.
    let mut guarding: BTreeSet<&str> = BTreeSet::new();
    for (_, spec) in plan.specs() {
        let (port, groups) = match spec {
            ResourceSpec::CacheReplicationGroup(c) => (c.port, &c.security_group_ids),
            ResourceSpec::DbInstance(d) => (d.port, &d.vpc_security_group_ids),
            _ => continue,
        };
        data_ports.insert(port);
        for g in groups {
            if let Text::Ref(r) = g {
                guarding.insert(r.resource.as_str());
            }
        }
    }
    for (address, spec) in plan.specs() {
        let ResourceSpec::SecurityGroup(sg) = spec else {
            continue;
        };
        let (blocks, inside) = plan.vpc_blocks(&sg.vpc_id);
        for (n, rule) in sg.ingress.iter().enumerate() {
            let covers = |p: &u16| (rule.from_port..=rule.to_port).contains(p);
            let data_port = data_ports.iter().find(|p| covers(p)).copied();
            let to_data = guarding.contains(address)
                || matches!(rule.protocol, IpProtocol::All)
                || (matches!(rule.protocol, IpProtocol::Tcp | IpProtocol::Udp)
                    && data_port.is_some());
            let mut outside = Vec::new();
            for c in &rule.cidr_blocks {
                let Some(value) = plan.cidr_value(c) else {
                    continue;
                };
                if is_default_route(value) {
                    outside.push(format!("`{value}` (anywhere)"));
                } else if !parse_block(value).is_some_and(|b| blocks.iter().any(|v| v.contains(b)))
                {
                    outside.push(format!("`{value}`"));
                }
            }
            if outside.is_empty() {
                continue;
            }
            let ports = match rule.protocol {
                IpProtocol::All => "all traffic".to_string(),
                IpProtocol::Icmp => "ICMP".to_string(),
                IpProtocol::Tcp | IpProtocol::Udp => {
                    let proto = if matches!(rule.protocol, IpProtocol::Tcp) {
                        "TCP"
                    } else {
                        "UDP"
                    };
                    if rule.from_port == rule.to_port {
                        format!("{proto} port {}", rule.from_port)
                    } else {
                        format!("{proto} ports {}-{}", rule.from_port, rule.to_port)
                    }
                }
            };
            let (severity, why) = if to_data {
                let what = match data_port.and_then(|p| DATA_PORTS.iter().find(|(d, _)| *d == p)) {
                    Some((_, name)) => format!("{name}, a data port"),
                    None => "traffic to a data store".into(),
                };
                (
                    Severity::Mandatory,
                    format!("{what}, may only come from inside the VPC"),
                )
            } else {
                (
                    Severity::Advisory,
                    "least privilege: the stack has no public endpoints".into(),
                )
            };
            out.push(Violation {
                policy: "ingress-restricted".into(),
                severity,
                address: address.into(),
                message: format!(
                    "Ingress rule {} of security group `{}` (`ingress`, {ports}{}) allows \
                     traffic from {}, outside {inside}: {why}.",
                    n + 1,
                    sg.name,
                    if rule.description.is_empty() {
                        String::new()
                    } else {
                        format!(", \"{}\"", rule.description)
                    },
                    outside.join(", "),
                ),
                remediation: "Allow only blocks inside the VPC in `cidr-blocks` (for \
                              example a reference to the VPC's `cidr-block`)."
                    .into(),
            });
        }
    }
}

/// `backup-retention`: databases keep automated backups at least a week.
fn backup_retention(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        if let ResourceSpec::DbInstance(d) = spec
            && d.backup_retention_days < MIN_BACKUP_RETENTION_DAYS
        {
            let kept = match d.backup_retention_days {
                0 => "has automated backups turned off".to_string(),
                1 => "keeps automated backups for 1 day".to_string(),
                n => format!("keeps automated backups for {n} days"),
            };
            out.push(mandatory(
                "backup-retention",
                address,
                format!(
                    "The database `{}` {kept} (`backup-retention-days`); the baseline requires \
                     at least {MIN_BACKUP_RETENTION_DAYS}.",
                    d.identifier
                ),
                "Set `backup-retention-days` to 7 or more (up to 35).",
            ));
        }
    }
}

/// `multi-az`: the cache and the database survive the loss of an availability zone.
fn multi_az(plan: &Plan, out: &mut Vec<Violation>) {
    const ID: &str = "multi-az";
    for (address, spec) in plan.specs() {
        match spec {
            ResourceSpec::DbInstance(d) if !d.multi_az => out.push(mandatory(
                ID,
                address,
                format!(
                    "The database `{}` runs in one availability zone: `multi-az` is false.",
                    d.identifier
                ),
                "Set `multi-az` to true: RDS keeps a synchronous standby in another zone and \
                 fails over to it.",
            )),
            ResourceSpec::CacheReplicationGroup(c) => {
                let mut wrong = Vec::new();
                if !c.multi_az {
                    wrong.push("`multi-az` is false".to_string());
                }
                if !c.automatic_failover {
                    wrong.push("`automatic-failover` is false".to_string());
                }
                if c.num_cache_clusters < 2 {
                    wrong.push(format!(
                        "`num-cache-clusters` is {} (no replica)",
                        c.num_cache_clusters
                    ));
                }
                if !wrong.is_empty() {
                    out.push(mandatory(
                        ID,
                        address,
                        format!(
                            "The Redis replication group `{}` is not Multi-AZ: {}.",
                            c.id,
                            wrong.join(", ")
                        ),
                        "Set `multi-az` and `automatic-failover` to true, with \
                         `num-cache-clusters` of 2 or more, so that a replica in another zone \
                         takes over when the primary fails.",
                    ));
                }
            }
            _ => {}
        }
    }
}

/// `allowed-instance-classes`: database and cache nodes from the allowed lists.
fn allowed_instance_classes(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        let (what, name, property, class, allowed) = match spec {
            ResourceSpec::DbInstance(d) => (
                "database",
                &d.identifier,
                "instance-class",
                &d.instance_class,
                ALLOWED_DB_CLASSES,
            ),
            ResourceSpec::CacheReplicationGroup(c) => (
                "Redis replication group",
                &c.id,
                "node-type",
                &c.node_type,
                ALLOWED_CACHE_NODE_TYPES,
            ),
            _ => continue,
        };
        if !allowed.contains(&class.trim()) {
            let list = allowed.join(", ");
            out.push(mandatory(
                "allowed-instance-classes",
                address,
                format!(
                    "The {what} `{name}` uses `{property}` `{class}`, which is not on the \
                     baseline's allowed list ({list})."
                ),
                &format!(
                    "Set `{property}` to one of: {list}. A stack that needs more capacity \
                     extends the list in policies/baseline through review."
                ),
            ));
        }
    }
}

/// `no-nat-gateway`: routes lead only to internet gateways; private subnets reach
/// AWS services through VPC endpoints.
fn no_nat_gateway(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        if let ResourceSpec::Route(r) = spec
            && plan.is_internet_gateway(&r.gateway_id) == Some(false)
        {
            out.push(mandatory(
                "no-nat-gateway",
                address,
                format!(
                    "The route to {} in `{}` goes to `{}` (`gateway-id`), which is not an \
                     internet gateway: the baseline allows no NAT gateway.",
                    r.destination_cidr_block.trim(),
                    show(&r.route_table_id),
                    show(&r.gateway_id)
                ),
                "Remove the route; reach AWS services from private subnets through VPC \
                 endpoints (interface endpoints, or gateway endpoints for S3 and DynamoDB).",
            ));
        }
    }
}

/// `redis-auth`: every Redis client authenticates (Checkov CKV_AWS_31).
fn redis_auth(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        if let ResourceSpec::CacheReplicationGroup(c) = spec
            && c.auth_token.is_none()
        {
            out.push(mandatory(
                "redis-auth",
                address,
                format!(
                    "The Redis replication group `{}` has no AUTH token: `auth-token` is not \
                     set, so any client that reaches its port in the VPC has full access to \
                     the data (Checkov CKV_AWS_31).",
                    c.id
                ),
                "Set `auth-token` to the password of a stack `secret` (it needs \
                 `transit-encryption`; this replaces the group). JapanCart: `redis-auth = \
                 true` (the default).",
            ));
        }
    }
}

/// Whether an optional key names a customer-managed key: a reference to a key or
/// alias of the stack, or a literal that is not an AWS managed alias
/// (`alias/aws/...`). A literal key id or ARN cannot be told apart from an AWS
/// managed key's, so it counts as customer-managed.
fn is_customer_managed_key(key: &Option<Text>) -> bool {
    match key {
        Some(Text::Literal(s)) => {
            let s = s.trim();
            has_key(key) && !s.starts_with("alias/aws/") && !s.contains(":alias/aws/")
        }
        _ => has_key(key),
    }
}

/// `customer-managed-key`: the cache and the database are encrypted with a key the
/// stack controls (Checkov CKV_AWS_191 for Redis; for the database, the scan's
/// finding "storage encrypted with the AWS-managed key", which has no separate
/// Checkov id). A store not encrypted at all is `encryption-at-rest`'s violation,
/// not this rule's.
fn customer_managed_key(plan: &Plan, out: &mut Vec<Violation>) {
    const ID: &str = "customer-managed-key";
    for (address, spec) in plan.specs() {
        match spec {
            ResourceSpec::CacheReplicationGroup(c)
                if c.at_rest_encryption && !is_customer_managed_key(&c.kms_key_id) =>
            {
                out.push(mandatory(
                    ID,
                    address,
                    format!(
                        "The Redis replication group `{}` is encrypted at rest with the AWS \
                         managed key: `kms-key-id` names no customer-managed key, so the key \
                         policy and its audit trail are AWS's, not the stack's (Checkov \
                         CKV_AWS_191).",
                        c.id
                    ),
                    "Set `kms-key-id` to a customer-managed KMS key of the stack (this \
                     replaces the group). JapanCart: `redis-kms-key = create` (the default).",
                ));
            }
            ResourceSpec::DbInstance(d)
                if d.storage_encrypted && !is_customer_managed_key(&d.kms_key_id) =>
            {
                out.push(mandatory(
                    ID,
                    address,
                    format!(
                        "The database `{}` is encrypted at rest with the AWS managed key \
                         `aws/rds`: `kms-key-id` names no customer-managed key, so the key \
                         policy and its audit trail are AWS's, not the stack's (benchmark \
                         finding \"storage encrypted with the AWS-managed key\"; no separate \
                         Checkov id).",
                        d.identifier
                    ),
                    "Set `kms-key-id` to a customer-managed KMS key of the stack (this \
                     replaces the instance; to keep the data, restore a snapshot copied with \
                     the new key). JapanCart: `rds-kms-key = create` (the default).",
                ));
            }
            _ => {}
        }
    }
}

/// `rds-iam-authentication`: database users can be IAM identities with short-lived
/// tokens (Checkov CKV_AWS_161).
fn rds_iam_authentication(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        if let ResourceSpec::DbInstance(d) = spec
            && !d.iam_database_authentication
        {
            out.push(mandatory(
                "rds-iam-authentication",
                address,
                format!(
                    "The database `{}` does not accept IAM authentication: \
                     `iam-database-authentication` is false, so every client needs a \
                     long-lived database password (Checkov CKV_AWS_161).",
                    d.identifier
                ),
                "Set `iam-database-authentication` to true. JapanCart: `rds-iam-auth = true` \
                 (the default).",
            ));
        }
    }
}

/// `rds-log-exports`: a PostgreSQL database publishes its `postgresql` and `upgrade`
/// logs to CloudWatch Logs (Checkov CKV_AWS_129). Other engines are not checked.
fn rds_log_exports(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        let ResourceSpec::DbInstance(d) = spec else {
            continue;
        };
        if d.engine.trim() != "postgres" {
            continue;
        }
        let missing: Vec<String> = POSTGRES_LOG_EXPORTS
            .iter()
            .filter(|log| !d.cloudwatch_logs_exports.iter().any(|e| e.trim() == **log))
            .map(|log| format!("`{log}`"))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let (which, they_are) = if missing.len() == 1 {
            (format!("log {}", missing[0]), "it is")
        } else {
            (format!("logs {}", missing.join(" and ")), "they are")
        };
        out.push(mandatory(
            "rds-log-exports",
            address,
            format!(
                "The PostgreSQL database `{}` does not publish its {which} to CloudWatch \
                 Logs: {they_are} missing from `cloudwatch-logs-exports`, so errors, \
                 connections and upgrades leave no record outside the instance (Checkov \
                 CKV_AWS_129).",
                d.identifier
            ),
            "Add `postgresql` and `upgrade` to `cloudwatch-logs-exports`. JapanCart: \
             `rds-log-exports = postgresql,upgrade` (the default).",
        ));
    }
}

/// `rds-copy-tags-to-snapshot`: snapshots carry the instance's tags (Checkov
/// CKV2_AWS_60), so they stay attributable to their stack and environment.
fn rds_copy_tags_to_snapshot(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        if let ResourceSpec::DbInstance(d) = spec
            && !d.copy_tags_to_snapshot
        {
            out.push(mandatory(
                "rds-copy-tags-to-snapshot",
                address,
                format!(
                    "The database `{}` does not copy its tags to its snapshots: \
                     `copy-tags-to-snapshot` is false, so a snapshot cannot be told by its \
                     tags whose data it holds (Checkov CKV2_AWS_60).",
                    d.identifier
                ),
                "Set `copy-tags-to-snapshot` to true. JapanCart: \
                 `rds-copy-tags-to-snapshot = true` (the default).",
            ));
        }
    }
}

/// `rds-deletion-protection`: outside `dev`, a database refuses deletion (Checkov
/// CKV_AWS_293). In the `dev` environment it is not reported: a dev stack is torn
/// down by design, and the plan itself shows that deletion protection is off.
fn rds_deletion_protection(plan: &Plan, out: &mut Vec<Violation>) {
    if plan.environment == DEV_ENVIRONMENT {
        return;
    }
    for (address, spec) in plan.specs() {
        if let ResourceSpec::DbInstance(d) = spec
            && !d.deletion_protection
        {
            out.push(mandatory(
                "rds-deletion-protection",
                address,
                format!(
                    "The database `{}` can be deleted by a single call: `deletion-protection` \
                     is false, and the environment is `{}`, where only `dev` may leave it \
                     off (Checkov CKV_AWS_293).",
                    d.identifier,
                    if plan.environment.is_empty() {
                        "unnamed"
                    } else {
                        plan.environment
                    }
                ),
                "Set `deletion-protection` to true. JapanCart: `rds-deletion-protection = true` \
                 (unset, it is on outside `dev`).",
            ));
        }
    }
}

/// `secret-rotation`: the database's master password is managed and rotated by RDS
/// (Checkov CKV2_AWS_57). A password the stack generates into a `secret` is never
/// rotated; the violation is on the database, naming the secret.
fn secret_rotation(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        let ResourceSpec::DbInstance(d) = spec else {
            continue;
        };
        if d.manage_master_user_password && d.master_password.is_none() {
            continue;
        }
        let message = match &d.master_password {
            Some(p) => {
                let secret = match (plan.target(&p.secret_id), &p.secret_id) {
                    (Some(ResourceSpec::Secret(s)), Text::Ref(r)) => {
                        format!("`{}` (`{}`)", s.name, r.resource)
                    }
                    _ => format!("`{}`", show(&p.secret_id)),
                };
                format!(
                    "The database `{}` takes its master password from the stack secret \
                     {secret} through `master-password`, and nothing ever rotates that \
                     secret: `manage-master-user-password` is false (Checkov CKV2_AWS_57).",
                    d.identifier
                )
            }
            None => format!(
                "The database `{}` does not let RDS manage and rotate its master password: \
                 `manage-master-user-password` is false (Checkov CKV2_AWS_57).",
                d.identifier
            ),
        };
        out.push(mandatory(
            "secret-rotation",
            address,
            message,
            "Set `manage-master-user-password` to true and unset `master-password`: RDS \
             keeps the password in a secret of its own and rotates it every 7 days. \
             JapanCart: `db-password = rds-managed` (the default).",
        ));
    }
}

impl Plan<'_> {
    /// Whether the VPC at `address` already exists: the plan keeps or updates it, so
    /// its id is a literal elsewhere in the plan.
    fn exists(&self, address: &str) -> bool {
        self.live
            .get(address)
            .is_some_and(|r| matches!(r.action, Action::NoOp | Action::Update))
    }

    /// Whether `vpc_id` may name the VPC at `address`: a reference to it, or a
    /// literal id when that VPC already exists (the plan cannot tell whose id a
    /// literal is, and the baseline reports only what it can prove).
    fn may_name_vpc(&self, vpc_id: &Text, address: &str) -> bool {
        match vpc_id {
            Text::Ref(r) => r.resource == address,
            Text::Literal(id) => !id.trim().is_empty() && self.exists(address),
        }
    }
}

/// `vpc-flow-logs`: every VPC has a flow log (Checkov CKV2_AWS_11).
fn vpc_flow_logs(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        let ResourceSpec::Vpc(v) = spec else {
            continue;
        };
        let logged = plan.specs().any(
            |(_, s)| matches!(s, ResourceSpec::FlowLog(f) if plan.may_name_vpc(&f.vpc_id, address)),
        );
        if !logged {
            out.push(mandatory(
                "vpc-flow-logs",
                address,
                format!(
                    "The VPC `{address}` ({}) has no flow log: no `flow-log` has it as \
                     `vpc-id`, so its accepted and rejected traffic leaves no record \
                     (Checkov CKV2_AWS_11).",
                    v.cidr_block.trim()
                ),
                "Add a `flow-log` for the VPC to a `log-group`, with an `iam-role` (and its \
                 `iam-role-policy`) that lets the flow logs service write there. JapanCart: \
                 `vpc-flow-logs = true` (the default).",
            ));
        }
    }
}

/// `default-security-group-closed`: every VPC's default security group is adopted
/// and allows nothing (Checkov CKV2_AWS_12).
fn default_security_group_closed(plan: &Plan, out: &mut Vec<Violation>) {
    const ID: &str = "default-security-group-closed";
    const REMEDIATION: &str = "Adopt the VPC's default security group with a \
        `default-security-group` whose `ingress` and `egress` are empty, and put every \
        resource in a security group of its own. JapanCart: `default-security-group = \
        closed` (the default).";
    for (address, spec) in plan.specs() {
        match spec {
            ResourceSpec::Vpc(v) => {
                let adopted = plan.specs().any(|(_, s)| {
                    matches!(s, ResourceSpec::DefaultSecurityGroup(g)
                        if plan.may_name_vpc(&g.vpc_id, address))
                });
                if !adopted {
                    out.push(mandatory(
                        ID,
                        address,
                        format!(
                            "The VPC `{address}` ({}) leaves its default security group as \
                             AWS makes it: no `default-security-group` has it as `vpc-id`, so \
                             the group allows all traffic among its members and all outbound \
                             traffic (Checkov CKV2_AWS_12).",
                            v.cidr_block.trim()
                        ),
                        REMEDIATION,
                    ));
                }
            }
            ResourceSpec::DefaultSecurityGroup(g)
                if !g.ingress.is_empty() || !g.egress.is_empty() =>
            {
                let rules = |n: usize, what: &str| match n {
                    0 => None,
                    1 => Some(format!("1 {what} rule")),
                    n => Some(format!("{n} {what} rules")),
                };
                let has: Vec<String> = [
                    rules(g.ingress.len(), "ingress (`ingress`)"),
                    rules(g.egress.len(), "egress (`egress`)"),
                ]
                .into_iter()
                .flatten()
                .collect();
                out.push(mandatory(
                    ID,
                    address,
                    format!(
                        "The default security group of the VPC `{}` is not closed: it has {} \
                         (Checkov CKV2_AWS_12).",
                        show(&g.vpc_id),
                        has.join(" and ")
                    ),
                    REMEDIATION,
                ));
            }
            _ => {}
        }
    }
}

/// `log-retention`: log groups keep events for at least a year (Checkov
/// CKV_AWS_338): fewer days is mandatory. Keeping them forever (`retention-days`
/// 0) passes the benchmark but is advisory: the logs' cost grows without bound.
fn log_retention(plan: &Plan, out: &mut Vec<Violation>) {
    const ID: &str = "log-retention";
    const REMEDIATION: &str = "Set `retention-days` to 365 or more (one of the values \
        CloudWatch Logs allows, such as 365, 400, 545 or 731). JapanCart: \
        `log-retention-days = 365` (the default).";
    for (address, spec) in plan.specs() {
        let ResourceSpec::LogGroup(g) = spec else {
            continue;
        };
        match g.retention_days {
            0 => out.push(Violation {
                policy: ID.into(),
                severity: Severity::Advisory,
                address: address.into(),
                message: format!(
                    "The log group `{}` keeps its events forever (`retention-days` is 0): the \
                     benchmark's year is met, but storage and its cost grow without bound \
                     (Checkov CKV_AWS_338).",
                    g.name
                ),
                remediation: REMEDIATION.into(),
            }),
            n if n < MIN_LOG_RETENTION_DAYS => out.push(mandatory(
                ID,
                address,
                format!(
                    "The log group `{}` keeps its events for {n} day{} (`retention-days`); \
                     the baseline requires at least {MIN_LOG_RETENTION_DAYS}, so that an \
                     incident found late can still be traced (Checkov CKV_AWS_338).",
                    g.name,
                    if n == 1 { "" } else { "s" }
                ),
                REMEDIATION,
            )),
            _ => {}
        }
    }
}

/// `log-group-kms`: log groups are encrypted with a KMS key (Checkov CKV_AWS_158).
/// Advisory: CloudWatch Logs always encrypts the events with its own keys; a KMS
/// key adds an access check and an audit trail.
fn log_group_kms(plan: &Plan, out: &mut Vec<Violation>) {
    for (address, spec) in plan.specs() {
        if let ResourceSpec::LogGroup(g) = spec
            && !has_key(&g.kms_key_id)
        {
            out.push(Violation {
                policy: "log-group-kms".into(),
                severity: Severity::Advisory,
                address: address.into(),
                message: format!(
                    "The log group `{}` is not encrypted with a KMS key: `kms-key-id` is not \
                     set, so CloudWatch Logs' own keys protect it and reads leave no KMS \
                     audit trail (Checkov CKV_AWS_158).",
                    g.name
                ),
                remediation: "Set `kms-key-id` to the ARN of a KMS key whose key policy lets \
                              `logs.REGION.amazonaws.com` use it (`service-principals`). \
                              JapanCart: `log-kms-key = create` (the default)."
                    .into(),
            });
        }
    }
}

#[cfg(test)]
mod coverage {
    use super::*;

    /// docs/policies.md, which documents every rule.
    const DOCS: &str = include_str!("../../../docs/policies.md");

    /// The rows of the first table after the line `header`, as trimmed cells.
    fn table(after: &str, header: &str) -> Vec<Vec<&'static str>> {
        let start = DOCS
            .find(after)
            .unwrap_or_else(|| panic!("docs: no `{after}`"));
        let rest = &DOCS[start..];
        let at = rest
            .find(header)
            .unwrap_or_else(|| panic!("docs: no table `{header}` after `{after}`"));
        rest[at..]
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
            .collect()
    }

    #[test]
    fn the_docs_list_every_rule_with_its_severity() {
        let rows = table(
            "## The security baseline",
            "| Rule | Severity | Applies to |",
        );
        for rule in RULES {
            let named = format!("`{}`", rule.id);
            let found: Vec<_> = rows.iter().filter(|r| r[0] == named).collect();
            assert_eq!(found.len(), 1, "docs/policies.md: one row for {named}");
            assert_eq!(
                found[0][1], rule.severity,
                "docs/policies.md: {named}'s severity"
            );
        }
        for row in &rows {
            assert!(
                RULES.iter().any(|r| row[0] == format!("`{}`", r.id)),
                "docs/policies.md lists {}, which is not in RULES",
                row[0]
            );
        }
    }

    #[test]
    fn the_docs_map_every_benchmark_check_to_its_rule() {
        let rows = table(
            "## Hardening rules and the benchmark",
            "| Benchmark check | Baseline rule | Severity | JapanCart status |",
        );
        assert!(rows.iter().all(|r| r.len() == 4), "{rows:?}");
        for rule in RULES {
            let named = format!("`{}`", rule.id);
            for check in rule.benchmark {
                let found: Vec<_> = rows
                    .iter()
                    .filter(|r| r[0].starts_with(&format!("{check}:")) && r[1] == named)
                    .collect();
                assert_eq!(
                    found.len(),
                    1,
                    "docs/policies.md: one row for {check} and {named}"
                );
                assert_eq!(
                    found[0][2], rule.severity,
                    "docs/policies.md: {check}'s severity"
                );
            }
        }
        for row in &rows {
            if row[1] == "not covered" {
                assert!(!row[3].is_empty(), "a check not covered says why: {row:?}");
                continue;
            }
            let rule = RULES
                .iter()
                .find(|r| row[1] == format!("`{}`", r.id))
                .unwrap_or_else(|| panic!("docs/policies.md: {} is not a rule", row[1]));
            assert_eq!(row[2], rule.severity, "{row:?}");
        }
    }

    #[test]
    fn encryption_at_rest_decides_about_every_kind() {
        for kind in engine_sdk::KINDS {
            let decided = ENCRYPTION_AT_REST.iter().filter(|(k, _)| k == kind).count();
            assert_eq!(
                decided, 1,
                "`{kind}`: add one line to ENCRYPTION_AT_REST: checked, or why not applicable"
            );
        }
        for (kind, _) in ENCRYPTION_AT_REST {
            assert!(engine_sdk::KINDS.contains(kind), "`{kind}` is not a kind");
        }
    }
}

#[cfg(test)]
mod tests {
    //! Edge cases of the rules; the end-to-end tests (tests/check) run the built
    //! plugin over real stacks, one broken stack per rule.
    use super::*;

    fn r(address: &str, spec: impl Into<ResourceSpec>) -> PlannedResource {
        PlannedResource {
            address: address.into(),
            action: Action::Create,
            spec: spec.into(),
            unknown: vec![],
        }
    }

    fn reference(address: &str, attribute: &str) -> Text {
        Text::Ref(Reference {
            resource: address.into(),
            attribute: attribute.into(),
        })
    }

    fn view(resources: Vec<PlannedResource>) -> PlanView {
        PlanView {
            stack: "t".into(),
            region: "us-east-1".into(),
            environment: "dev".into(),
            resources,
        }
    }

    fn found(v: &[Violation]) -> Vec<(String, String, bool)> {
        v.iter()
            .map(|v| {
                (
                    v.policy.clone(),
                    v.address.clone(),
                    matches!(v.severity, Severity::Mandatory),
                )
            })
            .collect()
    }

    fn sg(vpc_id: Text, rule: SecurityGroupRule) -> SecurityGroup {
        SecurityGroup {
            name: "g".into(),
            description: String::new(),
            vpc_id,
            ingress: vec![rule],
            egress: vec![],
            tags: vec![],
        }
    }

    fn vpc() -> Vpc {
        Vpc {
            cidr_block: "10.0.0.0/16".into(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
            tags: vec![],
        }
    }

    /// The VPC `n/vpc` with its flow log and closed default security group, then
    /// `rest`.
    fn with_vpc(rest: Vec<PlannedResource>) -> PlanView {
        let mut resources = vec![
            r("n/vpc", vpc()),
            r("n/flow-log", flow_log(reference("n/vpc", "id"))),
            r("n/default-sg", closed_default_sg(reference("n/vpc", "id"))),
        ];
        resources.extend(rest);
        view(resources)
    }

    fn flow_log(vpc_id: Text) -> FlowLog {
        FlowLog {
            vpc_id,
            traffic_type: FlowLogTraffic::All,
            log_group_name: reference("vpc/flow-logs", "name"),
            deliver_logs_permission_arn: reference("vpc/flow-logs-role", "arn"),
            max_aggregation_interval_seconds: 600,
            tags: vec![],
        }
    }

    fn closed_default_sg(vpc_id: Text) -> DefaultSecurityGroup {
        DefaultSecurityGroup {
            vpc_id,
            ingress: vec![],
            egress: vec![],
            tags: vec![],
        }
    }

    #[test]
    fn an_unencrypted_or_public_bucket_is_a_mandatory_violation() {
        let bucket = |default_encryption, block_public_access| S3Bucket {
            name: "exports".into(),
            versioning: true,
            default_encryption,
            kms_key_id: None,
            block_public_access,
            expiration_days: 0,
            tags: vec![],
        };
        assert!(check(&view(vec![r("s/ok", bucket(true, true))])).is_empty());
        assert_eq!(
            found(&check(&view(vec![
                r("s/plain", bucket(false, true)),
                r("s/open", bucket(true, false)),
            ]))),
            vec![
                ("encryption-at-rest".into(), "s/plain".into(), true),
                ("s3-block-public-access".into(), "s/open".into(), true),
            ]
        );
    }

    #[test]
    fn ingress_follows_the_vpc_reference_and_literal_ids() {
        let inside = |c: &str| SecurityGroupRule::tcp(5432, vec![c.into()], "");
        let cases = [
            ("10.0.3.0/24", None),
            ("10.0.3.7/24", None),
            ("10.1.0.0/24", Some(true)),
            ("0.0.0.0/0", Some(true)),
            ("::/0", Some(true)),
            ("not-a-block", Some(true)),
        ];
        for (cidr, want) in cases {
            let v = check(&with_vpc(vec![r(
                "n/sg",
                sg(reference("n/vpc", "id"), inside(cidr)),
            )]));
            let want: Vec<_> = want
                .map(|m| ("ingress-restricted".to_string(), "n/sg".to_string(), m))
                .into_iter()
                .collect();
            assert_eq!(found(&v), want, "{cidr}");
        }
        // A literal VPC id: any VPC of the plan; none: the private ranges.
        let v = check(&with_vpc(vec![r(
            "n/sg",
            sg("vpc-123".into(), inside("10.0.0.0/24")),
        )]));
        assert!(v.is_empty(), "{v:?}");
        let v = check(&view(vec![r(
            "n/sg",
            sg("vpc-123".into(), inside("172.20.0.0/16")),
        )]));
        assert!(v.is_empty(), "{v:?}");
        // A web port open to the world is advisory; all traffic is a data port.
        let web = SecurityGroupRule::tcp(443, vec!["0.0.0.0/0".into()], "web");
        let v = check(&view(vec![r("n/sg", sg("vpc-1".into(), web))]));
        assert_eq!(
            found(&v),
            [("ingress-restricted".into(), "n/sg".into(), false)]
        );
        let all = SecurityGroupRule {
            protocol: IpProtocol::All,
            from_port: 0,
            to_port: 0,
            cidr_blocks: vec!["0.0.0.0/0".into()],
            description: String::new(),
        };
        let v = check(&view(vec![r("n/sg", sg("vpc-1".into(), all))]));
        assert_eq!(
            found(&v),
            [("ingress-restricted".into(), "n/sg".into(), true)]
        );
        // A range covering a data port.
        let range = SecurityGroupRule {
            protocol: IpProtocol::Tcp,
            from_port: 6000,
            to_port: 7000,
            cidr_blocks: vec!["0.0.0.0/0".into()],
            description: String::new(),
        };
        let v = check(&view(vec![r("n/sg", sg("vpc-1".into(), range))]));
        assert!(v[0].message.contains("Redis, a data port"), "{v:?}");
    }

    #[test]
    fn public_subnets_are_found_by_reference_and_by_literal_id() {
        let subnet = |public| Subnet {
            vpc_id: reference("n/vpc", "id"),
            cidr_block: "10.0.1.0/24".into(),
            availability_zone: "us-east-1a".into(),
            map_public_ip_on_launch: public,
            tags: vec![],
        };
        let group = |ids: Vec<Text>| DbSubnetGroup {
            name: "g".into(),
            description: String::new(),
            subnet_ids: ids,
            tags: vec![],
        };
        // By reference: the subnet's own flag.
        let v = check(&view(vec![
            r("n/a", subnet(true)),
            r("n/g", group(vec![reference("n/a", "id")])),
        ]));
        assert_eq!(
            found(&v),
            [("private-data-stores".into(), "n/g".into(), true)]
        );
        // By literal ids: an association to a table with a default route to igw-.
        let assoc = RouteTableAssociation {
            route_table_id: "rtb-1".into(),
            subnet_id: "subnet-1".into(),
        };
        let route = |gw: &str| Route {
            route_table_id: "rtb-1".into(),
            destination_cidr_block: "0.0.0.0/0".into(),
            gateway_id: gw.into(),
        };
        let v = check(&view(vec![
            r("n/assoc", assoc.clone()),
            r("n/route", route("igw-1")),
            r("n/g", group(vec!["subnet-1".into()])),
        ]));
        assert_eq!(
            found(&v),
            [("private-data-stores".into(), "n/g".into(), true)]
        );
        assert!(
            v[0].message
                .contains("`rtb-1` sends 0.0.0.0/0 to the internet gateway `igw-1`")
        );
        // A route planned for deletion is no evidence; a NAT route is its own rule.
        let mut deleted = r("n/route", route("igw-1"));
        deleted.action = Action::Delete;
        let v = check(&view(vec![
            r("n/assoc", assoc.clone()),
            deleted,
            r("n/g", group(vec!["subnet-1".into()])),
        ]));
        assert!(v.is_empty(), "{v:?}");
        let v = check(&view(vec![
            r("n/assoc", assoc),
            r("n/route", route("nat-0123")),
            r("n/g", group(vec!["subnet-1".into()])),
        ]));
        assert_eq!(
            found(&v),
            [("no-nat-gateway".into(), "n/route".into(), true)]
        );
    }

    #[test]
    fn keys_and_deletes() {
        let topic = |k: Option<Text>| SnsTopic {
            name: "t".into(),
            kms_key_id: k,
            tags: vec![],
        };
        for (key, violates) in [
            (None, true),
            (Some("".into()), true),
            (Some("none".into()), true),
            (Some("alias/aws/sns".into()), false),
            (Some(reference("n/key", "arn")), false),
        ] {
            let v = check(&view(vec![r("n/t", topic(key))]));
            assert_eq!(v.len(), usize::from(violates), "{v:?}");
        }
        let mut gone = r("n/t", topic(None));
        gone.action = Action::Delete;
        assert!(check(&view(vec![gone])).is_empty());
    }

    // The hardened JapanCart stack, as its plugins declare it with the hardened
    // defaults, and one test per hardening rule: the stack with one thing changed
    // breaks exactly that rule.

    fn tags() -> Vec<Tag> {
        vec![Tag {
            key: "project".into(),
            value: "japancart".into(),
        }]
    }

    fn key(description: &str) -> KmsKey {
        KmsKey {
            description: description.into(),
            enable_key_rotation: true,
            deletion_window_days: 30,
            service_principals: vec![],
            tags: tags(),
        }
    }

    fn secret(name: &str) -> Secret {
        Secret {
            name: name.into(),
            description: String::new(),
            kms_key_id: None,
            username: "japancart".into(),
            password: PasswordPolicy {
                length: 32,
                exclude_characters: "/@\" ".into(),
            },
            recovery_window_days: 7,
            tags: tags(),
        }
    }

    fn redis() -> CacheReplicationGroup {
        CacheReplicationGroup {
            id: "japancart-redis-dev".into(),
            description: "JapanCart cache".into(),
            engine_version: "7.0".into(),
            node_type: "cache.t3.micro".into(),
            num_cache_clusters: 2,
            port: 6379,
            subnet_group_name: reference("elasticache/subnet-group", "name"),
            security_group_ids: vec![reference("elasticache/sg", "id")],
            automatic_failover: true,
            multi_az: true,
            at_rest_encryption: true,
            transit_encryption: true,
            kms_key_id: Some(reference("elasticache/key", "arn")),
            auth_token: Some(SecretValueRef {
                secret_id: reference("secrets/redis-auth", "arn"),
                key: "password".into(),
            }),
            snapshot_retention_days: 1,
            tags: tags(),
        }
    }

    fn postgres(deletion_protection: bool) -> DbInstance {
        DbInstance {
            identifier: "japancart-postgres-dev".into(),
            engine: "postgres".into(),
            engine_version: "15.4".into(),
            instance_class: "db.t3.micro".into(),
            allocated_storage_gb: 20,
            storage_type: "gp3".into(),
            storage_encrypted: true,
            kms_key_id: Some(reference("rds/key", "arn")),
            db_name: "japancart".into(),
            master_username: "japancart".into(),
            master_password: None,
            manage_master_user_password: true,
            master_user_secret_kms_key_id: Some(reference("rds/key", "arn")),
            iam_database_authentication: true,
            cloudwatch_logs_exports: vec!["postgresql".into(), "upgrade".into()],
            copy_tags_to_snapshot: true,
            port: 5432,
            db_subnet_group_name: reference("rds/subnet-group", "name"),
            vpc_security_group_ids: vec![reference("rds/sg", "id")],
            multi_az: true,
            publicly_accessible: false,
            backup_retention_days: 7,
            monitoring_interval_seconds: 60,
            monitoring_role_arn: Some(reference("rds/monitoring-role", "arn")),
            deletion_protection,
            skip_final_snapshot: false,
            tags: tags(),
        }
    }

    fn log_group() -> LogGroup {
        LogGroup {
            name: "/aws/vpc/flow-logs/japancart-dev".into(),
            retention_days: 365,
            kms_key_id: Some(reference("vpc/logs-key", "arn")),
            tags: tags(),
        }
    }

    /// The JapanCart stack with the hardened defaults, in `environment`, with the
    /// database's `deletion-protection` as given (JapanCart: off in `dev`).
    fn japancart(environment: &str, deletion_protection: bool) -> PlanView {
        let vpc_id = || reference("vpc/main", "id");
        let vpc_cidr = || reference("vpc/main", "cidr-block");
        let private = || {
            vec![
                reference("vpc/private-a", "id"),
                reference("vpc/private-b", "id"),
            ]
        };
        let data_sg = |name: &str, port| SecurityGroup {
            name: name.into(),
            description: String::new(),
            vpc_id: vpc_id(),
            ingress: vec![SecurityGroupRule::tcp(
                port,
                vec![vpc_cidr()],
                "from the VPC",
            )],
            egress: vec![],
            tags: tags(),
        };
        let mut resources = vec![
            r("vpc/main", vpc()),
            r(
                "vpc/igw",
                InternetGateway {
                    vpc_id: vpc_id(),
                    tags: tags(),
                },
            ),
            r(
                "vpc/public-rt",
                RouteTable {
                    vpc_id: vpc_id(),
                    tags: tags(),
                },
            ),
            r(
                "vpc/public-default-route",
                Route {
                    route_table_id: reference("vpc/public-rt", "id"),
                    destination_cidr_block: "0.0.0.0/0".into(),
                    gateway_id: reference("vpc/igw", "id"),
                },
            ),
            r(
                "vpc/private-rt",
                RouteTable {
                    vpc_id: vpc_id(),
                    tags: tags(),
                },
            ),
            r(
                "vpc/endpoint-sg",
                SecurityGroup {
                    ingress: vec![SecurityGroupRule::tcp(443, vec![vpc_cidr()], "HTTPS")],
                    ..data_sg("japancart-vpc-endpoints-dev", 443)
                },
            ),
            r(
                "vpc/kinesis-endpoint",
                VpcEndpoint {
                    vpc_id: vpc_id(),
                    service_name: "com.amazonaws.us-east-1.kinesis-streams".into(),
                    endpoint_type: VpcEndpointType::Interface,
                    subnet_ids: private(),
                    security_group_ids: vec![reference("vpc/endpoint-sg", "id")],
                    route_table_ids: vec![],
                    private_dns_enabled: true,
                    tags: tags(),
                },
            ),
            r("vpc/flow-logs", log_group()),
            r("vpc/logs-key", key("JapanCart flow logs")),
            r(
                "vpc/flow-logs-role",
                IamRole {
                    name: "japancart-flow-logs-dev-us-east-1".into(),
                    description: String::new(),
                    assume_role_policy: service_trust_policy("vpc-flow-logs.amazonaws.com"),
                    managed_policy_arns: vec![],
                    tags: tags(),
                },
            ),
            r(
                "vpc/flow-logs-write",
                IamRolePolicy {
                    role_name: reference("vpc/flow-logs-role", "name"),
                    name: "write-flow-logs".into(),
                    statements: vec![PolicyStatement {
                        actions: vec!["logs:CreateLogStream".into(), "logs:PutLogEvents".into()],
                        resources: vec![reference("vpc/flow-logs", "arn")],
                    }],
                },
            ),
            r("vpc/flow-log", flow_log(vpc_id())),
            r("vpc/default-sg", closed_default_sg(vpc_id())),
            r("kinesis/key", key("JapanCart stream")),
            r(
                "kinesis/key-alias",
                KmsAlias {
                    name: "alias/japancart-kinesis-dev".into(),
                    target_key_id: reference("kinesis/key", "id"),
                },
            ),
            r(
                "kinesis/transactions",
                KinesisStream {
                    name: "japancart-transactions-dev".into(),
                    shard_count: 2,
                    retention_period_hours: 24,
                    kms_key_id: Some(reference("kinesis/key", "arn")),
                    shard_level_metrics: vec![],
                    tags: tags(),
                },
            ),
            r("secrets/redis-auth", secret("japancart-redis-auth-dev")),
            r("elasticache/key", key("JapanCart cache")),
            r("elasticache/sg", data_sg("japancart-redis-dev", 6379)),
            r(
                "elasticache/subnet-group",
                CacheSubnetGroup {
                    name: "japancart-redis-dev".into(),
                    description: String::new(),
                    subnet_ids: private(),
                    tags: tags(),
                },
            ),
            r("elasticache/redis", redis()),
            r("rds/key", key("JapanCart database")),
            r("rds/sg", data_sg("japancart-postgres-dev", 5432)),
            r(
                "rds/subnet-group",
                DbSubnetGroup {
                    name: "japancart-postgres-dev".into(),
                    description: String::new(),
                    subnet_ids: private(),
                    tags: tags(),
                },
            ),
            r(
                "rds/monitoring-role",
                IamRole {
                    name: "japancart-rds-monitoring-dev-us-east-1".into(),
                    description: String::new(),
                    assume_role_policy: service_trust_policy("monitoring.rds.amazonaws.com"),
                    managed_policy_arns: vec![],
                    tags: tags(),
                },
            ),
            r("rds/postgres", postgres(deletion_protection)),
            r(
                "rds/postgresql-logs",
                LogGroup {
                    name: "/aws/rds/instance/japancart-postgres-dev/postgresql".into(),
                    ..log_group()
                },
            ),
            r(
                "rds/upgrade-logs",
                LogGroup {
                    name: "/aws/rds/instance/japancart-postgres-dev/upgrade".into(),
                    ..log_group()
                },
            ),
            r("monitoring/key", key("JapanCart alarms")),
            r(
                "monitoring/alarms",
                SnsTopic {
                    name: "japancart-alarms-dev".into(),
                    kms_key_id: Some(reference("monitoring/key", "arn")),
                    tags: tags(),
                },
            ),
            r(
                "monitoring/rds-cpu",
                MetricAlarm {
                    name: "japancart-rds-cpu-dev".into(),
                    description: String::new(),
                    namespace: "AWS/RDS".into(),
                    metric_name: "CPUUtilization".into(),
                    dimensions: vec![Dimension {
                        name: "DBInstanceIdentifier".into(),
                        value: "japancart-postgres-dev".into(),
                    }],
                    statistic: Statistic::Average,
                    period_seconds: 300,
                    evaluation_periods: 2,
                    threshold: 80.0,
                    comparison_operator: ComparisonOperator::GreaterThanThreshold,
                    treat_missing_data: "missing".into(),
                    alarm_actions: vec![reference("monitoring/alarms", "arn")],
                    ok_actions: vec![],
                    tags: tags(),
                },
            ),
        ];
        for (tier, public, rt) in [
            ("public", true, "vpc/public-rt"),
            ("private", false, "vpc/private-rt"),
        ] {
            for (n, zone) in ["a", "b"].into_iter().enumerate() {
                let name = format!("vpc/{tier}-{zone}");
                resources.push(r(
                    &name,
                    Subnet {
                        vpc_id: vpc_id(),
                        cidr_block: format!("10.0.{}.0/24", n + if public { 1 } else { 11 }),
                        availability_zone: format!("us-east-1{zone}"),
                        map_public_ip_on_launch: public,
                        tags: tags(),
                    },
                ));
                resources.push(r(
                    &format!("{name}-rta"),
                    RouteTableAssociation {
                        route_table_id: reference(rt, "id"),
                        subnet_id: reference(&name, "id"),
                    },
                ));
            }
        }
        resources.sort_by(|a, b| a.address.cmp(&b.address));
        PlanView {
            environment: environment.into(),
            ..view(resources)
        }
    }

    /// The hardened JapanCart plan with the resource at `address` changed by `f`.
    fn japancart_with<T>(address: &str, f: impl FnOnce(&mut T)) -> PlanView
    where
        for<'a> &'a mut ResourceSpec: TryIntoMut<'a, T>,
    {
        let mut plan = japancart("dev", false);
        let res = plan
            .resources
            .iter_mut()
            .find(|r| r.address == address)
            .unwrap_or_else(|| panic!("no {address}"));
        f(res
            .spec
            .try_into_mut()
            .unwrap_or_else(|| panic!("{address}: wrong kind")));
        plan
    }

    fn without(mut plan: PlanView, address: &str) -> PlanView {
        plan.resources.retain(|r| r.address != address);
        plan
    }

    /// The single violation of `plan`, which must be `id` on `address` with the
    /// severity given; returns it for a look at its message.
    fn only(plan: &PlanView, id: &str, address: &str, mandatory: bool) -> Violation {
        let v = check(plan);
        assert_eq!(
            found(&v),
            [(id.to_string(), address.to_string(), mandatory)],
            "{v:#?}"
        );
        let v = v.into_iter().next().unwrap();
        // A hardening rule's message ends with its benchmark check.
        let rule = RULES.iter().find(|r| r.id == id).unwrap();
        let hardening = RULES
            .iter()
            .skip_while(|r| r.id != "redis-auth")
            .any(|r| r.id == id);
        if hardening {
            let tail = v.message.rsplit_once(" (").map_or("", |(_, t)| t);
            assert!(
                tail.ends_with(").")
                    && (rule.benchmark.iter().any(|b| tail.contains(b))
                        || tail.contains("no separate Checkov id")),
                "the message ends with its benchmark check: {}",
                v.message
            );
        }
        v
    }

    #[test]
    fn hardened_japancart_passes_in_dev_and_in_prod_with_deletion_protection() {
        for (environment, protection) in [("dev", false), ("dev", true), ("prod", true)] {
            let v = check(&japancart(environment, protection));
            assert!(v.is_empty(), "{environment}: {v:#?}");
        }
        // Unchanged resources are checked like created ones.
        let mut plan = japancart("prod", true);
        for r in &mut plan.resources {
            r.action = Action::NoOp;
        }
        assert!(check(&plan).is_empty());
    }

    #[test]
    fn redis_without_auth_token() {
        let plan = japancart_with("elasticache/redis", |c: &mut CacheReplicationGroup| {
            c.auth_token = None
        });
        let v = only(&plan, "redis-auth", "elasticache/redis", true);
        assert!(v.message.contains("`auth-token`"));
        assert!(v.message.ends_with("(Checkov CKV_AWS_31)."));
        assert!(v.remediation.contains("`redis-auth = true`"));
    }

    #[test]
    fn aws_managed_keys_for_redis_and_the_database() {
        for key in [
            None,
            Some("none".into()),
            Some("alias/aws/elasticache".into()),
        ] {
            let plan = japancart_with("elasticache/redis", |c: &mut CacheReplicationGroup| {
                c.kms_key_id = key
            });
            let v = only(&plan, "customer-managed-key", "elasticache/redis", true);
            assert!(v.message.ends_with("(Checkov CKV_AWS_191)."));
            assert!(v.remediation.contains("`redis-kms-key = create`"));
        }
        let plan = japancart_with("rds/postgres", |d: &mut DbInstance| {
            d.kms_key_id = Some("arn:aws:kms:us-east-1:123456789012:alias/aws/rds".into())
        });
        let v = only(&plan, "customer-managed-key", "rds/postgres", true);
        assert!(
            v.message.contains("no separate Checkov id"),
            "{}",
            v.message
        );
        assert!(v.remediation.contains("`rds-kms-key = create`"));
        // A literal key ARN may be a customer-managed key: not reported.
        let plan = japancart_with("rds/postgres", |d: &mut DbInstance| {
            d.kms_key_id = Some("arn:aws:kms:us-east-1:123456789012:key/1234".into())
        });
        assert!(check(&plan).is_empty());
        // Not encrypted at all is `encryption-at-rest`'s violation only.
        let plan = japancart_with("rds/postgres", |d: &mut DbInstance| {
            d.storage_encrypted = false;
            d.kms_key_id = None;
        });
        only(&plan, "encryption-at-rest", "rds/postgres", true);
        let plan = japancart_with("elasticache/redis", |c: &mut CacheReplicationGroup| {
            c.at_rest_encryption = false;
            c.kms_key_id = None;
        });
        only(&plan, "encryption-at-rest", "elasticache/redis", true);
    }

    #[test]
    fn database_without_iam_authentication() {
        let plan = japancart_with("rds/postgres", |d: &mut DbInstance| {
            d.iam_database_authentication = false
        });
        let v = only(&plan, "rds-iam-authentication", "rds/postgres", true);
        assert!(v.message.contains("`iam-database-authentication`"));
        assert!(v.remediation.contains("`rds-iam-auth = true`"));
    }

    #[test]
    fn postgres_without_log_exports_names_what_is_missing() {
        let plan = japancart_with("rds/postgres", |d: &mut DbInstance| {
            d.cloudwatch_logs_exports = vec!["postgresql".into()]
        });
        let v = only(&plan, "rds-log-exports", "rds/postgres", true);
        assert!(
            v.message
                .contains("its log `upgrade` to CloudWatch Logs: it is missing"),
            "{}",
            v.message
        );
        assert!(!v.message.contains("`postgresql` and"), "{}", v.message);
        assert!(
            v.remediation
                .contains("`rds-log-exports = postgresql,upgrade`")
        );
        let plan = japancart_with("rds/postgres", |d: &mut DbInstance| {
            d.cloudwatch_logs_exports = vec![]
        });
        let v = only(&plan, "rds-log-exports", "rds/postgres", true);
        assert!(
            v.message
                .contains("logs `postgresql` and `upgrade` to CloudWatch Logs: they are missing"),
            "{}",
            v.message
        );
        // Another engine is not checked.
        let plan = japancart_with("rds/postgres", |d: &mut DbInstance| {
            d.engine = "mysql".into();
            d.cloudwatch_logs_exports = vec![];
        });
        assert!(check(&plan).is_empty());
    }

    #[test]
    fn database_without_copy_tags_to_snapshot() {
        let plan = japancart_with("rds/postgres", |d: &mut DbInstance| {
            d.copy_tags_to_snapshot = false
        });
        let v = only(&plan, "rds-copy-tags-to-snapshot", "rds/postgres", true);
        assert!(v.remediation.contains("`rds-copy-tags-to-snapshot = true`"));
    }

    #[test]
    fn deletion_protection_is_mandatory_outside_dev_only() {
        for environment in ["prod", "staging", ""] {
            let v = only(
                &japancart(environment, false),
                "rds-deletion-protection",
                "rds/postgres",
                true,
            );
            assert!(v.message.contains("`deletion-protection` is false"));
            assert!(v.remediation.contains("`rds-deletion-protection = true`"));
        }
        assert!(check(&japancart("dev", false)).is_empty());
    }

    #[test]
    fn a_stack_secret_as_master_password_is_never_rotated() {
        let mut plan = japancart_with("rds/postgres", |d: &mut DbInstance| {
            d.manage_master_user_password = false;
            d.master_user_secret_kms_key_id = None;
            d.master_password = Some(SecretValueRef {
                secret_id: reference("secrets/db-credentials", "arn"),
                key: "password".into(),
            });
        });
        plan.resources.push(r(
            "secrets/db-credentials",
            secret("japancart-db-credentials-dev"),
        ));
        let v = only(&plan, "secret-rotation", "rds/postgres", true);
        assert!(
            v.message
                .contains("`japancart-db-credentials-dev` (`secrets/db-credentials`)"),
            "{}",
            v.message
        );
        assert!(v.message.contains("`master-password`"));
        assert!(v.remediation.contains("`db-password = rds-managed`"));
    }

    #[test]
    fn a_vpc_without_a_flow_log() {
        let v = only(
            &without(japancart("dev", false), "vpc/flow-log"),
            "vpc-flow-logs",
            "vpc/main",
            true,
        );
        assert!(v.remediation.contains("`vpc-flow-logs = true`"));
        // A flow log of another VPC does not count.
        let plan = japancart_with("vpc/flow-log", |f: &mut FlowLog| {
            f.vpc_id = reference("other/vpc", "id")
        });
        only(&plan, "vpc-flow-logs", "vpc/main", true);
        // A literal id may be an existing VPC's, never a VPC being created.
        let plan = japancart_with("vpc/flow-log", |f: &mut FlowLog| {
            f.vpc_id = "vpc-0123".into()
        });
        only(&plan, "vpc-flow-logs", "vpc/main", true);
        let mut plan = japancart_with("vpc/flow-log", |f: &mut FlowLog| {
            f.vpc_id = "vpc-0123".into()
        });
        plan.resources
            .iter_mut()
            .filter(|r| r.address == "vpc/main")
            .for_each(|r| r.action = Action::NoOp);
        assert!(check(&plan).is_empty());
        // A flow log being deleted is no evidence.
        let mut plan = japancart("dev", false);
        plan.resources
            .iter_mut()
            .filter(|r| r.address == "vpc/flow-log")
            .for_each(|r| r.action = Action::Delete);
        only(&plan, "vpc-flow-logs", "vpc/main", true);
    }

    #[test]
    fn an_unmanaged_or_open_default_security_group() {
        let v = only(
            &without(japancart("dev", false), "vpc/default-sg"),
            "default-security-group-closed",
            "vpc/main",
            true,
        );
        assert!(v.remediation.contains("`default-security-group = closed`"));
        let plan = japancart_with("vpc/default-sg", |g: &mut DefaultSecurityGroup| {
            g.egress = vec![SecurityGroupRule {
                protocol: IpProtocol::All,
                from_port: 0,
                to_port: 0,
                cidr_blocks: vec!["0.0.0.0/0".into()],
                description: String::new(),
            }]
        });
        let v = only(
            &plan,
            "default-security-group-closed",
            "vpc/default-sg",
            true,
        );
        assert!(
            v.message.contains("1 egress (`egress`) rule"),
            "{}",
            v.message
        );
    }

    #[test]
    fn log_retention_under_a_year_or_forever() {
        let plan = japancart_with("vpc/flow-logs", |g: &mut LogGroup| g.retention_days = 30);
        let v = only(&plan, "log-retention", "vpc/flow-logs", true);
        assert!(
            v.message.contains("30 days (`retention-days`)"),
            "{}",
            v.message
        );
        assert!(v.remediation.contains("`log-retention-days = 365`"));
        let plan = japancart_with("vpc/flow-logs", |g: &mut LogGroup| g.retention_days = 0);
        let v = only(&plan, "log-retention", "vpc/flow-logs", false);
        assert!(v.message.contains("forever"));
        let plan = japancart_with("vpc/flow-logs", |g: &mut LogGroup| g.retention_days = 731);
        assert!(check(&plan).is_empty());
    }

    #[test]
    fn a_log_group_without_a_kms_key_is_advisory() {
        let plan = japancart_with("vpc/flow-logs", |g: &mut LogGroup| g.kms_key_id = None);
        let v = only(&plan, "log-group-kms", "vpc/flow-logs", false);
        assert!(v.message.ends_with("(Checkov CKV_AWS_158)."));
        assert!(v.remediation.contains("`log-kms-key = create`"));
    }

    /// Mutable access to one kind's spec inside a [`ResourceSpec`].
    trait TryIntoMut<'a, T> {
        fn try_into_mut(self) -> Option<&'a mut T>;
    }

    macro_rules! try_into_mut {
        ($($kind:ident),*) => {$(
            impl<'a> TryIntoMut<'a, $kind> for &'a mut ResourceSpec {
                fn try_into_mut(self) -> Option<&'a mut $kind> {
                    match self {
                        ResourceSpec::$kind(s) => Some(s),
                        _ => None,
                    }
                }
            }
        )*};
    }

    try_into_mut!(
        CacheReplicationGroup,
        DbInstance,
        FlowLog,
        DefaultSecurityGroup,
        LogGroup
    );
}
