//! The JapanCart network: a VPC with DNS, an internet gateway, public and private
//! subnets in two availability zones, routing (public subnets reach the internet,
//! private ones do not: no NAT gateway), and a Kinesis interface endpoint so that
//! producers in the private subnets reach the stream without NAT.
//!
//! Hardened by default: the VPC's flow logs go to a CloudWatch Logs group with a
//! retention, encrypted with a customer-managed key, through an IAM role allowed to
//! write only to that group (`vpc-flow-logs`, `log-retention-days`,
//! `log-kms-key`); and the VPC's default security group is adopted and emptied of
//! rules (`default-security-group`), so nothing put in it by mistake is reachable.
//! The logs key (`vpc/logs-key`) encrypts the database's log groups too.
//!
//! Other plugins reference `vpc/main` (`id`, `cidr-block`) and the private subnets
//! `vpc/private-a` and `vpc/private-b` (`id`).
//!
//! The two zones come from [`ContextExt::availability_zones`]: the config value
//! `availability-zones` when pinned, else the first two of the region's available
//! zones that the engine read from AWS (the fact `aws:availability-zones`), else
//! `{region}a` and `{region}b`.
//!
//! Config (see docs/japancart.md): `vpc-cidr`, `availability-zones`,
//! `public-subnet-cidrs`, `private-subnet-cidrs`, `kinesis-vpc-endpoint`,
//! `vpc-flow-logs`, `default-security-group`, `log-retention-days`,
//! `log-kms-key`, `kms-deletion-window-days`, and `project` (the tag).

use engine_sdk::*;

#[path = "../../shared/hardening.rs"]
mod hardening;
use hardening::{LOG_KMS_KEY, LOG_RETENTION_DAYS};

struct Network;

/// The VPC's block.
const VPC_CIDR: CidrKey = CidrKey::new(
    "vpc-cidr",
    "10.0.0.0/16",
    "The VPC's IPv4 block: a /20 or larger, unless `public-subnet-cidrs` and \
     `private-subnet-cidrs` are set.",
);
/// The public subnets' blocks; derived from the VPC's when unset.
const PUBLIC_SUBNET_CIDRS: ListKey<Option<Vec<String>>> = ListKey::optional(
    "public-subnet-cidrs",
    "The public subnets' blocks, one per zone, inside `vpc-cidr`; unset, subnets 1 and 2 of \
     `vpc-cidr` as /24s (10.0.1.0/24,10.0.2.0/24).",
);
/// The private subnets' blocks; derived from the VPC's when unset.
const PRIVATE_SUBNET_CIDRS: ListKey<Option<Vec<String>>> = ListKey::optional(
    "private-subnet-cidrs",
    "The private subnets' blocks, one per zone, inside `vpc-cidr` and not overlapping the \
     public ones; unset, subnets 11 and 12 as /24s (10.0.11.0/24,10.0.12.0/24).",
);
/// Whether to declare the Kinesis interface endpoint.
const KINESIS_VPC_ENDPOINT: BoolKey = BoolKey::new(
    "kinesis-vpc-endpoint",
    true,
    "Whether private subnets reach Kinesis through an interface endpoint (and its security \
     group), without NAT; about $0.01 per hour per zone.",
);

/// Whether to record the VPC's traffic.
const FLOW_LOGS: BoolKey = BoolKey::new(
    "vpc-flow-logs",
    true,
    "Whether the VPC's accepted and rejected traffic is recorded in a CloudWatch Logs group \
     (`/aws/vpc/flow-logs/japancart-ENV`, kept `log-retention-days`).",
);
/// What becomes of the VPC's default security group.
const DEFAULT_SECURITY_GROUP: ChoiceKey = ChoiceKey::new(
    "default-security-group",
    "closed",
    &["closed", "unmanaged"],
    "The VPC's default security group: `closed` (adopted, every rule removed) or `unmanaged` \
     (left with AWS's allow-all rules).",
);

/// Subnet numbers of the derived /24 blocks inside the VPC block: 10.0.1.0/24 and
/// 10.0.2.0/24 public, 10.0.11.0/24 and 10.0.12.0/24 private for 10.0.0.0/16.
const PUBLIC_NETNUMS: [u32; 2] = [1, 2];
const PRIVATE_NETNUMS: [u32; 2] = [11, 12];
/// Subnet name suffixes, one per availability zone: `public-a` is in the first
/// zone, `public-b` in the second. They are indexes, not zone letters
/// (`private-b` may well be in `ap-northeast-1c`), and stay the same whatever the
/// zones, because other plugins refer to `vpc/private-a` and `vpc/private-b`.
const SUBNET_SUFFIXES: [&str; 2] = ["a", "b"];

impl ComponentPlugin for Network {
    fn info() -> PluginInfo {
        info!(
            "vpc",
            "The network: VPC, internet gateway, public and private subnets in two AZs, \
             routing, Kinesis endpoint.",
            [
                VPC_CIDR,
                AVAILABILITY_ZONES_KEY,
                PUBLIC_SUBNET_CIDRS,
                PRIVATE_SUBNET_CIDRS,
                KINESIS_VPC_ENDPOINT,
                FLOW_LOGS,
                DEFAULT_SECURITY_GROUP,
                LOG_RETENTION_DAYS,
                LOG_KMS_KEY,
                KMS_DELETION_WINDOW_DAYS,
                PROJECT,
            ]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let vpc_cidr = VPC_CIDR.get(ctx)?;
        // With the Kinesis endpoint, only zones where the service offers endpoints:
        // the endpoint lives in the private subnets.
        let endpoint = KINESIS_VPC_ENDPOINT.get(ctx)?;
        let kinesis_service = format!("com.amazonaws.{}.kinesis-streams", ctx.region);
        let azs = if endpoint {
            ctx.availability_zones_offering(&kinesis_service, SUBNET_SUFFIXES.len())?
        } else {
            ctx.availability_zones(SUBNET_SUFFIXES.len())?
        };
        let public = subnet_cidrs(ctx, &PUBLIC_SUBNET_CIDRS, vpc_cidr, PUBLIC_NETNUMS)?;
        let private = subnet_cidrs(ctx, &PRIVATE_SUBNET_CIDRS, vpc_cidr, PRIVATE_NETNUMS)?;
        let all: Vec<Ipv4Cidr> = public.iter().chain(&private).copied().collect();
        for (i, a) in all.iter().enumerate() {
            if let Some(b) = all[i + 1..].iter().find(|b| a.overlaps(**b)) {
                return Err(format!("subnet blocks {a} and {b} overlap"));
            }
        }
        let name_tags =
            |base: &str| ctx.tags(&[("Name", &ctx.named(&format!("japancart-{base}")))]);

        let mut stack = Stack::new();
        let vpc = stack.add(
            "main",
            Vpc {
                cidr_block: vpc_cidr.to_string(),
                enable_dns_support: true,
                enable_dns_hostnames: true,
                tags: name_tags("vpc"),
            },
        );
        let igw = stack.add(
            "igw",
            InternetGateway {
                vpc_id: vpc.attr("id"),
                tags: name_tags("igw"),
            },
        );

        // Public: a route table whose default route goes to the internet gateway.
        let public_rt = stack.add(
            "public-rt",
            RouteTable {
                vpc_id: vpc.attr("id"),
                tags: name_tags("public-rt"),
            },
        );
        stack.add(
            "public-default-route",
            Route {
                route_table_id: public_rt.attr("id"),
                destination_cidr_block: "0.0.0.0/0".into(),
                gateway_id: igw.attr("id"),
            },
        );
        // Private: a route table with only the implicit local route.
        let private_rt = stack.add(
            "private-rt",
            RouteTable {
                vpc_id: vpc.attr("id"),
                tags: name_tags("private-rt"),
            },
        );

        let mut private_subnets = Vec::new();
        for (tier, cidrs, rt, public_ip) in [
            ("public", &public, &public_rt, true),
            ("private", &private, &private_rt, false),
        ] {
            for ((suffix, az), cidr) in SUBNET_SUFFIXES.iter().zip(&azs).zip(cidrs) {
                let name = format!("{tier}-{suffix}");
                let subnet = stack.add(
                    &name,
                    Subnet {
                        vpc_id: vpc.attr("id"),
                        cidr_block: cidr.to_string(),
                        availability_zone: az.clone(),
                        map_public_ip_on_launch: public_ip,
                        tags: ctx.tags(&[
                            ("Name", &ctx.named(&format!("japancart-{name}"))),
                            ("tier", tier),
                        ]),
                    },
                );
                stack.add(
                    &format!("{name}-rta"),
                    RouteTableAssociation {
                        route_table_id: rt.attr("id"),
                        subnet_id: subnet.attr("id"),
                    },
                );
                if !public_ip {
                    private_subnets.push(subnet);
                }
            }
        }

        if endpoint {
            let endpoint_sg = stack.add(
                "endpoint-sg",
                SecurityGroup {
                    name: ctx.named("japancart-vpc-endpoints"),
                    description: "Interface VPC endpoints: HTTPS from inside the VPC only".into(),
                    vpc_id: vpc.attr("id"),
                    ingress: vec![SecurityGroupRule::tcp(
                        443,
                        vec![vpc.attr("cidr-block")],
                        "HTTPS from the VPC",
                    )],
                    egress: vec![],
                    tags: name_tags("vpc-endpoints"),
                },
            );
            stack.add(
                "kinesis-endpoint",
                VpcEndpoint {
                    vpc_id: vpc.attr("id"),
                    service_name: kinesis_service,
                    endpoint_type: VpcEndpointType::Interface,
                    subnet_ids: private_subnets.iter().map(|s| s.attr("id")).collect(),
                    security_group_ids: vec![endpoint_sg.attr("id")],
                    route_table_ids: vec![],
                    private_dns_enabled: true,
                    tags: name_tags("kinesis-endpoint"),
                },
            );
        }

        if DEFAULT_SECURITY_GROUP.get(ctx)? == "closed" {
            stack.add(
                "default-sg",
                DefaultSecurityGroup {
                    vpc_id: vpc.attr("id"),
                    ingress: vec![],
                    egress: vec![],
                    tags: name_tags("default"),
                },
            );
        }
        if matches!(LOG_KMS_KEY.get(ctx)?, KeyChoice::Create) {
            // CloudWatch Logs encrypts with it: its service principal in the region.
            let logs_service = format!("logs.{}.amazonaws.com", ctx.region);
            stack.add_kms_key_for_services(
                "logs-key",
                &ctx.named("japancart-logs"),
                "Encrypts the JapanCart log groups",
                KMS_DELETION_WINDOW_DAYS.get(ctx)?,
                name_tags("logs-key"),
                &[&logs_service],
            );
        }
        if FLOW_LOGS.get(ctx)? {
            flow_logs(ctx, &mut stack, &vpc)?;
        }

        stack.output("vpc_id", "VPC identifier", vpc.output("id"));
        Ok(stack)
    }
}

/// The VPC's flow logs: a log group, a role that the flow logs service assumes,
/// allowed to write to that group only, and the flow log of all traffic.
/// <https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html>
fn flow_logs(ctx: &Context, stack: &mut Stack, vpc: &Handle) -> Result<(), String> {
    let group_name = format!("/aws/vpc/flow-logs/{}", ctx.named("japancart"));
    let group = stack.add(
        "flow-logs",
        LogGroup {
            name: group_name.clone(),
            retention_days: LOG_RETENTION_DAYS.get(ctx)?,
            kms_key_id: hardening::log_kms_key(ctx)?,
            tags: ctx.tags(&[("Name", &group_name)]),
        },
    );
    // IAM role names are global to the account (see the rds plugin's role).
    let role_name = ctx.global_named("japancart-flow-logs");
    let role = stack.add(
        "flow-logs-role",
        IamRole {
            name: role_name.clone(),
            description: "Lets VPC flow logs write the JapanCart VPC's records".into(),
            assume_role_policy: service_trust_policy("vpc-flow-logs.amazonaws.com"),
            managed_policy_arns: vec![],
            tags: ctx.tags(&[("Name", &role_name)]),
        },
    );
    // The group's streams, in this region, whatever the account.
    let streams = format!(
        "arn:{}:logs:{}:*:log-group:{group_name}:*",
        ctx.partition(),
        ctx.region
    );
    let policy = stack.add(
        "flow-logs-write",
        IamRolePolicy {
            role_name: role.attr("name"),
            name: "write-flow-logs".into(),
            statements: vec![PolicyStatement {
                actions: [
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ]
                .map(String::from)
                .to_vec(),
                resources: vec![group.attr("arn"), streams.as_str().into()],
            }],
        },
    );
    // After the role may write (and deleted before it may not): the flow logs
    // service would otherwise fail to deliver in between.
    stack.add_after(
        "flow-log",
        FlowLog {
            vpc_id: vpc.attr("id"),
            traffic_type: FlowLogTraffic::All,
            log_group_name: group.attr("name"),
            deliver_logs_permission_arn: role.attr("arn"),
            max_aggregation_interval_seconds: 600,
            tags: ctx.tags(&[("Name", &ctx.named("japancart-flow-log"))]),
        },
        &[&policy],
    );
    Ok(())
}

/// The two subnet blocks of a tier: from config, or derived as /24s of the VPC block.
fn subnet_cidrs(
    ctx: &Context,
    blocks: &ListKey<Option<Vec<String>>>,
    vpc: Ipv4Cidr,
    netnums: [u32; 2],
) -> Result<Vec<Ipv4Cidr>, String> {
    let key = blocks.name();
    let cidrs: Vec<Ipv4Cidr> = match blocks.get(ctx)? {
        Some(listed) => listed
            .iter()
            .map(|c| Ipv4Cidr::parse(c))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("config `{key}`: {e}"))?,
        None => netnums
            .iter()
            .map(|n| vpc.subnet(24u8.saturating_sub(vpc.prefix), *n))
            .collect::<Result<_, _>>()
            .map_err(|e| {
                format!(
                    "cannot derive /24 subnets from `vpc-cidr` {vpc} ({e}): use a /20 or \
                     larger block, or set `{key}`"
                )
            })?,
    };
    if cidrs.len() != 2 {
        return Err(format!(
            "config `{key}` must list two CIDR blocks, one per zone"
        ));
    }
    if let Some(outside) = cidrs.iter().find(|c| !vpc.contains(**c)) {
        return Err(format!(
            "subnet block {outside} (`{key}`) is not inside the VPC block {vpc}"
        ));
    }
    Ok(cidrs)
}

component!(Network);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_every_key_declare_reads() {
        let names: Vec<String> = Network::info().config.into_iter().map(|k| k.name).collect();
        assert_eq!(
            names,
            [
                "vpc-cidr",
                "availability-zones",
                "public-subnet-cidrs",
                "private-subnet-cidrs",
                "kinesis-vpc-endpoint",
                "vpc-flow-logs",
                "default-security-group",
                "log-retention-days",
                "log-kms-key",
                "kms-deletion-window-days",
                "project",
            ]
        );
        let ctx = Context::new("japancart", "us-east-1", "dev");
        assert_eq!(undeclared_keys::<Network>(&ctx), Vec::<String>::new());
        let ctx = ctx.with_config(KINESIS_VPC_ENDPOINT.name(), "false");
        assert_eq!(undeclared_keys::<Network>(&ctx), Vec::<String>::new());
    }

    #[test]
    fn defaults_derive_the_documented_blocks() {
        let stack =
            Network::declare(&Context::new("japancart", "us-east-1", "dev")).expect("declares");
        let block = |name: &str| match stack.get(name) {
            Some(ResourceSpec::Subnet(s)) => s.cidr_block.clone(),
            _ => panic!("no subnet {name}"),
        };
        assert_eq!(
            [
                block("public-a"),
                block("public-b"),
                block("private-a"),
                block("private-b")
            ],
            ["10.0.1.0/24", "10.0.2.0/24", "10.0.11.0/24", "10.0.12.0/24"]
        );
        assert!(stack.get("kinesis-endpoint").is_some());
    }

    #[test]
    fn hardened_by_default() {
        let ctx = Context::new("japancart", "us-east-1", "dev");
        let stack = Network::declare(&ctx).expect("declares");
        let Some(ResourceSpec::DefaultSecurityGroup(sg)) = stack.get("default-sg") else {
            panic!("no default security group");
        };
        assert!(sg.ingress.is_empty() && sg.egress.is_empty());
        let Some(ResourceSpec::FlowLog(log)) = stack.get("flow-log") else {
            panic!("no flow log");
        };
        assert!(matches!(log.traffic_type, FlowLogTraffic::All));
        let Some(ResourceSpec::LogGroup(group)) = stack.get("flow-logs") else {
            panic!("no log group");
        };
        assert_eq!(
            (group.name.as_str(), group.retention_days),
            ("/aws/vpc/flow-logs/japancart-dev", 365)
        );
        assert!(group.kms_key_id.is_some() && stack.get("logs-key").is_some());
        let Some(ResourceSpec::IamRolePolicy(policy)) = stack.get("flow-logs-write") else {
            panic!("no role policy");
        };
        // Never `*`: only the group and its streams.
        let resources = &policy.statements[0].resources;
        assert!(
            resources
                .iter()
                .all(|r| !matches!(r, Text::Literal(l) if l == "*"))
        );
        let bare = Network::declare(
            &ctx.clone()
                .with_config("vpc-flow-logs", "false")
                .with_config("default-security-group", "unmanaged")
                .with_config("log-kms-key", "none"),
        )
        .expect("declares");
        for gone in [
            "default-sg",
            "flow-log",
            "flow-logs",
            "flow-logs-role",
            "logs-key",
        ] {
            assert!(bare.get(gone).is_none(), "{gone}");
        }
        let old = Network::declare(&ctx.with_config("log-retention-days", "366"));
        assert!(old.is_err());
    }
}
