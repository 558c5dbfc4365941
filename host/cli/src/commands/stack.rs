//! `engine stack`: named stacks, each with its own state and config (see
//! [`crate::stacks`]).

use std::time::SystemTime;

use engine_core::{Diagnostic, State};
use serde_json::json;

use crate::commands::apply::report;
use crate::commands::output::{OutputArgs, output};
use crate::config::StackFile;
use crate::{Globals, exit, stacks, ui};

/// `engine stack ...`
#[derive(Debug, clap::Subcommand)]
pub enum StackCommand {
    /// Create a stack, with its own state and config file, and select it. Its
    /// environment (the suffix on every resource name) is its name until you set
    /// another: `engine config set environment NAME`.
    #[command(after_help = "Example:\n  engine stack init prod")]
    Init {
        /// Lower-case letters, digits and `-`
        name: String,
    },
    /// Make NAME the current stack of this directory (`--stack` and ENGINE_STACK win).
    #[command(after_help = "Example:\n  engine stack select dev")]
    Select {
        /// An existing stack
        name: String,
    },
    /// List the stacks: name, resources, last update, where the state lives; `*`
    /// marks the current one.
    Ls {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove a stack's state and config file. Refused while the stack has
    /// resources (destroy them first); `--force` forgets them, and lists what stays
    /// in AWS.
    #[command(after_help = "Example:\n  engine destroy --stack dev --yes && engine stack rm dev")]
    Rm {
        /// The stack
        name: String,
        /// Forget its resources (they stay in AWS, unmanaged)
        #[arg(long)]
        force: bool,
    },
    /// Print the current stack's outputs (the same as `engine output`).
    Output(OutputArgs),
}

/// What `stack ls` shows of one stack.
struct Row {
    name: String,
    resources: usize,
    serial: u64,
    updated: Option<SystemTime>,
    location: String,
}

/// Stack `name`'s state location (under its own state root: `--state`, its
/// config's `state`, else `.engine`).
#[allow(clippy::result_large_err)] // one diagnostic, printed once
fn location_of(g: &Globals, name: &str) -> Result<String, Diagnostic> {
    let root = crate::backend::root_of(g, name)
        .map_err(|e| Diagnostic::error(format!("stack `{name}`: {e:#}")))?;
    Ok(stacks::state_location(&root, name))
}

/// Stack `name`'s state location, backend and state (empty when it has none).
#[allow(clippy::result_large_err)] // one diagnostic, printed once
fn read_stack(
    g: &Globals,
    name: &str,
) -> Result<(String, Box<dyn engine_state::StateBackend>, State), Diagnostic> {
    let location = location_of(g, name)?;
    let backend = engine_state::open(&location).map_err(|e| e.diagnostic())?;
    let state = backend.read_or_empty().map_err(|e| e.diagnostic())?;
    Ok((backend.location(), backend, state))
}

#[allow(clippy::result_large_err)] // one diagnostic, printed once
fn row(g: &Globals, name: &str) -> Result<Row, Diagnostic> {
    let location = location_of(g, name)?;
    let (shown, backend, state) = read_stack(g, name)?;
    let updated = if stacks::is_remote(&location) {
        // When the current state was written, as the store recorded it.
        backend
            .history()
            .ok()
            .and_then(|h| h.into_iter().find(|v| v.current))
            .and_then(|v| v.written)
            .and_then(|w| engine_state::parse_rfc3339(&w))
            .map(|secs| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
    } else {
        std::fs::metadata(stacks::root_dir(&location).join("state.json"))
            .and_then(|m| m.modified())
            .ok()
    };
    Ok(Row {
        name: name.to_string(),
        resources: state.resources.len(),
        serial: state.serial,
        updated,
        location: shown,
    })
}

fn ago(t: Option<SystemTime>) -> String {
    let Some(secs) = t
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map(|d| d.as_secs())
    else {
        return "never".into();
    };
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// `engine stack ...`
pub fn run(g: &Globals, cmd: &StackCommand) -> anyhow::Result<u8> {
    let dir = g.project_dir();
    match cmd {
        StackCommand::Init { name } => {
            stacks::check_name(name)?;
            if stacks::exists(&g.state_root, &dir, name) {
                return Ok(report(
                    Diagnostic::error(format!("stack `{name}` already exists"))
                        .hint(format!("select it: engine stack select {name}")),
                ));
            }
            let location = match location_of(g, name) {
                Ok(l) => l,
                Err(d) => return Ok(report(d)),
            };
            let state_dir = stacks::root_dir(&location);
            if !stacks::is_remote(&location) {
                std::fs::create_dir_all(&state_dir)?;
            }
            let file = stacks::config_file(&dir, name);
            if !file.exists() {
                let mut f = StackFile::default();
                f.config.insert("environment".into(), name.clone());
                f.write(&file, name)?;
            }
            stacks::select(&g.state_root, Some(name))?;
            eprintln!(
                "Created stack `{name}` and selected it: state in {}, config in {} \
                 (environment `{name}`).",
                if stacks::is_remote(&location) {
                    location.clone()
                } else {
                    state_dir.display().to_string()
                },
                file.file_name().unwrap_or_default().to_string_lossy()
            );
            Ok(exit::OK)
        }
        StackCommand::Select { name } => {
            stacks::check_name(name)?;
            if name != stacks::DEFAULT && !stacks::exists(&g.state_root, &dir, name) {
                return Ok(report(not_found(g, name)));
            }
            stacks::select(&g.state_root, Some(name))?;
            eprintln!("Selected stack `{name}`.");
            Ok(exit::OK)
        }
        StackCommand::Ls { json } => {
            let mut names = stacks::list(&g.state_root, &dir);
            if !names.contains(&g.stack_name) {
                names.push(g.stack_name.clone());
                names.sort();
            }
            let mut rows = Vec::new();
            for n in &names {
                match row(g, n) {
                    Ok(r) => rows.push(r),
                    Err(d) => return Ok(report(d)),
                }
            }
            if *json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        json!({
                            "name": r.name,
                            "current": r.name == g.stack_name,
                            "resources": r.resources,
                            "serial": r.serial,
                            "last_update": r.updated.map(|t| {
                                t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
                            }),
                            "state": r.location,
                        })
                    })
                    .collect();
                ui::out(&format!("{}\n", serde_json::to_string_pretty(&list)?));
                return Ok(exit::OK);
            }
            let mut out = format!(
                "  {:<16} {:>9}  {:<12} {}\n",
                "NAME", "RESOURCES", "LAST UPDATE", "STATE"
            );
            for r in &rows {
                let mark = if r.name == g.stack_name { '*' } else { ' ' };
                out.push_str(&format!(
                    "{mark} {:<16} {:>9}  {:<12} {}\n",
                    r.name,
                    r.resources,
                    ago(r.updated),
                    r.location
                ));
            }
            ui::out(&out);
            Ok(exit::OK)
        }
        StackCommand::Rm { name, force } => {
            stacks::check_name(name)?;
            if !stacks::exists(&g.state_root, &dir, name) {
                return Ok(report(not_found(g, name)));
            }
            let location = match location_of(g, name) {
                Ok(l) => l,
                Err(d) => return Ok(report(d)),
            };
            let (shown, state) = match read_stack(g, name) {
                Ok((shown, _, state)) => (shown, state),
                Err(d) => return Ok(report(d)),
            };
            if !state.resources.is_empty() && !force {
                return Ok(report(
                    Diagnostic::error(format!(
                        "stack `{name}` still has {} resources; removing it would leave them in \
                         AWS with nothing managing them",
                        state.resources.len()
                    ))
                    .hint(format!(
                        "destroy them first: engine destroy --stack {name} --yes; or forget \
                         them: engine stack rm {name} --force"
                    )),
                ));
            }
            if !state.resources.is_empty() {
                let mut msg = format!(
                    "Forgetting {} resources of stack `{name}`; they stay in AWS:\n",
                    state.resources.len()
                );
                for (address, r) in &state.resources {
                    let id = engine_exec::display_id(&r.attributes)
                        .unwrap_or_else(|| "(pending)".into());
                    msg.push_str(&format!("  {address} ({}): {id}\n", r.kind));
                }
                ui::warning(&format!(
                    "stack `{name}` is removed with its resources forgotten"
                ));
                eprint!("{}", engine_core::printable::lines(&msg));
            }
            let state_dir = stacks::root_dir(&location);
            if stacks::is_remote(&location) {
                // A team's state: left where it is, with its history.
                eprintln!(
                    "Its state at {shown} is left in place (with its history); delete it \
                     there if nobody needs it."
                );
            } else if name == stacks::DEFAULT {
                // The root holds the other stacks too: remove only the default's files.
                for f in ["state.json", "state.json.backup", "state.lock"] {
                    let _ = std::fs::remove_file(state_dir.join(f));
                }
            } else {
                let _ = std::fs::remove_dir_all(&state_dir);
            }
            let _ = std::fs::remove_file(stacks::config_file(&dir, name));
            if stacks::selected(&g.state_root).as_deref() == Some(name) {
                stacks::select(&g.state_root, None)?;
            }
            eprintln!("Removed stack `{name}`.");
            Ok(exit::OK)
        }
        StackCommand::Output(args) => output(g, args),
    }
}

/// A stack that does not exist, with the ones that do.
pub fn not_found(g: &Globals, name: &str) -> Diagnostic {
    let known = stacks::list(&g.state_root, &g.project_dir());
    let hint = if known.is_empty() {
        format!("create it: engine stack init {name}")
    } else {
        format!(
            "create it with `engine stack init {name}`, or use one of: {}",
            known.join(", ")
        )
    };
    Diagnostic::error(format!("no stack named `{name}` here")).hint(hint)
}
