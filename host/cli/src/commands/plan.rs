//! `engine validate` and `engine plan`.

use std::fmt::Write as _;
use std::path::PathBuf;

use engine_core::{Graph, Spec};
use engine_runtime::Runtime;

use crate::config::{self, Overrides};
use crate::{exit, load, ui};

fn declare(
    o: &Overrides,
    no_cache: bool,
    plugins: &[PathBuf],
) -> anyhow::Result<(config::Config, load::Loaded, Option<Graph>)> {
    let cwd = std::env::current_dir()?;
    let cfg = config::load(&cwd, o)?;
    let runtime = Runtime::new(
        cfg.limits.clone(),
        if no_cache { None } else { load::cache_dir() },
    )
    .map_err(|e| anyhow::anyhow!("cannot start the plugin runtime: {e:#}"))?;
    let mut loaded = load::declare_all(&runtime, plugins, &cfg.context);
    let graph = load::graph(&mut loaded, plugins.len());
    Ok((cfg, loaded, graph))
}

/// `engine validate`.
pub fn validate(
    o: &Overrides,
    no_cache: bool,
    plugins: &[PathBuf],
    json: bool,
) -> anyhow::Result<u8> {
    let (_, loaded, graph) = declare(o, no_cache, plugins)?;
    ui::diagnostics(&loaded.diagnostics);
    if json {
        let v = serde_json::json!({
            "valid": graph.is_some(),
            "resources": graph.as_ref().map_or(0, |g| g.resources.len()),
            "diagnostics": loaded.diagnostics,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    let Some(g) = graph else {
        return Ok(exit::ERROR);
    };
    if !json {
        eprintln!(
            "Valid: {} plugins, {} resources, {} outputs.",
            loaded.plugins.len(),
            g.resources.len(),
            g.outputs.len()
        );
    }
    Ok(exit::OK)
}

/// `engine plan`.
pub fn plan(o: &Overrides, no_cache: bool, plugins: &[PathBuf], json: bool) -> anyhow::Result<u8> {
    let (cfg, loaded, graph) = declare(o, no_cache, plugins)?;
    ui::diagnostics(&loaded.diagnostics);
    let Some(g) = graph else {
        return Ok(exit::ERROR);
    };
    if json {
        let resources: Vec<_> = g
            .order()
            .into_iter()
            .map(|a| {
                let r = &g.resources[a];
                serde_json::json!({
                    "address": a.to_string(),
                    "kind": r.spec.kind().as_str(),
                    "action": "create",
                    "properties": r.spec.properties(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "resources": resources }))?
        );
    } else {
        print!("{}", render(&cfg.context, &loaded, &g, ui::color(true)));
    }
    Ok(exit::OK)
}

fn render(ctx: &engine_core::Context, loaded: &load::Loaded, g: &Graph, color: bool) -> String {
    let (green, bold, reset) = if color {
        ("\x1b[32m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Stack {bold}{}{reset} in {} (environment `{}`)\n",
        ctx.stack, ctx.region, ctx.environment
    );
    for p in &loaded.plugins {
        let mut rs: Vec<_> = g
            .resources
            .values()
            .filter(|r| r.address.plugin == p.name())
            .collect();
        rs.sort_by(|a, b| a.address.cmp(&b.address));
        let _ = writeln!(
            s,
            "{bold}{}{reset} ({}, {} resources)",
            p.name(),
            p.path().display(),
            rs.len()
        );
        for r in rs {
            let _ = writeln!(
                s,
                "  {green}+{reset} {:<28} {:<24} {}",
                r.address.to_string(),
                r.spec.kind().as_str(),
                key_properties(&r.spec)
            );
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Plan: {} to create, 0 to update, 0 to replace, 0 to delete.",
        g.resources.len()
    );
    s
}

/// A few identifying properties of a resource, for one line.
fn key_properties(spec: &Spec) -> String {
    let props = spec.properties();
    let mut parts = Vec::new();
    if let Some(obj) = props.as_object() {
        for (k, v) in obj {
            if parts.len() == 3 {
                break;
            }
            let shown = match v {
                serde_json::Value::String(s)
                    if !s.is_empty()
                        && s.len() <= 48
                        && !k.contains("description")
                        && !k.contains("policy") =>
                {
                    s.clone()
                }
                serde_json::Value::Object(m) if m.contains_key(engine_core::model::REF_KEY) => {
                    format!(
                        "({})",
                        m[engine_core::model::REF_KEY].as_str().unwrap_or("")
                    )
                }
                serde_json::Value::Number(n) => n.to_string(),
                _ => continue,
            };
            parts.push(format!("{k}={shown}"));
        }
    }
    parts.join(" ")
}
