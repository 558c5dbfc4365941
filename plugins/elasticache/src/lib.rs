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
//! `redis-num-nodes`, `redis-snapshot-retention-days`, `redis-ttl-seconds`, and
//! `project` (the tag).

use engine_sdk::*;

mod shared;
use shared::REDIS_NUM_NODES;

struct Cache;

const NODE_TYPE: TextKey = TextKey::new("redis-node-type", "cache.t3.micro", "Redis node type.");
const ENGINE_VERSION: TextKey =
    TextKey::new("redis-engine-version", "7.1", "Redis engine version.");
/// Snapshots are kept 0 (none) to 35 days: `SnapshotRetentionLimit` in
/// <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html>.
const SNAPSHOT_RETENTION_DAYS: IntKey<u32> = IntKey::new(
    "redis-snapshot-retention-days",
    1,
    0..=35,
    "Days automatic snapshots are kept; 0 disables them.",
);
/// The TTL is only published (an output), for the application to use.
const TTL_SECONDS: IntKey<u32> = IntKey::new(
    "redis-ttl-seconds",
    86_400,
    1..=u32::MAX,
    "The TTL the application sets on cached transactions, in seconds, published as the \
     `redis_ttl_seconds` output.",
);

/// The Redis port (the stack output `redis_port`).
const PORT: u16 = 6379;

impl ComponentPlugin for Cache {
    fn info() -> PluginInfo {
        info!(
            "elasticache",
            "The cache: Redis replication group, Multi-AZ, encrypted, VPC-only.",
            [
                NODE_TYPE,
                ENGINE_VERSION,
                REDIS_NUM_NODES,
                SNAPSHOT_RETENTION_DAYS,
                TTL_SECONDS,
                PROJECT,
            ]
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
        let ttl = TTL_SECONDS.get(ctx)?;

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
                engine_version: ENGINE_VERSION.get(ctx)?,
                node_type: NODE_TYPE.get(ctx)?,
                num_cache_clusters: REDIS_NUM_NODES.get(ctx)?,
                port: PORT,
                subnet_group_name: subnets.attr("name"),
                security_group_ids: vec![sg.attr("id")],
                automatic_failover: true,
                multi_az: true,
                at_rest_encryption: true,
                transit_encryption: true,
                kms_key_id: None,
                snapshot_retention_days: SNAPSHOT_RETENTION_DAYS.get(ctx)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_every_key_declare_reads() {
        let names: Vec<String> = Cache::info().config.into_iter().map(|k| k.name).collect();
        assert_eq!(
            names,
            [
                "redis-node-type",
                "redis-engine-version",
                "redis-num-nodes",
                "redis-snapshot-retention-days",
                "redis-ttl-seconds",
                "project",
            ]
        );
        let ctx = Context::new("japancart", "us-east-1", "dev");
        assert_eq!(undeclared_keys::<Cache>(&ctx), Vec::<String>::new());
    }

    #[test]
    fn defaults_and_ranges() {
        let ctx = Context::new("japancart", "us-east-1", "dev");
        let stack = Cache::declare(&ctx).expect("declares");
        let Some(ResourceSpec::CacheReplicationGroup(g)) = stack.get("redis") else {
            panic!("no replication group");
        };
        assert_eq!(
            (g.node_type.as_str(), g.engine_version.as_str()),
            ("cache.t3.micro", "7.1")
        );
        assert_eq!((g.num_cache_clusters, g.snapshot_retention_days), (2, 1));
        let err = Cache::declare(&ctx.with_config("redis-num-nodes", "7"))
            .err()
            .expect("refused");
        assert_eq!(err, "config `redis-num-nodes` = `7`: must be 2 to 6");
    }
}
