//! Loading plugins and collecting their declarations into one graph.

use std::path::{Path, PathBuf};

use engine_core::config::PluginKeys;
use engine_core::{Declaration, Diagnostic, Graph};
use engine_runtime::{Plugin, PluginError, PluginKind, Runtime};

/// Where compiled plugin code is cached: `ENGINE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/engine/code`, else `~/.cache/engine/code`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("ENGINE_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("engine").join("code"))
}

/// The plugin runtime with the stack's limits (`[limits]`, `[limits.NAME]`),
/// caching compiled code unless `no_cache`.
pub fn runtime(cfg: &crate::config::Config, no_cache: bool) -> anyhow::Result<Runtime> {
    Runtime::new(
        cfg.limits.clone(),
        if no_cache { None } else { cache_dir() },
    )
    .map(|r| r.with_plugin_limits(cfg.plugin_limits.clone()))
    .map_err(|e| anyhow::anyhow!("cannot start the plugin runtime: {e:#}"))
}

/// Plugins loaded and their declarations, plus every problem found.
pub struct Loaded {
    /// Component plugins that loaded, in argument order.
    pub plugins: Vec<Plugin>,
    /// Their declarations.
    pub declarations: Vec<Declaration>,
    /// Problems; a failing plugin does not stop the others from being reported.
    pub diagnostics: Vec<Diagnostic>,
    /// How many plugins failed.
    pub failed: usize,
    /// The stack's config was refused before any plugin declared.
    pub config_refused: bool,
}

/// Loads each component plugin, checks the stack's config against the keys they
/// list, and only then calls `declare` (a misspelt key or a bad value stops
/// every plugin from declaring with it). Between the check and `declare`, `facts`
/// is given the keys every loaded plugin lists and adds the facts they need to
/// `ctx` (the region's zones only when a plugin reads them).
pub fn declare_all(
    runtime: &Runtime,
    paths: &[PathBuf],
    ctx: &mut engine_core::Context,
    facts: impl FnOnce(&[PluginKeys], &mut engine_core::Context),
) -> Loaded {
    let mut out = Loaded {
        plugins: Vec::new(),
        declarations: Vec::new(),
        diagnostics: Vec::new(),
        failed: 0,
        config_refused: false,
    };
    let mut plugins = Vec::new();
    for path in paths {
        match load_component(runtime, path) {
            Ok(p) => plugins.push(p),
            Err(e) => {
                out.failed += 1;
                out.diagnostics.push(e.diagnostic());
            }
        }
    }
    let keys: Vec<PluginKeys> = plugins.iter().map(plugin_keys).collect();
    let problems = check_config(&keys, &ctx.config);
    let refused = problems.iter().filter(|d| d.is_error()).count();
    out.diagnostics.extend(problems);
    if refused > 0 {
        out.diagnostics.push(
            Diagnostic::error(format!(
                "the stack's config has {refused} problem{}; no plugin was asked to declare",
                if refused == 1 { "" } else { "s" }
            ))
            .hint(
                "`engine config ls PLUGINS...` lists every key the plugins read, with its default",
            ),
        );
        out.config_refused = true;
        return out;
    }
    facts(&keys, ctx);
    let ctx = &*ctx;
    for mut p in plugins {
        let started = std::time::Instant::now();
        match p.declare(ctx) {
            Ok(d) => {
                // Declared once per run: its guest memory goes back now, before
                // planning needs memory of its own.
                p.release();
                tracing::debug!(
                    plugin = p.name(),
                    resources = d.resources.len(),
                    elapsed = ?started.elapsed(),
                    "declared"
                );
                out.plugins.push(p);
                out.declarations.push(d);
            }
            Err(e) => {
                out.failed += 1;
                out.diagnostics.push(e.diagnostic());
            }
        }
    }
    out
}

/// [`engine_core::config::check`] of the stack's values, less the zones pin, which
/// the engine reads itself (`crate::facts`) whether or not a plugin lists it.
pub fn check_config(
    plugins: &[PluginKeys],
    values: &std::collections::BTreeMap<String, String>,
) -> Vec<Diagnostic> {
    let mut values = values.clone();
    values.remove(crate::facts::ZONES_PIN);
    engine_core::config::check(plugins, &values)
}

/// The config keys `p` lists, for [`engine_core::config::check`].
pub fn plugin_keys(p: &Plugin) -> PluginKeys {
    PluginKeys {
        plugin: p.name().to_string(),
        keys: p.info().config.clone(),
    }
}

pub fn load_component(runtime: &Runtime, path: &Path) -> Result<Plugin, PluginError> {
    let p = runtime.load(path)?;
    if p.kind() != PluginKind::Component {
        return Err(PluginError {
            plugin: p.name().to_string(),
            address: None,
            kind: engine_runtime::PluginErrorKind::UnexpectedKind {
                found: p.kind(),
                expected: PluginKind::Component,
            },
        });
    }
    Ok(p)
}

/// Builds the graph when every plugin loaded; otherwise says why not.
pub fn graph(loaded: &mut Loaded, total: usize) -> Option<Graph> {
    if loaded.config_refused {
        return None;
    }
    if loaded.failed > 0 {
        loaded.diagnostics.push(
            Diagnostic::error(format!(
                "{} of {total} plugins failed; no plan was made",
                loaded.failed
            ))
            .detail("Every plugin must declare its resources before the stack can be planned."),
        );
        return None;
    }
    let started = std::time::Instant::now();
    let built = Graph::from_declarations(std::mem::take(&mut loaded.declarations));
    tracing::debug!(elapsed = ?started.elapsed(), "built and validated the graph");
    match built {
        Ok(g) => Some(g),
        Err(diags) => {
            loaded.diagnostics.extend(diags);
            None
        }
    }
}
