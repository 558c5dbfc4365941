//! Amazon CloudWatch metric alarms.
//!
//! `PutMetricAlarm` creates and updates (it replaces the whole alarm; tags given to
//! it apply only at creation, so tag changes use `TagResource`/`UntagResource`).
//! Reads use one `DescribeAlarms` per 100 names; tags cost one
//! `ListTagsForResource` per alarm.
//!
//! `aws-sdk-cloudwatch` is pinned to 1.99.0, the last release speaking the query
//! protocol: later ones speak Smithy RPCv2-CBOR, which moto 5.2.5 answers with 404.

use crate::kinds::AwsKind;
use async_trait::async_trait;
use std::collections::HashMap;

use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator as CwComparison, Dimension as CwDimension,
    MetricAlarm as LiveAlarm, Statistic as CwStatistic, Tag as CwTag,
};
use engine_core::model::{ComparisonOperator, Dimension, MetricAlarm, Statistic, Tag};
use engine_core::{Kind, Spec, Text};
use serde_json::json;

use crate::error::{ProviderError, sdk_err};
use crate::provider::{
    Attributes, Aws, Found, Op, ReadRequest, already_exists, attrs, client, order_texts, wrong_kind,
};
use crate::tags;

/// `DescribeAlarms` takes at most 100 names.
const MAX_NAMES: usize = 100;

fn cw_tags(tags: &[Tag]) -> Vec<CwTag> {
    tags.iter()
        .map(|t| CwTag::builder().key(&t.key).value(&t.value).build())
        .collect()
}

fn statistic(s: Statistic) -> CwStatistic {
    match s {
        Statistic::Average => CwStatistic::Average,
        Statistic::Sum => CwStatistic::Sum,
        Statistic::Minimum => CwStatistic::Minimum,
        Statistic::Maximum => CwStatistic::Maximum,
        Statistic::SampleCount => CwStatistic::SampleCount,
    }
}

fn statistic_back(s: &CwStatistic) -> Option<Statistic> {
    Some(match s {
        CwStatistic::Average => Statistic::Average,
        CwStatistic::Sum => Statistic::Sum,
        CwStatistic::Minimum => Statistic::Minimum,
        CwStatistic::Maximum => Statistic::Maximum,
        CwStatistic::SampleCount => Statistic::SampleCount,
        _ => return None,
    })
}

fn comparison(c: ComparisonOperator) -> CwComparison {
    match c {
        ComparisonOperator::GreaterThanOrEqualToThreshold => {
            CwComparison::GreaterThanOrEqualToThreshold
        }
        ComparisonOperator::GreaterThanThreshold => CwComparison::GreaterThanThreshold,
        ComparisonOperator::LessThanThreshold => CwComparison::LessThanThreshold,
        ComparisonOperator::LessThanOrEqualToThreshold => CwComparison::LessThanOrEqualToThreshold,
    }
}

fn comparison_back(c: &CwComparison) -> Option<ComparisonOperator> {
    Some(match c {
        CwComparison::GreaterThanOrEqualToThreshold => {
            ComparisonOperator::GreaterThanOrEqualToThreshold
        }
        CwComparison::GreaterThanThreshold => ComparisonOperator::GreaterThanThreshold,
        CwComparison::LessThanThreshold => ComparisonOperator::LessThanThreshold,
        CwComparison::LessThanOrEqualToThreshold => ComparisonOperator::LessThanOrEqualToThreshold,
        _ => return None,
    })
}

impl Aws {
    /// The CloudWatch client (built on first use, like any service a kind brings).
    fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        self.client(|sdk, options| client!(aws_sdk_cloudwatch, sdk, options))
    }

    async fn alarm_put(
        &self,
        op: &Op<'_>,
        s: &MetricAlarm,
        with_tags: bool,
    ) -> Result<(), ProviderError> {
        let dimensions = s
            .dimensions
            .iter()
            .map(|d| {
                Ok(CwDimension::builder()
                    .name(&d.name)
                    .value(op.lit(&d.value)?)
                    .build())
            })
            .collect::<Result<Vec<_>, ProviderError>>()?;
        let mut call = self
            .cloudwatch()
            .put_metric_alarm()
            .alarm_name(&s.name)
            .alarm_description(&s.description)
            .namespace(&s.namespace)
            .metric_name(&s.metric_name)
            .set_dimensions(Some(dimensions))
            .statistic(statistic(s.statistic))
            .period(i32::try_from(s.period_seconds).unwrap_or(i32::MAX))
            .evaluation_periods(i32::try_from(s.evaluation_periods).unwrap_or(i32::MAX))
            .threshold(s.threshold)
            .comparison_operator(comparison(s.comparison_operator))
            .treat_missing_data(&s.treat_missing_data)
            .set_alarm_actions(Some(op.lits(&s.alarm_actions)?))
            .set_ok_actions(Some(op.lits(&s.ok_actions)?));
        if with_tags {
            call = call.set_tags(Some(cw_tags(&op.tags(&s.tags))));
        }
        call.send().await.map_err(op.refused("PutMetricAlarm"))?;
        Ok(())
    }

    async fn alarms(&self, names: &[String]) -> Result<Vec<LiveAlarm>, ProviderError> {
        let mut out = Vec::new();
        for part in names.chunks(self.page(MAX_NAMES)) {
            let pages: Vec<_> = self
                .cloudwatch()
                .describe_alarms()
                .set_alarm_names(Some(part.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(sdk_err("DescribeAlarms", None))?;
            out.extend(
                pages
                    .into_iter()
                    .flat_map(|p| p.metric_alarms.unwrap_or_default()),
            );
        }
        Ok(out)
    }

    pub(crate) async fn alarm_create(
        &self,
        op: &Op<'_>,
        s: &MetricAlarm,
    ) -> Result<Attributes, ProviderError> {
        // PutMetricAlarm creates *or updates*: on a taken name it would overwrite
        // another stack's alarm. Look first, and refuse a taken name.
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
        let taken = self
            .alarms(std::slice::from_ref(&s.name))
            .await
            .map_err(|e| e.at(op.address))?;
        if let Some(a) = taken.first() {
            return Err(already_exists(
                op,
                "PutMetricAlarm",
                format!(
                    "an alarm named {} already exists ({})",
                    s.name,
                    a.alarm_arn.as_deref().unwrap_or("no ARN")
                ),
            ));
        }
        self.alarm_put(op, s, true).await?;
        let arn = self
            .alarms(std::slice::from_ref(&s.name))
            .await
            .map_err(|e| e.at(op.address))?
            .into_iter()
            .find_map(|a| a.alarm_arn)
            .unwrap_or_default();
        Ok(attrs([("arn", json!(arn)), ("name", json!(s.name))]))
    }

    pub(crate) async fn alarm_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut names = Vec::new();
        for r in reqs {
            let Spec::MetricAlarm(p) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::MetricAlarm, &r.prior));
            };
            if !names.contains(&p.name) {
                names.push(p.name.clone());
            }
        }
        let live = self.alarms(&names).await?;
        let by_name: HashMap<&str, &LiveAlarm> = live
            .iter()
            .filter_map(|a| Some((a.alarm_name()?, a)))
            .collect();
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::MetricAlarm(prior) = &r.prior else {
                unreachable!("checked above")
            };
            let Some(a) = by_name.get(prior.name.as_str()) else {
                out.push(None);
                continue;
            };
            let arn = a.alarm_arn().unwrap_or_default();
            let live_tags = self
                .cloudwatch()
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(sdk_err("ListTagsForResource", Some(&r.address)))?
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let (tags, owner) = tags::split(live_tags, &prior.tags);
            let mut dimensions: Vec<Dimension> = a
                .dimensions()
                .iter()
                .map(|d| Dimension {
                    name: d.name().unwrap_or_default().to_string(),
                    value: Text::Literal(d.value().unwrap_or_default().to_string()),
                })
                .collect();
            // Order like the spec.
            dimensions.sort_by_key(|d| {
                prior
                    .dimensions
                    .iter()
                    .position(|p| p.name == d.name)
                    .unwrap_or(usize::MAX)
            });
            out.push(Some(Found {
                spec: Spec::MetricAlarm(MetricAlarm {
                    name: prior.name.clone(),
                    description: a.alarm_description().unwrap_or_default().to_string(),
                    namespace: a.namespace().unwrap_or_default().to_string(),
                    metric_name: a.metric_name().unwrap_or_default().to_string(),
                    dimensions,
                    statistic: a
                        .statistic()
                        .and_then(statistic_back)
                        .unwrap_or(prior.statistic),
                    period_seconds: u32::try_from(a.period().unwrap_or(0)).unwrap_or(0),
                    evaluation_periods: u32::try_from(a.evaluation_periods().unwrap_or(0))
                        .unwrap_or(0),
                    threshold: a.threshold().unwrap_or(0.0),
                    comparison_operator: a
                        .comparison_operator()
                        .and_then(comparison_back)
                        .unwrap_or(prior.comparison_operator),
                    treat_missing_data: a.treat_missing_data().unwrap_or("missing").to_string(),
                    alarm_actions: order_texts(a.alarm_actions().to_vec(), &prior.alarm_actions),
                    ok_actions: order_texts(a.ok_actions().to_vec(), &prior.ok_actions),
                    tags,
                }),
                attributes: attrs([("arn", json!(arn)), ("name", json!(prior.name))]),
                owner,
            }));
        }
        Ok(out)
    }

    pub(crate) async fn alarm_update(
        &self,
        op: &Op<'_>,
        o: &MetricAlarm,
        n: &MetricAlarm,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let mut o_cmp = o.clone();
        o_cmp.tags = n.tags.clone();
        if o_cmp != *n {
            self.alarm_put(op, n, false).await?;
        }
        let arn = crate::provider::attr(a, "arn", op.address)?;
        let (set, remove) = op.tag_diff(&o.tags, &n.tags);
        if !remove.is_empty() {
            self.cloudwatch()
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(op.err("UntagResource"))?;
        }
        if !set.is_empty() {
            self.cloudwatch()
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(cw_tags(&set)))
                .send()
                .await
                .map_err(op.err("TagResource"))?;
        }
        Ok(a.clone())
    }

    pub(crate) async fn alarm_delete(
        &self,
        op: &Op<'_>,
        s: &MetricAlarm,
    ) -> Result<(), ProviderError> {
        self.delete_retrying(op, || async {
            self.cloudwatch()
                .delete_alarms()
                .alarm_names(&s.name)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteAlarms"))
        })
        .await
    }
}

#[async_trait]
impl AwsKind for MetricAlarm {
    const NOT_FOUND: &'static [&'static str] = &["ResourceNotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        self.name = super::name_or_arn(id, "alarm:", "metric alarm")?;
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.alarm_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.alarm_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.alarm_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.alarm_delete(op, self).await
    }
}
