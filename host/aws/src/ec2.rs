//! Amazon EC2 networking: VPCs, internet gateways, subnets, route tables, routes,
//! route table associations, security groups and VPC endpoints.
//!
//! Reads use one Describe call per chunk of ids (an `*-id` filter with up to
//! [`crate::ProviderOptions::read_page_size`] values, following `NextToken`), so
//! ids that no longer exist simply do not come back instead of failing the call.
//! VPC DNS settings are the exception: EC2 reports them only through
//! `DescribeVpcAttribute`, one call per VPC and attribute.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, IpPermission, IpRange, ResourceType, Tag as Ec2Tag,
    TagSpecification, VpcAttributeName,
};
use engine_core::model::{
    InternetGateway, IpProtocol, Route, RouteTable, RouteTableAssociation, SecurityGroup,
    SecurityGroupRule, Subnet, Tag, Vpc, VpcEndpoint, VpcEndpointType,
};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::{Value, json};

use crate::error::{ErrorKind, ProviderError, sdk_err};
use crate::provider::{
    Attributes, Aws, Found, Op, Owner, ReadRequest, StackIdentity, attr, attrs, order_texts,
    wrong_kind,
};
use crate::tags;

/// EC2 accepts at most this many values in one filter.
const MAX_FILTER_VALUES: usize = 200;

fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

fn tag_spec(kind: ResourceType, tags: &[Tag]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags.iter().map(ec2_tag).collect()))
        .build()
}

fn ec2_tag(t: &Tag) -> Ec2Tag {
    Ec2Tag::builder().key(&t.key).value(&t.value).build()
}

fn live_tags(t: &[Ec2Tag]) -> Vec<(String, String)> {
    t.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn bool_attr(b: bool) -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(b).build()
}

/// The `id` attribute of each request, for those that have one.
fn ids(requests: &[ReadRequest]) -> Vec<String> {
    let set: BTreeSet<String> = requests
        .iter()
        .filter_map(|r| r.attributes.get("id").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    set.into_iter().collect()
}

fn id_of(r: &ReadRequest) -> Option<&str> {
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

impl Aws {
    /// Applies a tag diff to an EC2 resource.
    async fn ec2_retag(
        &self,
        op: &Op<'_>,
        id: &str,
        old: &[Tag],
        new: &[Tag],
    ) -> Result<(), ProviderError> {
        let (set, remove) = op.tag_diff(old, new);
        if !remove.is_empty() {
            let keys = remove
                .iter()
                .map(|k| Ec2Tag::builder().key(k).build())
                .collect();
            self.ec2
                .delete_tags()
                .resources(id)
                .set_tags(Some(keys))
                .send()
                .await
                .map_err(op.err("DeleteTags"))?;
        }
        if !set.is_empty() {
            self.ec2
                .create_tags()
                .resources(id)
                .set_tags(Some(set.iter().map(ec2_tag).collect()))
                .send()
                .await
                .map_err(op.err("CreateTags"))?;
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

    // ---- VPC ----

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
            self.ec2
                .modify_vpc_attribute()
                .vpc_id(id)
                .enable_dns_support(bool_attr(b))
                .send()
                .await
                .map_err(op.err("ModifyVpcAttribute"))?;
        }
        if let Some(b) = hostnames {
            self.ec2
                .modify_vpc_attribute()
                .vpc_id(id)
                .enable_dns_hostnames(bool_attr(b))
                .send()
                .await
                .map_err(op.err("ModifyVpcAttribute"))?;
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

    // ---- internet gateway ----

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
            .send()
            .await
            .map_err(op.refused("CreateInternetGateway"))?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap_or_default()
            .to_string();
        self.ec2
            .attach_internet_gateway()
            .internet_gateway_id(&id)
            .vpc_id(&vpc)
            .send()
            .await
            .map_err(op.err("AttachInternetGateway"))?;
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

    // ---- subnet ----

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
        self.ec2
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(bool_attr(b))
            .send()
            .await
            .map_err(op.err("ModifySubnetAttribute"))?;
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

    // ---- route table ----

    pub(crate) async fn route_table_create(
        &self,
        op: &Op<'_>,
        s: &RouteTable,
    ) -> Result<Attributes, ProviderError> {
        let out = self
            .ec2
            .create_route_table()
            .vpc_id(op.lit(&s.vpc_id)?)
            .tag_specifications(tag_spec(ResourceType::RouteTable, &op.tags(&s.tags)))
            .send()
            .await
            .map_err(op.refused("CreateRouteTable"))?;
        let id = out
            .route_table()
            .and_then(|v| v.route_table_id())
            .unwrap_or_default();
        Ok(attrs([("id", json!(id))]))
    }

    pub(crate) async fn route_table_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let tables = describe_chunks!(
            self,
            describe_route_tables,
            "route-table-id",
            ids(reqs),
            "DescribeRouteTables"
        );
        let by_id: HashMap<&str, _> = tables
            .iter()
            .filter_map(|v| Some((v.route_table_id()?, v)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::RouteTable(prior) = &r.prior else {
                    return Err(wrong_kind(&r.address, Kind::RouteTable, &r.prior));
                };
                let Some(v) = id_of(r).and_then(|id| by_id.get(id)) else {
                    return Ok(None);
                };
                let (tags, owner) = tags::split(live_tags(v.tags()), &prior.tags);
                Ok(Some(Found {
                    spec: Spec::RouteTable(RouteTable {
                        vpc_id: Text::Literal(v.vpc_id().unwrap_or_default().to_string()),
                        tags,
                    }),
                    attributes: attrs([("id", json!(v.route_table_id().unwrap_or_default()))]),
                    owner,
                }))
            })
            .collect()
    }

    pub(crate) async fn route_table_update(
        &self,
        op: &Op<'_>,
        o: &RouteTable,
        n: &RouteTable,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.ec2_retag(op, &id, &o.tags, &n.tags).await?;
        Ok(a.clone())
    }

    pub(crate) async fn route_table_delete(
        &self,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.delete_retrying(op, || async {
            self.ec2
                .delete_route_table()
                .route_table_id(&id)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteRouteTable"))
        })
        .await
    }

    // ---- route ----

    fn route_attrs(table: &str, dest: &str) -> Attributes {
        attrs([
            ("id", json!(format!("{table}_{dest}"))),
            ("route-table-id", json!(table)),
            ("destination-cidr-block", json!(dest)),
        ])
    }

    pub(crate) async fn route_create(
        &self,
        op: &Op<'_>,
        s: &Route,
    ) -> Result<Attributes, ProviderError> {
        let table = op.lit(&s.route_table_id)?;
        self.ec2
            .create_route()
            .route_table_id(&table)
            .destination_cidr_block(&s.destination_cidr_block)
            .gateway_id(op.lit(&s.gateway_id)?)
            .send()
            .await
            .map_err(op.refused("CreateRoute"))?;
        Ok(Self::route_attrs(&table, &s.destination_cidr_block))
    }

    pub(crate) async fn route_find(
        &self,
        _address: &Address,
        s: &Route,
    ) -> Result<Attributes, ProviderError> {
        Ok(Self::route_attrs(
            &lit(&s.route_table_id),
            &s.destination_cidr_block,
        ))
    }

    pub(crate) async fn route_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let table_of = |r: &ReadRequest| -> String {
            match (
                r.attributes.get("route-table-id").and_then(Value::as_str),
                &r.prior,
            ) {
                (Some(t), _) => t.to_string(),
                (None, Spec::Route(p)) => lit(&p.route_table_id),
                _ => String::new(),
            }
        };
        let tables: Vec<String> = reqs
            .iter()
            .map(table_of)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect();
        let live = describe_chunks!(
            self,
            describe_route_tables,
            "route-table-id",
            tables,
            "DescribeRouteTables"
        );
        let by_id: HashMap<&str, _> = live
            .iter()
            .filter_map(|v| Some((v.route_table_id()?, v)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::Route(prior) = &r.prior else {
                    return Err(wrong_kind(&r.address, Kind::Route, &r.prior));
                };
                let table = table_of(r);
                let dest = r
                    .attributes
                    .get("destination-cidr-block")
                    .and_then(Value::as_str)
                    .unwrap_or(&prior.destination_cidr_block)
                    .to_string();
                let Some(t) = by_id.get(table.as_str()) else {
                    return Ok(None);
                };
                let Some(route) = t
                    .routes()
                    .iter()
                    .find(|x| x.destination_cidr_block() == Some(dest.as_str()))
                else {
                    return Ok(None);
                };
                Ok(Some(Found {
                    spec: Spec::Route(Route {
                        route_table_id: Text::Literal(table.clone()),
                        destination_cidr_block: dest.clone(),
                        gateway_id: Text::Literal(
                            route.gateway_id().unwrap_or_default().to_string(),
                        ),
                    }),
                    attributes: Self::route_attrs(&table, &dest),
                    owner: table_owner(t),
                }))
            })
            .collect()
    }

    pub(crate) async fn route_update(
        &self,
        op: &Op<'_>,
        _o: &Route,
        n: &Route,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        self.ec2
            .replace_route()
            .route_table_id(attr(a, "route-table-id", op.address)?)
            .destination_cidr_block(&n.destination_cidr_block)
            .gateway_id(op.lit(&n.gateway_id)?)
            .send()
            .await
            .map_err(op.err("ReplaceRoute"))?;
        Ok(a.clone())
    }

    pub(crate) async fn route_delete(
        &self,
        op: &Op<'_>,
        s: &Route,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let table = attr(a, "route-table-id", op.address).or_else(|_| op.lit(&s.route_table_id))?;
        self.delete_retrying(op, || async {
            self.ec2
                .delete_route()
                .route_table_id(&table)
                .destination_cidr_block(&s.destination_cidr_block)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteRoute"))
        })
        .await
    }

    // ---- route table association ----

    pub(crate) async fn association_create(
        &self,
        op: &Op<'_>,
        s: &RouteTableAssociation,
    ) -> Result<Attributes, ProviderError> {
        let table = op.lit(&s.route_table_id)?;
        let subnet = op.lit(&s.subnet_id)?;
        let out = self
            .ec2
            .associate_route_table()
            .route_table_id(&table)
            .subnet_id(&subnet)
            .send()
            .await
            .map_err(op.refused("AssociateRouteTable"))?;
        let id = out.association_id().unwrap_or_default();
        Ok(attrs([
            ("id", json!(id)),
            ("route-table-id", json!(table)),
            ("subnet-id", json!(subnet)),
        ]))
    }

    pub(crate) async fn association_find(
        &self,
        address: &Address,
        s: &RouteTableAssociation,
    ) -> Result<Option<Attributes>, ProviderError> {
        let (table, subnet) = (lit(&s.route_table_id), lit(&s.subnet_id));
        let tables = self
            .ec2
            .describe_route_tables()
            .filters(filter("association.subnet-id", [subnet.clone()]))
            .send()
            .await
            .map_err(sdk_err("DescribeRouteTables", Some(address)))?;
        let id = tables
            .route_tables()
            .iter()
            .filter(|t| t.route_table_id() == Some(table.as_str()))
            .flat_map(|t| t.associations())
            .find(|a| a.subnet_id() == Some(subnet.as_str()))
            .and_then(|a| a.route_table_association_id());
        Ok(id.map(|id| {
            attrs([
                ("id", json!(id)),
                ("route-table-id", json!(table)),
                ("subnet-id", json!(subnet)),
            ])
        }))
    }

    pub(crate) async fn association_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let tables = describe_chunks!(
            self,
            describe_route_tables,
            "association.route-table-association-id",
            ids(reqs),
            "DescribeRouteTables"
        );
        let owners: HashMap<&str, Option<Owner>> = tables
            .iter()
            .filter_map(|t| Some((t.route_table_id()?, table_owner(t))))
            .collect();
        let by_id: HashMap<&str, (&str, &str)> = tables
            .iter()
            .flat_map(|t| t.associations())
            .filter(|a| {
                !matches!(
                    a.association_state().and_then(|s| s.state()),
                    Some(aws_sdk_ec2::types::RouteTableAssociationStateCode::Disassociated)
                )
            })
            .filter_map(|a| {
                Some((
                    a.route_table_association_id()?,
                    (a.route_table_id()?, a.subnet_id()?),
                ))
            })
            .collect();
        reqs.iter()
            .map(|r| {
                if !matches!(r.prior, Spec::RouteTableAssociation(_)) {
                    return Err(wrong_kind(
                        &r.address,
                        Kind::RouteTableAssociation,
                        &r.prior,
                    ));
                }
                let Some(id) = id_of(r) else { return Ok(None) };
                let Some((table, subnet)) = by_id.get(id) else {
                    return Ok(None);
                };
                Ok(Some(Found {
                    spec: Spec::RouteTableAssociation(RouteTableAssociation {
                        route_table_id: Text::Literal(table.to_string()),
                        subnet_id: Text::Literal(subnet.to_string()),
                    }),
                    attributes: attrs([
                        ("id", json!(id)),
                        ("route-table-id", json!(table)),
                        ("subnet-id", json!(subnet)),
                    ]),
                    owner: owners.get(table).cloned().flatten(),
                }))
            })
            .collect()
    }

    pub(crate) async fn association_delete(
        &self,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.delete_retrying(op, || async {
            self.ec2
                .disassociate_route_table()
                .association_id(&id)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DisassociateRouteTable"))
        })
        .await
    }

    // ---- security group ----

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
            self.ec2
                .authorize_security_group_egress()
                .group_id(id)
                .set_ip_permissions(perms)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("AuthorizeSecurityGroupEgress"))
        } else {
            self.ec2
                .authorize_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(perms)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("AuthorizeSecurityGroupIngress"))
        };
        match r {
            Err(e) if e.code.as_deref() == Some("InvalidPermission.Duplicate") => Ok(()),
            r => r,
        }
    }

    async fn sg_revoke(
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
            self.ec2
                .revoke_security_group_egress()
                .group_id(id)
                .set_ip_permissions(perms)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("RevokeSecurityGroupEgress"))
        } else {
            self.ec2
                .revoke_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(perms)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("RevokeSecurityGroupIngress"))
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
            let (old, new) = (atoms(op, old)?, atoms(op, new)?);
            // Revoke first: a rule whose description changed is revoked and added again.
            let gone: BTreeSet<Atom> = old.difference(&new).cloned().collect();
            let added: BTreeSet<Atom> = new.difference(&old).cloned().collect();
            self.sg_revoke(op, &id, egress, &gone).await?;
            self.sg_authorize(op, &id, egress, &added).await?;
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

    // ---- VPC endpoint ----

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
        let out = call.send().await.map_err(op.refused("CreateVpcEndpoint"))?;
        let id = out
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .unwrap_or_default();
        Ok(attrs([("id", json!(id))]))
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
        .await
    }
}

/// The ownership of a route or association: its route table's tags.
fn table_owner(t: &aws_sdk_ec2::types::RouteTable) -> Option<Owner> {
    tags::owner_via(
        t.tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        format!("route table {}", t.route_table_id().unwrap_or_default()),
    )
}

/// Of resources tagged with a stack's name and an address, the id of the one with the
/// stack's id, else of one tagged before stack ids existed; never another stack's.
fn pick_owned<'a>(
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

fn is_gone_endpoint(e: &aws_sdk_ec2::types::VpcEndpoint) -> bool {
    // EC2 answers lowercase states (`deleted`) while the SDK's enum spells them
    // capitalised (`Deleted`): compare the text.
    e.state().is_some_and(|s| {
        matches!(
            s.as_str().to_ascii_lowercase().as_str(),
            "deleted" | "deleting" | "failed" | "rejected" | "expired"
        )
    })
}

fn endpoint_type(t: VpcEndpointType) -> aws_sdk_ec2::types::VpcEndpointType {
    match t {
        VpcEndpointType::Interface => aws_sdk_ec2::types::VpcEndpointType::Interface,
        VpcEndpointType::Gateway => aws_sdk_ec2::types::VpcEndpointType::Gateway,
    }
}

/// The literal of a text known to be resolved, or "" (for lookups only).
fn lit(t: &Text) -> String {
    t.as_literal().unwrap_or_default().to_string()
}

/// One security group permission for one CIDR block: the unit AWS adds and
/// revokes. Ports are normalised (0, 0) for "all protocols".
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Atom {
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

fn protocol_from_code(code: &str) -> Option<IpProtocol> {
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

fn atoms(op: &Op<'_>, rules: &[SecurityGroupRule]) -> Result<BTreeSet<Atom>, ProviderError> {
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
fn live_rules(perms: &[IpPermission], prior: &[SecurityGroupRule]) -> Vec<SecurityGroupRule> {
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
