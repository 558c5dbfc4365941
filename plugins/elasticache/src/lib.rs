//! The JapanCart cache: a Redis replication group (cluster mode disabled) holding
//! 24 hours of transaction history, with one primary and one replica in different
//! availability zones, automatic failover, encryption at rest and in transit, on
//! the private subnets, reachable on 6379 from inside the VPC only.
//!
//! Hardened by default: clients authenticate with an AUTH token (`redis-auth`) that
//! the host generates into the secrets plugin's `secrets/redis-auth` and hands to
//! ElastiCache at apply time (the token never passes through this plugin or the
//! state), and data at rest is encrypted with a customer-managed KMS key
//! (`redis-kms-key`).
//!
//! Redis itself does not expire keys by age: the application sets a TTL on each key.
//! The TTL to use is the `redis_ttl_seconds` stack output (config `redis-ttl-seconds`,
//! 24 hours by default).
//!
//! Config (see docs/japancart.md): `redis-node-type`, `redis-engine-version`,
//! `redis-num-nodes`, `redis-snapshot-retention-days`, `redis-ttl-seconds`,
//! `redis-auth`, `redis-kms-key`, `kms-deletion-window-days`, and `project` (the
//! tag).

use engine_sdk::*;

mod shared;
use shared::REDIS_NUM_NODES;

#[path = "../../shared/hardening.rs"]
mod hardening;
use hardening::REDIS_AUTH;

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

/// The key that encrypts the cache at rest; `none` is refused (the baseline
/// requires encryption at rest).
const KMS_KEY: KeyChoiceKey = KeyChoiceKey::new(
    "redis-kms-key",
    "create",
    "The KMS key that encrypts Redis at rest: `create` (a customer-managed key with an \
     alias), `aws-managed`, or an existing key's ARN; changing it replaces the replication \
     group.",
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
                REDIS_AUTH,
                KMS_KEY,
                KMS_DELETION_WINDOW_DAYS,
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
        let kms_key_id = match KMS_KEY.get(ctx)? {
            KeyChoice::Create => Some(
                stack
                    .add_kms_key(
                        "key",
                        &ctx.named("japancart-redis"),
                        "Encrypts the JapanCart Redis at rest",
                        KMS_DELETION_WINDOW_DAYS.get(ctx)?,
                        ctx.tags(&[("Name", &ctx.named("japancart-redis-key"))]),
                    )
                    .attr("arn"),
            ),
            KeyChoice::AwsManaged => None,
            KeyChoice::Existing(key) => Some(key.into()),
            KeyChoice::Unencrypted => {
                return Err(
                    "config `redis-kms-key` = `none`: Redis is always encrypted at \
                            rest here; use `create`, `aws-managed` or an existing key"
                        .into(),
                );
            }
        };
        let auth_token = REDIS_AUTH.get(ctx)?.then(|| SecretValueRef {
            secret_id: Handle::external("secrets/redis-auth").attr("arn"),
            key: "password".into(),
        });
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
                kms_key_id,
                auth_token,
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
                "redis-auth",
                "redis-kms-key",
                "kms-deletion-window-days",
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
        // Hardened by default: AUTH over TLS, a customer-managed key.
        assert!(g.transit_encryption);
        let token = g.auth_token.as_ref().expect("an AUTH token");
        let is_ref = |t: &Text, resource: &str| matches!(t, Text::Ref(r) if r.resource == resource && r.attribute == "arn");
        assert!(is_ref(&token.secret_id, "secrets/redis-auth") && token.key == "password");
        assert!(g.kms_key_id.as_ref().is_some_and(|k| is_ref(k, "key")));
        let open = Cache::declare(
            &ctx.clone()
                .with_config("redis-auth", "false")
                .with_config("redis-kms-key", "aws-managed"),
        )
        .expect("declares");
        let Some(ResourceSpec::CacheReplicationGroup(g)) = open.get("redis") else {
            panic!("no replication group");
        };
        assert!(g.auth_token.is_none() && g.kms_key_id.is_none() && open.get("key").is_none());
        let err = Cache::declare(&ctx.with_config("redis-num-nodes", "7"))
            .err()
            .expect("refused");
        assert_eq!(err, "config `redis-num-nodes` = `7`: must be 2 to 6");
    }
}
