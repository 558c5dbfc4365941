//! Amazon RDS: DB subnet groups and DB instances.
//!
//! DB instances are read with one `DescribeDBInstances` call per page, filtered by
//! `db-instance-id` (tags included). Subnet groups are listed a page at a time
//! (the API takes one name or none); their tags cost one `ListTagsForResource`
//! each. The master password is read from Secrets Manager at apply time and sent
//! only in `CreateDBInstance`/`ModifyDBInstance`, unless RDS manages it
//! (`manage-master-user-password`): then RDS generates it into a secret of its
//! own, whose ARN is the attribute `master-user-secret-arn`.

use crate::kinds::AwsKind;
use async_trait::async_trait;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_rds::types::{
    CloudwatchLogsExportConfiguration, DbInstance as LiveInstance,
    DbSubnetGroup as LiveSubnetGroup, Filter, Tag as RdsTag,
};
use engine_core::model::{DbInstance, DbSubnetGroup, Tag};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::json;

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::password::SecretString;
use crate::provider::{
    Attributes, Aws, Check, Found, Op, ReadRequest, attrs, live_kms, order_like, order_texts,
    wrong_kind,
};
use crate::tags;

fn rds_tag(t: &Tag) -> RdsTag {
    RdsTag::builder().key(&t.key).value(&t.value).build()
}

fn i32_of(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn instance_attrs(i: &LiveInstance) -> Attributes {
    let endpoint = i.endpoint();
    let port = endpoint
        .and_then(|e| e.port())
        .or(i.db_instance_port())
        .unwrap_or_default();
    attrs([
        ("id", json!(i.db_instance_identifier().unwrap_or_default())),
        ("arn", json!(i.db_instance_arn().unwrap_or_default())),
        (
            "endpoint",
            json!(endpoint.and_then(|e| e.address()).unwrap_or_default()),
        ),
        ("port", json!(port)),
        (
            "resource-id",
            json!(i.dbi_resource_id().unwrap_or_default()),
        ),
        // Empty when RDS does not manage the master password.
        (
            "master-user-secret-arn",
            json!(
                i.master_user_secret()
                    .and_then(|s| s.secret_arn())
                    .unwrap_or_default()
            ),
        ),
    ])
}

impl Aws {
    async fn rds_tags(
        &self,
        address: &Address,
        arn: &str,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        let out = self
            .rds
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(sdk_err("ListTagsForResource", Some(address)))?;
        Ok(out
            .tag_list()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }

    async fn rds_retag(
        &self,
        op: &Op<'_>,
        arn: &str,
        old: &[Tag],
        new: &[Tag],
    ) -> Result<(), ProviderError> {
        let (set, remove) = op.tag_diff(old, new);
        if !remove.is_empty() {
            self.rds
                .remove_tags_from_resource()
                .resource_name(arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(op.err("RemoveTagsFromResource"))?;
        }
        if !set.is_empty() {
            self.rds
                .add_tags_to_resource()
                .resource_name(arn)
                .set_tags(Some(set.iter().map(rds_tag).collect()))
                .send()
                .await
                .map_err(op.err("AddTagsToResource"))?;
        }
        Ok(())
    }

    // ---- DB subnet group ----

    pub(crate) async fn db_subnet_group_create(
        &self,
        op: &Op<'_>,
        s: &DbSubnetGroup,
    ) -> Result<Attributes, ProviderError> {
        let out = self
            .rds
            .create_db_subnet_group()
            .db_subnet_group_name(&s.name)
            .db_subnet_group_description(&s.description)
            .set_subnet_ids(Some(op.lits(&s.subnet_ids)?))
            .set_tags(Some(op.tags(&s.tags).iter().map(rds_tag).collect()))
            .send()
            .await
            .map_err(op.refused("CreateDBSubnetGroup"))?;
        let arn = out
            .db_subnet_group()
            .and_then(|g| g.db_subnet_group_arn())
            .unwrap_or_default();
        Ok(attrs([("name", json!(s.name)), ("arn", json!(arn))]))
    }

    async fn db_subnet_groups(
        &self,
        names: &[&str],
    ) -> Result<Vec<LiveSubnetGroup>, ProviderError> {
        if let [one] = names {
            return match self
                .rds
                .describe_db_subnet_groups()
                .db_subnet_group_name(*one)
                .send()
                .await
            {
                Ok(o) => Ok(o.db_subnet_groups.unwrap_or_default()),
                Err(e) => {
                    let e = crate::error::from_sdk("DescribeDBSubnetGroups", None, e);
                    if e.is_not_found() {
                        Ok(Vec::new())
                    } else {
                        Err(e)
                    }
                }
            };
        }
        self.rds
            .describe_db_subnet_groups()
            .into_paginator()
            .page_size(i32::try_from(self.page(100).max(20)).unwrap_or(100))
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk_err("DescribeDBSubnetGroups", None))
    }

    pub(crate) async fn db_subnet_group_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut names = Vec::new();
        for r in reqs {
            let Spec::DbSubnetGroup(p) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::DbSubnetGroup, &r.prior));
            };
            names.push(p.name.as_str());
        }
        let live = self.db_subnet_groups(&names).await?;
        let by_name: HashMap<&str, _> = live
            .iter()
            .filter_map(|g| Some((g.db_subnet_group_name()?, g)))
            .collect();
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::DbSubnetGroup(prior) = &r.prior else {
                unreachable!("checked above")
            };
            let Some(g) = by_name.get(prior.name.as_str()) else {
                out.push(None);
                continue;
            };
            let arn = g.db_subnet_group_arn().unwrap_or_default();
            let (tags, owner) = tags::split(self.rds_tags(&r.address, arn).await?, &prior.tags);
            let subnets = g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier().map(str::to_string))
                .collect();
            out.push(Some(Found {
                spec: Spec::DbSubnetGroup(DbSubnetGroup {
                    name: prior.name.clone(),
                    description: g
                        .db_subnet_group_description()
                        .unwrap_or_default()
                        .to_string(),
                    subnet_ids: order_texts(subnets, &prior.subnet_ids),
                    tags,
                }),
                attributes: attrs([("name", json!(prior.name)), ("arn", json!(arn))]),
                owner,
            }));
        }
        Ok(out)
    }

    pub(crate) async fn db_subnet_group_update(
        &self,
        op: &Op<'_>,
        o: &DbSubnetGroup,
        n: &DbSubnetGroup,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        if o.description != n.description || o.subnet_ids != n.subnet_ids {
            self.rds
                .modify_db_subnet_group()
                .db_subnet_group_name(&n.name)
                .db_subnet_group_description(&n.description)
                .set_subnet_ids(Some(op.lits(&n.subnet_ids)?))
                .send()
                .await
                .map_err(op.err("ModifyDBSubnetGroup"))?;
        }
        let arn = crate::provider::attr(a, "arn", op.address)?;
        self.rds_retag(op, &arn, &o.tags, &n.tags).await?;
        Ok(a.clone())
    }

    pub(crate) async fn db_subnet_group_delete(
        &self,
        op: &Op<'_>,
        s: &DbSubnetGroup,
    ) -> Result<(), ProviderError> {
        self.delete_retrying(op, || async {
            self.rds
                .delete_db_subnet_group()
                .db_subnet_group_name(&s.name)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteDBSubnetGroup"))
        })
        .await
    }

    // ---- DB instance ----

    async fn db_instance(
        &self,
        address: &Address,
        id: &str,
    ) -> Result<Option<LiveInstance>, ProviderError> {
        match self
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.db_instances.unwrap_or_default().into_iter().next()),
            Err(e) => {
                let e = crate::error::from_sdk("DescribeDBInstances", Some(address), e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    /// Waits until the instance is `available` with no pending changes, and, when
    /// `desired` is given (after a modify), until the live instance shows the
    /// change: right after `ModifyDBInstance` an instance may still read
    /// `available` with the old values. A change that has not shown within
    /// `timeouts.eventual_consistency` is taken as applied once the instance is
    /// available. A terminal status fails at once.
    async fn db_instance_wait(
        &self,
        op: &Op<'_>,
        id: &str,
        desired: Option<&DbInstance>,
    ) -> Result<LiveInstance, ProviderError> {
        let start = std::time::Instant::now();
        self.wait_for(
            op,
            "the DB instance is available",
            self.options.timeouts.db_instance,
            || async {
                let Some(i) = self.db_instance(op.address, id).await? else {
                    return Ok(Check::Pending("not yet visible".into()));
                };
                let status = i.db_instance_status().unwrap_or("unknown");
                if TERMINAL.contains(&status) {
                    return Ok(Check::Failed(status.to_string()));
                }
                if status != "available" || has_pending(&i) {
                    return Ok(Check::Pending(status.to_string()));
                }
                let shown = desired.is_none_or(|d| applied(d, &i));
                if shown || start.elapsed() >= self.options.timeouts.eventual_consistency {
                    Ok(Check::Done(i))
                } else {
                    Ok(Check::Pending("available, the change not yet shown".into()))
                }
            },
        )
        .await
    }

    /// Why AWS refused `version` of `engine`: the versions it offers, for the error.
    async fn db_versions_hint(&self, engine: &str, version: &str) -> Option<String> {
        let out = self
            .rds
            .describe_db_engine_versions()
            .engine(engine)
            .send()
            .await
            .ok()?;
        let all: Vec<&str> = out
            .db_engine_versions()
            .iter()
            .filter_map(|v| v.engine_version())
            .collect();
        if all.contains(&version) {
            return None;
        }
        let major = version.split('.').next().unwrap_or(version);
        let same: Vec<&str> = all
            .iter()
            .copied()
            .filter(|v| v.split('.').next() == Some(major))
            .collect();
        let offered = if same.is_empty() { all } else { same };
        (!offered.is_empty()).then(|| {
            format!(
                "AWS offers {engine} {} in this region (a major version alone, such as `{major}`, \
                 takes its newest minor)",
                offered.join(", ")
            )
        })
    }

    /// The master password the spec points at: `None` when RDS manages it. A
    /// spec must have one source, exactly: `master-password` is `none` exactly
    /// when `manage-master-user-password` (CreateDBInstance refuses both, and
    /// neither: "MasterUserPassword ... Can't be specified if
    /// ManageMasterUserPassword is turned on",
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html>).
    async fn master_password(
        &self,
        op: &Op<'_>,
        s: &DbInstance,
    ) -> Result<Option<SecretString>, ProviderError> {
        match (&s.master_password, s.manage_master_user_password) {
            (None, true) => Ok(None),
            (Some(r), false) => {
                let secret = op.lit(&r.secret_id)?;
                Ok(Some(self.secret_value(op.address, &secret, &r.key).await?))
            }
            (Some(_), true) => Err(op.invalid("read the master password")(
                "`master-password` is set while `manage-master-user-password` is on: RDS \
                 generates the password itself then, so `master-password` must be none",
            )),
            (None, false) => Err(op.invalid("read the master password")(
                "`master-password` is none while `manage-master-user-password` is off: the \
                 instance needs one of them",
            )),
        }
    }

    pub(crate) async fn db_instance_create(
        &self,
        op: &Op<'_>,
        s: &DbInstance,
    ) -> Result<Attributes, ProviderError> {
        let password = self.master_password(op, s).await?;
        let monitoring_role = op.opt(&s.monitoring_role_arn)?;
        let (kms_key_id, db_subnet_group_name) =
            (op.opt(&s.kms_key_id)?, op.lit(&s.db_subnet_group_name)?);
        let (master_username, security_groups) = (
            op.lit(&s.master_username)?,
            op.lits(&s.vpc_security_group_ids)?,
        );
        let secret_kms_key_id = op.opt(&s.master_user_secret_kms_key_id)?;
        let created = self
            .retrying(
                op,
                self.options.timeouts.eventual_consistency,
                iam_not_propagated,
                || async {
                    self.rds
                        .create_db_instance()
                        .db_instance_identifier(&s.identifier)
                        .engine(&s.engine)
                        .engine_version(&s.engine_version)
                        .db_instance_class(&s.instance_class)
                        .allocated_storage(i32_of(s.allocated_storage_gb))
                        .storage_type(&s.storage_type)
                        .storage_encrypted(s.storage_encrypted)
                        .set_kms_key_id(kms_key_id.clone())
                        .set_db_name((!s.db_name.is_empty()).then(|| s.db_name.clone()))
                        .master_username(&master_username)
                        .set_master_user_password(password.as_ref().map(|p| p.expose().to_string()))
                        .manage_master_user_password(s.manage_master_user_password)
                        .set_master_user_secret_kms_key_id(
                            secret_kms_key_id
                                .clone()
                                .filter(|_| s.manage_master_user_password),
                        )
                        .enable_iam_database_authentication(s.iam_database_authentication)
                        .set_enable_cloudwatch_logs_exports(
                            (!s.cloudwatch_logs_exports.is_empty())
                                .then(|| s.cloudwatch_logs_exports.clone()),
                        )
                        .copy_tags_to_snapshot(s.copy_tags_to_snapshot)
                        .port(i32::from(s.port))
                        .db_subnet_group_name(&db_subnet_group_name)
                        .set_vpc_security_group_ids(Some(security_groups.clone()))
                        .multi_az(s.multi_az)
                        .publicly_accessible(s.publicly_accessible)
                        .backup_retention_period(i32_of(s.backup_retention_days))
                        .monitoring_interval(i32_of(s.monitoring_interval_seconds))
                        .set_monitoring_role_arn(
                            monitoring_role
                                .clone()
                                .filter(|_| s.monitoring_interval_seconds > 0),
                        )
                        .deletion_protection(s.deletion_protection)
                        .set_tags(Some(op.tags(&s.tags).iter().map(rds_tag).collect()))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| redact(op.refused("CreateDBInstance")(e), &password))
                },
            )
            .await;
        drop(password);
        if let Err(mut e) = created {
            if e.has_code("InvalidParameterCombination")
                && let Some(hint) = self.db_versions_hint(&s.engine, &s.engine_version).await
            {
                e.message = format!("{} ({hint})", e.message);
            }
            return Err(e);
        }
        let live = self.db_instance_wait(op, &s.identifier, None).await?;
        Ok(instance_attrs(&live))
    }

    pub(crate) async fn db_instance_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut ids = Vec::new();
        for r in reqs {
            let Spec::DbInstance(p) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::DbInstance, &r.prior));
            };
            if !ids.contains(&p.identifier) {
                ids.push(p.identifier.clone());
            }
        }
        let page = self.page(100);
        let mut live: Vec<LiveInstance> = Vec::new();
        for part in ids.chunks(page) {
            let filter = Filter::builder()
                .name("db-instance-id")
                .set_values(Some(part.to_vec()))
                .build();
            let items: Vec<_> = self
                .rds
                .describe_db_instances()
                .filters(filter)
                .into_paginator()
                .page_size(i32::try_from(page.max(20)).unwrap_or(100))
                .items()
                .send()
                .try_collect()
                .await
                .map_err(sdk_err("DescribeDBInstances", None))?;
            live.extend(items);
        }
        let by_id: HashMap<&str, _> = live
            .iter()
            .filter(|i| !matches!(i.db_instance_status(), Some("deleting" | "deleted")))
            .filter_map(|i| Some((i.db_instance_identifier()?, i)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::DbInstance(prior) = &r.prior else {
                    unreachable!("checked above")
                };
                let Some(i) = by_id.get(prior.identifier.as_str()) else {
                    return Ok(None);
                };
                Ok(Some(live_instance(prior, i)))
            })
            .collect()
    }

    pub(crate) async fn db_instance_update(
        &self,
        op: &Op<'_>,
        o: &DbInstance,
        n: &DbInstance,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = n.identifier.as_str();
        // ModifyDBInstance is refused (InvalidDBInstanceState) unless the instance
        // is available.
        self.db_instance_wait(op, id, None).await?;
        let mut call = self
            .rds
            .modify_db_instance()
            .db_instance_identifier(id)
            .apply_immediately(true);
        let mut changed = false;
        macro_rules! set {
            ($field:ident, $setter:ident, $value:expr) => {
                if o.$field != n.$field {
                    call = call.$setter($value);
                    changed = true;
                }
            };
        }
        set!(engine_version, engine_version, &n.engine_version);
        set!(instance_class, db_instance_class, &n.instance_class);
        set!(
            allocated_storage_gb,
            allocated_storage,
            i32_of(n.allocated_storage_gb)
        );
        set!(storage_type, storage_type, &n.storage_type);
        set!(port, db_port_number, i32::from(n.port));
        set!(multi_az, multi_az, n.multi_az);
        set!(
            publicly_accessible,
            publicly_accessible,
            n.publicly_accessible
        );
        set!(
            backup_retention_days,
            backup_retention_period,
            i32_of(n.backup_retention_days)
        );
        set!(
            deletion_protection,
            deletion_protection,
            n.deletion_protection
        );
        if o.vpc_security_group_ids != n.vpc_security_group_ids {
            call = call.set_vpc_security_group_ids(Some(op.lits(&n.vpc_security_group_ids)?));
            changed = true;
        }
        if o.monitoring_interval_seconds != n.monitoring_interval_seconds
            || o.monitoring_role_arn != n.monitoring_role_arn
        {
            call = call
                .monitoring_interval(i32_of(n.monitoring_interval_seconds))
                .set_monitoring_role_arn(
                    op.opt(&n.monitoring_role_arn)?
                        .filter(|_| n.monitoring_interval_seconds > 0),
                );
            changed = true;
        }
        if o.engine_version != n.engine_version {
            // A major version needs explicit consent; the plan already showed it.
            call = call.allow_major_version_upgrade(true);
        }
        set!(
            iam_database_authentication,
            enable_iam_database_authentication,
            n.iam_database_authentication
        );
        set!(
            copy_tags_to_snapshot,
            copy_tags_to_snapshot,
            n.copy_tags_to_snapshot
        );
        if o.cloudwatch_logs_exports != n.cloudwatch_logs_exports {
            // ModifyDBInstance takes the change, not the new list: the log types
            // to enable and those to disable
            // (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CloudwatchLogsExportConfiguration.html>).
            let (enable, disable) =
                list_change(&o.cloudwatch_logs_exports, &n.cloudwatch_logs_exports);
            if !enable.is_empty() || !disable.is_empty() {
                call = call.cloudwatch_logs_export_configuration(
                    CloudwatchLogsExportConfiguration::builder()
                        .set_enable_log_types(Some(enable))
                        .set_disable_log_types(Some(disable))
                        .build(),
                );
                changed = true;
            }
        }
        // The master password: switched to RDS's management (with the key of its
        // secret), switched back to one the host reads from the spec's secret
        // ("turning off ... you must specify MasterUserPassword"), or changed.
        // RDS cannot change the KMS key of a secret it already manages
        // (MasterUserSecretKmsKeyId "is valid only if ... you are turning on
        // ManageMasterUserPassword",
        // <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html>).
        let password = match (o.manage_master_user_password, n.manage_master_user_password) {
            (false, true) => {
                self.master_password(op, n).await?;
                call = call
                    .manage_master_user_password(true)
                    .set_master_user_secret_kms_key_id(op.opt(&n.master_user_secret_kms_key_id)?);
                changed = true;
                None
            }
            (true, false) => {
                let p = self.master_password(op, n).await?;
                call = call.manage_master_user_password(false);
                changed = true;
                p
            }
            (true, true) => {
                if o.master_user_secret_kms_key_id != n.master_user_secret_kms_key_id {
                    return Err(op.invalid("ModifyDBInstance")(format!(
                        "RDS cannot change the KMS key of the master user secret it already \
                         manages for {id}: turn `manage-master-user-password` off with one \
                         apply (giving a `master-password`) and on again with the new key in \
                         the next, or keep the key"
                    )));
                }
                None
            }
            (false, false) if o.master_password != n.master_password => {
                changed = true;
                self.master_password(op, n).await?
            }
            (false, false) => None,
        };
        if let Some(p) = &password {
            call = call.master_user_password(p.expose());
        }
        if changed {
            let busy_or_iam = |e: &ProviderError| e.is_dependency() || iam_not_propagated(e);
            self.retrying(op, self.options.timeouts.db_instance, busy_or_iam, || {
                let (call, password) = (call.clone(), &password);
                async move {
                    call.send()
                        .await
                        .map(|_| ())
                        .map_err(|e| redact(op.err("ModifyDBInstance")(e), password))
                }
            })
            .await?;
        }
        drop(password);
        let arn = crate::provider::attr(a, "arn", op.address)?;
        self.rds_retag(op, &arn, &o.tags, &n.tags).await?;
        let live = self.db_instance_wait(op, id, changed.then_some(n)).await?;
        Ok(instance_attrs(&live))
    }

    pub(crate) async fn db_instance_delete(
        &self,
        op: &Op<'_>,
        s: &DbInstance,
    ) -> Result<(), ProviderError> {
        let mut call = self
            .rds
            .delete_db_instance()
            .db_instance_identifier(&s.identifier);
        call = if s.skip_final_snapshot {
            call.skip_final_snapshot(true)
        } else {
            let stamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            call.skip_final_snapshot(false)
                .final_db_snapshot_identifier(format!("{}-final-{stamp}", s.identifier))
        };
        // Refused (InvalidDBInstanceState) while the instance is creating,
        // modifying or backing up: retried until it can be deleted. One already
        // deleting is being deleted. One with deletion protection is refused
        // ("You can't delete a DB instance when deletion protection is enabled",
        // InvalidParameterCombination,
        // <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html>):
        // the host never turns the protection off by itself, it says how to.
        self.delete_retrying(op, || async {
            let Err(e) = call.clone().send().await else {
                return Ok(());
            };
            let e = crate::error::from_sdk("DeleteDBInstance", Some(op.address), e);
            if e.is_not_found() {
                return Err(e);
            }
            let live = self.db_instance(op.address, &s.identifier).await?;
            if live.as_ref().and_then(|i| i.deletion_protection()) == Some(true) {
                return Err(protected(op, &s.identifier, e));
            }
            let deleting = e.is_dependency()
                && live.is_some_and(|i| i.db_instance_status() == Some("deleting"));
            if deleting { Ok(()) } else { Err(e) }
        })
        .await?;
        self.wait_for(
            op,
            "the DB instance is deleted",
            self.options.timeouts.db_instance,
            || async {
                match self.db_instance(op.address, &s.identifier).await? {
                    None => Ok(Check::Done(())),
                    Some(i) => Ok(Check::Pending(
                        i.db_instance_status().unwrap_or("unknown").to_string(),
                    )),
                }
            },
        )
        .await
    }
}

/// Statuses an instance does not leave by itself, from "Viewing Amazon RDS DB
/// instance status"
/// (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html>):
/// waiting on them would only wait for the timeout.
const TERMINAL: &[&str] = &[
    "failed",
    "inaccessible-encryption-credentials",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "restore-error",
    "storage-full",
];

/// The error of a delete that deletion protection refused: names the instance and
/// says how to delete it (AWS's code and message kept).
fn protected(op: &Op<'_>, id: &str, aws: ProviderError) -> ProviderError {
    let mut e = ProviderError::new(
        ErrorKind::Invalid,
        "DeleteDBInstance",
        Some(op.address),
        format!(
            "the DB instance {id} has deletion protection on, so AWS refuses to delete it \
             ({}): set `deletion-protection` to false and apply first, then delete it",
            aws.message
        ),
    );
    e.code = aws.code;
    e
}

/// An error with the password (if any) scrubbed from its message.
fn redact(e: ProviderError, password: &Option<SecretString>) -> ProviderError {
    match password {
        Some(p) => e.redact(p.expose()),
        None => e,
    }
}

/// What changes between two lists: the items to add, and those to remove.
fn list_change(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let add = new.iter().filter(|x| !old.contains(x)).cloned().collect();
    let remove = old.iter().filter(|x| !new.contains(x)).cloned().collect();
    (add, remove)
}

/// Whether RDS refused because an IAM role (the enhanced monitoring role) has not
/// propagated yet: "IAM role ARN value is invalid or does not include the required
/// permissions for: ENHANCED_MONITORING" right after the role was created. IAM is
/// eventually consistent
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>);
/// AWS gives this case no code of its own, so the message is matched.
fn iam_not_propagated(e: &ProviderError) -> bool {
    e.has_code("InvalidParameterValue") && e.message.contains("IAM role")
}

/// Whether the live instance shows every change `desired` asks for (the fields
/// AWS reports back; tags are set separately).
fn applied(desired: &DbInstance, i: &LiveInstance) -> bool {
    let Spec::DbInstance(live) = live_instance(desired, i).spec else {
        return false;
    };
    live.instance_class == desired.instance_class
        && live.allocated_storage_gb == desired.allocated_storage_gb
        && live.engine_version == desired.engine_version
        && live.multi_az == desired.multi_az
        && live.backup_retention_days == desired.backup_retention_days
        && live.deletion_protection == desired.deletion_protection
        && live.monitoring_interval_seconds == desired.monitoring_interval_seconds
        && live.iam_database_authentication == desired.iam_database_authentication
        && live.copy_tags_to_snapshot == desired.copy_tags_to_snapshot
        && live.manage_master_user_password == desired.manage_master_user_password
        && live.cloudwatch_logs_exports == desired.cloudwatch_logs_exports
}

fn has_pending(i: &LiveInstance) -> bool {
    i.pending_modified_values().is_some_and(|p| {
        p.db_instance_class().is_some()
            || p.allocated_storage().is_some()
            || p.engine_version().is_some()
            || p.port().is_some()
            || p.multi_az().is_some()
            || p.storage_type().is_some()
            || p.backup_retention_period().is_some()
            || p.master_user_password().is_some()
            || p.iam_database_authentication_enabled().is_some()
            || p.pending_cloudwatch_logs_exports().is_some()
    })
}

fn live_instance(prior: &DbInstance, i: &LiveInstance) -> Found {
    let live_tags = i
        .tag_list()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let (tags, owner) = tags::split(live_tags, &prior.tags);
    let attributes = instance_attrs(i);
    let port = attributes
        .get("port")
        .and_then(|p| p.as_u64())
        .and_then(|p| u16::try_from(p).ok());
    let engine_version = match i.engine_version() {
        Some(v) if not_behind(&prior.engine_version, v) => prior.engine_version.clone(),
        Some(v) => v.to_string(),
        None => prior.engine_version.clone(),
    };
    let master_username = match i.master_username() {
        Some(u) => Text::Literal(u.to_string()),
        None => prior.master_username.clone(),
    };
    let groups = i
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
        .collect();
    // RDS reports the AWS managed key when none was given; that is not drift.
    let kms_key_id = if prior.kms_key_id.is_none() {
        None
    } else {
        live_kms(&prior.kms_key_id, i.kms_key_id().map(str::to_string))
    };
    let managed = i.master_user_secret();
    let monitoring_role_arn = match (
        i.monitoring_role_arn(),
        i.monitoring_interval().unwrap_or(0),
    ) {
        (_, 0) => prior
            .monitoring_role_arn
            .clone()
            .filter(|_| prior.monitoring_interval_seconds == 0),
        (Some(r), _) => Some(Text::Literal(r.to_string())),
        (None, _) => None,
    };
    Found {
        spec: Spec::DbInstance(DbInstance {
            identifier: prior.identifier.clone(),
            engine: i.engine().unwrap_or_default().to_string(),
            engine_version,
            instance_class: i.db_instance_class().unwrap_or_default().to_string(),
            allocated_storage_gb: u32::try_from(i.allocated_storage().unwrap_or(0)).unwrap_or(0),
            storage_type: i.storage_type().unwrap_or_default().to_string(),
            storage_encrypted: i.storage_encrypted().unwrap_or(false),
            kms_key_id,
            db_name: i.db_name().unwrap_or_default().to_string(),
            master_username,
            // Not readable (and never stored): where the password comes from; none
            // while RDS manages it (a spec has exactly one source).
            master_password: prior.master_password.clone().filter(|_| managed.is_none()),
            manage_master_user_password: managed.is_some(),
            // RDS reports the `aws/secretsmanager` key when none was given; that is
            // not drift.
            master_user_secret_kms_key_id: match managed {
                Some(m) if prior.master_user_secret_kms_key_id.is_some() => live_kms(
                    &prior.master_user_secret_kms_key_id,
                    m.kms_key_id().map(str::to_string),
                ),
                _ => None,
            },
            iam_database_authentication: i.iam_database_authentication_enabled().unwrap_or(false),
            cloudwatch_logs_exports: order_like(
                i.enabled_cloudwatch_logs_exports().to_vec(),
                &prior.cloudwatch_logs_exports,
            ),
            copy_tags_to_snapshot: i.copy_tags_to_snapshot().unwrap_or(false),
            port: port.unwrap_or(prior.port),
            db_subnet_group_name: i
                .db_subnet_group()
                .and_then(|g| g.db_subnet_group_name())
                .map(|n| Text::Literal(n.to_string()))
                .unwrap_or_else(|| prior.db_subnet_group_name.clone()),
            vpc_security_group_ids: order_texts(groups, &prior.vpc_security_group_ids),
            multi_az: i.multi_az().unwrap_or(false),
            publicly_accessible: i.publicly_accessible().unwrap_or(false),
            backup_retention_days: u32::try_from(i.backup_retention_period().unwrap_or(0))
                .unwrap_or(0),
            monitoring_interval_seconds: u32::try_from(i.monitoring_interval().unwrap_or(0))
                .unwrap_or(0),
            monitoring_role_arn,
            deletion_protection: i.deletion_protection().unwrap_or(false),
            // Write-only: used when the instance is deleted.
            skip_final_snapshot: prior.skip_final_snapshot,
            tags,
        }),
        attributes,
        owner,
    }
}

#[async_trait]
impl AwsKind for DbSubnetGroup {
    const NOT_FOUND: &'static [&'static str] = &["DBSubnetGroupNotFoundFault"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        self.name = super::name_or_arn(id, "subgrp:", "DB subnet group")?;
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.db_subnet_group_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.db_subnet_group_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.db_subnet_group_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.db_subnet_group_delete(op, self).await
    }
}

#[async_trait]
impl AwsKind for DbInstance {
    const NOT_FOUND: &'static [&'static str] = &["DBInstanceNotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        self.identifier = super::name_or_arn(id, "db:", "DB instance")?;
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.db_instance_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.db_instance_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.db_instance_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.db_instance_delete(op, self).await
    }
}

/// Whether the live engine version `live` satisfies the declared `declared`: the
/// same version, a minor of a declared major (`15` and `15.7`), or a newer minor of
/// the same major (`15.4` and `15.7`). AWS upgrades instances past minor versions
/// it retires and refuses downgrades, so a newer minor is no drift and is never
/// "updated" back down.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.PostgreSQL.html>
fn not_behind(declared: &str, live: &str) -> bool {
    let parse = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    match (parse(declared), parse(live)) {
        (Some(d), Some(l)) => d.first() == l.first() && l >= d,
        _ => declared == live,
    }
}

#[cfg(test)]
mod tests {
    use super::not_behind;

    #[test]
    fn a_newer_minor_of_the_same_major_is_no_drift() {
        assert!(not_behind("15", "15.7"));
        assert!(not_behind("15.4", "15.7"));
        assert!(not_behind("15.4", "15.4"));
        assert!(not_behind("15.4", "15.10"), "numbers, not text");
        assert!(!not_behind("15.7", "15.4"), "older is drift");
        assert!(!not_behind("15", "16.1"), "another major is drift");
        assert!(!not_behind("14.9", "15.1"));
        assert!(not_behind("custom", "custom"));
    }
}
