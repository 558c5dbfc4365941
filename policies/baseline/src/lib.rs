//! The security baseline: a policy plugin that encodes the Security and Cost sections
//! of the JapanCart reference. `docs/policies.md` explains every rule and why it exists.
//!
//! | Rule | Severity | A violation is |
//! |---|---|---|
//! | `encryption-at-rest` | mandatory | a Kinesis stream or SNS topic without `kms-key-id`, a Redis group without `at-rest-encryption`, a database without `storage-encrypted`, an S3 bucket without `default-encryption` |
//! | `s3-block-public-access` | mandatory | an S3 bucket without `block-public-access` |
//! | `redis-transit-encryption` | mandatory | a Redis group without `transit-encryption` |
//! | `private-data-stores` | mandatory | a publicly accessible database; a cache or DB subnet group with a public subnet |
//! | `ingress-restricted` | mandatory on data ports, advisory elsewhere | a security-group ingress rule open to `0.0.0.0/0` or `::/0`, or to any block outside the VPC |
//! | `backup-retention` | mandatory | a database keeping automated backups fewer than 7 days |
//! | `multi-az` | mandatory | a database without `multi-az`; a Redis group without `multi-az`, `automatic-failover` and two nodes |
//! | `allowed-instance-classes` | mandatory | a database or cache node class not in [`ALLOWED_DB_CLASSES`] / [`ALLOWED_CACHE_NODE_TYPES`] |
//! | `no-nat-gateway` | mandatory | a route to anything but an internet gateway (a NAT gateway) |
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
//!   can prove.
//!
//! # Layout
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
             backups, Multi-AZ, small instance classes, no NAT gateway."
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
    out
}

/// The resources of a plan that will exist after apply (every action but delete).
pub struct Plan<'a> {
    live: BTreeMap<&'a str, &'a PlannedResource>,
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
        Plan { live }
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

#[cfg(test)]
mod coverage {
    use super::*;

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
            let v = check(&view(vec![
                r("n/vpc", vpc()),
                r("n/sg", sg(reference("n/vpc", "id"), inside(cidr))),
            ]));
            let want: Vec<_> = want
                .map(|m| ("ingress-restricted".to_string(), "n/sg".to_string(), m))
                .into_iter()
                .collect();
            assert_eq!(found(&v), want, "{cidr}");
        }
        // A literal VPC id: any VPC of the plan; none: the private ranges.
        let v = check(&view(vec![
            r("n/vpc", vpc()),
            r("n/sg", sg("vpc-123".into(), inside("10.0.0.0/24"))),
        ]));
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
}
