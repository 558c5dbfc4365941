//! A security group and its rules, authorised and revoked one CIDR block at a time.
//! The rule diffing ([`Aws::sg_replace_rules`], [`atoms`], [`live_rules`]) is shared
//! with the adopted default security group (`default_security_group`).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType};
use engine_core::model::{IpProtocol, SecurityGroup, SecurityGroupRule};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::{Value, json};

use crate::error::{ProviderError, sdk_err};
use crate::provider::{
    Attributes, Aws, Found, Op, ReadRequest, StackIdentity, attr, attrs, wrong_kind,
};
use crate::tags;

use crate::ec2::*;
use crate::kinds::AwsKind;
use async_trait::async_trait;

impl Aws {
    pub(crate) async fn security_group_create(
        &self,
        op: &Op<'_>,
        s: &SecurityGroup,
    ) -> Result<Attributes, ProviderError> {
        let out = self
            .ec2
            .create_security_group()
            .group_name(&s.name)
            .description(&s.description)
            .vpc_id(op.lit(&s.vpc_id)?)
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, &op.tags(&s.tags)))
            .send()
            .await
            .map_err(op.refused("CreateSecurityGroup"))?;
        let id = out.group_id().unwrap_or_default().to_string();
        // A new group allows all outbound traffic; the spec says exactly what is allowed.
        let default_egress = Atom {
            protocol: "-1".into(),
            from: 0,
            to: 0,
            cidr: "0.0.0.0/0".into(),
            description: String::new(),
        };
        let ingress = atoms(op, &s.ingress)?;
        let mut egress = atoms(op, &s.egress)?;
        if !egress.remove(&default_egress) {
            self.sg_revoke(op, &id, true, &BTreeSet::from([default_egress]))
                .await?;
        }
        self.sg_authorize(op, &id, false, &ingress).await?;
        self.sg_authorize(op, &id, true, &egress).await?;
        Ok(attrs([("id", json!(id)), ("name", json!(s.name))]))
    }

    /// Changes a group's rules (of one direction) from `old` to `new`: revokes
    /// what `new` lacks first (a rule whose description changed is revoked and
    /// added again), then authorises what `old` lacked.
    pub(crate) async fn sg_replace_rules(
        &self,
        op: &Op<'_>,
        id: &str,
        egress: bool,
        old: &BTreeSet<Atom>,
        new: &BTreeSet<Atom>,
    ) -> Result<(), ProviderError> {
        let gone: BTreeSet<Atom> = old.difference(new).cloned().collect();
        let added: BTreeSet<Atom> = new.difference(old).cloned().collect();
        self.sg_revoke(op, id, egress, &gone).await?;
        self.sg_authorize(op, id, egress, &added).await
    }

    async fn sg_authorize(
        &self,
        op: &Op<'_>,
        id: &str,
        egress: bool,
        atoms: &BTreeSet<Atom>,
    ) -> Result<(), ProviderError> {
        if atoms.is_empty() {
            return Ok(());
        }
        let perms = Some(atoms.iter().map(Atom::permission).collect());
        let r = if egress {
            self.ec2_fresh(op, || async {
                self.ec2
                    .authorize_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(perms.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("AuthorizeSecurityGroupEgress"))
            })
            .await
        } else {
            self.ec2_fresh(op, || async {
                self.ec2
                    .authorize_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(perms.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("AuthorizeSecurityGroupIngress"))
            })
            .await
        };
        match r {
            Err(e) if e.code.as_deref() == Some("InvalidPermission.Duplicate") => Ok(()),
            r => r,
        }
    }

    pub(crate) async fn sg_revoke(
        &self,
        op: &Op<'_>,
        id: &str,
        egress: bool,
        atoms: &BTreeSet<Atom>,
    ) -> Result<(), ProviderError> {
        if atoms.is_empty() {
            return Ok(());
        }
        self.sg_revoke_permissions(op, id, egress, atoms.iter().map(Atom::permission).collect())
            .await
    }

    /// Revokes permissions as given (also those of other sources than CIDR
    /// blocks); one already gone is no error.
    pub(crate) async fn sg_revoke_permissions(
        &self,
        op: &Op<'_>,
        id: &str,
        egress: bool,
        perms: Vec<IpPermission>,
    ) -> Result<(), ProviderError> {
        if perms.is_empty() {
            return Ok(());
        }
        let perms = Some(perms);
        let r = if egress {
            self.ec2_fresh(op, || async {
                self.ec2
                    .revoke_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(perms.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("RevokeSecurityGroupEgress"))
            })
            .await
        } else {
            self.ec2_fresh(op, || async {
                self.ec2
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(perms.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op.err("RevokeSecurityGroupIngress"))
            })
            .await
        };
        match r {
            Err(e) if e.code.as_deref() == Some("InvalidPermission.NotFound") => Ok(()),
            r => r,
        }
    }

    pub(crate) async fn security_group_read(
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
        let by_id: HashMap<&str, _> = groups
            .iter()
            .filter_map(|v| Some((v.group_id()?, v)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::SecurityGroup(prior) = &r.prior else {
                    return Err(wrong_kind(&r.address, Kind::SecurityGroup, &r.prior));
                };
                let Some(g) = id_of(r).and_then(|id| by_id.get(id)) else {
                    return Ok(None);
                };
                let (tags, owner) = tags::split(live_tags(g.tags()), &prior.tags);
                let name = g.group_name().unwrap_or_default().to_string();
                Ok(Some(Found {
                    spec: Spec::SecurityGroup(SecurityGroup {
                        name: name.clone(),
                        description: g.description().unwrap_or_default().to_string(),
                        vpc_id: Text::Literal(g.vpc_id().unwrap_or_default().to_string()),
                        ingress: live_rules(g.ip_permissions(), &prior.ingress),
                        egress: live_rules(g.ip_permissions_egress(), &prior.egress),
                        tags,
                    }),
                    attributes: attrs([
                        ("id", json!(g.group_id().unwrap_or_default())),
                        ("name", json!(name)),
                    ]),
                    owner,
                }))
            })
            .collect()
    }

    pub(crate) async fn security_group_update(
        &self,
        op: &Op<'_>,
        o: &SecurityGroup,
        n: &SecurityGroup,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = attr(a, "id", op.address)?;
        for (egress, old, new) in [
            (false, &o.ingress, &n.ingress),
            (true, &o.egress, &n.egress),
        ] {
            self.sg_replace_rules(op, &id, egress, &atoms(op, old)?, &atoms(op, new)?)
                .await?;
        }
        self.ec2_retag(op, &id, &o.tags, &n.tags).await?;
        Ok(a.clone())
    }

    pub(crate) async fn security_group_delete(
        &self,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.delete_retrying(op, || async {
            self.ec2
                .delete_security_group()
                .group_id(&id)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteSecurityGroup"))
        })
        .await
    }
}

#[async_trait]
impl AwsKind for SecurityGroup {
    const NOT_FOUND: &'static [&'static str] =
        &["InvalidGroup.NotFound", "InvalidGroupId.NotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        super::ec2_import_id(id, "sg-", "security group")
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.security_group_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.security_group_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.security_group_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.security_group_delete(op, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        Ok(aws
            .ec2_find_by_tags(Kind::SecurityGroup, stack, address)
            .await?
            .map(|id| attrs([("id", Value::String(id))])))
    }
}

/// One security group permission for one CIDR block: the unit AWS adds and
/// revokes. Ports are normalised (0, 0) for "all protocols".
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Atom {
    protocol: String,
    from: i32,
    to: i32,
    cidr: String,
    description: String,
}

impl Atom {
    fn permission(&self) -> IpPermission {
        let mut range = IpRange::builder().cidr_ip(&self.cidr);
        if !self.description.is_empty() {
            range = range.description(&self.description);
        }
        let mut p = IpPermission::builder()
            .ip_protocol(&self.protocol)
            .ip_ranges(range.build());
        if self.protocol != "-1" {
            p = p.from_port(self.from).to_port(self.to);
        }
        p.build()
    }
}

fn protocol_code(p: IpProtocol) -> &'static str {
    match p {
        IpProtocol::Tcp => "tcp",
        IpProtocol::Udp => "udp",
        IpProtocol::Icmp => "icmp",
        IpProtocol::All => "-1",
    }
}

pub(crate) fn protocol_from_code(code: &str) -> Option<IpProtocol> {
    match code {
        "tcp" | "6" => Some(IpProtocol::Tcp),
        "udp" | "17" => Some(IpProtocol::Udp),
        "icmp" | "1" => Some(IpProtocol::Icmp),
        "-1" | "all" => Some(IpProtocol::All),
        _ => None,
    }
}

fn rule_atoms(
    protocol: IpProtocol,
    from: i32,
    to: i32,
    cidrs: impl IntoIterator<Item = String>,
    description: &str,
) -> BTreeSet<Atom> {
    let (from, to) = if protocol == IpProtocol::All {
        (0, 0)
    } else {
        (from, to)
    };
    cidrs
        .into_iter()
        .map(|cidr| Atom {
            protocol: protocol_code(protocol).to_string(),
            from,
            to,
            cidr,
            description: description.to_string(),
        })
        .collect()
}

pub(crate) fn atoms(
    op: &Op<'_>,
    rules: &[SecurityGroupRule],
) -> Result<BTreeSet<Atom>, ProviderError> {
    let mut out = BTreeSet::new();
    for r in rules {
        out.extend(rule_atoms(
            r.protocol,
            r.from_port.into(),
            r.to_port.into(),
            op.lits(&r.cidr_blocks)?,
            &r.description,
        ));
    }
    Ok(out)
}

/// Live permissions as spec rules: each prior rule whose permissions are all present
/// comes back as written; what is left comes back one rule per CIDR block.
pub(crate) fn live_rules(
    perms: &[IpPermission],
    prior: &[SecurityGroupRule],
) -> Vec<SecurityGroupRule> {
    let mut live = live_atoms(perms);
    let mut out = Vec::new();
    for r in prior {
        let cidrs: Vec<String> = r
            .cidr_blocks
            .iter()
            .filter_map(|t| t.as_literal().map(str::to_string))
            .collect();
        let mine = rule_atoms(
            r.protocol,
            r.from_port.into(),
            r.to_port.into(),
            cidrs,
            &r.description,
        );
        if !mine.is_empty() && mine.is_subset(&live) {
            live.retain(|a| !mine.contains(a));
            out.push(r.clone());
        }
    }
    for a in live {
        let protocol = protocol_from_code(&a.protocol).unwrap_or(IpProtocol::All);
        out.push(SecurityGroupRule {
            protocol,
            from_port: u16::try_from(a.from).unwrap_or(0),
            to_port: u16::try_from(a.to).unwrap_or(0),
            cidr_blocks: vec![Text::Literal(a.cidr)],
            description: a.description,
        });
    }
    out
}

/// Live permissions' CIDR blocks as atoms (other sources are not declarable).
pub(crate) fn live_atoms(perms: &[IpPermission]) -> BTreeSet<Atom> {
    let mut live = BTreeSet::new();
    for p in perms {
        let Some(protocol) = protocol_from_code(p.ip_protocol().unwrap_or_default()) else {
            tracing::warn!(protocol = ?p.ip_protocol(), "security group rule with an unsupported protocol ignored");
            continue;
        };
        for range in p.ip_ranges() {
            live.extend(rule_atoms(
                protocol,
                p.from_port().unwrap_or(0),
                p.to_port().unwrap_or(0),
                range.cidr_ip().map(str::to_string),
                range.description().unwrap_or_default(),
            ));
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: IpProtocol, from: u16, to: u16, cidrs: &[&str], d: &str) -> SecurityGroupRule {
        SecurityGroupRule {
            protocol: p,
            from_port: from,
            to_port: to,
            cidr_blocks: cidrs.iter().map(|c| Text::lit(*c)).collect(),
            description: d.into(),
        }
    }

    #[test]
    fn live_rules_come_back_as_declared() {
        let prior = vec![
            rule(
                IpProtocol::Tcp,
                5432,
                5432,
                &["10.0.0.0/16", "10.1.0.0/16"],
                "db",
            ),
            rule(IpProtocol::All, 0, 65535, &["0.0.0.0/0"], ""),
        ];
        let perms = vec![
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(5432)
                .to_port(5432)
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip("10.0.0.0/16")
                        .description("db")
                        .build(),
                )
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip("10.1.0.0/16")
                        .description("db")
                        .build(),
                )
                .build(),
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
            IpPermission::builder()
                .ip_protocol("udp")
                .from_port(53)
                .to_port(53)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.2/32").build())
                .build(),
        ];
        let live = live_rules(&perms, &prior);
        assert_eq!(live[..2], prior[..]);
        assert_eq!(live[2], rule(IpProtocol::Udp, 53, 53, &["10.0.0.2/32"], ""));
    }
}
