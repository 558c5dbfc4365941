//! `engine output`: the stack outputs of the last complete apply.

use std::io::IsTerminal;

use engine_core::{State, printable};

use crate::commands::apply::report;
use crate::{Globals, exit, ui};
use engine_core::Diagnostic;

/// Options of `engine output`.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// One output's name: prints its bare value (for scripts)
    pub name: Option<String>,
    /// Print JSON (numbers as numbers)
    #[arg(long)]
    pub json: bool,
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
            // The bare value, for scripts; on a terminal, control characters escaped.
            (false, serde_json::Value::String(s)) if std::io::stdout().is_terminal() => {
                ui::out(&format!("{}\n", printable::line(s)))
            }
            (false, serde_json::Value::String(s)) => ui::out(&format!("{s}\n")),
            _ => ui::out(&format!("{v}\n")),
        }
        return Ok(exit::OK);
    }
    print_outputs(&state, a.json);
    Ok(exit::OK)
}

pub(crate) fn print_outputs(state: &State, json: bool) {
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
        // Values print as JSON (strings quoted and escaped); names are checked
        // where plugins declare them, and escaped here for older states.
        ui::out(&format!("{:<width$} = {v}\n", printable::line(k)));
    }
}
