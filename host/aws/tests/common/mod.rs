//! Helpers shared by the provider tests: the stack identities they create as,
//! small spec builders, and a network (VPC, two subnets, a security group) for the
//! kinds that need one.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test binary uses a part

use std::time::Duration;

use engine_aws::{
    Attributes, Aws, OpContext, Provider, ProviderOptions, ReadRequest, ReadResult, StackIdentity,
};
use engine_core::model::*;
use engine_core::{Address, Spec, Text};

pub const STACK: &str = "test";

/// The stack the tests create as.
pub fn me() -> StackIdentity {
    StackIdentity::new(STACK, "lineage-me")
}

/// Another stack of the same name (another directory, region or environment).
pub fn twin() -> StackIdentity {
    StackIdentity::new(STACK, "lineage-twin")
}

pub fn fast_options() -> ProviderOptions {
    ProviderOptions {
        poll_initial: Duration::from_millis(20),
        poll_max: Duration::from_millis(200),
        ..ProviderOptions::default()
    }
}

pub fn addr(name: &str) -> Address {
    Address::new("t", name)
}

pub fn tag(k: &str, v: &str) -> Tag {
    Tag {
        key: k.into(),
        value: v.into(),
    }
}

pub fn lit(s: &str) -> Text {
    Text::lit(s)
}

pub fn cx() -> OpContext {
    OpContext::new(me())
}

pub async fn create(p: &Aws, name: &str, spec: Spec) -> Attributes {
    p.create(&addr(name), &spec, &cx())
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"))
}

pub fn s(a: &Attributes, key: &str) -> String {
    a.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("attribute {key} in {a:?}"))
        .to_string()
}

pub async fn read(p: &Aws, address: &Address, prior: &Spec, attributes: &Attributes) -> ReadResult {
    let req = ReadRequest {
        address: address.clone(),
        prior: prior.clone(),
        attributes: attributes.clone(),
    };
    let mut out = p
        .read_batch(prior.kind(), &[req])
        .await
        .unwrap_or_else(|e| panic!("read {address}: {e}"));
    assert_eq!(out.len(), 1);
    out.remove(0)
}

/// A VPC with two subnets in two zones, for the kinds that need a network.
pub struct Net {
    pub vpc: String,
    pub subnets: [String; 2],
    pub security_group: String,
}

pub async fn network(p: &Aws, prefix: &str) -> Net {
    let vpc = create(
        p,
        &format!("{prefix}-vpc"),
        Spec::Vpc(Vpc {
            cidr_block: "10.0.0.0/16".into(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
            tags: vec![],
        }),
    )
    .await;
    let vpc = s(&vpc, "id");
    let mut subnets = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let a = create(
            p,
            &format!("{prefix}-subnet-{i}"),
            Spec::Subnet(Subnet {
                vpc_id: lit(&vpc),
                cidr_block: format!("10.0.{i}.0/24"),
                availability_zone: az.to_string(),
                map_public_ip_on_launch: false,
                tags: vec![],
            }),
        )
        .await;
        subnets.push(s(&a, "id"));
    }
    let sg = create(
        p,
        &format!("{prefix}-sg"),
        Spec::SecurityGroup(SecurityGroup {
            name: format!("{prefix}-sg"),
            description: "test".into(),
            vpc_id: lit(&vpc),
            ingress: vec![],
            egress: vec![],
            tags: vec![],
        }),
    )
    .await;
    let [a, b]: [String; 2] = subnets.try_into().expect("two subnets");
    Net {
        vpc,
        subnets: [a, b],
        security_group: s(&sg, "id"),
    }
}

pub fn secret_spec(name: &str) -> Secret {
    Secret {
        name: name.into(),
        description: "master".into(),
        kms_key_id: None,
        username: "dbadmin".into(),
        password: PasswordPolicy {
            length: 40,
            exclude_characters: "/@\" ".into(),
        },
        recovery_window_days: 0,
        tags: vec![],
    }
}

pub fn db_spec(identifier: &str, secret_arn: &str, subnet_group: &str, sg: &str) -> DbInstance {
    DbInstance {
        identifier: identifier.into(),
        engine: "postgres".into(),
        engine_version: "15.4".into(),
        instance_class: "db.t3.micro".into(),
        allocated_storage_gb: 20,
        storage_type: "gp3".into(),
        storage_encrypted: true,
        kms_key_id: None,
        db_name: "app".into(),
        master_username: lit("dbadmin"),
        master_password: Some(SecretValueRef {
            secret_id: lit(secret_arn),
            key: "password".into(),
        }),
        manage_master_user_password: false,
        master_user_secret_kms_key_id: None,
        iam_database_authentication: false,
        cloudwatch_logs_exports: vec![],
        copy_tags_to_snapshot: false,
        port: 5432,
        db_subnet_group_name: lit(subnet_group),
        vpc_security_group_ids: vec![lit(sg)],
        multi_az: false,
        publicly_accessible: false,
        backup_retention_days: 1,
        monitoring_interval_seconds: 0,
        monitoring_role_arn: None,
        deletion_protection: false,
        skip_final_snapshot: true,
        tags: vec![tag("a", "1")],
    }
}
