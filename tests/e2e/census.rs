//! A count of what lives in the emulator for JapanCart, read through the AWS SDK
//! (never through the engine's state): every resource that carries the ownership
//! tags, by its `engine:address` tag, and the KMS aliases (which take no tags) by
//! name. Route table associations and routes take no tags either; they live and die
//! with their route table, which is counted; an IAM role's inline policies live and
//! die with their role. A VPC's default security group, adopted by the stack,
//! carries the tags while the stack manages it and goes with its VPC.
//!
//! Gone means gone as AWS shows it: a KMS key pending deletion, a VPC endpoint in
//! state `deleted` and a secret scheduled for deletion are not live.

use std::collections::BTreeMap;

use engine_aws::tags::{ADDRESS_TAG, STACK_TAG};

/// Live resources of one stack: address -> the ids found with that address.
#[derive(Debug, Default)]
pub(crate) struct Census {
    pub(crate) tagged: BTreeMap<String, Vec<String>>,
    pub(crate) aliases: Vec<String>,
}

impl Census {
    /// Addresses with more than one live resource.
    pub(crate) fn duplicates(&self) -> Vec<(&String, &Vec<String>)> {
        self.tagged
            .iter()
            .filter(|(_, ids)| ids.len() > 1)
            .collect()
    }

    /// Live tagged resources whose address is not in `state`.
    pub(crate) fn orphans(&self, state: &[String]) -> Vec<String> {
        self.tagged
            .iter()
            .filter(|(a, _)| !state.contains(a))
            .map(|(a, ids)| format!("{a} {ids:?}"))
            .collect()
    }

    /// How many live resources were counted.
    pub(crate) fn total(&self) -> usize {
        self.tagged.values().map(Vec::len).sum::<usize>() + self.aliases.len()
    }
}

fn tag_of<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>, stack: &str) -> Option<String> {
    let tags: Vec<(&str, &str)> = tags.into_iter().collect();
    let ours = tags.iter().any(|(k, v)| *k == STACK_TAG && *v == stack);
    let address = tags.iter().find(|(k, _)| *k == ADDRESS_TAG).map(|(_, v)| v);
    address.filter(|_| ours).map(|a| a.to_string())
}

/// Everything of stack `stack` live in the emulator behind `sdk`.
pub(crate) async fn census(sdk: &aws_config::SdkConfig, stack: &str) -> Census {
    let mut c = Census::default();
    let mut add = |address: Option<String>, id: &str| {
        if let Some(a) = address {
            c.tagged.entry(a).or_default().push(id.to_string());
        }
    };

    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let ec2_tags = |t: &[aws_sdk_ec2::types::Tag]| {
        tag_of(
            t.iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            stack,
        )
    };
    for v in ec2.describe_vpcs().send().await.unwrap().vpcs() {
        add(ec2_tags(v.tags()), v.vpc_id().unwrap());
    }
    for s in ec2.describe_subnets().send().await.unwrap().subnets() {
        add(ec2_tags(s.tags()), s.subnet_id().unwrap());
    }
    for g in ec2
        .describe_security_groups()
        .send()
        .await
        .unwrap()
        .security_groups()
    {
        add(ec2_tags(g.tags()), g.group_id().unwrap());
    }
    for g in ec2
        .describe_internet_gateways()
        .send()
        .await
        .unwrap()
        .internet_gateways()
    {
        add(ec2_tags(g.tags()), g.internet_gateway_id().unwrap());
    }
    for r in ec2
        .describe_route_tables()
        .send()
        .await
        .unwrap()
        .route_tables()
    {
        add(ec2_tags(r.tags()), r.route_table_id().unwrap());
    }
    for e in ec2
        .describe_vpc_endpoints()
        .send()
        .await
        .unwrap()
        .vpc_endpoints()
    {
        let state = e.state().map(|s| s.as_str().to_lowercase());
        if state.as_deref() != Some("deleted") {
            add(ec2_tags(e.tags()), e.vpc_endpoint_id().unwrap());
        }
    }

    for f in ec2.describe_flow_logs().send().await.unwrap().flow_logs() {
        add(ec2_tags(f.tags()), f.flow_log_id().unwrap());
    }

    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    for g in logs
        .describe_log_groups()
        .send()
        .await
        .unwrap()
        .log_groups()
    {
        let name = g.log_group_name().unwrap();
        // The group's ARN as the tagging API takes it: without the `:*` that
        // DescribeLogGroups' `arn` carries.
        let arn = g.arn().unwrap().trim_end_matches(":*");
        let tags = logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let address = tag_of(
            tags.tags()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str())),
            stack,
        );
        add(address, name);
    }

    let kinesis = aws_sdk_kinesis::Client::new(sdk);
    for name in kinesis.list_streams().send().await.unwrap().stream_names() {
        let tags = kinesis
            .list_tags_for_stream()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        let address = tag_of(
            tags.tags()
                .iter()
                .map(|t| (t.key(), t.value().unwrap_or(""))),
            stack,
        );
        add(address, name);
    }

    let kms = aws_sdk_kms::Client::new(sdk);
    for k in kms.list_keys().send().await.unwrap().keys() {
        let id = k.key_id().unwrap();
        let meta = kms.describe_key().key_id(id).send().await.unwrap();
        let meta = meta.key_metadata().unwrap();
        if meta.key_state() == Some(&aws_sdk_kms::types::KeyState::PendingDeletion) {
            continue;
        }
        let tags = kms.list_resource_tags().key_id(id).send().await.unwrap();
        let address = tag_of(
            tags.tags().iter().map(|t| (t.tag_key(), t.tag_value())),
            stack,
        );
        add(address, id);
    }
    for a in kms.list_aliases().send().await.unwrap().aliases() {
        let name = a.alias_name().unwrap_or_default();
        if name.starts_with("alias/japancart-") {
            c.aliases.push(name.to_string());
        }
    }

    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    for s in secrets.list_secrets().send().await.unwrap().secret_list() {
        if s.deleted_date().is_some() {
            continue;
        }
        let address = tag_of(
            s.tags()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            stack,
        );
        add(address, s.arn().unwrap());
    }

    let sns = aws_sdk_sns::Client::new(sdk);
    for t in sns.list_topics().send().await.unwrap().topics() {
        let arn = t.topic_arn().unwrap();
        let tags = sns
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        add(
            tag_of(tags.tags().iter().map(|t| (t.key(), t.value())), stack),
            arn,
        );
    }

    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    for a in cw.describe_alarms().send().await.unwrap().metric_alarms() {
        let arn = a.alarm_arn().unwrap();
        let tags = cw
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let address = tag_of(
            tags.tags()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            stack,
        );
        add(address, arn);
    }

    let iam = aws_sdk_iam::Client::new(sdk);
    for r in iam.list_roles().send().await.unwrap().roles() {
        let tags = iam
            .list_role_tags()
            .role_name(r.role_name())
            .send()
            .await
            .unwrap();
        add(
            tag_of(tags.tags().iter().map(|t| (t.key(), t.value())), stack),
            r.role_name(),
        );
    }

    let rds = aws_sdk_rds::Client::new(sdk);
    let rds_tags = |t: &[aws_sdk_rds::types::Tag]| {
        tag_of(
            t.iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            stack,
        )
    };
    for d in rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
    {
        add(rds_tags(d.tag_list()), d.db_instance_identifier().unwrap());
    }
    for g in rds
        .describe_db_subnet_groups()
        .send()
        .await
        .unwrap()
        .db_subnet_groups()
    {
        let arn = g.db_subnet_group_arn().unwrap();
        let tags = rds
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .unwrap();
        add(rds_tags(tags.tag_list()), arn);
    }

    let ec = aws_sdk_elasticache::Client::new(sdk);
    let mut arns: Vec<String> = ec
        .describe_replication_groups()
        .send()
        .await
        .unwrap()
        .replication_groups()
        .iter()
        .filter_map(|g| g.arn().map(str::to_string))
        .collect();
    arns.extend(
        ec.describe_cache_subnet_groups()
            .send()
            .await
            .unwrap()
            .cache_subnet_groups()
            .iter()
            .filter(|g| g.cache_subnet_group_name() != Some("default"))
            .filter_map(|g| g.arn().map(str::to_string)),
    );
    for arn in arns {
        // AWS refuses to list the tags of a replication group while it is busy
        // (InvalidReplicationGroupState); wait it out.
        let mut tries = 0;
        let tags = loop {
            match ec.list_tags_for_resource().resource_name(&arn).send().await {
                Ok(t) => break t,
                Err(e) if tries < 120 => {
                    let _ = e;
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                Err(e) => panic!("tags of {arn}: {e:?}"),
            }
        };
        let address = tag_of(
            tags.tag_list()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            stack,
        );
        add(address, &arn);
    }
    c
}
