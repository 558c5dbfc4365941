//! Amazon ElastiCache: cache subnet groups and Redis replication groups (cluster
//! mode disabled).
//!
//! Reads list with one Describe call per page (`MaxRecords` = the read page size)
//! when more than one resource is read, and by name when one is. ElastiCache
//! describes carry no tags, so tags cost one `ListTagsForResource` per resource.
//! A replication group's engine version, subnet group and security groups live on
//! its member clusters: one `DescribeCacheClusters` listing per page covers them.
//!
//! A group's Redis AUTH token is read from Secrets Manager at apply time (like a DB
//! master password) and sent only in `CreateReplicationGroup`; AWS never returns
//! it, and reports only whether AUTH is on (`AuthTokenEnabled`).

use crate::kinds::AwsKind;
use async_trait::async_trait;
use std::collections::HashMap;

use aws_sdk_elasticache::types::{
    AutomaticFailoverStatus, CacheCluster, CacheSubnetGroup as LiveSubnetGroup, MultiAzStatus,
    ReplicationGroup, Tag as EcTag,
};
use engine_core::model::{CacheReplicationGroup, CacheSubnetGroup, SecretValueRef, Tag};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::json;

use crate::error::{ProviderError, sdk_err};
use crate::password::SecretString;
use crate::provider::{
    Attributes, Aws, Check, Found, Op, ReadRequest, attrs, live_kms, order_texts, wrong_kind,
};
use crate::tags;

fn ec_tag(t: &Tag) -> EcTag {
    EcTag::builder().key(&t.key).value(&t.value).build()
}

fn i32_of(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The attributes of a replication group.
fn group_attrs(g: &ReplicationGroup) -> Attributes {
    let node_group = g.node_groups().first();
    let primary = node_group.and_then(|n| n.primary_endpoint());
    let reader = node_group.and_then(|n| n.reader_endpoint());
    attrs([
        ("id", json!(g.replication_group_id().unwrap_or_default())),
        ("arn", json!(g.arn().unwrap_or_default())),
        (
            "primary-endpoint",
            json!(primary.and_then(|e| e.address()).unwrap_or_default()),
        ),
        (
            "reader-endpoint",
            json!(reader.and_then(|e| e.address()).unwrap_or_default()),
        ),
        (
            "port",
            json!(primary.and_then(|e| e.port()).unwrap_or_default()),
        ),
    ])
}

impl Aws {
    /// The tags of a resource, or `None` while AWS cannot list them: a
    /// replication group's tags cannot be listed while it is snapshotting or
    /// modifying (`InvalidReplicationGroupState`,
    /// <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ListTagsForResource.html>).
    async fn ec_tags(
        &self,
        address: &Address,
        arn: &str,
    ) -> Result<Option<Vec<(String, String)>>, ProviderError> {
        if arn.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let out = match self
            .elasticache
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(sdk_err("ListTagsForResource", Some(address)))
        {
            Ok(out) => out,
            Err(e) if busy(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(
            out.tag_list()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        ))
    }

    /// Sets the tag changes; calls refused while the resource is busy are retried
    /// until it is not.
    async fn ec_retag(
        &self,
        op: &Op<'_>,
        arn: &str,
        old: &[Tag],
        new: &[Tag],
    ) -> Result<(), ProviderError> {
        let (set, remove) = op.tag_diff(old, new);
        let limit = self.options.timeouts.cache_replication_group;
        if !remove.is_empty() {
            self.retrying(op, limit, busy, || async {
                self.elasticache
                    .remove_tags_from_resource()
                    .resource_name(arn)
                    .set_tag_keys(Some(remove.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("RemoveTagsFromResource"))
            })
            .await?;
        }
        if !set.is_empty() {
            self.retrying(op, limit, busy, || async {
                self.elasticache
                    .add_tags_to_resource()
                    .resource_name(arn)
                    .set_tags(Some(set.iter().map(ec_tag).collect()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("AddTagsToResource"))
            })
            .await?;
        }
        Ok(())
    }

    // ---- cache subnet group ----

    pub(crate) async fn cache_subnet_group_create(
        &self,
        op: &Op<'_>,
        s: &CacheSubnetGroup,
    ) -> Result<Attributes, ProviderError> {
        let out = self
            .elasticache
            .create_cache_subnet_group()
            .cache_subnet_group_name(&s.name)
            .cache_subnet_group_description(&s.description)
            .set_subnet_ids(Some(op.lits(&s.subnet_ids)?))
            .set_tags(Some(op.tags(&s.tags).iter().map(ec_tag).collect()))
            .send()
            .await
            .map_err(op.refused("CreateCacheSubnetGroup"))?;
        let arn = out
            .cache_subnet_group()
            .and_then(|g| g.arn())
            .unwrap_or_default();
        Ok(attrs([("name", json!(s.name)), ("arn", json!(arn))]))
    }

    async fn cache_subnet_groups(
        &self,
        names: &[&str],
    ) -> Result<Vec<LiveSubnetGroup>, ProviderError> {
        if let [one] = names {
            return match self
                .elasticache
                .describe_cache_subnet_groups()
                .cache_subnet_group_name(*one)
                .send()
                .await
            {
                Ok(o) => Ok(o.cache_subnet_groups.unwrap_or_default()),
                Err(e) => {
                    let e = crate::error::from_sdk("DescribeCacheSubnetGroups", None, e);
                    if e.is_not_found() {
                        Ok(Vec::new())
                    } else {
                        Err(e)
                    }
                }
            };
        }
        self.elasticache
            .describe_cache_subnet_groups()
            .into_paginator()
            .page_size(i32::try_from(self.page(100).max(20)).unwrap_or(100))
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk_err("DescribeCacheSubnetGroups", None))
    }

    pub(crate) async fn cache_subnet_group_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut names = Vec::new();
        for r in reqs {
            let Spec::CacheSubnetGroup(p) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::CacheSubnetGroup, &r.prior));
            };
            names.push(p.name.as_str());
        }
        let live = self.cache_subnet_groups(&names).await?;
        let by_name: HashMap<&str, _> = live
            .iter()
            .filter_map(|g| Some((g.cache_subnet_group_name()?, g)))
            .collect();
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::CacheSubnetGroup(prior) = &r.prior else {
                unreachable!("checked above")
            };
            let Some(g) = by_name.get(prior.name.as_str()) else {
                out.push(None);
                continue;
            };
            let arn = g.arn().unwrap_or_default();
            let live_tags = self.ec_tags(&r.address, arn).await?.unwrap_or_default();
            let (tags, owner) = tags::split(live_tags, &prior.tags);
            let subnets = g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier().map(str::to_string))
                .collect();
            out.push(Some(Found {
                spec: Spec::CacheSubnetGroup(CacheSubnetGroup {
                    name: prior.name.clone(),
                    description: g
                        .cache_subnet_group_description()
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

    pub(crate) async fn cache_subnet_group_update(
        &self,
        op: &Op<'_>,
        o: &CacheSubnetGroup,
        n: &CacheSubnetGroup,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let mut arn = a
            .get("arn")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        if o.description != n.description || o.subnet_ids != n.subnet_ids {
            let out = self
                .elasticache
                .modify_cache_subnet_group()
                .cache_subnet_group_name(&n.name)
                .cache_subnet_group_description(&n.description)
                .set_subnet_ids(Some(op.lits(&n.subnet_ids)?))
                .send()
                .await
                .map_err(op.err("ModifyCacheSubnetGroup"))?;
            if let Some(live) = out.cache_subnet_group().and_then(|g| g.arn()) {
                arn = live.to_string();
            }
        }
        self.ec_retag(op, &arn, &o.tags, &n.tags).await?;
        let mut a = a.clone();
        a.insert("arn".into(), json!(arn));
        Ok(a)
    }

    pub(crate) async fn cache_subnet_group_delete(
        &self,
        op: &Op<'_>,
        s: &CacheSubnetGroup,
    ) -> Result<(), ProviderError> {
        self.delete_retrying(op, || async {
            self.elasticache
                .delete_cache_subnet_group()
                .cache_subnet_group_name(&s.name)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteCacheSubnetGroup"))
        })
        .await
    }

    // ---- replication group ----

    async fn replication_group(
        &self,
        address: &Address,
        id: &str,
    ) -> Result<Option<ReplicationGroup>, ProviderError> {
        match self
            .elasticache
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.replication_groups.unwrap_or_default().into_iter().next()),
            Err(e) => {
                let e = crate::error::from_sdk("DescribeReplicationGroups", Some(address), e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    /// Waits until the group is `available` with no pending changes, and, when
    /// `desired` is given (after a modify), until it shows the change (or
    /// `timeouts.eventual_consistency` has passed). A terminal status fails at once.
    async fn replication_group_wait(
        &self,
        op: &Op<'_>,
        id: &str,
        desired: Option<&CacheReplicationGroup>,
    ) -> Result<ReplicationGroup, ProviderError> {
        let start = std::time::Instant::now();
        self.wait_for(
            op,
            "the replication group is available",
            self.options.timeouts.cache_replication_group,
            || async {
                let Some(g) = self.replication_group(op.address, id).await? else {
                    return Ok(Check::Pending("not yet visible".into()));
                };
                let status = g.status().unwrap_or("unknown");
                if TERMINAL.contains(&status) {
                    return Ok(Check::Failed(status.to_string()));
                }
                if status != "available" || has_pending(&g) {
                    return Ok(Check::Pending(status.to_string()));
                }
                let shown = desired.is_none_or(|d| applied(d, &g));
                if shown || start.elapsed() >= self.options.timeouts.eventual_consistency {
                    Ok(Check::Done(g))
                } else {
                    Ok(Check::Pending("available, the change not yet shown".into()))
                }
            },
        )
        .await
    }

    /// The AUTH token the spec points at, read at apply time (never stored),
    /// checked against ElastiCache's rules first: AUTH needs encryption in transit,
    /// and a token is 16 to 128 printable characters of which the only special
    /// ones are `!&#$^<>-`
    /// (<https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html>,
    /// `AuthToken`). A refusal names the secret and key, never the token.
    async fn auth_token(
        &self,
        op: &Op<'_>,
        s: &CacheReplicationGroup,
    ) -> Result<Option<SecretString>, ProviderError> {
        let Some(r) = &s.auth_token else {
            return Ok(None);
        };
        if !s.transit_encryption {
            return Err(op.invalid("CreateReplicationGroup")(
                "`auth-token` needs `transit-encryption`: ElastiCache accepts an AUTH token \
                 only with encryption in transit",
            )
            .refusing());
        }
        let secret = op.lit(&r.secret_id)?;
        let token = self.secret_value(op.address, &secret, &r.key).await?;
        if let Some(why) = token_rule_broken(token.expose()) {
            return Err(op.invalid("CreateReplicationGroup")(format!(
                "the value of key `{}` of the secret `{secret}` cannot be a Redis AUTH token: \
                 {why} (ElastiCache takes 16 to 128 characters: letters, digits and \
                 `!&#$^<>-`; a `secret` whose password should serve as one excludes the other \
                 special characters)",
                r.key
            ))
            .refusing());
        }
        Ok(Some(token))
    }

    pub(crate) async fn replication_group_create(
        &self,
        op: &Op<'_>,
        s: &CacheReplicationGroup,
    ) -> Result<Attributes, ProviderError> {
        // AuthToken: "TransitEncryptionEnabled must be set to true" and 16 to 128
        // printable characters
        // (<https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html>);
        // AWS checks both and its refusal is redacted.
        let token = self.auth_token(op, s).await?;
        let created = self
            .elasticache
            .create_replication_group()
            .replication_group_id(&s.id)
            .replication_group_description(&s.description)
            .engine("redis")
            .engine_version(&s.engine_version)
            .cache_node_type(&s.node_type)
            .num_cache_clusters(i32_of(s.num_cache_clusters))
            .port(i32::from(s.port))
            .cache_subnet_group_name(op.lit(&s.subnet_group_name)?)
            .set_security_group_ids(Some(op.lits(&s.security_group_ids)?))
            .automatic_failover_enabled(s.automatic_failover)
            .multi_az_enabled(s.multi_az)
            .at_rest_encryption_enabled(s.at_rest_encryption)
            .transit_encryption_enabled(s.transit_encryption)
            .set_kms_key_id(op.opt(&s.kms_key_id)?)
            .snapshot_retention_limit(i32_of(s.snapshot_retention_days))
            .set_auth_token(token.as_ref().map(|t| t.expose().to_string()))
            .set_tags(Some(op.tags(&s.tags).iter().map(ec_tag).collect()))
            .send()
            .await
            .map_err(|e| {
                let e = op.refused("CreateReplicationGroup")(e);
                match &token {
                    Some(t) => e.redact(t.expose()),
                    None => e,
                }
            });
        drop(token);
        created?;
        let g = self.replication_group_wait(op, &s.id, None).await?;
        Ok(group_attrs(&g))
    }

    pub(crate) async fn replication_group_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut ids = Vec::new();
        for r in reqs {
            let Spec::CacheReplicationGroup(p) = &r.prior else {
                return Err(wrong_kind(
                    &r.address,
                    Kind::CacheReplicationGroup,
                    &r.prior,
                ));
            };
            ids.push(p.id.as_str());
        }
        let page = i32::try_from(self.page(100).max(20)).unwrap_or(100);
        let (groups, clusters): (Vec<ReplicationGroup>, Vec<CacheCluster>) =
            if let [one] = ids.as_slice() {
                let groups: Vec<_> = self
                    .replication_group(&reqs[0].address, one)
                    .await?
                    .into_iter()
                    .collect();
                let first_member = groups
                    .first()
                    .and_then(|g| g.member_clusters().first().cloned());
                let clusters = match first_member {
                    Some(m) => match self
                        .elasticache
                        .describe_cache_clusters()
                        .cache_cluster_id(m)
                        .send()
                        .await
                    {
                        Ok(o) => o.cache_clusters.unwrap_or_default(),
                        Err(e) => {
                            let e = crate::error::from_sdk("DescribeCacheClusters", None, e);
                            if e.is_not_found() {
                                Vec::new()
                            } else {
                                return Err(e);
                            }
                        }
                    },
                    None => Vec::new(),
                };
                (groups, clusters)
            } else {
                let groups = self
                    .elasticache
                    .describe_replication_groups()
                    .into_paginator()
                    .page_size(page)
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(sdk_err("DescribeReplicationGroups", None))?;
                let clusters = self
                    .elasticache
                    .describe_cache_clusters()
                    .into_paginator()
                    .page_size(page)
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(sdk_err("DescribeCacheClusters", None))?;
                (groups, clusters)
            };
        let by_id: HashMap<&str, _> = groups
            .iter()
            .filter(|g| !matches!(g.status(), Some("deleting" | "deleted")))
            .filter_map(|g| Some((g.replication_group_id()?, g)))
            .collect();
        let mut member: HashMap<&str, &CacheCluster> = HashMap::new();
        for c in &clusters {
            if let Some(g) = c.replication_group_id() {
                member.entry(g).or_insert(c);
            }
        }
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::CacheReplicationGroup(prior) = &r.prior else {
                unreachable!("checked above")
            };
            let Some(g) = by_id.get(prior.id.as_str()) else {
                out.push(None);
                continue;
            };
            // Busy (creating, snapshotting, modifying): for a recorded group the
            // recorded tags stand, and the ownership rests on the recorded id; a
            // group being located (what an interrupted create left) has only its
            // tags to prove it this stack's, so the read waits until they can be
            // listed.
            let arn = g.arn().unwrap_or_default();
            let recorded = !r.attributes.is_empty();
            let mut live = self.ec_tags(&r.address, arn).await?;
            let start = std::time::Instant::now();
            let mut delay = self.options.poll_initial;
            while live.is_none()
                && !recorded
                && start.elapsed() < self.options.timeouts.cache_replication_group
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(self.options.poll_max);
                live = self.ec_tags(&r.address, arn).await?;
            }
            let (tags, owner) = match live {
                Some(live) => tags::split(live, &prior.tags),
                None => (prior.tags.clone(), None),
            };
            // Engine version, subnet group and security groups are reported on the
            // member clusters. (moto keeps no member clusters: the prior values stand.)
            let cluster = member.get(prior.id.as_str());
            let engine_version = cluster
                .and_then(|c| c.engine_version())
                .map(|v| {
                    if v.starts_with(&format!("{}.", prior.engine_version)) {
                        prior.engine_version.clone()
                    } else {
                        v.to_string()
                    }
                })
                .unwrap_or_else(|| prior.engine_version.clone());
            let subnet_group_name = cluster
                .and_then(|c| c.cache_subnet_group_name())
                .map(|n| Text::Literal(n.to_string()))
                .unwrap_or_else(|| prior.subnet_group_name.clone());
            let security_group_ids = match cluster {
                Some(c) => order_texts(
                    c.security_groups()
                        .iter()
                        .filter_map(|s| s.security_group_id().map(str::to_string))
                        .collect(),
                    &prior.security_group_ids,
                ),
                None => prior.security_group_ids.clone(),
            };
            let attributes = group_attrs(g);
            let port = attributes
                .get("port")
                .and_then(|p| p.as_u64())
                .and_then(|p| u16::try_from(p).ok());
            out.push(Some(Found {
                spec: Spec::CacheReplicationGroup(CacheReplicationGroup {
                    id: prior.id.clone(),
                    description: g.description().unwrap_or_default().to_string(),
                    engine_version,
                    node_type: g.cache_node_type().unwrap_or_default().to_string(),
                    num_cache_clusters: u32::try_from(g.member_clusters().len()).unwrap_or(0),
                    port: port.unwrap_or(prior.port),
                    subnet_group_name,
                    security_group_ids,
                    automatic_failover: matches!(
                        g.automatic_failover(),
                        Some(AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling)
                    ),
                    multi_az: g.multi_az() == Some(&MultiAzStatus::Enabled),
                    at_rest_encryption: g.at_rest_encryption_enabled().unwrap_or(false),
                    transit_encryption: g.transit_encryption_enabled().unwrap_or(false),
                    kms_key_id: live_kms(&prior.kms_key_id, g.kms_key_id().map(str::to_string)),
                    auth_token: live_auth_token(prior, g.auth_token_enabled().unwrap_or(false)),
                    snapshot_retention_days: u32::try_from(
                        g.snapshot_retention_limit().unwrap_or(0),
                    )
                    .unwrap_or(0),
                    tags,
                }),
                attributes,
                owner,
            }));
        }
        Ok(out)
    }

    pub(crate) async fn replication_group_update(
        &self,
        op: &Op<'_>,
        o: &CacheReplicationGroup,
        n: &CacheReplicationGroup,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = n.id.as_str();
        // A modify is refused (InvalidReplicationGroupState) unless the group is
        // available.
        self.replication_group_wait(op, id, None).await?;
        let changed = o.description != n.description
            || o.engine_version != n.engine_version
            || o.node_type != n.node_type
            || o.security_group_ids != n.security_group_ids
            || o.automatic_failover != n.automatic_failover
            || o.multi_az != n.multi_az
            || o.snapshot_retention_days != n.snapshot_retention_days;
        if changed {
            let mut call = self
                .elasticache
                .modify_replication_group()
                .replication_group_id(id)
                .apply_immediately(true);
            if o.description != n.description {
                call = call.replication_group_description(&n.description);
            }
            if o.engine_version != n.engine_version {
                call = call.engine_version(&n.engine_version);
            }
            if o.node_type != n.node_type {
                call = call.cache_node_type(&n.node_type);
            }
            if o.security_group_ids != n.security_group_ids {
                call = call.set_security_group_ids(Some(op.lits(&n.security_group_ids)?));
            }
            if o.automatic_failover != n.automatic_failover {
                call = call.automatic_failover_enabled(n.automatic_failover);
            }
            if o.multi_az != n.multi_az {
                call = call.multi_az_enabled(n.multi_az);
            }
            if o.snapshot_retention_days != n.snapshot_retention_days {
                call = call.snapshot_retention_limit(i32_of(n.snapshot_retention_days));
            }
            self.retrying(
                op,
                self.options.timeouts.cache_replication_group,
                busy,
                || async {
                    call.clone()
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(op.err("ModifyReplicationGroup"))
                },
            )
            .await?;
            self.replication_group_wait(op, id, Some(n)).await?;
        }
        if o.num_cache_clusters != n.num_cache_clusters {
            let replicas = i32_of(n.num_cache_clusters.saturating_sub(1));
            if n.num_cache_clusters > o.num_cache_clusters {
                self.elasticache
                    .increase_replica_count()
                    .replication_group_id(id)
                    .new_replica_count(replicas)
                    .apply_immediately(true)
                    .send()
                    .await
                    .map_err(op.err("IncreaseReplicaCount"))?;
            } else {
                self.elasticache
                    .decrease_replica_count()
                    .replication_group_id(id)
                    .new_replica_count(replicas)
                    .apply_immediately(true)
                    .send()
                    .await
                    .map_err(op.err("DecreaseReplicaCount"))?;
            }
            self.replication_group_wait(op, id, None).await?;
        }
        let arn = a
            .get("arn")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        self.ec_retag(op, &arn, &o.tags, &n.tags).await?;
        let g = self.replication_group_wait(op, id, None).await?;
        Ok(group_attrs(&g))
    }

    pub(crate) async fn replication_group_delete(
        &self,
        op: &Op<'_>,
        s: &CacheReplicationGroup,
    ) -> Result<(), ProviderError> {
        // Refused (InvalidReplicationGroupState) while the group is creating,
        // modifying or snapshotting: retried until it can be deleted. One already
        // deleting is being deleted.
        self.delete_retrying(op, || async {
            let Err(e) = self
                .elasticache
                .delete_replication_group()
                .replication_group_id(&s.id)
                .retain_primary_cluster(false)
                .send()
                .await
            else {
                return Ok(());
            };
            let e = crate::error::from_sdk("DeleteReplicationGroup", Some(op.address), e);
            let deleting = busy(&e)
                && self
                    .replication_group(op.address, &s.id)
                    .await?
                    .is_some_and(|g| g.status() == Some("deleting"));
            if deleting { Ok(()) } else { Err(e) }
        })
        .await?;
        self.wait_for(
            op,
            "the replication group is deleted",
            self.options.timeouts.cache_replication_group,
            || async {
                match self.replication_group(op.address, &s.id).await? {
                    None => Ok(Check::Done(())),
                    Some(g) => Ok(Check::Pending(g.status().unwrap_or("unknown").to_string())),
                }
            },
        )
        .await
    }
}

/// The live AUTH token as a spec value. AWS never returns the token, only whether
/// AUTH is on (`AuthTokenEnabled`,
/// <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ReplicationGroup.html>):
/// on, the prior's reference stands (whatever the token is, it came from there);
/// off, none. A group with AUTH where the spec has none reads as a reference
/// naming no secret, so the plan shows the difference (and replaces the group).
fn live_auth_token(prior: &CacheReplicationGroup, enabled: bool) -> Option<SecretValueRef> {
    match (&prior.auth_token, enabled) {
        (_, false) => None,
        (Some(r), true) => Some(r.clone()),
        (None, true) => Some(SecretValueRef {
            secret_id: Text::Literal(AUTH_SET_ELSEWHERE.into()),
            key: String::new(),
        }),
    }
}

/// Which of ElastiCache's rules for an AUTH token `token` breaks, if any (without
/// quoting it).
fn token_rule_broken(token: &str) -> Option<&'static str> {
    let n = token.chars().count();
    if !(16..=128).contains(&n) {
        Some("its length is not 16 to 128 characters")
    } else if !token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!&#$^<>-".contains(c))
    {
        Some("it holds a character other than letters, digits and `!&#$^<>-`")
    } else {
        None
    }
}

/// The secret a live AUTH token is said to come from when the spec declares none.
const AUTH_SET_ELSEWHERE: &str = "(an AUTH token not declared here)";

/// Statuses a replication group does not leave by itself ("creating, available,
/// modifying, deleting, create-failed, snapshotting":
/// <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ReplicationGroup.html>;
/// its clusters can also be `incompatible-network` or `restore-failed`).
const TERMINAL: &[&str] = &["create-failed", "incompatible-network", "restore-failed"];

/// Whether AWS refused because the replication group (or its cluster) is in a
/// transition that does not allow the call.
fn busy(e: &ProviderError) -> bool {
    e.has_code("InvalidReplicationGroupState") || e.has_code("InvalidCacheClusterState")
}

/// Whether the live group shows the changes `desired` asks for, among those the
/// group reports itself.
fn applied(desired: &CacheReplicationGroup, g: &ReplicationGroup) -> bool {
    g.description() == Some(desired.description.as_str())
        && g.cache_node_type().is_none_or(|t| t == desired.node_type)
        && g.snapshot_retention_limit()
            .is_none_or(|d| i64::from(d) == i64::from(desired.snapshot_retention_days))
}

fn has_pending(g: &ReplicationGroup) -> bool {
    g.pending_modified_values().is_some_and(|p| {
        p.primary_cluster_id().is_some()
            || p.automatic_failover_status().is_some()
            || p.resharding().is_some()
            || p.transit_encryption_enabled().is_some()
    })
}

#[async_trait]
impl AwsKind for CacheSubnetGroup {
    const NOT_FOUND: &'static [&'static str] = &["CacheSubnetGroupNotFoundFault"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        self.name = super::name_or_arn(id, "subnetgroup:", "cache subnet group")?;
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.cache_subnet_group_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.cache_subnet_group_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.cache_subnet_group_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.cache_subnet_group_delete(op, self).await
    }
}

#[async_trait]
impl AwsKind for CacheReplicationGroup {
    const NOT_FOUND: &'static [&'static str] = &["ReplicationGroupNotFoundFault"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        self.id = super::name_or_arn(id, "replicationgroup:", "replication group")?;
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.replication_group_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.replication_group_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.replication_group_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        aws.replication_group_delete(op, self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_tokens_follow_elasticache_rules() {
        assert_eq!(token_rule_broken("abcdefgh12345678"), None);
        assert_eq!(token_rule_broken("Ab1!&#$^<>-Ab1!&#$^<>-"), None);
        assert!(token_rule_broken("short1234").is_some());
        assert!(token_rule_broken(&"a".repeat(129)).is_some());
        for c in ['@', '"', '/', '%', '*', ' ', 'é'] {
            let t = format!("abcdefgh12345678{c}");
            assert!(token_rule_broken(&t).is_some(), "{c}");
        }
    }

    #[test]
    fn auth_is_read_as_on_or_off_never_as_the_token() {
        let group = |auth: Option<SecretValueRef>| CacheReplicationGroup {
            id: "r".into(),
            description: String::new(),
            engine_version: "7.0".into(),
            node_type: "cache.t3.micro".into(),
            num_cache_clusters: 1,
            port: 6379,
            subnet_group_name: Text::lit("g"),
            security_group_ids: vec![],
            automatic_failover: false,
            multi_az: false,
            at_rest_encryption: true,
            transit_encryption: true,
            kms_key_id: None,
            auth_token: auth,
            snapshot_retention_days: 0,
            tags: vec![],
        };
        let r = SecretValueRef {
            secret_id: Text::lit("arn:secret"),
            key: "token".into(),
        };
        assert_eq!(
            live_auth_token(&group(Some(r.clone())), true),
            Some(r.clone())
        );
        assert_eq!(live_auth_token(&group(Some(r)), false), None);
        let elsewhere = live_auth_token(&group(None), true).expect("a difference");
        assert_eq!(elsewhere.secret_id, Text::lit(AUTH_SET_ELSEWHERE));
        assert_eq!(live_auth_token(&group(None), false), None);
    }
}
