//! The JapanCart database credentials: a Secrets Manager secret holding the master
//! user name and a password, encrypted with a customer-managed KMS key.
//!
//! The plugin never sees the password: it declares only the policy (length, and the
//! characters RDS refuses), and the host generates the value and writes it only to
//! Secrets Manager. The rds plugin references this secret's `username` and `arn`
//! (key `password`), which the host resolves at apply time.
//!
//! Config (see docs/japancart.md): `db-username`, `db-password-length`,
//! `db-secret-kms-key`, `db-secret-recovery-days`, `kms-deletion-window-days`.

use engine_sdk::*;

struct Credentials;

/// Characters RDS refuses in a master password: `/`, `@`, `"` and space.
const RDS_FORBIDDEN: &str = "/@\" ";

impl ComponentPlugin for Credentials {
    fn info() -> PluginInfo {
        info!(
            "secrets",
            "The database credentials: a secret with a host-generated password."
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let username = ctx.config_or("db-username", "japancart_admin");
        check_username(&username)?;
        let recovery_window_days = ctx.config_in("db-secret-recovery-days", 7, 0..=30)?;
        if (1..7).contains(&recovery_window_days) {
            return Err(format!(
                "config `db-secret-recovery-days` = `{recovery_window_days}`: must be 0 \
                 (delete at once) or 7 to 30"
            ));
        }

        let mut stack = Stack::new();
        let kms_key_id = match ctx.key_choice("db-secret-kms-key", "create") {
            KeyChoice::Create => Some(
                stack
                    .add_kms_key(
                        "key",
                        &ctx.named("japancart-db-secret"),
                        "Encrypts the JapanCart database credentials",
                        ctx.config_in("kms-deletion-window-days", 30, 7..=30)?,
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
                    length: ctx.config_in("db-password-length", 32, 16..=128)?,
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
