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
//!
//! A stack can *waive* a rule for one resource, with a reason ([`Waiver`], from its
//! config): a violation of that rule on that address is then *suppressed*. It is
//! still reported (with the reason), but it does not count against
//! [`Outcome::passed`]. A waiver that matches no violation is reported too
//! ([`Outcome::unmatched_waivers`]), so a stale one is noticed.
//!
//! A policy can also be Rego (`.rego` files, [`rego`]): the files given are
//! evaluated together, as one policy, over the plan as JSON, by the engine's
//! Rego evaluator in the same sandbox. Their violations and failures are counted
//! exactly as a plugin's.

pub mod rego;

use std::collections::BTreeMap;
use std::path::PathBuf;

use engine_core::{Diagnostic, Plan};
use engine_runtime::{PolicyResource, Runtime, Violation};

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

/// An explicit exception: the rule `rule` does not apply to the resource
/// `address`, for `reason`. A violation whose `policy` is `rule` and whose
/// `address` is `address` (from any policy plugin) is suppressed, never hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// The rule: a violation's `policy` id.
    pub rule: String,
    /// The resource: `plugin/name`.
    pub address: String,
    /// Why the rule does not apply (never empty).
    pub reason: String,
    /// Where it is declared (a file name), for messages.
    pub source: String,
}

impl Waiver {
    /// Whether it waives `v`: the same rule on the same resource.
    pub fn matches(&self, v: &Violation) -> bool {
        v.policy == self.rule && v.address == self.address
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
    /// The stack's waivers ([`Outcome::waive`]), in the order declared.
    pub waivers: Vec<Waiver>,
}

impl Outcome {
    /// Applies the stack's `waivers`: from now on a violation one of them
    /// [matches](Waiver::matches) is suppressed.
    pub fn waive(&mut self, waivers: &[Waiver]) {
        self.waivers = waivers.to_vec();
    }

    /// The waiver that suppresses `v`, if any (the first declared that matches).
    pub fn waiver(&self, v: &Violation) -> Option<&Waiver> {
        self.waivers.iter().find(|w| w.matches(v))
    }

    /// The waivers that match no violation: stale, or with a wrong rule or address.
    pub fn unmatched_waivers(&self) -> Vec<&Waiver> {
        self.waivers
            .iter()
            .filter(|w| !self.violations.iter().any(|v| w.matches(v)))
            .collect()
    }

    /// How many violations of `mandatory` severity are (`waived`) or are not
    /// suppressed.
    fn count(&self, mandatory: bool, waived: bool) -> usize {
        self.violations
            .iter()
            .filter(|v| v.mandatory == mandatory && self.waiver(v).is_some() == waived)
            .count()
    }

    /// How many mandatory violations are not waived: the ones that block.
    pub fn mandatory(&self) -> usize {
        self.count(true, false)
    }

    /// How many advisory violations are not waived.
    pub fn advisory(&self) -> usize {
        self.count(false, false)
    }

    /// How many mandatory violations are waived (they do not block).
    pub fn waived_mandatory(&self) -> usize {
        self.count(true, true)
    }

    /// How many advisory violations are waived.
    pub fn waived_advisory(&self) -> usize {
        self.count(false, true)
    }

    /// How many policy plugins failed.
    pub fn failed(&self) -> usize {
        self.runs.iter().filter(|r| r.failure.is_some()).count()
    }

    /// Whether the plan may be applied: no mandatory violation that is not waived,
    /// no failed plugin.
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
                action: c.action.into(),
                spec,
                unknown: c.unknown.clone(),
            })
        })
        .collect()
}

/// Loads each policy plugin in `runtime` (sandboxed like component plugins:
/// deadline, memory cap, no WASI) and calls `check` with the plan of `stack` in
/// `region`. The `.rego` files among `policies` run together as one policy, in the
/// place of the first, evaluating the package `rego_package`
/// ([`rego::DEFAULT_PACKAGE`] unless chosen). A file named twice runs once. A
/// policy that fails is recorded in [`Outcome::runs`] and does not stop the
/// others. No violation is waived yet ([`Outcome::waive`]).
pub fn run_policies(
    runtime: &Runtime,
    ctx: &engine_core::Context,
    policies: &[PathBuf],
    rego_package: &str,
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
        waivers: Vec::new(),
    };
    let policies = unique(policies);
    let rego_files: Vec<PathBuf> = policies
        .iter()
        .filter(|p| rego::is_rego(p))
        .cloned()
        .collect();
    for path in policies {
        if rego::is_rego(&path) {
            if rego_files.first() == Some(&path) {
                let (run, found) = run_rego(runtime, ctx, &rego_files, rego_package, plan);
                outcome.violations.extend(found);
                outcome.runs.push(run);
            }
            continue;
        }
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
                    match p.check(ctx, &resources) {
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

/// The Rego `files`, together, over `plan` as `engine plan --json` prints it.
fn run_rego(
    runtime: &Runtime,
    ctx: &engine_core::Context,
    files: &[PathBuf],
    package: &str,
    plan: &Plan,
) -> (PolicyRun, Vec<Violation>) {
    let label = rego::label(files);
    let mut run = PolicyRun {
        path: files[0].clone(),
        name: Some(label.clone()),
        version: None,
        failure: None,
        violations: 0,
    };
    let found = rego::read(files).and_then(|modules| {
        let input = engine_core::render::json(plan, ctx);
        rego::evaluate(runtime, &label, &modules, package, &input)
    });
    match found {
        Ok(found) => {
            tracing::debug!(policy = label, violations = found.len(), "checked");
            run.violations = found.len();
            (run, found)
        }
        Err(d) => {
            run.failure = Some(*d);
            (run, Vec::new())
        }
    }
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

    fn violation(policy: &str, address: &str, mandatory: bool) -> Violation {
        Violation {
            plugin: "baseline".into(),
            policy: policy.into(),
            mandatory,
            address: address.into(),
            message: "m".into(),
            remediation: "r".into(),
        }
    }

    fn waiver(rule: &str, address: &str, reason: &str) -> Waiver {
        Waiver {
            rule: rule.into(),
            address: address.into(),
            reason: reason.into(),
            source: "engine.toml".into(),
        }
    }

    fn outcome(violations: Vec<Violation>) -> Outcome {
        Outcome {
            runs: Vec::new(),
            violations,
            kinds: BTreeMap::new(),
            resources: 3,
            waivers: Vec::new(),
        }
    }

    #[test]
    fn a_waiver_matches_only_its_rule_on_its_resource() {
        let w = waiver("backup-retention", "rds/db", "dev");
        assert!(w.matches(&violation("backup-retention", "rds/db", true)));
        assert!(!w.matches(&violation("backup-retention", "rds/other", true)));
        assert!(!w.matches(&violation("multi-az", "rds/db", true)));
        // Exact: no prefix, case or pattern matching.
        assert!(!w.matches(&violation("backup-retention", "rds/db2", true)));
        assert!(!w.matches(&violation("Backup-Retention", "rds/db", true)));
    }

    #[test]
    fn a_waived_mandatory_violation_does_not_block_but_is_still_reported() {
        let mut o = outcome(vec![
            violation("backup-retention", "rds/db", true),
            violation("multi-az", "rds/db", true),
            violation("demo", "vpc/main", false),
        ]);
        assert!(!o.passed());
        assert_eq!((o.mandatory(), o.advisory()), (2, 1));

        o.waive(&[waiver("backup-retention", "rds/db", "rebuilt nightly")]);
        assert_eq!(o.violations.len(), 3, "nothing is hidden");
        assert_eq!(
            (
                o.mandatory(),
                o.advisory(),
                o.waived_mandatory(),
                o.waived_advisory()
            ),
            (1, 1, 1, 0)
        );
        assert!(!o.passed(), "the other mandatory violation still blocks");
        assert_eq!(
            o.waiver(&o.violations[0]).map(|w| w.reason.as_str()),
            Some("rebuilt nightly")
        );
        assert_eq!(o.waiver(&o.violations[1]), None);

        o.waive(&[
            waiver("backup-retention", "rds/db", "rebuilt nightly"),
            waiver("multi-az", "rds/db", "one zone is enough for dev"),
            waiver("demo", "vpc/main", "known"),
        ]);
        assert!(o.passed());
        assert_eq!(
            (
                o.mandatory(),
                o.advisory(),
                o.waived_mandatory(),
                o.waived_advisory()
            ),
            (0, 0, 2, 1)
        );
        assert!(o.unmatched_waivers().is_empty());
    }

    #[test]
    fn a_waiver_covers_every_violation_of_its_rule_on_its_resource() {
        let mut o = outcome(vec![
            violation("ingress-restricted", "net/sg", true),
            violation("ingress-restricted", "net/sg", true),
        ]);
        o.waive(&[waiver("ingress-restricted", "net/sg", "a bastion")]);
        assert_eq!((o.mandatory(), o.waived_mandatory()), (0, 2));
        assert!(o.passed());
    }

    #[test]
    fn a_waiver_does_not_excuse_a_failed_policy_plugin() {
        let mut o = outcome(vec![violation("backup-retention", "rds/db", true)]);
        o.runs.push(PolicyRun {
            path: PathBuf::from("broken.wasm"),
            name: None,
            version: None,
            failure: Some(Diagnostic::error("panicked")),
            violations: 0,
        });
        o.waive(&[waiver("backup-retention", "rds/db", "dev")]);
        assert_eq!(o.mandatory(), 0);
        assert!(!o.passed());
    }

    #[test]
    fn waivers_that_match_nothing_are_listed() {
        let mut o = outcome(vec![violation("backup-retention", "rds/db", true)]);
        o.waive(&[
            waiver("backup-retention", "rds/db", "dev"),
            waiver("backup-retention", "rds/old-db", "gone"),
            waiver("multi-az", "rds/db", "not broken"),
        ]);
        let stale: Vec<(&str, &str)> = o
            .unmatched_waivers()
            .iter()
            .map(|w| (w.rule.as_str(), w.address.as_str()))
            .collect();
        assert_eq!(
            stale,
            [("backup-retention", "rds/old-db"), ("multi-az", "rds/db")]
        );
    }
}
