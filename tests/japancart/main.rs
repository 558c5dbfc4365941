//! The JapanCart plugins, run through the real runtime.
//!
//! Builds the six guest plugins of `plugins/`, loads each in the sandboxed runtime,
//! calls `declare` with a stack context, merges the declarations into a validated
//! [`Graph`], and checks every property the reference stack promises (issue 3):
//! encryption, Multi-AZ, node count, retention, engine version, ingress limited to
//! the VPC CIDR and one port, data stores on private subnets, alarms with their
//! dimensions and SNS actions, the stack outputs, names with the environment suffix
//! and the common tags; and the hardening the stack adds by default
//! (docs/japancart.md, "Hardened by default"): the Redis AUTH token read from a
//! secret whose generated value ElastiCache accepts, customer-managed keys for Redis
//! and the database, the database's IAM authentication, log exports, tags on
//! snapshots, deletion protection outside `dev` and the master password kept by RDS,
//! the log groups (names, retention, key), the VPC flow log and its least-privilege
//! role, and the VPC's default security group emptied of rules.
//!
//! The checks live in one function, [`check_japancart`], that returns every failure
//! it finds instead of panicking, so that `broken_copies_fail_the_checks` can run it
//! on deliberately broken copies of the declarations and prove that each check can
//! fail.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use engine_core::model::*;
use engine_core::schema::AttrType;
use engine_core::{Address, Context, Declaration, Graph, Kind};
use engine_runtime::{Limits, Runtime};

mod golden;

/// The plugins, in the order they are loaded (any order must work).
const PLUGINS: [&str; 6] = [
    "vpc",
    "kinesis",
    "secrets",
    "elasticache",
    "rds",
    "monitoring",
];

/// The whole stack with the default config: address and kind, sorted by address.
const EXPECTED_RESOURCES: &[(&str, &str)] = &[
    ("elasticache/key", "kms-key"),
    ("elasticache/key-alias", "kms-alias"),
    ("elasticache/redis", "cache-replication-group"),
    ("elasticache/sg", "security-group"),
    ("elasticache/subnet-group", "cache-subnet-group"),
    ("kinesis/key", "kms-key"),
    ("kinesis/key-alias", "kms-alias"),
    ("kinesis/transactions", "kinesis-stream"),
    ("monitoring/alarms", "sns-topic"),
    ("monitoring/key", "kms-key"),
    ("monitoring/key-alias", "kms-alias"),
    ("monitoring/kinesis-iterator-age", "metric-alarm"),
    ("monitoring/kinesis-write-throttled", "metric-alarm"),
    ("monitoring/rds-connections", "metric-alarm"),
    ("monitoring/rds-cpu", "metric-alarm"),
    ("monitoring/rds-free-storage", "metric-alarm"),
    ("monitoring/redis-cpu-001", "metric-alarm"),
    ("monitoring/redis-cpu-002", "metric-alarm"),
    ("monitoring/redis-memory-001", "metric-alarm"),
    ("monitoring/redis-memory-002", "metric-alarm"),
    ("rds/key", "kms-key"),
    ("rds/key-alias", "kms-alias"),
    ("rds/monitoring-role", "iam-role"),
    ("rds/postgres", "db-instance"),
    ("rds/postgresql-logs", "log-group"),
    ("rds/sg", "security-group"),
    ("rds/subnet-group", "db-subnet-group"),
    ("rds/upgrade-logs", "log-group"),
    ("secrets/key", "kms-key"),
    ("secrets/key-alias", "kms-alias"),
    ("secrets/redis-auth", "secret"),
    ("vpc/default-sg", "default-security-group"),
    ("vpc/endpoint-sg", "security-group"),
    ("vpc/flow-log", "flow-log"),
    ("vpc/flow-logs", "log-group"),
    ("vpc/flow-logs-role", "iam-role"),
    ("vpc/flow-logs-write", "iam-role-policy"),
    ("vpc/igw", "internet-gateway"),
    ("vpc/kinesis-endpoint", "vpc-endpoint"),
    ("vpc/logs-key", "kms-key"),
    ("vpc/logs-key-alias", "kms-alias"),
    ("vpc/main", "vpc"),
    ("vpc/private-a", "subnet"),
    ("vpc/private-a-rta", "route-table-association"),
    ("vpc/private-b", "subnet"),
    ("vpc/private-b-rta", "route-table-association"),
    ("vpc/private-rt", "route-table"),
    ("vpc/public-a", "subnet"),
    ("vpc/public-a-rta", "route-table-association"),
    ("vpc/public-b", "subnet"),
    ("vpc/public-b-rta", "route-table-association"),
    ("vpc/public-default-route", "route"),
    ("vpc/public-rt", "route-table"),
];

/// The outputs the reference README names, exactly.
const REQUIRED_OUTPUTS: [&str; 10] = [
    "vpc_id",
    "kinesis_stream_name",
    "kinesis_stream_arn",
    "redis_endpoint",
    "redis_port",
    "rds_endpoint",
    "rds_port",
    "db_secret_arn",
    "elasticache_security_group_id",
    "rds_security_group_id",
];

/// The outputs the stack adds to the reference's.
const EXTRA_OUTPUTS: [&str; 3] = [
    "redis_ttl_seconds",
    "alarm_topic_arn",
    "redis_auth_secret_arn",
];

const ENHANCED_MONITORING_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole";

/// The database master user (config `db-username`).
const DB_USERNAME: &str = "japancart_admin";

/// Days the stack's log groups are kept (config `log-retention-days`).
const LOG_RETENTION_DAYS: u32 = 365;

/// The PostgreSQL logs RDS publishes to CloudWatch Logs (config `rds-log-exports`).
const RDS_LOG_EXPORTS: [&str; 2] = ["postgresql", "upgrade"];

/// The only punctuation ElastiCache accepts in an AUTH token, besides letters and
/// digits (`AuthToken` in
/// <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html>).
const AUTH_TOKEN_PUNCTUATION: &str = "!&#$^<>-";

/// The service that delivers VPC flow logs, which the flow logs' role must trust.
const FLOW_LOGS_SERVICE: &str = "vpc-flow-logs.amazonaws.com";

// ---------------------------------------------------------------------------------
// Running the plugins.

fn components() -> PathBuf {
    engine_build::build_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins"))
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("japancart-code-cache");
        Runtime::new(Limits::default(), Some(cache)).expect("the runtime starts")
    })
}

fn context(environment: &str, region: &str, config: &[(&str, &str)]) -> Context {
    Context {
        stack: "japancart".into(),
        region: region.into(),
        environment: environment.into(),
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Every plugin's declaration, or every plugin error (one per line).
fn declare(ctx: &Context) -> Result<Vec<Declaration>, String> {
    let dir = components();
    let mut decls = Vec::new();
    let mut errors = Vec::new();
    for name in PLUGINS {
        let mut plugin = runtime()
            .load(&dir.join(format!("{name}.wasm")))
            .unwrap_or_else(|e| panic!("loading {name}: {e}"));
        assert_eq!(plugin.name(), name, "the plugin's name is its crate's");
        match plugin.declare(ctx) {
            Ok(d) => decls.push(d),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(decls)
    } else {
        Err(errors.join("\n"))
    }
}

fn declare_ok(ctx: &Context) -> Vec<Declaration> {
    declare(ctx).unwrap_or_else(|e| panic!("declare failed:\n{e}"))
}

fn build(decls: &[Declaration]) -> Graph {
    Graph::build(decls).unwrap_or_else(|diags| {
        panic!(
            "the stack does not validate:\n{}",
            diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

// ---------------------------------------------------------------------------------
// The checks.

/// What the checks expect from the context.
struct Expect {
    environment: String,
    region: String,
    azs: [String; 2],
    vpc_cidr: String,
    /// The database refuses deletion: off in `dev`, on elsewhere.
    deletion_protection: bool,
    /// `db-password = "stack-secret"`: the stack's secret holds the master
    /// password, not RDS.
    stack_secret: bool,
}

impl Expect {
    /// The defaults for `environment` in `region`.
    fn new(environment: &str, region: &str) -> Expect {
        Expect {
            environment: environment.into(),
            region: region.into(),
            azs: [format!("{region}a"), format!("{region}b")],
            vpc_cidr: "10.0.0.0/16".into(),
            deletion_protection: environment != "dev",
            stack_secret: false,
        }
    }

    /// The defaults with `db-password = "stack-secret"`.
    fn stack_secret(environment: &str, region: &str) -> Expect {
        Expect {
            stack_secret: true,
            ..Expect::new(environment, region)
        }
    }
}

/// Failures found so far.
#[derive(Default)]
struct Report(Vec<String>);

impl Report {
    fn check(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(message());
        }
    }
}

/// A read-only view of the merged declarations.
struct View<'a> {
    resources: BTreeMap<String, &'a Resource>,
    outputs: BTreeMap<&'a str, &'a Output>,
}

impl<'a> View<'a> {
    fn new(decls: &'a [Declaration]) -> View<'a> {
        View {
            resources: decls
                .iter()
                .flat_map(|d| &d.resources)
                .map(|r| (r.address.to_string(), r))
                .collect(),
            outputs: decls
                .iter()
                .flat_map(|d| &d.outputs)
                .map(|o| (o.name.as_str(), o))
                .collect(),
        }
    }

    fn of_kind(&self, kind: Kind) -> Vec<&'a Resource> {
        self.resources
            .values()
            .copied()
            .filter(|r| r.spec.kind() == kind)
            .collect()
    }

    /// The one resource of `kind`, or a failure.
    fn one(&self, kind: Kind, report: &mut Report) -> Option<&'a Resource> {
        let all = self.of_kind(kind);
        report.check(all.len() == 1, || {
            format!("expected exactly one {kind}, found {}", all.len())
        });
        (all.len() == 1).then(|| all[0])
    }

    /// The resource a reference points at, if it is one.
    fn target(&self, text: &Text) -> Option<&'a Resource> {
        match text {
            Text::Ref(r) => self.resources.get(&r.resource.to_string()).copied(),
            Text::Literal(_) => None,
        }
    }
}

/// `text` is a reference to `attribute` of `target`.
fn refers(text: &Text, target: &Resource, attribute: &str) -> bool {
    matches!(text, Text::Ref(r) if r.resource == target.address && r.attribute == attribute)
}

fn output_refers(value: &OutputValue, target: &Resource, attribute: &str) -> bool {
    matches!(value, OutputValue::Ref(r) if r.resource == target.address && r.attribute == attribute)
}

fn show(text: &Text) -> String {
    match text {
        Text::Literal(s) => format!("`{s}`"),
        Text::Ref(r) => format!("({r})"),
    }
}

/// A parsed IPv4 CIDR block: (network, prefix).
fn cidr(s: &str) -> Option<(u32, u32)> {
    let (addr, prefix) = s.split_once('/')?;
    let prefix: u32 = prefix.parse().ok().filter(|p| *p <= 32)?;
    let octets: Vec<u8> = addr
        .split('.')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    let [a, b, c, d] = octets[..] else {
        return None;
    };
    Some((u32::from_be_bytes([a, b, c, d]), prefix))
}

fn cidr_contains(outer: &str, inner: &str) -> bool {
    match (cidr(outer), cidr(inner)) {
        (Some((on, op)), Some((inn, ip))) => {
            let mask = if op == 0 { 0 } else { u32::MAX << (32 - op) };
            ip >= op && inn & mask == on
        }
        _ => false,
    }
}

/// Checks everything issue 3 asks of the declared stack; returns the failures.
fn check_japancart(decls: &[Declaration], x: &Expect) -> Vec<String> {
    let mut report = Report::default();
    let view = View::new(decls);
    let graph = match Graph::build(decls) {
        Ok(g) => Some(g),
        Err(diags) => {
            for d in diags {
                report.0.push(format!("the stack does not validate: {d}"));
            }
            None
        }
    };
    check_names_and_tags(&view, x, &mut report);
    let network = check_network(&view, x, &mut report);
    check_default_sg(&view, network.as_ref(), &mut report);
    check_flow_log(&view, x, network.as_ref(), &mut report);
    check_log_groups(&view, graph.as_ref(), x, &mut report);
    check_kinesis(&view, &mut report);
    check_secrets(&view, x, &mut report);
    check_redis(&view, network.as_ref(), &mut report);
    check_redis_auth(&view, &mut report);
    check_rds(&view, x, network.as_ref(), &mut report);
    check_db_password(&view, x, &mut report);
    check_alarms(&view, graph.as_ref(), &mut report);
    check_outputs(&view, x, &mut report);
    check_wiring(graph.as_ref(), x, &mut report);
    report.0
}

/// `name` carries the environment suffix: it ends with it, or, for a log group
/// whose name AWS dictates (`/aws/rds/instance/ID/LOG`), one of its path segments
/// does.
fn carries_suffix(kind: Kind, name: &str, suffix: &str) -> bool {
    name.ends_with(suffix)
        || (kind == Kind::LogGroup && name.split('/').any(|part| part.ends_with(suffix)))
}

/// Every AWS name ends with the environment suffix (a log group's name whose form
/// AWS dictates carries it in a path segment), and IAM role names carry the region;
/// everything that takes tags has the common tags and a `Name` with the suffix.
fn check_names_and_tags(view: &View, x: &Expect, report: &mut Report) {
    let suffix = format!("-{}", x.environment);
    for (address, r) in &view.resources {
        let props = r.spec.properties();
        let kind = r.spec.kind();
        if let Some(prop) = kind.schema().name_property {
            let name = props[prop].as_str().unwrap_or_default();
            report.check(carries_suffix(kind, name, &suffix), || {
                format!(
                    "{address}: name `{name}` does not end with the environment suffix `{suffix}`"
                )
            });
            // IAM names are global to the account: the same environment in two
            // regions must not want the same role.
            if kind == Kind::IamRole {
                let region = format!("-{}-", x.region);
                report.check(name.contains(&region), || {
                    format!(
                        "{address}: IAM role name `{name}` does not carry the region `{}` \
                         (IAM names are global to the account)",
                        x.region
                    )
                });
            }
        }
        let Some(tags) = props.get("tags").and_then(|t| t.as_array()) else {
            continue;
        };
        let tag = |k: &str| {
            tags.iter()
                .find(|t| t["key"] == k)
                .and_then(|t| t["value"].as_str())
                .map(String::from)
        };
        for (key, want) in [
            ("project", Some("japancart")),
            ("environment", Some(x.environment.as_str())),
            ("managed-by", Some("engine")),
        ] {
            report.check(tag(key).as_deref() == want, || {
                format!(
                    "{address}: tag `{key}` is {:?}, expected {want:?}",
                    tag(key)
                )
            });
        }
        report.check(
            tag("Name").is_some_and(|n| carries_suffix(kind, &n, &suffix)),
            || {
                format!(
                    "{address}: tag `Name` is {:?}, expected one ending with `{suffix}`",
                    tag("Name")
                )
            },
        );
    }
}

/// What the network check learns, for the data-store checks.
struct Network<'a> {
    vpc: &'a Resource,
    private_subnets: BTreeSet<String>,
}

fn check_network<'a>(view: &View<'a>, x: &Expect, report: &mut Report) -> Option<Network<'a>> {
    let vpc_r = view.one(Kind::Vpc, report)?;
    let Spec::Vpc(vpc) = &vpc_r.spec else {
        unreachable!()
    };
    report.check(vpc.cidr_block == x.vpc_cidr, || {
        format!("VPC CIDR is {}, expected {}", vpc.cidr_block, x.vpc_cidr)
    });
    report.check(vpc.enable_dns_support && vpc.enable_dns_hostnames, || {
        "the VPC must have DNS support and DNS host names".into()
    });
    let igw = view.one(Kind::InternetGateway, report);
    if let Some(Spec::InternetGateway(g)) = igw.map(|r| &r.spec) {
        report.check(refers(&g.vpc_id, vpc_r, "id"), || {
            "the internet gateway is not attached to the VPC".into()
        });
    }

    // Route tables with a default route (through the internet gateway) are public.
    let mut internet_tables = BTreeSet::new();
    let mut tables_with_routes = BTreeSet::new();
    for r in view.of_kind(Kind::Route) {
        let Spec::Route(route) = &r.spec else {
            unreachable!()
        };
        let table = view
            .target(&route.route_table_id)
            .map(|t| t.address.to_string());
        tables_with_routes.extend(table.clone());
        let via_igw = igw.is_some_and(|g| refers(&route.gateway_id, g, "id"));
        report.check(via_igw, || {
            format!(
                "{}: route does not go through the internet gateway",
                r.address
            )
        });
        if route.destination_cidr_block == "0.0.0.0/0" && via_igw {
            internet_tables.extend(table);
        }
    }
    report.check(!internet_tables.is_empty(), || {
        "no route table has a default route to the internet gateway".into()
    });

    let mut table_of: BTreeMap<String, String> = BTreeMap::new();
    for r in view.of_kind(Kind::RouteTableAssociation) {
        let Spec::RouteTableAssociation(a) = &r.spec else {
            unreachable!()
        };
        if let (Some(t), Some(s)) = (view.target(&a.route_table_id), view.target(&a.subnet_id)) {
            let previous = table_of.insert(s.address.to_string(), t.address.to_string());
            report.check(previous.is_none(), || {
                format!("{}: subnet associated twice", s.address)
            });
        } else {
            report.0.push(format!(
                "{}: association does not reference a table and a subnet",
                r.address
            ));
        }
    }

    let mut public_azs = BTreeSet::new();
    let mut private_azs = BTreeSet::new();
    let mut private_subnets = BTreeSet::new();
    let mut blocks: Vec<(String, String)> = Vec::new();
    for r in view.of_kind(Kind::Subnet) {
        let Spec::Subnet(s) = &r.spec else {
            unreachable!()
        };
        let address = r.address.to_string();
        report.check(refers(&s.vpc_id, vpc_r, "id"), || {
            format!("{address}: not in the VPC")
        });
        report.check(cidr_contains(&vpc.cidr_block, &s.cidr_block), || {
            format!(
                "{address}: block {} is not inside the VPC block {}",
                s.cidr_block, vpc.cidr_block
            )
        });
        for (other, block) in &blocks {
            report.check(
                !cidr_contains(block, &s.cidr_block) && !cidr_contains(&s.cidr_block, block),
                || {
                    format!(
                        "{address}: block {} overlaps {other}'s {block}",
                        s.cidr_block
                    )
                },
            );
        }
        blocks.push((address.clone(), s.cidr_block.clone()));
        let Some(table) = table_of.get(&address) else {
            report
                .0
                .push(format!("{address}: subnet has no route table association"));
            continue;
        };
        if internet_tables.contains(table) {
            report.check(s.map_public_ip_on_launch, || {
                format!("{address}: public subnet does not map public IPs")
            });
            report.check(public_azs.insert(s.availability_zone.clone()), || {
                format!("{address}: two public subnets in {}", s.availability_zone)
            });
        } else {
            report.check(!tables_with_routes.contains(table), || {
                format!(
                    "{address}: private subnet's route table {table} has routes beyond the \
                     local one"
                )
            });
            report.check(!s.map_public_ip_on_launch, || {
                format!("{address}: private subnet maps public IPs")
            });
            report.check(private_azs.insert(s.availability_zone.clone()), || {
                format!("{address}: two private subnets in {}", s.availability_zone)
            });
            private_subnets.insert(address);
        }
    }
    let azs: BTreeSet<String> = x.azs.iter().cloned().collect();
    report.check(public_azs == azs, || {
        format!("public subnets are in {public_azs:?}, expected {azs:?}")
    });
    report.check(private_azs == azs, || {
        format!("private subnets are in {private_azs:?}, expected {azs:?}")
    });

    if let Some(ep_r) = view.one(Kind::VpcEndpoint, report) {
        let Spec::VpcEndpoint(ep) = &ep_r.spec else {
            unreachable!()
        };
        let service = format!("com.amazonaws.{}.kinesis-streams", x.region);
        report.check(ep.service_name == service, || {
            format!(
                "the VPC endpoint is for {}, expected {service}",
                ep.service_name
            )
        });
        report.check(
            ep.endpoint_type == VpcEndpointType::Interface && ep.private_dns_enabled,
            || "the Kinesis endpoint must be an interface endpoint with private DNS".into(),
        );
        report.check(refers(&ep.vpc_id, vpc_r, "id"), || {
            "the Kinesis endpoint is not in the VPC".into()
        });
        let subnets: BTreeSet<String> = ep
            .subnet_ids
            .iter()
            .filter_map(|s| view.target(s))
            .map(|t| t.address.to_string())
            .collect();
        report.check(
            subnets == private_subnets && subnets.len() == ep.subnet_ids.len(),
            || {
                format!(
                    "the Kinesis endpoint is in subnets {subnets:?}, expected the private ones \
                 {private_subnets:?}"
                )
            },
        );
        report.check(ep.security_group_ids.len() == 1, || {
            "the Kinesis endpoint needs one security group".into()
        });
        for sg in &ep.security_group_ids {
            check_sg_only(view, sg, vpc_r, 443, "Kinesis endpoint", report);
        }
    }
    Some(Network {
        vpc: vpc_r,
        private_subnets,
    })
}

/// The security group `sg` lets in TCP `port` from the VPC's block and nothing
/// else, and lets nothing out.
fn check_sg_only(
    view: &View,
    sg: &Text,
    vpc: &Resource,
    port: u16,
    what: &str,
    report: &mut Report,
) {
    let Some(Spec::SecurityGroup(g)) = view.target(sg).map(|r| &r.spec) else {
        report.0.push(format!(
            "{what}: security group {} is not a declared security group",
            show(sg)
        ));
        return;
    };
    report.check(refers(&g.vpc_id, vpc, "id"), || {
        format!("{what}: security group is not in the VPC")
    });
    report.check(g.ingress.len() == 1, || {
        format!(
            "{what}: security group has {} ingress rules, expected one",
            g.ingress.len()
        )
    });
    for rule in &g.ingress {
        report.check(
            rule.protocol == IpProtocol::Tcp && rule.from_port == port && rule.to_port == port,
            || {
                format!(
                    "{what}: ingress allows {} ports {}-{}, expected tcp {port} only",
                    rule.protocol, rule.from_port, rule.to_port
                )
            },
        );
        report.check(
            rule.cidr_blocks.len() == 1 && refers(&rule.cidr_blocks[0], vpc, "cidr-block"),
            || {
                let from: Vec<String> = rule.cidr_blocks.iter().map(show).collect();
                format!("{what}: ingress is from {from:?}, expected the VPC CIDR only")
            },
        );
    }
    report.check(g.egress.is_empty(), || {
        format!("{what}: security group allows egress")
    });
}

/// The VPC's default security group is adopted and has no rules, so nothing put in
/// it by mistake is reachable or reaches out (CKV2_AWS_12).
fn check_default_sg(view: &View, net: Option<&Network>, report: &mut Report) {
    let Some(r) = view.one(Kind::DefaultSecurityGroup, report) else {
        return;
    };
    let Spec::DefaultSecurityGroup(g) = &r.spec else {
        unreachable!()
    };
    if let Some(net) = net {
        report.check(refers(&g.vpc_id, net.vpc, "id"), || {
            format!(
                "default security group: {} is not the VPC's",
                show(&g.vpc_id)
            )
        });
    }
    for (direction, rules) in [("ingress", &g.ingress), ("egress", &g.egress)] {
        report.check(rules.is_empty(), || {
            format!(
                "default security group: {} {direction} rules, expected none",
                rules.len()
            )
        });
    }
}

/// Whether a role's trust policy lets `service` assume the role, and whether it
/// lets anyone else (another service, an account, `*`) do so.
fn trust(policy: &str, service: &str) -> (bool, bool) {
    let doc: serde_json::Value = serde_json::from_str(policy).unwrap_or_default();
    let allows: Vec<&serde_json::Value> = doc["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    let only_service = |s: &serde_json::Value| match s["Principal"].as_object() {
        Some(p) if p.len() == 1 => match p.get("Service") {
            Some(serde_json::Value::String(x)) => x == service,
            Some(serde_json::Value::Array(a)) => a.len() == 1 && a[0] == service,
            _ => false,
        },
        _ => false,
    };
    let trusted = allows
        .iter()
        .any(|s| s["Action"] == "sts:AssumeRole" && only_service(s));
    let others = allows.iter().any(|s| !only_service(s));
    (trusted, others)
}

/// `arn` names the log group `group` or its streams (`...:log-group:NAME:*`), in a
/// partition and region: never `*`, nor another or every group.
fn names_log_group(arn: &str, group: &str) -> bool {
    arn.starts_with("arn:")
        && arn.split_once(":log-group:").is_some_and(|(_, rest)| {
            rest == group
                || rest == format!("{group}:*")
                || rest.starts_with(&format!("{group}:log-stream:"))
        })
}

/// The VPC's flow log (CKV2_AWS_11): all traffic of the VPC, into the stack's log
/// group, delivered through a role that only the flow logs service may assume and
/// that may write only to that group.
/// <https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html>
fn check_flow_log(view: &View, x: &Expect, net: Option<&Network>, report: &mut Report) {
    let Some(r) = view.one(Kind::FlowLog, report) else {
        return;
    };
    let Spec::FlowLog(f) = &r.spec else {
        unreachable!()
    };
    if let Some(net) = net {
        report.check(refers(&f.vpc_id, net.vpc, "id"), || {
            format!("flow log: records {}, not the VPC", show(&f.vpc_id))
        });
    }
    report.check(f.traffic_type == FlowLogTraffic::All, || {
        format!("flow log: records {} traffic, expected all", f.traffic_type)
    });
    report.check(f.max_aggregation_interval_seconds == 600, || {
        format!(
            "flow log: aggregation interval {} s, expected 600",
            f.max_aggregation_interval_seconds
        )
    });

    let group_name = format!("/aws/vpc/flow-logs/japancart-{}", x.environment);
    let group = view
        .target(&f.log_group_name)
        .filter(|g| g.spec.kind() == Kind::LogGroup && refers(&f.log_group_name, g, "name"));
    match group.map(|g| &g.spec) {
        Some(Spec::LogGroup(g)) => report.check(g.name == group_name, || {
            format!(
                "flow log: writes to log group `{}`, expected `{group_name}`",
                g.name
            )
        }),
        _ => report.0.push(format!(
            "flow log: log group {} is not a declared log group's name",
            show(&f.log_group_name)
        )),
    }

    let role = view
        .target(&f.deliver_logs_permission_arn)
        .filter(|t| refers(&f.deliver_logs_permission_arn, t, "arn"));
    let Some((role_r, Spec::IamRole(role))) = role.map(|t| (t, &t.spec)) else {
        report.0.push(format!(
            "flow log: delivers through {}, not a declared IAM role's ARN",
            show(&f.deliver_logs_permission_arn)
        ));
        return;
    };
    let (trusted, others) = trust(&role.assume_role_policy, FLOW_LOGS_SERVICE);
    report.check(trusted, || {
        format!("flow log: the role does not trust {FLOW_LOGS_SERVICE}")
    });
    report.check(!others, || {
        format!("flow log: the role trusts more than {FLOW_LOGS_SERVICE}")
    });
    report.check(role.managed_policy_arns.is_empty(), || {
        format!(
            "flow log: the role has managed policies {:?}; it may write only to its log group",
            role.managed_policy_arns
        )
    });

    // Its permissions: the inline policies attached to it by name.
    let policies: Vec<(&Resource, &IamRolePolicy)> = view
        .of_kind(Kind::IamRolePolicy)
        .into_iter()
        .filter_map(|p| match &p.spec {
            Spec::IamRolePolicy(policy) if refers(&policy.role_name, role_r, "name") => {
                Some((p, policy))
            }
            _ => None,
        })
        .collect();
    report.check(policies.len() == 1, || {
        format!(
            "flow log: the role has {} inline policies, expected one",
            policies.len()
        )
    });
    let mut actions = BTreeSet::new();
    let mut names_group = false;
    for (p, policy) in &policies {
        for statement in &policy.statements {
            for action in &statement.actions {
                report.check(!action.contains('*'), || {
                    format!("{}: allows `{action}`; expected named actions", p.address)
                });
                actions.insert(action.as_str());
            }
            for resource in &statement.resources {
                let ok = match resource {
                    Text::Ref(_) => group.is_some_and(|g| refers(resource, g, "arn")),
                    Text::Literal(arn) => names_log_group(arn, &group_name),
                };
                names_group |= ok;
                report.check(ok, || {
                    format!(
                        "{}: resource {} is not the flow logs' log group",
                        p.address,
                        show(resource)
                    )
                });
            }
        }
    }
    report.check(names_group, || {
        "flow log: the role's policy does not name its log group".into()
    });
    for needed in ["logs:CreateLogStream", "logs:PutLogEvents"] {
        report.check(actions.contains(needed), || {
            format!("flow log: the role may not {needed}")
        });
    }
}

/// Every log group: the expected names, kept a year, encrypted with the logs key
/// `vpc/logs-key` (a customer-managed key that CloudWatch Logs in the region may
/// use); and each log the database exports has its group, declared before the
/// instance, since RDS would otherwise create it itself, never expiring and
/// unencrypted (CKV_AWS_158, CKV_AWS_338).
fn check_log_groups(view: &View, graph: Option<&Graph>, x: &Expect, report: &mut Report) {
    let groups = view.of_kind(Kind::LogGroup);
    let name_of = |r: &Resource| match &r.spec {
        Spec::LogGroup(l) => l.name.clone(),
        _ => unreachable!(),
    };
    let names: BTreeSet<String> = groups.iter().map(|g| name_of(g)).collect();
    let instance = format!("japancart-postgres-{}", x.environment);
    let want: BTreeSet<String> =
        std::iter::once(format!("/aws/vpc/flow-logs/japancart-{}", x.environment))
            .chain(
                RDS_LOG_EXPORTS
                    .iter()
                    .map(|log| format!("/aws/rds/instance/{instance}/{log}")),
            )
            .collect();
    report.check(names == want && names.len() == groups.len(), || {
        format!("log groups are {names:?}, expected {want:?}")
    });
    let logs_service = format!("logs.{}.amazonaws.com", x.region);
    for g in &groups {
        let Spec::LogGroup(l) = &g.spec else {
            unreachable!()
        };
        let what = g.address.to_string();
        report.check(l.retention_days == LOG_RETENTION_DAYS, || {
            format!(
                "{what}: kept {} days, expected {LOG_RETENTION_DAYS}",
                l.retention_days
            )
        });
        let Some(key) = &l.kms_key_id else {
            report.0.push(format!(
                "{what}: not encrypted with a customer-managed KMS key (CloudWatch Logs' own)"
            ));
            continue;
        };
        check_cmk(view, key, &what, report);
        // CloudWatch Logs takes the key's ARN (AssociateKmsKey), not its id.
        report.check(
            view.target(key)
                .is_some_and(|k| refers(key, k, "arn") && k.address == addr("vpc/logs-key")),
            || {
                format!(
                    "{what}: encrypted with {}, expected vpc/logs-key's ARN",
                    show(key)
                )
            },
        );
        if let Some(Spec::KmsKey(k)) = view.target(key).map(|r| &r.spec) {
            report.check(k.service_principals.contains(&logs_service), || {
                format!("{what}: its KMS key does not let {logs_service} use it")
            });
        }
    }

    let Some(db_r) = view.of_kind(Kind::DbInstance).first().copied() else {
        return;
    };
    let Spec::DbInstance(db) = &db_r.spec else {
        unreachable!()
    };
    for log in &db.cloudwatch_logs_exports {
        let name = format!("/aws/rds/instance/{}/{log}", db.identifier);
        let Some(g) = groups.iter().find(|g| name_of(g) == name) else {
            report.0.push(format!(
                "{}: exports `{log}` logs, but no log group `{name}` is declared",
                db_r.address
            ));
            continue;
        };
        if let Some(graph) = graph {
            report.check(
                graph
                    .dependencies
                    .get(&db_r.address)
                    .is_some_and(|d| d.contains(&g.address)),
                || {
                    format!(
                        "{}: not ordered after its log group {} (RDS would create it first, \
                         kept for ever)",
                        db_r.address, g.address
                    )
                },
            );
        }
    }
}

/// A customer-managed key with rotation and an alias.
fn check_cmk(view: &View, key: &Text, what: &str, report: &mut Report) {
    let Some(key_r) = view.target(key).filter(|r| r.spec.kind() == Kind::KmsKey) else {
        report.0.push(format!(
            "{what}: not encrypted with a customer-managed KMS key (key is {})",
            show(key)
        ));
        return;
    };
    if let Spec::KmsKey(k) = &key_r.spec {
        report.check(k.enable_key_rotation, || {
            format!("{what}: KMS key rotation is off")
        });
        report.check((7..=30).contains(&k.deletion_window_days), || {
            format!("{what}: bad deletion window")
        });
    }
    let aliased = view.of_kind(Kind::KmsAlias).iter().any(|a| match &a.spec {
        Spec::KmsAlias(al) => {
            refers(&al.target_key_id, key_r, "id") && al.name.starts_with("alias/")
        }
        _ => false,
    });
    report.check(aliased, || {
        format!("{what}: the KMS key {} has no alias", key_r.address)
    });
}

fn check_kinesis(view: &View, report: &mut Report) {
    let Some(r) = view.one(Kind::KinesisStream, report) else {
        return;
    };
    let Spec::KinesisStream(s) = &r.spec else {
        unreachable!()
    };
    report.check(s.shard_count == 1, || {
        format!("kinesis: {} shards, expected 1", s.shard_count)
    });
    report.check(s.retention_period_hours == 24, || {
        format!(
            "kinesis: retention {} h, expected 24",
            s.retention_period_hours
        )
    });
    match &s.kms_key_id {
        Some(key) => check_cmk(view, key, "kinesis stream", report),
        None => report
            .0
            .push("kinesis stream: not encrypted at rest".into()),
    }
    for m in [
        "IncomingRecords",
        "IteratorAgeMilliseconds",
        "WriteProvisionedThroughputExceeded",
    ] {
        report.check(
            s.shard_level_metrics.iter().any(|x| x == m || x == "ALL"),
            || format!("kinesis: enhanced shard-level metric {m} is off"),
        );
    }
}

/// The secret the Redis AUTH token is read from, if it is a declared secret's ARN.
fn redis_auth_secret<'a>(view: &View<'a>) -> Option<&'a Resource> {
    let r = view.of_kind(Kind::CacheReplicationGroup).first().copied()?;
    let Spec::CacheReplicationGroup(g) = &r.spec else {
        unreachable!()
    };
    let token = g.auth_token.as_ref()?;
    view.target(&token.secret_id)
        .filter(|s| s.spec.kind() == Kind::Secret && refers(&token.secret_id, s, "arn"))
}

/// The secret the database's master password is read from, if any.
fn db_secret<'a>(view: &View<'a>) -> Option<&'a Resource> {
    let r = view.of_kind(Kind::DbInstance).first().copied()?;
    let Spec::DbInstance(db) = &r.spec else {
        unreachable!()
    };
    let password = db.master_password.as_ref()?;
    view.target(&password.secret_id)
        .filter(|s| s.spec.kind() == Kind::Secret)
}

/// The stack's secrets are the ones something reads: the Redis AUTH token's, and
/// the database credentials' only when the stack keeps them (by default RDS keeps
/// the password in a secret of its own).
fn check_secrets(view: &View, x: &Expect, report: &mut Report) {
    let used: BTreeSet<&Address> = [redis_auth_secret(view), db_secret(view)]
        .into_iter()
        .flatten()
        .map(|s| &s.address)
        .collect();
    let secrets = view.of_kind(Kind::Secret);
    for s in &secrets {
        report.check(used.contains(&s.address), || {
            format!("{}: a secret nothing reads", s.address)
        });
    }
    let want = 1 + usize::from(x.stack_secret);
    report.check(secrets.len() == want, || {
        format!(
            "{} secrets, expected {want} (the Redis AUTH token{})",
            secrets.len(),
            if x.stack_secret {
                " and the database credentials"
            } else {
                "; RDS keeps the database password"
            }
        )
    });
}

/// What every secret of the stack needs: a customer-managed key, and a recovery
/// window Secrets Manager accepts.
fn check_secret_basics(view: &View, s: &Secret, what: &str, report: &mut Report) {
    match &s.kms_key_id {
        Some(key) => check_cmk(view, key, what, report),
        None => report.0.push(format!(
            "{what}: not encrypted with a customer-managed KMS key"
        )),
    }
    report.check(
        s.recovery_window_days == 0 || (7..=30).contains(&s.recovery_window_days),
        || format!("{what}: recovery window must be 0 or 7 to 30 days"),
    );
}

/// Redis requires an AUTH token (CKV_AWS_31), which the host reads at apply time
/// from the stack's secret (key `password`); the value it generates there is one
/// ElastiCache accepts: 16 to 128 characters of letters, digits and only
/// `!&#$^<>-` as punctuation.
fn check_redis_auth(view: &View, report: &mut Report) {
    let Some(r) = view.of_kind(Kind::CacheReplicationGroup).first().copied() else {
        return;
    };
    let Spec::CacheReplicationGroup(g) = &r.spec else {
        unreachable!()
    };
    let Some(token) = &g.auth_token else {
        report
            .0
            .push("redis: no AUTH token: any client in the VPC may connect".into());
        return;
    };
    report.check(token.key == "password", || {
        format!(
            "redis: AUTH token is the secret's `{}`, expected its `password`",
            token.key
        )
    });
    let Some(Spec::Secret(s)) = redis_auth_secret(view).map(|s| &s.spec) else {
        report.0.push(format!(
            "redis: AUTH token is read from {}, not a stack secret's ARN",
            show(&token.secret_id)
        ));
        return;
    };
    let what = "redis auth secret";
    report.check((16..=128).contains(&s.password.length), || {
        format!(
            "{what}: token of {} characters; ElastiCache takes 16 to 128",
            s.password.length
        )
    });
    let excluded = &s.password.exclude_characters;
    for c in (b' '..=b'~').map(char::from) {
        if c.is_ascii_alphanumeric() {
            report.check(!excluded.contains(c), || {
                format!("{what}: excludes {c:?}; letters and digits make the token's strength")
            });
        } else {
            report.check(
                excluded.contains(c) || AUTH_TOKEN_PUNCTUATION.contains(c),
                || format!("{what}: token may contain {c:?}, which ElastiCache refuses"),
            );
        }
    }
    check_secret_basics(view, s, what, report);
}

/// The subnets `ids` are exactly the private subnets.
fn check_private(view: &View, ids: &[Text], net: &Network, what: &str, report: &mut Report) {
    let got: BTreeSet<String> = ids
        .iter()
        .filter_map(|s| view.target(s))
        .map(|t| t.address.to_string())
        .collect();
    report.check(got == net.private_subnets && ids.len() == got.len(), || {
        format!(
            "{what}: subnets are {got:?}, expected the private subnets {:?}",
            net.private_subnets
        )
    });
}

fn check_redis(view: &View, net: Option<&Network>, report: &mut Report) {
    let Some(r) = view.one(Kind::CacheReplicationGroup, report) else {
        return;
    };
    let Spec::CacheReplicationGroup(g) = &r.spec else {
        unreachable!()
    };
    report.check(g.node_type == "cache.t3.micro", || {
        format!("redis: node type {}", g.node_type)
    });
    report.check(g.num_cache_clusters == 2, || {
        format!("redis: {} nodes, expected 2", g.num_cache_clusters)
    });
    report.check(g.multi_az, || "redis: not multi-az".into());
    report.check(g.automatic_failover, || {
        "redis: no automatic failover".into()
    });
    report.check(g.at_rest_encryption, || {
        "redis: not encrypted at rest".into()
    });
    report.check(g.transit_encryption, || {
        "redis: not encrypted in transit".into()
    });
    // At rest with a customer-managed key (CKV_AWS_191), not ElastiCache's own.
    match &g.kms_key_id {
        Some(key) => check_cmk(view, key, "redis", report),
        None => report.0.push(
            "redis: not encrypted with a customer-managed KMS key (ElastiCache's own)".into(),
        ),
    }
    report.check(g.port == 6379, || format!("redis: port {}", g.port));
    let Some(net) = net else { return };
    match view.target(&g.subnet_group_name).map(|t| (t, &t.spec)) {
        Some((t, Spec::CacheSubnetGroup(sg))) if refers(&g.subnet_group_name, t, "name") => {
            check_private(view, &sg.subnet_ids, net, "redis subnet group", report)
        }
        _ => report
            .0
            .push("redis: subnet group is not a declared cache subnet group".into()),
    }
    report.check(g.security_group_ids.len() == 1, || {
        "redis: expected one security group".into()
    });
    for sg in &g.security_group_ids {
        check_sg_only(view, sg, net.vpc, 6379, "redis", report);
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn check_rds(view: &View, x: &Expect, net: Option<&Network>, report: &mut Report) {
    let Some(r) = view.one(Kind::DbInstance, report) else {
        return;
    };
    let Spec::DbInstance(db) = &r.spec else {
        unreachable!()
    };
    report.check(db.engine == "postgres" && db.engine_version == "15", || {
        format!(
            "rds: engine {} {}, expected postgres 15",
            db.engine, db.engine_version
        )
    });
    report.check(db.instance_class == "db.t3.micro", || {
        format!("rds: class {}", db.instance_class)
    });
    report.check(db.multi_az, || "rds: not multi-az".into());
    report.check(db.storage_encrypted, || "rds: storage not encrypted".into());
    match &db.kms_key_id {
        Some(key) => check_cmk(view, key, "rds storage", report),
        None => report
            .0
            .push("rds storage: not encrypted with a customer-managed KMS key (aws/rds)".into()),
    }
    // The hardening (docs/japancart.md, "Hardened by default"): IAM authentication
    // (CKV_AWS_161), log exports (CKV_AWS_129), tags on snapshots (CKV2_AWS_60),
    // deletion protection outside `dev` (CKV_AWS_293).
    report.check(db.iam_database_authentication, || {
        "rds: IAM database authentication is off".into()
    });
    let exports: BTreeSet<&str> = db
        .cloudwatch_logs_exports
        .iter()
        .map(String::as_str)
        .collect();
    report.check(
        exports == BTreeSet::from(RDS_LOG_EXPORTS)
            && exports.len() == db.cloudwatch_logs_exports.len(),
        || {
            format!(
                "rds: exports logs {:?}, expected {RDS_LOG_EXPORTS:?}",
                db.cloudwatch_logs_exports
            )
        },
    );
    report.check(db.copy_tags_to_snapshot, || {
        "rds: tags are not copied to snapshots".into()
    });
    report.check(db.deletion_protection == x.deletion_protection, || {
        format!(
            "rds: deletion protection is {}, expected {} in `{}`",
            on_off(db.deletion_protection),
            on_off(x.deletion_protection),
            x.environment
        )
    });
    report.check(!db.skip_final_snapshot, || {
        "rds: destroy skips the final snapshot".into()
    });
    report.check(!db.publicly_accessible, || {
        "rds: publicly accessible".into()
    });
    report.check(db.backup_retention_days == 7, || {
        format!(
            "rds: backup retention {} days, expected 7",
            db.backup_retention_days
        )
    });
    report.check(db.port == 5432, || format!("rds: port {}", db.port));
    report.check(db.monitoring_interval_seconds == 60, || {
        format!(
            "rds: enhanced monitoring interval {} s, expected 60",
            db.monitoring_interval_seconds
        )
    });
    match db
        .monitoring_role_arn
        .as_ref()
        .and_then(|t| view.target(t).map(|r| (t, r)))
    {
        Some((t, role_r)) if refers(t, role_r, "arn") => {
            if let Spec::IamRole(role) = &role_r.spec {
                let (trusted, _) = trust(&role.assume_role_policy, "monitoring.rds.amazonaws.com");
                report.check(trusted, || {
                    "rds: the monitoring role does not trust monitoring.rds.amazonaws.com".into()
                });
                report.check(
                    role.managed_policy_arns == [ENHANCED_MONITORING_POLICY],
                    || {
                        format!(
                            "rds: the monitoring role has policies {:?}",
                            role.managed_policy_arns
                        )
                    },
                );
            } else {
                report
                    .0
                    .push("rds: the monitoring role is not an IAM role".into());
            }
        }
        _ => report
            .0
            .push("rds: enhanced monitoring has no role declared in the stack".into()),
    }
    let Some(net) = net else { return };
    match view.target(&db.db_subnet_group_name).map(|t| (t, &t.spec)) {
        Some((t, Spec::DbSubnetGroup(sg))) if refers(&db.db_subnet_group_name, t, "name") => {
            check_private(view, &sg.subnet_ids, net, "rds subnet group", report)
        }
        _ => report
            .0
            .push("rds: subnet group is not a declared DB subnet group".into()),
    }
    report.check(db.vpc_security_group_ids.len() == 1, || {
        "rds: expected one security group".into()
    });
    for sg in &db.vpc_security_group_ids {
        check_sg_only(view, sg, net.vpc, 5432, "rds", report);
    }
}

/// Who keeps the database master password. By default RDS (CKV2_AWS_57): it
/// generates and rotates the password in a secret of its own, encrypted with the
/// stack's secrets key, and the master user is the literal `japancart_admin`. With
/// `db-password = "stack-secret"` the stack's secret holds both, read by reference,
/// and its generated password is one RDS accepts.
fn check_db_password(view: &View, x: &Expect, report: &mut Report) {
    let Some(db_r) = view.of_kind(Kind::DbInstance).first().copied() else {
        return;
    };
    let Spec::DbInstance(db) = &db_r.spec else {
        unreachable!()
    };
    if !x.stack_secret {
        report.check(db.manage_master_user_password, || {
            "rds: master password is not managed by RDS".into()
        });
        if let Some(p) = &db.master_password {
            report.0.push(format!(
                "rds: master password is read from {}; RDS should keep it",
                show(&p.secret_id)
            ));
        }
        report.check(
            db.master_username == Text::Literal(DB_USERNAME.into()),
            || {
                format!(
                    "rds: master user name is {}, expected `{DB_USERNAME}`",
                    show(&db.master_username)
                )
            },
        );
        let what = "rds managed secret";
        match &db.master_user_secret_kms_key_id {
            Some(key) => {
                check_cmk(view, key, what, report);
                // The key of the stack's other secrets, whose alias says what it is for.
                let secrets_key = redis_auth_secret(view).and_then(|s| match &s.spec {
                    Spec::Secret(s) => s.kms_key_id.as_ref().and_then(|k| view.target(k)),
                    _ => None,
                });
                if let Some(secrets_key) = secrets_key {
                    report.check(
                        view.target(key)
                            .is_some_and(|k| k.address == secrets_key.address),
                        || {
                            format!(
                                "{what}: encrypted with {}, not the secrets' key {}",
                                show(key),
                                secrets_key.address
                            )
                        },
                    );
                }
            }
            None => report.0.push(format!(
                "{what}: not encrypted with a customer-managed KMS key (aws/secretsmanager)"
            )),
        }
        return;
    }

    report.check(!db.manage_master_user_password, || {
        "rds: RDS manages the master password, but the stack's secret should hold it".into()
    });
    if let Some(key) = &db.master_user_secret_kms_key_id {
        report.0.push(format!(
            "rds: master-user-secret-kms-key-id is {}, but RDS keeps no secret",
            show(key)
        ));
    }
    let (Some(secret_r), Some(password)) = (db_secret(view), &db.master_password) else {
        report
            .0
            .push("rds: no secret holds the master credentials".into());
        return;
    };
    report.check(refers(&db.master_username, secret_r, "username"), || {
        format!(
            "rds: master user name is {}, not the secret's `username`",
            show(&db.master_username)
        )
    });
    report.check(
        refers(&password.secret_id, secret_r, "arn") && password.key == "password",
        || "rds: master password is not the secret's `password`".into(),
    );
    let Spec::Secret(s) = &secret_r.spec else {
        unreachable!()
    };
    report.check(s.username == DB_USERNAME, || {
        format!(
            "secret: user name `{}`, expected `{DB_USERNAME}`",
            s.username
        )
    });
    report.check(s.password.length >= 16, || {
        format!(
            "secret: password of {} characters is too short",
            s.password.length
        )
    });
    for c in ['/', '@', '"', ' '] {
        report.check(s.password.exclude_characters.contains(c), || {
            format!("secret: password may contain {c:?}, which RDS refuses")
        });
    }
    check_secret_basics(view, s, "secret", report);
}

/// One alarm the stack must have.
struct WantAlarm {
    namespace: &'static str,
    metric: &'static str,
    dimension: &'static str,
    value: Text,
    above: bool,
    threshold: f64,
}

fn check_alarms(view: &View, graph: Option<&Graph>, report: &mut Report) {
    let Some(topic_r) = view.one(Kind::SnsTopic, report) else {
        return;
    };
    let Spec::SnsTopic(topic) = &topic_r.spec else {
        unreachable!()
    };
    match &topic.kms_key_id {
        Some(key) => {
            check_cmk(view, key, "alarm topic", report);
            // CloudWatch publishes to the encrypted topic only if its key admits it.
            if let Some(Spec::KmsKey(k)) = view.target(key).map(|r| &r.spec) {
                report.check(
                    k.service_principals
                        .iter()
                        .any(|s| s == "cloudwatch.amazonaws.com"),
                    || "alarm topic: its KMS key does not let CloudWatch publish".to_string(),
                );
            }
        }
        None => report.0.push("alarm topic: not encrypted".into()),
    }
    let reference = |r: &Resource, attribute: &str| {
        Text::Ref(Reference {
            resource: r.address.clone(),
            attribute: attribute.into(),
        })
    };
    let mut want = Vec::new();
    let mut add = |namespace, metric, dimension, value: Text, above, threshold| {
        want.push(WantAlarm {
            namespace,
            metric,
            dimension,
            value,
            above,
            threshold,
        })
    };
    if let Some(s) = view.of_kind(Kind::KinesisStream).first() {
        add(
            "AWS/Kinesis",
            "GetRecords.IteratorAgeMilliseconds",
            "StreamName",
            reference(s, "name"),
            true,
            60_000.0,
        );
        add(
            "AWS/Kinesis",
            "WriteProvisionedThroughputExceeded",
            "StreamName",
            reference(s, "name"),
            true,
            0.0,
        );
    }
    if let Some(Spec::CacheReplicationGroup(g)) = view
        .of_kind(Kind::CacheReplicationGroup)
        .first()
        .map(|r| &r.spec)
    {
        // ElastiCache publishes per member cluster: `<group-id>-001`, `-002`, ...
        for i in 1..=g.num_cache_clusters {
            let member = Text::Literal(format!("{}-{i:03}", g.id));
            add(
                "AWS/ElastiCache",
                "EngineCPUUtilization",
                "CacheClusterId",
                member.clone(),
                true,
                80.0,
            );
            add(
                "AWS/ElastiCache",
                "DatabaseMemoryUsagePercentage",
                "CacheClusterId",
                member,
                true,
                80.0,
            );
        }
    }
    if let Some(db) = view.of_kind(Kind::DbInstance).first() {
        let id = reference(db, "id");
        add(
            "AWS/RDS",
            "CPUUtilization",
            "DBInstanceIdentifier",
            id.clone(),
            true,
            80.0,
        );
        add(
            "AWS/RDS",
            "FreeStorageSpace",
            "DBInstanceIdentifier",
            id.clone(),
            false,
            2.0 * 1024.0 * 1024.0 * 1024.0,
        );
        add(
            "AWS/RDS",
            "DatabaseConnections",
            "DBInstanceIdentifier",
            id,
            true,
            80.0,
        );
    }
    let alarms = view.of_kind(Kind::MetricAlarm);
    for w in &want {
        let matching: Vec<&&Resource> = alarms
            .iter()
            .filter(|a| {
                matches!(&a.spec, Spec::MetricAlarm(m) if m.namespace == w.namespace
                    && m.metric_name == w.metric
                    && m.dimensions.len() == 1
                    && m.dimensions[0].name == w.dimension
                    && m.dimensions[0].value == w.value)
            })
            .collect();
        report.check(matching.len() == 1, || {
            format!(
                "alarms: {} alarms on {}/{} {}={}, expected one",
                matching.len(),
                w.namespace,
                w.metric,
                w.dimension,
                show(&w.value)
            )
        });
        for a in matching {
            let Spec::MetricAlarm(m) = &a.spec else {
                unreachable!()
            };
            let above = matches!(
                m.comparison_operator,
                ComparisonOperator::GreaterThanThreshold
                    | ComparisonOperator::GreaterThanOrEqualToThreshold
            );
            report.check(above == w.above && m.threshold == w.threshold, || {
                format!(
                    "{}: fires when {} {} {}, expected {} {}",
                    a.address,
                    w.metric,
                    m.comparison_operator,
                    m.threshold,
                    if w.above { "above" } else { "below" },
                    w.threshold
                )
            });
            if w.namespace == "AWS/ElastiCache"
                && let (Some(g), Some(redis)) =
                    (graph, view.of_kind(Kind::CacheReplicationGroup).first())
            {
                report.check(g.dependencies[&a.address].contains(&redis.address), || {
                    format!("{}: not ordered after {}", a.address, redis.address)
                });
            }
        }
    }
    report.check(alarms.len() == want.len(), || {
        format!("{} alarms, expected {}", alarms.len(), want.len())
    });
    for a in &alarms {
        let Spec::MetricAlarm(m) = &a.spec else {
            unreachable!()
        };
        report.check(
            !m.alarm_actions.is_empty()
                && m.alarm_actions.iter().all(|t| refers(t, topic_r, "arn")),
            || {
                format!(
                    "{}: alarm actions {:?} are not the alarm topic",
                    a.address,
                    m.alarm_actions.iter().map(show).collect::<Vec<_>>()
                )
            },
        );
        report.check(m.period_seconds >= 60 && m.evaluation_periods >= 1, || {
            format!(
                "{}: period {} s x {}",
                a.address, m.period_seconds, m.evaluation_periods
            )
        });
    }
}

fn check_outputs(view: &View, x: &Expect, report: &mut Report) {
    for name in REQUIRED_OUTPUTS
        .into_iter()
        .chain(["redis_auth_secret_arn"])
    {
        report.check(view.outputs.contains_key(name), || {
            format!("output `{name}` is missing")
        });
    }
    let mut expect = |name: &str, target: Option<&Resource>, attribute: &str| {
        let Some(target) = target else { return };
        let Some(o) = view.outputs.get(name) else {
            return;
        };
        report.check(output_refers(&o.value, target, attribute), || {
            format!(
                "output `{name}` is {:?}, expected {}.{attribute}",
                o.value, target.address
            )
        });
    };
    let first = |k: Kind| view.of_kind(k).first().copied();
    let redis = first(Kind::CacheReplicationGroup);
    let db = first(Kind::DbInstance);
    let stream = first(Kind::KinesisStream);
    let redis_sg = match redis.map(|r| &r.spec) {
        Some(Spec::CacheReplicationGroup(g)) => {
            g.security_group_ids.first().and_then(|t| view.target(t))
        }
        _ => None,
    };
    let db_sg = match db.map(|r| &r.spec) {
        Some(Spec::DbInstance(d)) => d
            .vpc_security_group_ids
            .first()
            .and_then(|t| view.target(t)),
        _ => None,
    };
    expect("vpc_id", first(Kind::Vpc), "id");
    expect("kinesis_stream_name", stream, "name");
    expect("kinesis_stream_arn", stream, "arn");
    expect("redis_endpoint", redis, "primary-endpoint");
    expect("redis_port", redis, "port");
    expect("rds_endpoint", db, "endpoint");
    expect("rds_port", db, "port");
    // The database credentials: RDS's secret by default, else the stack's.
    if x.stack_secret {
        expect("db_secret_arn", db_secret(view), "arn");
    } else {
        expect("db_secret_arn", db, "master-user-secret-arn");
    }
    expect("redis_auth_secret_arn", redis_auth_secret(view), "arn");
    expect("elasticache_security_group_id", redis_sg, "id");
    expect("rds_security_group_id", db_sg, "id");
    expect("alarm_topic_arn", first(Kind::SnsTopic), "arn");
    // Ports are numbers in `engine output --json`: the host types `port` as one.
    for (name, kind) in [
        ("redis_port", Kind::CacheReplicationGroup),
        ("rds_port", Kind::DbInstance),
    ] {
        if let Some(OutputValue::Ref(r)) = view.outputs.get(name).map(|o| &o.value) {
            report.check(
                kind.attribute(&r.attribute) == Some(AttrType::Number),
                || {
                    format!(
                        "output `{name}` refers to `{}`, which is not a number",
                        r.attribute
                    )
                },
            );
        }
    }
    report.check(
        view.outputs.get("redis_ttl_seconds").map(|o| &o.value)
            == Some(&OutputValue::Number(86_400)),
        || "output `redis_ttl_seconds` is not the number 86400 (24 hours)".into(),
    );
}

/// Cross-plugin wiring is by reference, so the host derives the order.
fn check_wiring(graph: Option<&Graph>, x: &Expect, report: &mut Report) {
    let Some(g) = graph else { return };
    // The database's password: RDS's secret is encrypted with the secrets' key, the
    // stack's secret is read at apply time.
    let password = if x.stack_secret {
        ("rds/postgres", "secrets/db-credentials")
    } else {
        ("rds/postgres", "secrets/key")
    };
    for (from, to) in [
        password,
        ("rds/postgres", "rds/key"),
        ("rds/postgres", "rds/postgresql-logs"),
        ("rds/postgres", "rds/upgrade-logs"),
        ("rds/postgresql-logs", "vpc/logs-key"),
        ("rds/upgrade-logs", "vpc/logs-key"),
        ("elasticache/redis", "secrets/redis-auth"),
        ("elasticache/redis", "elasticache/key"),
        ("secrets/redis-auth", "secrets/key"),
        ("vpc/flow-logs", "vpc/logs-key"),
        ("vpc/flow-log", "vpc/main"),
        ("vpc/flow-log", "vpc/flow-logs"),
        ("vpc/flow-log", "vpc/flow-logs-role"),
        // Delivery needs the role allowed to write first.
        ("vpc/flow-log", "vpc/flow-logs-write"),
        ("vpc/flow-logs-write", "vpc/flow-logs-role"),
        ("vpc/flow-logs-write", "vpc/flow-logs"),
        ("vpc/default-sg", "vpc/main"),
        ("rds/subnet-group", "vpc/private-a"),
        ("rds/subnet-group", "vpc/private-b"),
        ("rds/sg", "vpc/main"),
        ("elasticache/subnet-group", "vpc/private-a"),
        ("elasticache/subnet-group", "vpc/private-b"),
        ("elasticache/sg", "vpc/main"),
        ("monitoring/kinesis-iterator-age", "kinesis/transactions"),
        ("monitoring/rds-cpu", "rds/postgres"),
    ] {
        let (from, to) = (addr(from), addr(to));
        report.check(
            g.dependencies.get(&from).is_some_and(|d| d.contains(&to)),
            || format!("{from} does not depend on {to}"),
        );
    }
}

fn addr(s: &str) -> Address {
    Address::parse(s).expect("a valid address")
}

fn assert_passes(decls: &[Declaration], x: &Expect) {
    let failures = check_japancart(decls, x);
    assert!(
        failures.is_empty(),
        "the stack fails {} checks:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Asserts that `decls` fail the checks of `x` with each of `expected` (parts of
/// the failures' text), whatever else they fail.
fn assert_fails_with(decls: &[Declaration], x: &Expect, expected: &[&str]) {
    let failures = check_japancart(decls, x).join("\n");
    for f in expected {
        assert!(failures.contains(f), "`{f}` not in:\n{failures}");
    }
}

// ---------------------------------------------------------------------------------
// Tests.

#[test]
fn declares_the_japancart_stack() {
    let ctx = context("dev", "us-east-1", &[]);
    let decls = declare_ok(&ctx);
    assert_passes(&decls, &Expect::new("dev", "us-east-1"));

    let graph = build(&decls);
    let got: Vec<(String, &str)> = graph
        .resources
        .iter()
        .map(|(a, r)| (a.to_string(), r.spec.kind().as_str()))
        .collect();
    let want: Vec<(String, &str)> = EXPECTED_RESOURCES
        .iter()
        .map(|(a, k)| (a.to_string(), *k))
        .collect();
    assert_eq!(got, want, "the declared resources");

    let mut outputs: Vec<&str> = graph.outputs.keys().map(String::as_str).collect();
    outputs.sort();
    let mut expected: Vec<&str> = REQUIRED_OUTPUTS
        .iter()
        .copied()
        .chain(EXTRA_OUTPUTS)
        .collect();
    expected.sort();
    assert_eq!(outputs, expected, "the stack outputs");
    // RDS keeps the password, so the rds plugin, not the secrets plugin, publishes
    // its secret.
    let publishers: Vec<&str> = decls
        .iter()
        .filter(|d| d.outputs.iter().any(|o| o.name == "db_secret_arn"))
        .map(|d| d.plugin.as_str())
        .collect();
    assert_eq!(publishers, ["rds"]);

    // Stable: the same declarations and order every time.
    let again = declare_ok(&ctx);
    assert_eq!(decls, again, "declare is deterministic");
    let order = |g: &Graph| g.order().iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let first = order(&graph);
    assert_eq!(first, order(&build(&again)));
    assert_eq!(first.len(), EXPECTED_RESOURCES.len());
    let pos = |a: &str| {
        first
            .iter()
            .position(|x| x == a)
            .unwrap_or_else(|| panic!("{a} not ordered"))
    };
    assert!(
        pos("vpc/main") < pos("vpc/private-a") && pos("vpc/private-a") < pos("rds/subnet-group")
    );
    assert!(pos("secrets/key") < pos("rds/postgres"));
    assert!(pos("rds/key") < pos("rds/postgres"));
    assert!(pos("vpc/logs-key") < pos("rds/postgresql-logs"));
    assert!(pos("rds/postgresql-logs") < pos("rds/postgres"));
    assert!(pos("rds/upgrade-logs") < pos("rds/postgres"));
    assert!(pos("rds/postgres") < pos("monitoring/rds-cpu"));
    assert!(pos("secrets/redis-auth") < pos("elasticache/redis"));
    assert!(pos("elasticache/key") < pos("elasticache/redis"));
    assert!(pos("elasticache/redis") < pos("monitoring/redis-cpu-001"));
    assert!(pos("vpc/flow-logs") < pos("vpc/flow-log"));
    assert!(pos("vpc/flow-logs-role") < pos("vpc/flow-log"));
    assert!(pos("vpc/main") < pos("vpc/default-sg"));
}

#[test]
fn environment_and_region_change_names_and_azs() {
    let dev = declare_ok(&context("dev", "us-east-1", &[]));
    let prod = declare_ok(&context("prod", "eu-west-1", &[]));
    assert_passes(&prod, &Expect::new("prod", "eu-west-1"));
    build(&prod);

    // Nothing of `dev` or `us-east-1` is left in the prod stack.
    let text = serde_json::to_string(
        &prod
            .iter()
            .flat_map(|d| &d.resources)
            .map(|r| r.spec.properties())
            .collect::<Vec<_>>(),
    )
    .expect("serialisable");
    assert!(
        !text.contains("-dev") && !text.contains("\"dev\"") && !text.contains("us-east-1"),
        "{text}"
    );
    // Every AWS name changed.
    let names = |decls: &[Declaration]| -> BTreeSet<String> {
        decls
            .iter()
            .flat_map(|d| &d.resources)
            .filter_map(|r| {
                let prop = r.spec.kind().schema().name_property?;
                r.spec.properties()[prop].as_str().map(String::from)
            })
            .collect()
    };
    assert!(names(&dev).is_disjoint(&names(&prod)));
    assert_eq!(names(&dev).len(), names(&prod).len());

    // The dev expectations do not hold for prod: the checks see the difference.
    let failures = check_japancart(&prod, &Expect::new("dev", "us-east-1")).join("\n");
    assert!(
        failures.contains("does not end with the environment suffix `-dev`"),
        "{failures}"
    );
    assert!(
        failures.contains("subnets are in {\"eu-west-1a\", \"eu-west-1b\"}"),
        "{failures}"
    );
    assert!(
        failures.contains("expected com.amazonaws.us-east-1.kinesis-streams"),
        "{failures}"
    );
    // Deletion protection: off in dev, on in prod, and the checks tell them apart.
    assert!(!get::<DbInstance>(&dev, "rds/postgres").deletion_protection);
    assert!(get::<DbInstance>(&prod, "rds/postgres").deletion_protection);
    assert!(
        failures.contains("rds: deletion protection is on, expected off in `dev`"),
        "{failures}"
    );
    let failures = check_japancart(&dev, &Expect::new("prod", "us-east-1")).join("\n");
    assert!(
        failures.contains("rds: deletion protection is off, expected on in `prod`"),
        "{failures}"
    );
    // The log groups and the logs key follow the environment and the region.
    let group = get::<LogGroup>(&prod, "rds/postgresql-logs");
    assert_eq!(
        group.name,
        "/aws/rds/instance/japancart-postgres-prod/postgresql"
    );
    assert_eq!(
        get::<KmsKey>(&prod, "vpc/logs-key").service_principals,
        ["logs.eu-west-1.amazonaws.com"]
    );
    assert_eq!(
        get::<IamRole>(&prod, "vpc/flow-logs-role").name,
        "japancart-flow-logs-eu-west-1-prod"
    );

    // AZs and CIDRs can be overridden by config.
    let tokyo = declare_ok(&context(
        "staging",
        "ap-northeast-1",
        &[
            ("availability-zones", "ap-northeast-1c, ap-northeast-1d"),
            ("vpc-cidr", "10.20.0.0/16"),
        ],
    ));
    let mut x = Expect::new("staging", "ap-northeast-1");
    x.azs = ["ap-northeast-1c".into(), "ap-northeast-1d".into()];
    x.vpc_cidr = "10.20.0.0/16".into();
    assert_passes(&tokyo, &x);
    let subnet_blocks: BTreeSet<String> = tokyo
        .iter()
        .flat_map(|d| &d.resources)
        .filter_map(|r| match &r.spec {
            Spec::Subnet(s) => Some(s.cidr_block.clone()),
            _ => None,
        })
        .collect();
    let want: BTreeSet<String> = [
        "10.20.1.0/24",
        "10.20.2.0/24",
        "10.20.11.0/24",
        "10.20.12.0/24",
    ]
    .map(String::from)
    .into();
    assert_eq!(subnet_blocks, want);
}

/// Finds the spec at `address` in a copy of the declarations.
fn spec_mut<'a>(decls: &'a mut [Declaration], address: &str) -> &'a mut Spec {
    decls
        .iter_mut()
        .flat_map(|d| d.resources.iter_mut())
        .find(|r| r.address.to_string() == address)
        .map(|r| &mut r.spec)
        .unwrap_or_else(|| panic!("no resource {address}"))
}

fn output_mut<'a>(decls: &'a mut [Declaration], name: &str) -> &'a mut Output {
    decls
        .iter_mut()
        .flat_map(|d| d.outputs.iter_mut())
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no output {name}"))
}

fn lit(s: &str) -> Text {
    Text::Literal(s.into())
}

fn r(s: &str) -> Text {
    Text::Ref(parse_ref(s).expect("a valid reference"))
}

fn resource_mut<'a>(decls: &'a mut [Declaration], address: &str) -> &'a mut Resource {
    decls
        .iter_mut()
        .flat_map(|d| d.resources.iter_mut())
        .find(|r| r.address.to_string() == address)
        .unwrap_or_else(|| panic!("no resource {address}"))
}

/// Removes the resource at `address`.
fn remove(address: &'static str) -> impl Fn(&mut Vec<Declaration>) {
    move |d: &mut Vec<Declaration>| {
        for decl in d.iter_mut() {
            decl.resources.retain(|r| r.address.to_string() != address);
        }
    }
}

/// Adds a route through the internet gateway to the private route table.
fn add_private_route(destination: &'static str) -> impl Fn(&mut Vec<Declaration>) {
    move |d: &mut Vec<Declaration>| {
        let vpc = d
            .iter_mut()
            .find(|d| d.plugin == "vpc")
            .expect("the vpc plugin");
        vpc.resources.push(Resource {
            address: addr("vpc/private-extra-route"),
            spec: Spec::Route(Route {
                route_table_id: r("vpc/private-rt.id"),
                destination_cidr_block: destination.into(),
                gateway_id: r("vpc/igw.id"),
            }),
            depends_on: vec![],
        });
    }
}

/// Typed access to one kind's spec.
trait KindSpec: Sized {
    fn of(spec: &mut Spec) -> Option<&mut Self>;
}

macro_rules! kind_spec {
    ($($kind:ident),*) => {$(
        impl KindSpec for $kind {
            fn of(spec: &mut Spec) -> Option<&mut Self> {
                match spec {
                    Spec::$kind(x) => Some(x),
                    _ => None,
                }
            }
        }
    )*};
}

kind_spec!(
    Vpc,
    Subnet,
    SecurityGroup,
    VpcEndpoint,
    KmsKey,
    KmsAlias,
    KinesisStream,
    Secret,
    IamRole,
    CacheSubnetGroup,
    CacheReplicationGroup,
    DbSubnetGroup,
    DbInstance,
    SnsTopic,
    MetricAlarm,
    LogGroup,
    FlowLog,
    DefaultSecurityGroup,
    IamRolePolicy
);

/// The spec of kind `T` at `address` in a copy of the declarations.
fn at<'a, T: KindSpec>(decls: &'a mut [Declaration], address: &str) -> &'a mut T {
    T::of(spec_mut(decls, address))
        .unwrap_or_else(|| panic!("{address} is not a {}", std::any::type_name::<T>()))
}

fn stream(d: &mut [Declaration]) -> &mut KinesisStream {
    at(d, "kinesis/transactions")
}

fn redis(d: &mut [Declaration]) -> &mut CacheReplicationGroup {
    at(d, "elasticache/redis")
}

fn db(d: &mut [Declaration]) -> &mut DbInstance {
    at(d, "rds/postgres")
}

fn secret(d: &mut [Declaration]) -> &mut Secret {
    at(d, "secrets/db-credentials")
}

fn role(d: &mut [Declaration]) -> &mut IamRole {
    at(d, "rds/monitoring-role")
}

fn token(d: &mut [Declaration]) -> &mut Secret {
    at(d, "secrets/redis-auth")
}

fn flow_log(d: &mut [Declaration]) -> &mut FlowLog {
    at(d, "vpc/flow-log")
}

fn flow_logs_role(d: &mut [Declaration]) -> &mut IamRole {
    at(d, "vpc/flow-logs-role")
}

fn flow_logs_write(d: &mut [Declaration]) -> &mut IamRolePolicy {
    at(d, "vpc/flow-logs-write")
}

fn default_sg(d: &mut [Declaration]) -> &mut DefaultSecurityGroup {
    at(d, "vpc/default-sg")
}

/// A copy of the spec of kind `T` at `address`.
fn get<T: KindSpec + Clone>(decls: &[Declaration], address: &str) -> T {
    at::<T>(&mut decls.to_vec(), address).clone()
}

type Mutation = Box<dyn Fn(&mut Vec<Declaration>)>;

/// A broken copy: `mutate` breaks it, and the checks must report `expected`.
fn case(
    expected: &'static str,
    mutate: impl Fn(&mut Vec<Declaration>) + 'static,
) -> (&'static str, Mutation) {
    (expected, Box::new(mutate))
}

/// The broken copies of `decls` that `cases` make and that pass the checks
/// anyway, each with what the checks reported instead.
fn failing_copies(decls: &[Declaration], x: &Expect, cases: &[(&str, Mutation)]) -> Vec<String> {
    let mut missed = Vec::new();
    for (expected, mutate) in cases {
        let mut copy = decls.to_vec();
        mutate(&mut copy);
        assert_ne!(copy, decls, "the mutation for `{expected}` changed nothing");
        let failures = check_japancart(&copy, x);
        if !failures.iter().any(|f| f.contains(expected)) {
            missed.push(format!("`{expected}` not reported; got: {failures:#?}"));
        }
    }
    missed
}

#[test]
fn broken_copies_fail_the_checks() {
    let decls = declare_ok(&context("dev", "us-east-1", &[]));
    let x = Expect::new("dev", "us-east-1");
    assert_passes(&decls, &x);

    let cases: Vec<(&str, Mutation)> = vec![
        // Encryption.
        case("kinesis stream: not encrypted at rest", |d| {
            stream(d).kms_key_id = None
        }),
        case(
            "kinesis stream: not encrypted with a customer-managed KMS key",
            |d| stream(d).kms_key_id = Some(lit("alias/aws/kinesis")),
        ),
        case(
            "alarm topic: its KMS key does not let CloudWatch publish",
            |d| at::<KmsKey>(d, "monitoring/key").service_principals.clear(),
        ),
        case("kinesis stream: KMS key rotation is off", |d| {
            at::<KmsKey>(d, "kinesis/key").enable_key_rotation = false
        }),
        case(
            "kinesis stream: the KMS key kinesis/key has no alias",
            |d| at::<KmsAlias>(d, "kinesis/key-alias").target_key_id = r("secrets/key.id"),
        ),
        case("redis: not encrypted at rest", |d| {
            redis(d).at_rest_encryption = false
        }),
        case("redis: not encrypted in transit", |d| {
            redis(d).transit_encryption = false
        }),
        case("rds: storage not encrypted", |d| {
            db(d).storage_encrypted = false
        }),
        case("alarm topic: not encrypted", |d| {
            at::<SnsTopic>(d, "monitoring/alarms").kms_key_id = None
        }),
        // Availability, size, retention, versions.
        case("redis: not multi-az", |d| redis(d).multi_az = false),
        case("redis: no automatic failover", |d| {
            redis(d).automatic_failover = false
        }),
        case("redis: 1 nodes, expected 2", |d| {
            redis(d).num_cache_clusters = 1
        }),
        case("redis: node type cache.m5.large", |d| {
            redis(d).node_type = "cache.m5.large".into()
        }),
        case("rds: not multi-az", |d| db(d).multi_az = false),
        case("rds: backup retention 1 days, expected 7", |d| {
            db(d).backup_retention_days = 1
        }),
        case("rds: engine postgres 16.3, expected postgres 15", |d| {
            db(d).engine_version = "16.3".into()
        }),
        case("rds: class db.m5.large", |d| {
            db(d).instance_class = "db.m5.large".into()
        }),
        case("rds: publicly accessible", |d| {
            db(d).publicly_accessible = true
        }),
        case("rds: enhanced monitoring interval 0 s, expected 60", |d| {
            db(d).monitoring_interval_seconds = 0
        }),
        case(
            "rds: enhanced monitoring has no role declared in the stack",
            |d| db(d).monitoring_role_arn = None,
        ),
        case(
            "rds: the monitoring role does not trust monitoring.rds.amazonaws.com",
            |d| {
                let role = role(d);
                role.assume_role_policy = role.assume_role_policy.replace("monitoring.rds", "rds");
            },
        ),
        case("rds: the monitoring role has policies []", |d| {
            role(d).managed_policy_arns.clear()
        }),
        case("kinesis: 2 shards, expected 1", |d| {
            stream(d).shard_count = 2
        }),
        case("kinesis: retention 48 h, expected 24", |d| {
            stream(d).retention_period_hours = 48
        }),
        case(
            "kinesis: enhanced shard-level metric IteratorAgeMilliseconds is off",
            |d| stream(d).shard_level_metrics.clear(),
        ),
        // Credentials: RDS keeps the database password.
        case("rds: master password is not managed by RDS", |d| {
            db(d).manage_master_user_password = false
        }),
        case(
            "rds: master password is read from (secrets/redis-auth.arn)",
            |d| {
                db(d).master_password = Some(SecretValueRef {
                    secret_id: r("secrets/redis-auth.arn"),
                    key: "password".into(),
                })
            },
        ),
        case(
            "rds: master user name is `admin`, expected `japancart_admin`",
            |d| db(d).master_username = lit("admin"),
        ),
        case(
            "rds managed secret: not encrypted with a customer-managed KMS key",
            |d| db(d).master_user_secret_kms_key_id = None,
        ),
        case(
            "rds managed secret: encrypted with (rds/key.arn), not the secrets' key secrets/key",
            |d| db(d).master_user_secret_kms_key_id = Some(r("rds/key.arn")),
        ),
        case("secrets/stray: a secret nothing reads", |d| {
            let mut stray = resource_mut(d, "secrets/redis-auth").clone();
            stray.address = addr("secrets/stray");
            if let Spec::Secret(s) = &mut stray.spec {
                s.name = "japancart-stray-dev".into();
            }
            let secrets = d.iter_mut().find(|d| d.plugin == "secrets").unwrap();
            secrets.resources.push(stray);
        }),
        // The Redis AUTH token.
        case("redis: no AUTH token", |d| redis(d).auth_token = None),
        case(
            "redis: AUTH token is read from `arn:aws:secretsmanager:us-east-1:123456789012:\
             secret:other`, not a stack secret's ARN",
            |d| {
                redis(d).auth_token.as_mut().unwrap().secret_id =
                    lit("arn:aws:secretsmanager:us-east-1:123456789012:secret:other")
            },
        ),
        case(
            "redis: AUTH token is the secret's `username`, expected its `password`",
            |d| redis(d).auth_token.as_mut().unwrap().key = "username".into(),
        ),
        case(
            "redis auth secret: token of 8 characters; ElastiCache takes 16 to 128",
            |d| token(d).password.length = 8,
        ),
        case(
            "redis auth secret: token of 256 characters; ElastiCache takes 16 to 128",
            |d| token(d).password.length = 256,
        ),
        case(
            "redis auth secret: token may contain '%', which ElastiCache refuses",
            // RDS's policy, which lets through what ElastiCache refuses.
            |d| token(d).password.exclude_characters = "/@\" ".into(),
        ),
        case(
            "redis auth secret: token may contain ' ', which ElastiCache refuses",
            |d| token(d).password.exclude_characters.retain(|c| c != ' '),
        ),
        case("redis auth secret: excludes 'x'", |d| {
            token(d).password.exclude_characters.push('x')
        }),
        case(
            "redis auth secret: not encrypted with a customer-managed KMS key",
            |d| token(d).kms_key_id = None,
        ),
        case(
            "redis auth secret: recovery window must be 0 or 7 to 30 days",
            |d| token(d).recovery_window_days = 3,
        ),
        // Customer-managed keys for Redis and the database.
        case(
            "redis: not encrypted with a customer-managed KMS key",
            |d| redis(d).kms_key_id = None,
        ),
        case("redis: the KMS key elasticache/key has no alias", |d| {
            at::<KmsAlias>(d, "elasticache/key-alias").target_key_id = r("rds/key.id")
        }),
        case(
            "rds storage: not encrypted with a customer-managed KMS key",
            |d| db(d).kms_key_id = Some(lit("alias/aws/rds")),
        ),
        case("rds storage: KMS key rotation is off", |d| {
            at::<KmsKey>(d, "rds/key").enable_key_rotation = false
        }),
        // The database's hardening.
        case("rds: IAM database authentication is off", |d| {
            db(d).iam_database_authentication = false
        }),
        case(
            "rds: exports logs [\"postgresql\"], expected [\"postgresql\", \"upgrade\"]",
            |d| {
                db(d).cloudwatch_logs_exports.pop();
            },
        ),
        case("rds: tags are not copied to snapshots", |d| {
            db(d).copy_tags_to_snapshot = false
        }),
        case(
            "rds: deletion protection is on, expected off in `dev`",
            |d| db(d).deletion_protection = true,
        ),
        case("rds: destroy skips the final snapshot", |d| {
            db(d).skip_final_snapshot = true
        }),
        // Log groups.
        case("vpc/flow-logs: kept 30 days, expected 365", |d| {
            at::<LogGroup>(d, "vpc/flow-logs").retention_days = 30
        }),
        case("rds/upgrade-logs: kept 0 days, expected 365", |d| {
            at::<LogGroup>(d, "rds/upgrade-logs").retention_days = 0
        }),
        case(
            "rds/postgresql-logs: not encrypted with a customer-managed KMS key",
            |d| at::<LogGroup>(d, "rds/postgresql-logs").kms_key_id = None,
        ),
        case(
            "rds/upgrade-logs: encrypted with (rds/key.arn), expected vpc/logs-key's ARN",
            |d| at::<LogGroup>(d, "rds/upgrade-logs").kms_key_id = Some(r("rds/key.arn")),
        ),
        case(
            "vpc/flow-logs: encrypted with (vpc/logs-key.id), expected vpc/logs-key's ARN",
            |d| at::<LogGroup>(d, "vpc/flow-logs").kms_key_id = Some(r("vpc/logs-key.id")),
        ),
        case(
            "vpc/flow-logs: its KMS key does not let logs.us-east-1.amazonaws.com use it",
            |d| {
                at::<KmsKey>(d, "vpc/logs-key").service_principals =
                    vec!["logs.us-west-2.amazonaws.com".into()]
            },
        ),
        case("log groups are", |d| {
            at::<LogGroup>(d, "rds/postgresql-logs").name =
                "/aws/rds/instance/japancart-postgres-dev/postgres".into()
        }),
        case(
            "rds/postgres: exports `postgresql` logs, but no log group \
             `/aws/rds/instance/japancart-postgres-dev/postgresql` is declared",
            remove("rds/postgresql-logs"),
        ),
        case(
            "rds/postgres: not ordered after its log group rds/upgrade-logs",
            |d| resource_mut(d, "rds/postgres").depends_on.clear(),
        ),
        // The flow log and its role.
        case(
            "expected exactly one flow-log, found 0",
            remove("vpc/flow-log"),
        ),
        case(
            "flow log: records `vpc-0123456789abcdef0`, not the VPC",
            |d| flow_log(d).vpc_id = lit("vpc-0123456789abcdef0"),
        ),
        case("flow log: records reject traffic, expected all", |d| {
            flow_log(d).traffic_type = FlowLogTraffic::Reject
        }),
        case("flow log: aggregation interval 60 s, expected 600", |d| {
            flow_log(d).max_aggregation_interval_seconds = 60
        }),
        case(
            "flow log: log group `/aws/vpc/flow-logs/other` is not a declared log group's name",
            |d| flow_log(d).log_group_name = lit("/aws/vpc/flow-logs/other"),
        ),
        case(
            "flow log: writes to log group `/aws/vpc/flow-logs/japancart`, expected \
             `/aws/vpc/flow-logs/japancart-dev`",
            |d| at::<LogGroup>(d, "vpc/flow-logs").name = "/aws/vpc/flow-logs/japancart".into(),
        ),
        case(
            "flow log: delivers through `arn:aws:iam::123456789012:role/other`, not a declared \
             IAM role's ARN",
            |d| {
                flow_log(d).deliver_logs_permission_arn =
                    lit("arn:aws:iam::123456789012:role/other")
            },
        ),
        case(
            "flow log: the role does not trust vpc-flow-logs.amazonaws.com",
            |d| {
                let role = flow_logs_role(d);
                role.assume_role_policy = role.assume_role_policy.replace("vpc-flow-logs", "ec2");
            },
        ),
        case(
            "flow log: the role trusts more than vpc-flow-logs.amazonaws.com",
            |d| {
                let role = flow_logs_role(d);
                let mut policy: serde_json::Value =
                    serde_json::from_str(&role.assume_role_policy).unwrap();
                policy["Statement"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "sts:AssumeRole"
                    }));
                role.assume_role_policy = policy.to_string();
            },
        ),
        case("flow log: the role has managed policies", |d| {
            flow_logs_role(d)
                .managed_policy_arns
                .push("arn:aws:iam::aws:policy/CloudWatchLogsFullAccess".into())
        }),
        case(
            "flow log: the role has 0 inline policies, expected one",
            |d| flow_logs_write(d).role_name = r("rds/monitoring-role.name"),
        ),
        case(
            "vpc/flow-logs-write: resource `*` is not the flow logs' log group",
            |d| flow_logs_write(d).statements[0].resources.push(lit("*")),
        ),
        case(
            "flow log: the role's policy does not name its log group",
            |d| {
                flow_logs_write(d).statements[0].resources =
                    vec![lit("arn:aws:logs:us-east-1:*:log-group:*")]
            },
        ),
        case(
            "vpc/flow-logs-write: resource (kinesis/transactions.arn) is not the flow logs' \
             log group",
            |d| flow_logs_write(d).statements[0].resources[0] = r("kinesis/transactions.arn"),
        ),
        case(
            "vpc/flow-logs-write: allows `logs:*`; expected named actions",
            |d| flow_logs_write(d).statements[0].actions = vec!["logs:*".into()],
        ),
        case("flow log: the role may not logs:PutLogEvents", |d| {
            flow_logs_write(d).statements[0]
                .actions
                .retain(|a| a != "logs:PutLogEvents")
        }),
        // The default security group.
        case(
            "expected exactly one default-security-group, found 0",
            remove("vpc/default-sg"),
        ),
        case(
            "default security group: `sg-0123456789abcdef0` is not the VPC's",
            |d| default_sg(d).vpc_id = lit("sg-0123456789abcdef0"),
        ),
        case(
            "default security group: 1 ingress rules, expected none",
            |d| {
                let rule = at::<SecurityGroup>(d, "rds/sg").ingress[0].clone();
                default_sg(d).ingress.push(rule);
            },
        ),
        case(
            "default security group: 1 egress rules, expected none",
            |d| {
                default_sg(d).egress.push(SecurityGroupRule {
                    protocol: IpProtocol::All,
                    from_port: 0,
                    to_port: 0,
                    cidr_blocks: vec![lit("0.0.0.0/0")],
                    description: "everything out".into(),
                })
            },
        ),
        // Network isolation.
        case(
            "redis: ingress is from [\"`0.0.0.0/0`\"], expected the VPC CIDR only",
            |d| {
                at::<SecurityGroup>(d, "elasticache/sg").ingress[0].cidr_blocks =
                    vec![lit("0.0.0.0/0")]
            },
        ),
        case(
            "rds: ingress allows tcp ports 0-65535, expected tcp 5432 only",
            |d| {
                let rule = &mut at::<SecurityGroup>(d, "rds/sg").ingress[0];
                (rule.from_port, rule.to_port) = (0, 65535);
            },
        ),
        case(
            "rds: security group has 2 ingress rules, expected one",
            |d| {
                let sg = at::<SecurityGroup>(d, "rds/sg");
                sg.ingress.push(sg.ingress[0].clone());
            },
        ),
        case("redis: security group allows egress", |d| {
            let sg = at::<SecurityGroup>(d, "elasticache/sg");
            sg.egress = sg.ingress.clone();
        }),
        case("redis subnet group: subnets are", |d| {
            at::<CacheSubnetGroup>(d, "elasticache/subnet-group").subnet_ids[0] =
                r("vpc/public-a.id")
        }),
        case("rds subnet group: subnets are", |d| {
            at::<DbSubnetGroup>(d, "rds/subnet-group").subnet_ids.pop();
        }),
        case("the Kinesis endpoint is in subnets", |d| {
            at::<VpcEndpoint>(d, "vpc/kinesis-endpoint").subnet_ids[1] = r("vpc/public-b.id")
        }),
        case("vpc/private-a: private subnet maps public IPs", |d| {
            at::<Subnet>(d, "vpc/private-a").map_public_ip_on_launch = true
        }),
        case(
            "private subnet's route table vpc/private-rt has routes beyond the local one",
            add_private_route("10.99.0.0/16"),
        ),
        case(
            "redis subnet group: subnets are {\"vpc/private-a\", \"vpc/private-b\"}, \
             expected the private subnets {}",
            add_private_route("0.0.0.0/0"),
        ),
        case("private subnets are in {\"us-east-1a\"}", |d| {
            at::<Subnet>(d, "vpc/private-b").availability_zone = "us-east-1a".into()
        }),
        case("VPC CIDR is 10.1.0.0/16, expected 10.0.0.0/16", |d| {
            at::<Vpc>(d, "vpc/main").cidr_block = "10.1.0.0/16".into()
        }),
        case("the VPC must have DNS support and DNS host names", |d| {
            at::<Vpc>(d, "vpc/main").enable_dns_hostnames = false
        }),
        // Alarms.
        case(
            "alarms: 0 alarms on AWS/ElastiCache/EngineCPUUtilization \
             CacheClusterId=`japancart-redis-dev-002`",
            |d| {
                at::<MetricAlarm>(d, "monitoring/redis-cpu-002").dimensions[0].value =
                    lit("japancart-redis-dev")
            },
        ),
        case("alarms: 0 alarms on AWS/RDS/DatabaseConnections", |d| {
            at::<MetricAlarm>(d, "monitoring/rds-connections").dimensions[0].name =
                "DBClusterIdentifier".into()
        }),
        case(
            "alarms: 0 alarms on AWS/Kinesis/GetRecords.IteratorAgeMilliseconds",
            |d| {
                at::<MetricAlarm>(d, "monitoring/kinesis-iterator-age")
                    .dimensions
                    .clear()
            },
        ),
        case(
            "monitoring/rds-cpu: alarm actions [] are not the alarm topic",
            |d| {
                at::<MetricAlarm>(d, "monitoring/rds-cpu")
                    .alarm_actions
                    .clear()
            },
        ),
        case("monitoring/redis-memory-001: alarm actions", |d| {
            at::<MetricAlarm>(d, "monitoring/redis-memory-001").alarm_actions =
                vec![lit("arn:aws:sns:us-east-1:123456789012:elsewhere")]
        }),
        case(
            "monitoring/rds-free-storage: fires when FreeStorageSpace",
            |d| {
                at::<MetricAlarm>(d, "monitoring/rds-free-storage").comparison_operator =
                    ComparisonOperator::GreaterThanThreshold
            },
        ),
        case(
            "monitoring/redis-cpu-001: not ordered after elasticache/redis",
            |d| {
                for r in d.iter_mut().flat_map(|d| d.resources.iter_mut()) {
                    r.depends_on.clear();
                }
            },
        ),
        // Names, tags, outputs.
        case(
            "kinesis/transactions: name `japancart-transactions` does not end with the \
             environment suffix `-dev`",
            |d| stream(d).name = "japancart-transactions".into(),
        ),
        case("vpc/main: tag `managed-by` is None", |d| {
            at::<Vpc>(d, "vpc/main")
                .tags
                .retain(|t| t.key != "managed-by")
        }),
        case("rds/postgres: tag `Name` is None", |d| {
            db(d).tags.retain(|t| t.key != "Name")
        }),
        case("output `rds_port` is missing", |d| {
            output_mut(d, "rds_port").name = "rds-port".into()
        }),
        case("output `redis_port` is", |d| {
            output_mut(d, "redis_port").value = OutputValue::Number(6379)
        }),
        case("output `redis_endpoint` is", |d| {
            output_mut(d, "redis_endpoint").value = OutputValue::Ref(
                parse_ref("elasticache/redis.reader-endpoint").expect("a reference"),
            )
        }),
        case("output `redis_ttl_seconds` is not the number 86400", |d| {
            output_mut(d, "redis_ttl_seconds").value = OutputValue::Str("86400".into())
        }),
        case(
            "vpc/flow-logs-role: IAM role name `japancart-flow-logs-dev` does not carry the \
             region `us-east-1`",
            |d| flow_logs_role(d).name = "japancart-flow-logs-dev".into(),
        ),
        case(
            "rds/upgrade-logs: name `/aws/rds/instance/japancart-postgres/upgrade` does not \
             end with the environment suffix `-dev`",
            |d| {
                at::<LogGroup>(d, "rds/upgrade-logs").name =
                    "/aws/rds/instance/japancart-postgres/upgrade".into()
            },
        ),
        case("output `db_secret_arn` is", |d| {
            output_mut(d, "db_secret_arn").value =
                OutputValue::Ref(parse_ref("secrets/redis-auth.arn").expect("a reference"))
        }),
        case("output `redis_auth_secret_arn` is missing", |d| {
            output_mut(d, "redis_auth_secret_arn").name = "redis_auth_secret".into()
        }),
        case("output `redis_auth_secret_arn` is", |d| {
            output_mut(d, "redis_auth_secret_arn").value =
                OutputValue::Ref(parse_ref("secrets/key.arn").expect("a reference"))
        }),
        // References the host would refuse, or that lose the ordering.
        case("the stack does not validate", |d| {
            redis(d).auth_token.as_mut().unwrap().key = "token".into()
        }),
        case("rds/postgres does not depend on secrets/key", |d| {
            db(d).master_user_secret_kms_key_id =
                Some(lit("arn:aws:kms:us-east-1:123456789012:key/other"))
        }),
        case(
            "elasticache/redis does not depend on secrets/redis-auth",
            |d| {
                redis(d).auth_token.as_mut().unwrap().secret_id =
                    lit("arn:aws:secretsmanager:us-east-1:123456789012:secret:other")
            },
        ),
        case("vpc/flow-log does not depend on vpc/flow-logs-role", |d| {
            flow_log(d).deliver_logs_permission_arn =
                lit("arn:aws:iam::123456789012:role/japancart-flow-logs-us-east-1-dev")
        }),
    ];
    let mut missed = failing_copies(&decls, &x, &cases);

    // With `db-password = "stack-secret"`: the stack's secret holds the password.
    let decls = declare_ok(&context(
        "dev",
        "us-east-1",
        &[("db-password", "stack-secret")],
    ));
    let x = Expect::stack_secret("dev", "us-east-1");
    assert_passes(&decls, &x);
    let cases: Vec<(&str, Mutation)> = vec![
        case(
            "secret: not encrypted with a customer-managed KMS key",
            |d| secret(d).kms_key_id = None,
        ),
        case("secret: password may contain '@'", |d| {
            secret(d).password.exclude_characters = "/\" ".into()
        }),
        case("secret: password of 8 characters is too short", |d| {
            secret(d).password.length = 8
        }),
        case(
            "secret: user name `admin`, expected `japancart_admin`",
            |d| secret(d).username = "admin".into(),
        ),
        case(
            "rds: master user name is `admin`, not the secret's `username`",
            |d| db(d).master_username = lit("admin"),
        ),
        case("rds: master password is not the secret's `password`", |d| {
            db(d).master_password.as_mut().unwrap().key = "username".into()
        }),
        case("rds: no secret holds the master credentials", |d| {
            db(d).master_password = None
        }),
        case(
            "rds: RDS manages the master password, but the stack's secret should hold it",
            |d| db(d).manage_master_user_password = true,
        ),
        case(
            "rds: master-user-secret-kms-key-id is (secrets/key.arn), but RDS keeps no secret",
            |d| db(d).master_user_secret_kms_key_id = Some(r("secrets/key.arn")),
        ),
        case("output `db_secret_arn` is", |d| {
            output_mut(d, "db_secret_arn").value = OutputValue::Ref(
                parse_ref("rds/postgres.master-user-secret-arn").expect("a reference"),
            )
        }),
        case("the stack does not validate", |d| {
            db(d).master_username = r("secrets/db-credentials.password")
        }),
        case(
            "rds/postgres does not depend on secrets/db-credentials",
            |d| {
                let db = db(d);
                db.master_username = lit("japancart_admin");
                db.master_password.as_mut().unwrap().secret_id =
                    lit("arn:aws:secretsmanager:us-east-1:123456789012:secret:x");
            },
        ),
    ];
    missed.extend(failing_copies(&decls, &x, &cases));

    // Outside `dev` the database refuses deletion.
    let decls = declare_ok(&context("prod", "eu-west-1", &[]));
    let x = Expect::new("prod", "eu-west-1");
    assert_passes(&decls, &x);
    let cases: Vec<(&str, Mutation)> = vec![case(
        "rds: deletion protection is off, expected on in `prod`",
        |d| db(d).deletion_protection = false,
    )];
    missed.extend(failing_copies(&decls, &x, &cases));

    assert!(
        missed.is_empty(),
        "{} broken copies passed:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

#[test]
fn key_choices_change_encryption() {
    let secrets_key = "arn:aws:kms:us-east-1:123456789012:key/existing";
    let rds_key = "arn:aws:kms:us-east-1:123456789012:key/rds";
    let decls = declare_ok(&context(
        "dev",
        "us-east-1",
        &[
            ("kinesis-kms-key", "aws-managed"),
            ("db-secret-kms-key", secrets_key),
            ("alarm-topic-kms-key", "none"),
            ("redis-kms-key", "aws-managed"),
            ("rds-kms-key", rds_key),
            ("log-kms-key", "none"),
        ],
    ));
    build(&decls);
    assert!(
        View::new(&decls).of_kind(Kind::KmsKey).is_empty(),
        "no key is created"
    );
    let stream = get::<KinesisStream>(&decls, "kinesis/transactions");
    assert_eq!(stream.kms_key_id, Some(lit("alias/aws/kinesis")));
    // The secrets' key is RDS's secret's key too.
    let token = get::<Secret>(&decls, "secrets/redis-auth");
    assert_eq!(token.kms_key_id, Some(lit(secrets_key)));
    let db = get::<DbInstance>(&decls, "rds/postgres");
    assert_eq!(db.master_user_secret_kms_key_id, Some(lit(secrets_key)));
    assert_eq!(db.kms_key_id, Some(lit(rds_key)));
    assert!(db.storage_encrypted);
    let redis = get::<CacheReplicationGroup>(&decls, "elasticache/redis");
    assert!(redis.at_rest_encryption && redis.kms_key_id.is_none());
    assert_eq!(
        get::<SnsTopic>(&decls, "monitoring/alarms").kms_key_id,
        None
    );
    for group in ["vpc/flow-logs", "rds/postgresql-logs", "rds/upgrade-logs"] {
        assert_eq!(get::<LogGroup>(&decls, group).kms_key_id, None, "{group}");
    }
    // The checks flag what the defaults do not allow.
    assert_fails_with(
        &decls,
        &Expect::new("dev", "us-east-1"),
        &[
            "kinesis stream: not encrypted with a customer-managed KMS key",
            "alarm topic: not encrypted",
            "redis: not encrypted with a customer-managed KMS key",
            "rds storage: not encrypted with a customer-managed KMS key",
            "redis auth secret: not encrypted with a customer-managed KMS key",
            "rds managed secret: not encrypted with a customer-managed KMS key",
            "vpc/flow-logs: not encrypted with a customer-managed KMS key",
            "rds/postgresql-logs: not encrypted with a customer-managed KMS key",
        ],
    );
}

/// `db-password = "stack-secret"` gives the wiring the stack had before RDS kept
/// the password: the stack's secret, its `username` and `password` read by
/// reference, and `db_secret_arn` naming it.
#[test]
fn a_stack_secret_gives_the_old_wiring() {
    let decls = declare_ok(&context(
        "dev",
        "us-east-1",
        &[("db-password", "stack-secret")],
    ));
    let x = Expect::stack_secret("dev", "us-east-1");
    assert_passes(&decls, &x);
    let graph = build(&decls);

    let secret = get::<Secret>(&decls, "secrets/db-credentials");
    assert_eq!(secret.username, DB_USERNAME);
    assert_eq!(secret.kms_key_id, Some(r("secrets/key.arn")));
    let db = get::<DbInstance>(&decls, "rds/postgres");
    assert!(!db.manage_master_user_password);
    assert_eq!(db.master_user_secret_kms_key_id, None);
    assert_eq!(db.master_username, r("secrets/db-credentials.username"));
    assert_eq!(
        db.master_password,
        Some(SecretValueRef {
            secret_id: r("secrets/db-credentials.arn"),
            key: "password".into(),
        })
    );
    assert_eq!(
        graph.outputs["db_secret_arn"].value,
        OutputValue::Ref(parse_ref("secrets/db-credentials.arn").unwrap())
    );
    let publishers: Vec<&str> = decls
        .iter()
        .filter(|d| d.outputs.iter().any(|o| o.name == "db_secret_arn"))
        .map(|d| d.plugin.as_str())
        .collect();
    assert_eq!(publishers, ["secrets"]);
    assert!(graph.dependencies[&addr("rds/postgres")].contains(&addr("secrets/db-credentials")));
    let order: Vec<String> = graph.order().iter().map(ToString::to_string).collect();
    let pos = |a: &str| order.iter().position(|x| x == a).unwrap();
    assert!(pos("secrets/db-credentials") < pos("rds/postgres"));

    // The default stack and one resource more: the secret.
    let default = declare_ok(&context("dev", "us-east-1", &[]));
    let default_graph = build(&default);
    let extra: Vec<String> = graph
        .resources
        .keys()
        .filter(|a| !default_graph.resources.contains_key(*a))
        .map(ToString::to_string)
        .collect();
    assert_eq!(extra, ["secrets/db-credentials"]);
    assert_eq!(graph.resources.len(), default_graph.resources.len() + 1);

    // Each stack fails the other's expectations.
    assert_fails_with(
        &decls,
        &Expect::new("dev", "us-east-1"),
        &[
            "rds: master password is not managed by RDS",
            "rds: master password is read from (secrets/db-credentials.arn)",
            "2 secrets, expected 1",
            "output `db_secret_arn` is",
        ],
    );
    assert_fails_with(
        &default,
        &x,
        &[
            "rds: RDS manages the master password",
            "rds: no secret holds the master credentials",
            "1 secrets, expected 2",
            "rds/postgres does not depend on secrets/db-credentials",
        ],
    );
}

/// Each hardening is a config key; turned off, it is gone from the stack, and the
/// checks say so.
#[test]
fn hardening_turned_off_is_seen_by_the_checks() {
    let decls = declare_ok(&context(
        "dev",
        "us-east-1",
        &[
            ("redis-auth", "false"),
            ("rds-iam-auth", "false"),
            ("rds-log-exports", ""),
            ("rds-copy-tags-to-snapshot", "false"),
            ("rds-deletion-protection", "true"),
            ("vpc-flow-logs", "false"),
            ("default-security-group", "unmanaged"),
        ],
    ));
    let graph = build(&decls);
    for gone in [
        "secrets/redis-auth",
        "rds/postgresql-logs",
        "rds/upgrade-logs",
        "vpc/flow-log",
        "vpc/flow-logs",
        "vpc/flow-logs-role",
        "vpc/flow-logs-write",
        "vpc/default-sg",
    ] {
        assert!(!graph.resources.contains_key(&addr(gone)), "{gone}");
    }
    assert!(!graph.outputs.contains_key("redis_auth_secret_arn"));
    let redis = get::<CacheReplicationGroup>(&decls, "elasticache/redis");
    assert!(redis.auth_token.is_none() && redis.transit_encryption);
    let db = get::<DbInstance>(&decls, "rds/postgres");
    assert!(db.cloudwatch_logs_exports.is_empty());
    // No log group to wait for.
    assert!(
        resource_mut(&mut decls.clone(), "rds/postgres")
            .depends_on
            .is_empty()
    );
    assert_fails_with(
        &decls,
        &Expect::new("dev", "us-east-1"),
        &[
            "redis: no AUTH token",
            "output `redis_auth_secret_arn` is missing",
            "rds: IAM database authentication is off",
            "rds: exports logs [], expected",
            "rds: tags are not copied to snapshots",
            "rds: deletion protection is on, expected off in `dev`",
            "expected exactly one flow-log, found 0",
            "expected exactly one default-security-group, found 0",
            "log groups are {}, expected",
            "0 secrets, expected 1",
        ],
    );
}

#[test]
fn config_changes_sizes_and_thresholds() {
    let decls = declare_ok(&context(
        "dev",
        "us-east-1",
        &[
            ("redis-num-nodes", "3"),
            ("kinesis-shard-count", "2"),
            ("alarm-rds-cpu-percent", "90"),
            ("redis-ttl-seconds", "3600"),
            ("rds-monitoring-interval-seconds", "0"),
            ("kinesis-vpc-endpoint", "false"),
        ],
    ));
    let graph = build(&decls);
    let redis = get::<CacheReplicationGroup>(&decls, "elasticache/redis");
    assert_eq!(redis.num_cache_clusters, 3);
    assert_eq!(
        get::<KinesisStream>(&decls, "kinesis/transactions").shard_count,
        2
    );
    // One CPU and one memory alarm per Redis node.
    for alarm in ["redis-cpu-003", "redis-memory-003"] {
        let a = get::<MetricAlarm>(&decls, &format!("monitoring/{alarm}"));
        assert_eq!(a.dimensions[0].value, lit("japancart-redis-dev-003"));
    }
    assert_eq!(
        get::<MetricAlarm>(&decls, "monitoring/rds-cpu").threshold,
        90.0
    );
    assert_eq!(
        graph.outputs["redis_ttl_seconds"].value,
        OutputValue::Number(3600)
    );
    // No enhanced monitoring: no role; no endpoint: no endpoint security group.
    for gone in [
        "rds/monitoring-role",
        "vpc/kinesis-endpoint",
        "vpc/endpoint-sg",
    ] {
        assert!(!graph.resources.contains_key(&addr(gone)), "{gone}");
    }
    assert_eq!(
        get::<DbInstance>(&decls, "rds/postgres").monitoring_role_arn,
        None
    );
    // The checks see every one of these departures from the reference.
    assert_fails_with(
        &decls,
        &Expect::new("dev", "us-east-1"),
        &[
            "redis: 3 nodes, expected 2",
            "kinesis: 2 shards, expected 1",
            "monitoring/rds-cpu: fires when CPUUtilization greater-than-threshold 90, expected above 80",
            "rds: enhanced monitoring interval 0 s, expected 60",
            "expected exactly one vpc-endpoint, found 0",
            "output `redis_ttl_seconds` is not the number 86400",
        ],
    );
}

#[test]
fn bad_config_is_refused_naming_the_key() {
    for (config, environment, expected) in [
        (
            ("kinesis-shard-count", "many"),
            "dev",
            "config `kinesis-shard-count` = `many`",
        ),
        (
            ("kinesis-retention-hours", "12"),
            "dev",
            "config `kinesis-retention-hours` = `12`: must be 24 to 8760",
        ),
        (
            ("kinesis-kms-key", "none"),
            "dev",
            "config `kinesis-kms-key`: the stream must be encrypted",
        ),
        (
            ("availability-zones", "us-east-1a"),
            "dev",
            "config `availability-zones` must name two different zones",
        ),
        (
            ("vpc-cidr", "10.0.0.0/24"),
            "dev",
            "cannot derive /24 subnets from `vpc-cidr` 10.0.0.0/24",
        ),
        (
            ("vpc-cidr", "10.0.0.1/16"),
            "dev",
            "config `vpc-cidr`: `10.0.0.1/16` is not an IPv4 CIDR block",
        ),
        (
            ("private-subnet-cidrs", "10.9.1.0/24,10.9.2.0/24"),
            "dev",
            "is not inside the VPC block 10.0.0.0/16",
        ),
        (
            ("public-subnet-cidrs", "10.0.11.0/24,10.0.3.0/24"),
            "dev",
            "subnet blocks 10.0.11.0/24 and 10.0.11.0/24 overlap",
        ),
        (
            ("redis-num-nodes", "1"),
            "dev",
            "config `redis-num-nodes` = `1`: must be 2 to 6",
        ),
        (
            ("db-username", "rdsadmin"),
            "dev",
            "config `db-username` = `rdsadmin`",
        ),
        (
            ("db-secret-recovery-days", "3"),
            "dev",
            "must be 0 (delete at once) or 7 to 30",
        ),
        (
            ("rds-monitoring-interval-seconds", "45"),
            "dev",
            "must be 0 (off), 1, 5, 10, 15, 30 or 60",
        ),
        (
            ("alarm-period-seconds", "90"),
            "dev",
            "must be 10, 20, 30 or a multiple of 60",
        ),
        (
            ("rds-log-exports", "postgresql,audit"),
            "dev",
            "config `rds-log-exports`: `audit` is not a PostgreSQL log",
        ),
        (
            ("log-retention-days", "366"),
            "dev",
            "`log-retention-days` = `366`",
        ),
        (
            ("log-kms-key", "aws-managed"),
            "dev",
            "CloudWatch Logs has no AWS managed key",
        ),
        (
            ("redis-kms-key", "none"),
            "dev",
            "config `redis-kms-key` = `none`: Redis is always encrypted at rest",
        ),
        (
            ("rds-kms-key", "none"),
            "dev",
            "config `rds-kms-key` = `none`: the database is always encrypted",
        ),
        (("db-password", "plain"), "dev", "`db-password`"),
        (
            ("project", "japancart"),
            "Prod",
            "Redis replication group id `japancart-redis-Prod` is not valid",
        ),
        (
            ("project", "japancart"),
            "a-very-long-environment-name",
            "Redis replication group id",
        ),
    ] {
        let err = declare(&context(environment, "us-east-1", &[config]))
            .err()
            .unwrap_or_else(|| panic!("{config:?} with environment `{environment}` was accepted"));
        assert!(
            err.contains(expected),
            "{config:?}: `{expected}` not in:\n{err}"
        );
    }
}

/// ARNs the plugins write themselves follow the region's partition (AWS: the
/// partition is part of every ARN, `aws-cn` in China, `aws-us-gov` in GovCloud;
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
#[test]
fn arns_the_plugins_write_use_the_regions_partition() {
    for (region, partition) in [
        ("us-east-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
    ] {
        let decls = declare_ok(&context("dev", region, &[]));
        let role = get::<IamRole>(&decls, "rds/monitoring-role");
        assert_eq!(
            role.managed_policy_arns,
            [format!(
                "arn:{partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
            )],
            "{region}"
        );
        // The flow logs' role may write to its group's streams, in this partition
        // and region.
        let policy = get::<IamRolePolicy>(&decls, "vpc/flow-logs-write");
        let streams = lit(&format!(
            "arn:{partition}:logs:{region}:*:log-group:/aws/vpc/flow-logs/japancart-dev:*"
        ));
        assert!(
            policy.statements[0].resources.contains(&streams),
            "{region}: {:?}",
            policy.statements[0].resources
        );
    }
}
