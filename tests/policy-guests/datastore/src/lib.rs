//! A small stack with every kind of data store the baseline checks (plugin `shop`):
//! a VPC with a public and two private subnets, a Kinesis stream and an SNS topic
//! encrypted with a KMS key, a secret, a Redis replication group and a PostgreSQL
//! instance on the private subnets behind VPC-only security groups; hardened as the
//! baseline's hardening rules ask: VPC flow logs to an encrypted log group kept a
//! year, the default security group closed, a Redis AUTH token and customer-managed
//! keys, and a database with IAM authentication, log exports, tags copied to
//! snapshots, deletion protection and an RDS-managed (rotated) master password.
//!
//! With config `mode = ok` (the default) it passes the baseline with no violation;
//! every other mode breaks exactly one rule, on one resource:
//!
//! | `mode` | Breaks | On |
//! |---|---|---|
//! | `plaintext-stream` | `encryption-at-rest` (no `kms-key-id`) | `shop/stream` |
//! | `redis-without-tls` | `redis-transit-encryption` | `shop/redis` |
//! | `public-db` | `private-data-stores` (`publicly-accessible`) | `shop/db` |
//! | `public-subnet` | `private-data-stores` (a public subnet in the group) | `shop/cache-subnets` |
//! | `open-ingress` | `ingress-restricted` (5432 from `0.0.0.0/0`) | `shop/db-sg` |
//! | `short-backups` | `backup-retention` (1 day) | `shop/db` |
//! | `single-az` | `multi-az` (Redis `multi-az` false) | `shop/redis` |
//! | `big-db` | `allowed-instance-classes` (`db.m5.large`) | `shop/db` |
//! | `nat-route` | `no-nat-gateway` (a default route to `nat-...`) | `shop/private-nat-route` |
//! | `redis-without-auth` | `redis-auth` (no `auth-token`) | `shop/redis` |
//! | `redis-aws-key` | `customer-managed-key` (no `kms-key-id`) | `shop/redis` |
//! | `db-aws-key` | `customer-managed-key` (no `kms-key-id`) | `shop/db` |
//! | `db-without-iam-auth` | `rds-iam-authentication` | `shop/db` |
//! | `db-without-logs` | `rds-log-exports` (no `upgrade` log) | `shop/db` |
//! | `db-without-tag-copy` | `rds-copy-tags-to-snapshot` | `shop/db` |
//! | `db-unprotected` | `rds-deletion-protection` (outside `dev`) | `shop/db` |
//! | `db-stack-secret` | `secret-rotation` (the password from `shop/secret`) | `shop/db` |
//! | `no-flow-logs` | `vpc-flow-logs` | `shop/net` |
//! | `open-default-sg` | `default-security-group-closed` (an ingress rule) | `shop/default-sg` |
//! | `short-log-retention` | `log-retention` (30 days) | `shop/flow-logs` |

use engine_sdk::*;

struct Shop;

/// Which rule to break. Text, not a choice of `MODES`, so that the plugin itself
/// answers an unknown mode (the tests check that answer).
const MODE: TextKey = TextKey::new(
    "mode",
    "ok",
    "Which baseline rule the stack breaks (`ok`: none).",
);

const MODES: &[&str] = &[
    "ok",
    "plaintext-stream",
    "redis-without-tls",
    "public-db",
    "public-subnet",
    "open-ingress",
    "short-backups",
    "single-az",
    "big-db",
    "nat-route",
    "redis-without-auth",
    "redis-aws-key",
    "db-aws-key",
    "db-without-iam-auth",
    "db-without-logs",
    "db-without-tag-copy",
    "db-unprotected",
    "db-stack-secret",
    "no-flow-logs",
    "open-default-sg",
    "short-log-retention",
];

impl ComponentPlugin for Shop {
    fn info() -> PluginInfo {
        info!(
            "shop",
            "Test stack: data stores that break one baseline rule per `mode`.",
            [MODE]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let mode = MODE.get(ctx)?;
        if !MODES.contains(&mode.as_str()) {
            return Err(format!("config `mode` = `{mode}`: one of {MODES:?}"));
        }
        let is = |m: &str| mode == m;
        let mut stack = Stack::new();

        let vpc = stack.add(
            "net",
            Vpc {
                cidr_block: "10.20.0.0/16".into(),
                enable_dns_support: true,
                enable_dns_hostnames: true,
                tags: vec![],
            },
        );
        let igw = stack.add(
            "igw",
            InternetGateway {
                vpc_id: vpc.attr("id"),
                tags: vec![],
            },
        );
        let subnet = |stack: &mut Stack, name: &str, cidr: &str, az: &str, public: bool| {
            stack.add(
                name,
                Subnet {
                    vpc_id: vpc.attr("id"),
                    cidr_block: cidr.into(),
                    availability_zone: format!("{}{az}", ctx.region),
                    map_public_ip_on_launch: public,
                    tags: vec![],
                },
            )
        };
        let public_a = subnet(&mut stack, "public-a", "10.20.1.0/24", "a", true);
        let private_a = subnet(&mut stack, "private-a", "10.20.11.0/24", "a", false);
        let private_b = subnet(&mut stack, "private-b", "10.20.12.0/24", "b", false);
        let public_rt = stack.add(
            "public-rt",
            RouteTable {
                vpc_id: vpc.attr("id"),
                tags: vec![],
            },
        );
        stack.add(
            "public-route",
            Route {
                route_table_id: public_rt.attr("id"),
                destination_cidr_block: "0.0.0.0/0".into(),
                gateway_id: igw.attr("id"),
            },
        );
        let private_rt = stack.add(
            "private-rt",
            RouteTable {
                vpc_id: vpc.attr("id"),
                tags: vec![],
            },
        );
        for (name, s, rt) in [
            ("public-a-rta", &public_a, &public_rt),
            ("private-a-rta", &private_a, &private_rt),
            ("private-b-rta", &private_b, &private_rt),
        ] {
            stack.add(
                name,
                RouteTableAssociation {
                    route_table_id: rt.attr("id"),
                    subnet_id: s.attr("id"),
                },
            );
        }
        if is("nat-route") {
            stack.add(
                "private-nat-route",
                Route {
                    route_table_id: private_rt.attr("id"),
                    destination_cidr_block: "0.0.0.0/0".into(),
                    gateway_id: "nat-0a1b2c3d4e5f60718".into(),
                },
            );
        }

        let key = stack.add(
            "key",
            KmsKey {
                description: "shop data".into(),
                enable_key_rotation: true,
                deletion_window_days: 7,
                service_principals: vec![format!("logs.{}.amazonaws.com", ctx.region)],
                tags: vec![],
            },
        );
        stack.add(
            "default-sg",
            DefaultSecurityGroup {
                vpc_id: vpc.attr("id"),
                ingress: if is("open-default-sg") {
                    vec![SecurityGroupRule::tcp(
                        22,
                        vec![vpc.attr("cidr-block")],
                        "SSH",
                    )]
                } else {
                    vec![]
                },
                egress: vec![],
                tags: vec![],
            },
        );
        if !is("no-flow-logs") {
            let logs = stack.add(
                "flow-logs",
                LogGroup {
                    name: ctx.named("/shop/flow-logs"),
                    retention_days: if is("short-log-retention") { 30 } else { 365 },
                    kms_key_id: Some(key.attr("arn")),
                    tags: vec![],
                },
            );
            let role = stack.add(
                "flow-logs-role",
                IamRole {
                    name: ctx.named("shop-flow-logs"),
                    description: "flow logs".into(),
                    assume_role_policy: service_trust_policy("vpc-flow-logs.amazonaws.com"),
                    managed_policy_arns: vec![],
                    tags: vec![],
                },
            );
            stack.add(
                "flow-logs-write",
                IamRolePolicy {
                    role_name: role.attr("name"),
                    name: "write".into(),
                    statements: vec![PolicyStatement {
                        actions: vec!["logs:PutLogEvents".into()],
                        resources: vec![logs.attr("arn")],
                    }],
                },
            );
            stack.add(
                "flow-log",
                FlowLog {
                    vpc_id: vpc.attr("id"),
                    traffic_type: FlowLogTraffic::All,
                    log_group_name: logs.attr("name"),
                    deliver_logs_permission_arn: role.attr("arn"),
                    max_aggregation_interval_seconds: 600,
                    tags: vec![],
                },
            );
        }
        stack.add(
            "stream",
            KinesisStream {
                name: ctx.named("shop-orders"),
                shard_count: 1,
                retention_period_hours: 24,
                kms_key_id: (!is("plaintext-stream")).then(|| key.attr("arn")),
                shard_level_metrics: vec![],
                tags: vec![],
            },
        );
        stack.add(
            "topic",
            SnsTopic {
                name: ctx.named("shop-alarms"),
                kms_key_id: Some(key.attr("arn")),
                tags: vec![],
            },
        );
        let secret = stack.add(
            "secret",
            Secret {
                name: ctx.named("shop-db"),
                description: "shop database credentials".into(),
                kms_key_id: None,
                username: "shop_admin".into(),
                password: PasswordPolicy {
                    length: 32,
                    exclude_characters: "/@\" ".into(),
                },
                recovery_window_days: 0,
                tags: vec![],
            },
        );
        let token = stack.add(
            "redis-token",
            Secret {
                name: ctx.named("shop-redis-token"),
                description: "shop cache AUTH token".into(),
                kms_key_id: Some(key.attr("arn")),
                username: "default".into(),
                password: PasswordPolicy {
                    length: 64,
                    exclude_characters: " \"%'()*+,./:;=?@[\\]_`{|}~".into(),
                },
                recovery_window_days: 0,
                tags: vec![],
            },
        );

        let from_vpc = |port: u16, what: &str| {
            SecurityGroupRule::tcp(port, vec![vpc.attr("cidr-block")], what)
        };
        let cache_sg = stack.add(
            "cache-sg",
            SecurityGroup {
                name: ctx.named("shop-redis"),
                description: "Redis from the VPC".into(),
                vpc_id: vpc.attr("id"),
                ingress: vec![from_vpc(6379, "Redis from the VPC")],
                egress: vec![],
                tags: vec![],
            },
        );
        let cache_subnets = stack.add(
            "cache-subnets",
            CacheSubnetGroup {
                name: ctx.named("shop-redis"),
                description: "private subnets".into(),
                subnet_ids: if is("public-subnet") {
                    vec![public_a.attr("id"), private_b.attr("id")]
                } else {
                    vec![private_a.attr("id"), private_b.attr("id")]
                },
                tags: vec![],
            },
        );
        stack.add(
            "redis",
            CacheReplicationGroup {
                id: ctx.named("shop-redis"),
                description: "shop cache".into(),
                engine_version: "7.1".into(),
                node_type: "cache.t3.micro".into(),
                num_cache_clusters: 2,
                port: 6379,
                subnet_group_name: cache_subnets.attr("name"),
                security_group_ids: vec![cache_sg.attr("id")],
                automatic_failover: true,
                multi_az: !is("single-az"),
                at_rest_encryption: true,
                transit_encryption: !is("redis-without-tls"),
                kms_key_id: (!is("redis-aws-key")).then(|| key.attr("arn")),
                // ElastiCache takes a token only with TLS.
                auth_token: (!is("redis-without-auth") && !is("redis-without-tls")).then(|| {
                    SecretValueRef {
                        secret_id: token.attr("arn"),
                        key: "password".into(),
                    }
                }),
                snapshot_retention_days: 1,
                tags: vec![],
            },
        );

        let db_sg = stack.add(
            "db-sg",
            SecurityGroup {
                name: ctx.named("shop-postgres"),
                description: "PostgreSQL from the VPC".into(),
                vpc_id: vpc.attr("id"),
                ingress: vec![if is("open-ingress") {
                    SecurityGroupRule::tcp(5432, vec!["0.0.0.0/0".into()], "PostgreSQL")
                } else {
                    from_vpc(5432, "PostgreSQL from the VPC")
                }],
                egress: vec![],
                tags: vec![],
            },
        );
        let db_subnets = stack.add(
            "db-subnets",
            DbSubnetGroup {
                name: ctx.named("shop-postgres"),
                description: "private subnets".into(),
                subnet_ids: vec![private_a.attr("id"), private_b.attr("id")],
                tags: vec![],
            },
        );
        stack.add(
            "db",
            DbInstance {
                identifier: ctx.named("shop-postgres"),
                engine: "postgres".into(),
                engine_version: "15.4".into(),
                instance_class: if is("big-db") {
                    "db.m5.large"
                } else {
                    "db.t3.micro"
                }
                .into(),
                allocated_storage_gb: 20,
                storage_type: "gp3".into(),
                storage_encrypted: true,
                kms_key_id: (!is("db-aws-key")).then(|| key.attr("arn")),
                db_name: "shop".into(),
                master_username: secret.attr("username"),
                master_password: is("db-stack-secret").then(|| SecretValueRef {
                    secret_id: secret.attr("arn"),
                    key: "password".into(),
                }),
                manage_master_user_password: !is("db-stack-secret"),
                master_user_secret_kms_key_id: Some(key.attr("arn")),
                iam_database_authentication: !is("db-without-iam-auth"),
                cloudwatch_logs_exports: if is("db-without-logs") {
                    vec!["postgresql".into()]
                } else {
                    vec!["postgresql".into(), "upgrade".into()]
                },
                copy_tags_to_snapshot: !is("db-without-tag-copy"),
                port: 5432,
                db_subnet_group_name: db_subnets.attr("name"),
                vpc_security_group_ids: vec![db_sg.attr("id")],
                multi_az: true,
                publicly_accessible: is("public-db"),
                backup_retention_days: if is("short-backups") { 1 } else { 7 },
                monitoring_interval_seconds: 0,
                monitoring_role_arn: None,
                deletion_protection: !is("db-unprotected"),
                skip_final_snapshot: true,
                tags: vec![],
            },
        );
        Ok(stack)
    }
}

component!(Shop);
