//! The JapanCart secrets: the database credentials (when the stack keeps them,
//! `db-password = "stack-secret"`) and the Redis AUTH token (`redis-auth`), in
//! Secrets Manager, encrypted with a customer-managed KMS key.
//!
//! The plugin never sees a password or token: it declares only the policy (length,
//! and the characters the service refuses), and the host generates the value and
//! writes it only to Secrets Manager. The rds plugin references the credentials'
//! `username` and `arn` (key `password`), the elasticache plugin the token's `arn`
//! (key `password`); the host resolves them at apply time.
//!
//! With `db-password = "rds-managed"` (the default) RDS keeps the master password
//! in a secret of its own and rotates it; this plugin then declares no database
//! secret, and the rds plugin publishes `db_secret_arn`.
//!
//! Config (see docs/japancart.md): `db-password`, `db-username`,
//! `db-password-length`, `db-secret-kms-key`, `db-secret-recovery-days`,
//! `redis-auth`, `kms-deletion-window-days`, and `project` (the tag).

use engine_sdk::*;

#[path = "../../shared/hardening.rs"]
mod hardening;
use hardening::{DB_PASSWORD, DB_SECRET_KMS_KEY, DB_USERNAME, REDIS_AUTH, check_username};

struct Credentials;

/// Password length: RDS for PostgreSQL takes master passwords of 8 to 128
/// characters (`MasterUserPassword` in
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html>);
/// fewer than 16 is too weak to allow.
const PASSWORD_LENGTH: IntKey<u32> = IntKey::new(
    "db-password-length",
    32,
    16..=128,
    "Length of the generated database password; changing it generates a new one.",
);
/// Recovery window: 0 (delete at once, `ForceDeleteWithoutRecovery`) or 7 to 30
/// days (<https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html>);
/// the range is 0 to 30, and `declare` refuses 1 to 6.
const RECOVERY_DAYS: IntKey<u32> = IntKey::new(
    "db-secret-recovery-days",
    7,
    0..=30,
    "Days a deleted secret can be restored: 0 (delete at once) or 7 to 30.",
);

/// Characters RDS refuses in a master password: `/`, `@`, `"` and space.
const RDS_FORBIDDEN: &str = "/@\" ";

/// Characters ElastiCache refuses in an AUTH token: it takes printable ASCII
/// whose only non-alphanumeric characters are `!`, `&`, `#`, `$`, `^`, `<`, `>`
/// and `-` (`AuthToken` in
/// <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html>),
/// so every other printable punctuation character, and space.
const ELASTICACHE_FORBIDDEN: &str = " \"%'()*+,./:;=?@[\\]_`{|}~";

/// AUTH token length: ElastiCache takes 16 to 128 characters (same page).
const AUTH_TOKEN_LENGTH: u32 = 64;

impl ComponentPlugin for Credentials {
    fn info() -> PluginInfo {
        info!(
            "secrets",
            "The secrets: database credentials and the Redis AUTH token, host-generated.",
            [
                DB_PASSWORD,
                DB_USERNAME,
                PASSWORD_LENGTH,
                DB_SECRET_KMS_KEY,
                RECOVERY_DAYS,
                REDIS_AUTH,
                KMS_DELETION_WINDOW_DAYS,
                PROJECT,
            ]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let username = DB_USERNAME.get(ctx)?;
        check_username(&username)?;
        let recovery_window_days = RECOVERY_DAYS.get(ctx)?;
        if (1..7).contains(&recovery_window_days) {
            return Err(format!(
                "config `db-secret-recovery-days` = `{recovery_window_days}`: must be 0 \
                 (delete at once) or 7 to 30"
            ));
        }
        let stack_secret = DB_PASSWORD.get(ctx)? == "stack-secret";
        // The length is checked even when RDS keeps the password, so a bad value
        // never waits for the day it is used.
        let password_length = PASSWORD_LENGTH.get(ctx)?;

        let mut stack = Stack::new();
        // Secrets Manager always encrypts; without a key it uses aws/secretsmanager.
        let kms_key_id = hardening::db_secret_kms_key(ctx)?;
        if matches!(DB_SECRET_KMS_KEY.get(ctx)?, KeyChoice::Create) {
            // The rds plugin's managed secret and the token use it too.
            stack.add_kms_key(
                "key",
                &ctx.named("japancart-db-secret"),
                "Encrypts the JapanCart database credentials and Redis AUTH token",
                KMS_DELETION_WINDOW_DAYS.get(ctx)?,
                ctx.tags(&[("Name", &ctx.named("japancart-db-secret-key"))]),
            );
        }
        if stack_secret {
            let secret = stack.add(
                "db-credentials",
                Secret {
                    name: ctx.named("japancart-db-credentials"),
                    description: "Master credentials of the JapanCart PostgreSQL database".into(),
                    kms_key_id: kms_key_id.clone(),
                    username,
                    password: PasswordPolicy {
                        length: password_length,
                        exclude_characters: RDS_FORBIDDEN.into(),
                    },
                    recovery_window_days,
                    tags: ctx.tags(&[("Name", &ctx.named("japancart-db-credentials"))]),
                },
            );
            stack.output(
                "db_secret_arn",
                "ARN of the database credentials secret",
                secret.output("arn"),
            );
        }
        if REDIS_AUTH.get(ctx)? {
            let token = stack.add(
                "redis-auth",
                Secret {
                    name: ctx.named("japancart-redis-auth"),
                    description: "AUTH token of the JapanCart Redis (key `password`)".into(),
                    kms_key_id,
                    username: "default".into(),
                    password: PasswordPolicy {
                        length: AUTH_TOKEN_LENGTH,
                        exclude_characters: ELASTICACHE_FORBIDDEN.into(),
                    },
                    recovery_window_days,
                    tags: ctx.tags(&[("Name", &ctx.named("japancart-redis-auth"))]),
                },
            );
            stack.output(
                "redis_auth_secret_arn",
                "ARN of the secret holding the Redis AUTH token (key `password`)",
                token.output("arn"),
            );
        }
        Ok(stack)
    }
}

component!(Credentials);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_every_key_declare_reads() {
        let names: Vec<String> = Credentials::info()
            .config
            .into_iter()
            .map(|k| k.name)
            .collect();
        assert_eq!(
            names,
            [
                "db-password",
                "db-username",
                "db-password-length",
                "db-secret-kms-key",
                "db-secret-recovery-days",
                "redis-auth",
                "kms-deletion-window-days",
                "project",
            ]
        );
        let ctx = Context::new("japancart", "us-east-1", "dev");
        assert_eq!(undeclared_keys::<Credentials>(&ctx), Vec::<String>::new());
    }

    #[test]
    fn defaults_and_ranges() {
        let ctx = Context::new("japancart", "us-east-1", "dev");
        // By default RDS keeps the database password: no secret of ours for it.
        let stack = Credentials::declare(&ctx).expect("declares");
        assert!(stack.get("db-credentials").is_none());
        let ctx = ctx.with_config("db-password", "stack-secret");
        let stack = Credentials::declare(&ctx).expect("declares");
        let Some(ResourceSpec::Secret(secret)) = stack.get("db-credentials") else {
            panic!("no secret");
        };
        assert_eq!(secret.username, "japancart_admin");
        assert_eq!(secret.password.length, 32);
        assert_eq!(secret.recovery_window_days, 7);
        for (days, ok) in [
            ("0", true),
            ("3", false),
            ("7", true),
            ("30", true),
            ("31", false),
        ] {
            let ctx = ctx.clone().with_config("db-secret-recovery-days", days);
            assert_eq!(Credentials::declare(&ctx).is_ok(), ok, "{days}");
        }
    }

    #[test]
    fn the_redis_token_keeps_to_what_elasticache_accepts() {
        let ctx = Context::new("japancart", "us-east-1", "dev");
        let stack = Credentials::declare(&ctx).expect("declares");
        let Some(ResourceSpec::Secret(token)) = stack.get("redis-auth") else {
            panic!("no token secret");
        };
        assert!((16..=128).contains(&token.password.length));
        // What is left of printable ASCII: letters, digits and `!&#$^<>-`.
        let allowed: String = (b' '..=b'~')
            .map(char::from)
            .filter(|c| !token.password.exclude_characters.contains(*c))
            .filter(|c| !c.is_ascii_alphanumeric())
            .collect();
        assert_eq!(allowed, "!#$&-<>^");
        assert!(matches!(&token.kms_key_id, Some(Text::Ref(r)) if r.resource == "secrets/key"));
        let off = Credentials::declare(&ctx.with_config("redis-auth", "false")).expect("declares");
        assert!(off.get("redis-auth").is_none() && off.get("key").is_some());
    }
}
