//! `engine apply`, `engine destroy`, `engine refresh` and `engine output`.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine_aws::{Aws, CallCounter, ProviderOptions, SdkOptions, StackIdentity};
use engine_core::plan::StepOp;
use engine_core::{Address, Diagnostic, Graph, Plan, SavedPlan, State, render};
use engine_exec::{Event, Options, Report, Stop, StopLevel};
use engine_state::{LockInfo, StateBackend, StateLock};
use sha2::{Digest, Sha256};

use crate::commands::plan::{declare, header};
use crate::config::{self, Config};
use crate::{Globals, exit, ui};

/// Options of `engine apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Component plugins (.wasm), or one saved plan file from `engine plan --out`
    #[arg(required = true, value_name = "PLUGIN|PLAN")]
    pub targets: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Read live state first (batched), so the plan starts from what exists
    #[arg(long)]
    pub refresh: bool,
}

/// Options shared by commands that change AWS.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Apply without asking for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Operations in flight at most
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Machine-readable: the plan and then one JSON event per line on stdout
    #[arg(long)]
    pub json: bool,
}

/// Options of `engine destroy`.
#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options of `engine refresh`.
#[derive(Debug, clap::Args)]
pub struct RefreshArgs {
    /// Print the drift as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// Options of `engine output`.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// One output's name: prints its bare value (for scripts)
    pub name: Option<String>,
    /// Print JSON (numbers as numbers)
    #[arg(long)]
    pub json: bool,
}

fn report(diag: Diagnostic) -> u8 {
    ui::diagnostics(&[diag]);
    exit::ERROR
}

fn tokio() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The AWS provider for the stack's region; every call is counted.
async fn provider(cfg: &Config) -> (Arc<Aws>, CallCounter) {
    let counter = CallCounter::new();
    let sdk = SdkOptions {
        region: Some(cfg.context.region.clone()),
        ..SdkOptions::default()
    };
    let options = ProviderOptions {
        call_counter: Some(counter.clone()),
        ..ProviderOptions::default()
    };
    (Arc::new(Aws::from_env(&sdk, options).await), counter)
}

struct Locked {
    backend: Box<dyn StateBackend>,
    lock: StateLock,
    state: State,
}

#[allow(clippy::result_large_err)] // one diagnostic, printed once
fn lock_state(g: &Globals, command: &str) -> Result<Locked, Diagnostic> {
    let backend = engine_state::open(&g.state).map_err(|e| e.diagnostic())?;
    let lock = backend
        .lock(LockInfo::current(command))
        .map_err(|e| e.diagnostic())?;
    let state = backend.read_or_empty().map_err(|e| e.diagnostic())?;
    Ok(Locked {
        backend,
        lock,
        state,
    })
}

fn is_saved_plan(targets: &[PathBuf]) -> bool {
    targets.len() == 1
        && std::fs::read(&targets[0])
            .is_ok_and(|b| !b.starts_with(b"\0asm") && b.first() == Some(&b'{'))
}

fn file_sha256(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// `engine apply`.
pub fn apply(g: &Globals, a: &ApplyArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir()?;
    let mut locked = match lock_state(g, "engine apply") {
        Ok(l) => l,
        Err(d) => return Ok(report(d)),
    };
    let rt = tokio()?;
    let mut aws = None;
    let (cfg, plan) = if is_saved_plan(&a.targets) {
        let cfg = config::load(&cwd, &g.overrides)?;
        let text = std::fs::read_to_string(&a.targets[0])?;
        let saved = match SavedPlan::from_json(&text) {
            Ok(s) => s,
            Err(e) => {
                return Ok(report(
                    Diagnostic::error(format!(
                        "{} is not a saved plan this engine can apply",
                        a.targets[0].display()
                    ))
                    .detail(e.to_string()),
                ));
            }
        };
        let shas: BTreeMap<String, String> = saved
            .plugin_sources
            .iter()
            .filter_map(|(name, path)| file_sha256(Path::new(path)).map(|s| (name.clone(), s)))
            .collect();
        if let Err(e) = saved.check(&locked.state, &shas, env!("CARGO_PKG_VERSION")) {
            return Ok(report(
                Diagnostic::error(format!("refusing to apply {}", a.targets[0].display()))
                    .detail(e.to_string())
                    .hint("run `engine plan --out FILE` again and apply the new plan"),
            ));
        }
        (cfg, saved.plan)
    } else {
        let d = declare(g, &a.targets)?;
        let Some(graph) = &d.graph else {
            return Ok(exit::ERROR);
        };
        if a.refresh {
            let (p, calls) = rt.block_on(provider(&d.cfg));
            if let Err(e) = rt.block_on(engine_exec::refresh(&mut locked.state, p.as_ref())) {
                return Ok(report(
                    Diagnostic::error("refreshing the state failed").detail(e.to_string()),
                ));
            }
            aws = Some((p, calls));
        }
        let plan = engine_core::plan(graph, &locked.state, &d.sha256s());
        (d.cfg, plan)
    };
    let mut policies = g.policies.clone();
    policies.extend(cfg.policies.iter().cloned());
    if !crate::commands::check::enforce(g, &cfg, &policies, &plan)? {
        return Ok(report(
            Diagnostic::error("a mandatory policy failed; nothing was changed")
                .hint("fix the violations above, or the plugin that declares them"),
        ));
    }
    run(g, &cfg, &rt, locked, &plan, &a.run, "apply", aws)
}

/// `engine destroy`.
pub fn destroy(g: &Globals, a: &DestroyArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir()?;
    let cfg = config::load(&cwd, &g.overrides)?;
    let locked = match lock_state(g, "engine destroy") {
        Ok(l) => l,
        Err(d) => return Ok(report(d)),
    };
    let plan = engine_core::plan(&Graph::default(), &locked.state, &BTreeMap::new());
    let rt = tokio()?;
    run(g, &cfg, &rt, locked, &plan, &a.run, "destroy", None)
}

#[allow(clippy::too_many_arguments)]
fn run(
    g: &Globals,
    cfg: &Config,
    rt: &tokio::runtime::Runtime,
    mut locked: Locked,
    plan: &Plan,
    args: &RunArgs,
    verb: &str,
    aws: Option<(Arc<Aws>, CallCounter)>,
) -> anyhow::Result<u8> {
    if args.json {
        ui::out(&render::json(plan));
    } else {
        ui::out(&format!("{}\n", header(cfg, g, &locked.state)));
        ui::out(&render::human(plan, ui::color(true)));
    }
    let printer = Arc::new(Printer::new(args.json));
    if !plan.has_changes() {
        let calls = aws.map(|(_, c)| c).unwrap_or_default();
        printer.summary(&Report::default(), verb, Duration::ZERO, &calls);
        return Ok(exit::OK);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Ok(report(
                Diagnostic::error(format!("refusing to {verb} without confirmation"))
                    .detail("Standard input is not a terminal, so there is no one to ask.")
                    .hint(format!("pass --yes to {verb} without asking")),
            ));
        }
        eprint!(
            "\nDo you want to {verb} these changes to stack `{}`? Only `yes` is accepted: ",
            cfg.context.stack
        );
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            eprintln!("Nothing was changed.");
            return Ok(exit::ERROR);
        }
    }

    let stop = Stop::default();
    let sink = printer.clone();
    let (aws, calls) = match aws {
        Some(x) => x,
        None => rt.block_on(provider(cfg)),
    };
    let started = Instant::now();
    let backend = &locked.backend;
    let lock = &locked.lock;
    let mut save = |s: &mut State| backend.write(lock, s).map_err(|e| e.to_string());
    // The stack's identity, written to the `engine:stack-id` tag of everything it
    // creates, is its state's lineage: give a new state one before the first create.
    if locked.state.lineage.is_empty() {
        locked.state.lineage = engine_state::new_lineage();
    }
    let options = Options {
        parallelism: args.parallelism,
        stack: StackIdentity::new(&cfg.context.stack, &locked.state.lineage),
    };
    let report = rt.block_on(async {
        let stopper = stop.clone();
        let json = args.json;
        let signals = tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                match stopper.escalate() {
                    StopLevel::Graceful if !json => eprintln!(
                        "\nStopping: no new operations start; waiting for those in flight. Ctrl-C again to stop now."
                    ),
                    _ if !json => eprintln!("\nStopping now; operations in flight are abandoned and recorded as pending."),
                    _ => {}
                }
            }
        });
        let r = engine_exec::execute(
            plan,
            &mut locked.state,
            aws,
            &mut save,
            &options,
            Arc::new(move |e: &Event| sink.event(e)),
            &stop,
        )
        .await;
        signals.abort();
        r
    });
    printer.summary(&report, verb, started.elapsed(), &calls);
    let state = &locked.state;
    if report.complete() && verb == "apply" && !args.json {
        print_outputs(state, false);
    }
    drop(locked.lock);
    Ok(if report.complete() {
        exit::OK
    } else {
        exit::ERROR
    })
}

/// Shows progress: plain lines on stderr, or JSON events on stdout.
struct Printer {
    json: bool,
    last: Mutex<BTreeMap<Address, Instant>>,
}

fn op_words(op: StepOp) -> (&'static str, &'static str) {
    match op {
        StepOp::Create => ("creating", "created"),
        StepOp::Update => ("updating", "updated"),
        StepOp::Delete => ("deleting", "deleted"),
        StepOp::DeleteDeposed => ("deleting the old copy of", "deleted the old copy"),
    }
}

/// `2m10s`, `4.2s`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl Printer {
    fn new(json: bool) -> Printer {
        Printer {
            json,
            last: Mutex::new(BTreeMap::new()),
        }
    }

    fn emit(&self, v: serde_json::Value) {
        ui::out(&format!("{v}\n"));
    }

    fn event(&self, e: &Event) {
        match e {
            Event::Started { address, op, slow } => {
                if self.json {
                    self.emit(serde_json::json!({"event": "started", "address": address.to_string(), "op": op, "slow": slow}));
                } else {
                    eprintln!("{address}: {}...", op_words(*op).0);
                }
                self.last
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(address.clone(), Instant::now());
            }
            Event::Progress {
                address,
                message,
                elapsed: took,
            } => {
                if self.json {
                    self.emit(serde_json::json!({"event": "progress", "address": address.to_string(), "message": message, "elapsed_ms": took.as_millis() as u64}));
                    return;
                }
                let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
                let due = last
                    .get(address)
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(10));
                if due {
                    eprintln!("{address}: still working... [{}] {message}", elapsed(*took));
                    last.insert(address.clone(), Instant::now());
                }
            }
            Event::Finished {
                address,
                op,
                elapsed: took,
                id,
                adopted,
            } => {
                if self.json {
                    self.emit(serde_json::json!({"event": "finished", "address": address.to_string(), "op": op, "elapsed_ms": took.as_millis() as u64, "id": id, "adopted": adopted}));
                } else {
                    let id = id.as_deref().map(|i| format!(" ({i})")).unwrap_or_default();
                    let adopted = if *adopted {
                        ", adopted from an interrupted apply"
                    } else {
                        ""
                    };
                    eprintln!(
                        "{address}: {} [{}]{id}{adopted}",
                        op_words(*op).1,
                        elapsed(*took)
                    );
                }
            }
            Event::Forgotten { address, reason } => {
                if self.json {
                    self.emit(serde_json::json!({"event": "forgotten", "address": address.to_string(), "reason": reason}));
                } else {
                    eprintln!("{address}: forgotten, nothing deleted: {reason}");
                }
            }
            Event::Failed { address, op, error } => {
                let message = error.to_string();
                if self.json {
                    self.emit(serde_json::json!({"event": "failed", "address": address.to_string(), "op": op, "message": message}));
                } else {
                    ui::diagnostics(&[Diagnostic::error(format!(
                        "{} `{address}` failed",
                        op_words(*op).0
                    ))
                    .address(address)
                    .detail(message)]);
                }
            }
        }
    }

    fn summary(&self, r: &Report, verb: &str, took: Duration, calls: &CallCounter) {
        let count = |op: StepOp| r.done.iter().filter(|d| d.op == op).count();
        let mutating: usize = calls
            .counts()
            .iter()
            .filter(|(op, _)| is_mutating(op))
            .map(|(_, n)| n)
            .sum();
        if self.json {
            self.emit(serde_json::json!({
                "event": "summary",
                "complete": r.complete(),
                "created": count(StepOp::Create),
                "updated": count(StepOp::Update),
                "deleted": count(StepOp::Delete) + count(StepOp::DeleteDeposed),
                "failed": r.failed.iter().map(|f| f.address.to_string()).collect::<Vec<_>>(),
                "not_started": r.not_started.iter().map(|(a, _)| a.to_string()).collect::<Vec<_>>(),
                "abandoned": r.abandoned.iter().map(|(a, _)| a.to_string()).collect::<Vec<_>>(),
                "forgotten": r.forgotten.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "elapsed_ms": took.as_millis() as u64,
                "aws_calls": calls.counts(),
                "aws_mutating_calls": mutating,
            }));
            return;
        }
        let mut done = format!(
            "{} created, {} updated, {} deleted",
            count(StepOp::Create),
            count(StepOp::Update),
            count(StepOp::Delete) + count(StepOp::DeleteDeposed)
        );
        if !r.forgotten.is_empty() {
            done.push_str(&format!(
                ", {} pending records forgotten (nothing of this stack's behind them)",
                r.forgotten.len()
            ));
        }
        let calls_line = format!("{} AWS calls, {mutating} of them changes", calls.total());
        if r.done.is_empty() && r.forgotten.is_empty() && r.complete() {
            eprintln!("\nNothing to {verb} ({calls_line}).");
            return;
        }
        if r.complete() {
            eprintln!(
                "\n{} complete in {}: {done} ({calls_line}).",
                capitalise(verb),
                elapsed(took)
            );
            return;
        }
        let mut lines = vec![format!("{} did not finish: {done}.", capitalise(verb))];
        for f in &r.failed {
            lines.push(format!("failed: {} ({})", f.address, op_words(f.op).0));
        }
        if !r.abandoned.is_empty() {
            lines.push(format!(
                "abandoned in flight (recorded as pending; the next apply adopts what exists): {}",
                r.abandoned
                    .iter()
                    .map(|(a, _)| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !r.not_started.is_empty() {
            lines.push(format!("not started: {} operations", r.not_started.len()));
        }
        if let Some(e) = &r.save_error {
            lines.push(format!("the state could not be saved: {e}"));
        }
        ui::diagnostics(&[Diagnostic::error(lines.remove(0))
            .detail(lines.join("\n"))
            .hint(format!("everything done is recorded in the state; fix the cause and run `engine {verb}` again"))]);
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Whether an AWS operation (as the call counter names it, `Service.Operation` or
/// `Operation`) changes something.
pub fn is_mutating(op: &str) -> bool {
    let name = op.rsplit('.').next().unwrap_or(op);
    const READS: &[&str] = &["Describe", "List", "Get", "Lookup", "Search", "Check"];
    !READS.iter().any(|p| name.starts_with(p))
}

/// `engine refresh`.
pub fn refresh(g: &Globals, a: &RefreshArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir()?;
    let cfg = config::load(&cwd, &g.overrides)?;
    let mut locked = match lock_state(g, "engine refresh") {
        Ok(l) => l,
        Err(d) => return Ok(report(d)),
    };
    let rt = tokio()?;
    let (aws, calls) = rt.block_on(provider(&cfg));
    let drift = match rt.block_on(engine_exec::refresh(&mut locked.state, aws.as_ref())) {
        Ok(d) => d,
        Err(e) => {
            return Ok(report(
                Diagnostic::error("refreshing the state failed").detail(e.to_string()),
            ));
        }
    };
    if let Err(e) = locked.backend.write(&locked.lock, &mut locked.state) {
        return Ok(report(e.diagnostic()));
    }
    if a.json {
        let rows: Vec<_> = drift
            .iter()
            .map(|d| match &d.kind {
                engine_exec::DriftKind::Deleted => serde_json::json!({"address": d.address.to_string(), "drift": "deleted"}),
                engine_exec::DriftKind::Changed(f) => serde_json::json!({"address": d.address.to_string(), "drift": "changed", "fields": f}),
            })
            .collect();
        ui::out(&format!("{}\n", serde_json::to_string_pretty(&rows)?));
    } else if drift.is_empty() {
        eprintln!(
            "No drift: {} resources match the state ({} AWS calls).",
            locked.state.resources.len(),
            calls.total()
        );
    } else {
        for d in &drift {
            match &d.kind {
                engine_exec::DriftKind::Deleted => {
                    ui::out(&format!("{}: deleted outside the engine\n", d.address))
                }
                engine_exec::DriftKind::Changed(f) => ui::out(&format!(
                    "{}: changed outside the engine: {}\n",
                    d.address,
                    f.join(", ")
                )),
            }
        }
        eprintln!("The state now records what exists; `engine plan` shows how to bring it back.");
    }
    Ok(exit::OK)
}

/// `engine output`.
pub fn output(g: &Globals, a: &OutputArgs) -> anyhow::Result<u8> {
    let (_, state) = match crate::commands::plan::read_state(g) {
        Ok(x) => x,
        Err(d) => return Ok(report(d)),
    };
    if let Some(name) = &a.name {
        let Some(v) = state.outputs.get(name) else {
            return Ok(report(
                Diagnostic::error(format!("no output `{name}`")).hint("`engine output` lists them"),
            ));
        };
        match (a.json, v) {
            (false, serde_json::Value::String(s)) => ui::out(&format!("{s}\n")),
            _ => ui::out(&format!("{v}\n")),
        }
        return Ok(exit::OK);
    }
    print_outputs(&state, a.json);
    Ok(exit::OK)
}

fn print_outputs(state: &State, json: bool) {
    if json {
        let map: serde_json::Map<String, serde_json::Value> = state
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ui::out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&map).unwrap_or_default()
        ));
        return;
    }
    if state.outputs.is_empty() {
        eprintln!("No outputs.");
        return;
    }
    ui::out("\nOutputs:\n\n");
    let width = state.outputs.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in &state.outputs {
        ui::out(&format!("{k:<width$} = {v}\n"));
    }
}
