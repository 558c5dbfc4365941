//! AWS Secrets Manager: secrets holding a user name and a host-generated password.
//!
//! The password is generated here ([`crate::password::generate`], OS CSPRNG) and
//! sent once, in `CreateSecret`; it is never returned, logged or stored. Reads use
//! `ListSecrets` with name filters (10 names per call, as the API allows), which
//! reports metadata only: the value is never fetched to read a secret back, so the
//! `username` and password policy of a live spec are the prior ones.

use crate::kinds::AwsKind;
use async_trait::async_trait;
use std::collections::HashMap;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag as SmTag};
use engine_core::model::{Secret, Tag};
use engine_core::{Address, Kind, Spec};
use serde_json::json;

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::password::{SecretString, generate};
use crate::provider::{Attributes, Aws, Found, Op, ReadRequest, attr, attrs, live_kms, wrong_kind};
use crate::tags;

/// The KMS key Secrets Manager uses when none is given.
const DEFAULT_KEY: &str = "alias/aws/secretsmanager";

fn sm_tag(t: &Tag) -> SmTag {
    SmTag::builder().key(&t.key).value(&t.value).build()
}

/// The secret's JSON value.
fn value_json(username: &str, password: &SecretString) -> SecretString {
    SecretString::new(json!({ "username": username, "password": password.expose() }).to_string())
}

impl Aws {
    pub(crate) async fn secret_create(
        &self,
        op: &Op<'_>,
        s: &Secret,
    ) -> Result<Attributes, ProviderError> {
        let password = generate(s.password.length, &s.password.exclude_characters)
            .map_err(|e| e.at(op.address))?;
        let value = value_json(&s.username, &password);
        let out = self
            .secrets
            .create_secret()
            .name(&s.name)
            .description(&s.description)
            .set_kms_key_id(op.opt(&s.kms_key_id)?)
            .secret_string(value.expose())
            .set_tags(Some(op.tags(&s.tags).iter().map(sm_tag).collect()))
            .send()
            .await
            .map_err(|e| op.refused("CreateSecret")(e).redact(password.expose()))?;
        Ok(attrs([
            ("arn", json!(out.arn().unwrap_or_default())),
            ("name", json!(s.name)),
            ("username", json!(s.username)),
        ]))
    }

    pub(crate) async fn secret_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut names: Vec<String> = Vec::new();
        for r in reqs {
            let Spec::Secret(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::Secret, &r.prior));
            };
            if !names.contains(&prior.name) {
                names.push(prior.name.clone());
            }
        }
        let mut live = Vec::new();
        // A filter takes at most 10 values (each a name prefix).
        for part in names.chunks(10) {
            let filter = Filter::builder()
                .key(FilterNameStringType::Name)
                .set_values(Some(part.to_vec()))
                .build();
            let pages: Vec<_> = self
                .secrets
                .list_secrets()
                .filters(filter)
                .into_paginator()
                .page_size(i32::try_from(self.page(100)).unwrap_or(100))
                .send()
                .try_collect()
                .await
                .map_err(sdk_err("ListSecrets", None))?;
            live.extend(
                pages
                    .into_iter()
                    .flat_map(|p| p.secret_list.unwrap_or_default()),
            );
        }
        let by_name: HashMap<&str, _> = live
            .iter()
            .filter(|s| s.deleted_date().is_none())
            .filter_map(|s| Some((s.name()?, s)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::Secret(prior) = &r.prior else {
                    return Err(wrong_kind(&r.address, Kind::Secret, &r.prior));
                };
                let Some(s) = by_name.get(prior.name.as_str()) else {
                    return Ok(None);
                };
                let live_tags = s
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
                let key = s
                    .kms_key_id()
                    .filter(|k| *k != DEFAULT_KEY)
                    .map(str::to_string);
                Ok(Some(Found {
                    spec: Spec::Secret(Secret {
                        name: prior.name.clone(),
                        description: s.description().unwrap_or_default().to_string(),
                        kms_key_id: live_kms(&prior.kms_key_id, key),
                        // Not read back: reading them would mean fetching the value.
                        username: prior.username.clone(),
                        password: prior.password.clone(),
                        recovery_window_days: prior.recovery_window_days,
                        tags,
                    }),
                    attributes: attrs([
                        ("arn", json!(s.arn().unwrap_or_default())),
                        ("name", json!(prior.name)),
                        ("username", json!(prior.username)),
                    ]),
                    owner,
                }))
            })
            .collect()
    }

    pub(crate) async fn secret_update(
        &self,
        op: &Op<'_>,
        o: &Secret,
        n: &Secret,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let arn = attr(a, "arn", op.address)?;
        let (ok, nk) = (op.opt(&o.kms_key_id)?, op.opt(&n.kms_key_id)?);
        if o.description != n.description || ok != nk {
            self.secrets
                .update_secret()
                .secret_id(&arn)
                .description(&n.description)
                .set_kms_key_id(
                    (ok != nk).then(|| nk.clone().unwrap_or_else(|| DEFAULT_KEY.to_string())),
                )
                .send()
                .await
                .map_err(op.err("UpdateSecret"))?;
        }
        if o.username != n.username {
            // Keep the password, change the user name beside it.
            let password = self.secret_value(op.address, &arn, "password").await?;
            let value = value_json(&n.username, &password);
            self.secrets
                .put_secret_value()
                .secret_id(&arn)
                .secret_string(value.expose())
                .send()
                .await
                .map_err(|e| op.err("PutSecretValue")(e).redact(password.expose()))?;
        }
        let (set, remove) = op.tag_diff(&o.tags, &n.tags);
        if !remove.is_empty() {
            self.secrets
                .untag_resource()
                .secret_id(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(op.err("UntagResource"))?;
        }
        if !set.is_empty() {
            self.secrets
                .tag_resource()
                .secret_id(&arn)
                .set_tags(Some(set.iter().map(sm_tag).collect()))
                .send()
                .await
                .map_err(op.err("TagResource"))?;
        }
        let mut a = a.clone();
        a.insert("username".into(), json!(n.username));
        Ok(a)
    }

    pub(crate) async fn secret_delete(
        &self,
        op: &Op<'_>,
        s: &Secret,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "arn", op.address).unwrap_or_else(|_| s.name.clone());
        let mut call = self.secrets.delete_secret().secret_id(&id);
        call = if s.recovery_window_days == 0 {
            call.force_delete_without_recovery(true)
        } else {
            call.recovery_window_in_days(i64::from(s.recovery_window_days.clamp(7, 30)))
        };
        match call.send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = crate::error::from_sdk("DeleteSecret", Some(op.address), e);
                // Already scheduled for deletion counts as deleted.
                if e.is_not_found() || e.message.contains("scheduled for deletion") {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Reads one JSON key of a secret's current value (for example the DB master
    /// password). The value is returned wrapped and never logged; errors say which
    /// secret and key, never the value.
    pub async fn secret_value(
        &self,
        address: &Address,
        secret_id: &str,
        key: &str,
    ) -> Result<SecretString, ProviderError> {
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(sdk_err("GetSecretValue", Some(address)))?;
        let raw = SecretString::new(out.secret_string().unwrap_or_default().to_string());
        let not_there = || {
            ProviderError::new(
                ErrorKind::Invalid,
                "GetSecretValue",
                Some(address),
                format!("the secret `{secret_id}` holds no JSON object with a string key `{key}`"),
            )
        };
        let parsed: serde_json::Value =
            serde_json::from_str(raw.expose()).map_err(|_| not_there())?;
        let value = parsed
            .get(key)
            .and_then(|v| v.as_str())
            .ok_or_else(not_there)?;
        Ok(SecretString::new(value.to_string()))
    }
}

#[async_trait]
impl AwsKind for Secret {
    const NOT_FOUND: &'static [&'static str] = &["ResourceNotFoundException"];

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.secret_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.secret_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.secret_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.secret_delete(op, self, a).await
    }
}
