//! Every resource kind, with an example.
//!
//! Each kind is a typed record from the WIT package (`wit/engine.wit`), re-exported
//! at the crate root: build one with a struct literal and pass it to
//! [`Stack::add`], which returns a [`Handle`] whose
//! [`attr`](crate::Handle::attr) refers to one of the kind's *attributes* (listed
//! under each kind; the host refuses any other). A field of type [`Text`]
//! takes either a literal (`"10.0.0.0/16".into()`) or such a reference, and the host
//! orders the operations so that every reference is known in time.
//!
//! "Replaces" names the fields whose change makes the host delete and re-create the
//! resource (AWS has no call to modify them); every other field is updated in place.
//!
//! The examples run on the host (`cargo test` in `plugins/`). They refer to resources
//! of other plugins with [`Handle::external`], as the
//! JapanCart plugins do, and use this context:
//!
//! ```
//! # use engine_sdk::*;
//! let ctx = Context::new("shop", "us-east-1", "dev");
//! assert_eq!(ctx.named("orders"), "orders-dev");
//! ```
//!
//! # Network
//!
//! ## `vpc`: [`Vpc`]
//!
//! Attributes: `id`, `cidr-block`. Replaces: `cidr-block`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! let mut stack = Stack::new();
//! let vpc = stack.add(
//!     "main",
//!     Vpc {
//!         cidr_block: "10.0.0.0/16".into(),
//!         enable_dns_support: true,
//!         enable_dns_hostnames: true,
//!         tags: ctx.tags(&[("Name", &ctx.named("shop-vpc"))]),
//!     },
//! );
//! stack.output("vpc_id", "The VPC", vpc.output("id"));
//! assert_eq!(vpc.address(), "main");
//! ```
//!
//! ## `internet-gateway`: [`InternetGateway`]
//!
//! Attributes: `id`. Replaces: `vpc-id`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let vpc = Handle::external("vpc/main");
//! stack.add(
//!     "igw",
//!     InternetGateway {
//!         vpc_id: vpc.attr("id"),
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! ```
//!
//! ## `subnet`: [`Subnet`]
//!
//! Attributes: `id`, `cidr-block`, `availability-zone`. Replaces: `vpc-id`,
//! `cidr-block`, `availability-zone`. [`Ipv4Cidr`] derives subnet
//! blocks like Terraform's `cidrsubnet`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let vpc = Handle::external("vpc/main");
//! let block = Ipv4Cidr::parse("10.0.0.0/16")?.subnet(8, 1)?; // 10.0.1.0/24
//! stack.add(
//!     "public-a",
//!     Subnet {
//!         vpc_id: vpc.attr("id"),
//!         cidr_block: block.to_string(),
//!         availability_zone: format!("{}a", ctx.region),
//!         map_public_ip_on_launch: true,
//!         tags: ctx.tags(&[("tier", "public")]),
//!     },
//! );
//! # Ok::<(), String>(())
//! ```
//!
//! ## `route-table`: [`RouteTable`]
//!
//! Attributes: `id`. Replaces: `vpc-id`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! stack.add(
//!     "public-rt",
//!     RouteTable {
//!         vpc_id: Handle::external("vpc/main").attr("id"),
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! ```
//!
//! ## `route`: [`Route`]
//!
//! Attributes: `id`. Replaces: `route-table-id`, `destination-cidr-block`.
//!
//! ```
//! # use engine_sdk::*;
//! # let mut stack = Stack::new();
//! stack.add(
//!     "default-route",
//!     Route {
//!         route_table_id: Handle::external("vpc/public-rt").attr("id"),
//!         destination_cidr_block: "0.0.0.0/0".into(),
//!         gateway_id: Handle::external("vpc/igw").attr("id"),
//!     },
//! );
//! ```
//!
//! ## `route-table-association`: [`RouteTableAssociation`]
//!
//! Attributes: `id`. Replaces: `route-table-id`, `subnet-id`.
//!
//! ```
//! # use engine_sdk::*;
//! # let mut stack = Stack::new();
//! stack.add(
//!     "public-a-rta",
//!     RouteTableAssociation {
//!         route_table_id: Handle::external("vpc/public-rt").attr("id"),
//!         subnet_id: Handle::external("vpc/public-a").attr("id"),
//!     },
//! );
//! ```
//!
//! ## `security-group`: [`SecurityGroup`]
//!
//! Attributes: `id`, `name`. Replaces: `name`, `description`, `vpc-id`. Rules are
//! [`SecurityGroupRule`]s; [`SecurityGroupRule::tcp`]
//! makes the common one. An empty `egress` allows no outbound traffic.
//!
//! [`SecurityGroupRule::tcp`]: crate::SecurityGroupRule::tcp
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let vpc = Handle::external("vpc/main");
//! let sg = stack.add(
//!     "sg",
//!     SecurityGroup {
//!         name: ctx.named("shop-api"),
//!         description: "Shop API: HTTPS from the VPC".into(),
//!         vpc_id: vpc.attr("id"),
//!         ingress: vec![SecurityGroupRule::tcp(
//!             443,
//!             vec![vpc.attr("cidr-block")],
//!             "HTTPS from the VPC",
//!         )],
//!         egress: vec![SecurityGroupRule {
//!             protocol: IpProtocol::All,
//!             from_port: 0,
//!             to_port: 0,
//!             cidr_blocks: vec!["0.0.0.0/0".into()],
//!             description: "Anywhere".into(),
//!         }],
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! stack.output("api_security_group_id", "API security group", sg.output("id"));
//! ```
//!
//! ## `vpc-endpoint`: [`VpcEndpoint`]
//!
//! Attributes: `id`. Replaces: `vpc-id`, `service-name`, `endpoint-type`. An
//! interface endpoint uses `subnet_ids` and `security_group_ids`; a gateway endpoint
//! (S3, DynamoDB) uses `route_table_ids`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! stack.add(
//!     "s3-endpoint",
//!     VpcEndpoint {
//!         vpc_id: Handle::external("vpc/main").attr("id"),
//!         service_name: format!("com.amazonaws.{}.s3", ctx.region),
//!         endpoint_type: VpcEndpointType::Gateway,
//!         subnet_ids: vec![],
//!         security_group_ids: vec![],
//!         route_table_ids: vec![Handle::external("vpc/private-rt").attr("id")],
//!         private_dns_enabled: false,
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! ```
//!
//! # Encryption, streams, secrets and access
//!
//! ## `kms-key`: [`KmsKey`]
//!
//! Attributes: `id` (the key id), `arn`. Replaces: nothing. [`Stack::add_kms_key`]
//! declares a key with rotation and an alias in one call.
//!
//! [`Stack::add_kms_key`]: crate::Stack::add_kms_key
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let key = stack.add(
//!     "key",
//!     KmsKey {
//!         description: "Encrypts the shop's order stream".into(),
//!         enable_key_rotation: true,
//!         deletion_window_days: 30,
//!         service_principals: vec![],
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! let encrypt_with = key.attr("arn");
//! # let _ = encrypt_with;
//! ```
//!
//! ## `kms-alias`: [`KmsAlias`]
//!
//! Attributes: `name`, `arn`. Replaces: `name`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! # let key = Handle::external("kinesis/key");
//! stack.add(
//!     "key-alias",
//!     KmsAlias {
//!         name: format!("alias/{}", ctx.named("shop-orders")),
//!         target_key_id: key.attr("id"),
//!     },
//! );
//! ```
//!
//! ## `kinesis-stream`: [`KinesisStream`]
//!
//! Attributes: `name`, `arn`. Replaces: `name`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let stream = stack.add(
//!     "orders",
//!     KinesisStream {
//!         name: ctx.named("shop-orders"),
//!         shard_count: ctx.config_in("shard-count", 1, 1..=500)?,
//!         retention_period_hours: 24,
//!         kms_key_id: Some("alias/aws/kinesis".into()),
//!         shard_level_metrics: vec!["IncomingBytes".into()],
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! stack.output("orders_stream_arn", "The order stream", stream.output("arn"));
//! # Ok::<(), String>(())
//! ```
//!
//! ## `secret`: [`Secret`]
//!
//! Attributes: `arn`, `name`, `username`. Replaces: `name`, `password`. The host
//! generates the password by the [`PasswordPolicy`] and
//! writes it only to Secrets Manager: the plugin, the state and the plan never see
//! it. A [`DbInstance`] reads it with a
//! [`SecretValueRef`].
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! stack.add(
//!     "db-credentials",
//!     Secret {
//!         name: ctx.named("shop-db-credentials"),
//!         description: "Master credentials of the shop database".into(),
//!         kms_key_id: None, // aws/secretsmanager
//!         username: "shop_admin".into(),
//!         password: PasswordPolicy {
//!             length: 32,
//!             exclude_characters: "/@\" ".into(),
//!         },
//!         recovery_window_days: 7,
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! ```
//!
//! ## `iam-role`: [`IamRole`]
//!
//! Attributes: `arn`, `name`. Replaces: `name`. [`service_trust_policy`] writes the
//! trust policy for an AWS service.
//!
//! [`service_trust_policy`]: crate::service_trust_policy
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let role = stack.add(
//!     "monitoring-role",
//!     IamRole {
//!         name: ctx.named("shop-rds-monitoring"),
//!         description: "Lets RDS publish enhanced monitoring metrics".into(),
//!         assume_role_policy: service_trust_policy("monitoring.rds.amazonaws.com"),
//!         managed_policy_arns: vec![
//!             "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole".into(),
//!         ],
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! # let _ = role;
//! ```
//!
//! # Caches and databases
//!
//! ## `cache-subnet-group`: [`CacheSubnetGroup`]
//!
//! Attributes: `name`. Replaces: `name`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! stack.add(
//!     "cache-subnets",
//!     CacheSubnetGroup {
//!         name: ctx.named("shop-cache"),
//!         description: "Shop cache: private subnets".into(),
//!         subnet_ids: ["vpc/private-a", "vpc/private-b"]
//!             .map(|s| Handle::external(s).attr("id"))
//!             .to_vec(),
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! ```
//!
//! ## `cache-replication-group`: [`CacheReplicationGroup`]
//!
//! Attributes: `id`, `arn`, `primary-endpoint`, `reader-endpoint`, `port` (a number).
//! Replaces: `id`, `port`, `subnet-group-name`, `at-rest-encryption`,
//! `transit-encryption`, `kms-key-id`, `auth-token`. Creating one takes minutes on
//! AWS. The AUTH token is a [`SecretValueRef`] that the host resolves at apply time
//! (generate it with a [`Secret`] whose password policy keeps to the characters
//! ElastiCache allows); it needs `transit_encryption`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! # let subnets = Handle::external("cache/cache-subnets");
//! # let sg = Handle::external("cache/sg");
//! let id = ctx.named("shop-cache");
//! check_identifier("replication group id", &id, 40)?;
//! let redis = stack.add(
//!     "redis",
//!     CacheReplicationGroup {
//!         id,
//!         description: "Shop session cache".into(),
//!         engine_version: "7.1".into(),
//!         node_type: "cache.t3.micro".into(),
//!         num_cache_clusters: 2,
//!         port: 6379,
//!         subnet_group_name: subnets.attr("name"),
//!         security_group_ids: vec![sg.attr("id")],
//!         automatic_failover: true,
//!         multi_az: true,
//!         at_rest_encryption: true,
//!         transit_encryption: true,
//!         kms_key_id: None,
//!         auth_token: Some(SecretValueRef {
//!             secret_id: Handle::external("secrets/cache-auth").attr("arn"),
//!             key: "password".into(),
//!         }),
//!         snapshot_retention_days: 1,
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! stack.output("cache_endpoint", "Redis primary endpoint", redis.output("primary-endpoint"));
//! stack.output("cache_port", "Redis port", redis.output("port"));
//! # Ok::<(), String>(())
//! ```
//!
//! ## `db-subnet-group`: [`DbSubnetGroup`]
//!
//! Attributes: `name`, `arn`. Replaces: `name`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! stack.add(
//!     "db-subnets",
//!     DbSubnetGroup {
//!         name: ctx.named("shop-db"),
//!         description: "Shop database: private subnets in two zones".into(),
//!         subnet_ids: vec![
//!             Handle::external("vpc/private-a").attr("id"),
//!             Handle::external("vpc/private-b").attr("id"),
//!         ],
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! ```
//!
//! ## `db-instance`: [`DbInstance`]
//!
//! Attributes: `id`, `arn`, `endpoint` (the host name), `port` (a number),
//! `resource-id`, `master-user-secret-arn`. Replaces: `identifier`, `engine`,
//! `storage-encrypted`, `kms-key-id`, `db-name`, `master-username`,
//! `db-subnet-group-name`. Creating one takes minutes on AWS. The master password
//! is either managed by RDS (`manage_master_user_password`: RDS keeps it in a
//! secret of its own and rotates it; `master-user-secret-arn` names that secret)
//! or a [`SecretValueRef`] that the host resolves at apply time, never both.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let secret = Handle::external("secrets/db-credentials");
//! let db = stack.add(
//!     "postgres",
//!     DbInstance {
//!         identifier: ctx.named("shop-postgres"),
//!         engine: "postgres".into(),
//!         engine_version: "15.4".into(),
//!         instance_class: "db.t3.micro".into(),
//!         allocated_storage_gb: 20,
//!         storage_type: "gp3".into(),
//!         storage_encrypted: true,
//!         kms_key_id: None,
//!         db_name: "shop".into(),
//!         master_username: secret.attr("username"),
//!         master_password: Some(SecretValueRef {
//!             secret_id: secret.attr("arn"),
//!             key: "password".into(),
//!         }),
//!         manage_master_user_password: false,
//!         master_user_secret_kms_key_id: None,
//!         iam_database_authentication: true,
//!         cloudwatch_logs_exports: vec!["postgresql".into(), "upgrade".into()],
//!         copy_tags_to_snapshot: true,
//!         port: 5432,
//!         db_subnet_group_name: Handle::external("db/db-subnets").attr("name"),
//!         vpc_security_group_ids: vec![Handle::external("db/sg").attr("id")],
//!         multi_az: true,
//!         publicly_accessible: false,
//!         backup_retention_days: 7,
//!         monitoring_interval_seconds: 0,
//!         monitoring_role_arn: None,
//!         deletion_protection: false,
//!         skip_final_snapshot: true,
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! stack.output("db_endpoint", "Database host name", db.output("endpoint"));
//! ```
//!
//! # Notifications and alarms
//!
//! ## `sns-topic`: [`SnsTopic`]
//!
//! Attributes: `arn`, `name`. Replaces: `name`.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let key = Handle::external("kinesis/key");
//! let topic = stack.add(
//!     "alerts",
//!     SnsTopic {
//!         name: ctx.named("shop-alerts"),
//!         kms_key_id: Some(key.attr("arn")),
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! stack.output("alerts_topic_arn", "Subscribe to it", topic.output("arn"));
//! ```
//!
//! ## `metric-alarm`: [`MetricAlarm`]
//!
//! Attributes: `arn`, `name`. Replaces: `name`. A [`Dimension`]'s
//! value may be a reference (here the stream's `name`).
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let topic = Handle::external("alerts/topic");
//! stack.add(
//!     "iterator-age",
//!     MetricAlarm {
//!         name: ctx.named("shop-orders-iterator-age"),
//!         description: "Order consumers are more than a minute behind".into(),
//!         namespace: "AWS/Kinesis".into(),
//!         metric_name: "GetRecords.IteratorAgeMilliseconds".into(),
//!         dimensions: vec![Dimension {
//!             name: "StreamName".into(),
//!             value: Handle::external("kinesis/transactions").attr("name"),
//!         }],
//!         statistic: Statistic::Maximum,
//!         period_seconds: 300,
//!         evaluation_periods: 2,
//!         threshold: 60_000.0,
//!         comparison_operator: ComparisonOperator::GreaterThanThreshold,
//!         treat_missing_data: "notBreaching".into(),
//!         alarm_actions: vec![topic.attr("arn")],
//!         ok_actions: vec![topic.attr("arn")],
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! ```
//!
//! # Storage
//!
//! ## `s3-bucket`: [`S3Bucket`]
//!
//! Attributes: `id` (the name), `arn`, `domain-name`. Replaces: `name`. Since
//! contract 0.2.0. `default-encryption` with a `kms-key-id` is SSE-KMS, without
//! one SSE-S3; `block-public-access` sets all four public access block settings;
//! `expiration-days` (0 for none) deletes objects that many days after writing.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let key = Handle::external("keys/data");
//! let bucket = stack.add(
//!     "exports",
//!     S3Bucket {
//!         name: ctx.named("shop-order-exports"),
//!         versioning: true,
//!         default_encryption: true,
//!         kms_key_id: Some(key.attr("arn")),
//!         block_public_access: true,
//!         expiration_days: 90,
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! stack.output("exports_bucket", "Where order exports land", bucket.output("id"));
//! ```
//!
//! # Logs and VPC hardening
//!
//! ## `log-group`: [`LogGroup`]
//!
//! Attributes: `name`, `arn`. Replaces: `name`. `retention_days` is one of the
//! values CloudWatch Logs allows (0 keeps events forever).
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! let logs = stack.add(
//!     "flow-logs",
//!     LogGroup {
//!         name: format!("/aws/vpc/flow-logs/{}", ctx.named("shop")),
//!         retention_days: 365,
//!         kms_key_id: None,
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! # let _ = logs;
//! ```
//!
//! ## `iam-role-policy`: [`IamRolePolicy`]
//!
//! Attributes: `name`. Replaces: `role-name`, `name`. The host writes the policy
//! document from the statements, resolving references to ARNs.
//!
//! ```
//! # use engine_sdk::*;
//! # let mut stack = Stack::new();
//! # let role = Handle::external("vpc/flow-logs-role");
//! # let logs = Handle::external("vpc/flow-logs");
//! stack.add(
//!     "flow-logs-write",
//!     IamRolePolicy {
//!         role_name: role.attr("name"),
//!         name: "write-flow-logs".into(),
//!         statements: vec![PolicyStatement {
//!             actions: vec!["logs:CreateLogStream".into(), "logs:PutLogEvents".into()],
//!             resources: vec![logs.attr("arn")],
//!         }],
//!     },
//! );
//! ```
//!
//! ## `flow-log`: [`FlowLog`]
//!
//! Attributes: `id`. Replaces: every field but `tags` (AWS cannot modify a flow
//! log).
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! # let (vpc, logs, role) = (Handle::external("vpc/main"), Handle::external("vpc/flow-logs"), Handle::external("vpc/flow-logs-role"));
//! stack.add(
//!     "flow-log",
//!     FlowLog {
//!         vpc_id: vpc.attr("id"),
//!         traffic_type: FlowLogTraffic::All,
//!         log_group_name: logs.attr("name"),
//!         deliver_logs_permission_arn: role.attr("arn"),
//!         max_aggregation_interval_seconds: 600,
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! ```
//!
//! ## `default-security-group`: [`DefaultSecurityGroup`]
//!
//! Attributes: `id`. Replaces: `vpc-id`. The host adopts the VPC's default group
//! (the VPC must be the stack's own) and sets its rules; no rules at all is the
//! hardened choice.
//!
//! ```
//! # use engine_sdk::*;
//! # let ctx = Context::new("shop", "us-east-1", "dev");
//! # let mut stack = Stack::new();
//! # let vpc = Handle::external("vpc/main");
//! stack.add(
//!     "default-sg",
//!     DefaultSecurityGroup {
//!         vpc_id: vpc.attr("id"),
//!         ingress: vec![],
//!         egress: vec![],
//!         tags: ctx.tags(&[]),
//!     },
//! );
//! ```
//!
//! # Ordering without a reference
//!
//! A resource that must come after another it does not reference (a literal that
//! names it, for example) says so with [`Stack::add_after`]:
//!
//! ```
//! # use engine_sdk::*;
//! # let mut stack = Stack::new();
//! let redis = Handle::external("elasticache/redis");
//! stack.add_after(
//!     "topic",
//!     SnsTopic {
//!         name: "after-redis".into(),
//!         kms_key_id: None,
//!         tags: vec![],
//!     },
//!     &[&redis],
//! );
//! ```

use crate::*;

/// **The guest's one list of resource kinds**: each kind's record (from the WIT)
/// and its WIT name. The `From` conversions into [`ResourceSpec`],
/// [`ResourceSpec::kind`] and [`KINDS`] are derived from it; adding a kind to the WIT
/// is a line here, and its example above.
macro_rules! kinds {
    ($($kind:ident = $name:literal),* $(,)?) => {
        $(
            impl From<$kind> for ResourceSpec {
                fn from(v: $kind) -> ResourceSpec { ResourceSpec::$kind(v) }
            }
        )*

        impl ResourceSpec {
            /// The kind's WIT name, for example `sns-topic` (as in messages and plans).
            pub fn kind(&self) -> &'static str {
                match self { $(ResourceSpec::$kind(_) => $name),* }
            }
        }

        /// The WIT names of every kind this SDK knows, in WIT order (a policy uses it
        /// to prove that each of its rules decided about every kind).
        pub const KINDS: &[&str] = &[$($name),*];
    };
}

kinds!(
    Vpc = "vpc",
    InternetGateway = "internet-gateway",
    Subnet = "subnet",
    RouteTable = "route-table",
    Route = "route",
    RouteTableAssociation = "route-table-association",
    SecurityGroup = "security-group",
    VpcEndpoint = "vpc-endpoint",
    KmsKey = "kms-key",
    KmsAlias = "kms-alias",
    KinesisStream = "kinesis-stream",
    Secret = "secret",
    IamRole = "iam-role",
    CacheSubnetGroup = "cache-subnet-group",
    CacheReplicationGroup = "cache-replication-group",
    DbSubnetGroup = "db-subnet-group",
    DbInstance = "db-instance",
    SnsTopic = "sns-topic",
    MetricAlarm = "metric-alarm",
    S3Bucket = "s3-bucket",
    LogGroup = "log-group",
    FlowLog = "flow-log",
    DefaultSecurityGroup = "default-security-group",
    IamRolePolicy = "iam-role-policy",
);
