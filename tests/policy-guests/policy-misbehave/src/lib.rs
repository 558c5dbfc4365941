//! A policy plugin that fails on purpose, chosen by the stack name (a policy takes
//! no config): `policy-panics` panics in `check`, `policy-loops` never returns,
//! `policy-grows` allocates until the memory cap stops it. `policy-echo` gets one
//! advisory violation per resource describing what the policy saw (action, kind,
//! unknown paths), so tests can check the plan view. `policy-hostile` gets one
//! mandatory violation on the first resource whose rule id, message and
//! remediation carry terminal escapes and line breaks. Any other stack gets one
//! advisory violation, `demo-advisory`, on its first resource.

use engine_sdk::*;

struct Misbehave;

impl PolicyPlugin for Misbehave {
    fn info() -> PluginInfo {
        info!("misbehaving-policy", "Fails on purpose, by stack name.")
    }

    fn check(plan: &PlanView) -> Vec<Violation> {
        match plan.stack.as_str() {
            "policy-panics" => panic!("policy bug: cannot read the plan"),
            "policy-loops" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "policy-grows" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "policy-echo" => plan.resources.iter().map(echo).collect(),
            "policy-hostile" => plan
                .resources
                .first()
                .map(|r| Violation {
                    policy: "rule\x1b[31m".into(),
                    severity: Severity::Mandatory,
                    address: r.address.clone(),
                    message: "\x1b[2Jscreen cleared\nsecond line\r\x1b[32mPassed: all good\x1b[0m"
                        .into(),
                    remediation: "run \x1b]8;;http://evil\x07this\x1b]8;;\x07\nnow".into(),
                })
                .into_iter()
                .collect(),
            _ => plan
                .resources
                .first()
                .map(|r| Violation {
                    policy: "demo-advisory".into(),
                    severity: Severity::Advisory,
                    address: r.address.clone(),
                    message: "This is only a demonstration.".into(),
                    remediation: "Nothing to do.".into(),
                })
                .into_iter()
                .collect(),
        }
    }
}

/// `<action> <kind> unknown=[<paths>]` for one resource.
fn echo(r: &PlannedResource) -> Violation {
    let action = match r.action {
        Action::NoOp => "no-op",
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
    };
    // The generated Debug prints `ResourceSpec::Kind(...)`.
    let spec = format!("{:?}", r.spec);
    let kind = spec
        .split('(')
        .next()
        .unwrap_or_default()
        .trim_start_matches("ResourceSpec::");
    Violation {
        policy: "echo".into(),
        severity: Severity::Advisory,
        address: r.address.clone(),
        message: format!("{action} {kind} unknown=[{}]", r.unknown.join(",")),
        remediation: String::new(),
    }
}

policy!(Misbehave);
