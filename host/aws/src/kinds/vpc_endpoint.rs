//! A VPC endpoint (interface or gateway).
//!
//! An endpoint is `pending` after `CreateVpcEndpoint` and usable once `available`;
//! `DeleteVpcEndpoints` leaves it `deleting` while its network interfaces go, and
//! until they are gone its subnets and security groups cannot be deleted
//! (<https://docs.aws.amazon.com/vpc/latest/privatelink/delete-interface-endpoint.html>).
//! So create waits for `available` and delete waits until the endpoint is gone.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_ec2::types::ResourceType;
use engine_core::model::{VpcEndpoint, VpcEndpointType};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::{Value, json};

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::provider::{
    Attributes, Aws, Check, Found, Op, ReadRequest, StackIdentity, attr, attrs, order_texts,
    wrong_kind,
};
use crate::tags;

use crate::ec2::*;
use crate::kinds::AwsKind;
use async_trait::async_trait;

impl Aws {
    pub(crate) async fn vpc_endpoint_create(
        &self,
        op: &Op<'_>,
        s: &VpcEndpoint,
    ) -> Result<Attributes, ProviderError> {
        let mut call = self
            .ec2
            .create_vpc_endpoint()
            .vpc_id(op.lit(&s.vpc_id)?)
            .service_name(&s.service_name)
            .vpc_endpoint_type(endpoint_type(s.endpoint_type))
            .tag_specifications(tag_spec(ResourceType::VpcEndpoint, &op.tags(&s.tags)));
        match s.endpoint_type {
            VpcEndpointType::Interface => {
                call = call
                    .set_subnet_ids(Some(op.lits(&s.subnet_ids)?))
                    .set_security_group_ids(Some(op.lits(&s.security_group_ids)?))
                    .private_dns_enabled(s.private_dns_enabled);
            }
            VpcEndpointType::Gateway => {
                call = call.set_route_table_ids(Some(op.lits(&s.route_table_ids)?));
            }
        }
        // One attempt, as for route tables (see `ec2_one_attempt`).
        let out = call
            .customize()
            .config_override(crate::config::ec2_one_attempt())
            .send()
            .await
            .map_err(op.refused("CreateVpcEndpoint"))?;
        let id = out
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .unwrap_or_default()
            .to_string();
        self.wait_for(
            op,
            "the endpoint is available",
            self.options.timeouts.dependency,
            || async {
                Ok(match self.vpc_endpoint_state(op, &id).await?.as_deref() {
                    Some("available") => Check::Done(()),
                    Some(s @ ("failed" | "rejected" | "expired" | "deleted")) => {
                        Check::Failed(s.to_string())
                    }
                    Some(s) => Check::Pending(s.to_string()),
                    None => Check::Pending("not yet visible".into()),
                })
            },
        )
        .await?;
        Ok(attrs([("id", json!(id))]))
    }

    /// The endpoint's state, lowercase (`pending`, `available`, `deleting`, ...),
    /// or `None` when EC2 does not know it.
    async fn vpc_endpoint_state(
        &self,
        op: &Op<'_>,
        id: &str,
    ) -> Result<Option<String>, ProviderError> {
        match self
            .ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.vpc_endpoints().first().map(|e| {
                e.state()
                    .map(|s| s.as_str().to_ascii_lowercase())
                    .unwrap_or_default()
            })),
            Err(e) => {
                let e = crate::error::from_sdk("DescribeVpcEndpoints", Some(op.address), e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    pub(crate) async fn vpc_endpoint_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let eps = describe_chunks!(
            self,
            describe_vpc_endpoints,
            "vpc-endpoint-id",
            ids(reqs),
            "DescribeVpcEndpoints"
        );
        let by_id: HashMap<&str, _> = eps
            .iter()
            .filter(|e| !is_gone_endpoint(e))
            .filter_map(|v| Some((v.vpc_endpoint_id()?, v)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::VpcEndpoint(prior) = &r.prior else {
                    return Err(wrong_kind(&r.address, Kind::VpcEndpoint, &r.prior));
                };
                let Some(e) = id_of(r).and_then(|id| by_id.get(id)) else {
                    return Ok(None);
                };
                let (tags, owner) = tags::split(live_tags(e.tags()), &prior.tags);
                let kind = match e.vpc_endpoint_type() {
                    Some(aws_sdk_ec2::types::VpcEndpointType::Gateway) => VpcEndpointType::Gateway,
                    _ => VpcEndpointType::Interface,
                };
                let strings = |v: &[String]| v.to_vec();
                let groups: Vec<String> = e
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string))
                    .collect();
                Ok(Some(Found {
                    spec: Spec::VpcEndpoint(VpcEndpoint {
                        vpc_id: Text::Literal(e.vpc_id().unwrap_or_default().to_string()),
                        service_name: e.service_name().unwrap_or_default().to_string(),
                        endpoint_type: kind,
                        subnet_ids: order_texts(strings(e.subnet_ids()), &prior.subnet_ids),
                        security_group_ids: order_texts(groups, &prior.security_group_ids),
                        route_table_ids: order_texts(
                            strings(e.route_table_ids()),
                            &prior.route_table_ids,
                        ),
                        // Gateway endpoints have no private DNS; keep what the spec said.
                        private_dns_enabled: match kind {
                            VpcEndpointType::Interface => e.private_dns_enabled().unwrap_or(false),
                            VpcEndpointType::Gateway => prior.private_dns_enabled,
                        },
                        tags,
                    }),
                    attributes: attrs([("id", json!(e.vpc_endpoint_id().unwrap_or_default()))]),
                    owner,
                }))
            })
            .collect()
    }

    pub(crate) async fn vpc_endpoint_update(
        &self,
        op: &Op<'_>,
        o: &VpcEndpoint,
        n: &VpcEndpoint,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = attr(a, "id", op.address)?;
        let diff =
            |old: &[Text], new: &[Text]| -> Result<(Vec<String>, Vec<String>), ProviderError> {
                let (old, new): (BTreeSet<String>, BTreeSet<String>) = (
                    op.lits(old)?.into_iter().collect(),
                    op.lits(new)?.into_iter().collect(),
                );
                Ok((
                    new.difference(&old).cloned().collect(),
                    old.difference(&new).cloned().collect(),
                ))
            };
        let (add_subnets, remove_subnets) = diff(&o.subnet_ids, &n.subnet_ids)?;
        let (add_groups, remove_groups) = diff(&o.security_group_ids, &n.security_group_ids)?;
        let (add_tables, remove_tables) = diff(&o.route_table_ids, &n.route_table_ids)?;
        let dns_changed = o.private_dns_enabled != n.private_dns_enabled
            && n.endpoint_type == VpcEndpointType::Interface;
        let nonempty = |v: Vec<String>| (!v.is_empty()).then_some(v);
        if dns_changed
            || [
                &add_subnets,
                &remove_subnets,
                &add_groups,
                &remove_groups,
                &add_tables,
                &remove_tables,
            ]
            .iter()
            .any(|v| !v.is_empty())
        {
            self.ec2
                .modify_vpc_endpoint()
                .vpc_endpoint_id(&id)
                .set_add_subnet_ids(nonempty(add_subnets))
                .set_remove_subnet_ids(nonempty(remove_subnets))
                .set_add_security_group_ids(nonempty(add_groups))
                .set_remove_security_group_ids(nonempty(remove_groups))
                .set_add_route_table_ids(nonempty(add_tables))
                .set_remove_route_table_ids(nonempty(remove_tables))
                .set_private_dns_enabled(dns_changed.then_some(n.private_dns_enabled))
                .send()
                .await
                .map_err(op.err("ModifyVpcEndpoint"))?;
        }
        self.ec2_retag(op, &id, &o.tags, &n.tags).await?;
        Ok(a.clone())
    }

    pub(crate) async fn vpc_endpoint_delete(
        &self,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.delete_retrying(op, || async {
            let out = self
                .ec2
                .delete_vpc_endpoints()
                .vpc_endpoint_ids(&id)
                .send()
                .await
                .map_err(op.err("DeleteVpcEndpoints"))?;
            // This call reports per-endpoint failures in the answer, not as an error.
            match out.unsuccessful().first().and_then(|u| u.error()) {
                None => Ok(()),
                Some(err) => {
                    let code = err.code().unwrap_or_default().to_string();
                    // Only a missing endpoint means "already gone" (a missing route
                    // of the endpoint does not).
                    let kind = match crate::error::classify_code(&code) {
                        ErrorKind::NotFound if !code.starts_with("InvalidVpcEndpoint") => {
                            ErrorKind::Other
                        }
                        kind => kind,
                    };
                    let mut e = ProviderError::new(
                        kind,
                        "DeleteVpcEndpoints",
                        Some(op.address),
                        err.message().unwrap_or_default(),
                    );
                    e.code = Some(code.into());
                    Err(e)
                }
            }
        })
        .await?;
        self.wait_for(
            op,
            "the endpoint is deleted",
            self.options.timeouts.dependency,
            || async {
                Ok(match self.vpc_endpoint_state(op, &id).await?.as_deref() {
                    None | Some("deleted") => Check::Done(()),
                    Some(s) => Check::Pending(s.to_string()),
                })
            },
        )
        .await
    }
}

#[async_trait]
impl AwsKind for VpcEndpoint {
    const NOT_FOUND: &'static [&'static str] = &["InvalidVpcEndpointId.NotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        super::ec2_import_id(id, "vpce-", "VPC endpoint")
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.vpc_endpoint_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.vpc_endpoint_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.vpc_endpoint_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.vpc_endpoint_delete(op, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        Ok(aws
            .ec2_find_by_tags(Kind::VpcEndpoint, stack, address)
            .await?
            .map(|id| attrs([("id", Value::String(id))])))
    }
}

fn endpoint_type(t: VpcEndpointType) -> aws_sdk_ec2::types::VpcEndpointType {
    match t {
        VpcEndpointType::Interface => aws_sdk_ec2::types::VpcEndpointType::Interface,
        VpcEndpointType::Gateway => aws_sdk_ec2::types::VpcEndpointType::Gateway,
    }
}
