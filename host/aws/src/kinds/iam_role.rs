//! AWS IAM: roles with a trust policy and attached managed policies.
//!
//! IAM has no batch describe: a read costs `GetRole` (which includes tags) and
//! `ListAttachedRolePolicies` per role. Policy documents come back URL-encoded;
//! they compare as JSON, so formatting differences are not drift.

use crate::kinds::AwsKind;
use async_trait::async_trait;
use std::collections::BTreeSet;

use aws_sdk_iam::types::Tag as IamTag;
use engine_core::model::{IamRole, Tag};
use engine_core::{Address, Kind, Spec};
use serde_json::json;

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::provider::{Attributes, Aws, Found, Op, ReadRequest, attrs, order_like, wrong_kind};
use crate::tags;

fn iam_tags(address: &Address, tags: &[Tag]) -> Result<Vec<IamTag>, ProviderError> {
    tags.iter()
        .map(|t| {
            IamTag::builder()
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

/// Decodes `%XX` escapes (and `+` as space) in a policy document.
pub(crate) fn url_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The live policy document as a spec value: the prior text when both parse to the
/// same JSON.
fn live_policy(prior: &str, live: &str) -> String {
    let live = if live.trim_start().starts_with('{') {
        live.to_string()
    } else {
        url_decode(live)
    };
    let same = match (
        serde_json::from_str::<serde_json::Value>(prior),
        serde_json::from_str::<serde_json::Value>(&live),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => prior == live,
    };
    if same { prior.to_string() } else { live }
}

impl Aws {
    pub(crate) async fn role_create(
        &self,
        op: &Op<'_>,
        s: &IamRole,
    ) -> Result<Attributes, ProviderError> {
        let out = self
            .iam
            .create_role()
            .role_name(&s.name)
            .description(&s.description)
            .assume_role_policy_document(&s.assume_role_policy)
            .set_tags(Some(iam_tags(op.address, &op.tags(&s.tags))?))
            .send()
            .await
            .map_err(op.refused("CreateRole"))?;
        for arn in &s.managed_policy_arns {
            self.iam
                .attach_role_policy()
                .role_name(&s.name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(op.err("AttachRolePolicy"))?;
        }
        let arn = out.role().map(|r| r.arn()).unwrap_or_default();
        Ok(attrs([("arn", json!(arn)), ("name", json!(s.name))]))
    }

    async fn role_policies(
        &self,
        address: &Address,
        name: &str,
    ) -> Result<Vec<String>, ProviderError> {
        let policies: Vec<_> = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk_err("ListAttachedRolePolicies", Some(address)))?;
        Ok(policies.into_iter().filter_map(|p| p.policy_arn).collect())
    }

    pub(crate) async fn role_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::IamRole(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::IamRole, &r.prior));
            };
            let role = match self.iam.get_role().role_name(&prior.name).send().await {
                Ok(o) => o.role,
                Err(e) => {
                    let e = crate::error::from_sdk("GetRole", Some(&r.address), e);
                    if e.is_not_found() {
                        out.push(None);
                        continue;
                    }
                    return Err(e);
                }
            };
            let Some(role) = role else {
                out.push(None);
                continue;
            };
            let policies = self.role_policies(&r.address, &prior.name).await?;
            let live_tags = role
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            let (tags, owner) = tags::split(live_tags, &prior.tags);
            out.push(Some(Found {
                spec: Spec::IamRole(IamRole {
                    name: role.role_name().to_string(),
                    description: role.description().unwrap_or_default().to_string(),
                    assume_role_policy: live_policy(
                        &prior.assume_role_policy,
                        role.assume_role_policy_document().unwrap_or_default(),
                    ),
                    managed_policy_arns: order_like(policies, &prior.managed_policy_arns),
                    tags,
                }),
                attributes: attrs([
                    ("arn", json!(role.arn())),
                    ("name", json!(role.role_name())),
                ]),
                owner,
            }));
        }
        Ok(out)
    }

    pub(crate) async fn role_update(
        &self,
        op: &Op<'_>,
        o: &IamRole,
        n: &IamRole,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let name = &n.name;
        if o.description != n.description {
            self.iam
                .update_role()
                .role_name(name)
                .description(&n.description)
                .send()
                .await
                .map_err(op.err("UpdateRole"))?;
        }
        if live_policy(&o.assume_role_policy, &n.assume_role_policy) != o.assume_role_policy {
            self.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(&n.assume_role_policy)
                .send()
                .await
                .map_err(op.err("UpdateAssumeRolePolicy"))?;
        }
        let old: BTreeSet<&String> = o.managed_policy_arns.iter().collect();
        let new: BTreeSet<&String> = n.managed_policy_arns.iter().collect();
        for arn in new.difference(&old) {
            self.iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(*arn)
                .send()
                .await
                .map_err(op.err("AttachRolePolicy"))?;
        }
        for arn in old.difference(&new) {
            match self
                .iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(*arn)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) => {
                    let e = crate::error::from_sdk("DetachRolePolicy", Some(op.address), e);
                    if !e.is_not_found() {
                        return Err(e);
                    }
                }
            }
        }
        let (set, remove) = op.tag_diff(&o.tags, &n.tags);
        if !remove.is_empty() {
            self.iam
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(op.err("UntagRole"))?;
        }
        if !set.is_empty() {
            self.iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(iam_tags(op.address, &set)?))
                .send()
                .await
                .map_err(op.err("TagRole"))?;
        }
        Ok(a.clone())
    }

    pub(crate) async fn role_delete(&self, op: &Op<'_>, s: &IamRole) -> Result<(), ProviderError> {
        // A role with attached or inline policies cannot be deleted.
        let attached = match self.role_policies(op.address, &s.name).await {
            Ok(p) => p,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        for arn in attached {
            match self
                .iam
                .detach_role_policy()
                .role_name(&s.name)
                .policy_arn(&arn)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) => {
                    let e = crate::error::from_sdk("DetachRolePolicy", Some(op.address), e);
                    if !e.is_not_found() {
                        return Err(e);
                    }
                }
            }
        }
        let inline: Vec<String> = self
            .iam
            .list_role_policies()
            .role_name(&s.name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(op.err("ListRolePolicies"))?;
        for policy in inline {
            self.iam
                .delete_role_policy()
                .role_name(&s.name)
                .policy_name(&policy)
                .send()
                .await
                .map_err(op.err("DeleteRolePolicy"))?;
        }
        self.delete_retrying(op, || async {
            self.iam
                .delete_role()
                .role_name(&s.name)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteRole"))
        })
        .await
    }
}

#[async_trait]
impl AwsKind for IamRole {
    const NOT_FOUND: &'static [&'static str] = &["NoSuchEntity"];

    /// By its name, or its ARN (`arn:aws:iam::ACCOUNT:role/PATH/NAME`).
    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        let path = super::name_or_arn(id, "role/", "IAM role")?;
        self.name = path.rsplit('/').next().unwrap_or_default().to_string();
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.role_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.role_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.role_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.role_delete(op, self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_compare_as_json() {
        let prior = r#"{"Version": "2012-10-17", "Statement": []}"#;
        let live = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(live_policy(prior, live), prior);
        let other = "%7B%22Version%22%3A%222008-10-17%22%7D";
        assert_eq!(live_policy(prior, other), r#"{"Version":"2008-10-17"}"#);
    }
}
