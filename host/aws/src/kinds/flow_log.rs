//! A VPC flow log delivered to a CloudWatch Logs log group.
//!
//! EC2 has no call that modifies a flow log (only its tags), so every other
//! change replaces it. `CreateFlowLogs` and `DeleteFlowLogs` report what failed for
//! each resource in `Unsuccessful` rather than as an error
//! (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateFlowLogs.html>,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteFlowLogs.html>):
//! those are turned into errors here. Reads use one `DescribeFlowLogs` per chunk
//! of ids (tags included).

use std::collections::HashMap;

use aws_sdk_ec2::types::{
    FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType, UnsuccessfulItem,
};
use engine_core::model::{FlowLog, FlowLogTraffic};
use engine_core::{Address, Kind, Spec, Text};
use serde_json::{Value, json};

use crate::error::{ErrorKind, ProviderError, classify_code, sdk_err};
use crate::provider::{
    Attributes, Aws, Found, Op, ReadRequest, StackIdentity, attr, attrs, wrong_kind,
};
use crate::tags;

use crate::ec2::*;
use crate::kinds::AwsKind;
use async_trait::async_trait;

fn traffic(t: FlowLogTraffic) -> TrafficType {
    match t {
        FlowLogTraffic::Accept => TrafficType::Accept,
        FlowLogTraffic::Reject => TrafficType::Reject,
        FlowLogTraffic::All => TrafficType::All,
    }
}

fn traffic_back(t: &TrafficType) -> Option<FlowLogTraffic> {
    // Compared as text: EC2 answers `ALL`, `ACCEPT`, `REJECT`.
    match t.as_str().to_ascii_uppercase().as_str() {
        "ACCEPT" => Some(FlowLogTraffic::Accept),
        "REJECT" => Some(FlowLogTraffic::Reject),
        "ALL" => Some(FlowLogTraffic::All),
        _ => None,
    }
}

/// The error of one item `Unsuccessful` reports, classified by its code.
fn unsuccessful(op: &Op<'_>, operation: &str, item: &UnsuccessfulItem) -> ProviderError {
    let code = item.error().and_then(|e| e.code()).unwrap_or_default();
    let message = item
        .error()
        .and_then(|e| e.message())
        .unwrap_or("AWS reported the request unsuccessful with no message");
    let kind = if code.is_empty() {
        ErrorKind::Other
    } else {
        classify_code(code)
    };
    let mut e = ProviderError::new(kind, operation, Some(op.address), message);
    e.code = (!code.is_empty()).then(|| code.into());
    e
}

impl Aws {
    pub(crate) async fn flow_log_create(
        &self,
        op: &Op<'_>,
        s: &FlowLog,
    ) -> Result<Attributes, ProviderError> {
        // A per-resource failure (the VPC unknown, the role not trusted by the flow
        // logs service, a flow log of the same settings already there) is a
        // refusal: nothing was created. A VPC created moments ago that EC2 does
        // not show yet (`InvalidVpcID.NotFound`) is retried.
        let out = self
            .ec2_fresh(op, || async {
                let out = self
                    .ec2
                    .create_flow_logs()
                    .resource_type(FlowLogsResourceType::Vpc)
                    .resource_ids(op.lit(&s.vpc_id)?)
                    .traffic_type(traffic(s.traffic_type))
                    .log_destination_type(LogDestinationType::CloudWatchLogs)
                    .log_group_name(op.lit(&s.log_group_name)?)
                    .deliver_logs_permission_arn(op.lit(&s.deliver_logs_permission_arn)?)
                    .max_aggregation_interval(
                        i32::try_from(s.max_aggregation_interval_seconds).unwrap_or(i32::MAX),
                    )
                    .tag_specifications(tag_spec(ResourceType::VpcFlowLog, &op.tags(&s.tags)))
                    // One attempt: the SDK would retry a lost answer into a second
                    // flow log (see `ec2_one_attempt`); the executor looks for the
                    // first by its tags.
                    .customize()
                    .config_override(crate::config::ec2_one_attempt())
                    .send()
                    .await
                    .map_err(op.refused("CreateFlowLogs"))?;
                match out.unsuccessful().first() {
                    Some(item) => Err(unsuccessful(op, "CreateFlowLogs", item).refusing()),
                    None => Ok(out),
                }
            })
            .await?;
        let Some(id) = out.flow_log_ids().first() else {
            return Err(ProviderError::new(
                ErrorKind::Other,
                "CreateFlowLogs",
                Some(op.address),
                "AWS answered with neither a flow log id nor a failure",
            ));
        };
        Ok(attrs([("id", json!(id))]))
    }

    pub(crate) async fn flow_log_read(
        &self,
        reqs: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        // `describe_chunks!`, but DescribeFlowLogs names its filters `Filter`.
        let mut logs = Vec::new();
        for part in ids(reqs).chunks(self.page(MAX_FILTER_VALUES)) {
            let items: Vec<_> = self
                .ec2
                .describe_flow_logs()
                .filter(filter("flow-log-id", part.iter().cloned()))
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(sdk_err("DescribeFlowLogs", None))?;
            logs.extend(items);
        }
        let by_id: HashMap<&str, _> = logs
            .iter()
            .filter_map(|v| Some((v.flow_log_id()?, v)))
            .collect();
        reqs.iter()
            .map(|r| {
                let Spec::FlowLog(prior) = &r.prior else {
                    return Err(wrong_kind(&r.address, Kind::FlowLog, &r.prior));
                };
                let Some(f) = id_of(r).and_then(|id| by_id.get(id)) else {
                    return Ok(None);
                };
                let (tags, owner) = tags::split(live_tags(f.tags()), &prior.tags);
                let text = |live: Option<&str>, prior: &Text| match live {
                    Some(v) => Text::Literal(v.to_string()),
                    None => prior.clone(),
                };
                Ok(Some(Found {
                    spec: Spec::FlowLog(FlowLog {
                        vpc_id: text(f.resource_id(), &prior.vpc_id),
                        traffic_type: f
                            .traffic_type()
                            .and_then(traffic_back)
                            .unwrap_or(prior.traffic_type),
                        log_group_name: text(f.log_group_name(), &prior.log_group_name),
                        deliver_logs_permission_arn: text(
                            f.deliver_logs_permission_arn(),
                            &prior.deliver_logs_permission_arn,
                        ),
                        max_aggregation_interval_seconds: f
                            .max_aggregation_interval()
                            .and_then(|s| u32::try_from(s).ok())
                            .unwrap_or(prior.max_aggregation_interval_seconds),
                        tags,
                    }),
                    attributes: attrs([("id", json!(f.flow_log_id().unwrap_or_default()))]),
                    owner,
                }))
            })
            .collect()
    }

    pub(crate) async fn flow_log_update(
        &self,
        op: &Op<'_>,
        o: &FlowLog,
        n: &FlowLog,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.ec2_retag(op, &id, &o.tags, &n.tags).await?;
        Ok(a.clone())
    }

    pub(crate) async fn flow_log_delete(
        &self,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<(), ProviderError> {
        let id = attr(a, "id", op.address)?;
        self.delete_retrying(op, || async {
            let out = self
                .ec2
                .delete_flow_logs()
                .flow_log_ids(&id)
                .send()
                .await
                .map_err(op.err("DeleteFlowLogs"))?;
            match out.unsuccessful().first() {
                Some(item) => Err(unsuccessful(op, "DeleteFlowLogs", item)),
                None => Ok(()),
            }
        })
        .await
    }
}

#[async_trait]
impl AwsKind for FlowLog {
    const NOT_FOUND: &'static [&'static str] = &["InvalidFlowLogId.NotFound"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        super::ec2_import_id(id, "fl-", "flow log")
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        aws.flow_log_create(op, self).await
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        aws.flow_log_read(requests).await
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.flow_log_update(op, self, new, a).await
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError> {
        aws.flow_log_delete(op, a).await
    }

    async fn locate(
        &self,
        aws: &Aws,
        address: &Address,
        stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        Ok(aws
            .ec2_find_by_tags(Kind::FlowLog, stack, address)
            .await?
            .map(|id| attrs([("id", Value::String(id))])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_types_round_trip() {
        for t in [
            FlowLogTraffic::Accept,
            FlowLogTraffic::Reject,
            FlowLogTraffic::All,
        ] {
            assert_eq!(traffic_back(&traffic(t)), Some(t));
        }
    }
}
