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
    /// List every key with its value and where the value came from. Given the
    /// stack's plugins, also every key they read, with its type, default and
    /// description, and any key set that none of them reads.
    #[command(
        after_help = "Examples:\n  engine config ls\n  engine config ls plugins/*.wasm\n  engine config ls --json plugins/*.wasm"
    )]
    Ls {
        /// Print JSON
        #[arg(long)]
        json: bool,
        /// The stack's component plugins (.wasm), whose keys to list
        plugins: Vec<std::path::PathBuf>,
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
        ConfigCommand::Ls { json, plugins } => ls(g, plugins, *json),
    }
}

/// One row of `config ls`.
#[derive(serde::Serialize)]
struct Row {
    key: String,
    /// The value in force: set, or the plugins' default.
    value: Option<String>,
    /// Where it came from; `None` when unset (the default applies).
    origin: Option<Origin>,
    /// The plugins that read it (`engine` for engine's own keys).
    plugins: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    ty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

fn ls(g: &Globals, plugins: &[std::path::PathBuf], json: bool) -> anyhow::Result<u8> {
    let cfg = config::load(&std::env::current_dir()?, &g.overrides)?;
    let origin = |k: &str| cfg.origins.get(k).copied().unwrap_or(Origin::Project);
    let own = |key: &str, value: &str, about: &str| Row {
        key: key.into(),
        value: Some(value.into()),
        origin: Some(origin(key)),
        plugins: vec!["engine".into()],
        default: None,
        ty: None,
        description: Some(about.into()),
    };
    let mut rows = vec![
        own(
            "region",
            &cfg.context.region,
            "The AWS region (alias `aws:region`).",
        ),
        own(
            "environment",
            &cfg.context.environment,
            "The suffix on every resource name (alias `environmentSuffix`).",
        ),
    ];
    if let Some(e) = &cfg.endpoint {
        rows.push(own(
            "endpoint",
            e,
            "One endpoint URL for every AWS service (an emulator).",
        ));
    }
    let mut loaded = Vec::new();
    let mut diagnostics = Vec::new();
    if !plugins.is_empty() {
        let runtime = crate::load::runtime(&cfg, false)?;
        for path in plugins {
            match crate::load::load_component(&runtime, path) {
                Ok(p) => loaded.push(crate::load::plugin_keys(&p)),
                Err(e) => diagnostics.push(e.diagnostic()),
            }
        }
        diagnostics.extend(crate::load::check_config(&loaded, &cfg.context.config));
    }
    // Every key a plugin lists, with the first plugin's type and default (plugins
    // that share a key must agree on its type: `check` says when they do not).
    let mut listed: std::collections::BTreeMap<&str, Row> = Default::default();
    for p in &loaded {
        for k in p.keys.iter().flatten() {
            let row = listed.entry(&k.name).or_insert_with(|| Row {
                key: k.name.clone(),
                value: cfg
                    .context
                    .config
                    .get(&k.name)
                    .cloned()
                    .or(k.default.clone()),
                origin: cfg.context.config.get(&k.name).map(|_| origin(&k.name)),
                plugins: Vec::new(),
                default: k.default.clone(),
                ty: Some(k.ty.to_string()),
                description: Some(k.description.clone()),
            });
            row.plugins.push(p.plugin.clone());
        }
    }
    let older: Vec<String> = loaded
        .iter()
        .filter(|p| p.keys.is_none())
        .map(|p| p.plugin.clone())
        .collect();
    for (k, v) in &cfg.context.config {
        if listed.contains_key(k.as_str()) {
            continue;
        }
        rows.push(Row {
            key: k.clone(),
            value: Some(v.clone()),
            origin: Some(origin(k)),
            // Without plugins, who reads it is not known; with them, none that
            // lists its keys does (an older plugin may).
            plugins: older.clone(),
            default: None,
            ty: None,
            description: None,
        });
    }
    rows.extend(listed.into_values());
    if json {
        let doc = json!({"stack": g.stack_name, "config": rows, "diagnostics": diagnostics});
        ui::out(&format!("{}\n", serde_json::to_string_pretty(&doc)?));
    } else {
        ui::out(&table(&g.stack_name, &rows, !plugins.is_empty()));
        ui::diagnostics(&diagnostics);
    }
    Ok(if diagnostics.iter().any(Diagnostic::is_error) {
        exit::ERROR
    } else {
        exit::OK
    })
}

/// `config ls` for people: a table, then each key's type and description when
/// the plugins were given.
fn table(stack: &str, rows: &[Row], with_plugins: bool) -> String {
    use engine_core::printable::line;
    let cell = |r: &Row| -> [String; 4] {
        [
            line(&r.key).into_owned(),
            r.value
                .as_deref()
                .map_or("-".into(), |v| line(v).into_owned()),
            r.origin.map_or("default".into(), |o| o.to_string()),
            if r.plugins.is_empty() {
                if with_plugins {
                    "(none)".into()
                } else {
                    "-".into()
                }
            } else {
                r.plugins.join(",")
            },
        ]
    };
    let cells: Vec<[String; 4]> = rows.iter().map(cell).collect();
    let head = ["KEY", "VALUE", "FROM", "READ BY"];
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..4).map(width).collect();
    let mut out = format!("Stack `{stack}`:\n");
    let mut push = |c: &[&str; 4], about: Option<String>| {
        let text = format!(
            "  {:<w0$}  {:<w1$}  {:<w2$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        );
        out.push_str(text.trim_end());
        out.push('\n');
        if let Some(a) = about {
            out.push_str(&format!("  {:<w0$}  {a}\n", "", w0 = w[0]));
        }
    };
    push(&head, None);
    for (r, c) in rows.iter().zip(&cells) {
        let about = match (&r.ty, &r.description) {
            (Some(t), Some(d)) => {
                let default = r
                    .default
                    .as_deref()
                    .map_or(String::new(), |d| format!(", default `{}`", line(d)));
                Some(format!("{}{default}: {}", t, line(d)))
            }
            _ => None,
        };
        push(&[&c[0], &c[1], &c[2], &c[3]], about);
    }
    if !with_plugins {
        out.push_str("\nPass the stack's plugins to list every key they read: engine config ls plugins/*.wasm\n");
    }
    out
}
