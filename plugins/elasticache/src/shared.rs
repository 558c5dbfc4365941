//! The config key that the elasticache and monitoring plugins both read: one
//! declaration, compiled into both (monitoring includes this file), so the two
//! cannot disagree on its type, default or range.

use engine_sdk::IntKey;

/// Nodes of the Redis replication group: one primary plus replicas. Automatic
/// failover and Multi-AZ need at least 2, and a group has at most 6 (a primary and
/// 5 replicas): `NumCacheClusters` in
/// <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html>.
pub const REDIS_NUM_NODES: IntKey<u32> = IntKey::new(
    "redis-num-nodes",
    2,
    2..=6,
    "Redis nodes: one primary plus replicas, in different zones; the monitoring plugin adds \
     a CPU and a memory alarm per node.",
);
