//! AWS Secrets Manager: secrets holding a user name and a host-generated password.
//!
//! The password is generated here ([`crate::password::generate`], OS CSPRNG) and
//! sent once, in `CreateSecret`; it is never returned, logged or stored. Reads use
//! `ListSecrets` with name filters (10 names per call, as the API allows), which
//! reports metadata only: the value is never fetched to read a secret back, so the
//! `username` and password policy of a live spec are the prior ones.
//!
//! A deleted secret stays "scheduled for deletion" for its recovery window, and
//! its name cannot be created again until then
//! (<https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html>).
//! So a create that finds its name so held restores the secret when its tags prove
//! it this stack's (a re-apply after destroy) and gives it the new value; a delete
//! that makes way for a replacement deletes without recovery; and a delete of a
//! secret already scheduled is done (judged by its `DeletedDate`, not by the
//! wording of AWS's message).

use crate::kinds::AwsKind;
use async_trait::async_trait;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::Tag as SmTag;
use engine_core::model::{Secret, Tag};
use engine_core::{Address, Kind, Spec};
use serde_json::json;

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::password::{SecretString, generate};
use crate::provider::{
    Attributes, Aws, Found, Op, Ownership, ReadRequest, attr, attrs, live_kms, wrong_kind,
};
use crate::tags;

/// The KMS key Secrets Manager uses when none is given.
const DEFAULT_KEY: &str = "alias/aws/secretsmanager";

fn sm_tag(t: &Tag) -> SmTag {
    SmTag::builder().key(&t.key).value(&t.value).build()
}

/// A secret's tags as pairs.
fn live_tags(tags: &[SmTag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
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
        let created = self
            .secrets
            .create_secret()
            .name(&s.name)
            .description(&s.description)
            .set_kms_key_id(op.opt(&s.kms_key_id)?)
            .secret_string(value.expose())
            .set_tags(Some(op.tags(&s.tags).iter().map(sm_tag).collect()))
            .send()
            .await
            .map_err(|e| op.refused("CreateSecret")(e).redact(password.expose()));
        let arn = match created {
            Ok(out) => out.arn().unwrap_or_default().to_string(),
            Err(e) if e.has_code("InvalidRequestException") => {
                self.secret_restore(op, s, &value, e).await?
            }
            Err(e) => return Err(e),
        };
        Ok(attrs([
            ("arn", json!(arn)),
            ("name", json!(s.name)),
            ("username", json!(s.username)),
        ]))
    }

    /// `DescribeSecret` of one secret (by ARN or name): `None` when it does not
    /// exist. Unlike `ListSecrets`, which "is eventually consistent" and may miss a
    /// secret created or changed moments ago
    /// (<https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html>),
    /// it answers for the secret as it is; it also shows `DeletedDate` on a secret
    /// scheduled for deletion.
    async fn secret_describe(
        &self,
        address: &Address,
        id: &str,
    ) -> Result<Option<DescribeSecretOutput>, ProviderError> {
        match self.secrets.describe_secret().secret_id(id).send().await {
            Ok(o) => Ok(Some(o)),
            Err(e) => {
                let e = crate::error::from_sdk("DescribeSecret", Some(address), e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    /// Reads each secret with [`Aws::secret_describe`] (one call per secret: a
    /// list that lags must never make refresh conclude that a secret was deleted
    /// outside the engine). A secret scheduled for deletion is gone.
    pub(crate) async fn secret_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::Secret(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::Secret, &r.prior));
            };
            let id = attr(&r.attributes, "arn", &r.address).unwrap_or_else(|_| prior.name.clone());
            let Some(s) = self.secret_describe(&r.address, &id).await? else {
                out.push(None);
                continue;
            };
            if s.deleted_date().is_some() {
                out.push(None);
                continue;
            }
            let (tags, owner) = tags::split(live_tags(s.tags()), &prior.tags);
            let key = s
                .kms_key_id()
                .filter(|k| *k != DEFAULT_KEY)
                .map(str::to_string);
            out.push(Some(Found {
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
            }));
        }
        Ok(out)
    }

    /// After `CreateSecret` was refused with `refusal`: when the name is held by a
    /// secret scheduled for deletion whose tags prove it this stack's, restores it,
    /// gives it `value` and the spec's description, key and tags, and returns its
    /// ARN. Otherwise the refusal stands (with the reason, when it is a deletion
    /// another stack scheduled).
    async fn secret_restore(
        &self,
        op: &Op<'_>,
        s: &Secret,
        value: &SecretString,
        refusal: ProviderError,
    ) -> Result<String, ProviderError> {
        let Some(held) = self.secret_describe(op.address, &s.name).await? else {
            return Err(refusal);
        };
        let Some(deleted) = held.deleted_date() else {
            return Err(refusal);
        };
        let (_, owner) = tags::split(live_tags(held.tags()), &s.tags);
        if let Ownership::Theirs(why) | Ownership::Unproven(why) =
            op.stack.judge(owner.as_ref(), op.address, false)
        {
            let mut e = ProviderError::new(
                ErrorKind::Conflict,
                "CreateSecret",
                Some(op.address),
                format!(
                    "the name `{}` is held by a secret scheduled for deletion on {deleted} that {why}; \
                     AWS releases the name when its recovery window ends",
                    s.name
                ),
            );
            e.code = Some("InvalidRequestException".into());
            return Err(e.refusing());
        }
        let arn = held.arn().unwrap_or(&s.name).to_string();
        self.secrets
            .restore_secret()
            .secret_id(&arn)
            .send()
            .await
            .map_err(op.err("RestoreSecret"))?;
        (op.progress)(&crate::provider::Progress {
            address: op.address.clone(),
            message: format!(
                "restored this stack's secret `{}`, which was scheduled for deletion",
                s.name
            ),
            elapsed: std::time::Duration::ZERO,
        });
        self.secrets
            .put_secret_value()
            .secret_id(&arn)
            .secret_string(value.expose())
            .send()
            .await
            .map_err(|e| op.err("PutSecretValue")(e).redact(value.expose()))?;
        self.secrets
            .update_secret()
            .secret_id(&arn)
            .description(&s.description)
            .kms_key_id(
                op.opt(&s.kms_key_id)?
                    .unwrap_or_else(|| DEFAULT_KEY.to_string()),
            )
            .send()
            .await
            .map_err(op.err("UpdateSecret"))?;
        self.secrets
            .tag_resource()
            .secret_id(&arn)
            .set_tags(Some(op.tags(&s.tags).iter().map(sm_tag).collect()))
            .send()
            .await
            .map_err(op.err("TagResource"))?;
        Ok(arn)
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
        // A replacement needs the name at once; so does a stack that asked for no
        // recovery window.
        call = if s.recovery_window_days == 0 || op.replacing {
            call.force_delete_without_recovery(true)
        } else {
            call.recovery_window_in_days(i64::from(s.recovery_window_days.clamp(7, 30)))
        };
        let Err(e) = call.send().await else {
            return Ok(());
        };
        let e = crate::error::from_sdk("DeleteSecret", Some(op.address), e);
        if e.is_not_found() {
            return Ok(());
        }
        // AWS refuses to delete a secret already scheduled for deletion: that is
        // deleted, as far as this stack goes, unless the name must be free now.
        match self.secret_describe(op.address, &id).await? {
            None => Ok(()),
            Some(d) if d.deleted_date().is_some() && !op.replacing => Ok(()),
            Some(d) if d.deleted_date().is_some() => self
                .secrets
                .delete_secret()
                .secret_id(&id)
                .force_delete_without_recovery(true)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteSecret")),
            Some(_) => Err(e),
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

    /// By its name, or its ARN (`...:secret:NAME-SUFFIX`, where Secrets Manager
    /// adds a hyphen and six characters to the name).
    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        if !id.starts_with("arn:") {
            self.name = id.to_string();
            return Ok(crate::provider::Attributes::new());
        }
        let full = super::name_or_arn(id, "secret:", "secret")?;
        self.name = match full.rsplit_once('-') {
            Some((name, suffix)) if suffix.len() == 6 && !name.is_empty() => name.to_string(),
            _ => {
                return Err(format!(
                    "`{id}` does not end with a secret's name, a hyphen and six characters"
                ));
            }
        };
        Ok(crate::provider::attrs([(
            "arn",
            serde_json::Value::String(id.into()),
        )]))
    }

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
