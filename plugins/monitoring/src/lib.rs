//! The JapanCart alarms: an encrypted SNS topic for notifications and CloudWatch
//! alarms on the stream, the cache and the database, each notifying the topic when
//! it fires and when it recovers.
//!
//! - Kinesis (`StreamName`): consumer iterator age; throttled writes.
//! - Redis (`CacheClusterId`): engine CPU and memory, one alarm per node. ElastiCache
//!   publishes these metrics per member cluster (`<group-id>-001`, `-002`, ...), not
//!   per replication group, so the plugin derives the member ids from the group id
//!   the elasticache plugin uses and `redis-num-nodes`, and orders itself after
//!   `elasticache/redis`.
//! - RDS (`DBInstanceIdentifier`): CPU, free storage, connections.
//!
//! Config (see docs/japancart.md): `alarm-topic-kms-key`, `alarm-period-seconds`,
//! `alarm-evaluation-periods`, one `alarm-*` threshold per alarm,
//! `redis-num-nodes` (declared by the elasticache plugin: the same source, see
//! [`shared`]), `kms-deletion-window-days`, and `project` (the tag).

use engine_sdk::*;

/// The elasticache plugin's `redis-num-nodes`, compiled from its source, so the
/// two plugins declare it identically.
#[path = "../../elasticache/src/shared.rs"]
mod shared;
use shared::REDIS_NUM_NODES;

struct Monitoring;

/// The alarm topic's KMS key; `none` leaves it unencrypted.
const TOPIC_KMS_KEY: KeyChoiceKey = KeyChoiceKey::new(
    "alarm-topic-kms-key",
    "create",
    "The alarm topic's KMS key: `create` (a customer-managed key that CloudWatch may use), \
     `aws-managed` (alias/aws/sns, which CloudWatch cannot publish to), `none` \
     (unencrypted), or an existing key's id, ARN, alias name or alias ARN.",
);
/// CloudWatch takes periods of 10, 20, 30 or a multiple of 60 seconds, and an
/// alarm looks at most a day back (`Period` in
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>):
/// the range is 10 to 86,400, and `declare` refuses the rest.
const PERIOD_SECONDS: IntKey<u32> = IntKey::new(
    "alarm-period-seconds",
    300,
    10..=86_400,
    "The period every alarm evaluates, in seconds: 10, 20, 30 or a multiple of 60.",
);
const EVALUATION_PERIODS: IntKey<u32> = IntKey::new(
    "alarm-evaluation-periods",
    2,
    1..=100,
    "Consecutive breaching periods before an alarm fires.",
);
/// No record is older than the longest retention, 8760 hours
/// (`kinesis-retention-hours`), in milliseconds.
const KINESIS_ITERATOR_AGE_MS: NumberKey = NumberKey::new(
    "alarm-kinesis-iterator-age-ms",
    60_000.0,
    0.0..=31_536_000_000.0,
    "The iterator-age alarm fires when the oldest unread record is older than this many \
     milliseconds.",
);
/// At most every write of the period is throttled: 500 shards (the most
/// `kinesis-shard-count` allows) of 1000 records a second, for a day (the longest
/// period).
const KINESIS_WRITE_THROTTLED: NumberKey = NumberKey::new(
    "alarm-kinesis-write-throttled",
    0.0,
    0.0..=43_200_000_000.0,
    "The throttling alarm fires when more than this many writes to the stream are throttled \
     in a period.",
);
const REDIS_CPU_PERCENT: NumberKey = NumberKey::new(
    "alarm-redis-cpu-percent",
    80.0,
    0.0..=100.0,
    "The Redis CPU alarms fire when a node's engine CPU is above this percentage.",
);
const REDIS_MEMORY_PERCENT: NumberKey = NumberKey::new(
    "alarm-redis-memory-percent",
    80.0,
    0.0..=100.0,
    "The Redis memory alarms fire when a node's memory use is above this percentage.",
);
const RDS_CPU_PERCENT: NumberKey = NumberKey::new(
    "alarm-rds-cpu-percent",
    80.0,
    0.0..=100.0,
    "The database CPU alarm fires when its CPU is above this percentage.",
);
/// Up to the most storage `rds-allocated-storage-gb` allows.
const RDS_FREE_STORAGE_GB: NumberKey = NumberKey::new(
    "alarm-rds-free-storage-gb",
    2.0,
    0.0..=65_536.0,
    "The free-storage alarm fires when the database's free storage drops below this many GiB.",
);
/// Up to PostgreSQL's largest `max_connections` (`MAX_BACKENDS`, 2^18 - 1).
const RDS_CONNECTIONS: NumberKey = NumberKey::new(
    "alarm-rds-connections",
    80.0,
    0.0..=262_143.0,
    "The connections alarm fires when the database has more connections than this.",
);

/// What differs between the alarms; the rest is shared.
struct Alarm<'a> {
    name: String,
    description: String,
    namespace: &'a str,
    metric: &'a str,
    dimension: (&'a str, Text),
    statistic: Statistic,
    comparison: ComparisonOperator,
    threshold: f64,
    treat_missing_data: &'a str,
}

impl ComponentPlugin for Monitoring {
    fn info() -> PluginInfo {
        info!(
            "monitoring",
            "The alarms: an encrypted SNS topic and CloudWatch alarms on stream, cache and \
             database.",
            [
                TOPIC_KMS_KEY,
                PERIOD_SECONDS,
                EVALUATION_PERIODS,
                KINESIS_ITERATOR_AGE_MS,
                KINESIS_WRITE_THROTTLED,
                REDIS_CPU_PERCENT,
                REDIS_MEMORY_PERCENT,
                RDS_CPU_PERCENT,
                RDS_FREE_STORAGE_GB,
                RDS_CONNECTIONS,
                REDIS_NUM_NODES,
                KMS_DELETION_WINDOW_DAYS,
                PROJECT,
            ]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let stream = Handle::external("kinesis/transactions");
        let redis = Handle::external("elasticache/redis");
        let db = Handle::external("rds/postgres");
        let period = PERIOD_SECONDS.get(ctx)?;
        if (period >= 60 && !period.is_multiple_of(60))
            || (period < 60 && ![10, 20, 30].contains(&period))
        {
            return Err(format!(
                "config `alarm-period-seconds` = `{period}`: must be 10, 20, 30 or a multiple of 60"
            ));
        }
        let evaluation_periods = EVALUATION_PERIODS.get(ctx)?;
        let iterator_age_ms = KINESIS_ITERATOR_AGE_MS.get(ctx)?;
        let write_throttled = KINESIS_WRITE_THROTTLED.get(ctx)?;
        let redis_cpu = REDIS_CPU_PERCENT.get(ctx)?;
        let redis_memory = REDIS_MEMORY_PERCENT.get(ctx)?;
        let rds_cpu = RDS_CPU_PERCENT.get(ctx)?;
        let rds_free_gb = RDS_FREE_STORAGE_GB.get(ctx)?;
        let rds_connections = RDS_CONNECTIONS.get(ctx)?;
        // The same values the elasticache plugin reads.
        let redis_group = ctx.named("japancart-redis");
        let redis_nodes = REDIS_NUM_NODES.get(ctx)?;

        let mut stack = Stack::new();
        let kms_key_id = match TOPIC_KMS_KEY.get(ctx)? {
            KeyChoice::Create => Some(
                // CloudWatch publishes alarms to the encrypted topic, so it must be
                // allowed to use the key.
                stack
                    .add_kms_key_for_services(
                        "key",
                        &ctx.named("japancart-alarms"),
                        "Encrypts the JapanCart alarm notifications topic",
                        KMS_DELETION_WINDOW_DAYS.get(ctx)?,
                        ctx.tags(&[("Name", &ctx.named("japancart-alarms-key"))]),
                        &["cloudwatch.amazonaws.com"],
                    )
                    .attr("arn"),
            ),
            KeyChoice::AwsManaged => {
                log(
                    LogLevel::Warn,
                    "`alarm-topic-kms-key = aws-managed`: CloudWatch alarms cannot publish to a topic \
                     encrypted with alias/aws/sns (its key policy does not admit CloudWatch)",
                );
                Some("alias/aws/sns".into())
            }
            KeyChoice::Unencrypted => None,
            KeyChoice::Existing(key) => Some(key.into()),
        };
        let topic = stack.add(
            "alarms",
            SnsTopic {
                name: ctx.named("japancart-alarms"),
                kms_key_id,
                tags: ctx.tags(&[("Name", &ctx.named("japancart-alarms"))]),
            },
        );

        let mut alarms = vec![
            Alarm {
                name: "kinesis-iterator-age".into(),
                description: format!(
                    "Consumers of the transaction stream are more than {iterator_age_ms} ms behind"
                ),
                namespace: "AWS/Kinesis",
                metric: "GetRecords.IteratorAgeMilliseconds",
                dimension: ("StreamName", stream.attr("name")),
                statistic: Statistic::Maximum,
                comparison: ComparisonOperator::GreaterThanThreshold,
                threshold: iterator_age_ms,
                treat_missing_data: "notBreaching",
            },
            Alarm {
                name: "kinesis-write-throttled".into(),
                description: format!(
                    "More than {write_throttled} writes to the transaction stream were throttled \
                     in a period (too few shards)"
                ),
                namespace: "AWS/Kinesis",
                metric: "WriteProvisionedThroughputExceeded",
                dimension: ("StreamName", stream.attr("name")),
                statistic: Statistic::Sum,
                comparison: ComparisonOperator::GreaterThanThreshold,
                threshold: write_throttled,
                treat_missing_data: "notBreaching",
            },
        ];
        for i in 1..=redis_nodes {
            let member = format!("{redis_group}-{i:03}");
            alarms.push(Alarm {
                name: format!("redis-cpu-{i:03}"),
                description: format!("Redis engine CPU of {member} above {redis_cpu}%"),
                namespace: "AWS/ElastiCache",
                metric: "EngineCPUUtilization",
                dimension: ("CacheClusterId", member.as_str().into()),
                statistic: Statistic::Average,
                comparison: ComparisonOperator::GreaterThanThreshold,
                threshold: redis_cpu,
                treat_missing_data: "missing",
            });
            alarms.push(Alarm {
                name: format!("redis-memory-{i:03}"),
                description: format!("Redis memory use of {member} above {redis_memory}%"),
                namespace: "AWS/ElastiCache",
                metric: "DatabaseMemoryUsagePercentage",
                dimension: ("CacheClusterId", member.into()),
                statistic: Statistic::Average,
                comparison: ComparisonOperator::GreaterThanThreshold,
                threshold: redis_memory,
                treat_missing_data: "missing",
            });
        }
        alarms.extend([
            Alarm {
                name: "rds-cpu".into(),
                description: format!("Database CPU above {rds_cpu}%"),
                namespace: "AWS/RDS",
                metric: "CPUUtilization",
                dimension: ("DBInstanceIdentifier", db.attr("id")),
                statistic: Statistic::Average,
                comparison: ComparisonOperator::GreaterThanThreshold,
                threshold: rds_cpu,
                treat_missing_data: "missing",
            },
            Alarm {
                name: "rds-free-storage".into(),
                description: format!("Database free storage below {rds_free_gb} GiB"),
                namespace: "AWS/RDS",
                metric: "FreeStorageSpace",
                dimension: ("DBInstanceIdentifier", db.attr("id")),
                statistic: Statistic::Minimum,
                comparison: ComparisonOperator::LessThanThreshold,
                threshold: rds_free_gb * 1024.0 * 1024.0 * 1024.0,
                treat_missing_data: "missing",
            },
            Alarm {
                name: "rds-connections".into(),
                description: format!("More than {rds_connections} database connections"),
                namespace: "AWS/RDS",
                metric: "DatabaseConnections",
                dimension: ("DBInstanceIdentifier", db.attr("id")),
                statistic: Statistic::Maximum,
                comparison: ComparisonOperator::GreaterThanThreshold,
                threshold: rds_connections,
                treat_missing_data: "missing",
            },
        ]);

        for a in alarms {
            let name = ctx.named(&format!("japancart-{}", a.name));
            let (dimension_name, dimension_value) = a.dimension;
            // A literal dimension (the Redis member ids) implies no order: say it.
            let after: &[&Handle] = if a.namespace == "AWS/ElastiCache" {
                &[&redis]
            } else {
                &[]
            };
            stack.add_after(
                &a.name,
                MetricAlarm {
                    name: name.clone(),
                    description: a.description,
                    namespace: a.namespace.into(),
                    metric_name: a.metric.into(),
                    dimensions: vec![Dimension {
                        name: dimension_name.into(),
                        value: dimension_value,
                    }],
                    statistic: a.statistic,
                    period_seconds: period,
                    evaluation_periods,
                    threshold: a.threshold,
                    comparison_operator: a.comparison,
                    treat_missing_data: a.treat_missing_data.into(),
                    alarm_actions: vec![topic.attr("arn")],
                    ok_actions: vec![topic.attr("arn")],
                    tags: ctx.tags(&[("Name", &name)]),
                },
                after,
            );
        }
        stack.output(
            "alarm_topic_arn",
            "SNS topic for alarm notifications (subscribe to it)",
            topic.output("arn"),
        );
        Ok(stack)
    }
}

component!(Monitoring);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_every_key_declare_reads() {
        let names: Vec<String> = Monitoring::info()
            .config
            .into_iter()
            .map(|k| k.name)
            .collect();
        assert_eq!(
            names,
            [
                "alarm-topic-kms-key",
                "alarm-period-seconds",
                "alarm-evaluation-periods",
                "alarm-kinesis-iterator-age-ms",
                "alarm-kinesis-write-throttled",
                "alarm-redis-cpu-percent",
                "alarm-redis-memory-percent",
                "alarm-rds-cpu-percent",
                "alarm-rds-free-storage-gb",
                "alarm-rds-connections",
                "redis-num-nodes",
                "kms-deletion-window-days",
                "project",
            ]
        );
        let ctx = Context::new("japancart", "us-east-1", "dev");
        assert_eq!(undeclared_keys::<Monitoring>(&ctx), Vec::<String>::new());
    }

    #[test]
    fn defaults_and_ranges() {
        let ctx = Context::new("japancart", "us-east-1", "dev");
        let stack = Monitoring::declare(&ctx).expect("declares");
        let alarms: Vec<&MetricAlarm> = stack
            .resources()
            .iter()
            .filter_map(|r| match &r.spec {
                ResourceSpec::MetricAlarm(a) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(alarms.len(), 9);
        let thresholds: Vec<f64> = alarms.iter().map(|a| a.threshold).collect();
        assert_eq!(
            thresholds,
            [
                60_000.0,
                0.0,
                80.0,
                80.0,
                80.0,
                80.0,
                80.0,
                2.0 * 1024.0 * 1024.0 * 1024.0,
                80.0
            ]
        );
        assert!(
            alarms
                .iter()
                .all(|a| a.period_seconds == 300 && a.evaluation_periods == 2)
        );
        let err = Monitoring::declare(&ctx.clone().with_config("alarm-rds-cpu-percent", "101"))
            .err()
            .expect("refused");
        assert_eq!(
            err,
            "config `alarm-rds-cpu-percent` = `101`: must be 0 to 100"
        );
        let err = Monitoring::declare(&ctx.with_config("alarm-period-seconds", "90"))
            .err()
            .expect("refused");
        assert!(
            err.ends_with("must be 10, 20, 30 or a multiple of 60"),
            "{err}"
        );
    }
}
