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
//! `alarm-evaluation-periods`, and one `alarm-*` threshold per alarm.

use engine_sdk::*;

struct Monitoring;

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
             database."
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let stream = Handle::external("kinesis/transactions");
        let redis = Handle::external("elasticache/redis");
        let db = Handle::external("rds/postgres");
        let period: u32 = ctx.config_in("alarm-period-seconds", 300, 10..=86_400)?;
        if (period >= 60 && !period.is_multiple_of(60))
            || (period < 60 && ![10, 20, 30].contains(&period))
        {
            return Err(format!(
                "config `alarm-period-seconds` = `{period}`: must be 10, 20, 30 or a multiple of 60"
            ));
        }
        let evaluation_periods: u32 = ctx.config_in("alarm-evaluation-periods", 2, 1..=100)?;
        let iterator_age_ms: f64 = ctx.config_parse("alarm-kinesis-iterator-age-ms", 60_000.0)?;
        let write_throttled: f64 = ctx.config_parse("alarm-kinesis-write-throttled", 0.0)?;
        let redis_cpu: f64 = ctx.config_parse("alarm-redis-cpu-percent", 80.0)?;
        let redis_memory: f64 = ctx.config_parse("alarm-redis-memory-percent", 80.0)?;
        let rds_cpu: f64 = ctx.config_parse("alarm-rds-cpu-percent", 80.0)?;
        let rds_free_gb: f64 = ctx.config_parse("alarm-rds-free-storage-gb", 2.0)?;
        let rds_connections: f64 = ctx.config_parse("alarm-rds-connections", 80.0)?;
        // The same values the elasticache plugin reads.
        let redis_group = ctx.named("japancart-redis");
        let redis_nodes: u32 = ctx.config_in("redis-num-nodes", 2, 2..=6)?;

        let mut stack = Stack::new();
        let kms_key_id = match ctx.key_choice("alarm-topic-kms-key", "create") {
            KeyChoice::Create => Some(
                // CloudWatch publishes alarms to the encrypted topic, so it must be
                // allowed to use the key.
                stack
                    .add_kms_key_for_services(
                        "key",
                        &ctx.named("japancart-alarms"),
                        "Encrypts the JapanCart alarm notifications topic",
                        ctx.config_in("kms-deletion-window-days", 30, 7..=30)?,
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
