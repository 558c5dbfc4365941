//! `engine check`: policy plugins over a plan, and the gate `apply --policy` uses.
//!
//! A policy plugin sees every resource of the plan (no-ops included) with its
//! planned action, its desired properties (the prior ones for a delete) and the
//! paths of the values known only after apply, and returns violations. Running the
//! policies happens in one place, `engine_policy::run_policies`, for both `engine check`
//! and [`enforce`]: a policy plugin that cannot be loaded, is a component plugin, or
//! fails in `check` (panic, deadline, memory cap) is a *failure*, which blocks like
//! a mandatory violation and is never counted as a pass.
//!
//! The stack's `[[waivers]]` ([`Config::waivers`]) are applied to every outcome
//! ([`run`]): a waived violation is reported with its reason but does not block; a
//! waiver that matches nothing is a warning on stderr.
//!
//! # Layout
//! - [`CheckArgs`] / [`check`]: the command; the report goes to stdout (it is the
//!   command's data), plugin failures to stderr as diagnostics.
//! - [`enforce`]: the gate before apply; everything to stderr.
//! - [`policy_paths`]: `--policy` flags, then `policies` from engine.toml.
//! - Evaluation (`run_policies` -> `Outcome`) is the `engine-policy` crate's.
//! - [`report`]: the reports, `human`, `json` and `sarif` (SARIF 2.1.0, for code
//!   scanning).

pub mod report;

use report::{human, json, sarif};

use std::path::PathBuf;

use engine_core::{Diagnostic, Plan};
use engine_policy::{Outcome, unique};

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
/// violation that is not waived or a failing policy plugin, 0 otherwise
/// (advisories and waived violations are shown).
pub fn check(g: &Globals, a: &CheckArgs) -> anyhow::Result<u8> {
    // Offline: the plugins use their default zones (see `crate::facts`).
    let Some((d, _prior, plan)) = crate::commands::plan::make_plan(
        g,
        &a.plugins,
        crate::commands::plan::Facts::Offline,
        &Default::default(),
    )?
    else {
        return Ok(exit::ERROR);
    };
    let policies = policy_paths(g, &d.cfg);
    if policies.is_empty() {
        ui::diagnostics(&[Diagnostic::error("no policies to check the plan with")
            .detail("Checking against no policy would pass anything.")
            .hint(
                "pass one with `--policy FILE` (for example `--policy policies/baseline.wasm`) \
                     or list them in engine.toml: `policies = [\"policies/baseline.wasm\"]`",
            )]);
        return Ok(exit::ERROR);
    }
    let outcome = run(&d.cfg, g, &policies, &plan)?;
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

/// Runs `policies` over `plan` before an apply, printing the report (violations,
/// waived ones with their reason, and failures) to stderr. Returns whether the
/// apply may go on: no mandatory violation that is not waived and no failing
/// policy plugin.
pub fn enforce(
    g: &Globals,
    cfg: &Config,
    policies: &[PathBuf],
    plan: &Plan,
) -> anyhow::Result<bool> {
    if policies.is_empty() {
        return Ok(true);
    }
    let outcome = run(cfg, g, policies, plan)?;
    ui::diagnostics(&outcome.failures());
    eprint!("{}", human(cfg, &outcome, ui::color(false)));
    eprintln!();
    Ok(outcome.passed())
}

/// Runs `policies` over `plan` in a runtime with the stack's limits, then applies
/// the stack's waivers; a waiver that matches no violation is a warning.
fn run(cfg: &Config, g: &Globals, policies: &[PathBuf], plan: &Plan) -> anyhow::Result<Outcome> {
    let runtime = load::runtime(cfg, g.no_cache)?;
    let ctx = &cfg.context;
    // The flag, else the stack file's `rego-package`, else conftest's `main`.
    let package = g
        .rego_package
        .as_deref()
        .or(cfg.rego_package.as_deref())
        .unwrap_or(engine_policy::rego::DEFAULT_PACKAGE);
    let mut outcome = engine_policy::run_policies(&runtime, ctx, policies, package, plan)?;
    outcome.waive(&cfg.waivers);
    for w in outcome.unmatched_waivers() {
        ui::warning(&format!(
            "waiver for {} on {} ({}) matched nothing: remove it or check the rule and the \
             address",
            w.rule, w.address, w.source
        ));
    }
    Ok(outcome)
}

/// The policy plugins to run: `--policy` flags first, then `policies` from the
/// stack file; a file named twice runs once.
pub fn policy_paths(g: &Globals, cfg: &Config) -> Vec<PathBuf> {
    let all: Vec<PathBuf> = g.policies.iter().chain(&cfg.policies).cloned().collect();
    unique(&all)
}
