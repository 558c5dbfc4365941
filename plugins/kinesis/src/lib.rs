//! The JapanCart transaction stream: one Kinesis data stream, encrypted at rest with
//! a customer-managed KMS key (with an alias), 24-hour retention, enhanced
//! shard-level metrics.
//!
//! Sizing: JapanCart ingests about 1000 transactions a minute (~17 a second); one
//! shard takes 1000 records or 1 MB a second of writes, so one shard is plenty.
//!
//! Config (see docs/japancart.md): `kinesis-shard-count`, `kinesis-retention-hours`,
//! `kinesis-kms-key`, `kinesis-shard-level-metrics`, `kms-deletion-window-days`.

use engine_sdk::*;

struct Stream;

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
            "The transaction stream: Kinesis, KMS-encrypted, shard-level metrics."
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let mut stack = Stack::new();
        let kms_key_id = match ctx.key_choice("kinesis-kms-key", "create") {
            KeyChoice::Create => {
                let key = stack.add_kms_key(
                    "key",
                    &ctx.named("japancart-kinesis"),
                    "Encrypts the JapanCart transaction stream at rest",
                    ctx.config_in("kms-deletion-window-days", 30, 7..=30)?,
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
                shard_count: ctx.config_in("kinesis-shard-count", 1, 1..=500)?,
                retention_period_hours: ctx.config_in("kinesis-retention-hours", 24, 24..=8760)?,
                kms_key_id: Some(kms_key_id),
                shard_level_metrics: ctx
                    .config_list("kinesis-shard-level-metrics", SHARD_LEVEL_METRICS),
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
