//! Policy evaluation: policy plugins over a plan, and the verdict that gates an
//! apply. The CLI renders the [`Outcome`] (`engine check`) and refuses an apply that
//! has not [`passed`](Outcome::passed); everything that decides lives here, so the
//! gate is tested without the binary.
//!
//! A policy plugin sees every resource of the plan (no-ops included) with its
//! planned action, its desired properties (the prior ones for a delete) and the
//! paths of the values known only after apply, and returns violations. A policy
//! plugin that cannot be loaded, is a component plugin, or fails in `check` (panic,
//! deadline, memory cap) is a *failure*, which blocks like a mandatory violation
//! and is never counted as a pass.

use std::collections::BTreeMap;
use std::path::PathBuf;

use engine_core::{Action, Diagnostic, Plan};
use engine_runtime::{PolicyAction, PolicyResource, Runtime, Violation};

/// Why the policies could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A change of the plan does not read back as its kind.
    #[error("the plan's properties of `{address}` cannot be read back as a {kind}")]
    Unreadable {
        /// The resource.
        address: String,
        /// Its kind.
        kind: String,
    },
}

/// `paths` in order, without repeats of the same file (compared canonically).
pub fn unique(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for p in paths {
        let key = p.canonicalize().unwrap_or_else(|_| p.clone());
        if !seen.contains(&key) {
            seen.push(key);
            out.push(p.clone());
        }
    }
    out
}

/// One policy plugin's run.
#[derive(Debug)]
pub struct PolicyRun {
    /// The file.
    pub path: PathBuf,
    /// Its name, once loaded.
    pub name: Option<String>,
    /// Its version, once loaded.
    pub version: Option<String>,
    /// Why it failed, if it did.
    pub failure: Option<Diagnostic>,
    /// How many violations it reported.
    pub violations: usize,
}

impl PolicyRun {
    /// The name, or the file while the name is not known.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

/// What running the policies found.
#[derive(Debug)]
pub struct Outcome {
    /// Each policy plugin, in the order given.
    pub runs: Vec<PolicyRun>,
    /// Every violation, in the order the plugins reported them.
    pub violations: Vec<Violation>,
    /// The kind of each resource in the plan, by address (for the report).
    pub kinds: BTreeMap<String, String>,
    /// How many resources the policies saw.
    pub resources: usize,
}

impl Outcome {
    /// How many violations are mandatory.
    pub fn mandatory(&self) -> usize {
        self.violations.iter().filter(|v| v.mandatory).count()
    }

    /// How many violations are advisory.
    pub fn advisory(&self) -> usize {
        self.violations.len() - self.mandatory()
    }

    /// How many policy plugins failed.
    pub fn failed(&self) -> usize {
        self.runs.iter().filter(|r| r.failure.is_some()).count()
    }

    /// Whether the plan may be applied: no mandatory violation, no failed plugin.
    pub fn passed(&self) -> bool {
        self.mandatory() == 0 && self.failed() == 0
    }

    /// The failures, as diagnostics.
    pub fn failures(&self) -> Vec<Diagnostic> {
        self.runs.iter().filter_map(|r| r.failure.clone()).collect()
    }
}

/// What a policy plugin sees of a plan: every change, no-ops included, with the
/// desired properties (the prior ones for a delete) and the unknown paths.
pub fn policy_resources(plan: &Plan) -> Result<Vec<PolicyResource>, PolicyError> {
    plan.changes
        .iter()
        .map(|c| {
            let spec = c.spec().ok_or_else(|| PolicyError::Unreadable {
                address: c.address.to_string(),
                kind: c.kind.to_string(),
            })?;
            Ok(PolicyResource {
                address: c.address.clone(),
                action: match c.action {
                    Action::NoOp => PolicyAction::NoOp,
                    Action::Create => PolicyAction::Create,
                    Action::Update => PolicyAction::Update,
                    Action::Replace => PolicyAction::Replace,
                    Action::Delete => PolicyAction::Delete,
                },
                spec,
                unknown: c.unknown.clone(),
            })
        })
        .collect()
}

/// Loads each policy plugin in `runtime` (sandboxed like component plugins:
/// deadline, memory cap, no WASI) and calls `check` with the plan of `stack` in
/// `region`. A file named twice runs once. A plugin that fails is recorded in
/// [`Outcome::runs`] and does not stop the others.
pub fn run_policies(
    runtime: &Runtime,
    stack: &str,
    region: &str,
    policies: &[PathBuf],
    plan: &Plan,
) -> Result<Outcome, PolicyError> {
    let resources = policy_resources(plan)?;
    let mut outcome = Outcome {
        runs: Vec::new(),
        violations: Vec::new(),
        kinds: plan
            .changes
            .iter()
            .map(|c| (c.address.to_string(), c.kind.to_string()))
            .collect(),
        resources: resources.len(),
    };
    for path in unique(policies) {
        let mut run = PolicyRun {
            path: path.clone(),
            name: None,
            version: None,
            failure: None,
            violations: 0,
        };
        let failed = |e: &engine_runtime::PluginError| {
            e.diagnostic().detail(
                "The policy plugin could not check the plan, so the plan has not passed it.",
            )
        };
        match runtime.load(&path) {
            Err(e) => run.failure = Some(failed(&e)),
            Ok(mut p) => {
                run.name = Some(p.name().to_string());
                run.version = Some(p.info().version.clone());
                if p.kind() != engine_runtime::PluginKind::Policy {
                    run.failure = Some(
                        Diagnostic::error(format!(
                            "{} is a component plugin; pass it without --policy",
                            path.display()
                        ))
                        .plugin(p.name())
                        .detail(
                            "Policy plugins export `policy-plugin`; this one declares resources.",
                        )
                        .hint(
                            "component plugins are the command's arguments: \
                             `engine check --policy POLICY.wasm PLUGIN.wasm...`",
                        ),
                    );
                } else {
                    match p.check(stack, region, &resources) {
                        Ok(found) => {
                            tracing::debug!(plugin = p.name(), violations = found.len(), "checked");
                            run.violations = found.len();
                            outcome.violations.extend(found);
                        }
                        Err(e) => run.failure = Some(failed(&e)),
                    }
                }
            }
        }
        outcome.runs.push(run);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_named_twice_runs_once() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            unique(&[p("a.wasm"), p("b.wasm"), p("a.wasm")]),
            [p("a.wasm"), p("b.wasm")]
        );
    }
}
