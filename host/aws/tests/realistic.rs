//! The provider against AWS's documented behaviour, not the emulator's leniency:
//! moto under the launcher's realistic profile (`tests/moto/launcher.py
//! --realistic`, behaviours R1-R10 with the AWS page each follows), with its phase
//! durations at half scale. Each test exercises one behaviour that the provider
//! must handle and that the fast profile forgives:
//!
//! - EC2 ids used the moment they exist (`*.NotFound` for a new id, R9);
//! - Kinesis changes only while the stream is ACTIVE (R5);
//! - RDS: retired versions (R2), the IAM propagation window (R3), calls refused
//!   while the instance is busy (R1);
//! - ElastiCache: tags and changes refused while the group is busy (R4);
//! - Secrets Manager: the recovery window and the lagging list (R7);
//! - KMS: the lagging alias list, keys pending deletion (R8);
//! - VPC endpoints: pending after create, deleting after delete (R6);
//! - throttling (R10).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::sync::OnceLock;
use std::time::Duration;

use engine_aws::moto::{MotoServer, Profile};
use engine_aws::{Aws, Ownership, Provider, ProviderOptions, ReadResult, Timeouts};
use engine_core::Spec;
use engine_core::model::*;

mod common;
use common::*;

fn server() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        MotoServer::start_with(&Profile::realistic(0.5))
            .unwrap_or_else(|e| panic!("the realistic emulator starts: {e}"))
    })
}

/// Polls quickly (phases last seconds here, not minutes); the limits are AWS's
/// defaults but for the waits a broken provider would sit in.
fn options() -> ProviderOptions {
    ProviderOptions {
        poll_initial: Duration::from_millis(100),
        poll_max: Duration::from_millis(400),
        timeouts: Timeouts {
            db_instance: Duration::from_secs(60),
            cache_replication_group: Duration::from_secs(60),
            kinesis_stream: Duration::from_secs(60),
            dependency: Duration::from_secs(60),
            eventual_consistency: Duration::from_secs(30),
        },
        ..ProviderOptions::default()
    }
}

/// One attempt per call: what is retried here is retried by the provider, not by
/// the SDK.
async fn provider() -> Aws {
    let mut sdk = server().sdk_options();
    sdk.max_attempts = Some(1);
    Aws::new(&engine_aws::load_sdk_config(&sdk).await, options())
}

async fn sdk() -> aws_config::SdkConfig {
    server().sdk_config().await
}

async fn found(p: &Aws, name: &str, spec: &Spec, a: &engine_aws::Attributes) -> Spec {
    match read(p, &addr(name), spec, a).await {
        ReadResult::Found { spec, .. } => spec,
        ReadResult::Gone => panic!("{name}: read says gone"),
    }
}

#[tokio::test]
async fn ec2_ids_are_used_the_moment_they_exist() {
    // EC2 answers `*.NotFound` for an id used right after its create
    // (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html):
    // every create below calls EC2 again with the new id at once.
    let p = provider().await;
    let vpc = Spec::Vpc(Vpc {
        cidr_block: "10.1.0.0/16".into(),
        enable_dns_support: true,
        enable_dns_hostnames: true, // ModifyVpcAttribute on the new VPC
        tags: vec![tag("a", "1")],
    });
    let vpc_a = create(&p, "ec2-vpc", vpc.clone()).await;
    assert_eq!(found(&p, "ec2-vpc", &vpc, &vpc_a).await, vpc);
    let vpc_id = s(&vpc_a, "id");

    let sg = Spec::SecurityGroup(SecurityGroup {
        name: "ec2-fresh-sg".into(),
        description: "fresh".into(),
        vpc_id: lit(&vpc_id),
        // Authorize/Revoke on the new group
        ingress: vec![SecurityGroupRule {
            protocol: IpProtocol::Tcp,
            from_port: 443,
            to_port: 443,
            cidr_blocks: vec![lit("10.1.0.0/16")],
            description: "https".into(),
        }],
        egress: vec![],
        tags: vec![],
    });
    let sg_a = create(&p, "ec2-sg", sg.clone()).await;
    assert_eq!(found(&p, "ec2-sg", &sg, &sg_a).await, sg);

    // AttachInternetGateway with the new gateway.
    let igw = Spec::InternetGateway(InternetGateway {
        vpc_id: lit(&vpc_id),
        tags: vec![],
    });
    let igw_a = create(&p, "ec2-igw", igw.clone()).await;
    let table = create(
        &p,
        "ec2-rt",
        Spec::RouteTable(RouteTable {
            vpc_id: lit(&vpc_id),
            tags: vec![],
        }),
    )
    .await;
    // CreateRoute in the new table, AssociateRouteTable with the new subnet.
    create(
        &p,
        "ec2-route",
        Spec::Route(Route {
            route_table_id: lit(&s(&table, "id")),
            destination_cidr_block: "0.0.0.0/0".into(),
            gateway_id: lit(&s(&igw_a, "id")),
        }),
    )
    .await;
    let subnet = create(
        &p,
        "ec2-subnet",
        Spec::Subnet(Subnet {
            vpc_id: lit(&vpc_id),
            cidr_block: "10.1.1.0/24".into(),
            availability_zone: "us-east-1a".into(),
            map_public_ip_on_launch: true, // ModifySubnetAttribute on the new subnet
            tags: vec![],
        }),
    )
    .await;
    create(
        &p,
        "ec2-assoc",
        Spec::RouteTableAssociation(RouteTableAssociation {
            route_table_id: lit(&s(&table, "id")),
            subnet_id: lit(&s(&subnet, "id")),
        }),
    )
    .await;
}

#[tokio::test]
async fn kinesis_changes_wait_until_the_stream_is_active() {
    // Kinesis refuses changes (ResourceInUseException) unless the stream is ACTIVE,
    // and a retention change leaves it UPDATING: the create below makes three
    // changes in a row, the update two more, then a create follows the delete.
    let p = provider().await;
    let spec = KinesisStream {
        name: "realistic-stream".into(),
        shard_count: 1,
        retention_period_hours: 48,
        kms_key_id: Some(lit("alias/aws/kinesis")),
        shard_level_metrics: vec!["IncomingBytes".into()],
        tags: vec![tag("a", "1")],
    };
    let a = create(&p, "stream", Spec::KinesisStream(spec.clone())).await;
    assert_eq!(
        found(&p, "stream", &Spec::KinesisStream(spec.clone()), &a).await,
        Spec::KinesisStream(spec.clone())
    );
    let updated = KinesisStream {
        retention_period_hours: 72,
        tags: vec![tag("a", "2")],
        ..spec.clone()
    };
    let cx = cx();
    p.update(
        &addr("stream"),
        &Spec::KinesisStream(spec.clone()),
        &Spec::KinesisStream(updated.clone()),
        &a,
        &cx,
    )
    .await
    .unwrap_or_else(|e| panic!("update: {e}"));
    assert_eq!(
        found(&p, "stream", &Spec::KinesisStream(updated.clone()), &a).await,
        Spec::KinesisStream(updated.clone())
    );
    p.delete(
        &addr("stream"),
        &Spec::KinesisStream(updated.clone()),
        &a,
        &cx,
    )
    .await
    .unwrap_or_else(|e| panic!("delete: {e}"));
    // The delete waited until the name is free again.
    create(&p, "stream", Spec::KinesisStream(spec.clone())).await;
    p.delete(&addr("stream"), &Spec::KinesisStream(spec), &a, &cx)
        .await
        .unwrap_or_else(|e| panic!("delete again: {e}"));
}

/// A DB subnet group and a master secret, for the DB instance tests.
async fn db_prerequisites(p: &Aws, prefix: &str) -> (Net, String, String) {
    let net = network(p, prefix).await;
    let group = format!("{prefix}-db-subnets");
    create(
        p,
        &format!("{prefix}-subnet-group"),
        Spec::DbSubnetGroup(DbSubnetGroup {
            name: group.clone(),
            description: "db".into(),
            subnet_ids: vec![lit(&net.subnets[0]), lit(&net.subnets[1])],
            tags: vec![],
        }),
    )
    .await;
    let secret = create(
        p,
        &format!("{prefix}-secret"),
        Spec::Secret(secret_spec(&format!("{prefix}-master"))),
    )
    .await;
    (net, group, s(&secret, "arn"))
}

#[tokio::test]
async fn rds_refuses_retired_versions_and_says_which_exist() {
    // AWS retires minor versions; CreateDBInstance refuses them.
    // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.PostgreSQL.MinorUpgrade.html
    let p = provider().await;
    let (net, group, secret) = db_prerequisites(&p, "rdsver").await;
    let spec = db_spec("rdsver-db", &secret, &group, &net.security_group); // 15.4
    let err = p
        .create(&addr("db"), &Spec::DbInstance(spec.clone()), &cx())
        .await
        .expect_err("15.4 is retired");
    assert!(err.refused, "nothing was created: {err}");
    assert_eq!(err.code.as_deref(), Some("InvalidParameterCombination"));
    assert!(
        err.message.contains("15.12") && err.message.contains("`15`"),
        "the error names the versions that exist: {err}"
    );

    // The major version takes the newest minor, which is no drift.
    let major = DbInstance {
        engine_version: "15".into(),
        ..spec
    };
    let a = create(&p, "db", Spec::DbInstance(major.clone())).await;
    assert_eq!(
        found(&p, "db", &Spec::DbInstance(major.clone()), &a).await,
        Spec::DbInstance(major.clone())
    );
    p.delete(&addr("db"), &Spec::DbInstance(major), &a, &cx())
        .await
        .unwrap();
}

#[tokio::test]
async fn rds_waits_for_a_new_monitoring_role_to_propagate() {
    // RDS refuses a monitoring role created moments earlier ("IAM role ARN value is
    // invalid or does not include the required permissions for:
    // ENHANCED_MONITORING") until IAM propagates; the provider retries.
    let p = provider().await;
    let (net, group, secret) = db_prerequisites(&p, "rdsiam").await;
    let role = create(
        &p,
        "role",
        Spec::IamRole(IamRole {
            name: "rdsiam-monitoring".into(),
            description: "monitoring".into(),
            assume_role_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"monitoring.rds.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
            managed_policy_arns: vec![],
            tags: vec![],
        }),
    )
    .await;
    let spec = DbInstance {
        engine_version: "15".into(),
        monitoring_interval_seconds: 60,
        monitoring_role_arn: Some(lit(&s(&role, "arn"))),
        ..db_spec("rdsiam-db", &secret, &group, &net.security_group)
    };
    let progress = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = progress.clone();
    let cx = cx().with_progress(move |p| sink.lock().unwrap().push(p.message.clone()));
    let a = p
        .create(&addr("db"), &Spec::DbInstance(spec.clone()), &cx)
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    let seen = progress.lock().unwrap().join("\n");
    assert!(
        seen.contains("CreateDBInstance refused (InvalidParameterValue), retrying"),
        "the retries show as progress: {seen}"
    );
    assert!(seen.contains("status creating"), "{seen}");
    p.delete(&addr("db"), &Spec::DbInstance(spec), &a, &cx)
        .await
        .unwrap();
}

#[tokio::test]
async fn rds_changes_and_deletes_wait_while_the_instance_is_busy() {
    // ModifyDBInstance and DeleteDBInstance are refused (InvalidDBInstanceState)
    // unless the instance is available.
    let p = provider().await;
    let (net, group, secret) = db_prerequisites(&p, "rdsbusy").await;
    let spec = DbInstance {
        engine_version: "15".into(),
        ..db_spec("rdsbusy-db", &secret, &group, &net.security_group)
    };
    let rds = aws_sdk_rds::Client::new(&sdk().await);
    // Created behind the provider's back, so that it is still `creating`.
    rds.create_db_instance()
        .db_instance_identifier(&spec.identifier)
        .engine("postgres")
        .engine_version("15")
        .db_instance_class(&spec.instance_class)
        .allocated_storage(20)
        .master_username("dbadmin")
        .master_user_password("not-a-real-password-1")
        .db_subnet_group_name(&group)
        .send()
        .await
        .unwrap();
    let a: engine_aws::Attributes = [
        ("id".to_string(), serde_json::json!(spec.identifier)),
        (
            "arn".to_string(),
            serde_json::json!(format!(
                "arn:aws:rds:us-east-1:123456789012:db:{}",
                spec.identifier
            )),
        ),
    ]
    .into_iter()
    .collect();
    let bigger = DbInstance {
        instance_class: "db.t3.small".into(),
        ..spec.clone()
    };
    p.update(
        &addr("db"),
        &Spec::DbInstance(spec.clone()),
        &Spec::DbInstance(bigger.clone()),
        &a,
        &cx(),
    )
    .await
    .unwrap_or_else(|e| panic!("update while creating: {e}"));
    let live = rds
        .describe_db_instances()
        .db_instance_identifier(&spec.identifier)
        .send()
        .await
        .unwrap();
    let live = &live.db_instances()[0];
    assert_eq!(
        live.db_instance_class(),
        Some("db.t3.small"),
        "the change shows"
    );
    assert_eq!(live.db_instance_status(), Some("available"), "and settled");

    // Busy again, then deleted.
    rds.modify_db_instance()
        .db_instance_identifier(&spec.identifier)
        .backup_retention_period(3)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    p.delete(&addr("db"), &Spec::DbInstance(bigger), &a, &cx())
        .await
        .unwrap_or_else(|e| panic!("delete while modifying: {e}"));
    let gone = rds
        .describe_db_instances()
        .db_instance_identifier(&spec.identifier)
        .send()
        .await;
    assert!(gone.is_err(), "deleted and waited for: {gone:?}");
}

#[tokio::test]
async fn elasticache_reads_and_deletes_while_the_group_is_busy() {
    // Tags cannot be listed while a group is modifying (InvalidReplicationGroupState):
    // a read keeps the recorded tags; a delete waits until it can.
    let p = provider().await;
    let net = network(&p, "ecbusy").await;
    create(
        &p,
        "ecbusy-subnets",
        Spec::CacheSubnetGroup(CacheSubnetGroup {
            name: "ecbusy-subnets".into(),
            description: "cache".into(),
            subnet_ids: vec![lit(&net.subnets[0])],
            tags: vec![],
        }),
    )
    .await;
    let spec = CacheReplicationGroup {
        id: "ecbusy-redis".into(),
        description: "redis".into(),
        engine_version: "7.0".into(),
        node_type: "cache.t3.micro".into(),
        num_cache_clusters: 2,
        port: 6379,
        subnet_group_name: lit("ecbusy-subnets"),
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
    let spec_ = Spec::CacheReplicationGroup(spec.clone());
    let a = create(&p, "redis", spec_.clone()).await;
    let ec = aws_sdk_elasticache::Client::new(&sdk().await);
    ec.modify_replication_group()
        .replication_group_id(&spec.id)
        .replication_group_description("changed behind the engine's back")
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    match read(&p, &addr("redis"), &spec_, &a).await {
        ReadResult::Found { spec: live, .. } => {
            let Spec::CacheReplicationGroup(live) = live else {
                panic!("kind")
            };
            assert_eq!(live.tags, spec.tags, "the recorded tags stand");
            assert_eq!(live.description, "changed behind the engine's back");
        }
        ReadResult::Gone => panic!("gone"),
    }
    p.delete(&addr("redis"), &spec_, &a, &cx())
        .await
        .unwrap_or_else(|e| panic!("delete while modifying: {e}"));
    assert_eq!(read(&p, &addr("redis"), &spec_, &a).await, ReadResult::Gone);
}

#[tokio::test]
async fn secrets_survive_their_recovery_window_and_a_lagging_list() {
    let p = provider().await;
    let spec = Secret {
        recovery_window_days: 7,
        tags: vec![tag("a", "1")],
        ..secret_spec("realistic-secret")
    };
    let spec_ = Spec::Secret(spec.clone());
    let a = create(&p, "secret", spec_.clone()).await;
    // ListSecrets lags behind a new secret; a read must not call it gone.
    assert_eq!(found(&p, "secret", &spec_, &a).await, spec_);

    // Destroyed: scheduled for deletion. Deleting again is done, not an error.
    p.delete(&addr("secret"), &spec_, &a, &cx()).await.unwrap();
    assert_eq!(
        read(&p, &addr("secret"), &spec_, &a).await,
        ReadResult::Gone
    );
    p.delete(&addr("secret"), &spec_, &a, &cx())
        .await
        .unwrap_or_else(|e| panic!("a secret scheduled for deletion is deleted: {e}"));

    // Another stack cannot take the name; the error says why.
    let twin_cx = engine_aws::OpContext::new(twin());
    let err = p
        .create(&addr("secret"), &spec_, &twin_cx)
        .await
        .expect_err("another stack's scheduled secret");
    assert!(err.message.contains("scheduled for deletion"), "{err}");

    // Applied again by its own stack: restored, with a new value.
    let sm = aws_sdk_secretsmanager::Client::new(&sdk().await);
    let before = sm
        .get_secret_value()
        .secret_id("realistic-secret")
        .send()
        .await;
    assert!(before.is_err(), "a scheduled secret has no readable value");
    let a2 = create(&p, "secret", spec_.clone()).await;
    assert_eq!(s(&a2, "arn"), s(&a, "arn"), "the same secret, restored");
    match read(&p, &addr("secret"), &spec_, &a2).await {
        ReadResult::Found { owner, .. } => assert_eq!(
            me().judge(owner.as_ref(), &addr("secret"), false),
            Ownership::Ours
        ),
        ReadResult::Gone => panic!("restored secret reads as gone"),
    }

    // A replacement frees the name at once: the new copy is a new secret.
    let replacing = cx().replacing(true);
    p.delete(&addr("secret"), &spec_, &a2, &replacing)
        .await
        .unwrap();
    let a3 = create(&p, "secret", spec_.clone()).await;
    assert_ne!(
        s(&a3, "arn"),
        s(&a2, "arn"),
        "force-deleted, then created anew"
    );
    let replacing = cx().replacing(true);
    p.delete(&addr("secret"), &spec_, &a3, &replacing)
        .await
        .unwrap();
}

#[tokio::test]
async fn kms_aliases_read_back_at_once_and_adoption_skips_keys_pending_deletion() {
    let p = provider().await;
    let key_spec = Spec::KmsKey(KmsKey {
        description: "realistic".into(),
        enable_key_rotation: true,
        deletion_window_days: 7,
        service_principals: vec![],
        tags: vec![],
    });
    let first = create(&p, "key", key_spec.clone()).await;
    // ListAliases lags behind a new alias: the create must not depend on it.
    let alias = Spec::KmsAlias(KmsAlias {
        name: "alias/realistic".into(),
        target_key_id: lit(&s(&first, "id")),
    });
    let alias_a = create(&p, "alias", alias.clone()).await;
    assert!(
        s(&alias_a, "arn").ends_with(":alias/realistic"),
        "{alias_a:?}"
    );
    assert_eq!(found(&p, "alias", &alias, &alias_a).await, alias);
    p.delete(&addr("alias"), &alias, &alias_a, &cx())
        .await
        .unwrap();

    // Destroyed (pending deletion, still tagged as this stack's), then created
    // again by an interrupted apply: adoption finds the live key, not the old one.
    p.delete(&addr("key"), &key_spec, &first, &cx())
        .await
        .unwrap();
    let second = create(&p, "key", key_spec.clone()).await;
    let adopted = p
        .find_existing(&addr("key"), &key_spec, &me())
        .await
        .unwrap()
        .expect("the live key is found");
    assert_eq!(adopted.attributes.get("id"), second.get("id"));
    p.delete(&addr("key"), &key_spec, &second, &cx())
        .await
        .unwrap();
}

#[tokio::test]
async fn vpc_endpoints_are_available_when_created_and_gone_when_deleted() {
    let p = provider().await;
    let net = network(&p, "vpce").await;
    let spec = Spec::VpcEndpoint(VpcEndpoint {
        vpc_id: lit(&net.vpc),
        service_name: "com.amazonaws.us-east-1.kinesis-streams".into(),
        endpoint_type: VpcEndpointType::Interface,
        subnet_ids: vec![lit(&net.subnets[0]), lit(&net.subnets[1])],
        security_group_ids: vec![lit(&net.security_group)],
        route_table_ids: vec![],
        private_dns_enabled: true,
        tags: vec![],
    });
    let a = create(&p, "endpoint", spec.clone()).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    let state =
        |out: aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput| {
            out.vpc_endpoints()
                .first()
                .and_then(|e| e.state().map(|s| s.as_str().to_ascii_lowercase()))
        };
    let now = ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(s(&a, "id"))
        .send()
        .await
        .unwrap();
    assert_eq!(state(now).as_deref(), Some("available"));
    p.delete(&addr("endpoint"), &spec, &a, &cx()).await.unwrap();
    // Its network interfaces are gone: the subnets and the group can go at once.
    let now = ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(s(&a, "id"))
        .send()
        .await
        .map(state)
        .unwrap_or(None);
    assert!(
        matches!(now.as_deref(), None | Some("deleted")),
        "still {now:?}"
    );
    ec2.delete_subnet()
        .subnet_id(&net.subnets[0])
        .send()
        .await
        .expect("the endpoint's subnet is free");
}

#[tokio::test]
async fn throttled_calls_are_retried_with_backoff() {
    // The SDK's default of 3 attempts lets a large stack die of throttling; the
    // engine's default is standard mode (backoff with jitter) with 10.
    let sdk = engine_aws::load_sdk_config(&engine_aws::SdkOptions {
        region: Some("us-east-1".into()),
        ..Default::default()
    })
    .await;
    let retry = sdk.retry_config().expect("a retry config");
    assert_eq!(retry.mode(), aws_config::retry::RetryMode::Standard);
    assert_eq!(
        retry.max_attempts(),
        engine_aws::config::DEFAULT_MAX_ATTEMPTS
    );
    assert!(retry.max_attempts() >= 10);

    // A fifth of all calls
    // answered with the service's own throttling error
    // (EC2 RequestLimitExceeded, Secrets Manager ThrottlingException, ...).
    let throttled = MotoServer::start_with(&Profile::Realistic {
        scale: 0.2,
        throttle_rate: 0.2,
        seed: 7,
    })
    .unwrap();
    let mut sdk_options = throttled.sdk_options();
    sdk_options.max_attempts = None; // the engine's default
    sdk_options.initial_backoff = Some(Duration::from_millis(20));
    let sdk = engine_aws::load_sdk_config(&sdk_options).await;
    let p = Aws::new(&sdk, options());
    let secret = Spec::Secret(secret_spec("throttle-secret"));
    let a = create(&p, "throttle-secret", secret.clone()).await;
    found(&p, "throttle-secret", &secret, &a).await;
    p.delete(&addr("throttle-secret"), &secret, &a, &cx())
        .await
        .unwrap();
    let stats: serde_json::Value =
        serde_json::from_str(&throttled.get("/engine-realistic/stats").unwrap()).unwrap();
    let injected = stats["total_throttled"].as_u64().unwrap();
    assert!(injected >= 1, "the emulator throttled: {stats}");
}
