//! Every resource kind against a real moto server: create -> read back and compare
//! -> update an in-place field -> read -> find by ownership -> delete -> read says
//! gone -> delete again is a no-op.
//!
//! One moto server per test binary (`MotoServer::shared`), started by the test on a
//! free loopback port; tests use names of their own, so they run in parallel.
//! Where moto differs from AWS the test follows AWS's documented behaviour and says
//! so in a comment (see also tests/moto/launcher.py for the gaps it patches).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use engine_aws::moto::MotoServer;
use engine_aws::{
    Attributes, Aws, CallCounter, Ownership, Provider, ProviderOptions, ReadRequest, ReadResult,
};
use engine_core::Spec;
use engine_core::model::*;
use engine_core::schema::AttrType;

mod common;
use common::*;

fn server() -> &'static MotoServer {
    MotoServer::shared().unwrap_or_else(|e| panic!("{e}"))
}

async fn provider_with(options: ProviderOptions) -> Aws {
    Aws::new(&server().sdk_config().await, options)
}

async fn provider() -> Aws {
    provider_with(fast_options()).await
}

/// The attributes are exactly those the schema promises (plus internal ids), typed.
/// (A DB instance's `master-user-secret-arn` is empty unless RDS manages the
/// password.)
fn check_attributes(spec: &Spec, a: &Attributes) {
    for (name, ty) in spec.kind().schema().attributes {
        let v = a
            .get(*name)
            .unwrap_or_else(|| panic!("{} lacks attribute {name}: {a:?}", spec.kind()));
        if let Spec::DbInstance(d) = spec
            && *name == "master-user-secret-arn"
        {
            assert_eq!(
                v.as_str().is_some_and(|s| !s.is_empty()),
                d.manage_master_user_password,
                "{name} = {v}"
            );
            continue;
        }
        match ty {
            AttrType::String => assert!(v.as_str().is_some_and(|s| !s.is_empty()), "{name} = {v}"),
            AttrType::Number => assert!(v.as_u64().is_some_and(|n| n > 0), "{name} = {v}"),
        }
    }
}

/// The whole lifecycle of one resource; returns nothing, cleans up after itself.
async fn lifecycle(p: &Aws, name: &str, spec: Spec, updated: Spec) {
    let address = addr(name);
    let cx = cx();
    let attributes = p
        .create(&address, &spec, &cx)
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
    check_attributes(&spec, &attributes);

    match read(p, &address, &spec, &attributes).await {
        ReadResult::Found {
            spec: live,
            attributes: live_attrs,
            owner,
        } => {
            assert_eq!(live, spec, "{name}: read after create");
            assert_eq!(live_attrs, attributes, "{name}: attributes after create");
            // Its tags (or its parent's) prove it this stack's, and never another's
            // of the same name, however that one recorded it.
            assert_eq!(
                me().judge(owner.as_ref(), &address, false),
                Ownership::Ours,
                "{name}: {owner:?}"
            );
            for recorded in [true, false] {
                assert!(
                    matches!(
                        twin().judge(owner.as_ref(), &address, recorded),
                        Ownership::Theirs(_)
                    ),
                    "{name}: a twin stack must not claim it: {owner:?}"
                );
            }
        }
        ReadResult::Gone => panic!("{name}: gone right after create"),
    }

    let attributes = p
        .update(&address, &spec, &updated, &attributes, &cx)
        .await
        .unwrap_or_else(|e| panic!("update {name}: {e}"));
    check_attributes(&updated, &attributes);
    match read(p, &address, &updated, &attributes).await {
        ReadResult::Found { spec: live, .. } => {
            assert_eq!(live, updated, "{name}: read after update")
        }
        ReadResult::Gone => panic!("{name}: gone after update"),
    }

    // An interrupted create would find it again by ownership tags, name or links,
    // and the tags prove it ours.
    let found = p
        .find_existing(&address, &updated, &me())
        .await
        .unwrap_or_else(|e| panic!("find {name}: {e}"));
    let found = found.unwrap_or_else(|| panic!("{name}: not found by find_existing"));
    for (k, _) in updated.kind().schema().attributes {
        assert_eq!(
            found.attributes.get(*k),
            attributes.get(*k),
            "{name}: found attribute {k}"
        );
    }
    assert_eq!(
        me().judge(found.owner.as_ref(), &address, false),
        Ownership::Ours
    );
    // The twin stack's pending record of the same address cannot adopt it: kinds
    // named by AWS ids do not show it to the twin at all; named kinds show it
    // with an owner that is not the twin.
    match p
        .find_existing(&address, &updated, &twin())
        .await
        .unwrap_or_else(|e| panic!("find {name} as the twin: {e}"))
    {
        None => {}
        Some(e) => assert!(
            matches!(
                twin().judge(e.owner.as_ref(), &address, false),
                Ownership::Theirs(_)
            ),
            "{name}: {:?}",
            e.owner
        ),
    }

    p.delete(&address, &updated, &attributes, &cx)
        .await
        .unwrap_or_else(|e| panic!("delete {name}: {e}"));
    assert_eq!(
        read(p, &address, &updated, &attributes).await,
        ReadResult::Gone,
        "{name}: read after delete"
    );
    // Deleting what is gone succeeds.
    p.delete(&address, &updated, &attributes, &cx)
        .await
        .unwrap_or_else(|e| panic!("delete {name} again: {e}"));
    assert_eq!(
        p.find_existing(&address, &updated, &me())
            .await
            .ok()
            .flatten(),
        None
    );
}

#[tokio::test]
async fn vpc() {
    let p = provider().await;
    let spec = Vpc {
        cidr_block: "10.1.0.0/16".into(),
        enable_dns_support: true,
        enable_dns_hostnames: false,
        tags: vec![tag("Name", "a")],
    };
    let updated = Vpc {
        enable_dns_hostnames: true,
        tags: vec![tag("Name", "b"), tag("team", "x")],
        ..spec.clone()
    };
    lifecycle(&p, "vpc", Spec::Vpc(spec), Spec::Vpc(updated)).await;
}

/// A resource tagged before stack ids existed (only `engine:stack` and
/// `engine:address`) keeps working while recorded, and its next update adds the id.
#[tokio::test]
async fn an_update_retags_a_resource_tagged_before_stack_ids() {
    let p = provider().await;
    let spec = Vpc {
        cidr_block: "10.9.0.0/16".into(),
        enable_dns_support: true,
        enable_dns_hostnames: false,
        tags: vec![tag("Name", "old")],
    };
    let address = addr("old-vpc");
    let attributes = create(&p, "old-vpc", Spec::Vpc(spec.clone())).await;
    let id = s(&attributes, "id");
    // Made old: drop the id tag, as an engine before stack ids would have left it.
    let ec2 = aws_sdk_ec2::Client::new(&server().sdk_config().await);
    ec2.delete_tags()
        .resources(&id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("engine:stack-id")
                .build(),
        )
        .send()
        .await
        .expect("untag");
    let ReadResult::Found { owner, .. } =
        read(&p, &address, &Spec::Vpc(spec.clone()), &attributes).await
    else {
        panic!("gone")
    };
    assert_eq!(owner.as_ref().and_then(|o| o.stack_id.clone()), None);
    // Recorded: ours. Pending: unprovable (a twin stack of the same name could have made it).
    assert_eq!(me().judge(owner.as_ref(), &address, true), Ownership::Ours);
    assert!(matches!(
        me().judge(owner.as_ref(), &address, false),
        Ownership::Unproven(_)
    ));
    let updated = Vpc {
        tags: vec![tag("Name", "new")],
        ..spec.clone()
    };
    p.update(
        &address,
        &Spec::Vpc(spec),
        &Spec::Vpc(updated.clone()),
        &attributes,
        &cx(),
    )
    .await
    .expect("update");
    let ReadResult::Found { owner, .. } =
        read(&p, &address, &Spec::Vpc(updated.clone()), &attributes).await
    else {
        panic!("gone")
    };
    assert_eq!(
        owner.and_then(|o| o.stack_id),
        Some(me().id),
        "the update re-tagged it"
    );
    p.delete(&address, &Spec::Vpc(updated), &attributes, &cx())
        .await
        .expect("delete");
}

#[tokio::test]
async fn internet_gateway() {
    let p = provider().await;
    let net = network(&p, "igw").await;
    let spec = InternetGateway {
        vpc_id: lit(&net.vpc),
        tags: vec![tag("Name", "a")],
    };
    let updated = InternetGateway {
        tags: vec![tag("Name", "b")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "igw",
        Spec::InternetGateway(spec),
        Spec::InternetGateway(updated),
    )
    .await;
}

#[tokio::test]
async fn subnet() {
    let p = provider().await;
    let net = network(&p, "subnet").await;
    let spec = Subnet {
        vpc_id: lit(&net.vpc),
        cidr_block: "10.0.9.0/24".into(),
        availability_zone: "us-east-1c".into(),
        map_public_ip_on_launch: false,
        tags: vec![tag("Name", "a")],
    };
    let updated = Subnet {
        map_public_ip_on_launch: true,
        tags: vec![],
        ..spec.clone()
    };
    lifecycle(&p, "subnet", Spec::Subnet(spec), Spec::Subnet(updated)).await;
}

#[tokio::test]
async fn route_table() {
    let p = provider().await;
    let net = network(&p, "rt").await;
    let spec = RouteTable {
        vpc_id: lit(&net.vpc),
        tags: vec![tag("Name", "a")],
    };
    let updated = RouteTable {
        tags: vec![tag("Name", "b")],
        ..spec.clone()
    };
    lifecycle(&p, "rt", Spec::RouteTable(spec), Spec::RouteTable(updated)).await;
}

#[tokio::test]
async fn route_and_association() {
    let p = provider().await;
    let net = network(&p, "route").await;
    let igw = create(
        &p,
        "route-igw",
        Spec::InternetGateway(InternetGateway {
            vpc_id: lit(&net.vpc),
            tags: vec![],
        }),
    )
    .await;
    let rt = create(
        &p,
        "route-rt",
        Spec::RouteTable(RouteTable {
            vpc_id: lit(&net.vpc),
            tags: vec![],
        }),
    )
    .await;
    // The in-place field of a route is its target. AWS lets a route point at an
    // internet gateway attached to the table's VPC only, and a VPC takes one
    // gateway: the update re-targets the route to a second gateway, which moto
    // accepts unattached (AWS would need it attached, e.g. after the first is
    // detached).
    let igw2 = p
        .create(
            &addr("route-igw2"),
            &Spec::InternetGateway(InternetGateway {
                vpc_id: lit(&net.vpc),
                tags: vec![],
            }),
            &cx(),
        )
        .await;
    let spec = Route {
        route_table_id: lit(&s(&rt, "id")),
        destination_cidr_block: "0.0.0.0/0".into(),
        gateway_id: lit(&s(&igw, "id")),
    };
    let igw2 = igw2.expect("a second gateway");
    let updated = Route {
        gateway_id: lit(&s(&igw2, "id")),
        ..spec.clone()
    };
    lifecycle(&p, "route", Spec::Route(spec), Spec::Route(updated)).await;

    // Both properties of an association force replacement: its update is a no-op.
    let assoc = RouteTableAssociation {
        route_table_id: lit(&s(&rt, "id")),
        subnet_id: lit(&net.subnets[0]),
    };
    lifecycle(
        &p,
        "assoc",
        Spec::RouteTableAssociation(assoc.clone()),
        Spec::RouteTableAssociation(assoc),
    )
    .await;
}

#[tokio::test]
async fn security_group() {
    let p = provider().await;
    let net = network(&p, "sgt").await;
    let rule = |from: u16, cidrs: &[&str], d: &str| SecurityGroupRule {
        protocol: IpProtocol::Tcp,
        from_port: from,
        to_port: from,
        cidr_blocks: cidrs.iter().map(|c| lit(c)).collect(),
        description: d.into(),
    };
    let spec = SecurityGroup {
        name: "sgt-main".into(),
        description: "database access".into(),
        vpc_id: lit(&net.vpc),
        ingress: vec![rule(5432, &["10.0.0.0/16"], "postgres")],
        egress: vec![],
        tags: vec![tag("Name", "a")],
    };
    let updated = SecurityGroup {
        ingress: vec![
            rule(5432, &["10.0.0.0/16", "10.2.0.0/16"], "postgres from both"),
            rule(6379, &["10.0.0.0/16"], "redis"),
        ],
        egress: vec![SecurityGroupRule {
            protocol: IpProtocol::All,
            from_port: 0,
            to_port: 0,
            cidr_blocks: vec![lit("0.0.0.0/0")],
            description: String::new(),
        }],
        tags: vec![tag("Name", "b")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "sg",
        Spec::SecurityGroup(spec),
        Spec::SecurityGroup(updated),
    )
    .await;
}

#[tokio::test]
async fn vpc_endpoint() {
    let p = provider().await;
    let net = network(&p, "vpce").await;
    let rt1 = create(
        &p,
        "vpce-rt1",
        Spec::RouteTable(RouteTable {
            vpc_id: lit(&net.vpc),
            tags: vec![],
        }),
    )
    .await;
    let rt2 = create(
        &p,
        "vpce-rt2",
        Spec::RouteTable(RouteTable {
            vpc_id: lit(&net.vpc),
            tags: vec![],
        }),
    )
    .await;
    let spec = VpcEndpoint {
        vpc_id: lit(&net.vpc),
        service_name: "com.amazonaws.us-east-1.s3".into(),
        endpoint_type: VpcEndpointType::Gateway,
        subnet_ids: vec![],
        security_group_ids: vec![],
        route_table_ids: vec![lit(&s(&rt1, "id"))],
        private_dns_enabled: false,
        tags: vec![tag("Name", "a")],
    };
    let updated = VpcEndpoint {
        route_table_ids: vec![lit(&s(&rt1, "id")), lit(&s(&rt2, "id"))],
        tags: vec![],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "vpce",
        Spec::VpcEndpoint(spec),
        Spec::VpcEndpoint(updated),
    )
    .await;

    // An interface endpoint (moto creates it but adds no network interfaces or routes).
    let spec = VpcEndpoint {
        vpc_id: lit(&net.vpc),
        service_name: "com.amazonaws.us-east-1.kinesis-streams".into(),
        endpoint_type: VpcEndpointType::Interface,
        subnet_ids: vec![lit(&net.subnets[0])],
        security_group_ids: vec![lit(&net.security_group)],
        route_table_ids: vec![],
        private_dns_enabled: true,
        tags: vec![],
    };
    let updated = VpcEndpoint {
        subnet_ids: vec![lit(&net.subnets[0]), lit(&net.subnets[1])],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "vpce-if",
        Spec::VpcEndpoint(spec),
        Spec::VpcEndpoint(updated),
    )
    .await;
}

#[tokio::test]
async fn kms_key_and_alias() {
    let p = provider().await;
    let spec = KmsKey {
        description: "data key".into(),
        enable_key_rotation: false,
        deletion_window_days: 7,
        service_principals: vec![],
        tags: vec![tag("a", "1")],
    };
    let updated = KmsKey {
        description: "data key v2".into(),
        enable_key_rotation: true,
        service_principals: vec!["cloudwatch.amazonaws.com".into()],
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    lifecycle(&p, "key", Spec::KmsKey(spec), Spec::KmsKey(updated.clone())).await;

    // The host writes the key policy: the account keeps full access, and the
    // listed services may encrypt and decrypt.
    let attrs = create(&p, "policy-key", Spec::KmsKey(updated)).await;
    let sdk = server().sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let id = attrs["id"].as_str().unwrap();
    let policy = kms
        .get_key_policy()
        .key_id(id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "{policy}");
    assert_eq!(
        statements[0]["Principal"]["AWS"],
        "arn:aws:iam::123456789012:root"
    );
    assert_eq!(
        statements[1]["Principal"]["Service"][0],
        "cloudwatch.amazonaws.com"
    );

    let k1 = create(
        &p,
        "alias-k1",
        Spec::KmsKey(KmsKey {
            description: "1".into(),
            enable_key_rotation: false,
            deletion_window_days: 7,
            service_principals: vec![],
            tags: vec![],
        }),
    )
    .await;
    let k2 = create(
        &p,
        "alias-k2",
        Spec::KmsKey(KmsKey {
            description: "2".into(),
            enable_key_rotation: false,
            deletion_window_days: 7,
            service_principals: vec![],
            tags: vec![],
        }),
    )
    .await;
    let spec = KmsAlias {
        name: "alias/engine-test".into(),
        target_key_id: lit(&s(&k1, "id")),
    };
    let updated = KmsAlias {
        target_key_id: lit(&s(&k2, "id")),
        ..spec.clone()
    };
    lifecycle(&p, "alias", Spec::KmsAlias(spec), Spec::KmsAlias(updated)).await;
}

/// A stream is tagged by CreateStream itself, so none can exist without its
/// ownership tags: no AddTagsToStream (which needs the stream ACTIVE) on create.
/// https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html
#[tokio::test]
async fn a_stream_is_tagged_by_its_create() {
    let counter = CallCounter::new();
    let p = provider_with(ProviderOptions {
        call_counter: Some(counter.clone()),
        ..fast_options()
    })
    .await;
    let spec = KinesisStream {
        name: "engine-test-tagged-stream".into(),
        shard_count: 1,
        retention_period_hours: 24,
        kms_key_id: None,
        shard_level_metrics: vec![],
        tags: vec![tag("team", "data")],
    };
    let address = addr("tagged-stream");
    let a = create(&p, "tagged-stream", Spec::KinesisStream(spec.clone())).await;
    let calls = counter.counts();
    assert!(
        !calls.keys().any(|k| k.contains("AddTagsToStream")),
        "{calls:?}"
    );
    let ReadResult::Found {
        spec: live, owner, ..
    } = read(&p, &address, &Spec::KinesisStream(spec.clone()), &a).await
    else {
        panic!("gone")
    };
    assert_eq!(live, Spec::KinesisStream(spec.clone()));
    assert_eq!(me().judge(owner.as_ref(), &address, false), Ownership::Ours);
    p.delete(&address, &Spec::KinesisStream(spec), &a, &cx())
        .await
        .expect("delete");
}

#[tokio::test]
async fn kinesis_stream() {
    let p = provider().await;
    let key = create(
        &p,
        "stream-key",
        Spec::KmsKey(KmsKey {
            description: "k".into(),
            enable_key_rotation: false,
            deletion_window_days: 7,
            service_principals: vec![],
            tags: vec![],
        }),
    )
    .await;
    let spec = KinesisStream {
        name: "engine-test-stream".into(),
        shard_count: 1,
        retention_period_hours: 48,
        kms_key_id: None,
        shard_level_metrics: vec!["IncomingBytes".into()],
        tags: vec![tag("a", "1")],
    };
    let updated = KinesisStream {
        shard_count: 2,
        retention_period_hours: 24,
        kms_key_id: Some(lit(&s(&key, "id"))),
        shard_level_metrics: vec!["IncomingBytes".into(), "IteratorAgeMilliseconds".into()],
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "stream",
        Spec::KinesisStream(spec),
        Spec::KinesisStream(updated),
    )
    .await;
}

#[tokio::test]
async fn secret() {
    let p = provider().await;
    let spec = Secret {
        name: "engine-test/secret".into(),
        description: "db credentials".into(),
        kms_key_id: None,
        username: "admin".into(),
        password: PasswordPolicy {
            length: 32,
            exclude_characters: "/@\" ".into(),
        },
        recovery_window_days: 0,
        tags: vec![tag("a", "1")],
    };
    let updated = Secret {
        description: "db credentials v2".into(),
        username: "root".into(),
        tags: vec![],
        ..spec.clone()
    };
    lifecycle(&p, "secret", Spec::Secret(spec), Spec::Secret(updated)).await;
}

#[tokio::test]
async fn iam_role() {
    let p = provider().await;
    let trust = |service: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    let spec = IamRole {
        name: "engine-test-role".into(),
        description: "monitoring".into(),
        assume_role_policy: trust("monitoring.rds.amazonaws.com"),
        managed_policy_arns: vec![],
        tags: vec![tag("a", "1")],
    };
    // AWS managed policies exist in moto only with MOTO_IAM_LOAD_MANAGED_POLICIES=true
    // (the launcher sets it).
    let updated = IamRole {
        description: "enhanced monitoring".into(),
        assume_role_policy: trust("rds.amazonaws.com"),
        managed_policy_arns: vec![
            "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole".into(),
        ],
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    lifecycle(&p, "role", Spec::IamRole(spec), Spec::IamRole(updated)).await;
}

#[tokio::test]
async fn elasticache() {
    let p = provider().await;
    let net = network(&p, "cache").await;
    let spec = CacheSubnetGroup {
        name: "engine-test-cache-subnets".into(),
        description: "cache".into(),
        subnet_ids: vec![lit(&net.subnets[0])],
        tags: vec![tag("a", "1")],
    };
    // moto lacks ModifyCacheSubnetGroup and DeleteCacheSubnetGroup: the launcher
    // implements them as AWS documents.
    let updated = CacheSubnetGroup {
        description: "cache v2".into(),
        subnet_ids: vec![lit(&net.subnets[0]), lit(&net.subnets[1])],
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "cache-subnets",
        Spec::CacheSubnetGroup(spec),
        Spec::CacheSubnetGroup(updated.clone()),
    )
    .await;

    create(
        &p,
        "cache-subnets2",
        Spec::CacheSubnetGroup(updated.clone()),
    )
    .await;
    let spec = CacheReplicationGroup {
        id: "engine-test-redis".into(),
        description: "redis".into(),
        engine_version: "7.0".into(),
        node_type: "cache.t3.micro".into(),
        // moto ignores NumCacheClusters (members follow ReplicasPerNodeGroup); the
        // launcher makes it honour it, as AWS does.
        num_cache_clusters: 2,
        port: 6379,
        subnet_group_name: lit(&updated.name),
        security_group_ids: vec![lit(&net.security_group)],
        automatic_failover: true,
        multi_az: true,
        at_rest_encryption: true,
        transit_encryption: true,
        kms_key_id: None,
        auth_token: None,
        snapshot_retention_days: 1,
        tags: vec![tag("a", "1")],
    };
    // In-place changes moto's ModifyReplicationGroup supports. (It ignores engine
    // version and security groups, and lacks Increase/DecreaseReplicaCount, so the
    // test does not change those; AWS supports all of them.) moto reports the group
    // `available` at once and, once deleted, the launcher makes it disappear (moto
    // leaves it `deleting` forever).
    let updated = CacheReplicationGroup {
        description: "redis v2".into(),
        node_type: "cache.t3.small".into(),
        snapshot_retention_days: 7,
        multi_az: false,
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "redis",
        Spec::CacheReplicationGroup(spec.clone()),
        Spec::CacheReplicationGroup(updated),
    )
    .await;

    // Redis AUTH: the token is read from a secret at apply time and never comes
    // back; while AUTH is on the read keeps the spec's reference, and a spec that
    // disagrees about AUTH reads as a difference (the plan replaces the group).
    // ElastiCache takes letters, digits and `!&#$^<>-` only.
    let secret = create(
        &p,
        "redis-auth-secret",
        Spec::Secret(Secret {
            password: PasswordPolicy {
                length: 64,
                exclude_characters: "\"%'()*+,./:;=?@[\\]_`{|}~".into(),
            },
            ..secret_spec("engine-test/redis-auth")
        }),
    )
    .await;
    // A password with other characters is refused before any ElastiCache call,
    // without quoting it; so is AUTH without encryption in transit.
    let loose = create(
        &p,
        "redis-auth-loose",
        Spec::Secret(secret_spec("engine-test/redis-auth-loose")),
    )
    .await;
    let loose_value = aws_sdk_secretsmanager::Client::new(&server().sdk_config().await)
        .get_secret_value()
        .secret_id(s(&loose, "arn"))
        .send()
        .await
        .expect("get value");
    let loose_json: serde_json::Value =
        serde_json::from_str(loose_value.secret_string().expect("string")).expect("json");
    let loose_password = loose_json["password"]
        .as_str()
        .expect("password")
        .to_string();
    for (secret_arn, transit) in [(s(&loose, "arn"), true), (s(&secret, "arn"), false)] {
        let bad = CacheReplicationGroup {
            id: "engine-test-redis-bad".into(),
            transit_encryption: transit,
            auth_token: Some(SecretValueRef {
                secret_id: lit(&secret_arn),
                key: "password".into(),
            }),
            ..spec.clone()
        };
        let err = p
            .create(&addr("redis-bad"), &Spec::CacheReplicationGroup(bad), &cx())
            .await
            .expect_err("refused");
        assert!(
            err.refused && err.kind == engine_aws::ErrorKind::Invalid,
            "{err}"
        );
        assert!(!format!("{err:?} {err}").contains(&loose_password), "{err}");
    }
    let token_ref = SecretValueRef {
        secret_id: lit(&s(&secret, "arn")),
        key: "password".into(),
    };
    let auth = CacheReplicationGroup {
        id: "engine-test-redis-auth".into(),
        auth_token: Some(token_ref),
        ..spec.clone()
    };
    let address = addr("redis-auth");
    let a = create(&p, "redis-auth", Spec::CacheReplicationGroup(auth.clone())).await;
    let without = CacheReplicationGroup {
        auth_token: None,
        ..auth.clone()
    };
    let mut seen = vec![format!("{a:?}")];
    match read(
        &p,
        &address,
        &Spec::CacheReplicationGroup(without.clone()),
        &a,
    )
    .await
    {
        ReadResult::Found { spec: live, .. } => {
            seen.push(format!("{live:?}"));
            let Spec::CacheReplicationGroup(live) = live else {
                panic!("{live:?}")
            };
            assert!(live.auth_token.is_some(), "AUTH is on: {live:?}");
            assert_ne!(live, without);
        }
        ReadResult::Gone => panic!("gone"),
    }
    let sm = aws_sdk_secretsmanager::Client::new(&server().sdk_config().await);
    let value = sm
        .get_secret_value()
        .secret_id(s(&secret, "arn"))
        .send()
        .await
        .expect("get value");
    let json: serde_json::Value =
        serde_json::from_str(value.secret_string().expect("string")).expect("json");
    let token = json["password"].as_str().expect("password").to_string();
    let updated = CacheReplicationGroup {
        description: "redis with AUTH".into(),
        ..auth.clone()
    };
    // (The lifecycle reads it back equal to the spec, reference included.)
    p.delete(
        &address,
        &Spec::CacheReplicationGroup(auth.clone()),
        &a,
        &cx(),
    )
    .await
    .expect("delete");
    lifecycle(
        &p,
        "redis-auth",
        Spec::CacheReplicationGroup(auth),
        Spec::CacheReplicationGroup(updated),
    )
    .await;
    // A group without AUTH that the spec wants with it reads as a difference.
    let a = create(
        &p,
        "redis-noauth",
        Spec::CacheReplicationGroup(without.clone()),
    )
    .await;
    let wants = CacheReplicationGroup {
        auth_token: Some(SecretValueRef {
            secret_id: lit(&s(&secret, "arn")),
            key: "password".into(),
        }),
        ..without.clone()
    };
    match read(
        &p,
        &addr("redis-noauth"),
        &Spec::CacheReplicationGroup(wants),
        &a,
    )
    .await
    {
        ReadResult::Found { spec: live, .. } => {
            seen.push(format!("{live:?}"));
            assert_eq!(live, Spec::CacheReplicationGroup(without.clone()));
        }
        ReadResult::Gone => panic!("gone"),
    }
    p.delete(
        &addr("redis-noauth"),
        &Spec::CacheReplicationGroup(without),
        &a,
        &cx(),
    )
    .await
    .expect("delete");
    for text in &seen {
        assert!(!text.contains(&token), "AUTH token leaked into: {text}");
    }
}

#[tokio::test]
async fn rds() {
    let p = provider().await;
    let net = network(&p, "rds").await;
    let spec = DbSubnetGroup {
        name: "engine-test-db-subnets".into(),
        description: "db".into(),
        subnet_ids: vec![lit(&net.subnets[0]), lit(&net.subnets[1])],
        tags: vec![tag("a", "1")],
    };
    let updated = DbSubnetGroup {
        description: "db v2".into(),
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "db-subnets",
        Spec::DbSubnetGroup(spec),
        Spec::DbSubnetGroup(updated.clone()),
    )
    .await;

    let group = DbSubnetGroup {
        name: "engine-test-db-subnets2".into(),
        ..updated
    };
    create(&p, "db-subnets2", Spec::DbSubnetGroup(group.clone())).await;
    let secret = create(&p, "db-secret", Spec::Secret(secret_spec("engine-test/db"))).await;
    let role = create(
        &p,
        "db-role",
        Spec::IamRole(IamRole {
            name: "engine-test-rds-monitoring".into(),
            description: String::new(),
            assume_role_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"monitoring.rds.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole".into()],
            tags: vec![],
        }),
    )
    .await;
    let spec = db_spec(
        "engine-test-db",
        &s(&secret, "arn"),
        &group.name,
        &net.security_group,
    );
    // moto reports the instance `available` at once (AWS takes minutes; the
    // provider polls with progress either way).
    // The hardening fields change in place too, and the master password goes to
    // RDS's own management.
    let updated = DbInstance {
        instance_class: "db.t3.small".into(),
        allocated_storage_gb: 30,
        backup_retention_days: 7,
        monitoring_interval_seconds: 60,
        monitoring_role_arn: Some(lit(&s(&role, "arn"))),
        iam_database_authentication: true,
        cloudwatch_logs_exports: vec!["postgresql".into(), "upgrade".into()],
        copy_tags_to_snapshot: true,
        master_password: None,
        manage_master_user_password: true,
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "db",
        Spec::DbInstance(spec.clone()),
        Spec::DbInstance(updated),
    )
    .await;

    // Created with the password RDS manages, and handed back to the host's secret.
    let managed = DbInstance {
        identifier: "engine-test-db-managed".into(),
        master_password: None,
        manage_master_user_password: true,
        iam_database_authentication: true,
        cloudwatch_logs_exports: vec!["postgresql".into()],
        copy_tags_to_snapshot: true,
        ..spec.clone()
    };
    let unmanaged = DbInstance {
        master_password: spec.master_password.clone(),
        manage_master_user_password: false,
        cloudwatch_logs_exports: vec!["upgrade".into()],
        ..managed.clone()
    };
    lifecycle(
        &p,
        "db-managed",
        Spec::DbInstance(managed.clone()),
        Spec::DbInstance(unmanaged),
    )
    .await;

    // A spec must have one source of the password: both or neither is refused
    // before any call.
    for (password, manage) in [(spec.master_password.clone(), true), (None, false)] {
        let bad = DbInstance {
            identifier: "engine-test-db-bad".into(),
            master_password: password,
            manage_master_user_password: manage,
            ..spec.clone()
        };
        let err = p
            .create(&addr("db-bad"), &Spec::DbInstance(bad), &cx())
            .await
            .expect_err("one source of the password");
        assert_eq!(err.kind, engine_aws::ErrorKind::Invalid, "{err}");
        assert!(err.message.contains("manage-master-user-password"), "{err}");
    }

    // Deletion protection: AWS refuses the delete; the error names the instance
    // and says what to do, and the instance stays until an update turns the
    // protection off.
    let protected = DbInstance {
        identifier: "engine-test-db-protected".into(),
        deletion_protection: true,
        ..spec.clone()
    };
    let address = addr("db-protected");
    let a = create(&p, "db-protected", Spec::DbInstance(protected.clone())).await;
    let err = p
        .delete(&address, &Spec::DbInstance(protected.clone()), &a, &cx())
        .await
        .expect_err("protected");
    assert!(
        err.message.contains("engine-test-db-protected")
            && err.message.contains("`deletion-protection` to false"),
        "{err}"
    );
    assert!(matches!(
        read(&p, &address, &Spec::DbInstance(protected.clone()), &a).await,
        ReadResult::Found { .. }
    ));
    let unprotected = DbInstance {
        deletion_protection: false,
        ..protected.clone()
    };
    let a = p
        .update(
            &address,
            &Spec::DbInstance(protected),
            &Spec::DbInstance(unprotected.clone()),
            &a,
            &cx(),
        )
        .await
        .expect("protection off");
    p.delete(&address, &Spec::DbInstance(unprotected), &a, &cx())
        .await
        .expect("deleted once unprotected");
}

#[tokio::test]
async fn s3_bucket() {
    let p = provider().await;
    let key = create(
        &p,
        "bucket-key",
        Spec::KmsKey(KmsKey {
            description: "bucket".into(),
            enable_key_rotation: false,
            deletion_window_days: 7,
            service_principals: vec![],
            tags: vec![],
        }),
    )
    .await;
    let spec = S3Bucket {
        name: "engine-test-exports".into(),
        versioning: false,
        default_encryption: true,
        kms_key_id: None,
        block_public_access: true,
        expiration_days: 0,
        tags: vec![tag("a", "1")],
    };
    // Every setting changes in place: versioning on, SSE-S3 to SSE-KMS, an
    // expiration rule, the public access block off, other tags.
    let updated = S3Bucket {
        versioning: true,
        kms_key_id: Some(lit(&s(&key, "arn"))),
        block_public_access: false,
        expiration_days: 30,
        tags: vec![tag("a", "2"), tag("b", "3")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "bucket",
        Spec::S3Bucket(spec.clone()),
        Spec::S3Bucket(updated),
    )
    .await;

    // The attributes are the bucket's name, ARN and regional domain name.
    let a = create(
        &p,
        "bucket-attrs",
        Spec::S3Bucket(S3Bucket {
            name: "engine-test-attrs".into(),
            ..spec.clone()
        }),
    )
    .await;
    assert_eq!(s(&a, "id"), "engine-test-attrs");
    assert_eq!(s(&a, "arn"), "arn:aws:s3:::engine-test-attrs");
    assert_eq!(
        s(&a, "domain-name"),
        "engine-test-attrs.s3.us-east-1.amazonaws.com"
    );
    // A taken name is refused before anything is written (S3 itself answers 200
    // in us-east-1 to a name the account owns).
    let err = p
        .create(
            &addr("bucket-again"),
            &Spec::S3Bucket(S3Bucket {
                name: "engine-test-attrs".into(),
                ..spec.clone()
            }),
            &cx(),
        )
        .await
        .expect_err("taken");
    assert!(
        err.refused && err.kind == engine_aws::ErrorKind::Conflict,
        "{err}"
    );
    // A bucket that holds objects is not deleted: the engine never deletes data.
    let sdk = server().sdk_config().await;
    aws_sdk_s3::Client::new(&sdk)
        .put_object()
        .bucket("engine-test-attrs")
        .key("order.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .expect("put object");
    let err = p
        .delete(
            &addr("bucket-attrs"),
            &Spec::S3Bucket(S3Bucket {
                name: "engine-test-attrs".into(),
                ..spec
            }),
            &a,
            &cx(),
        )
        .await
        .expect_err("not empty");
    assert_eq!(err.code.as_deref(), Some("BucketNotEmpty"), "{err}");
}

#[tokio::test]
async fn sns_topic() {
    let p = provider().await;
    let spec = SnsTopic {
        name: "engine-test-alerts".into(),
        kms_key_id: None,
        tags: vec![tag("a", "1")],
    };
    let updated = SnsTopic {
        kms_key_id: Some(lit("alias/aws/sns")),
        tags: vec![tag("a", "2"), tag("b", "3")],
        ..spec.clone()
    };
    lifecycle(&p, "topic", Spec::SnsTopic(spec), Spec::SnsTopic(updated)).await;
}

#[tokio::test]
async fn metric_alarm() {
    let p = provider().await;
    let topic = create(
        &p,
        "alarm-topic",
        Spec::SnsTopic(SnsTopic {
            name: "engine-test-alarm-topic".into(),
            kms_key_id: None,
            tags: vec![],
        }),
    )
    .await;
    let spec = MetricAlarm {
        name: "engine-test-iterator-age".into(),
        description: "consumers lag".into(),
        namespace: "AWS/Kinesis".into(),
        metric_name: "GetRecords.IteratorAgeMilliseconds".into(),
        dimensions: vec![Dimension {
            name: "StreamName".into(),
            value: lit("engine-test-stream"),
        }],
        statistic: Statistic::Maximum,
        period_seconds: 60,
        evaluation_periods: 5,
        threshold: 60000.0,
        comparison_operator: ComparisonOperator::GreaterThanThreshold,
        treat_missing_data: "notBreaching".into(),
        alarm_actions: vec![lit(&s(&topic, "arn"))],
        ok_actions: vec![],
        tags: vec![tag("a", "1")],
    };
    let updated = MetricAlarm {
        description: "consumers lag badly".into(),
        threshold: 120000.0,
        ok_actions: vec![lit(&s(&topic, "arn"))],
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "alarm",
        Spec::MetricAlarm(spec),
        Spec::MetricAlarm(updated),
    )
    .await;
}

/// A batched read of N subnets costs ceil(N / page size) Describe calls, not N.
#[tokio::test]
async fn batched_read_costs_one_call_per_page() {
    let counter = CallCounter::new();
    let p = provider_with(ProviderOptions {
        read_page_size: 5,
        call_counter: Some(counter.clone()),
        ..fast_options()
    })
    .await;
    let vpc = create(
        &p,
        "batch-vpc",
        Spec::Vpc(Vpc {
            cidr_block: "10.9.0.0/16".into(),
            enable_dns_support: true,
            enable_dns_hostnames: false,
            tags: vec![],
        }),
    )
    .await;
    let mut requests = Vec::new();
    for i in 0..12 {
        let spec = Spec::Subnet(Subnet {
            vpc_id: lit(&s(&vpc, "id")),
            cidr_block: format!("10.9.{i}.0/24"),
            availability_zone: "us-east-1a".into(),
            map_public_ip_on_launch: false,
            tags: vec![tag("n", &i.to_string())],
        });
        let a = create(&p, &format!("batch-subnet-{i}"), spec.clone()).await;
        requests.push(ReadRequest {
            address: addr(&format!("batch-subnet-{i}")),
            prior: spec,
            attributes: a,
        });
    }
    // One that no longer exists costs nothing extra and reads as gone.
    let gone = requests[0].clone();
    p.delete(&gone.address, &gone.prior, &gone.attributes, &cx())
        .await
        .expect("delete");

    counter.reset();
    let results = p
        .read_batch(engine_core::Kind::Subnet, &requests)
        .await
        .expect("read");
    assert_eq!(results.len(), 12);
    assert_eq!(results[0], ReadResult::Gone);
    for (r, req) in results.iter().zip(&requests).skip(1) {
        assert!(
            matches!(r, ReadResult::Found { spec, .. } if *spec == req.prior),
            "{r:?}"
        );
    }
    assert_eq!(
        counter.count("DescribeSubnets"),
        3,
        "{:?}",
        counter.counts()
    );
    assert_eq!(counter.total(), 3, "{:?}", counter.counts());

    // Same for metric alarms' DescribeAlarms (their tags cost one call each).
    let mut alarms = Vec::new();
    for i in 0..7 {
        let spec = Spec::MetricAlarm(MetricAlarm {
            name: format!("engine-batch-{i}"),
            description: String::new(),
            namespace: "AWS/Kinesis".into(),
            metric_name: "IncomingBytes".into(),
            dimensions: vec![],
            statistic: Statistic::Sum,
            period_seconds: 60,
            evaluation_periods: 1,
            threshold: 1.0,
            comparison_operator: ComparisonOperator::LessThanThreshold,
            treat_missing_data: "breaching".into(),
            alarm_actions: vec![],
            ok_actions: vec![],
            tags: vec![],
        });
        let a = create(&p, &format!("batch-alarm-{i}"), spec.clone()).await;
        alarms.push(ReadRequest {
            address: addr(&format!("batch-alarm-{i}")),
            prior: spec,
            attributes: a,
        });
    }
    counter.reset();
    let results = p
        .read_batch(engine_core::Kind::MetricAlarm, &alarms)
        .await
        .expect("read");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, ReadResult::Found { .. }))
    );
    assert_eq!(counter.count("DescribeAlarms"), 2, "{:?}", counter.counts());
}

/// The generated password is in Secrets Manager, honours the policy, reaches the DB
/// instance, and appears in no attribute, read result, error or debug output.
#[tokio::test]
async fn password_lives_only_in_secrets_manager() {
    let p = provider().await;
    let spec = Spec::Secret(secret_spec("engine-test/password"));
    let address = addr("pw-secret");
    let attributes = p
        .create(&address, &spec, &cx())
        .await
        .expect("create secret");

    let sm = aws_sdk_secretsmanager::Client::new(&server().sdk_config().await);
    let value = sm
        .get_secret_value()
        .secret_id(s(&attributes, "arn"))
        .send()
        .await
        .expect("get value");
    let json: serde_json::Value =
        serde_json::from_str(value.secret_string().expect("string")).expect("json");
    let password = json["password"].as_str().expect("password").to_string();
    assert_eq!(json["username"], "dbadmin");
    assert_eq!(password.len(), 40);
    assert!(
        password
            .chars()
            .all(|c| c.is_ascii_graphic() && !"/@\"".contains(c)),
        "policy honoured"
    );

    let mut seen = Vec::new();
    seen.push(serde_json::to_string(&attributes).expect("json"));
    seen.push(format!("{attributes:?}"));
    let read = read(&p, &address, &spec, &attributes).await;
    seen.push(format!("{read:?}"));
    seen.push(format!(
        "{:?}",
        p.find_existing(&address, &spec, &me()).await
    ));
    // An error about the secret (it exists already) does not carry the value.
    let err = p.create(&address, &spec, &cx()).await.expect_err("exists");
    seen.push(format!("{err:?} {err}"));

    // The DB instance gets the password from the secret at apply time.
    let net = network(&p, "pw").await;
    let group = DbSubnetGroup {
        name: "engine-test-pw-subnets".into(),
        description: "db".into(),
        subnet_ids: net.subnets.iter().map(|s| lit(s)).collect(),
        tags: vec![],
    };
    create(&p, "pw-subnets", Spec::DbSubnetGroup(group.clone())).await;
    let db = Spec::DbInstance(db_spec(
        "engine-test-pw-db",
        &s(&attributes, "arn"),
        &group.name,
        &net.security_group,
    ));
    let db_attrs = p
        .create(&addr("pw-db"), &db, &cx())
        .await
        .expect("create db");
    seen.push(format!("{db_attrs:?} {db:?}"));
    seen.push(format!("{:?}", read_db(&p, &db, &db_attrs).await));
    // A DB whose secret key does not exist fails without echoing the secret.
    let mut bad = db_spec(
        "engine-test-pw-db2",
        &s(&attributes, "arn"),
        &group.name,
        &net.security_group,
    );
    bad.master_password.as_mut().expect("a password").key = "nope".into();
    let err = p
        .create(&addr("pw-db2"), &Spec::DbInstance(bad), &cx())
        .await
        .expect_err("no such key");
    assert_eq!(err.kind, engine_aws::ErrorKind::Invalid);
    seen.push(format!("{err:?} {err}"));

    for text in &seen {
        assert!(!text.contains(&password), "password leaked into: {text}");
    }
    p.delete(&addr("pw-db"), &db, &db_attrs, &cx())
        .await
        .expect("delete db");
    p.delete(&address, &spec, &attributes, &cx())
        .await
        .expect("delete secret");
}

async fn read_db(p: &Aws, spec: &Spec, attributes: &Attributes) -> ReadResult {
    read(p, &addr("pw-db"), spec, attributes).await
}

/// A delete retries while AWS reports DependencyViolation, within its limit.
#[tokio::test]
async fn deletes_retry_while_dependencies_drain() {
    let p = provider().await;
    let net = network(&p, "dep").await;
    let vpc_spec = Spec::Vpc(Vpc {
        cidr_block: "10.0.0.0/16".into(),
        enable_dns_support: true,
        enable_dns_hostnames: true,
        tags: vec![],
    });
    let vpc_attrs: Attributes = [("id".to_string(), serde_json::json!(net.vpc))]
        .into_iter()
        .collect();
    // The VPC still has subnets and a security group: AWS answers
    // DependencyViolation; the provider retries until its limit, then reports it.
    let quick = provider_with(ProviderOptions {
        timeouts: engine_aws::Timeouts {
            dependency: Duration::from_millis(300),
            ..Default::default()
        },
        ..fast_options()
    })
    .await;
    let err = quick
        .delete(&addr("dep-vpc"), &vpc_spec, &vpc_attrs, &cx())
        .await
        .expect_err("dependencies");
    assert_eq!(err.kind, engine_aws::ErrorKind::Conflict, "{err}");
    assert_eq!(err.code.as_deref(), Some("DependencyViolation"), "{err}");
    assert_eq!(err.address, Some(addr("dep-vpc")));

    // Deleting the subnets while the VPC delete waits lets it finish.
    let p2 = p.clone();
    let subnets = net.subnets.clone();
    let sg = net.security_group.clone();
    let drain = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        for (i, id) in subnets.iter().enumerate() {
            let a: Attributes = [("id".to_string(), serde_json::json!(id))]
                .into_iter()
                .collect();
            let spec = Spec::Subnet(Subnet {
                vpc_id: lit(""),
                cidr_block: String::new(),
                availability_zone: String::new(),
                map_public_ip_on_launch: false,
                tags: vec![],
            });
            p2.delete(&addr(&format!("dep-subnet-{i}")), &spec, &a, &cx())
                .await
                .expect("delete subnet");
        }
        let a: Attributes = [("id".to_string(), serde_json::json!(sg))]
            .into_iter()
            .collect();
        let spec = Spec::SecurityGroup(SecurityGroup {
            name: String::new(),
            description: String::new(),
            vpc_id: lit(""),
            ingress: vec![],
            egress: vec![],
            tags: vec![],
        });
        p2.delete(&addr("dep-sg"), &spec, &a, &cx())
            .await
            .expect("delete sg");
    });
    p.delete(&addr("dep-vpc"), &vpc_spec, &vpc_attrs, &cx())
        .await
        .expect("vpc deleted once subnets are gone");
    drain.await.expect("drain");
    assert_eq!(
        read(&p, &addr("dep-vpc"), &vpc_spec, &vpc_attrs).await,
        ReadResult::Gone
    );
}

#[tokio::test]
async fn log_group() {
    let p = provider().await;
    let spec = LogGroup {
        name: "/engine-test/app".into(),
        retention_days: 7,
        kms_key_id: None,
        tags: vec![tag("a", "1")],
    };
    // moto lacks AssociateKmsKey and DisassociateKmsKey: the key is not changed
    // here (AWS supports it in place).
    let updated = LogGroup {
        retention_days: 0,
        tags: vec![tag("a", "2"), tag("b", "3")],
        ..spec.clone()
    };
    // A group whose name extends this one's is not taken for it.
    let longer = LogGroup {
        name: "/engine-test/app-longer".into(),
        ..spec.clone()
    };
    let a = create(&p, "log-longer", Spec::LogGroup(longer.clone())).await;
    assert!(!s(&a, "arn").ends_with(":*"), "{a:?}");
    lifecycle(&p, "log", Spec::LogGroup(spec), Spec::LogGroup(updated)).await;
    // A taken name is refused.
    let err = p
        .create(&addr("log-taken"), &Spec::LogGroup(longer.clone()), &cx())
        .await
        .expect_err("taken");
    assert!(err.refused, "{err}");
    p.delete(
        &addr("log-longer"),
        &Spec::LogGroup(longer.clone()),
        &a,
        &cx(),
    )
    .await
    .expect("delete");
    // A retention AWS does not offer is refused before any call (moto takes any).
    let odd = LogGroup {
        retention_days: 2,
        ..longer
    };
    let err = p
        .create(&addr("log-odd"), &Spec::LogGroup(odd.clone()), &cx())
        .await
        .expect_err("2 days");
    assert!(err.refused && err.message.contains("not 2"), "{err}");
    assert_eq!(
        read(
            &p,
            &addr("log-odd"),
            &Spec::LogGroup(odd),
            &Attributes::new()
        )
        .await,
        ReadResult::Gone
    );
}

#[tokio::test]
async fn flow_log() {
    let p = provider().await;
    let net = network(&p, "flow").await;
    let group = LogGroup {
        name: "/engine-test/flow".into(),
        retention_days: 14,
        kms_key_id: None,
        tags: vec![],
    };
    create(&p, "flow-logs", Spec::LogGroup(group.clone())).await;
    let role = create(
        &p,
        "flow-role",
        Spec::IamRole(IamRole {
            name: "engine-test-flow-logs".into(),
            description: String::new(),
            assume_role_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
            managed_policy_arns: vec![],
            tags: vec![],
        }),
    )
    .await;
    let spec = FlowLog {
        vpc_id: lit(&net.vpc),
        traffic_type: FlowLogTraffic::Reject,
        log_group_name: lit(&group.name),
        deliver_logs_permission_arn: lit(&s(&role, "arn")),
        max_aggregation_interval_seconds: 60,
        tags: vec![tag("a", "1")],
    };
    let updated = FlowLog {
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "flow",
        Spec::FlowLog(spec.clone()),
        Spec::FlowLog(updated),
    )
    .await;

    // What CreateFlowLogs reports as unsuccessful (an unknown VPC) is a refusal.
    let bad = FlowLog {
        vpc_id: lit("vpc-00000000000000000"),
        ..spec
    };
    let quick = provider_with(ProviderOptions {
        timeouts: engine_aws::Timeouts {
            eventual_consistency: Duration::from_millis(300),
            ..Default::default()
        },
        ..fast_options()
    })
    .await;
    let err = quick
        .create(&addr("flow-bad"), &Spec::FlowLog(bad), &cx())
        .await
        .expect_err("unknown VPC");
    assert!(err.refused, "{err}");
}

#[tokio::test]
async fn iam_role_policy() {
    let p = provider().await;
    create(
        &p,
        "rp-role",
        Spec::IamRole(IamRole {
            name: "engine-test-rp".into(),
            description: String::new(),
            assume_role_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
            managed_policy_arns: vec![],
            tags: vec![],
        }),
    )
    .await;
    let statement = |actions: &[&str], resources: &[&str]| PolicyStatement {
        actions: actions.iter().map(|a| a.to_string()).collect(),
        resources: resources.iter().map(|r| lit(r)).collect(),
    };
    let spec = IamRolePolicy {
        role_name: lit("engine-test-rp"),
        name: "flow-logs".into(),
        statements: vec![statement(
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            &["arn:aws:logs:us-east-1:123456789012:log-group:/engine-test/flow:*"],
        )],
    };
    let updated = IamRolePolicy {
        statements: vec![
            statement(
                &["logs:CreateLogStream", "logs:PutLogEvents"],
                &["arn:aws:logs:us-east-1:123456789012:log-group:/engine-test/flow:*"],
            ),
            statement(&["logs:DescribeLogGroups"], &["*"]),
        ],
        ..spec.clone()
    };
    lifecycle(
        &p,
        "role-policy",
        Spec::IamRolePolicy(spec.clone()),
        Spec::IamRolePolicy(updated),
    )
    .await;
    // PutRolePolicy would overwrite a policy of the same name: refused instead.
    let a = create(&p, "role-policy2", Spec::IamRolePolicy(spec.clone())).await;
    let err = p
        .create(
            &addr("role-policy3"),
            &Spec::IamRolePolicy(spec.clone()),
            &cx(),
        )
        .await
        .expect_err("taken");
    assert!(err.refused, "{err}");
    p.delete(&addr("role-policy2"), &Spec::IamRolePolicy(spec), &a, &cx())
        .await
        .expect("delete");
}

/// The default security group is adopted, never created or deleted: its rules
/// become the declared ones (the VPC's default rules go), and a delete revokes
/// them and the tags and leaves the group.
#[tokio::test]
async fn default_security_group() {
    let p = provider().await;
    let net = network(&p, "dsg").await;
    let address = addr("dsg");
    let rule = |from: u16, cidr: &str| SecurityGroupRule {
        protocol: IpProtocol::Tcp,
        from_port: from,
        to_port: from,
        cidr_blocks: vec![lit(cidr)],
        description: "declared".into(),
    };
    // Empty: nothing allowed.
    let spec = DefaultSecurityGroup {
        vpc_id: lit(&net.vpc),
        ingress: vec![],
        egress: vec![],
        tags: vec![tag("Name", "default")],
    };
    let a = p
        .create(&address, &Spec::DefaultSecurityGroup(spec.clone()), &cx())
        .await
        .expect("adopt");
    check_attributes(&Spec::DefaultSecurityGroup(spec.clone()), &a);
    match read(&p, &address, &Spec::DefaultSecurityGroup(spec.clone()), &a).await {
        ReadResult::Found {
            spec: live, owner, ..
        } => {
            assert_eq!(live, Spec::DefaultSecurityGroup(spec.clone()));
            assert_eq!(me().judge(owner.as_ref(), &address, false), Ownership::Ours);
        }
        ReadResult::Gone => panic!("gone"),
    }
    let updated = DefaultSecurityGroup {
        ingress: vec![rule(443, "10.0.0.0/16")],
        egress: vec![rule(5432, "10.0.1.0/24")],
        tags: vec![tag("Name", "locked")],
        ..spec.clone()
    };
    let a = p
        .update(
            &address,
            &Spec::DefaultSecurityGroup(spec.clone()),
            &Spec::DefaultSecurityGroup(updated.clone()),
            &a,
            &cx(),
        )
        .await
        .expect("update");
    match read(
        &p,
        &address,
        &Spec::DefaultSecurityGroup(updated.clone()),
        &a,
    )
    .await
    {
        ReadResult::Found { spec: live, .. } => {
            assert_eq!(live, Spec::DefaultSecurityGroup(updated.clone()))
        }
        ReadResult::Gone => panic!("gone"),
    }
    let found = p
        .find_existing(
            &address,
            &Spec::DefaultSecurityGroup(updated.clone()),
            &me(),
        )
        .await
        .expect("find")
        .expect("found by its tags");
    assert_eq!(found.attributes.get("id"), a.get("id"));
    // Another address cannot adopt it while this one holds it.
    let err = p
        .create(
            &addr("dsg-2"),
            &Spec::DefaultSecurityGroup(spec.clone()),
            &cx(),
        )
        .await
        .expect_err("held");
    assert!(err.refused, "{err}");

    p.delete(
        &address,
        &Spec::DefaultSecurityGroup(updated.clone()),
        &a,
        &cx(),
    )
    .await
    .expect("delete");
    // The group stays, with no rules and no tags.
    match read(&p, &address, &Spec::DefaultSecurityGroup(spec.clone()), &a).await {
        ReadResult::Found {
            spec: live, owner, ..
        } => {
            assert_eq!(
                live,
                Spec::DefaultSecurityGroup(DefaultSecurityGroup {
                    tags: vec![],
                    ..spec.clone()
                })
            );
            assert_eq!(owner, None);
        }
        ReadResult::Gone => panic!("the default group goes only with its VPC"),
    }
    assert_eq!(
        p.find_existing(&address, &Spec::DefaultSecurityGroup(spec.clone()), &me())
            .await
            .expect("find"),
        None
    );
    p.delete(&address, &Spec::DefaultSecurityGroup(updated), &a, &cx())
        .await
        .expect("delete again");

    // Another group of the VPC is no default group.
    let other: Attributes = [("id".to_string(), serde_json::json!(net.security_group))]
        .into_iter()
        .collect();
    assert_eq!(
        read(
            &p,
            &address,
            &Spec::DefaultSecurityGroup(spec.clone()),
            &other
        )
        .await,
        ReadResult::Gone
    );

    // One gone with its VPC is deleted at once.
    let start = std::time::Instant::now();
    let none: Attributes = [("id".to_string(), serde_json::json!("sg-00000000000000000"))]
        .into_iter()
        .collect();
    p.delete(
        &addr("dsg-gone"),
        &Spec::DefaultSecurityGroup(spec.clone()),
        &none,
        &cx(),
    )
    .await
    .expect("gone is done");
    assert!(start.elapsed() < Duration::from_secs(5));

    // The default group of a VPC this stack does not own is refused.
    let theirs = p
        .create(
            &addr("dsg-theirs-vpc"),
            &Spec::Vpc(Vpc {
                cidr_block: "10.7.0.0/16".into(),
                enable_dns_support: true,
                enable_dns_hostnames: false,
                tags: vec![],
            }),
            &engine_aws::OpContext::new(twin()),
        )
        .await
        .expect("twin's VPC");
    let err = p
        .create(
            &addr("dsg-theirs"),
            &Spec::DefaultSecurityGroup(DefaultSecurityGroup {
                vpc_id: lit(&s(&theirs, "id")),
                ..spec
            }),
            &cx(),
        )
        .await
        .expect_err("not our VPC");
    assert!(
        err.refused && err.message.contains("another stack"),
        "{err}"
    );
}
