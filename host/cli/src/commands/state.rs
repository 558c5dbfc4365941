//! `engine state list|show|rm`.

use engine_core::{Address, Diagnostic, printable, render};

use crate::commands::apply::{lock_state, report};
use crate::commands::plan::read_state;
use crate::{Globals, exit, ui};

/// `engine state` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// List the addresses of every resource in the state
    List {
        /// Print JSON (address, kind, id) on stdout
        #[arg(long)]
        json: bool,
    },
    /// Show one resource as recorded: inputs and attributes (never secret values)
    Show {
        /// The resource address, e.g. `vpc/main`
        address: String,
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Forget resources without deleting them: they stay in AWS, no longer managed
    /// by this stack (if a plugin still declares one, the next plan creates it
    /// again). The state before is kept in `backups/` beside it.
    #[command(after_help = "Example:\n  engine state rm monitoring/rds-cpu")]
    Rm {
        /// Addresses, e.g. `monitoring/rds-cpu`
        #[arg(required = true, value_name = "ADDRESS")]
        addresses: Vec<String>,
    },
}

/// Runs a state subcommand.
pub fn run(g: &Globals, cmd: &StateCommand) -> anyhow::Result<u8> {
    if let StateCommand::Rm { addresses } = cmd {
        return forget(g, addresses);
    }
    let (_, state) = match read_state(g) {
        Ok(x) => x,
        Err(d) => {
            ui::diagnostics(&[d]);
            return Ok(exit::ERROR);
        }
    };
    match cmd {
        StateCommand::List { json } => {
            if *json {
                let rows: Vec<_> = state
                    .resources
                    .iter()
                    .map(|(a, r)| serde_json::json!({"address": a.to_string(), "kind": r.kind.as_str(), "attributes": r.attributes}))
                    .collect();
                ui::out(&format!("{}\n", serde_json::to_string_pretty(&rows)?));
            } else {
                for a in state.resources.keys() {
                    ui::out(&format!("{a}\n"));
                }
            }
            Ok(exit::OK)
        }
        StateCommand::Rm { .. } => unreachable!("handled above"),
        StateCommand::Show { address, json } => {
            let found = Address::parse(address)
                .ok()
                .and_then(|a| state.resources.get(&a).map(|r| (a, r)));
            let Some((a, r)) = found else {
                ui::diagnostics(&[Diagnostic::error(format!(
                    "no resource `{address}` in the state"
                ))
                .hint("`engine state list` shows the addresses")]);
                return Ok(exit::ERROR);
            };
            if *json {
                ui::out(&format!("{}\n", serde_json::to_string_pretty(r)?));
            } else {
                ui::out(&render::resource_state(&a, r));
            }
            Ok(exit::OK)
        }
    }
}

/// `engine state rm`: under the state lock, every address must be in the state;
/// a backup of the state is written first, then the records are dropped (and
/// dropped from the dependencies of the others).
fn forget(g: &Globals, addresses: &[String]) -> anyhow::Result<u8> {
    let mut locked = match lock_state(g, "engine state rm") {
        Ok(l) => l,
        Err(d) => return Ok(report(d)),
    };
    let mut gone = Vec::new();
    for text in addresses {
        match Address::parse(text) {
            Ok(a) if locked.state.resources.contains_key(&a) => gone.push(a),
            _ => {
                return Ok(report(
                    Diagnostic::error(format!(
                        "no resource `{}` in the state of stack `{}`; nothing was changed",
                        printable::short(text, 200),
                        g.stack_name
                    ))
                    .hint("`engine state list` shows the addresses"),
                ));
            }
        }
    }
    let backup = match write_backup(g, &locked.state) {
        Ok(p) => p,
        Err(e) => {
            return Ok(report(
                Diagnostic::error("cannot write a backup of the state; nothing was changed")
                    .detail(e.to_string()),
            ));
        }
    };
    let mut lines = Vec::new();
    for a in &gone {
        if let Some(r) = locked.state.resources.remove(a) {
            let id =
                engine_exec::display_id(&r.attributes).unwrap_or_else(|| "(never created)".into());
            lines.push(format!(
                "{a} ({}, {})",
                r.kind.as_str(),
                printable::line(&id)
            ));
        }
    }
    for r in locked.state.resources.values_mut() {
        r.dependencies.retain(|d| !gone.contains(d));
    }
    if let Err(e) = locked.backend.write(&locked.lock, &mut locked.state) {
        return Ok(report(e.diagnostic()));
    }
    for l in &lines {
        eprintln!("Forgot {l}: it stays in AWS.");
    }
    eprintln!(
        "Backup of the state before: {}. If a plugin still declares them, the next \
         plan creates them again.",
        backup.display()
    );
    Ok(exit::OK)
}

/// Writes the state as it is to `backups/state-SERIAL-UNIXTIME.json` in the
/// state's directory; returns its path.
fn write_backup(g: &Globals, state: &engine_core::State) -> std::io::Result<std::path::PathBuf> {
    let dir = crate::stacks::root_dir(&g.state).join("backups");
    std::fs::create_dir_all(&dir)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = dir.join(format!("state-{}-{now}.json", state.serial));
    std::fs::write(&path, engine_core::state::to_normalised_json(state))?;
    Ok(path)
}
