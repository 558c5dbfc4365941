//! What the EC2 kinds share (`crate::kinds::{vpc, internet_gateway, subnet,
//! route_table, security_group, default_security_group, vpc_endpoint, flow_log}`): filters, tag conversion, chunked
//! Describe calls, retagging and finding by ownership tags.
//!
//! Reads use one Describe call per chunk of ids (an `*-id` filter with up to
//! [`crate::ProviderOptions::read_page_size`] values, following `NextToken`), so
//! ids that no longer exist simply do not come back instead of failing the call.
//! VPC DNS settings are the exception: EC2 reports them only through
//! `DescribeVpcAttribute`, one call per VPC and attribute.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, ResourceType, Tag as Ec2Tag, TagSpecification,
};
use engine_core::model::Tag;
use engine_core::{Address, Kind, Text};
use serde_json::Value;

use crate::error::{ProviderError, sdk_err};
use crate::provider::{Aws, Op, Owner, ReadRequest, StackIdentity};
use crate::tags;

/// EC2 accepts at most this many values in one filter.
pub(crate) const MAX_FILTER_VALUES: usize = 200;

pub(crate) fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

pub(crate) fn tag_spec(kind: ResourceType, tags: &[Tag]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags.iter().map(ec2_tag).collect()))
        .build()
}

pub(crate) fn ec2_tag(t: &Tag) -> Ec2Tag {
    Ec2Tag::builder().key(&t.key).value(&t.value).build()
}

pub(crate) fn live_tags(t: &[Ec2Tag]) -> Vec<(String, String)> {
    t.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

pub(crate) fn bool_attr(b: bool) -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(b).build()
}

/// The `id` attribute of each request, for those that have one.
pub(crate) fn ids(requests: &[ReadRequest]) -> Vec<String> {
    let set: BTreeSet<String> = requests
        .iter()
        .filter_map(|r| r.attributes.get("id").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    set.into_iter().collect()
}

pub(crate) fn id_of(r: &ReadRequest) -> Option<&str> {
    r.attributes.get("id").and_then(Value::as_str)
}

/// One Describe call per chunk of values, collected.
macro_rules! describe_chunks {
    ($self:ident, $call:ident, $filter:expr, $values:expr, $op:literal) => {{
        let mut out = Vec::new();
        let chunk = $self.page(MAX_FILTER_VALUES);
        for part in $values.chunks(chunk) {
            let items = $self
                .ec2
                .$call()
                .filters(filter($filter, part.iter().cloned()))
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(sdk_err($op, None))?;
            out.extend(items);
        }
        out
    }};
}
pub(crate) use describe_chunks;

impl Aws {
    /// Applies a tag diff to an EC2 resource.
    pub(crate) async fn ec2_retag(
        &self,
        op: &Op<'_>,
        id: &str,
        old: &[Tag],
        new: &[Tag],
    ) -> Result<(), ProviderError> {
        let (set, remove) = op.tag_diff(old, new);
        if !remove.is_empty() {
            let keys: Vec<Ec2Tag> = remove
                .iter()
                .map(|k| Ec2Tag::builder().key(k).build())
                .collect();
            self.ec2_fresh(op, || async {
                self.ec2
                    .delete_tags()
                    .resources(id)
                    .set_tags(Some(keys.clone()))
                    .send()
                    .await
                    .map_err(op.err("DeleteTags"))
            })
            .await?;
        }
        if !set.is_empty() {
            self.ec2_fresh(op, || async {
                self.ec2
                    .create_tags()
                    .resources(id)
                    .set_tags(Some(set.iter().map(ec2_tag).collect()))
                    .send()
                    .await
                    .map_err(op.err("CreateTags"))
            })
            .await?;
        }
        Ok(())
    }

    /// The id of the resource of `kind` at `address` that belongs to `stack`: the one
    /// whose `engine:stack-id` is the stack's, else one tagged with the stack's name
    /// and the address before stack ids existed (the caller cannot prove that one is
    /// ours, and says so). Resources of other stacks with the same name and address
    /// are not this stack's to find.
    pub(crate) async fn ec2_find_by_tags(
        &self,
        kind: Kind,
        stack: &StackIdentity,
        address: &Address,
    ) -> Result<Option<String>, ProviderError> {
        let f = vec![
            filter(&format!("tag:{}", tags::STACK_TAG), [stack.name.clone()]),
            filter(&format!("tag:{}", tags::ADDRESS_TAG), [address.to_string()]),
        ];
        match kind {
            Kind::Vpc => {
                let out = self
                    .ec2
                    .describe_vpcs()
                    .set_filters(Some(f))
                    .send()
                    .await
                    .map_err(sdk_err("DescribeVpcs", Some(address)))?;
                return Ok(pick_owned(
                    stack,
                    out.vpcs().iter().map(|v| (v.vpc_id(), v.tags())),
                ));
            }
            Kind::InternetGateway => {
                let out = self
                    .ec2
                    .describe_internet_gateways()
                    .set_filters(Some(f))
                    .send()
                    .await
                    .map_err(sdk_err("DescribeInternetGateways", Some(address)))?;
                return Ok(pick_owned(
                    stack,
                    out.internet_gateways()
                        .iter()
                        .map(|v| (v.internet_gateway_id(), v.tags())),
                ));
            }
            Kind::Subnet => {
                let out = self
                    .ec2
                    .describe_subnets()
                    .set_filters(Some(f))
                    .send()
                    .await
                    .map_err(sdk_err("DescribeSubnets", Some(address)))?;
                return Ok(pick_owned(
                    stack,
                    out.subnets().iter().map(|v| (v.subnet_id(), v.tags())),
                ));
            }
            Kind::RouteTable => {
                let out = self
                    .ec2
                    .describe_route_tables()
                    .set_filters(Some(f))
                    .send()
                    .await
                    .map_err(sdk_err("DescribeRouteTables", Some(address)))?;
                return Ok(pick_owned(
                    stack,
                    out.route_tables()
                        .iter()
                        .map(|v| (v.route_table_id(), v.tags())),
                ));
            }
            Kind::VpcEndpoint => {
                let out = self
                    .ec2
                    .describe_vpc_endpoints()
                    .set_filters(Some(f))
                    .send()
                    .await
                    .map_err(sdk_err("DescribeVpcEndpoints", Some(address)))?;
                return Ok(pick_owned(
                    stack,
                    out.vpc_endpoints()
                        .iter()
                        .filter(|v| !is_gone_endpoint(v))
                        .map(|v| (v.vpc_endpoint_id(), v.tags())),
                ));
            }
            Kind::FlowLog => {
                let out = self
                    .ec2
                    .describe_flow_logs()
                    .set_filter(Some(f))
                    .send()
                    .await
                    .map_err(sdk_err("DescribeFlowLogs", Some(address)))?;
                return Ok(pick_owned(
                    stack,
                    out.flow_logs().iter().map(|v| (v.flow_log_id(), v.tags())),
                ));
            }
            Kind::SecurityGroup => {
                let out = self
                    .ec2
                    .describe_security_groups()
                    .set_filters(Some(f))
                    .send()
                    .await
                    .map_err(sdk_err("DescribeSecurityGroups", Some(address)))?;
                return Ok(pick_owned(
                    stack,
                    out.security_groups()
                        .iter()
                        .map(|v| (v.group_id(), v.tags())),
                ));
            }
            _ => {}
        }
        Ok(None)
    }
}

/// The ownership of a route or association: its route table's tags.
pub(crate) fn table_owner(t: &aws_sdk_ec2::types::RouteTable) -> Option<Owner> {
    tags::owner_via(
        t.tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        format!("route table {}", t.route_table_id().unwrap_or_default()),
    )
}

/// Of resources tagged with a stack's name and an address, the id of the one with the
/// stack's id, else of one tagged before stack ids existed; never another stack's.
pub(crate) fn pick_owned<'a>(
    stack: &StackIdentity,
    found: impl Iterator<Item = (Option<&'a str>, &'a [Ec2Tag])>,
) -> Option<String> {
    let mut old_style = None;
    for (id, t) in found {
        let Some(id) = id else { continue };
        let owner = tags::owner(
            t.iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        );
        match owner.and_then(|o| o.stack_id) {
            Some(sid) if sid == stack.id => return Some(id.to_string()),
            Some(_) => {}
            None => old_style = old_style.or(Some(id.to_string())),
        }
    }
    old_style
}

pub(crate) fn is_gone_endpoint(e: &aws_sdk_ec2::types::VpcEndpoint) -> bool {
    // EC2 answers lowercase states (`deleted`) while the SDK's enum spells them
    // capitalised (`Deleted`): compare the text.
    e.state().is_some_and(|s| {
        matches!(
            s.as_str().to_ascii_lowercase().as_str(),
            "deleted" | "deleting" | "failed" | "rejected" | "expired"
        )
    })
}

/// The literal of a text known to be resolved, or "" (for lookups only).
pub(crate) fn lit(t: &Text) -> String {
    t.as_literal().unwrap_or_default().to_string()
}
