//! `engine apply` and `engine destroy`, and what `engine refresh` shares with them
//! (the state lock, the provider). Progress goes through [`super::progress`].

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_aws::{Aws, CallCounter, ProviderOptions, StackIdentity};
use engine_core::{Diagnostic, Graph, Plan, SavedPlan, State, render};
use engine_exec::{Event, Options, Report, Stop};
use engine_state::{LockInfo, StateBackend, StateLock};
use sha2::{Digest, Sha256};

use crate::commands::output::print_outputs;
use crate::commands::plan::{declare_with, header};
use crate::commands::progress::Printer;
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
    #[command(flatten)]
    pub narrow: crate::commands::plan::TargetArgs,
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

pub(crate) fn report(diag: Diagnostic) -> u8 {
    ui::diagnostics(&[diag]);
    exit::ERROR
}

pub(crate) fn tokio() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The AWS provider for the stack's region; every call is counted.
pub(crate) async fn provider(cfg: &Config) -> (Arc<Aws>, CallCounter) {
    let counter = CallCounter::new();
    let sdk = cfg.sdk_options();
    let options = ProviderOptions {
        call_counter: Some(counter.clone()),
        ..ProviderOptions::default()
    };
    (Arc::new(Aws::from_env(&sdk, options).await), counter)
}

pub(crate) struct Locked {
    pub(crate) backend: Box<dyn StateBackend>,
    pub(crate) lock: StateLock,
    pub(crate) state: State,
}

#[allow(clippy::result_large_err)] // one diagnostic, printed once
pub(crate) fn lock_state(g: &Globals, command: &str) -> Result<Locked, Diagnostic> {
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
        if !a.narrow.is_empty() {
            return Ok(report(
                Diagnostic::error("`--target` and `--replace` do not apply to a saved plan")
                    .hint("give them to `engine plan --out FILE`: the saved plan keeps them"),
            ));
        }
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
        if let Some(planned) = saved.stack.as_deref()
            && planned != g.stack_name
        {
            return Ok(report(
                Diagnostic::error(format!(
                    "refusing to apply {}: it was made for stack `{planned}`, and the current \
                     stack is `{}`",
                    a.targets[0].display(),
                    g.stack_name
                ))
                .hint(format!(
                    "apply it to its stack (`--stack {planned}`), or plan this stack: \
                     engine plan --stack {} --out FILE PLUGINS",
                    g.stack_name
                )),
            ));
        }
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
        if let Some(code) = gate(g, &cfg, &saved.plan)? {
            return Ok(code);
        }
        (cfg, saved.plan)
    } else {
        // Offline first: what can refuse without AWS (a failing plugin, a mandatory
        // policy violation) refuses before any AWS call.
        let mut cfg = config::load(&cwd, &g.overrides)?;
        let offline = declare_with(g, &a.targets, cfg.clone())?;
        let Some(graph) = &offline.graph else {
            return Ok(exit::ERROR);
        };
        if let Err(d) = crate::commands::plan::same_environment(g, &cfg, &locked.state) {
            return Ok(report(d));
        }
        let request = match a.narrow.request(graph, &locked.state) {
            Ok(r) => r,
            Err(diags) => {
                ui::diagnostics(&diags);
                return Ok(exit::ERROR);
            }
        };
        let offline_plan =
            engine_core::plan_for(graph, &locked.state, &offline.sha256s(), &request);
        if let Some(code) = gate(g, &cfg, &offline_plan)? {
            return Ok(code);
        }
        // Then AWS, through the provider the apply goes on with: the region's
        // availability zones for the plugins (unless pinned; see `crate::facts`),
        // and the refresh when asked for. With the zones, the plugins declare again.
        let (p, calls) = rt.block_on(provider(&cfg));
        let keys: Vec<_> = offline
            .loaded
            .plugins
            .iter()
            .map(crate::load::plugin_keys)
            .collect();
        let zones_read =
            crate::facts::needs_zones(&keys) && crate::facts::add_zones(&mut cfg, &rt, &p);
        let services = crate::facts::endpoint_services(graph);
        let zones_read =
            crate::facts::add_service_zones(&mut cfg, &services, &rt, &p) || zones_read;
        if a.refresh
            && let Err(e) = rt.block_on(engine_exec::refresh(&mut locked.state, p.as_ref()))
        {
            return Ok(report(
                Diagnostic::error("refreshing the state failed").detail(e.to_string()),
            ));
        }
        aws = Some((p, calls));
        let plan = if zones_read {
            let d = declare_with(g, &a.targets, cfg.clone())?;
            let Some(graph) = &d.graph else {
                return Ok(exit::ERROR);
            };
            engine_core::plan_for(graph, &locked.state, &d.sha256s(), &request)
        } else if a.refresh {
            engine_core::plan_for(graph, &locked.state, &offline.sha256s(), &request)
        } else {
            offline_plan.clone()
        };
        // The policies judge the plan that is applied.
        if plan != offline_plan
            && let Some(code) = gate(g, &cfg, &plan)?
        {
            return Ok(code);
        }
        (cfg, plan)
    };
    run(g, &cfg, &rt, locked, &plan, &a.run, "apply", aws)
}

/// The policies' verdict on `plan`: `Some(exit code)` when a mandatory violation
/// (or a failing policy plugin) refuses it.
fn gate(g: &Globals, cfg: &Config, plan: &Plan) -> anyhow::Result<Option<u8>> {
    let mut policies = g.policies.clone();
    policies.extend(cfg.policies.iter().cloned());
    if !crate::commands::check::enforce(g, cfg, &policies, plan)? {
        return Ok(Some(report(
            Diagnostic::error("a mandatory policy failed; nothing was changed")
                .hint("fix the violations above, or the plugin that declares them"),
        )));
    }
    Ok(None)
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
    // Without --yes someone must answer: refuse at once when no one can, before
    // any change (an apply has read only the availability zones so far, unless
    // they are pinned: the plan to confirm needs them).
    if plan.has_changes() && !args.yes && !std::io::stdin().is_terminal() {
        return Ok(report(
            Diagnostic::error(format!("refusing to {verb} without confirmation"))
                .detail("Standard input is not a terminal, so there is no one to ask.")
                .hint(format!("pass --yes to {verb} without asking")),
        ));
    }
    // Who the engine would act as, before anything else touches AWS: missing or
    // expired credentials, or the wrong account, stop here with one clear error.
    let (aws, calls) = match aws {
        Some(x) => x,
        None => rt.block_on(provider(cfg)),
    };
    let who = match rt.block_on(aws.caller_identity()) {
        Ok(w) => w,
        Err(e) => return Ok(report(credentials_diagnostic(&e, verb))),
    };
    if !cfg.allowed_account_ids.is_empty() && !cfg.allowed_account_ids.contains(&who.account) {
        return Ok(report(
            Diagnostic::error(format!(
                "refusing to {verb} in AWS account {}: this stack allows only {}",
                who.account,
                cfg.allowed_account_ids.join(", ")
            ))
            .detail(format!("The credentials belong to {}.", who.arn))
            .hint("use the credentials (profile) of an allowed account, or change `[stack] allowed-account-ids` in engine.toml"),
        ));
    }
    if args.json {
        ui::out(&render::json(plan, &cfg.context));
    } else {
        ui::out(&format!(
            "{}AWS account {} as {}\n\n",
            header(cfg, g, &locked.state),
            who.account,
            who.arn
        ));
        ui::out(&render::human(plan, ui::color(true)));
    }
    let printer = Printer::new(args.json, g.progress);
    if !plan.has_changes() {
        printer.summary(&Report::default(), verb, Duration::ZERO, &calls);
        return Ok(exit::OK);
    }
    if !args.yes {
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
    printer.begin(verb, plan.steps().len());
    let started = Instant::now();
    let backend = &locked.backend;
    let lock = &locked.lock;
    let mut save = |s: &mut State| backend.write(lock, s).map_err(|e| e.to_string());
    // The stack's identity, written to the `engine:stack-id` tag of everything it
    // creates, is its state's lineage: give a new state one before the first create.
    if locked.state.lineage.is_empty() {
        locked.state.lineage = engine_state::new_lineage();
    }
    locked.state.environment = Some(cfg.context.environment.clone());
    let options = Options {
        parallelism: args.parallelism,
        stack: StackIdentity::new(&cfg.context.stack, &locked.state.lineage),
    };
    let report = rt.block_on(async {
        let stopper = stop.clone();
        let notes = printer.clone();
        let signals = tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                notes.stopping(stopper.escalate());
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

/// The one error shown when the engine cannot tell who it acts as.
fn credentials_diagnostic(e: &engine_aws::ProviderError, verb: &str) -> Diagnostic {
    let what = if e.code.as_deref() == Some("NoCredentials") {
        e.message.clone()
    } else {
        format!(
            "AWS did not say who these credentials are ({}: {})",
            e.kind, e.message
        )
    };
    Diagnostic::error(format!("cannot {verb}: {what}"))
    .detail("Nothing was changed: the engine checks the credentials (STS GetCallerIdentity) before any change.")
    .hint(
        "sign in (`export AWS_PROFILE=NAME`, `aws sso login --profile NAME`, or \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or deploy to the local emulator \
         with `./dev up`",
    )
}
