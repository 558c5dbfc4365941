//! A CloudWatch Logs log group: retention, KMS key, tags. Its name is its identity.
//!
//! `CreateLogGroup` refuses a taken name (`ResourceAlreadyExistsException`), so no
//! look-before-create is needed. Retention is set with `PutRetentionPolicy` and
//! removed with `DeleteRetentionPolicy` (0 here: never expire; AWS then reports no
//! `retentionInDays`); the key with `AssociateKmsKey` / `DisassociateKmsKey`
//! (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html>).
//! Reads cost one `DescribeLogGroups` per name (the API filters by name prefix;
//! the exact name is picked from the answer) and one `ListTagsForResource` per
//! group. `DescribeLogGroups` reports the ARN with a trailing `:*`; the `arn`
//! attribute is the group's ARN without it (what IAM policies and the tagging
//! calls take).
//!
//! `aws-sdk-cloudwatchlogs` speaks `awsJson1_1`, which moto answers: unlike
//! `aws-sdk-cloudwatch`, it needs no pin.

use std::collections::HashMap;

use aws_sdk_cloudwatchlogs::types::LogGroup as LiveGroup;
use engine_core::model::{LogGroup, Tag};
use engine_core::{Address, Kind, Spec};
use serde_json::json;

use crate::error::{ErrorKind, ProviderError, from_sdk, sdk_err};
use crate::provider::{
    Attributes, Aws, Found, Op, ReadRequest, attr, attrs, client, live_kms, wrong_kind,
};
use crate::tags;

use crate::kinds::AwsKind;
use async_trait::async_trait;

/// `DescribeLogGroups` returns at most 50 groups a page.
const MAX_PAGE: usize = 50;

/// The retention periods CloudWatch Logs accepts, in days ("Possible values are:
/// 1, 3, 5, 7, 14, ...",
/// <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html>);
/// 0 here means no policy (never expire).
const RETENTION_DAYS: &[u32] = &[
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Refuses a retention period AWS would refuse, before any call (a create would
/// otherwise leave a group behind whose retention failed).
fn check_retention(op: &Op<'_>, days: u32) -> Result<(), ProviderError> {
    if RETENTION_DAYS.contains(&days) {
        return Ok(());
    }
    let allowed: Vec<String> = RETENTION_DAYS[1..].iter().map(u32::to_string).collect();
    Err(op.invalid("PutRetentionPolicy")(format!(
        "CloudWatch Logs keeps events for 0 (forever) or one of {} days, not {days}",
        allowed.join(", ")
    ))
    .refusing())
}

fn tag_map(tags: &[Tag]) -> HashMap<String, String> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// A log group's ARN without the `:*` that `DescribeLogGroups` appends.
fn bare_arn(g: &LiveGroup) -> String {
    match g.log_group_arn() {
        Some(a) => a.to_string(),
        None => {
            let a = g.arn().unwrap_or_default();
            a.strip_suffix(":*").unwrap_or(a).to_string()
        }
    }
}

impl Aws {
    /// The CloudWatch Logs client (built on first use, like any service a kind
    /// brings).
    fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        self.client(|sdk, options| client!(aws_sdk_cloudwatchlogs, sdk, options))
    }

    /// The group named exactly `name`, if any.
    async fn log_group(
        &self,
        address: &Address,
        name: &str,
    ) -> Result<Option<LiveGroup>, ProviderError> {
        let groups: Vec<LiveGroup> = self
            .logs()
            .describe_log_groups()
            .log_group_name_prefix(name)
            .into_paginator()
            .page_size(i32::try_from(self.page(MAX_PAGE)).unwrap_or(50))
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk_err("DescribeLogGroups", Some(address)))?;
        Ok(groups
            .into_iter()
            .find(|g| g.log_group_name() == Some(name)))
    }

    async fn log_group_set_retention(
        &self,
        op: &Op<'_>,
        name: &str,
        days: u32,
    ) -> Result<(), ProviderError> {
        if days == 0 {
            self.logs()
                .delete_retention_policy()
                .log_group_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteRetentionPolicy"))
        } else {
            // AWS allows only some values (1, 3, 5, 7, 14, ...); it refuses others
            // with InvalidParameterException.
            self.logs()
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(i32::try_from(days).unwrap_or(i32::MAX))
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("PutRetentionPolicy"))
        }
    }

    pub(crate) async fn log_group_create(
        &self,
        op: &Op<'_>,
        s: &LogGroup,
    ) -> Result<Attributes, ProviderError> {
        check_retention(op, s.retention_days)?;
        self.logs()
            .create_log_group()
            .log_group_name(&s.name)
            .set_kms_key_id(op.opt(&s.kms_key_id)?)
            .set_tags(Some(tag_map(&op.tags(&s.tags))))
            .send()
            .await
            .map_err(op.refused("CreateLogGroup"))?;
        if s.retention_days > 0 {
            self.log_group_set_retention(op, &s.name, s.retention_days)
                .await?;
        }
        // Its ARN, from the listing (which may lag the create a moment).
        let g = self
            .retrying(
                op,
                self.options.timeouts.eventual_consistency,
                ProviderError::is_not_found,
                || async {
                    self.log_group(op.address, &s.name).await?.ok_or_else(|| {
                        let mut e = ProviderError::new(
                            ErrorKind::NotFound,
                            "DescribeLogGroups",
                            Some(op.address),
                            format!("the log group {} just created is not listed yet", s.name),
                        );
                        e.code = Some("ResourceNotFoundException".into());
                        e
                    })
                },
            )
            .await?;
        Ok(attrs([
            ("name", json!(s.name)),
            ("arn", json!(bare_arn(&g))),
        ]))
    }

    pub(crate) async fn log_group_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::LogGroup(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::LogGroup, &r.prior));
            };
            let Some(g) = self.log_group(&r.address, &prior.name).await? else {
                out.push(None);
                continue;
            };
            let arn = bare_arn(&g);
            let live_tags = match self
                .logs()
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
            {
                Ok(o) => o.tags.unwrap_or_default().into_iter().collect(),
                Err(e) => {
                    let e = from_sdk("ListTagsForResource", Some(&r.address), e);
                    if e.is_not_found() {
                        out.push(None);
                        continue;
                    }
                    return Err(e);
                }
            };
            let (tags, owner) = tags::split(live_tags, &prior.tags);
            out.push(Some(Found {
                spec: Spec::LogGroup(LogGroup {
                    name: prior.name.clone(),
                    retention_days: g
                        .retention_in_days()
                        .and_then(|d| u32::try_from(d).ok())
                        .unwrap_or(0),
                    kms_key_id: live_kms(&prior.kms_key_id, g.kms_key_id().map(str::to_string)),
                    tags,
                }),
                attributes: attrs([("name", json!(prior.name)), ("arn", json!(arn))]),
                owner,
            }));
        }
        Ok(out)
    }

    pub(crate) async fn log_group_update(
        &self,
        op: &Op<'_>,
        o: &LogGroup,
        n: &LogGroup,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let name = &n.name;
        check_retention(op, n.retention_days)?;
        if o.retention_days != n.retention_days {
            self.log_group_set_retention(op, name, n.retention_days)
                .await?;
        }
        if o.kms_key_id != n.kms_key_id {
            match op.opt(&n.kms_key_id)? {
                Some(key) => self
                    .logs()
                    .associate_kms_key()
                    .log_group_name(name)
                    .kms_key_id(key)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("AssociateKmsKey"))?,
                None => self
                    .logs()
                    .disassociate_kms_key()
                    .log_group_name(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("DisassociateKmsKey"))?,
            }
        }
        let arn = attr(a, "arn", op.address)?;
        let (set, remove) = op.tag_diff(&o.tags, &n.tags);
        if !remove.is_empty() {
            self.logs()
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(op.err("UntagResource"))?;
        }
        if !set.is_empty() {
            self.logs()
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(tag_map(&set)))
                .send()
                .await
                .map_err(op.err("TagResource"))?;
        }
        Ok(a.clone())
    }

    pub(crate) async fn log_group_delete(
        &self,
        op: &Op<'_>,
        s: &LogGroup,
    ) -> Result<(), ProviderError> {
        self.delete_retrying(op, || async {
            self.logs()
                .delete_log_group()
                .log_group_name(&s.name)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteLogGroup"))
        })
        .await
    }
}

#[async_trait]
impl AwsKind for LogGroup {
    const NOT_FOUND: &'static [&'static str] = &["ResourceNotFoundException"];

    /// By its name, or its ARN (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME`,
    /// with or without the trailing `:*`).
    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        let id = id.strip_suffix(":*").unwrap_or(id);
        self.name = super::name_or_arn(id, "log-group:", "log group")?;
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.log_group_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.log_group_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.log_group_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.log_group_delete(op, self).await
    }
}
