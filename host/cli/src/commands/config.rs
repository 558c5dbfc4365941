//! `engine config`: the current stack's config, kept in `engine.NAME.toml`.

use engine_core::Diagnostic;
use serde_json::json;

use crate::commands::apply::report;
use crate::config::{self, Origin, StackFile, canonical};
use crate::{Globals, exit, stacks, ui};

/// `engine config ...`
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Set a key in the current stack's config file. `region` and `environment`
    /// are engine's own keys (`aws:region` and `environmentSuffix` are accepted
    /// for them); any other key goes to the plugins.
    #[command(
        after_help = "Examples:\n  engine config set aws:region ap-northeast-1\n  engine config set environmentSuffix prod\n  engine config set vpc-cidr 10.1.0.0/16"
    )]
    Set {
        /// The key
        key: String,
        /// The value
        value: String,
    },
    /// Print the value of a key as the stack sees it (flags, the stack's config,
    /// engine.toml, the default).
    Get {
        /// The key
        key: String,
    },
    /// Remove a key from the current stack's config file.
    Rm {
        /// The key
        key: String,
    },
    /// List every key with its value and where the value came from.
    Ls {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

/// `engine config ...`
pub fn run(g: &Globals, cmd: &ConfigCommand) -> anyhow::Result<u8> {
    let dir = g.project_dir();
    let file = stacks::config_file(&dir, &g.stack_name);
    match cmd {
        ConfigCommand::Set { key, value } => {
            let key = canonical(key);
            if key.starts_with(crate::facts::PREFIX) || key.is_empty() || key.contains('=') {
                return Ok(report(Diagnostic::error(format!(
                    "`{}` cannot be set: keys starting with `{}` are facts the engine reads from AWS",
                    engine_core::printable::short(key, 64),
                    crate::facts::PREFIX
                ))));
            }
            let mut f = StackFile::read(&file)?;
            f.config.insert(key.to_string(), value.clone());
            f.write(&file, &g.stack_name)?;
            eprintln!(
                "Set `{key}` of stack `{}` in {}.",
                g.stack_name,
                file.file_name().unwrap_or_default().to_string_lossy()
            );
            Ok(exit::OK)
        }
        ConfigCommand::Rm { key } => {
            let key = canonical(key);
            let mut f = StackFile::read(&file)?;
            if f.config.remove(key).is_none() {
                return Ok(report(
                    Diagnostic::error(format!("stack `{}` does not set `{key}`", g.stack_name))
                        .hint("`engine config ls` shows where each value comes from"),
                ));
            }
            f.write(&file, &g.stack_name)?;
            eprintln!("Removed `{key}` from stack `{}`.", g.stack_name);
            Ok(exit::OK)
        }
        ConfigCommand::Get { key } => {
            let cfg = config::load(&std::env::current_dir()?, &g.overrides)?;
            let key = canonical(key);
            let value = match key {
                "region" => Some(cfg.context.region.clone()),
                "environment" => Some(cfg.context.environment.clone()),
                k => cfg.context.config.get(k).cloned(),
            };
            match value {
                Some(v) => {
                    ui::out(&format!("{v}\n"));
                    Ok(exit::OK)
                }
                None => Ok(report(
                    Diagnostic::error(format!("`{key}` is not set for stack `{}`", g.stack_name))
                        .hint(format!("set it: engine config set {key} VALUE")),
                )),
            }
        }
        ConfigCommand::Ls { json } => {
            let cfg = config::load(&std::env::current_dir()?, &g.overrides)?;
            let mut rows: Vec<(String, String, Origin)> = vec![
                (
                    "region".into(),
                    cfg.context.region.clone(),
                    cfg.origins["region"],
                ),
                (
                    "environment".into(),
                    cfg.context.environment.clone(),
                    cfg.origins["environment"],
                ),
            ];
            for (k, v) in &cfg.context.config {
                rows.push((
                    k.clone(),
                    v.clone(),
                    cfg.origins.get(k).copied().unwrap_or(Origin::Project),
                ));
            }
            if *json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|(k, v, o)| json!({"key": k, "value": v, "origin": o}))
                    .collect();
                let doc = json!({"stack": g.stack_name, "config": list});
                ui::out(&format!("{}\n", serde_json::to_string_pretty(&doc)?));
                return Ok(exit::OK);
            }
            let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(3).max(3);
            let mut out = format!("Stack `{}`:\n", g.stack_name);
            out.push_str(&format!("  {:<width$}  {:<24}  FROM\n", "KEY", "VALUE"));
            for (k, v, o) in &rows {
                out.push_str(&format!(
                    "  {:<width$}  {:<24}  {o}\n",
                    engine_core::printable::line(k),
                    engine_core::printable::line(v)
                ));
            }
            ui::out(&out);
            Ok(exit::OK)
        }
    }
}
