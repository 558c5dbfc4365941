//! A VPC's default security group, adopted.
//!
//! EC2 makes one with every VPC (named `default`, allowing all traffic from
//! itself and all outbound traffic) and refuses to delete it: "You can't delete a
//! default security group"
//! (<https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html>).
//! So a create adopts it: it proves the VPC this stack's by the VPC's ownership
//! tags (the group itself carries none yet), tags the group, then replaces its
//! rules with the declared ones: every live rule not declared is revoked, also
//! those whose source is not a CIDR block (the group itself, a prefix list, IPv6),
//! which a spec cannot declare. An update does the same against the live rules.
//! A delete revokes the rules and the tags, and leaves the group to go with its
//! VPC. The rule diffing is the security group's (`security_group`).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_ec2::types::{IpPermission, SecurityGroup as LiveGroup};
use engine_core::model::{DefaultSecurityGroup, SecurityGroupRule, Tag};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::{Value, json};

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::provider::{
    Attributes, Aws, Found, Op, Ownership, ReadRequest, StackIdentity, attr, attrs, wrong_kind,
};
use crate::tags;

use crate::ec2::*;
use crate::kinds::AwsKind;
use crate::kinds::security_group::{atoms, live_atoms, live_rules, protocol_from_code};
use async_trait::async_trait;

/// The name EC2 gives a VPC's default security group.
const DEFAULT: &str = "default";

impl Aws {
    /// The default security group of `vpc`, if the VPC exists.
    async fn default_group(
        &self,
        address: &Address,
        vpc: &str,
    ) -> Result<Option<LiveGroup>, ProviderError> {
        let out = self
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", [vpc.to_string()]))
            .filters(filter("group-name", [DEFAULT.to_string()]))
            .send()
            .await
            .map_err(sdk_err("DescribeSecurityGroups", Some(address)))?;
        Ok(out.security_groups.unwrap_or_default().into_iter().next())
    }

    /// Refuses unless `vpc` carries this stack's ownership tags: the host adopts
    /// only the default group of a VPC the stack owns.
    async fn default_group_vpc_is_ours(&self, op: &Op<'_>, vpc: &str) -> Result<(), ProviderError> {
        let out = self
            .ec2_fresh(op, || async {
                self.ec2
                    .describe_vpcs()
                    .vpc_ids(vpc)
                    .send()
                    .await
                    .map_err(op.refused("DescribeVpcs"))
            })
            .await?;
        let Some(v) = out.vpcs().first() else {
            return Err(refuse(op, format!("the VPC {vpc} does not exist")));
        };
        let owner = tags::owner_via(
            v.tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
            format!("VPC {vpc}"),
        );
        match op.stack.judge(owner.as_ref(), op.address, false) {
            Ownership::Ours => Ok(()),
            Ownership::Theirs(why) | Ownership::Unproven(why) => Err(refuse(
                op,
                format!(
                    "the VPC {vpc} {why}; the host adopts the default security group only \
                     of a VPC this stack owns"
                ),
            )),
        }
    }

    pub(crate) async fn default_security_group_create(
        &self,
        op: &Op<'_>,
        s: &DefaultSecurityGroup,
    ) -> Result<Attributes, ProviderError> {
        let vpc = op.lit(&s.vpc_id)?;
        self.default_group_vpc_is_ours(op, &vpc).await?;
        let group = self
            .ec2_fresh(op, || async {
                match self.default_group(op.address, &vpc).await? {
                    Some(g) => Ok(g),
                    // Made with the VPC, but EC2 may not show it at once.
                    None => {
                        let mut e = refuse(op, format!("the VPC {vpc} shows no default group yet"));
                        e.code = Some("InvalidGroup.NotFound".into());
                        Err(e)
                    }
                }
            })
            .await?;
        let id = group.group_id().unwrap_or_default().to_string();
        // Another address (of this stack or another) that adopted it keeps it.
        let owner = tags::owner(
            group
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        );
        if let Ownership::Theirs(why) = op.stack.judge(owner.as_ref(), op.address, false) {
            return Err(refuse(
                op,
                format!("the default security group {id} of VPC {vpc} {why}"),
            ));
        }
        // Tagged first: an interrupted create is then found by its tags.
        self.ec2_retag(op, &id, &[], &s.tags).await?;
        self.default_group_enforce(op, &id, s).await?;
        Ok(attrs([("id", json!(id))]))
    }

    /// Makes the group's live rules exactly the declared ones.
    async fn default_group_enforce(
        &self,
        op: &Op<'_>,
        id: &str,
        s: &DefaultSecurityGroup,
    ) -> Result<(), ProviderError> {
        let out = self
            .ec2_fresh(op, || async {
                self.ec2
                    .describe_security_groups()
                    .group_ids(id)
                    .send()
                    .await
                    .map_err(op.err("DescribeSecurityGroups"))
            })
            .await?;
        let Some(g) = out.security_groups().first() else {
            return Err(ProviderError::new(
                ErrorKind::NotFound,
                "DescribeSecurityGroups",
                Some(op.address),
                format!("the default security group {id} does not exist"),
            ));
        };
        for (egress, live, declared) in [
            (false, g.ip_permissions(), &s.ingress),
            (true, g.ip_permissions_egress(), &s.egress),
        ] {
            self.sg_revoke_permissions(op, id, egress, undeclarable(live))
                .await?;
            self.sg_replace_rules(op, id, egress, &live_atoms(live), &atoms(op, declared)?)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn default_security_group_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let groups = describe_chunks!(
            self,
            describe_security_groups,
            "group-id",
            ids(reqs),
            "DescribeSecurityGroups"
        );
        // Only a VPC's default group is one (an import of another group's id finds
        // nothing).
        let by_id: HashMap<&str, _> = groups
            .iter()
            .filter(|v| v.group_name() == Some(DEFAULT))
            .filter_map(|v| Some((v.group_id()?, v)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::DefaultSecurityGroup(prior) = &r.prior else {
                    return Err(wrong_kind(&r.address, Kind::DefaultSecurityGroup, &r.prior));
                };
                let Some(g) = id_of(r).and_then(|id| by_id.get(id)) else {
                    return Ok(None);
                };
                let (tags, owner) = tags::split(live_tags(g.tags()), &prior.tags);
                let id = g.group_id().unwrap_or_default();
                Ok(Some(Found {
                    spec: Spec::DefaultSecurityGroup(DefaultSecurityGroup {
                        vpc_id: Text::Literal(g.vpc_id().unwrap_or_default().to_string()),
                        ingress: all_rules(g.ip_permissions(), &prior.ingress),
                        egress: all_rules(g.ip_permissions_egress(), &prior.egress),
                        tags,
                    }),
                    attributes: attrs([("id", json!(id))]),
                    owner,
                }))
            })
            .collect()
    }

    pub(crate) async fn default_security_group_update(
        &self,
        op: &Op<'_>,
        o: &DefaultSecurityGroup,
        n: &DefaultSecurityGroup,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.default_group_enforce(op, &id, n).await?;
        self.ec2_retag(op, &id, &o.tags, &n.tags).await?;
        Ok(a.clone())
    }

    /// Revokes the declared rules and removes the tags (the ownership ones and the
    /// declared ones); the group stays, empty, with its VPC.
    pub(crate) async fn default_security_group_delete(
        &self,
        op: &Op<'_>,
        s: &DefaultSecurityGroup,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        // Gone with its VPC already: done (the revokes below would wait out EC2's
        // eventual consistency on the unknown id first).
        match self
            .ec2
            .describe_security_groups()
            .group_ids(&id)
            .send()
            .await
            .map_err(op.err("DescribeSecurityGroups"))
        {
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
            Ok(out) if out.security_groups().is_empty() => return Ok(()),
            Ok(_) => {}
        }
        let gone = |r: Result<(), ProviderError>| match r {
            Err(e) if e.is_not_found() => Ok(()),
            r => r,
        };
        for (egress, declared) in [(false, &s.ingress), (true, &s.egress)] {
            gone(self.sg_revoke(op, &id, egress, &atoms(op, declared)?).await)?;
        }
        let mut keys: Vec<aws_sdk_ec2::types::Tag> = tags::ownership(op.stack, op.address)
            .iter()
            .chain(s.tags.iter())
            .map(|t: &Tag| aws_sdk_ec2::types::Tag::builder().key(&t.key).build())
            .collect();
        keys.dedup_by(|a, b| a.key() == b.key());
        gone(
            self.ec2
                .delete_tags()
                .resources(&id)
                .set_tags(Some(keys))
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteTags")),
        )
    }

    /// The adopted group of an interrupted create: the VPC's default group once
    /// it carries ownership tags (a create tags it before changing anything, so an
    /// untagged one was left untouched and is adopted afresh).
    pub(crate) async fn default_security_group_locate(
        &self,
        s: &DefaultSecurityGroup,
        address: &Address,
    ) -> Result<Option<Attributes>, ProviderError> {
        let Some(vpc) = s.vpc_id.as_literal() else {
            return Ok(None);
        };
        let Some(g) = self.default_group(address, vpc).await? else {
            return Ok(None);
        };
        let owner = tags::owner(
            g.tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        );
        Ok(owner.and(
            g.group_id()
                .map(|id| attrs([("id", Value::String(id.into()))])),
        ))
    }
}

/// A definite refusal of the adoption (nothing was changed).
fn refuse(op: &Op<'_>, message: String) -> ProviderError {
    ProviderError::new(
        ErrorKind::Invalid,
        "adopt the default security group",
        Some(op.address),
        message,
    )
    .refusing()
}

/// The parts of live permissions a spec cannot declare (sources that are security
/// groups, prefix lists or IPv6 blocks, and protocols other than TCP, UDP, ICMP
/// and all), to revoke as they are.
fn undeclarable(perms: &[IpPermission]) -> Vec<IpPermission> {
    perms
        .iter()
        .filter_map(|p| {
            let known = protocol_from_code(p.ip_protocol().unwrap_or_default()).is_some();
            let mut b = IpPermission::builder()
                .set_ip_protocol(p.ip_protocol().map(str::to_string))
                .set_from_port(p.from_port())
                .set_to_port(p.to_port())
                .set_user_id_group_pairs(
                    (!p.user_id_group_pairs().is_empty()).then(|| p.user_id_group_pairs().to_vec()),
                )
                .set_ipv6_ranges((!p.ipv6_ranges().is_empty()).then(|| p.ipv6_ranges().to_vec()))
                .set_prefix_list_ids(
                    (!p.prefix_list_ids().is_empty()).then(|| p.prefix_list_ids().to_vec()),
                );
            if !known && !p.ip_ranges().is_empty() {
                b = b.set_ip_ranges(Some(p.ip_ranges().to_vec()));
            }
            let any = !p.user_id_group_pairs().is_empty()
                || !p.ipv6_ranges().is_empty()
                || !p.prefix_list_ids().is_empty()
                || (!known && !p.ip_ranges().is_empty());
            any.then(|| b.build())
        })
        .collect()
}

/// The live rules as spec rules ([`live_rules`]), and each source a spec cannot
/// declare as a rule naming it in place of a CIDR block (`sg-...`, `pl-...`, an
/// IPv6 block), so the difference shows and the next apply revokes it.
fn all_rules(perms: &[IpPermission], prior: &[SecurityGroupRule]) -> Vec<SecurityGroupRule> {
    let mut out = live_rules(perms, prior);
    let mut extra = BTreeSet::new();
    for p in undeclarable(perms) {
        let protocol = protocol_from_code(p.ip_protocol().unwrap_or_default());
        let sources = p
            .user_id_group_pairs()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .chain(
                p.prefix_list_ids()
                    .iter()
                    .filter_map(|l| l.prefix_list_id().map(str::to_string)),
            )
            .chain(
                p.ipv6_ranges()
                    .iter()
                    .filter_map(|r| r.cidr_ipv6().map(str::to_string)),
            )
            .chain(
                p.ip_ranges()
                    .iter()
                    .filter_map(|r| r.cidr_ip().map(str::to_string)),
            );
        for source in sources {
            extra.insert((
                p.ip_protocol().unwrap_or_default().to_string(),
                p.from_port().unwrap_or(0),
                p.to_port().unwrap_or(0),
                source,
                protocol,
            ));
        }
    }
    for (code, from, to, source, protocol) in extra {
        out.push(SecurityGroupRule {
            protocol: protocol.unwrap_or(engine_core::model::IpProtocol::All),
            from_port: u16::try_from(from).unwrap_or(0),
            to_port: u16::try_from(to).unwrap_or(0),
            cidr_blocks: vec![Text::Literal(source)],
            description: format!("not declarable (protocol {code}): revoked by the next apply"),
        });
    }
    out
}

#[async_trait]
impl AwsKind for DefaultSecurityGroup {
    const NOT_FOUND: &'static [&'static str] =
        &["InvalidGroup.NotFound", "InvalidGroupId.NotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        super::ec2_import_id(id, "sg-", "security group")
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.default_security_group_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.default_security_group_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.default_security_group_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.default_security_group_delete(op, self, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        _stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        aws.default_security_group_locate(self, address).await
    }
}
