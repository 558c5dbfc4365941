//! A policy plugin built against the frozen contract `engine:plugin@0.1.0`: it must
//! keep checking plans of the current contract, seeing only the kinds 0.1.0 knows.
//! It reports one advisory `seen` violation per resource it is shown (so a test can
//! tell what it saw), and a mandatory one for an SNS topic without a KMS key.

wit_bindgen::generate!({
    path: "../../../wit/0.1.0",
    world: "engine:plugin/policy",
});

use engine::plugin::types::*;
use exports::engine::plugin::policy_plugin::Guest;

struct Legacy;

impl Guest for Legacy {
    fn metadata() -> PluginInfo {
        PluginInfo {
            name: "legacy-policy".into(),
            version: "0.1.0".into(),
            description: "A policy built for engine:plugin@0.1.0.".into(),
        }
    }

    fn check(plan: PlanView) -> Vec<Violation> {
        let mut out = Vec::new();
        for r in &plan.resources {
            out.push(Violation {
                policy: "seen".into(),
                severity: Severity::Advisory,
                address: r.address.clone(),
                message: format!("seen by a 0.1.0 policy in stack {}", plan.stack),
                remediation: "nothing to do".into(),
            });
            if let ResourceSpec::SnsTopic(t) = &r.spec
                && t.kms_key_id.is_none()
            {
                out.push(Violation {
                    policy: "topic-encrypted".into(),
                    severity: Severity::Mandatory,
                    address: r.address.clone(),
                    message: format!("the topic {} is not encrypted", t.name),
                    remediation: "set kms-key-id".into(),
                });
            }
        }
        out
    }
}

export!(Legacy);
