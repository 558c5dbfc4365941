//! Amazon SNS topics.
//!
//! SNS has no batch describe: a read costs `GetTopicAttributes` and
//! `ListTagsForResource` per topic (plus one `ListTopics` listing when a topic's
//! ARN is not known yet, as when adopting).

use crate::kinds::AwsKind;
use async_trait::async_trait;
use aws_sdk_sns::types::Tag as SnsTag;
use engine_core::model::{SnsTopic, Tag};
use engine_core::{Address, Kind, Spec};
use serde_json::json;

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::provider::{
    Attributes, Aws, Found, Op, ReadRequest, already_exists, attr, attrs, live_kms, wrong_kind,
};
use crate::tags;

const KMS_ATTRIBUTE: &str = "KmsMasterKeyId";

fn sns_tags(address: &Address, tags: &[Tag]) -> Result<Vec<SnsTag>, ProviderError> {
    tags.iter()
        .map(|t| {
            SnsTag::builder()
                .key(&t.key)
                .value(&t.value)
                .build()
                .map_err(|e| {
                    ProviderError::new(
                        ErrorKind::Invalid,
                        "build tags",
                        Some(address),
                        e.to_string(),
                    )
                })
        })
        .collect()
}

impl Aws {
    pub(crate) async fn topic_create(
        &self,
        op: &Op<'_>,
        s: &SnsTopic,
    ) -> Result<Attributes, ProviderError> {
        // CreateTopic is idempotent: for a name the account already has it returns
        // that topic's ARN instead of failing, which would take over another
        // stack's topic. Look first, and refuse a taken name like other services do.
        // https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
        if let Some(arn) = self.topic_arn_by_name(op.address, &s.name).await? {
            return Err(already_exists(
                op,
                "CreateTopic",
                format!("a topic named {} already exists ({arn})", s.name),
            ));
        }
        let mut call = self
            .sns
            .create_topic()
            .name(&s.name)
            .set_tags(Some(sns_tags(op.address, &op.tags(&s.tags))?));
        if let Some(key) = op.opt(&s.kms_key_id)? {
            call = call.attributes(KMS_ATTRIBUTE, key);
        }
        let out = call.send().await.map_err(op.refused("CreateTopic"))?;
        Ok(attrs([
            ("arn", json!(out.topic_arn().unwrap_or_default())),
            ("name", json!(s.name)),
        ]))
    }

    async fn topic_arn_by_name(
        &self,
        address: &Address,
        name: &str,
    ) -> Result<Option<String>, ProviderError> {
        let topics: Vec<_> = self
            .sns
            .list_topics()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk_err("ListTopics", Some(address)))?;
        let suffix = format!(":{name}");
        Ok(topics
            .into_iter()
            .filter_map(|t| t.topic_arn)
            .find(|arn| arn.ends_with(&suffix)))
    }

    pub(crate) async fn topic_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::SnsTopic(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::SnsTopic, &r.prior));
            };
            let arn = match attr(&r.attributes, "arn", &r.address) {
                Ok(a) => a,
                Err(_) => match self.topic_arn_by_name(&r.address, &prior.name).await? {
                    Some(a) => a,
                    None => {
                        out.push(None);
                        continue;
                    }
                },
            };
            let attributes = match self.sns.get_topic_attributes().topic_arn(&arn).send().await {
                Ok(o) => o.attributes.unwrap_or_default(),
                Err(e) => {
                    let e = crate::error::from_sdk("GetTopicAttributes", Some(&r.address), e);
                    if e.is_not_found() {
                        out.push(None);
                        continue;
                    }
                    return Err(e);
                }
            };
            let live_tags = self
                .sns
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .map_err(sdk_err("ListTagsForResource", Some(&r.address)))?
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            let (tags, owner) = tags::split(live_tags, &prior.tags);
            let key = attributes
                .get(KMS_ATTRIBUTE)
                .filter(|k| !k.is_empty())
                .cloned();
            out.push(Some(Found {
                spec: Spec::SnsTopic(SnsTopic {
                    name: prior.name.clone(),
                    kms_key_id: live_kms(&prior.kms_key_id, key),
                    tags,
                }),
                attributes: attrs([("arn", json!(arn)), ("name", json!(prior.name))]),
                owner,
            }));
        }
        Ok(out)
    }

    pub(crate) async fn topic_update(
        &self,
        op: &Op<'_>,
        o: &SnsTopic,
        n: &SnsTopic,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let arn = attr(a, "arn", op.address)?;
        let (ok, nk) = (op.opt(&o.kms_key_id)?, op.opt(&n.kms_key_id)?);
        if ok != nk {
            // An empty value turns encryption off.
            self.sns
                .set_topic_attributes()
                .topic_arn(&arn)
                .attribute_name(KMS_ATTRIBUTE)
                .attribute_value(nk.unwrap_or_default())
                .send()
                .await
                .map_err(op.err("SetTopicAttributes"))?;
        }
        let (set, remove) = op.tag_diff(&o.tags, &n.tags);
        if !remove.is_empty() {
            self.sns
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(op.err("UntagResource"))?;
        }
        if !set.is_empty() {
            self.sns
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(sns_tags(op.address, &set)?))
                .send()
                .await
                .map_err(op.err("TagResource"))?;
        }
        Ok(a.clone())
    }

    pub(crate) async fn topic_delete(
        &self,
        op: &Op<'_>,
        _s: &SnsTopic,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let arn = attr(a, "arn", op.address)?;
        self.delete_retrying(op, || async {
            self.sns
                .delete_topic()
                .topic_arn(&arn)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteTopic"))
        })
        .await
    }
}

#[async_trait]
impl AwsKind for SnsTopic {
    const NOT_FOUND: &'static [&'static str] = &["NotFound"];

    /// By its ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`) or its name.
    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        self.name = super::name_or_arn(id, "", "SNS topic")?;
        Ok(if id.starts_with("arn:") {
            crate::provider::attrs([("arn", serde_json::Value::String(id.into()))])
        } else {
            crate::provider::Attributes::new()
        })
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.topic_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.topic_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.topic_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.topic_delete(op, self, a).await
    }
}
