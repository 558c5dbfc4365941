//! The hardening config keys that more than one JapanCart plugin reads: one
//! declaration, compiled into each plugin that includes this file
//! (`#[path = "../../shared/hardening.rs"]`), so they cannot disagree on a key's
//! type, default or description. docs/japancart.md ("Hardened by default") says
//! what each one buys and costs; the baseline policy checks the result.

#![allow(dead_code)] // each plugin reads some of these keys

use engine_sdk::*;

/// Whether Redis requires an AUTH token: the secrets plugin declares the secret
/// the host generates it into, the elasticache plugin hands it to ElastiCache.
pub const REDIS_AUTH: BoolKey = BoolKey::new(
    "redis-auth",
    true,
    "Whether Redis clients must authenticate with an AUTH token that the host generates into \
     a Secrets Manager secret (output `redis_auth_secret_arn`); changing it replaces the \
     replication group.",
);

/// Who holds the database master password.
pub const DB_PASSWORD: ChoiceKey = ChoiceKey::new(
    "db-password",
    "rds-managed",
    &["rds-managed", "stack-secret"],
    "Who keeps the database master password: `rds-managed` (RDS generates it into a secret \
     of its own and rotates it every 7 days) or `stack-secret` (the host generates it into \
     the stack's secret once; never rotated).",
);

/// The database master user (checked by [`check_username`]).
pub const DB_USERNAME: TextKey = TextKey::new(
    "db-username",
    "japancart_admin",
    "The database master user: 1 to 63 letters, digits and `_`, starting with a letter, not \
     `rdsadmin`; changing it replaces the database.",
);

/// The KMS key of the database credentials' secret, whoever keeps them.
pub const DB_SECRET_KMS_KEY: KeyChoiceKey = KeyChoiceKey::new(
    "db-secret-kms-key",
    "create",
    "The KMS key of the secrets (database credentials, Redis AUTH token): `create` (a \
     customer-managed key with an alias), `aws-managed` (aws/secretsmanager), or an existing \
     key's id, ARN, alias name or alias ARN.",
);

/// Days CloudWatch Logs keeps the stack's logs. The values
/// `PutRetentionPolicy` accepts
/// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html>),
/// and 0 for "never expire".
pub const LOG_RETENTION_DAYS: IntKey<u32> = IntKey::one_of(
    "log-retention-days",
    365,
    &[
        0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ],
    "Days CloudWatch Logs keeps the VPC flow logs and the database logs (0: forever).",
);

/// The KMS key of the stack's log groups.
pub const LOG_KMS_KEY: KeyChoiceKey = KeyChoiceKey::new(
    "log-kms-key",
    "create",
    "The KMS key of the log groups: `create` (a customer-managed key that CloudWatch Logs may \
     use, `vpc/logs-key`), `none` (CloudWatch Logs' own encryption), or an existing key's ARN.",
);

/// RDS for PostgreSQL: 1 to 63 letters, digits and `_`, starting with a letter, and
/// not `rdsadmin` (RDS's own user; AWS also refuses PostgreSQL reserved words).
pub fn check_username(name: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.eq_ignore_ascii_case("rdsadmin");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "config `db-username` = `{name}`: use 1 to 63 letters, digits and `_`, starting with a \
             letter, and not `rdsadmin`"
        ))
    }
}

/// The key the stack's log groups are encrypted with: `vpc/logs-key` (declared by
/// the vpc plugin when `log-kms-key` is `create`), an existing key, or none.
pub fn log_kms_key(ctx: &Context) -> Result<Option<Text>, String> {
    Ok(match LOG_KMS_KEY.get(ctx)? {
        KeyChoice::Create => Some(Handle::external("vpc/logs-key").attr("arn")),
        KeyChoice::Unencrypted => None,
        KeyChoice::Existing(key) => Some(key.into()),
        KeyChoice::AwsManaged => {
            return Err(
                "config `log-kms-key` = `aws-managed`: CloudWatch Logs has no AWS managed key; \
                 use `create`, `none` or an existing key's ARN"
                    .into(),
            );
        }
    })
}

/// The key of the database credentials' secret, as the secrets plugin chose it:
/// its `secrets/key` (when `db-secret-kms-key` is `create`), an existing key, or
/// `None` for aws/secretsmanager.
pub fn db_secret_kms_key(ctx: &Context) -> Result<Option<Text>, String> {
    Ok(match DB_SECRET_KMS_KEY.get(ctx)? {
        KeyChoice::Create => Some(Handle::external("secrets/key").attr("arn")),
        KeyChoice::AwsManaged => None,
        KeyChoice::Existing(key) => Some(key.into()),
        KeyChoice::Unencrypted => {
            return Err(
                "config `db-secret-kms-key`: Secrets Manager always encrypts; use \
                        `create`, `aws-managed` or an existing key"
                    .into(),
            );
        }
    })
}
