//! An internet gateway, attached to its VPC on create and detached before delete.

use std::collections::HashMap;

use aws_sdk_ec2::types::ResourceType;
use engine_core::model::InternetGateway;
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
    pub(crate) async fn igw_create(
        &self,
        op: &Op<'_>,
        s: &InternetGateway,
    ) -> Result<Attributes, ProviderError> {
        let vpc = op.lit(&s.vpc_id)?;
        let out = self
            .ec2
            .create_internet_gateway()
            .tag_specifications(tag_spec(ResourceType::InternetGateway, &op.tags(&s.tags)))
            .customize()
            .config_override(crate::config::ec2_one_attempt())
            .send()
            .await
            .map_err(op.refused("CreateInternetGateway"))?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap_or_default()
            .to_string();
        self.ec2_fresh(op, || async {
            self.ec2
                .attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(&vpc)
                .send()
                .await
                .map_err(op.err("AttachInternetGateway"))
        })
        .await?;
        Ok(attrs([("id", json!(id)), ("vpc-id", json!(vpc))]))
    }

    pub(crate) async fn igw_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let gws = describe_chunks!(
            self,
            describe_internet_gateways,
            "internet-gateway-id",
            ids(reqs),
            "DescribeInternetGateways"
        );
        let by_id: HashMap<&str, _> = gws
            .iter()
            .filter_map(|g| Some((g.internet_gateway_id()?, g)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::InternetGateway(prior) = &r.prior else {
                    return Err(wrong_kind(&r.address, Kind::InternetGateway, &r.prior));
                };
                let Some(g) = id_of(r).and_then(|id| by_id.get(id)) else {
                    return Ok(None);
                };
                let vpc = g
                    .attachments()
                    .iter()
                    .find_map(|a| a.vpc_id())
                    .unwrap_or_default()
                    .to_string();
                let (tags, owner) = tags::split(live_tags(g.tags()), &prior.tags);
                let id = g.internet_gateway_id().unwrap_or_default();
                Ok(Some(Found {
                    spec: Spec::InternetGateway(InternetGateway {
                        vpc_id: Text::Literal(vpc.clone()),
                        tags,
                    }),
                    attributes: attrs([("id", json!(id)), ("vpc-id", json!(vpc))]),
                    owner,
                }))
            })
            .collect()
    }

    pub(crate) async fn igw_update(
        &self,
        op: &Op<'_>,
        o: &InternetGateway,
        n: &InternetGateway,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.ec2_retag(op, &id, &o.tags, &n.tags).await?;
        Ok(a.clone())
    }

    pub(crate) async fn igw_delete(
        &self,
        op: &Op<'_>,
        s: &InternetGateway,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        let vpc = attr(a, "vpc-id", op.address).or_else(|_| op.lit(&s.vpc_id))?;
        // Detaching fails while instances in the VPC still hold public addresses
        // (DependencyViolation): retry; "not attached" means done.
        self.delete_retrying(op, || async {
            match self
                .ec2
                .detach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(&vpc)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => {
                    let e = crate::error::from_sdk("DetachInternetGateway", Some(op.address), e);
                    if e.code.as_deref() == Some("Gateway.NotAttached") {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }
            }
        })
        .await?;
        self.delete_retrying(op, || async {
            self.ec2
                .delete_internet_gateway()
                .internet_gateway_id(&id)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteInternetGateway"))
        })
        .await
    }
}

#[async_trait]
impl AwsKind for InternetGateway {
    const NOT_FOUND: &'static [&'static str] = &["InvalidInternetGatewayID.NotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        super::ec2_import_id(id, "igw-", "internet gateway")
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.igw_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.igw_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.igw_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.igw_delete(op, self, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        Ok(aws
            .ec2_find_by_tags(Kind::InternetGateway, stack, address)
            .await?
            .map(|id| attrs([("id", Value::String(id))])))
    }
}
