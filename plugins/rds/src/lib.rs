//! The JapanCart database: PostgreSQL 15 on db.t3.micro, Multi-AZ, storage
//! encrypted, 7-day backups, enhanced monitoring every 60 s, not publicly
//! accessible, on the private subnets, reachable on 5432 from inside the VPC only.
//!
//! Hardened by default (each a config key, see docs/japancart.md): storage
//! encrypted with a customer-managed KMS key (`rds-kms-key`), IAM database
//! authentication (`rds-iam-auth`), the `postgresql` and `upgrade` logs exported to
//! CloudWatch Logs into log groups declared here with a retention
//! (`rds-log-exports`, `log-retention-days`), tags copied to snapshots
//! (`rds-copy-tags-to-snapshot`), and deletion protection on outside the `dev`
//! environment (`rds-deletion-protection`).
//!
//! The master password (`db-password`): by default RDS generates it into a secret
//! of its own, encrypted with the secrets plugin's key, and rotates it every 7 days
//! (`ManageMasterUserPassword`); this plugin then publishes that secret's ARN as
//! `db_secret_arn`. With `stack-secret` it comes from the secrets plugin's secret:
//! the user name by reference to its `username` attribute, the password as a
//! `secret-value-ref` the host reads from Secrets Manager at apply time. Either
//! way the password never passes through this plugin or the state.
//!
//! The enhanced-monitoring role's name is global to the account, so it carries
//! the region as well as the environment ([`ContextExt::global_named`]):
//! `japancart-rds-monitoring-<region>-<environment>`.
//!
//! Config (see docs/japancart.md): `db-name`, `rds-engine-version`,
//! `rds-instance-class`, `rds-allocated-storage-gb`, `rds-storage-type`,
//! `rds-backup-retention-days`, `rds-monitoring-interval-seconds`,
//! `rds-deletion-protection`, `rds-skip-final-snapshot`, `rds-kms-key`,
//! `rds-iam-auth`, `rds-log-exports`, `rds-copy-tags-to-snapshot`,
//! `log-retention-days`, `log-kms-key`, `db-password`, `db-username`,
//! `db-secret-kms-key`, `kms-deletion-window-days`, and `project` (the tag).

use engine_sdk::*;

#[path = "../../shared/hardening.rs"]
mod hardening;
use hardening::{
    DB_PASSWORD, DB_SECRET_KMS_KEY, DB_USERNAME, LOG_KMS_KEY, LOG_RETENTION_DAYS, check_username,
};

struct Database;

/// The database name (checked in `declare`).
const DB_NAME: TextKey = TextKey::new(
    "db-name",
    "japancart",
    "The database created with the instance: 1 to 63 letters, digits and `_`, starting with \
     a letter.",
);
const ENGINE_VERSION: TextKey = TextKey::new(
    "rds-engine-version",
    "15",
    "PostgreSQL version: a major version (AWS creates its newest minor) or a minor one.",
);
const INSTANCE_CLASS: TextKey =
    TextKey::new("rds-instance-class", "db.t3.micro", "RDS instance class.");
/// Storage: RDS for PostgreSQL on gp3 takes 20 to 65,536 GiB (`AllocatedStorage` in
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html>).
const ALLOCATED_STORAGE_GB: IntKey<u32> = IntKey::new(
    "rds-allocated-storage-gb",
    20,
    20..=65_536,
    "Allocated storage in GiB.",
);
const STORAGE_TYPE: TextKey = TextKey::new("rds-storage-type", "gp3", "RDS storage type.");
/// Backups: 1 to 35 days (0, which AWS allows, would turn automated backups off,
/// and with them point-in-time recovery; `BackupRetentionPeriod` in the same page).
const BACKUP_RETENTION_DAYS: IntKey<u32> = IntKey::new(
    "rds-backup-retention-days",
    7,
    1..=35,
    "Days automated backups are kept.",
);
/// The enhanced monitoring intervals RDS accepts: 0 (off), 1, 5, 10, 15, 30 or 60
/// seconds (`MonitoringInterval` in
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html>).
const MONITORING_INTERVALS: &[u32] = &[0, 1, 5, 10, 15, 30, 60];
const MONITORING_INTERVAL_SECONDS: IntKey<u32> = IntKey::one_of(
    "rds-monitoring-interval-seconds",
    60,
    MONITORING_INTERVALS,
    "Enhanced monitoring interval in seconds; 0 turns it off (and no role is created).",
);
/// Unset, on in every environment but `dev`: a development stack is torn down by
/// design, anything else keeps its data unless someone turns this off first.
const DELETION_PROTECTION: BoolKey<Option<bool>> = BoolKey::optional(
    "rds-deletion-protection",
    "Whether the database refuses deletion; unset, on in every environment but `dev`.",
);
/// The key that encrypts the storage; `none` is refused.
const KMS_KEY: KeyChoiceKey = KeyChoiceKey::new(
    "rds-kms-key",
    "create",
    "The KMS key that encrypts the database storage: `create` (a customer-managed key with \
     an alias), `aws-managed` (aws/rds), or an existing key's ARN; changing it replaces the \
     database.",
);
const IAM_AUTH: BoolKey = BoolKey::new(
    "rds-iam-auth",
    true,
    "Whether IAM users and roles may sign in to the database with IAM authentication tokens.",
);
/// The logs RDS for PostgreSQL can publish (`EnableCloudwatchLogsExports` in
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html>,
/// and <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Concepts.PostgreSQL.html>).
const POSTGRES_LOGS: &[&str] = &["postgresql", "upgrade"];
const LOG_EXPORTS: ListKey = ListKey::new(
    "rds-log-exports",
    POSTGRES_LOGS,
    "The PostgreSQL logs published to CloudWatch Logs (`postgresql`, `upgrade`), each into \
     the log group `/aws/rds/instance/ID/LOG`, kept `log-retention-days`; empty publishes \
     none.",
);
const COPY_TAGS_TO_SNAPSHOT: BoolKey = BoolKey::new(
    "rds-copy-tags-to-snapshot",
    true,
    "Whether the database's snapshots carry its tags.",
);
const SKIP_FINAL_SNAPSHOT: BoolKey = BoolKey::new(
    "rds-skip-final-snapshot",
    false,
    "Whether destroying the database skips its final snapshot (by default one is taken and \
     kept).",
);

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
            "The database: PostgreSQL, Multi-AZ, encrypted, enhanced monitoring, VPC-only.",
            [
                DB_NAME,
                ENGINE_VERSION,
                INSTANCE_CLASS,
                ALLOCATED_STORAGE_GB,
                STORAGE_TYPE,
                BACKUP_RETENTION_DAYS,
                MONITORING_INTERVAL_SECONDS,
                DELETION_PROTECTION,
                SKIP_FINAL_SNAPSHOT,
                KMS_KEY,
                IAM_AUTH,
                LOG_EXPORTS,
                COPY_TAGS_TO_SNAPSHOT,
                LOG_RETENTION_DAYS,
                LOG_KMS_KEY,
                DB_PASSWORD,
                DB_USERNAME,
                DB_SECRET_KMS_KEY,
                KMS_DELETION_WINDOW_DAYS,
                PROJECT,
            ]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let vpc = Handle::external("vpc/main");
        let private = [
            Handle::external("vpc/private-a"),
            Handle::external("vpc/private-b"),
        ];
        let identifier = ctx.named("japancart-postgres");
        check_identifier("DB instance identifier", &identifier, 63)?;
        let db_name = DB_NAME.get(ctx)?;
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
        // The key's own error lists the intervals; this one also says what 0 means.
        let monitoring_interval_seconds = MONITORING_INTERVAL_SECONDS.get(ctx).map_err(|_| {
            format!(
                "config `{}` = `{}`: must be 0 (off), 1, 5, 10, 15, 30 or 60",
                MONITORING_INTERVAL_SECONDS.name(),
                ctx.config(MONITORING_INTERVAL_SECONDS.name())
                    .unwrap_or_default()
            )
        })?;

        let log_exports = LOG_EXPORTS.get(ctx)?;
        if let Some(bad) = log_exports
            .iter()
            .find(|l| !POSTGRES_LOGS.contains(&l.as_str()))
        {
            return Err(format!(
                "config `rds-log-exports`: `{bad}` is not a PostgreSQL log; use `postgresql`, \
                 `upgrade`, or both"
            ));
        }
        let deletion_protection = DELETION_PROTECTION
            .get(ctx)?
            .unwrap_or(ctx.environment != "dev");
        // Who keeps the master password; the user name is ours either way.
        let (master_username, master_password, master_user_secret_kms_key_id) =
            if DB_PASSWORD.get(ctx)? == "stack-secret" {
                let secret = Handle::external("secrets/db-credentials");
                let password = SecretValueRef {
                    secret_id: secret.attr("arn"),
                    key: "password".into(),
                };
                (secret.attr("username"), Some(password), None)
            } else {
                let username = DB_USERNAME.get(ctx)?;
                check_username(&username)?;
                (username.into(), None, hardening::db_secret_kms_key(ctx)?)
            };
        let managed = master_password.is_none();

        let mut stack = Stack::new();
        let kms_key_id = match KMS_KEY.get(ctx)? {
            KeyChoice::Create => Some(
                stack
                    .add_kms_key(
                        "key",
                        &ctx.named("japancart-postgres"),
                        "Encrypts the JapanCart PostgreSQL storage",
                        KMS_DELETION_WINDOW_DAYS.get(ctx)?,
                        ctx.tags(&[("Name", &ctx.named("japancart-postgres-key"))]),
                    )
                    .attr("arn"),
            ),
            KeyChoice::AwsManaged => None,
            KeyChoice::Existing(key) => Some(key.into()),
            KeyChoice::Unencrypted => {
                return Err(
                    "config `rds-kms-key` = `none`: the database is always encrypted \
                            at rest here; use `create`, `aws-managed` or an existing key"
                        .into(),
                );
            }
        };
        // RDS writes each exported log to `/aws/rds/instance/ID/LOG`, creating the
        // group (never expiring) unless it exists: declared first, it has our
        // retention and key.
        // <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html>
        let log_kms_key = hardening::log_kms_key(ctx)?;
        let retention_days = LOG_RETENTION_DAYS.get(ctx)?;
        let log_groups: Vec<Handle> = log_exports
            .iter()
            .map(|log| {
                let name = format!("/aws/rds/instance/{identifier}/{log}");
                stack.add(
                    &format!("{log}-logs"),
                    LogGroup {
                        name: name.clone(),
                        retention_days,
                        kms_key_id: log_kms_key.clone(),
                        tags: ctx.tags(&[("Name", &name)]),
                    },
                )
            })
            .collect();
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
        let after: Vec<&Handle> = log_groups.iter().collect();
        let db = stack.add_after(
            "postgres",
            DbInstance {
                identifier: identifier.clone(),
                engine: "postgres".into(),
                engine_version: ENGINE_VERSION.get(ctx)?,
                instance_class: INSTANCE_CLASS.get(ctx)?,
                allocated_storage_gb: ALLOCATED_STORAGE_GB.get(ctx)?,
                storage_type: STORAGE_TYPE.get(ctx)?,
                storage_encrypted: true,
                kms_key_id,
                db_name,
                master_username,
                master_password,
                manage_master_user_password: managed,
                master_user_secret_kms_key_id,
                iam_database_authentication: IAM_AUTH.get(ctx)?,
                cloudwatch_logs_exports: log_exports.clone(),
                copy_tags_to_snapshot: COPY_TAGS_TO_SNAPSHOT.get(ctx)?,
                port: PORT,
                db_subnet_group_name: subnets.attr("name"),
                vpc_security_group_ids: vec![sg.attr("id")],
                multi_az: true,
                publicly_accessible: false,
                backup_retention_days: BACKUP_RETENTION_DAYS.get(ctx)?,
                monitoring_interval_seconds,
                monitoring_role_arn: monitoring_role.map(|r| r.attr("arn")),
                deletion_protection,
                skip_final_snapshot: SKIP_FINAL_SNAPSHOT.get(ctx)?,
                tags: ctx.tags(&[("Name", &identifier)]),
            },
            &after,
        );
        if managed {
            stack.output(
                "db_secret_arn",
                "ARN of the database credentials secret (kept and rotated by RDS)",
                db.output("master-user-secret-arn"),
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_every_key_declare_reads() {
        let info = Database::info();
        let names: Vec<&str> = info.config.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "db-name",
                "rds-engine-version",
                "rds-instance-class",
                "rds-allocated-storage-gb",
                "rds-storage-type",
                "rds-backup-retention-days",
                "rds-monitoring-interval-seconds",
                "rds-deletion-protection",
                "rds-skip-final-snapshot",
                "rds-kms-key",
                "rds-iam-auth",
                "rds-log-exports",
                "rds-copy-tags-to-snapshot",
                "log-retention-days",
                "log-kms-key",
                "db-password",
                "db-username",
                "db-secret-kms-key",
                "kms-deletion-window-days",
                "project",
            ]
        );
        let interval = &info.config[6];
        assert_eq!(interval.default.as_deref(), Some("60"));
        assert!(
            matches!(&interval.type_, ConfigType::Choice(c) if c == &["0", "1", "5", "10", "15", "30", "60"])
        );
        let ctx = Context::new("japancart", "us-east-1", "dev");
        assert_eq!(undeclared_keys::<Database>(&ctx), Vec::<String>::new());
    }

    #[test]
    fn the_monitoring_interval_is_one_rds_accepts() {
        let ctx = Context::new("japancart", "us-east-1", "dev");
        let interval = |v: &str| {
            Database::declare(
                &ctx.clone()
                    .with_config("rds-monitoring-interval-seconds", v),
            )
            .map(|s| match s.get("postgres") {
                Some(ResourceSpec::DbInstance(db)) => db.monitoring_interval_seconds,
                _ => panic!("no instance"),
            })
        };
        assert_eq!(interval("15"), Ok(15));
        let off = Database::declare(
            &ctx.clone()
                .with_config("rds-monitoring-interval-seconds", "0"),
        )
        .expect("declares");
        assert!(off.get("monitoring-role").is_none());
        for bad in ["45", "-1", "often"] {
            assert_eq!(
                interval(bad),
                Err(format!(
                    "config `rds-monitoring-interval-seconds` = `{bad}`: must be 0 (off), 1, 5, 10, \
                     15, 30 or 60"
                ))
            );
        }
        let stack = Database::declare(&ctx).expect("declares");
        let Some(ResourceSpec::DbInstance(db)) = stack.get("postgres") else {
            panic!("no instance");
        };
        assert_eq!(
            (
                db.monitoring_interval_seconds,
                db.allocated_storage_gb,
                db.backup_retention_days
            ),
            (60, 20, 7)
        );
        assert!(!db.deletion_protection && !db.skip_final_snapshot);
    }

    #[test]
    fn hardened_by_default() {
        let ctx = Context::new("japancart", "us-east-1", "dev");
        let stack = Database::declare(&ctx).expect("declares");
        let Some(ResourceSpec::DbInstance(db)) = stack.get("postgres") else {
            panic!("no instance");
        };
        assert!(db.iam_database_authentication && db.copy_tags_to_snapshot);
        assert_eq!(db.cloudwatch_logs_exports, ["postgresql", "upgrade"]);
        assert!(db.manage_master_user_password && db.master_password.is_none());
        assert!(db.kms_key_id.is_some() && db.master_user_secret_kms_key_id.is_some());
        let Some(ResourceSpec::LogGroup(logs)) = stack.get("postgresql-logs") else {
            panic!("no log group");
        };
        assert_eq!(
            logs.name,
            "/aws/rds/instance/japancart-postgres-dev/postgresql"
        );
        assert_eq!(logs.retention_days, 365);
        // Deletion protection: off in dev, on elsewhere, as set when set.
        assert!(!db.deletion_protection);
        let prod = Context::new("japancart", "us-east-1", "prod");
        let protected =
            |ctx: &Context| match Database::declare(ctx).expect("declares").get("postgres") {
                Some(ResourceSpec::DbInstance(db)) => db.deletion_protection,
                _ => panic!("no instance"),
            };
        assert!(protected(&prod));
        assert!(!protected(
            &prod.clone().with_config("rds-deletion-protection", "false")
        ));
        assert!(protected(
            &ctx.clone().with_config("rds-deletion-protection", "true")
        ));
        // The stack's own secret instead of RDS's.
        let own = Database::declare(&ctx.clone().with_config("db-password", "stack-secret"))
            .expect("declares");
        let Some(ResourceSpec::DbInstance(db)) = own.get("postgres") else {
            panic!("no instance");
        };
        assert!(!db.manage_master_user_password && db.master_password.is_some());
        assert!(Database::declare(&ctx.clone().with_config("rds-log-exports", "audit")).is_err());
    }
}
