//! `engine check`: policy plugins over a plan, and the gate `apply --policy` uses.
//!
//! A policy plugin sees every resource of the plan (no-ops included) with its
//! planned action, its desired properties (the prior ones for a delete) and the
//! paths of the values known only after apply, and returns violations. Running the
//! policies happens in one place, [`run_policies`], for both `engine check` and
//! [`enforce`]: a policy plugin that cannot be loaded, is a component plugin, or
//! fails in `check` (panic, deadline, memory cap) is a *failure*, which blocks like
//! a mandatory violation and is never counted as a pass.
//!
//! # Layout
//! - [`CheckArgs`] / [`run`]: the command; the report goes to stdout (it is the
//!   command's data), plugin failures to stderr as diagnostics.
//! - [`enforce`]: the gate before apply; everything to stderr.
//! - [`policy_paths`]: `--policy` flags, then `policies` from engine.toml.
//! - [`run_policies`] -> [`Outcome`]: load, check, collect.
//! - Reports: [`human`], [`json`], [`sarif`] (SARIF 2.1.0, for code scanning).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use engine_core::{Action, Diagnostic, Plan};
use engine_runtime::{PolicyAction, PolicyResource, Runtime, Violation};
use serde_json::{Value, json};

use crate::config::Config;
use crate::{Globals, exit, load, ui};

/// Options of `engine check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Component plugins (.wasm)
    #[arg(required = true, value_name = "PLUGIN")]
    pub plugins: Vec<PathBuf>,
    /// Print the result as JSON on stdout
    #[arg(long, conflicts_with = "sarif")]
    pub json: bool,
    /// Print the result as SARIF 2.1.0 on stdout (for code scanning in CI)
    #[arg(long)]
    pub sarif: bool,
}

/// `engine check`. The policies are `--policy` (global, see [`Globals`]) plus
/// `policies` from engine.toml ([`Config::policies`]). Exits 1 on a mandatory
/// violation or a failing policy plugin, 0 otherwise (advisories are shown).
pub fn run(g: &Globals, a: &CheckArgs) -> anyhow::Result<u8> {
    let Some((d, _prior, plan)) = crate::commands::plan::make_plan(g, &a.plugins)? else {
        return Ok(exit::ERROR);
    };
    let policies = policy_paths(g, &d.cfg);
    if policies.is_empty() {
        ui::diagnostics(&[
            Diagnostic::error("no policy plugins to check the plan with")
                .detail("Checking against no policy would pass anything.")
                .hint(
                    "pass one with `--policy FILE` (for example `--policy policies/baseline.wasm`) \
                     or list them in engine.toml: `policies = [\"policies/baseline.wasm\"]`",
                ),
        ]);
        return Ok(exit::ERROR);
    }
    let outcome = run_policies(&d.cfg, g.no_cache, &policies, &plan)?;
    ui::diagnostics(&outcome.failures());
    if a.sarif {
        let sources = d.sources();
        let v = sarif(&outcome, &sources);
        ui::out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    } else if a.json {
        let v = json(&d.cfg, &outcome);
        ui::out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    } else {
        ui::out(&human(&d.cfg, &outcome, ui::color(true)));
    }
    Ok(if outcome.passed() {
        exit::OK
    } else {
        exit::ERROR
    })
}

/// Runs `policies` over `plan` before an apply, printing the report (violations
/// and failures) to stderr. Returns whether the apply may go on: no mandatory
/// violation and no failing policy plugin.
pub fn enforce(
    g: &Globals,
    cfg: &Config,
    policies: &[PathBuf],
    plan: &Plan,
) -> anyhow::Result<bool> {
    if policies.is_empty() {
        return Ok(true);
    }
    let outcome = run_policies(cfg, g.no_cache, policies, plan)?;
    ui::diagnostics(&outcome.failures());
    eprint!("{}", human(cfg, &outcome, ui::color(false)));
    eprintln!();
    Ok(outcome.passed())
}

/// The policy plugins to run: `--policy` flags first, then `policies` from the
/// stack file; a file named twice runs once.
pub fn policy_paths(g: &Globals, cfg: &Config) -> Vec<PathBuf> {
    let all: Vec<PathBuf> = g.policies.iter().chain(&cfg.policies).cloned().collect();
    unique(&all)
}

/// `paths` without repeats of the same file (compared canonically), in order.
fn unique(paths: &[PathBuf]) -> Vec<PathBuf> {
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
pub fn policy_resources(plan: &Plan) -> anyhow::Result<Vec<PolicyResource>> {
    plan.changes
        .iter()
        .map(|c| {
            let spec = c.spec().ok_or_else(|| {
                anyhow::anyhow!(
                    "the plan's properties of `{}` cannot be read back as a {}",
                    c.address,
                    c.kind
                )
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

/// Loads each policy plugin (sandboxed like component plugins: deadline, memory
/// cap, no WASI) and calls `check` with the plan. A file named twice runs once. A
/// plugin that fails is recorded in [`Outcome::runs`] and does not stop the others.
pub fn run_policies(
    cfg: &Config,
    no_cache: bool,
    policies: &[PathBuf],
    plan: &Plan,
) -> anyhow::Result<Outcome> {
    let resources = policy_resources(plan)?;
    let runtime = Runtime::new(
        cfg.limits.clone(),
        if no_cache { None } else { load::cache_dir() },
    )
    .map_err(|e| anyhow::anyhow!("cannot start the plugin runtime: {e:#}"))?;
    let ctx = &cfg.context;
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
            load::plugin_diagnostic(e).detail(
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
                    match p.check(&ctx.stack, &ctx.region, &resources) {
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

/// The report for people: the policies run, then the violations grouped by
/// resource (in address order, mandatory first), then a verdict.
pub fn human(cfg: &Config, o: &Outcome, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let c = &cfg.context;
    let mut s = String::new();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        s,
        "Policy check of stack {} in {} (environment `{}`): {}, {}",
        c.stack,
        c.region,
        c.environment,
        plural(o.resources, "resource", "resources"),
        plural(o.runs.len(), "policy plugin", "policy plugins"),
    );
    for r in &o.runs {
        let version = r
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        let status = match &r.failure {
            Some(d) => {
                let summary: Vec<&str> = d.summary.lines().map(str::trim).collect();
                paint("1;31", &format!("FAILED: {}", summary.join(" ")))
            }
            None if r.violations == 1 => "1 violation".into(),
            None => format!("{} violations", r.violations),
        };
        let _ = writeln!(
            s,
            "  {}{version} ({}): {status}",
            r.label(),
            r.path.display()
        );
    }
    let mut by_address: BTreeMap<&str, Vec<&Violation>> = BTreeMap::new();
    for v in &o.violations {
        by_address.entry(v.address.as_str()).or_default().push(v);
    }
    for (address, mut vs) in by_address {
        vs.sort_by_key(|v| !v.mandatory);
        let kind = o
            .kinds
            .get(address)
            .map_or_else(|| "not in the plan".to_string(), Clone::clone);
        let _ = writeln!(s, "\n{} ({kind})", paint("1", address));
        for v in vs {
            let level = if v.mandatory {
                paint("1;31", "mandatory")
            } else {
                paint("1;33", "advisory")
            };
            let _ = writeln!(s, "  {level}: {} ({})", v.policy, v.plugin);
            for line in v.message.lines() {
                let _ = writeln!(s, "    {line}");
            }
            if !v.remediation.is_empty() {
                let _ = writeln!(s, "    hint: {}", v.remediation);
            }
        }
    }
    let (mandatory, advisory, failed) = (o.mandatory(), o.advisory(), o.failed());
    let mut counts = vec![
        plural(mandatory, "mandatory violation", "mandatory violations"),
        plural(advisory, "advisory", "advisories"),
    ];
    if failed > 0 {
        counts.push(plural(
            failed,
            "policy plugin failed",
            "policy plugins failed",
        ));
    }
    let verdict = if o.passed() {
        paint("1;32", "Passed")
    } else {
        paint("1;31", "Failed")
    };
    let _ = writeln!(s, "\n{verdict}: {}.", counts.join(", "));
    s
}

fn severity(v: &Violation) -> &'static str {
    if v.mandatory { "mandatory" } else { "advisory" }
}

/// The result as JSON: the verdict, each policy plugin's run, every violation.
pub fn json(cfg: &Config, o: &Outcome) -> Value {
    json!({
        "passed": o.passed(),
        "stack": cfg.context.stack,
        "region": cfg.context.region,
        "environment": cfg.context.environment,
        "resources": o.resources,
        "policies": o.runs.iter().map(|r| json!({
            "name": r.name,
            "version": r.version,
            "path": r.path,
            "passed": r.failure.is_none(),
            "violations": r.violations,
            "failure": r.failure,
        })).collect::<Vec<_>>(),
        "violations": o.violations.iter().map(|v| json!({
            "plugin": v.plugin,
            "policy": v.policy,
            "severity": severity(v),
            "address": v.address,
            "kind": o.kinds.get(&v.address),
            "message": v.message,
            "remediation": v.remediation,
        })).collect::<Vec<_>>(),
        "summary": {
            "mandatory": o.mandatory(),
            "advisory": o.advisory(),
            "failed_policies": o.failed(),
        },
    })
}

/// The result as a SARIF 2.1.0 log with one run.
///
/// - `tool.driver` is the engine; its `rules` are the policy ids reported (one rule
///   per id, in order of first appearance, with the plugin that reported it), and
///   `tool.extensions` lists the policy plugins.
/// - Each violation is a result: `level` `error` (mandatory) or `warning`
///   (advisory); the message, then the remediation; a logical location per
///   resource address (`kind` `resource`), plus the physical location of the plugin
///   file that declares the resource (code-scanning services need one).
/// - A failing policy plugin makes `invocations[0].executionSuccessful` false, with
///   an error notification naming it.
///
/// `sources` maps component plugin names to their files.
pub fn sarif(o: &Outcome, sources: &BTreeMap<String, String>) -> Value {
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for v in &o.violations {
        if !rule_index.contains_key(v.policy.as_str()) {
            rule_index.insert(&v.policy, rules.len());
            rules.push(json!({
                "id": v.policy,
                "name": v.policy,
                "shortDescription": { "text": format!("Policy `{}` of the `{}` policy plugin", v.policy, v.plugin) },
                "properties": { "plugin": v.plugin },
            }));
        }
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let results: Vec<Value> = o
        .violations
        .iter()
        .map(|v| {
            let mut location = json!({
                "logicalLocations": [{
                    "fullyQualifiedName": v.address,
                    "name": v.address.split_once('/').map_or(v.address.as_str(), |(_, n)| n),
                    "kind": "resource",
                }],
            });
            let plugin = v.address.split_once('/').map(|(p, _)| p);
            if let Some(file) = plugin.and_then(|p| sources.get(p)) {
                location["physicalLocation"] =
                    json!({ "artifactLocation": { "uri": artifact_uri(Path::new(file), &cwd) } });
            }
            let mut text = v.message.clone();
            if !v.remediation.is_empty() {
                text = format!("{text}\nRemediation: {}", v.remediation);
            }
            json!({
                "ruleId": v.policy,
                "ruleIndex": rule_index.get(v.policy.as_str()),
                "level": if v.mandatory { "error" } else { "warning" },
                "message": { "text": text },
                "locations": [location],
                "partialFingerprints": { "engineResource/v1": format!("{}:{}:{}", v.plugin, v.policy, v.address) },
                "properties": {
                    "plugin": v.plugin,
                    "severity": severity(v),
                    "address": v.address,
                    "kind": o.kinds.get(&v.address),
                    "remediation": v.remediation,
                },
            })
        })
        .collect();
    let notifications: Vec<Value> = o
        .runs
        .iter()
        .filter_map(|r| {
            r.failure.as_ref().map(|d| {
                json!({
                    "level": "error",
                    "message": { "text": format!("policy plugin `{}` failed: {}", r.label(), d.summary) },
                    "properties": { "path": r.path },
                })
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "engine",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                },
                "extensions": o.runs.iter().map(|r| {
                    let mut e = json!({ "name": r.label() });
                    if let Some(v) = &r.version {
                        e["semanticVersion"] = json!(v);
                    }
                    e
                }).collect::<Vec<_>>(),
            },
            "invocations": [{
                "executionSuccessful": o.failed() == 0,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// A relative URI (forward slashes) for `file` when it lies under `cwd`, else a
/// `file://` URI.
fn artifact_uri(file: &Path, cwd: &Path) -> String {
    let abs = if file.is_absolute() {
        file.to_path_buf()
    } else {
        cwd.join(file)
    };
    match abs.strip_prefix(cwd) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => format!("file://{}", abs.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_are_relative_under_the_working_directory() {
        let cwd = Path::new("/work/stack");
        assert_eq!(
            artifact_uri(Path::new("plugins/rds.wasm"), cwd),
            "plugins/rds.wasm"
        );
        assert_eq!(
            artifact_uri(Path::new("/work/stack/plugins/rds.wasm"), cwd),
            "plugins/rds.wasm"
        );
        assert_eq!(
            artifact_uri(Path::new("/elsewhere/rds.wasm"), cwd),
            "file:///elsewhere/rds.wasm"
        );
    }

    #[test]
    fn a_policy_named_twice_runs_once() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            unique(&[p("a.wasm"), p("b.wasm"), p("a.wasm")]),
            [p("a.wasm"), p("b.wasm")]
        );
    }
}
