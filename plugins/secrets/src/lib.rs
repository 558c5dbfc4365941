//! The JapanCart database credentials: a Secrets Manager secret holding the master
//! user name and a password, encrypted with a customer-managed KMS key.
//!
//! The plugin never sees the password: it declares only the policy (length, and the
//! characters RDS refuses), and the host generates the value and writes it only to
//! Secrets Manager. The rds plugin references this secret's `username` and `arn`
//! (key `password`), which the host resolves at apply time.
//!
//! Config (see docs/japancart.md): `db-username`, `db-password-length`,
//! `db-secret-kms-key`, `db-secret-recovery-days`, `kms-deletion-window-days`, and
//! `project` (the tag).

use engine_sdk::*;

struct Credentials;

/// The master user name (checked by [`check_username`]).
const USERNAME: TextKey = TextKey::new(
    "db-username",
    "japancart_admin",
    "The database master user: 1 to 63 letters, digits and `_`, starting with a letter, not \
     `rdsadmin`; changing it replaces the database.",
);
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
/// The secret's KMS key; `none` is refused.
const KMS_KEY: KeyChoiceKey = KeyChoiceKey::new(
    "db-secret-kms-key",
    "create",
    "The secret's KMS key: `create` (a customer-managed key with an alias), `aws-managed` \
     (aws/secretsmanager), or an existing key's id, ARN, alias name or alias ARN.",
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

impl ComponentPlugin for Credentials {
    fn info() -> PluginInfo {
        info!(
            "secrets",
            "The database credentials: a secret with a host-generated password.",
            [
                USERNAME,
                PASSWORD_LENGTH,
                KMS_KEY,
                RECOVERY_DAYS,
                KMS_DELETION_WINDOW_DAYS,
                PROJECT,
            ]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let username = USERNAME.get(ctx)?;
        check_username(&username)?;
        let recovery_window_days = RECOVERY_DAYS.get(ctx)?;
        if (1..7).contains(&recovery_window_days) {
            return Err(format!(
                "config `db-secret-recovery-days` = `{recovery_window_days}`: must be 0 \
                 (delete at once) or 7 to 30"
            ));
        }

        let mut stack = Stack::new();
        let kms_key_id = match KMS_KEY.get(ctx)? {
            KeyChoice::Create => Some(
                stack
                    .add_kms_key(
                        "key",
                        &ctx.named("japancart-db-secret"),
                        "Encrypts the JapanCart database credentials",
                        KMS_DELETION_WINDOW_DAYS.get(ctx)?,
                        ctx.tags(&[("Name", &ctx.named("japancart-db-secret-key"))]),
                    )
                    .attr("arn"),
            ),
            // Secrets Manager always encrypts; without a key it uses aws/secretsmanager.
            KeyChoice::AwsManaged => None,
            KeyChoice::Existing(key) => Some(key.into()),
            KeyChoice::Unencrypted => {
                return Err(
                    "config `db-secret-kms-key`: Secrets Manager always encrypts; use \
                            `create`, `aws-managed` or an existing key"
                        .into(),
                );
            }
        };
        let secret = stack.add(
            "db-credentials",
            Secret {
                name: ctx.named("japancart-db-credentials"),
                description: "Master credentials of the JapanCart PostgreSQL database".into(),
                kms_key_id,
                username,
                password: PasswordPolicy {
                    length: PASSWORD_LENGTH.get(ctx)?,
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
        Ok(stack)
    }
}

/// RDS for PostgreSQL: 1 to 63 letters, digits and `_`, starting with a letter, and
/// not `rdsadmin` (RDS's own user; AWS also refuses PostgreSQL reserved words).
fn check_username(name: &str) -> Result<(), String> {
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
                "db-username",
                "db-password-length",
                "db-secret-kms-key",
                "db-secret-recovery-days",
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
}
