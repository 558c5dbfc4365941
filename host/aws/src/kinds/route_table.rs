//! The route table family: route tables, their routes and their subnet associations. Routes and associations take no tags; their owner is their route table's.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_ec2::types::ResourceType;
use engine_core::model::{Route, RouteTable, RouteTableAssociation};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::{Value, json};

use crate::error::{ProviderError, sdk_err};
use crate::provider::{
    Attributes, Aws, Found, Op, Owner, ReadRequest, StackIdentity, attr, attrs, wrong_kind,
};
use crate::tags;

use crate::ec2::*;
use crate::kinds::AwsKind;
use async_trait::async_trait;

impl Aws {
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
            // One attempt: the SDK would retry a lost answer into a second table
            // (see `ec2_one_attempt`); the executor looks for the first by its tags.
            .customize()
            .config_override(crate::config::ec2_one_attempt())
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
        let gateway = op.lit(&s.gateway_id)?;
        self.ec2_fresh(op, || async {
            self.ec2
                .create_route()
                .route_table_id(&table)
                .destination_cidr_block(&s.destination_cidr_block)
                .gateway_id(&gateway)
                .send()
                .await
                .map_err(op.refused("CreateRoute"))
        })
        .await?;
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
            .ec2_fresh(op, || async {
                self.ec2
                    .associate_route_table()
                    .route_table_id(&table)
                    .subnet_id(&subnet)
                    .send()
                    .await
                    .map_err(op.refused("AssociateRouteTable"))
            })
            .await?;
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
}

#[async_trait]
impl AwsKind for RouteTable {
    const NOT_FOUND: &'static [&'static str] = &["InvalidRouteTableID.NotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        super::ec2_import_id(id, "rtb-", "route table")
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.route_table_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.route_table_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.route_table_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.route_table_delete(op, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        Ok(aws
            .ec2_find_by_tags(Kind::RouteTable, stack, address)
            .await?
            .map(|id| attrs([("id", Value::String(id))])))
    }
}

#[async_trait]
impl AwsKind for Route {
    const NOT_FOUND: &'static [&'static str] = &["InvalidRoute.NotFound"];

    /// A route has no id of its own in AWS: it is its table's entry for a
    /// destination.
    fn import(&mut self, _id: &str) -> Result<crate::provider::Attributes, String> {
        Err(
            "a route has no id of its own in AWS, so it cannot be imported; import its \
             route table, and the next apply manages the route"
                .into(),
        )
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.route_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.route_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.route_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.route_delete(op, self, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        let _ = stack;
        aws.route_find(address, self).await.map(Some)
    }
}

#[async_trait]
impl AwsKind for RouteTableAssociation {
    const NOT_FOUND: &'static [&'static str] = &["InvalidAssociationID.NotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        super::ec2_import_id(id, "rtbassoc-", "route table association")
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.association_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.association_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let _ = (new, aws, op);
        Ok(a.clone())
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.association_delete(op, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        let _ = stack;
        aws.association_find(address, self).await
    }
}
