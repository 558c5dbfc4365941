//! The JapanCart transaction stream: one Kinesis data stream, encrypted at rest with
//! a customer-managed KMS key (with an alias), 24-hour retention, enhanced
//! shard-level metrics.
//!
//! Sizing: JapanCart ingests about 1000 transactions a minute (~17 a second); one
//! shard takes 1000 records or 1 MB a second of writes, so one shard is plenty.
//!
//! Config (see docs/japancart.md): `kinesis-shard-count`, `kinesis-retention-hours`,
//! `kinesis-kms-key`, `kinesis-shard-level-metrics`, `kms-deletion-window-days`, and
//! `project` (the tag).

use engine_sdk::*;

struct Stream;

/// Shards: up to 500, the default shard quota of an account in the largest regions
/// (200 in the others), and retention from 24 hours to 8760 (365 days):
/// <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>.
const SHARDS: IntKey<u32> = IntKey::new(
    "kinesis-shard-count",
    1,
    1..=500,
    "Shards of the stream; each takes 1000 records or 1 MB per second of writes.",
);
/// How long records are kept.
const RETENTION_HOURS: IntKey<u32> = IntKey::new(
    "kinesis-retention-hours",
    24,
    24..=8760,
    "How long the stream keeps records, in hours.",
);
/// The stream's KMS key; `none` is refused.
const KMS_KEY: KeyChoiceKey = KeyChoiceKey::new(
    "kinesis-kms-key",
    "create",
    "The stream's KMS key: `create` (a customer-managed key with an alias), `aws-managed` \
     (alias/aws/kinesis), or an existing key's id, ARN, alias name or alias ARN.",
);
/// Enhanced shard-level metrics.
const SHARD_LEVEL_METRICS_KEY: ListKey = ListKey::new(
    "kinesis-shard-level-metrics",
    SHARD_LEVEL_METRICS,
    "Enhanced (per-shard) CloudWatch metrics, comma-separated, each billed per shard; empty \
     turns them off (the alarms use the free stream-level metrics).",
);

/// Every enhanced shard-level metric Kinesis offers (the same set as `ALL`, spelt
/// out so plans show what is paid for).
const SHARD_LEVEL_METRICS: &[&str] = &[
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

impl ComponentPlugin for Stream {
    fn info() -> PluginInfo {
        info!(
            "kinesis",
            "The transaction stream: Kinesis, KMS-encrypted, shard-level metrics.",
            [
                SHARDS,
                RETENTION_HOURS,
                KMS_KEY,
                SHARD_LEVEL_METRICS_KEY,
                KMS_DELETION_WINDOW_DAYS,
                PROJECT,
            ]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let mut stack = Stack::new();
        let kms_key_id = match KMS_KEY.get(ctx)? {
            KeyChoice::Create => {
                let key = stack.add_kms_key(
                    "key",
                    &ctx.named("japancart-kinesis"),
                    "Encrypts the JapanCart transaction stream at rest",
                    KMS_DELETION_WINDOW_DAYS.get(ctx)?,
                    ctx.tags(&[("Name", &ctx.named("japancart-kinesis-key"))]),
                );
                key.attr("arn")
            }
            KeyChoice::AwsManaged => "alias/aws/kinesis".into(),
            KeyChoice::Existing(key) => key.into(),
            KeyChoice::Unencrypted => {
                return Err(
                    "config `kinesis-kms-key`: the stream must be encrypted at rest; use \
                            `create`, `aws-managed` or an existing key"
                        .into(),
                );
            }
        };
        let stream = stack.add(
            "transactions",
            KinesisStream {
                name: ctx.named("japancart-transactions"),
                shard_count: SHARDS.get(ctx)?,
                retention_period_hours: RETENTION_HOURS.get(ctx)?,
                kms_key_id: Some(kms_key_id),
                shard_level_metrics: SHARD_LEVEL_METRICS_KEY.get(ctx)?,
                tags: ctx.tags(&[("Name", &ctx.named("japancart-transactions"))]),
            },
        );
        stack.output(
            "kinesis_stream_name",
            "Name of the Kinesis stream",
            stream.output("name"),
        );
        stack.output(
            "kinesis_stream_arn",
            "ARN of the Kinesis stream",
            stream.output("arn"),
        );
        Ok(stack)
    }
}

component!(Stream);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_every_key_declare_reads() {
        let names: Vec<String> = Stream::info().config.into_iter().map(|k| k.name).collect();
        assert_eq!(
            names,
            [
                "kinesis-shard-count",
                "kinesis-retention-hours",
                "kinesis-kms-key",
                "kinesis-shard-level-metrics",
                "kms-deletion-window-days",
                "project",
            ]
        );
        let ctx = Context::new("japancart", "us-east-1", "dev");
        assert_eq!(undeclared_keys::<Stream>(&ctx), Vec::<String>::new());
        let metrics = Stream::info()
            .config
            .into_iter()
            .find(|k| k.name == "kinesis-shard-level-metrics")
            .and_then(|k| k.default);
        assert_eq!(
            metrics.as_deref(),
            Some(SHARD_LEVEL_METRICS.join(",").as_str())
        );
    }

    #[test]
    fn defaults_and_ranges() {
        let ctx = Context::new("japancart", "us-east-1", "dev");
        let stack = Stream::declare(&ctx).expect("declares");
        let Some(ResourceSpec::KinesisStream(s)) = stack.get("transactions") else {
            panic!("no stream");
        };
        assert_eq!((s.shard_count, s.retention_period_hours), (1, 24));
        assert_eq!(s.shard_level_metrics.len(), 7);
        let Some(ResourceSpec::KmsKey(key)) = stack.get("key") else {
            panic!("no key");
        };
        assert_eq!(key.deletion_window_days, 30);
        let err = Stream::declare(&ctx.clone().with_config("kinesis-shard-count", "501"))
            .err()
            .expect("refused");
        assert_eq!(
            err,
            "config `kinesis-shard-count` = `501`: must be 1 to 500"
        );
        let err = Stream::declare(&ctx.with_config("kinesis-kms-key", "none"))
            .err()
            .expect("refused");
        assert!(err.starts_with("config `kinesis-kms-key`: the stream must be encrypted"));
    }
}
