//! A subnet in one availability zone.

use std::collections::HashMap;

use aws_sdk_ec2::types::ResourceType;
use engine_core::model::Subnet;
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
    pub(crate) async fn subnet_create(
        &self,
        op: &Op<'_>,
        s: &Subnet,
    ) -> Result<Attributes, ProviderError> {
        let out = self
            .ec2
            .create_subnet()
            .vpc_id(op.lit(&s.vpc_id)?)
            .cidr_block(&s.cidr_block)
            .availability_zone(&s.availability_zone)
            .tag_specifications(tag_spec(ResourceType::Subnet, &op.tags(&s.tags)))
            .customize()
            .config_override(crate::config::ec2_one_attempt())
            .send()
            .await
            .map_err(op.refused("CreateSubnet"))?;
        let id = out
            .subnet()
            .and_then(|v| v.subnet_id())
            .unwrap_or_default()
            .to_string();
        if s.map_public_ip_on_launch {
            self.subnet_set_public(op, &id, true).await?;
        }
        Ok(attrs([
            ("id", json!(id)),
            ("cidr-block", json!(s.cidr_block)),
            ("availability-zone", json!(s.availability_zone)),
        ]))
    }

    async fn subnet_set_public(&self, op: &Op<'_>, id: &str, b: bool) -> Result<(), ProviderError> {
        self.ec2_fresh(op, || async {
            self.ec2
                .modify_subnet_attribute()
                .subnet_id(id)
                .map_public_ip_on_launch(bool_attr(b))
                .send()
                .await
                .map_err(op.err("ModifySubnetAttribute"))
        })
        .await?;
        Ok(())
    }

    pub(crate) async fn subnet_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let subnets = describe_chunks!(
            self,
            describe_subnets,
            "subnet-id",
            ids(reqs),
            "DescribeSubnets"
        );
        let by_id: HashMap<&str, _> = subnets
            .iter()
            .filter_map(|v| Some((v.subnet_id()?, v)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::Subnet(prior) = &r.prior else {
                    return Err(wrong_kind(&r.address, Kind::Subnet, &r.prior));
                };
                let Some(v) = id_of(r).and_then(|id| by_id.get(id)) else {
                    return Ok(None);
                };
                let (tags, owner) = tags::split(live_tags(v.tags()), &prior.tags);
                let cidr = v.cidr_block().unwrap_or_default().to_string();
                let az = v.availability_zone().unwrap_or_default().to_string();
                Ok(Some(Found {
                    spec: Spec::Subnet(Subnet {
                        vpc_id: Text::Literal(v.vpc_id().unwrap_or_default().to_string()),
                        cidr_block: cidr.clone(),
                        availability_zone: az.clone(),
                        map_public_ip_on_launch: v.map_public_ip_on_launch().unwrap_or(false),
                        tags,
                    }),
                    attributes: attrs([
                        ("id", json!(v.subnet_id().unwrap_or_default())),
                        ("cidr-block", json!(cidr)),
                        ("availability-zone", json!(az)),
                    ]),
                    owner,
                }))
            })
            .collect()
    }

    pub(crate) async fn subnet_update(
        &self,
        op: &Op<'_>,
        o: &Subnet,
        n: &Subnet,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = attr(a, "id", op.address)?;
        if o.map_public_ip_on_launch != n.map_public_ip_on_launch {
            self.subnet_set_public(op, &id, n.map_public_ip_on_launch)
                .await?;
        }
        self.ec2_retag(op, &id, &o.tags, &n.tags).await?;
        Ok(a.clone())
    }

    pub(crate) async fn subnet_delete(
        &self,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.delete_retrying(op, || async {
            self.ec2
                .delete_subnet()
                .subnet_id(&id)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteSubnet"))
        })
        .await
    }
}

#[async_trait]
impl AwsKind for Subnet {
    const NOT_FOUND: &'static [&'static str] = &["InvalidSubnetID.NotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        super::ec2_import_id(id, "subnet-", "subnet")
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.subnet_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.subnet_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.subnet_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.subnet_delete(op, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        Ok(aws
            .ec2_find_by_tags(Kind::Subnet, stack, address)
            .await?
            .map(|id| attrs([("id", Value::String(id))])))
    }
}
