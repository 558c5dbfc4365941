//! The JapanCart database: PostgreSQL 15 on db.t3.micro, Multi-AZ, storage
//! encrypted, 7-day backups, enhanced monitoring every 60 s, not publicly
//! accessible, on the private subnets, reachable on 5432 from inside the VPC only.
//!
//! The master user name and password come from the secrets plugin's secret: the
//! user name by reference to its `username` attribute, the password as a
//! `secret-value-ref` the host reads from Secrets Manager at apply time, so the
//! password never passes through this plugin or the state.
//!
//! The enhanced-monitoring role's name is global to the account, so it carries
//! the region as well as the environment ([`ContextExt::global_named`]):
//! `japancart-rds-monitoring-<region>-<environment>`.
//!
//! Config (see docs/japancart.md): `db-name`, `rds-engine-version`,
//! `rds-instance-class`, `rds-allocated-storage-gb`, `rds-storage-type`,
//! `rds-backup-retention-days`, `rds-monitoring-interval-seconds`,
//! `rds-deletion-protection`, `rds-skip-final-snapshot`.

use engine_sdk::*;

struct Database;

/// The PostgreSQL port (the stack output `rds_port`).
const PORT: u16 = 5432;
/// The AWS managed policy that lets RDS publish enhanced monitoring metrics, in
/// the region's partition (`arn:aws-cn:...` in China).
fn enhanced_monitoring_policy(ctx: &Context) -> String {
    format!(
        "arn:{}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
        ctx.partition()
    )
}

impl ComponentPlugin for Database {
    fn info() -> PluginInfo {
        info!(
            "rds",
            "The database: PostgreSQL, Multi-AZ, encrypted, enhanced monitoring, VPC-only."
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let vpc = Handle::external("vpc/main");
        let private = [
            Handle::external("vpc/private-a"),
            Handle::external("vpc/private-b"),
        ];
        let secret = Handle::external("secrets/db-credentials");
        let identifier = ctx.named("japancart-postgres");
        check_identifier("DB instance identifier", &identifier, 63)?;
        let db_name = ctx.config_or("db-name", "japancart");
        if !(db_name.len() <= 63
            && db_name.starts_with(|c: char| c.is_ascii_alphabetic())
            && db_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(format!(
                "config `db-name` = `{db_name}`: use 1 to 63 letters, digits and `_`, starting \
                 with a letter"
            ));
        }
        let monitoring_interval_seconds =
            ctx.config_parse("rds-monitoring-interval-seconds", 60)?;
        if ![0, 1, 5, 10, 15, 30, 60].contains(&monitoring_interval_seconds) {
            return Err(format!(
                "config `rds-monitoring-interval-seconds` = `{monitoring_interval_seconds}`: \
                 must be 0 (off), 1, 5, 10, 15, 30 or 60"
            ));
        }

        let mut stack = Stack::new();
        let sg = stack.add(
            "sg",
            SecurityGroup {
                name: ctx.named("japancart-postgres"),
                description: "JapanCart PostgreSQL: port 5432 from inside the VPC only".into(),
                vpc_id: vpc.attr("id"),
                ingress: vec![SecurityGroupRule::tcp(
                    PORT,
                    vec![vpc.attr("cidr-block")],
                    "PostgreSQL from the VPC",
                )],
                egress: vec![],
                tags: ctx.tags(&[("Name", &ctx.named("japancart-postgres"))]),
            },
        );
        let subnets = stack.add(
            "subnet-group",
            DbSubnetGroup {
                name: ctx.named("japancart-postgres"),
                description: "JapanCart PostgreSQL: private subnets".into(),
                subnet_ids: private.iter().map(|s| s.attr("id")).collect(),
                tags: ctx.tags(&[("Name", &ctx.named("japancart-postgres"))]),
            },
        );
        // IAM role names are global to the account: the same environment in a
        // second region (or another stack) must not collide with this one's.
        let role_name = ctx.global_named("japancart-rds-monitoring");
        let monitoring_role = (monitoring_interval_seconds > 0).then(|| {
            stack.add(
                "monitoring-role",
                IamRole {
                    name: role_name.clone(),
                    description: "Lets RDS publish enhanced monitoring metrics for JapanCart"
                        .into(),
                    assume_role_policy: service_trust_policy("monitoring.rds.amazonaws.com"),
                    managed_policy_arns: vec![enhanced_monitoring_policy(ctx)],
                    tags: ctx.tags(&[("Name", &role_name)]),
                },
            )
        });
        let db = stack.add(
            "postgres",
            DbInstance {
                identifier: identifier.clone(),
                engine: "postgres".into(),
                engine_version: ctx.config_or("rds-engine-version", "15"),
                instance_class: ctx.config_or("rds-instance-class", "db.t3.micro"),
                allocated_storage_gb: ctx.config_in("rds-allocated-storage-gb", 20, 20..=65_536)?,
                storage_type: ctx.config_or("rds-storage-type", "gp3"),
                storage_encrypted: true,
                kms_key_id: None,
                db_name,
                master_username: secret.attr("username"),
                master_password: SecretValueRef {
                    secret_id: secret.attr("arn"),
                    key: "password".into(),
                },
                port: PORT,
                db_subnet_group_name: subnets.attr("name"),
                vpc_security_group_ids: vec![sg.attr("id")],
                multi_az: true,
                publicly_accessible: false,
                backup_retention_days: ctx.config_in("rds-backup-retention-days", 7, 1..=35)?,
                monitoring_interval_seconds,
                monitoring_role_arn: monitoring_role.map(|r| r.attr("arn")),
                deletion_protection: ctx.config_parse("rds-deletion-protection", false)?,
                skip_final_snapshot: ctx.config_parse("rds-skip-final-snapshot", false)?,
                tags: ctx.tags(&[("Name", &identifier)]),
            },
        );
        stack.output(
            "rds_endpoint",
            "RDS instance endpoint (host name)",
            db.output("endpoint"),
        );
        stack.output("rds_port", "PostgreSQL port (5432)", db.output("port"));
        stack.output(
            "rds_security_group_id",
            "RDS security group ID",
            sg.output("id"),
        );
        Ok(stack)
    }
}

component!(Database);
