//! The network: a VPC with DNS, an internet gateway and a public subnet.

use engine_sdk::*;

struct Network;

impl ComponentPlugin for Network {
    fn info() -> PluginInfo {
        info!("vpc", "The network: VPC, internet gateway, subnets and routing.")
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let mut stack = Stack::new();
        let vpc = stack.add(
            "main",
            Vpc {
                cidr_block: ctx.config_or("vpc-cidr", "10.0.0.0/16"),
                enable_dns_support: true,
                enable_dns_hostnames: true,
                tags: ctx.tags(&[("Name", &ctx.named("japancart-vpc"))]),
            },
        );
        stack.add(
            "igw",
            InternetGateway {
                vpc_id: vpc.attr("id"),
                tags: ctx.tags(&[("Name", &ctx.named("japancart-igw"))]),
            },
        );
        stack.add(
            "public-a",
            Subnet {
                vpc_id: vpc.attr("id"),
                cidr_block: "10.0.1.0/24".into(),
                availability_zone: format!("{}a", ctx.region),
                map_public_ip_on_launch: true,
                tags: ctx.tags(&[("Name", &ctx.named("japancart-public-a"))]),
            },
        );
        stack.output("vpc_id", "VPC identifier", vpc.output("id"));
        Ok(stack)
    }
}

component!(Network);
