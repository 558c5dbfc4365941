//! `{{name}}`: a component plugin for the `engine` infrastructure-as-code engine.
//!
//! A worked example to start from: a customer-managed KMS key (yearly rotation,
//! and an alias), an SNS topic encrypted with that key, and the topic's ARN as a
//! stack output. Replace them with your own resources; the engine's
//! `docs/authoring.md` lists every kind with its fields and attributes, and the
//! SDK's docs (`engine_sdk::kinds`) show an example of each.
//!
//! Config (`[config]` in engine.toml, or `--config KEY=VALUE`; `engine config ls
//! {{name}}.wasm` lists the keys with their defaults):
//! - `{{name}}-key-deletion-days`: days between scheduling the key's deletion and
//!   the deletion, 7 to 30 (default 30);
//! - `project`: the `project` tag (default: the stack's name).

use engine_sdk::*;

/// The plugin. Its name, `{{name}}`, is the first part of its resources'
/// addresses (`{{name}}/topic`): other plugins refer to them by those.
struct Plugin;

/// One line about what the plugin declares, part of its `metadata`.
const DESCRIPTION: &str = "An SNS topic encrypted with a KMS key of its own.";

/// A config key: its name, default, range and description in one place. `info`
/// lists it, so the engine refuses a misspelt key or a value out of range before
/// `declare` runs; `declare` reads it with `get`.
const DELETION_DAYS: IntKey<u32> = IntKey::new(
    "{{name}}-key-deletion-days",
    30,
    7..=30,
    "Days between scheduling the deletion of the topic's KMS key and its deletion.",
);

impl ComponentPlugin for Plugin {
    fn info() -> PluginInfo {
        // Every key `declare` reads, the SDK's too: `ctx.tags` reads PROJECT.
        info!("{{name}}", DESCRIPTION, [DELETION_DAYS, PROJECT])
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        // The value set for the stack, or the default; an `Err` (a value out of
        // range) names the key, and the engine shows it with the plugin's name.
        let deletion_window_days = DELETION_DAYS.get(ctx)?;
        // Every AWS name carries the environment suffix, e.g. `{{name}}-dev`.
        let name = ctx.named("{{name}}");

        let mut stack = Stack::new();
        let key = stack.add(
            "key",
            KmsKey {
                description: format!("Encrypts the {name} topic"),
                enable_key_rotation: true,
                deletion_window_days,
                service_principals: vec![],
                tags: ctx.tags(&[("Name", &format!("{name}-key"))]),
            },
        );
        stack.add(
            "key-alias",
            KmsAlias {
                name: format!("alias/{name}"),
                // A reference: the key's id is known once the key exists, so the
                // engine creates the key first.
                target_key_id: key.attr("id"),
            },
        );
        let topic = stack.add(
            "topic",
            SnsTopic {
                name: name.clone(),
                kms_key_id: Some(key.attr("arn")),
                tags: ctx.tags(&[("Name", &name)]),
            },
        );
        stack.output(
            "{{snake}}_topic_arn",
            "ARN of the {{name}} topic (subscribe to it)",
            topic.output("arn"),
        );
        Ok(stack)
    }
}

component!(Plugin);

// `declare` is plain Rust: these tests call it on the host with `cargo test`.
// (Only `engine_sdk::log` needs the engine; a test that reaches it aborts.)
#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::new("test", "us-east-1", "dev")
    }

    #[test]
    fn the_topic_is_encrypted_with_the_key() {
        let stack = Plugin::declare(&ctx()).expect("declares");
        let Some(ResourceSpec::SnsTopic(topic)) = stack.get("topic") else {
            panic!("no topic declared");
        };
        assert_eq!(topic.name, "{{name}}-dev");
        let key = topic
            .kms_key_id
            .as_ref()
            .and_then(Text::reference)
            .expect("the topic refers to a key");
        assert_eq!(
            (key.resource.as_str(), key.attribute.as_str()),
            ("key", "arn")
        );
        let Some(ResourceSpec::KmsKey(kms)) = stack.get("key") else {
            panic!("no key declared");
        };
        assert!(kms.enable_key_rotation);
        assert_eq!(kms.deletion_window_days, 30);
        assert_eq!(stack.outputs()[0].name, "{{snake}}_topic_arn");
    }

    #[test]
    fn info_declares_every_key_declare_reads() {
        assert!(undeclared_keys::<Plugin>(&ctx()).is_empty());
    }

    #[test]
    fn config_sets_the_deletion_window_and_is_range_checked() {
        let ctx = ctx().with_config("{{name}}-key-deletion-days", "7");
        let stack = Plugin::declare(&ctx).expect("declares");
        let Some(ResourceSpec::KmsKey(kms)) = stack.get("key") else {
            panic!("no key declared");
        };
        assert_eq!(kms.deletion_window_days, 7);

        let ctx = ctx.with_config("{{name}}-key-deletion-days", "3");
        let err = Plugin::declare(&ctx).err().expect("3 days is refused");
        assert!(err.contains("{{name}}-key-deletion-days"), "{err}");
    }
}
