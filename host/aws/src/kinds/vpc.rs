//! An Amazon VPC: CIDR block, DNS settings (read with `DescribeVpcAttribute`, one call per VPC and attribute), tags.

use std::collections::HashMap;

use aws_sdk_ec2::types::{ResourceType, VpcAttributeName};
use engine_core::model::Vpc;
use engine_core::{Address, Kind, Spec};
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
    pub(crate) async fn vpc_create(
        &self,
        op: &Op<'_>,
        s: &Vpc,
    ) -> Result<Attributes, ProviderError> {
        let out = self
            .ec2
            .create_vpc()
            .cidr_block(&s.cidr_block)
            .tag_specifications(tag_spec(ResourceType::Vpc, &op.tags(&s.tags)))
            .customize()
            .config_override(crate::config::ec2_one_attempt())
            .send()
            .await
            .map_err(op.refused("CreateVpc"))?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .unwrap_or_default()
            .to_string();
        // New VPCs support DNS and have no DNS host names; change only what differs.
        if !s.enable_dns_support {
            self.vpc_set_dns(op, &id, Some(false), None).await?;
        }
        if s.enable_dns_hostnames {
            self.vpc_set_dns(op, &id, None, Some(true)).await?;
        }
        Ok(attrs([
            ("id", json!(id)),
            ("cidr-block", json!(s.cidr_block)),
        ]))
    }

    async fn vpc_set_dns(
        &self,
        op: &Op<'_>,
        id: &str,
        support: Option<bool>,
        hostnames: Option<bool>,
    ) -> Result<(), ProviderError> {
        // EC2 accepts one attribute per call.
        if let Some(b) = support {
            self.ec2_fresh(op, || async {
                self.ec2
                    .modify_vpc_attribute()
                    .vpc_id(id)
                    .enable_dns_support(bool_attr(b))
                    .send()
                    .await
                    .map_err(op.err("ModifyVpcAttribute"))
            })
            .await?;
        }
        if let Some(b) = hostnames {
            self.ec2_fresh(op, || async {
                self.ec2
                    .modify_vpc_attribute()
                    .vpc_id(id)
                    .enable_dns_hostnames(bool_attr(b))
                    .send()
                    .await
                    .map_err(op.err("ModifyVpcAttribute"))
            })
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn vpc_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let vpcs = describe_chunks!(self, describe_vpcs, "vpc-id", ids(reqs), "DescribeVpcs");
        let by_id: HashMap<&str, _> = vpcs.iter().filter_map(|v| Some((v.vpc_id()?, v))).collect();
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Spec::Vpc(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::Vpc, &r.prior));
            };
            let Some(v) = id_of(r).and_then(|id| by_id.get(id)) else {
                out.push(None);
                continue;
            };
            let id = v.vpc_id().unwrap_or_default();
            let support = self
                .vpc_dns_attr(&r.address, id, VpcAttributeName::EnableDnsSupport)
                .await?;
            let hostnames = self
                .vpc_dns_attr(&r.address, id, VpcAttributeName::EnableDnsHostnames)
                .await?;
            let (tags, owner) = tags::split(live_tags(v.tags()), &prior.tags);
            let cidr = v.cidr_block().unwrap_or_default().to_string();
            out.push(Some(Found {
                spec: Spec::Vpc(Vpc {
                    cidr_block: cidr.clone(),
                    enable_dns_support: support,
                    enable_dns_hostnames: hostnames,
                    tags,
                }),
                attributes: attrs([("id", json!(id)), ("cidr-block", json!(cidr))]),
                owner,
            }));
        }
        Ok(out)
    }

    async fn vpc_dns_attr(
        &self,
        address: &Address,
        id: &str,
        which: VpcAttributeName,
    ) -> Result<bool, ProviderError> {
        let out = self
            .ec2
            .describe_vpc_attribute()
            .vpc_id(id)
            .attribute(which.clone())
            .send()
            .await
            .map_err(sdk_err("DescribeVpcAttribute", Some(address)))?;
        let v = match which {
            VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
            _ => out.enable_dns_hostnames(),
        };
        Ok(v.and_then(|b| b.value()).unwrap_or(false))
    }

    pub(crate) async fn vpc_update(
        &self,
        op: &Op<'_>,
        o: &Vpc,
        n: &Vpc,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = attr(a, "id", op.address)?;
        let support =
            (o.enable_dns_support != n.enable_dns_support).then_some(n.enable_dns_support);
        let hostnames =
            (o.enable_dns_hostnames != n.enable_dns_hostnames).then_some(n.enable_dns_hostnames);
        self.vpc_set_dns(op, &id, support, hostnames).await?;
        self.ec2_retag(op, &id, &o.tags, &n.tags).await?;
        Ok(a.clone())
    }

    pub(crate) async fn vpc_delete(
        &self,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.delete_retrying(op, || async {
            self.ec2
                .delete_vpc()
                .vpc_id(&id)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteVpc"))
        })
        .await
    }
}

#[async_trait]
impl AwsKind for Vpc {
    const NOT_FOUND: &'static [&'static str] = &["InvalidVpcID.NotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        super::ec2_import_id(id, "vpc-", "VPC")
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.vpc_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.vpc_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.vpc_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.vpc_delete(op, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        Ok(aws
            .ec2_find_by_tags(Kind::Vpc, stack, address)
            .await?
            .map(|id| attrs([("id", Value::String(id))])))
    }
}
