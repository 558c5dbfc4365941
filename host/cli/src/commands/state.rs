//! `engine state list|show|rm|history|rollback|unlock|migrate`.

use std::io::{BufRead, IsTerminal, Write};

use engine_core::{Address, Diagnostic, State, printable, render};
use engine_state::{LockInfo, StateBackend, Version};

use crate::commands::apply::{lock_state, report};
use crate::commands::plan::read_state;
use crate::config::StackFile;
use crate::{Globals, backend, exit, stacks, ui};

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
    /// again). The state before is kept: in `backups/` beside a local state, in
    /// the history of an S3 one.
    #[command(after_help = "Example:\n  engine state rm monitoring/rds-cpu")]
    Rm {
        /// Addresses, e.g. `monitoring/rds-cpu`
        #[arg(required = true, value_name = "ADDRESS")]
        addresses: Vec<String>,
    },
    /// Rename a resource's address in the state, so that a resource renamed in its
    /// plugin is not replaced: move it here, rename it in the plugin, and the next
    /// plan finds it at its new address. AWS is not touched (its ownership tags name
    /// the old address until its next update; the state remembers that). The state
    /// before is kept, as for `state rm`.
    #[command(
        after_help = "Example (the plugin now calls the stream `orders`):\n  engine state mv kinesis/transactions kinesis/orders\n  engine plan plugins/*.wasm        # no replacement"
    )]
    Mv {
        /// The address it has now, e.g. `kinesis/transactions`
        #[arg(value_name = "OLD")]
        old: String,
        /// The address its plugin now declares it at
        #[arg(value_name = "NEW")]
        new: String,
    },
    /// List the states kept, newest first: serial, when, the command and who wrote
    /// it (S3 keeps every one; a local state the current one and the one before)
    #[command(after_help = "Examples:\n  engine state history\n  engine state history --json")]
    History {
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Make the state of an earlier serial the current one again, written as a new
    /// serial (so the history keeps everything). AWS is not changed: `engine plan`
    /// shows what differs afterwards.
    #[command(after_help = "Example:\n  engine state history && engine state rollback 41")]
    Rollback {
        /// The serial to restore (`engine state history` lists them)
        serial: u64,
        /// Roll back without asking for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Clear a lock left behind by an engine that is gone (killed, or its machine
    /// lost): only the lock with this id, which the refused command named
    #[command(after_help = "Example:\n  engine state unlock 6f1c0a52-91d4-4c4e-a1f7-3e2b9f0c8d11")]
    Unlock {
        /// The lock's id
        lock_id: String,
    },
    /// Move the stack's state to another location, keeping its lineage and
    /// serial: to S3 (s3://BUCKET/PREFIX) or back to a directory. The old copy
    /// stays as a backup, and reading it as the state is refused from then on;
    /// the stack's config file records the new location.
    #[command(
        after_help = "Examples:\n  engine state migrate --to s3://team-state/japancart\n  engine state migrate --to .engine"
    )]
    Migrate {
        /// The new state root (each stack under it, as with --state)
        #[arg(long, value_name = "LOCATION")]
        to: String,
    },
}

/// Runs a state subcommand.
pub fn run(g: &Globals, cmd: &StateCommand) -> anyhow::Result<u8> {
    match cmd {
        StateCommand::Rm { addresses } => return forget(g, addresses),
        StateCommand::Mv { old, new } => return rename(g, old, new),
        StateCommand::History { json } => return history(g, *json),
        StateCommand::Rollback { serial, yes } => return rollback(g, *serial, *yes),
        StateCommand::Unlock { lock_id } => return unlock(g, lock_id),
        StateCommand::Migrate { to } => return migrate(g, to),
        StateCommand::List { .. } | StateCommand::Show { .. } => {}
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
        _ => unreachable!("handled above"),
    }
}

/// `engine state rm`: under the state lock, every address must be in the state;
/// a backup of the state is kept first, then the records are dropped (and
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
    let backup = match keep_before(g, &locked.state) {
        Ok(b) => b,
        Err(d) => return Ok(report(d)),
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
        "Backup of the state before: {backup}. If a plugin still declares them, the next \
         plan creates them again."
    );
    Ok(exit::OK)
}

/// `engine state mv OLD NEW`.
fn rename(g: &Globals, old: &str, new: &str) -> anyhow::Result<u8> {
    #[allow(clippy::result_large_err)] // one diagnostic, printed once
    let parse = |text: &str| {
        Address::parse(text).map_err(|e| {
            Diagnostic::error(format!(
                "`{}` is not an address: {e}",
                printable::short(text, 200)
            ))
            .hint("an address is `plugin/name`, as `engine state list` prints it")
        })
    };
    let (old, new) = match (parse(old), parse(new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(d), _) | (_, Err(d)) => return Ok(report(d)),
    };
    let mut locked = match lock_state(g, "engine state mv") {
        Ok(l) => l,
        Err(d) => return Ok(report(d)),
    };
    let mut moved = locked.state.clone();
    if let Err(e) = moved.rename(&old, &new) {
        return Ok(report(
            Diagnostic::error(format!(
                "cannot move `{old}` to `{new}`: {e}; nothing was changed"
            ))
            .hint("`engine state list` shows the addresses"),
        ));
    }
    let backup = match keep_before(g, &locked.state) {
        Ok(b) => b,
        Err(d) => return Ok(report(d)),
    };
    locked.state = moved;
    if let Err(e) = locked.backend.write(&locked.lock, &mut locked.state) {
        return Ok(report(e.diagnostic()));
    }
    eprintln!(
        "Moved {old} to {new} in the state of stack `{}`; nothing in AWS changed. Backup of \
         the state before: {backup}. Rename it in its plugin too: until then the next plan \
         deletes `{new}` and creates `{old}`.",
        g.stack_name
    );
    Ok(exit::OK)
}

/// Keeps the state as it is before a change: a remote state keeps every serial in
/// its history; a local one gets a copy in `backups/`. Says where.
#[allow(clippy::result_large_err)] // one diagnostic, printed once
fn keep_before(g: &Globals, state: &engine_core::State) -> Result<String, Diagnostic> {
    if stacks::is_remote(&g.state) {
        return Ok(format!(
            "serial {} in the state's history (engine state rollback {0})",
            state.serial
        ));
    }
    write_backup(g, state)
        .map(|p| p.display().to_string())
        .map_err(|e| {
            Diagnostic::error("cannot write a backup of the state; nothing was changed")
                .detail(e.to_string())
        })
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

/// The current stack's backend.
#[allow(clippy::result_large_err)] // one diagnostic, printed once
fn open(g: &Globals) -> Result<Box<dyn StateBackend>, Diagnostic> {
    engine_state::open(&g.state).map_err(|e| e.diagnostic())
}

/// `engine state history`: the states kept, newest first, on stdout.
fn history(g: &Globals, json: bool) -> anyhow::Result<u8> {
    let backend = match open(g) {
        Ok(b) => b,
        Err(d) => return Ok(report(d)),
    };
    let versions = match backend.history() {
        Ok(v) => v,
        Err(e) => return Ok(report(e.diagnostic())),
    };
    if json {
        ui::out(&format!("{}\n", serde_json::to_string_pretty(&versions)?));
        return Ok(exit::OK);
    }
    if versions.is_empty() {
        eprintln!("Stack `{}` has no state yet ({}).", g.stack_name, g.state);
        return Ok(exit::OK);
    }
    let mut out = format!(
        "  {:>6}  {:<20}  {:<22}  {}\n",
        "SERIAL", "WRITTEN", "COMMAND", "BY"
    );
    for v in &versions {
        out.push_str(&format!(
            "{} {:>6}  {:<20}  {:<22}  {}\n",
            if v.current { '*' } else { ' ' },
            v.serial,
            v.written.as_deref().unwrap_or("-"),
            printable::short(v.command.as_deref().unwrap_or("-"), 22),
            printable::short(v.who.as_deref().unwrap_or("-"), 60),
        ));
    }
    ui::out(&out);
    Ok(exit::OK)
}

/// `engine state rollback SERIAL`: under the lock, the state of `serial` is
/// written as a new serial, after confirmation.
fn rollback(g: &Globals, serial: u64, yes: bool) -> anyhow::Result<u8> {
    let locked = match lock_state(g, "engine state rollback") {
        Ok(l) => l,
        Err(d) => return Ok(report(d)),
    };
    let current = locked.state.serial;
    let versions = match locked.backend.history() {
        Ok(v) => v,
        Err(e) => return Ok(report(e.diagnostic())),
    };
    let Some(version) = versions
        .iter()
        .find(|v| v.serial == serial && v.lineage == locked.state.lineage)
    else {
        let kept: Vec<String> = versions.iter().map(|v| v.serial.to_string()).collect();
        return Ok(report(
            Diagnostic::error(format!(
                "stack `{}` keeps no state of serial {serial} ({})",
                g.stack_name, g.state
            ))
            .detail(if kept.is_empty() {
                "It has no state at all.".to_string()
            } else {
                format!("Serials kept: {}.", kept.join(", "))
            })
            .hint("`engine state history` lists them"),
        ));
    };
    if version.current {
        return Ok(report(Diagnostic::error(format!(
            "serial {serial} is the current state of stack `{}`; nothing to roll back",
            g.stack_name
        ))));
    }
    let old = match locked.backend.read_version(version) {
        Ok(s) => s,
        Err(e) => return Ok(report(e.diagnostic())),
    };
    eprint!("{}", describe_rollback(g, &locked.state, &old, version));
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Ok(report(
                Diagnostic::error("refusing to roll back without confirmation")
                    .detail("Standard input is not a terminal, so there is no one to ask.")
                    .hint("pass --yes to roll back without asking"),
            ));
        }
        eprint!(
            "\nDo you want to roll back the state of stack `{}`? Only `yes` is accepted: ",
            g.stack_name
        );
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            eprintln!("Nothing was changed.");
            return Ok(exit::ERROR);
        }
    }
    let mut restored = old;
    restored.serial = current;
    restored.lineage = locked.state.lineage.clone();
    if let Err(e) = locked.backend.write(&locked.lock, &mut restored) {
        return Ok(report(e.diagnostic()));
    }
    eprintln!(
        "Rolled back stack `{}`: serial {} is the state of serial {serial} (serial {current} \
         stays in the history). AWS was not changed: `engine plan` shows what differs.",
        g.stack_name, restored.serial
    );
    Ok(exit::OK)
}

/// What a rollback from `now` to `old` changes in the state, for the question.
fn describe_rollback(g: &Globals, now: &State, old: &State, version: &Version) -> String {
    let names = |a: &State, b: &State| -> Vec<String> {
        a.resources
            .keys()
            .filter(|k| !b.resources.contains_key(*k))
            .map(ToString::to_string)
            .collect()
    };
    let (dropped, back) = (names(now, old), names(old, now));
    let changed = old
        .resources
        .iter()
        .filter(|(k, r)| now.resources.get(*k).is_some_and(|n| n != *r))
        .count();
    let mut text = format!(
        "Roll back the state of stack `{}` ({}) from serial {} to the state of serial {} \
         (written {}{}{}), as serial {}:\n",
        g.stack_name,
        g.state,
        now.serial,
        old.serial,
        version.written.as_deref().unwrap_or("at an unknown time"),
        version
            .command
            .as_deref()
            .map(|c| format!(" by `{}`", printable::short(c, 40)))
            .unwrap_or_default(),
        version
            .who
            .as_deref()
            .map(|w| format!(", {}", printable::short(w, 60)))
            .unwrap_or_default(),
        now.serial + 1
    );
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    text.push_str(&format!(
        "  resources: {} now, {} after\n  no longer recorded (they stay in AWS): {}\n  \
         recorded again: {}\n  recorded differently: {changed}\n",
        now.resources.len(),
        old.resources.len(),
        list(&dropped),
        list(&back)
    ));
    text
}

/// `engine state unlock LOCK_ID`.
fn unlock(g: &Globals, lock_id: &str) -> anyhow::Result<u8> {
    let backend = match open(g) {
        Ok(b) => b,
        Err(d) => return Ok(report(d)),
    };
    match backend.unlock(lock_id) {
        Ok(holder) => {
            eprintln!(
                "Unlocked the state at {}: the lock of {holder} is gone.",
                backend.location()
            );
            Ok(exit::OK)
        }
        Err(e) => Ok(report(e.diagnostic())),
    }
}

/// `engine state migrate --to ROOT`: the state is imported at the new location
/// (lineage and serial kept), read back and compared, then the old location is
/// retired (its state kept as a backup); both are locked throughout. The stack's
/// config file then names the new root.
fn migrate(g: &Globals, to: &str) -> anyhow::Result<u8> {
    let destination = stacks::state_location(to, &g.stack_name);
    let source = match lock_state(g, "engine state migrate") {
        Ok(l) => l,
        Err(d) => return Ok(report(d)),
    };
    let target = match engine_state::open(&destination) {
        Ok(b) => b,
        Err(e) => return Ok(report(e.diagnostic())),
    };
    if target.location() == source.backend.location() {
        return Ok(report(Diagnostic::error(format!(
            "the state of stack `{}` is already at {}",
            g.stack_name,
            target.location()
        ))));
    }
    if source.state.serial == 0 {
        return Ok(report(
            Diagnostic::error(format!(
                "stack `{}` has no state at {} to migrate",
                g.stack_name,
                source.backend.location()
            ))
            .hint(format!(
                "to keep its state there from the start: engine config set state {to}"
            )),
        ));
    }
    let target_lock = match target.lock(LockInfo::current("engine state migrate")) {
        Ok(l) => l,
        Err(e) => return Ok(report(e.diagnostic())),
    };
    if let Err(e) = target.import(&target_lock, &source.state) {
        return Ok(report(e.diagnostic()));
    }
    match target.read() {
        Ok(Some(s)) if s == source.state => {}
        Ok(_) => {
            return Ok(report(Diagnostic::error(format!(
                "the state written to {} does not read back as it was written; the state at \
                 {} was left as it is",
                target.location(),
                source.backend.location()
            ))));
        }
        Err(e) => return Ok(report(e.diagnostic())),
    }
    let backup = match source
        .backend
        .retire(&source.lock, &source.state, &target.location())
    {
        Ok(b) => b,
        Err(e) => return Ok(report(e.diagnostic())),
    };
    drop(target_lock);
    // The stack's config names its new home (nothing, when that is what it
    // would use without).
    let file = stacks::config_file(&g.project_dir(), &g.stack_name);
    let mut f = StackFile::read(&file)?;
    f.config.remove("state");
    f.write(&file, &g.stack_name)?;
    if backend::configured_root(g, &g.stack_name)? != to {
        f.config.insert("state".into(), to.to_string());
        f.write(&file, &g.stack_name)?;
    }
    eprintln!(
        "Moved the state of stack `{}` to {} (lineage {}, serial {}). The old copy stays as a \
         backup: {backup}. {} now names the new location.",
        g.stack_name,
        target.location(),
        source.state.lineage,
        source.state.serial,
        file.file_name().unwrap_or_default().to_string_lossy()
    );
    if g.state_flag.is_some() {
        ui::warning(&format!(
            "--state (or ENGINE_STATE) still names the old location, which refuses to be used \
             now: use --state {to}, or drop it to use the stack's config"
        ));
    }
    Ok(exit::OK)
}
