//! The JapanCart network: a VPC with DNS, an internet gateway, public and private
//! subnets in two availability zones, routing (public subnets reach the internet,
//! private ones do not: no NAT gateway), and a Kinesis interface endpoint so that
//! producers in the private subnets reach the stream without NAT.
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
//! `public-subnet-cidrs`, `private-subnet-cidrs`, `kinesis-vpc-endpoint`.

use engine_sdk::*;

struct Network;

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
             routing, Kinesis endpoint."
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let vpc_cidr = Ipv4Cidr::parse(&ctx.config_or("vpc-cidr", "10.0.0.0/16"))
            .map_err(|e| format!("config `vpc-cidr`: {e}"))?;
        // With the Kinesis endpoint, only zones where the service offers endpoints:
        // the endpoint lives in the private subnets.
        let endpoint = ctx.config_parse("kinesis-vpc-endpoint", true)?;
        let kinesis_service = format!("com.amazonaws.{}.kinesis-streams", ctx.region);
        let azs = if endpoint {
            ctx.availability_zones_offering(&kinesis_service, SUBNET_SUFFIXES.len())?
        } else {
            ctx.availability_zones(SUBNET_SUFFIXES.len())?
        };
        let public = subnet_cidrs(ctx, "public-subnet-cidrs", vpc_cidr, PUBLIC_NETNUMS)?;
        let private = subnet_cidrs(ctx, "private-subnet-cidrs", vpc_cidr, PRIVATE_NETNUMS)?;
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

        stack.output("vpc_id", "VPC identifier", vpc.output("id"));
        Ok(stack)
    }
}

/// The two subnet blocks of a tier: from config, or derived as /24s of the VPC block.
fn subnet_cidrs(
    ctx: &Context,
    key: &str,
    vpc: Ipv4Cidr,
    netnums: [u32; 2],
) -> Result<Vec<Ipv4Cidr>, String> {
    let cidrs: Vec<Ipv4Cidr> = match ctx.config(key) {
        Some(_) => ctx
            .config_list(key, &[])
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
