//! The JapanCart cache: a Redis replication group (cluster mode disabled) holding
//! 24 hours of transaction history, with one primary and one replica in different
//! availability zones, automatic failover, encryption at rest and in transit, on
//! the private subnets, reachable on 6379 from inside the VPC only.
//!
//! Redis itself does not expire keys by age: the application sets a TTL on each key.
//! The TTL to use is the `redis_ttl_seconds` stack output (config `redis-ttl-seconds`,
//! 24 hours by default).
//!
//! Config (see docs/japancart.md): `redis-node-type`, `redis-engine-version`,
//! `redis-num-nodes`, `redis-snapshot-retention-days`, `redis-ttl-seconds`.

use engine_sdk::*;

struct Cache;

/// The Redis port (the stack output `redis_port`).
const PORT: u16 = 6379;

impl ComponentPlugin for Cache {
    fn info() -> PluginInfo {
        info!(
            "elasticache",
            "The cache: Redis replication group, Multi-AZ, encrypted, VPC-only."
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let vpc = Handle::external("vpc/main");
        let private = [
            Handle::external("vpc/private-a"),
            Handle::external("vpc/private-b"),
        ];
        // The monitoring plugin derives the member clusters' ids (`<id>-001`, ...) from
        // the same name and `redis-num-nodes`.
        let group_id = ctx.named("japancart-redis");
        check_identifier("Redis replication group id", &group_id, 40)?;
        let ttl: u32 = ctx.config_in("redis-ttl-seconds", 86_400, 1..=u32::MAX)?;

        let mut stack = Stack::new();
        let sg = stack.add(
            "sg",
            SecurityGroup {
                name: ctx.named("japancart-redis"),
                description: "JapanCart Redis: port 6379 from inside the VPC only".into(),
                vpc_id: vpc.attr("id"),
                ingress: vec![SecurityGroupRule::tcp(
                    PORT,
                    vec![vpc.attr("cidr-block")],
                    "Redis from the VPC",
                )],
                egress: vec![],
                tags: ctx.tags(&[("Name", &ctx.named("japancart-redis"))]),
            },
        );
        let subnets = stack.add(
            "subnet-group",
            CacheSubnetGroup {
                name: ctx.named("japancart-redis"),
                description: "JapanCart Redis: private subnets".into(),
                subnet_ids: private.iter().map(|s| s.attr("id")).collect(),
                tags: ctx.tags(&[("Name", &ctx.named("japancart-redis"))]),
            },
        );
        let redis = stack.add(
            "redis",
            CacheReplicationGroup {
                id: group_id.clone(),
                description: "JapanCart 24-hour transaction history".into(),
                engine_version: ctx.config_or("redis-engine-version", "7.1"),
                node_type: ctx.config_or("redis-node-type", "cache.t3.micro"),
                num_cache_clusters: ctx.config_in("redis-num-nodes", 2, 2..=6)?,
                port: PORT,
                subnet_group_name: subnets.attr("name"),
                security_group_ids: vec![sg.attr("id")],
                automatic_failover: true,
                multi_az: true,
                at_rest_encryption: true,
                transit_encryption: true,
                kms_key_id: None,
                snapshot_retention_days: ctx.config_in(
                    "redis-snapshot-retention-days",
                    1,
                    0..=35,
                )?,
                tags: ctx.tags(&[("Name", &group_id)]),
            },
        );
        stack.output(
            "redis_endpoint",
            "Redis primary endpoint",
            redis.output("primary-endpoint"),
        );
        stack.output("redis_port", "Redis port (6379)", redis.output("port"));
        stack.output(
            "redis_ttl_seconds",
            "TTL the application sets on cached transactions, in seconds",
            ttl,
        );
        stack.output(
            "elasticache_security_group_id",
            "Redis security group ID",
            sg.output("id"),
        );
        Ok(stack)
    }
}

component!(Cache);
