//! `{{name}}`: a policy plugin for the `engine` infrastructure-as-code engine.
//!
//! One rule to start from, `encryption-at-rest`: every SNS topic the plan keeps,
//! creates, updates or replaces must be encrypted with a KMS key. Its violations
//! are mandatory: `engine check --policy {{name}}.wasm PLUGINS...` exits 1, and
//! `engine apply --policy {{name}}.wasm ...` refuses to start. Add rules as more
//! functions of a `PlannedResource`; the engine's `docs/authoring.md` lists every
//! kind and field a rule can look at.

use engine_sdk::*;

/// The plugin.
struct Policy;

/// One line about what the plugin checks, part of its `metadata`.
const DESCRIPTION: &str = "SNS topics are encrypted at rest.";

/// The rule's id, shown with each violation.
const ENCRYPTION_AT_REST: &str = "encryption-at-rest";

impl PolicyPlugin for Policy {
    fn info() -> PluginInfo {
        info!("{{name}}", DESCRIPTION)
    }

    fn check(plan: &PlanView) -> Vec<Violation> {
        plan.resources
            .iter()
            .filter_map(unencrypted_topic)
            .collect()
    }
}

/// A violation when `r` is an SNS topic without a KMS key that the plan does not
/// delete. (A key given by reference is unknown until apply, but it is a key:
/// `kms_key_id` is `Some`.)
fn unencrypted_topic(r: &PlannedResource) -> Option<Violation> {
    if r.action == Action::Delete {
        return None;
    }
    let ResourceSpec::SnsTopic(topic) = &r.spec else {
        return None;
    };
    if topic.kms_key_id.is_some() {
        return None;
    }
    Some(Violation::mandatory(
        ENCRYPTION_AT_REST,
        &r.address,
        &format!("SNS topic `{}` is not encrypted at rest.", topic.name),
        "Set the topic's `kms_key_id` to a KMS key: a key declared by the plugin \
         (`Some(key.attr(\"arn\"))`) or an existing key's ARN or alias.",
    ))
}

policy!(Policy);

// `check` is plain Rust: these tests call it on the host with `cargo test`.
#[cfg(test)]
mod tests {
    use super::*;

    fn topic(address: &str, action: Action, kms_key_id: Option<Text>) -> PlannedResource {
        PlannedResource {
            address: address.into(),
            action,
            spec: ResourceSpec::SnsTopic(SnsTopic {
                name: address.replace('/', "-"),
                kms_key_id,
                tags: vec![],
            }),
            unknown: vec![],
        }
    }

    #[test]
    fn flags_only_unencrypted_topics_that_stay() {
        let plan = PlanView {
            stack: "test".into(),
            region: "us-east-1".into(),
            environment: "dev".into(),
            resources: vec![
                topic("app/plain", Action::Create, None),
                topic("app/encrypted", Action::Create, Some("alias/orders".into())),
                topic("app/going", Action::Delete, None),
            ],
        };
        let violations = Policy::check(&plan);
        assert_eq!(violations.len(), 1, "{violations:?}");
        let v = &violations[0];
        assert_eq!(v.address, "app/plain");
        assert_eq!(v.policy, ENCRYPTION_AT_REST);
        assert_eq!(v.severity, Severity::Mandatory);
    }
}
