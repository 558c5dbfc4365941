//! `engine validate`, `engine plan` and `engine graph`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine_core::{Diagnostic, Graph, Plan, SavedPlan, render};

use crate::config::{self, Config};
use crate::{Globals, exit, load, ui};

/// Loads the plugins and builds the desired graph, printing any diagnostics.
pub struct Declared {
    /// The configuration in force.
    pub cfg: Config,
    /// The plugins and their declarations.
    pub loaded: load::Loaded,
    /// The graph, when every plugin declared and the merge validated.
    pub graph: Option<Graph>,
}

impl Declared {
    /// Plugin name -> sha256 of the loaded file.
    pub fn sha256s(&self) -> BTreeMap<String, String> {
        self.loaded
            .plugins
            .iter()
            .map(|p| (p.name().to_string(), p.sha256().to_string()))
            .collect()
    }

    /// Plugin name -> the path it was loaded from.
    pub fn sources(&self) -> BTreeMap<String, String> {
        self.loaded
            .plugins
            .iter()
            .map(|p| (p.name().to_string(), p.path().display().to_string()))
            .collect()
    }
}

/// Whether plugins declare with facts read from AWS ([`crate::facts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facts {
    /// No AWS call: the plugins use their defaults (`validate`, `graph`, `check`).
    Offline,
    /// Read from AWS before declaring, unless pinned (`plan`).
    FromAws,
}

/// Loads the stack's configuration, then declares every plugin.
pub fn declare(g: &Globals, plugins: &[PathBuf], facts: Facts) -> anyhow::Result<Declared> {
    let cwd = std::env::current_dir()?;
    let cfg = config::load(&cwd, &g.overrides)?;
    let d = declare_reading(g, plugins, cfg, facts)?;
    // The endpoint services the plugins named: their zones, then declare again.
    if facts == Facts::FromAws
        && let Some(graph) = &d.graph
    {
        let services = crate::facts::endpoint_services(graph);
        let mut cfg = d.cfg.clone();
        if crate::facts::add_service_zones_from_env(&mut cfg, &services) {
            return declare_with(g, plugins, cfg);
        }
    }
    Ok(d)
}

/// Loads and declares every plugin with `cfg` (facts included).
pub fn declare_with(g: &Globals, plugins: &[PathBuf], cfg: Config) -> anyhow::Result<Declared> {
    declare_reading(g, plugins, cfg, Facts::Offline)
}

/// Loads every plugin, reads the facts they need from AWS when `facts` says so
/// (the region's zones when one of them reads the zones key, unless pinned), and
/// declares every plugin.
fn declare_reading(
    g: &Globals,
    plugins: &[PathBuf],
    mut cfg: Config,
    facts: Facts,
) -> anyhow::Result<Declared> {
    let runtime = load::runtime(&cfg, g.no_cache)?;
    let options = cfg.sdk_options();
    let mut loaded = load::declare_all(&runtime, plugins, &mut cfg.context, |keys, ctx| {
        if facts == Facts::FromAws && crate::facts::needs_zones(keys) {
            crate::facts::add_zones_from_env(ctx, &options);
        }
    });
    let graph = load::graph(&mut loaded, plugins.len());
    ui::diagnostics(&loaded.diagnostics);
    Ok(Declared { cfg, loaded, graph })
}

/// Opens the state backend and reads the state (empty when there is none).
#[allow(clippy::result_large_err)] // one diagnostic, printed once
pub fn read_state(
    g: &Globals,
) -> Result<(Box<dyn engine_state::StateBackend>, engine_core::State), Diagnostic> {
    let backend = engine_state::open(&g.state).map_err(|e| e.diagnostic())?;
    let state = backend.read_or_empty().map_err(|e| e.diagnostic())?;
    Ok((backend, state))
}

/// `engine validate`.
pub fn validate(g: &Globals, plugins: &[PathBuf], json: bool) -> anyhow::Result<u8> {
    let d = declare(g, plugins, Facts::Offline)?;
    if json {
        let v = serde_json::json!({
            "valid": d.graph.is_some(),
            "plugins": d.loaded.plugins.iter().map(|p| serde_json::json!({
                "name": p.name(), "path": p.path(), "sha256": p.sha256(), "version": p.info().version,
                "contract": p.contract(),
            })).collect::<Vec<_>>(),
            "resources": d.graph.as_ref().map_or(0, |g| g.resources.len()),
            "diagnostics": d.loaded.diagnostics,
        });
        ui::out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let Some(graph) = d.graph else {
        return Ok(exit::ERROR);
    };
    if !json {
        for p in &d.loaded.plugins {
            let older = if p.contract() == engine_runtime::WIT_VERSION {
                ""
            } else {
                " (an older contract: its declarations are converted up)"
            };
            eprintln!(
                "{}: {} plugin, engine:plugin@{}{older}",
                p.name(),
                p.kind(),
                p.contract()
            );
        }
        eprintln!(
            "Valid: {} plugins, {} resources, {} outputs.",
            d.loaded.plugins.len(),
            graph.resources.len(),
            graph.outputs.len()
        );
    }
    Ok(exit::OK)
}

/// Options of `engine plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Component plugins (.wasm)
    #[arg(required = true, value_name = "PLUGIN")]
    pub plugins: Vec<PathBuf>,
    /// Print the plan as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Save the plan to FILE; `engine apply FILE` then applies exactly this plan
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub narrow: TargetArgs,
}

/// `--target` and `--replace`, on `plan` and `apply`.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct TargetArgs {
    /// Plan only ADDRESS (`plugin/name`) and what it depends on (repeatable); the
    /// plan says it is partial, and the rest of the stack is left as it is
    #[arg(long = "target", value_name = "ADDRESS")]
    pub target: Vec<String>,
    /// Replace ADDRESS even when nothing about it changed (repeatable); what
    /// refers to it follows
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
}

impl TargetArgs {
    /// Whether any was given.
    pub fn is_empty(&self) -> bool {
        self.target.is_empty() && self.replace.is_empty()
    }

    /// The request, its addresses checked against what is declared and recorded.
    pub fn request(
        &self,
        graph: &engine_core::Graph,
        state: &engine_core::State,
    ) -> Result<engine_core::plan::Request, Vec<Diagnostic>> {
        let mut bad = Vec::new();
        let mut parse = |flag: &str, list: &[String]| {
            list.iter()
                .filter_map(|a| match engine_core::Address::parse(a) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        bad.push(
                            Diagnostic::error(format!(
                                "`{flag} {}`: {e}",
                                engine_core::printable::short(a, 120)
                            ))
                            .hint("an address is `plugin/name`, as `engine state ls` prints it"),
                        );
                        None
                    }
                })
                .collect()
        };
        let request = engine_core::plan::Request {
            targets: parse("--target", &self.target),
            replace: parse("--replace", &self.replace),
        };
        bad.extend(request.check(graph, state));
        if bad.is_empty() {
            Ok(request)
        } else {
            Err(bad)
        }
    }
}

/// Plans against the stored state; `None` when something was reported.
pub fn make_plan(
    g: &Globals,
    plugins: &[PathBuf],
    facts: Facts,
    narrow: &TargetArgs,
) -> anyhow::Result<Option<(Declared, engine_core::State, Plan)>> {
    let started = std::time::Instant::now();
    let d = declare(g, plugins, facts)?;
    tracing::debug!(elapsed = ?started.elapsed(), "loaded, declared and validated");
    let Some(graph) = &d.graph else {
        return Ok(None);
    };
    let started = std::time::Instant::now();
    let read = read_state(g);
    tracing::debug!(elapsed = ?started.elapsed(), "read the state");
    let (_backend, prior) = match read {
        Ok(x) => x,
        Err(diag) => {
            ui::diagnostics(&[diag]);
            return Ok(None);
        }
    };
    if let Err(diag) = same_environment(g, &d.cfg, &prior) {
        ui::diagnostics(&[diag]);
        return Ok(None);
    }
    let request = match narrow.request(graph, &prior) {
        Ok(r) => r,
        Err(diags) => {
            ui::diagnostics(&diags);
            return Ok(None);
        }
    };
    let started = std::time::Instant::now();
    let plan = engine_core::plan_for(graph, &prior, &d.sha256s(), &request);
    tracing::debug!(elapsed = ?started.elapsed(), "planned");
    Ok(Some((d, prior, plan)))
}

/// A stack's resources carry the environment they were applied with in their
/// names: a plan for another environment would replace every one of them, so it
/// is refused (deploy the other environment as a stack of its own).
#[allow(clippy::result_large_err)] // one diagnostic, printed once
pub fn same_environment(
    g: &Globals,
    cfg: &crate::config::Config,
    state: &engine_core::State,
) -> Result<(), Diagnostic> {
    let wanted = &cfg.context.environment;
    match &state.environment {
        Some(had) if had != wanted && !state.resources.is_empty() => {
            Err(Diagnostic::error(format!(
                "stack `{}` holds {} resources of environment `{had}`; a plan for environment \
                 `{wanted}` would replace every one of them",
                g.stack_name,
                state.resources.len()
            ))
            .hint(format!(
                "deploy `{wanted}` as a stack of its own (`engine stack init {wanted}`), or drop \
             the environment flag or config that asks for `{wanted}`"
            )))
        }
        _ => Ok(()),
    }
}

/// The line above a plan: what stack, where, against which state.
pub fn header(cfg: &Config, g: &Globals, prior: &engine_core::State) -> String {
    let c = &cfg.context;
    let state = if prior.serial == 0 {
        format!("{} (empty)", g.state)
    } else {
        format!(
            "{} (serial {}, {} resources)",
            g.state,
            prior.serial,
            prior.resources.len()
        )
    };
    format!(
        "Stack {} in {} (environment `{}`), state {state}\n",
        c.stack, c.region, c.environment
    )
}

/// `engine plan`.
pub fn plan(g: &Globals, a: &PlanArgs) -> anyhow::Result<u8> {
    let Some((d, prior, plan)) = make_plan(g, &a.plugins, Facts::FromAws, &a.narrow)? else {
        return Ok(exit::ERROR);
    };
    if let Some(out) = &a.out {
        let mut saved = SavedPlan::new(plan.clone(), env!("CARGO_PKG_VERSION"), d.sources());
        saved.stack = Some(g.stack_name.clone());
        write_atomic(out, saved.to_json().as_bytes())?;
    }
    let started = std::time::Instant::now();
    if a.json {
        ui::out(&render::json(&plan, &d.cfg.context));
    } else {
        ui::out(&format!("{}\n", header(&d.cfg, g, &prior)));
        render::human_to(&plan, ui::color(true), &mut |chunk| ui::out(chunk));
    }
    tracing::debug!(elapsed = ?started.elapsed(), "printed the plan");
    if let Some(out) = &a.out {
        eprintln!(
            "Saved this plan to {0}. Apply exactly it with `engine apply {0}`.",
            out.display()
        );
    }
    let code = if a.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    };
    // The process ends next: freeing a large stack's plan, graph and plugins piece
    // by piece would take a second at 100,000 resources and give nothing back.
    std::mem::forget((d, prior, plan));
    Ok(code)
}

/// `engine graph`: the dependency graph in DOT.
pub fn graph(g: &Globals, plugins: &[PathBuf]) -> anyhow::Result<u8> {
    let d = declare(g, plugins, Facts::Offline)?;
    let Some(graph) = d.graph else {
        return Ok(exit::ERROR);
    };
    ui::out(&render::dot(&graph));
    Ok(exit::OK)
}

/// Writes a file atomically (temp file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("plan"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
