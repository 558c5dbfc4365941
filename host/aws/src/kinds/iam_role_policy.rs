//! A policy embedded in an IAM role (an inline policy).
//!
//! The host writes the document from the statements (`Version` 2012-10-17, each
//! statement `Effect` `Allow` with its `Action` and `Resource` lists) with
//! `PutRolePolicy`, and reads it back with `GetRolePolicy`, whose document comes
//! URL-encoded
//! (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html>).
//! IAM has no batch read: one `GetRolePolicy` per policy, and one `GetRole` per
//! role for its tags, which are the policy's ownership (a role policy takes no
//! tags of its own).

use std::collections::HashMap;

use engine_core::model::{IamRolePolicy, PolicyStatement};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::{Value, json};

use crate::error::{ProviderError, from_sdk};
use crate::provider::{
    Attributes, Aws, Found, Op, Owner, ReadRequest, already_exists, attrs, order_like, order_texts,
    wrong_kind,
};
use crate::tags;

use crate::kinds::AwsKind;
use async_trait::async_trait;

/// The policy document of `statements`. IAM refuses a document without
/// statements and a statement without actions or resources
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>):
/// refused here first, saying which.
fn document(op: &Op<'_>, statements: &[PolicyStatement]) -> Result<String, ProviderError> {
    let refuse = |m: String| op.invalid("PutRolePolicy")(m).refusing();
    if statements.is_empty() {
        return Err(refuse(
            "a role policy needs at least one statement (IAM refuses an empty one)".into(),
        ));
    }
    if let Some(i) = statements
        .iter()
        .position(|s| s.actions.is_empty() || s.resources.is_empty())
    {
        return Err(refuse(format!(
            "statement {} has no {}: IAM refuses it",
            i + 1,
            if statements[i].actions.is_empty() {
                "actions"
            } else {
                "resources"
            }
        )));
    }
    let statements = statements
        .iter()
        .map(|s| {
            Ok(json!({
                "Effect": "Allow",
                "Action": s.actions,
                "Resource": op.lits(&s.resources)?,
            }))
        })
        .collect::<Result<Vec<_>, ProviderError>>()?;
    Ok(json!({"Version": "2012-10-17", "Statement": statements}).to_string())
}

/// A string or a list of strings (IAM accepts both for `Action` and `Resource`).
fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

/// The statements of a live document (URL-encoded or not), ordered like `prior`.
/// What statements cannot say (`Deny`, conditions, `NotAction`, principals) comes
/// back as a statement whose one action quotes it, so the difference shows and
/// the next apply writes the declared document over it.
fn live_statements(live: &str, prior: &[PolicyStatement]) -> Vec<PolicyStatement> {
    let text = if live.trim_start().starts_with('{') {
        live.to_string()
    } else {
        super::iam_role::url_decode(live)
    };
    let unsupported = |what: &str| PolicyStatement {
        actions: vec![format!("(not expressible: {what})")],
        resources: vec![],
    };
    let Ok(doc) = serde_json::from_str::<Value>(&text) else {
        return vec![unsupported(&text)];
    };
    let list = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => vec![],
    };
    list.iter()
        .enumerate()
        .map(|(i, st)| {
            let known = st.as_object().is_some_and(|o| {
                o.keys()
                    .all(|k| matches!(k.as_str(), "Effect" | "Action" | "Resource" | "Sid"))
            });
            match (
                known,
                st.get("Effect").and_then(Value::as_str),
                strings(st.get("Action")),
                strings(st.get("Resource")),
            ) {
                (true, Some("Allow"), Some(actions), Some(resources)) => {
                    let p = prior.get(i);
                    PolicyStatement {
                        actions: match p {
                            Some(p) => order_like(actions, &p.actions),
                            None => actions,
                        },
                        resources: match p {
                            Some(p) => order_texts(resources, &p.resources),
                            None => resources.into_iter().map(Text::Literal).collect(),
                        },
                    }
                }
                _ => unsupported(&st.to_string()),
            }
        })
        .collect()
}

impl Aws {
    /// The live document of a role's policy, or `None` when either is gone.
    async fn role_policy_document(
        &self,
        address: &Address,
        role: &str,
        name: &str,
    ) -> Result<Option<String>, ProviderError> {
        match self
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
        {
            Ok(o) => Ok(Some(o.policy_document)),
            Err(e) => {
                let e = from_sdk("GetRolePolicy", Some(address), e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    async fn role_policy_put(
        &self,
        op: &Op<'_>,
        s: &IamRolePolicy,
        creating: bool,
    ) -> Result<(), ProviderError> {
        let role = op.lit(&s.role_name)?;
        let doc = document(op, &s.statements)?;
        // A role created moments ago may not be visible to IAM yet: "changes are
        // eventually consistent"
        // (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
        self.retrying(
            op,
            self.options.timeouts.eventual_consistency,
            ProviderError::is_not_found,
            || async {
                let call = self
                    .iam
                    .put_role_policy()
                    .role_name(&role)
                    .policy_name(&s.name)
                    .policy_document(&doc)
                    .send()
                    .await;
                if creating {
                    call.map(|_| ()).map_err(op.refused("PutRolePolicy"))
                } else {
                    call.map(|_| ()).map_err(op.err("PutRolePolicy"))
                }
            },
        )
        .await
    }

    pub(crate) async fn role_policy_create(
        &self,
        op: &Op<'_>,
        s: &IamRolePolicy,
    ) -> Result<Attributes, ProviderError> {
        // PutRolePolicy "adds or updates": on a taken name it would overwrite the
        // policy already there. Look first, and refuse a taken name.
        // https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html
        let role = op.lit(&s.role_name)?;
        if self
            .role_policy_document(op.address, &role, &s.name)
            .await?
            .is_some()
        {
            return Err(already_exists(
                op,
                "PutRolePolicy",
                format!("the role {role} already has a policy named {}", s.name),
            ));
        }
        self.role_policy_put(op, s, true).await?;
        Ok(attrs([("name", json!(s.name))]))
    }

    /// The ownership of a role's policies: the role's tags (`None` when it has
    /// none, or is gone).
    async fn role_owner(
        &self,
        address: &Address,
        role: &str,
    ) -> Result<Option<Owner>, ProviderError> {
        match self.iam.get_role().role_name(role).send().await {
            Ok(o) => Ok(o.role.and_then(|r| {
                tags::owner_via(
                    r.tags().iter().map(|t| (t.key(), t.value())),
                    format!("IAM role {role}"),
                )
            })),
            Err(e) => {
                let e = from_sdk("GetRole", Some(address), e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    pub(crate) async fn role_policy_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut owners: HashMap<String, Option<Owner>> = HashMap::new();
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::IamRolePolicy(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::IamRolePolicy, &r.prior));
            };
            let role = prior.role_name.as_literal().unwrap_or_default().to_string();
            let Some(doc) = self
                .role_policy_document(&r.address, &role, &prior.name)
                .await?
            else {
                out.push(None);
                continue;
            };
            let owner = match owners.get(&role) {
                Some(o) => o.clone(),
                None => {
                    let o = self.role_owner(&r.address, &role).await?;
                    owners.insert(role.clone(), o.clone());
                    o
                }
            };
            out.push(Some(Found {
                spec: Spec::IamRolePolicy(IamRolePolicy {
                    role_name: prior.role_name.clone(),
                    name: prior.name.clone(),
                    statements: live_statements(&doc, &prior.statements),
                }),
                attributes: attrs([("name", json!(prior.name))]),
                owner,
            }));
        }
        Ok(out)
    }

    pub(crate) async fn role_policy_delete(
        &self,
        op: &Op<'_>,
        s: &IamRolePolicy,
    ) -> Result<(), ProviderError> {
        let role = op.lit(&s.role_name)?;
        self.delete_retrying(op, || async {
            self.iam
                .delete_role_policy()
                .role_name(&role)
                .policy_name(&s.name)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteRolePolicy"))
        })
        .await
    }
}

#[async_trait]
impl AwsKind for IamRolePolicy {
    const NOT_FOUND: &'static [&'static str] = &["NoSuchEntity"];

    /// `ROLE:POLICY`, the role's name and the policy's (an inline policy has no id
    /// or ARN of its own).
    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        match id.split_once(':') {
            Some((role, name))
                if !role.is_empty() && !name.is_empty() && !id.starts_with("arn:") =>
            {
                self.role_name = Text::Literal(role.into());
                self.name = name.into();
                Ok(crate::provider::Attributes::new())
            }
            _ => Err(format!(
                "`{id}` does not name a role policy: give `ROLE:POLICY`, the role's name and \
                 the policy's"
            )),
        }
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.role_policy_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.role_policy_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        if self.statements != new.statements {
            aws.role_policy_put(op, new, false).await?;
        }
        Ok(a.clone())
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.role_policy_delete(op, self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(actions: &[&str], resources: &[&str]) -> PolicyStatement {
        PolicyStatement {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources: resources.iter().map(|r| Text::lit(*r)).collect(),
        }
    }

    #[test]
    fn a_live_document_reads_back_as_statements() {
        let prior = vec![st(&["logs:PutLogEvents", "logs:CreateLogStream"], &["*"])];
        let live = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A\
                    %22Allow%22%2C%22Action%22%3A%5B%22logs%3ACreateLogStream%22%2C%22logs%3A\
                    PutLogEvents%22%5D%2C%22Resource%22%3A%22*%22%7D%7D";
        assert_eq!(live_statements(live, &prior), prior);

        let deny = r#"{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        let got = live_statements(deny, &prior);
        assert_eq!(got.len(), 1);
        assert!(got[0].actions[0].starts_with("(not expressible"), "{got:?}");
    }
}
