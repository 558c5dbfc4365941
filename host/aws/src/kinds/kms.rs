//! AWS KMS: customer-managed keys and aliases.
//!
//! KMS has no batch describe: a key read costs `DescribeKey`, `GetKeyRotationStatus`
//! and `ListResourceTags` per key. Aliases are read with `DescribeKey` by alias name
//! (plus the target key's tags for ownership), never from `ListAliases`, which lags
//! behind a new alias. Adoption never picks a key pending deletion.

use crate::kinds::AwsKind;
use async_trait::async_trait;

use aws_sdk_kms::types::{KeyState, Tag as KmsTag};
use engine_core::model::{KmsAlias, KmsKey, Tag};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::{Value, json};

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::provider::{
    Attributes, Aws, Found, Op, Owner, ReadRequest, StackIdentity, attr, attrs, lit_or_empty,
    same_kms_key, wrong_kind,
};
use crate::tags;

fn kms_tags(tags: &[Tag]) -> Result<Vec<KmsTag>, ProviderError> {
    tags.iter()
        .map(|t| {
            KmsTag::builder()
                .tag_key(&t.key)
                .tag_value(&t.value)
                .build()
                .map_err(|e| {
                    ProviderError::new(ErrorKind::Invalid, "build tags", None, e.to_string())
                })
        })
        .collect()
}

/// What a service that writes through the key may do with it: decrypt and make
/// data keys, which is what SNS needs for CloudWatch alarms to publish to a topic
/// it encrypts
/// (<https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services>).
const SERVICE_ACTIONS: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey*"];

/// What CloudWatch Logs (`logs.REGION.amazonaws.com`) must be allowed to encrypt a
/// log group with the key: AWS refuses `CreateLogGroup`/`AssociateKmsKey` otherwise
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html>,
/// "Step 2: Set permissions on the KMS key").
const LOGS_ACTIONS: &[&str] = &[
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
];

/// The key policy the host writes for a key with `service_principals`: the key's
/// own account keeps full access (so nobody is locked out), and each service may use
/// the key to encrypt and decrypt, with the actions its documentation asks for
/// ([`SERVICE_ACTIONS`], [`LOGS_ACTIONS`]). `arn` is the key's ARN, which names its
/// account.
fn key_policy(arn: &str, services: &[String]) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    let (partition, account) = (
        parts.get(1).copied().unwrap_or("aws"),
        parts.get(4).copied().unwrap_or(""),
    );
    let mut statements = vec![json!({
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
        "Action": "kms:*",
        "Resource": "*",
    })];
    let (logs, others): (Vec<&String>, Vec<&String>) = services
        .iter()
        .partition(|s| s.starts_with("logs.") && s.ends_with(".amazonaws.com"));
    for (sid, principals, actions) in [
        ("ServicesUseTheKey", others, SERVICE_ACTIONS),
        ("CloudWatchLogsUsesTheKey", logs, LOGS_ACTIONS),
    ] {
        if !principals.is_empty() {
            statements.push(json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Service": principals},
                "Action": actions,
                "Resource": "*",
            }));
        }
    }
    json!({"Version": "2012-10-17", "Id": "engine-key-policy", "Statement": statements}).to_string()
}

/// The services that the statements the host writes ([`key_policy`]) grant in
/// `policy`: none when the policy is not the host's (AWS's default, say).
fn granted_services(policy: &str) -> Vec<String> {
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(policy) else {
        return Vec::new();
    };
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    statements
        .iter()
        .filter(|st| {
            st["Effect"] == "Allow"
                && matches!(
                    st["Sid"].as_str(),
                    Some("ServicesUseTheKey" | "CloudWatchLogsUsesTheKey")
                )
        })
        .flat_map(|st| match &st["Principal"]["Service"] {
            serde_json::Value::String(one) => vec![one.clone()],
            serde_json::Value::Array(many) => many
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// `live` in `declared`'s order when both name the same services (the policy
/// groups them by statement), else `live` as read.
fn same_services(live: Vec<String>, declared: &[String]) -> Vec<String> {
    let mut a = live.clone();
    let mut b = declared.to_vec();
    a.sort();
    b.sort();
    if a == b { declared.to_vec() } else { live }
}

impl Aws {
    async fn kms_put_policy(
        &self,
        op: &Op<'_>,
        id: &str,
        arn: &str,
        services: &[String],
    ) -> Result<(), ProviderError> {
        self.kms
            .put_key_policy()
            .key_id(id)
            .policy_name("default")
            .policy(key_policy(arn, services))
            .send()
            .await
            .map_err(op.err("PutKeyPolicy"))?;
        Ok(())
    }

    pub(crate) async fn kms_key_create(
        &self,
        op: &Op<'_>,
        s: &KmsKey,
    ) -> Result<Attributes, ProviderError> {
        let out = self
            .kms
            .create_key()
            .description(&s.description)
            .set_tags(Some(
                kms_tags(&op.tags(&s.tags)).map_err(|e| e.at(op.address))?,
            ))
            .customize()
            .config_override(crate::config::kms_one_attempt())
            .send()
            .await
            .map_err(op.refused("CreateKey"))?;
        let meta = out.key_metadata();
        let id = meta.map(|m| m.key_id()).unwrap_or_default().to_string();
        let arn = meta.and_then(|m| m.arn()).unwrap_or_default().to_string();
        if s.enable_key_rotation {
            self.kms
                .enable_key_rotation()
                .key_id(&id)
                .send()
                .await
                .map_err(op.err("EnableKeyRotation"))?;
        }
        if !s.service_principals.is_empty() {
            self.kms_put_policy(op, &id, &arn, &s.service_principals)
                .await?;
        }
        Ok(attrs([("id", json!(id)), ("arn", json!(arn))]))
    }

    async fn kms_key_tags(
        &self,
        address: &Address,
        id: &str,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        let tags: Vec<KmsTag> = self
            .kms
            .list_resource_tags()
            .key_id(id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk_err("ListResourceTags", Some(address)))?;
        Ok(tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect())
    }

    pub(crate) async fn kms_key_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::KmsKey(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::KmsKey, &r.prior));
            };
            let id = attr(&r.attributes, "id", &r.address)?;
            let Some(meta) = self.kms_describe(&r.address, &id).await? else {
                out.push(None);
                continue;
            };
            if matches!(
                meta.key_state(),
                Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
            ) {
                out.push(None);
                continue;
            }
            let rotation = self
                .kms
                .get_key_rotation_status()
                .key_id(&id)
                .send()
                .await
                .map_err(sdk_err("GetKeyRotationStatus", Some(&r.address)))?
                .key_rotation_enabled;
            let (tags, owner) = tags::split(self.kms_key_tags(&r.address, &id).await?, &prior.tags);
            let policy = self
                .kms
                .get_key_policy()
                .key_id(&id)
                .policy_name("default")
                .send()
                .await
                .map_err(sdk_err("GetKeyPolicy", Some(&r.address)))?;
            let granted = granted_services(policy.policy().unwrap_or_default());
            out.push(Some(Found {
                spec: Spec::KmsKey(KmsKey {
                    description: meta.description().unwrap_or_default().to_string(),
                    enable_key_rotation: rotation,
                    // Write-only: used when the key is deleted.
                    deletion_window_days: prior.deletion_window_days,
                    // The services the host's statements grant, read back, so a key
                    // whose policy was never written (an interrupted create,
                    // adopted) or was changed differs, and an update writes it.
                    service_principals: same_services(granted, &prior.service_principals),
                    tags,
                }),
                attributes: attrs([
                    ("id", json!(meta.key_id())),
                    ("arn", json!(meta.arn().unwrap_or_default())),
                ]),
                owner,
            }));
        }
        Ok(out)
    }

    /// Finds a key by its ownership tags (KMS cannot filter by tag: this lists every
    /// key and its tags, so it is for adopting after an interrupted create only): the
    /// one with this stack's id and the address, else one tagged with the stack's
    /// name and the address before stack ids existed. Keys pending deletion are not
    /// candidates.
    pub(crate) async fn kms_key_find_by_tags(
        &self,
        stack: &StackIdentity,
        address: &Address,
    ) -> Result<Option<Attributes>, ProviderError> {
        let keys: Vec<_> = self
            .kms
            .list_keys()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk_err("ListKeys", Some(address)))?;
        let mut old_style = None;
        for k in keys {
            let Some(id) = k.key_id() else { continue };
            let tags = match self.kms_key_tags(address, id).await {
                Ok(t) => t,
                // AWS managed keys and keys of others may refuse; they are not ours.
                Err(e) if matches!(e.kind, ErrorKind::AccessDenied | ErrorKind::NotFound) => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(owner) = tags::owner(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            else {
                continue;
            };
            if owner.stack.as_deref() != Some(&stack.name)
                || owner.address.as_deref() != Some(&address.to_string())
            {
                continue;
            }
            // A key of this stack that a destroy scheduled for deletion keeps its
            // tags until it is deleted; it can never be used again.
            if self.kms_key_pending_deletion(address, id).await? {
                continue;
            }
            let found = attrs([
                ("id", json!(id)),
                ("arn", json!(k.key_arn().unwrap_or_default())),
            ]);
            match owner.stack_id {
                Some(sid) if sid == stack.id => return Ok(Some(found)),
                Some(_) => {}
                None => old_style = old_style.or(Some(found)),
            }
        }
        Ok(old_style)
    }

    /// Whether the key is scheduled for deletion (or gone).
    async fn kms_key_pending_deletion(
        &self,
        address: &Address,
        id: &str,
    ) -> Result<bool, ProviderError> {
        Ok(self.kms_describe(address, id).await?.is_none_or(|m| {
            matches!(
                m.key_state(),
                Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
            )
        }))
    }

    /// `DescribeKey` of a key id, ARN or alias name: `None` when it does not exist.
    async fn kms_describe(
        &self,
        address: &Address,
        id: &str,
    ) -> Result<Option<aws_sdk_kms::types::KeyMetadata>, ProviderError> {
        match self.kms.describe_key().key_id(id).send().await {
            Ok(o) => Ok(o.key_metadata),
            Err(e) => {
                let e = crate::error::from_sdk("DescribeKey", Some(address), e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    pub(crate) async fn kms_key_update(
        &self,
        op: &Op<'_>,
        o: &KmsKey,
        n: &KmsKey,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = attr(a, "id", op.address)?;
        if o.description != n.description {
            self.kms
                .update_key_description()
                .key_id(&id)
                .description(&n.description)
                .send()
                .await
                .map_err(op.err("UpdateKeyDescription"))?;
        }
        if o.enable_key_rotation != n.enable_key_rotation {
            if n.enable_key_rotation {
                self.kms
                    .enable_key_rotation()
                    .key_id(&id)
                    .send()
                    .await
                    .map_err(op.err("EnableKeyRotation"))?;
            } else {
                self.kms
                    .disable_key_rotation()
                    .key_id(&id)
                    .send()
                    .await
                    .map_err(op.err("DisableKeyRotation"))?;
            }
        }
        if o.service_principals != n.service_principals {
            let arn = attr(a, "arn", op.address)?;
            self.kms_put_policy(op, &id, &arn, &n.service_principals)
                .await?;
        }
        let (set, remove) = op.tag_diff(&o.tags, &n.tags);
        if !remove.is_empty() {
            self.kms
                .untag_resource()
                .key_id(&id)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(op.err("UntagResource"))?;
        }
        if !set.is_empty() {
            self.kms
                .tag_resource()
                .key_id(&id)
                .set_tags(Some(kms_tags(&set).map_err(|e| e.at(op.address))?))
                .send()
                .await
                .map_err(op.err("TagResource"))?;
        }
        Ok(a.clone())
    }

    pub(crate) async fn kms_key_delete(
        &self,
        op: &Op<'_>,
        s: &KmsKey,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        let days = i32::try_from(s.deletion_window_days.clamp(7, 30)).unwrap_or(30);
        match self
            .kms
            .schedule_key_deletion()
            .key_id(&id)
            .pending_window_in_days(days)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = crate::error::from_sdk("ScheduleKeyDeletion", Some(op.address), e);
                if e.is_not_found() {
                    return Ok(());
                }
                // Already scheduled for deletion: done.
                if e.code.as_deref() == Some("KMSInvalidStateException") {
                    let state = self
                        .kms
                        .describe_key()
                        .key_id(&id)
                        .send()
                        .await
                        .ok()
                        .and_then(|o| o.key_metadata);
                    if state.is_some_and(|m| m.key_state() == Some(&KeyState::PendingDeletion)) {
                        return Ok(());
                    }
                }
                Err(e)
            }
        }
    }

    // ---- alias ----

    pub(crate) async fn kms_alias_create(
        &self,
        op: &Op<'_>,
        s: &KmsAlias,
    ) -> Result<Attributes, ProviderError> {
        self.kms
            .create_alias()
            .alias_name(&s.name)
            .target_key_id(op.lit(&s.target_key_id)?)
            .send()
            .await
            .map_err(op.refused("CreateAlias"))?;
        // CreateAlias answers nothing, and ListAliases may not show the alias yet
        // (KMS is eventually consistent:
        // https://docs.aws.amazon.com/kms/latest/developerguide/accessing-kms.html#programming-eventual-consistency):
        // the alias is read back by name with DescribeKey, which does not lag.
        let found = self
            .kms_alias_read(&[ReadRequest {
                address: op.address.clone(),
                prior: Spec::KmsAlias(s.clone()),
                attributes: Attributes::new(),
            }])
            .await?;
        match found.into_iter().next().flatten() {
            Some(f) => Ok(f.attributes),
            None => Err(ProviderError::new(
                ErrorKind::Other,
                "CreateAlias",
                Some(op.address),
                "the alias was created but DescribeKey does not find it",
            )),
        }
    }

    /// Reads each alias with `DescribeKey` by its name (one call per alias), which
    /// names the key it points at; `ListAliases` would cost one listing of every
    /// alias in the account and may lag behind a new alias.
    pub(crate) async fn kms_alias_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::KmsAlias(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::KmsAlias, &r.prior));
            };
            let meta = self.kms_describe(&r.address, &prior.name).await?;
            let Some(target) = meta.as_ref().map(|m| m.key_id().to_string()) else {
                out.push(None);
                continue;
            };
            // The alias ARN is the key's, with `alias/NAME` for `key/ID`.
            let alias_arn = meta
                .as_ref()
                .and_then(|m| m.arn())
                .and_then(|arn| arn.rsplit_once(":key/"))
                .map(|(prefix, _)| format!("{prefix}:{}", prior.name))
                .unwrap_or_default();
            // An alias takes no tags: it belongs to whoever owns the key it names.
            let owner = match self.kms_key_tags(&r.address, &target).await {
                Ok(t) => tags::owner_via(
                    t.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    format!("target key {target}"),
                ),
                Err(e) if matches!(e.kind, ErrorKind::AccessDenied | ErrorKind::NotFound) => {
                    Some(Owner {
                        via: Some(format!("target key {target} ({})", e.kind)),
                        ..Owner::default()
                    })
                }
                Err(e) => return Err(e),
            };
            out.push(Some(alias_found(prior, &alias_arn, &target, owner)));
        }
        Ok(out)
    }

    pub(crate) async fn kms_alias_update(
        &self,
        op: &Op<'_>,
        _o: &KmsAlias,
        n: &KmsAlias,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        self.kms
            .update_alias()
            .alias_name(&n.name)
            .target_key_id(op.lit(&n.target_key_id)?)
            .send()
            .await
            .map_err(op.err("UpdateAlias"))?;
        Ok(a.clone())
    }

    pub(crate) async fn kms_alias_delete(
        &self,
        op: &Op<'_>,
        s: &KmsAlias,
    ) -> Result<(), ProviderError> {
        self.delete_retrying(op, || async {
            self.kms
                .delete_alias()
                .alias_name(&s.name)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteAlias"))
        })
        .await
    }
}

/// A listed alias as a read result.
fn alias_found(prior: &KmsAlias, alias_arn: &str, target: &str, owner: Option<Owner>) -> Found {
    let prior_target = lit_or_empty(&prior.target_key_id);
    let target = if same_kms_key(&prior_target, target) && !prior_target.starts_with("alias/") {
        prior.target_key_id.clone()
    } else {
        Text::Literal(target.to_string())
    };
    Found {
        spec: Spec::KmsAlias(KmsAlias {
            name: prior.name.clone(),
            target_key_id: target,
        }),
        attributes: attrs([
            ("name", json!(prior.name)),
            ("arn", Value::String(alias_arn.to_string())),
        ]),
        owner,
    }
}

#[async_trait]
impl AwsKind for KmsKey {
    const NOT_FOUND: &'static [&'static str] = &["NotFoundException"];

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.kms_key_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.kms_key_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.kms_key_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.kms_key_delete(op, self, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        aws.kms_key_find_by_tags(stack, address).await
    }
}

#[async_trait]
impl AwsKind for KmsAlias {
    const NOT_FOUND: &'static [&'static str] = &["NotFoundException"];

    /// By its name, with or without `alias/`, or its ARN.
    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        let name = super::name_or_arn(id, "", "KMS alias")?;
        self.name = if name.starts_with("alias/") {
            name
        } else {
            format!("alias/{name}")
        };
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.kms_alias_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.kms_alias_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.kms_alias_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.kms_alias_delete(op, self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudwatch_logs_gets_what_its_documentation_asks_and_others_less() {
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234";
        let services = ["cloudwatch.amazonaws.com", "logs.us-east-1.amazonaws.com"]
            .map(String::from)
            .to_vec();
        let policy: serde_json::Value = serde_json::from_str(&key_policy(arn, &services)).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 3, "{policy}");
        assert_eq!(
            statements[0]["Principal"]["AWS"],
            "arn:aws:iam::123456789012:root"
        );
        assert_eq!(
            statements[1]["Principal"]["Service"],
            json!(["cloudwatch.amazonaws.com"])
        );
        assert_eq!(statements[1]["Action"], json!(SERVICE_ACTIONS));
        assert_eq!(
            statements[2]["Principal"]["Service"],
            json!(["logs.us-east-1.amazonaws.com"])
        );
        assert_eq!(statements[2]["Action"], json!(LOGS_ACTIONS));
        // Read back: the services, in the declared order.
        assert_eq!(
            same_services(
                granted_services(&key_policy(arn, &services)),
                &[services[1].clone(), services[0].clone()]
            ),
            [services[1].clone(), services[0].clone()]
        );
        // AWS's default policy (an interrupted create left it) grants none.
        let default = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}"#;
        assert!(granted_services(default).is_empty());
        // No services, no statement for them.
        let bare: serde_json::Value = serde_json::from_str(&key_policy(arn, &[])).unwrap();
        assert_eq!(bare["Statement"].as_array().unwrap().len(), 1);
    }
}
