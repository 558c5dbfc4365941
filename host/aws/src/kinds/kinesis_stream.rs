//! Amazon Kinesis Data Streams (provisioned mode).
//!
//! Creation tags the stream with the create call, waits until it is `ACTIVE`, then
//! sets retention, encryption and enhanced monitoring. Kinesis refuses every
//! mutating call (`ResourceInUseException`) unless the stream is `ACTIVE`
//! (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_StartStreamEncryption.html>,
//! `API_AddTagsToStream.html`, `API_DeleteStream.html`), and several of them put it
//! in `UPDATING`, so each such call goes through [`Aws::stream_mutate`]: wait for
//! `ACTIVE`, call, and wait again if another change got in between. Kinesis has no
//! batch describe: a read costs `DescribeStreamSummary` and
//! `ListTagsForStream` per stream.

use crate::kinds::AwsKind;
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap};

use aws_sdk_kinesis::types::{
    EncryptionType, MetricsName, ScalingType, StreamDescriptionSummary, StreamMode,
    StreamModeDetails, StreamStatus,
};
use engine_core::model::{KinesisStream, Tag};
use engine_core::{Kind, Spec};
use serde_json::json;

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::provider::{
    Attributes, Aws, Check, Found, Op, ReadRequest, attrs, live_kms, order_like, wrong_kind,
};
use crate::tags;

/// Every shard-level metric, which `ALL` stands for.
const ALL_METRICS: &[&str] = &[
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

fn expand(metrics: &[String]) -> BTreeSet<String> {
    if metrics.iter().any(|m| m == "ALL") {
        ALL_METRICS.iter().map(|m| m.to_string()).collect()
    } else {
        metrics.iter().cloned().collect()
    }
}

impl Aws {
    async fn stream_summary(
        &self,
        op: &Op<'_>,
        name: &str,
    ) -> Result<Option<StreamDescriptionSummary>, ProviderError> {
        match self
            .kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
        {
            Ok(o) => Ok(o.stream_description_summary),
            Err(e) => {
                let e = crate::error::from_sdk("DescribeStreamSummary", Some(op.address), e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    /// Waits until the stream is `ACTIVE` and returns its summary.
    async fn stream_wait_active(
        &self,
        op: &Op<'_>,
        name: &str,
    ) -> Result<StreamDescriptionSummary, ProviderError> {
        self.wait_for(
            op,
            "the stream is ACTIVE",
            self.options.timeouts.kinesis_stream,
            || async {
                match self.stream_summary(op, name).await? {
                    Some(s) if s.stream_status == StreamStatus::Active => Ok(Check::Done(s)),
                    Some(s) => Ok(Check::Pending(s.stream_status.as_str().to_string())),
                    None => Ok(Check::Pending("not yet visible".into())),
                }
            },
        )
        .await
    }

    /// Runs one mutating call once the stream is `ACTIVE`; a
    /// `ResourceInUseException` (the stream left `ACTIVE` in between) waits again.
    async fn stream_mutate<F, Fut>(
        &self,
        op: &Op<'_>,
        name: &str,
        mut call: F,
    ) -> Result<(), ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), ProviderError>>,
    {
        let start = std::time::Instant::now();
        loop {
            self.stream_wait_active(op, name).await?;
            match call().await {
                Err(e)
                    if e.has_code("ResourceInUseException")
                        && start.elapsed() < self.options.timeouts.kinesis_stream => {}
                r => return r,
            }
        }
    }

    pub(crate) async fn stream_create(
        &self,
        op: &Op<'_>,
        s: &KinesisStream,
    ) -> Result<Attributes, ProviderError> {
        let mode = StreamModeDetails::builder()
            .stream_mode(StreamMode::Provisioned)
            .build()
            .map_err(|e| {
                ProviderError::new(
                    ErrorKind::Invalid,
                    "CreateStream",
                    Some(op.address),
                    e.to_string(),
                )
            })?;
        // Tagged by the create itself: a stream can never exist without its
        // ownership tags (tagging afterwards needs the stream ACTIVE, and a failure
        // there would leave a stream no apply could prove its own).
        // https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html
        let tags = op
            .tags(&s.tags)
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect();
        self.kinesis
            .create_stream()
            .stream_name(&s.name)
            .shard_count(i32::try_from(s.shard_count).unwrap_or(i32::MAX))
            .stream_mode_details(mode)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(op.refused("CreateStream"))?;
        let summary = self.stream_wait_active(op, &s.name).await?;
        let blank = KinesisStream {
            shard_count: s.shard_count,
            retention_period_hours: 24,
            kms_key_id: None,
            shard_level_metrics: vec![],
            tags: s.tags.clone(),
            name: s.name.clone(),
        };
        self.stream_apply(op, &blank, s).await?;
        // Done means settled: the last change may have left the stream UPDATING.
        self.stream_wait_active(op, &s.name).await?;
        Ok(attrs([
            ("name", json!(s.name)),
            ("arn", json!(summary.stream_arn)),
        ]))
    }

    /// Applies every difference but the name and tags.
    async fn stream_apply(
        &self,
        op: &Op<'_>,
        o: &KinesisStream,
        n: &KinesisStream,
    ) -> Result<(), ProviderError> {
        let name = n.name.as_str();
        if o.retention_period_hours != n.retention_period_hours {
            let hours = i32::try_from(n.retention_period_hours).unwrap_or(i32::MAX);
            if n.retention_period_hours > o.retention_period_hours {
                self.stream_mutate(op, name, || async {
                    self.kinesis
                        .increase_stream_retention_period()
                        .stream_name(name)
                        .retention_period_hours(hours)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(op.err("IncreaseStreamRetentionPeriod"))
                })
                .await?;
            } else {
                self.stream_mutate(op, name, || async {
                    self.kinesis
                        .decrease_stream_retention_period()
                        .stream_name(name)
                        .retention_period_hours(hours)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(op.err("DecreaseStreamRetentionPeriod"))
                })
                .await?;
            }
        }
        if o.shard_count != n.shard_count {
            self.stream_mutate(op, name, || async {
                self.kinesis
                    .update_shard_count()
                    .stream_name(name)
                    .target_shard_count(i32::try_from(n.shard_count).unwrap_or(i32::MAX))
                    .scaling_type(ScalingType::UniformScaling)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("UpdateShardCount"))
            })
            .await?;
        }
        let (ok, nk) = (op.opt(&o.kms_key_id)?, op.opt(&n.kms_key_id)?);
        if ok != nk {
            if let Some(old) = &ok {
                self.stream_mutate(op, name, || async {
                    self.kinesis
                        .stop_stream_encryption()
                        .stream_name(name)
                        .encryption_type(EncryptionType::Kms)
                        .key_id(old)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(op.err("StopStreamEncryption"))
                })
                .await?;
            }
            if let Some(new) = &nk {
                self.stream_mutate(op, name, || async {
                    self.kinesis
                        .start_stream_encryption()
                        .stream_name(name)
                        .encryption_type(EncryptionType::Kms)
                        .key_id(new)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(op.err("StartStreamEncryption"))
                })
                .await?;
            }
        }
        let (om, nm) = (
            expand(&o.shard_level_metrics),
            expand(&n.shard_level_metrics),
        );
        let disable: Vec<MetricsName> = om
            .difference(&nm)
            .map(|m| MetricsName::from(m.as_str()))
            .collect();
        let enable: Vec<MetricsName> = nm
            .difference(&om)
            .map(|m| MetricsName::from(m.as_str()))
            .collect();
        if !disable.is_empty() {
            self.stream_mutate(op, name, || async {
                self.kinesis
                    .disable_enhanced_monitoring()
                    .stream_name(name)
                    .set_shard_level_metrics(Some(disable.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("DisableEnhancedMonitoring"))
            })
            .await?;
        }
        if !enable.is_empty() {
            self.stream_mutate(op, name, || async {
                self.kinesis
                    .enable_enhanced_monitoring()
                    .stream_name(name)
                    .set_shard_level_metrics(Some(enable.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("EnableEnhancedMonitoring"))
            })
            .await?;
        }
        Ok(())
    }

    async fn stream_retag(
        &self,
        op: &Op<'_>,
        name: &str,
        old: &[Tag],
        new: &[Tag],
    ) -> Result<(), ProviderError> {
        let (set, remove) = op.tag_diff(old, new);
        // Both calls take at most 10 tags.
        for part in remove.chunks(10) {
            self.stream_mutate(op, name, || async {
                self.kinesis
                    .remove_tags_from_stream()
                    .stream_name(name)
                    .set_tag_keys(Some(part.to_vec()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("RemoveTagsFromStream"))
            })
            .await?;
        }
        for part in set.chunks(10) {
            let map: HashMap<String, String> = part
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect();
            self.stream_mutate(op, name, || async {
                self.kinesis
                    .add_tags_to_stream()
                    .stream_name(name)
                    .set_tags(Some(map.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("AddTagsToStream"))
            })
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn stream_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::KinesisStream(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::KinesisStream, &r.prior));
            };
            let cx = crate::provider::OpContext::new(crate::provider::StackIdentity::new("", ""));
            let op = Op::new(&r.address, &cx);
            let Some(s) = self.stream_summary(&op, &prior.name).await? else {
                out.push(None);
                continue;
            };
            if s.stream_status == StreamStatus::Deleting {
                out.push(None);
                continue;
            }
            let mut live_tags = Vec::new();
            let mut start: Option<String> = None;
            loop {
                let page = self
                    .kinesis
                    .list_tags_for_stream()
                    .stream_name(&prior.name)
                    .set_exclusive_start_tag_key(start.clone())
                    .send()
                    .await
                    .map_err(sdk_err("ListTagsForStream", Some(&r.address)))?;
                live_tags.extend(page.tags().iter().map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                }));
                if !page.has_more_tags() || page.tags().is_empty() {
                    break;
                }
                start = page.tags().last().map(|t| t.key().to_string());
            }
            let (tags, owner) = tags::split(live_tags, &prior.tags);
            let live_metrics: Vec<String> = s
                .enhanced_monitoring()
                .iter()
                .flat_map(|m| m.shard_level_metrics())
                .map(|m| m.as_str().to_string())
                .filter(|m| m != "ALL")
                .collect();
            let shard_level_metrics =
                if expand(&prior.shard_level_metrics) == live_metrics.iter().cloned().collect() {
                    prior.shard_level_metrics.clone()
                } else {
                    order_like(live_metrics, &prior.shard_level_metrics)
                };
            let key = match s.encryption_type() {
                Some(EncryptionType::Kms) => s.key_id().map(str::to_string),
                _ => None,
            };
            out.push(Some(Found {
                spec: Spec::KinesisStream(KinesisStream {
                    name: prior.name.clone(),
                    shard_count: u32::try_from(s.open_shard_count).unwrap_or(0),
                    retention_period_hours: u32::try_from(s.retention_period_hours).unwrap_or(0),
                    kms_key_id: live_kms(&prior.kms_key_id, key),
                    shard_level_metrics,
                    tags,
                }),
                attributes: attrs([("name", json!(prior.name)), ("arn", json!(s.stream_arn))]),
                owner,
            }));
        }
        Ok(out)
    }

    pub(crate) async fn stream_update(
        &self,
        op: &Op<'_>,
        o: &KinesisStream,
        n: &KinesisStream,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        self.stream_apply(op, o, n).await?;
        self.stream_retag(op, &n.name, &op.tags(&o.tags), &op.tags(&n.tags))
            .await?;
        self.stream_wait_active(op, &n.name).await?;
        Ok(a.clone())
    }

    pub(crate) async fn stream_delete(
        &self,
        op: &Op<'_>,
        s: &KinesisStream,
    ) -> Result<(), ProviderError> {
        self.delete_retrying(op, || async {
            self.kinesis
                .delete_stream()
                .stream_name(&s.name)
                .enforce_consumer_deletion(true)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteStream"))
        })
        .await?;
        // The name can be used again only once the stream is gone.
        self.wait_for(
            op,
            "the stream is deleted",
            self.options.timeouts.kinesis_stream,
            || async {
                match self.stream_summary(op, &s.name).await? {
                    None => Ok(Check::Done(())),
                    Some(s) => Ok(Check::Pending(s.stream_status.as_str().to_string())),
                }
            },
        )
        .await
    }
}

#[async_trait]
impl AwsKind for KinesisStream {
    const NOT_FOUND: &'static [&'static str] = &["ResourceNotFoundException"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        self.name = super::name_or_arn(id, "stream/", "Kinesis stream")?;
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.stream_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.stream_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.stream_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.stream_delete(op, self).await
    }
}
