//! Loads and runs `engine` plugins: WebAssembly components in a sandbox.
//!
//! Every plugin gets its own [`wasmtime::Store`] with an epoch deadline per call, a
//! memory cap, and a cap on the size of what it returns. Plugins import nothing but
//! the WIT `host` interface (no WASI): a plugin that asks for anything else is
//! refused at load time with a message naming what it asked for.
//!
//! A hostile plugin is refused in bounded time and host memory: the deadline stops
//! a loop; the memory cap stops an allocation, a huge string or millions of
//! resources inside the guest; the host copies at most [`Limits::lift_budget`] bytes
//! out of the guest's memory for one answer (wasmtime's hostcall fuel), so strings
//! that share their bytes cannot make it allocate more; the answer's size (as JSON)
//! is capped; a stack overflow, a panic or another trap is one line
//! naming the plugin (the wasm backtrace goes to the debug log). What a plugin says
//! (names, its error, its panic, its log) is quoted with its control characters
//! escaped and clipped when long (`engine_core::printable::short`).
//!
//! # Layout
//! - [`bindings`]: the one `bindgen!` site.
//! - `convert`: WIT types <-> `engine_core` model.
//! - [`cache`]: precompiled code, keyed by plugin hash and engine configuration.
//! - [`Runtime`]: the engine, the linker and the epoch ticker, shared by all plugins.
//! - [`Plugin`]: one loaded plugin with its store.
//! - [`rego`]: the embedded Rego evaluator, run in the same sandbox.
//! - [`PluginError`]: what went wrong, always naming the plugin.

pub mod bindings;
pub mod cache;
mod convert;
pub mod rego;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use engine_core::model as core;
use engine_core::printable;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};

use bindings::{LogLevel, component as cw, policy as pw, v0_1, v0_2, v0_3, wit};

/// The current WIT package version: what `engine build` and the SDK build against.
pub const WIT_VERSION: &str = "0.4.0";
/// Every contract version this host loads, newest first. Plugins built against an
/// older one keep working: their declarations are converted up, and an older
/// policy sees only the kinds its version knows.
pub const SUPPORTED_VERSIONS: &[&str] = &[WIT_VERSION, "0.3.0", "0.2.0", "0.1.0"];
const COMPONENT_EXPORT: &str = "engine:plugin/component-plugin";
const POLICY_EXPORT: &str = "engine:plugin/policy-plugin";
const ALLOWED_IMPORTS: &[&str] = &["engine:plugin/host", "engine:plugin/types"];

/// Limits applied to every plugin call.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock time one call may take.
    pub deadline: Duration,
    /// Linear memory a plugin may use, in bytes.
    pub memory_bytes: usize,
    /// Size of what one call may return, in bytes (as JSON).
    pub max_output_bytes: usize,
}

/// How many times [`Limits::max_output_bytes`] the host copies out of a guest's
/// memory for one call (see [`Limits::lift_budget`]): room for the host's own
/// layout of an answer within the size limit, which is larger than its JSON.
const LIFT_FACTOR: usize = 8;

impl Limits {
    /// The most the host copies out of a guest's memory for one call (its strings,
    /// and its lists as the host holds them), in bytes: [`LIFT_FACTOR`] times
    /// `max_output_bytes` (512 MiB by default). An answer whose strings share
    /// their bytes in the guest (the canonical ABI passes each as a pointer and a
    /// length) would otherwise make the host allocate many times the guest's
    /// memory cap.
    pub fn lift_budget(&self) -> usize {
        self.max_output_bytes.saturating_mul(LIFT_FACTOR)
    }
}

/// Plugin text (a name, an error) longer than this many characters is clipped in
/// messages.
pub(crate) const SHOWN_CHARS: usize = 200;
/// A message longer than this many characters (an error from `declare`, a panic)
/// is clipped.
const MESSAGE_CHARS: usize = 4096;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_secs(5),
            memory_bytes: 256 << 20,
            max_output_bytes: 64 << 20,
        }
    }
}

/// What kind of plugin a component is, by the interface it exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    /// Exports `component-plugin`: declares resources.
    Component,
    /// Exports `policy-plugin`: checks plans.
    Policy,
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginKind::Component => "component",
            PluginKind::Policy => "policy",
        })
    }
}

/// A plugin failure. `plugin` is the plugin's name once known, else its file.
#[derive(Debug, thiserror::Error)]
#[error("plugin `{plugin}`: {kind}")]
pub struct PluginError {
    /// The plugin.
    pub plugin: String,
    /// The resource involved, if any.
    pub address: Option<String>,
    /// What happened.
    pub kind: PluginErrorKind,
}

impl PluginError {
    /// The error as a diagnostic for people: the plugin, the resource, and a hint
    /// for the common causes.
    pub fn diagnostic(&self) -> engine_core::Diagnostic {
        let e = self;
        use PluginErrorKind as K;
        let mut d = engine_core::Diagnostic::error(e.kind.to_string()).plugin(&e.plugin);
        if let Some(a) = &e.address {
            d = d.address(a);
        }
        // The setting that raises a limit, for every plugin or for this one.
        let name = if engine_core::address::valid_name(&e.plugin) {
            e.plugin.as_str()
        } else {
            "NAME" // not known yet: it failed before saying
        };
        let raise = |setting: &str| {
            format!(
                "raise {setting} under [limits] (every plugin) or [limits.{name}] (this plugin) in engine.toml"
            )
        };
        let hint: Option<String> = match &e.kind {
            K::NotWasm(_) => {
                Some("pass the `.wasm` files that `just plugins` writes under plugins/".into())
            }
            K::CoreModule(_) => Some("build it with `engine build` (or `just plugins`), which turns the module into a component".into()),
            K::ForbiddenImport(_) => {
                Some("build for wasm32-unknown-unknown with engine-sdk; plugins may not use WASI".into())
            }
            K::Version { .. } => {
                Some("rebuild the plugin against this engine's wit/ (`just plugins`)".into())
            }
            K::UnexpectedKind {
                found: PluginKind::Policy,
                ..
            } => Some("pass policy plugins with `--policy`".into()),
            K::Deadline { .. } => Some(format!(
                "a plugin must return quickly; {} if it truly needs longer",
                raise("deadline-ms")
            )),
            K::Memory { .. } => Some(format!(
                "{} if the plugin truly needs more",
                raise("memory-mb")
            )),
            K::Oversized { .. } | K::TooLarge { .. } => Some(format!(
                "{} if the plugin truly returns this much",
                raise("answer-mb")
            )),
            K::StackOverflow { .. } => Some("look for unbounded recursion in the plugin; its wasm backtrace is in the debug log (-vv)".into()),
            K::Trap { .. } => Some("the plugin's wasm backtrace is in the debug log (-vv)".into()),
            K::Unavailable(_) => Some(
                "install the wasm32 toolchain (`just setup`) and build the engine again; the build embeds the evaluator".into(),
            ),
            _ => None,
        };
        if let Some(h) = hint {
            d = d.hint(h);
        }
        d
    }
}

/// What happened to a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginErrorKind {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not WebAssembly at all.
    #[error("{0} is not a WebAssembly file")]
    NotWasm(PathBuf),
    /// A core module, not a component.
    #[error("{0} is a core WebAssembly module, not a component")]
    CoreModule(PathBuf),
    /// Not valid.
    #[error("{path} is not a valid component: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// wasmtime's message.
        message: String,
    },
    /// Imports something the host does not provide.
    #[error(
        "imports `{0}`, which the engine does not provide (plugins get no WASI or other capabilities; only `engine:plugin/host@{WIT_VERSION}`)"
    )]
    ForbiddenImport(String),
    /// Built against a version of the WIT package this engine does not support.
    #[error(
        "was built for `engine:plugin@{found}`, but this engine speaks `engine:plugin` {}",
        supported_list()
    )]
    Version {
        /// The version the plugin uses.
        found: String,
    },
    /// Exports neither world's interface.
    #[error(
        "is not an engine plugin: it exports {exports}, but a plugin exports `{COMPONENT_EXPORT}@{WIT_VERSION}` or `{POLICY_EXPORT}@{WIT_VERSION}`"
    )]
    WrongWorld {
        /// What it exports.
        exports: String,
    },
    /// A component where a policy was expected, or the other way.
    #[error("is a {found} plugin, but a {expected} plugin was expected here")]
    UnexpectedKind {
        /// What it is.
        found: PluginKind,
        /// What was wanted.
        expected: PluginKind,
    },
    /// The plugin's sandbox was released after it declared ([`Plugin::release`]).
    #[error("cannot call `{call}`: its sandbox was released after it declared")]
    Released {
        /// The call.
        call: &'static str,
    },
    /// The call ran past the deadline.
    #[error("did not finish `{call}` within its deadline of {deadline:?} and was stopped")]
    Deadline {
        /// The exported function.
        call: &'static str,
        /// The deadline.
        deadline: Duration,
    },
    /// The plugin tried to use more memory than allowed.
    #[error("exceeded its memory limit of {} MiB in `{call}` and was stopped", limit >> 20)]
    Memory {
        /// The exported function.
        call: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// The plugin panicked.
    #[error(
        "panicked in `{call}`{}: {message}",
        location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default()
    )]
    Panic {
        /// The exported function.
        call: &'static str,
        /// Where, when the guest said (`src/lib.rs:12:5`).
        location: Option<String>,
        /// The panic message the guest reported (escaped, clipped when long).
        message: String,
    },
    /// The plugin recursed too deep: wasm's call stack ran out, or the guest's own
    /// stack in its linear memory did (its stack pointer went below zero and it
    /// touched memory at the top of the 4 GiB address space).
    #[error("overflowed its stack in `{call}` (unbounded or too deep recursion) and was stopped")]
    StackOverflow {
        /// The exported function.
        call: &'static str,
    },
    /// Some other trap.
    #[error("crashed in `{call}`: {message}")]
    Trap {
        /// The exported function.
        call: &'static str,
        /// The trap, in one line (the wasm backtrace goes to the debug log).
        message: String,
    },
    /// The answer was too large.
    #[error("returned {size} bytes from `{call}`, more than the limit of {limit} bytes")]
    Oversized {
        /// The exported function.
        call: &'static str,
        /// Size of the answer (as JSON).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The answer would take more host memory to read than
    /// [`Limits::lift_budget`]: the host stopped copying it.
    #[error(
        "returned an answer from `{call}` too large to read: more than {} MiB of strings and lists, so the engine stopped copying it",
        limit >> 20
    )]
    TooLarge {
        /// The exported function.
        call: &'static str,
        /// The budget in bytes.
        limit: usize,
    },
    /// The plugin returned an error from `declare`.
    #[error("{0}")]
    Declared(String),
    /// The engine cannot run this policy at all (a Rego policy in a build without
    /// the Rego evaluator).
    #[error("{0}")]
    Unavailable(String),
    /// The plugin returned something invalid.
    #[error("returned an invalid answer: {0}")]
    BadAnswer(String),
}

/// The supported versions for messages: `0.4.0, 0.3.0, 0.2.0 and 0.1.0`.
fn supported_list() -> String {
    match SUPPORTED_VERSIONS.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => SUPPORTED_VERSIONS.join(""),
    }
}

/// Shared engine, linker and epoch ticker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Limits,
    /// Limits of their own for some plugins, by name (`[limits.NAME]`).
    plugin_limits: std::collections::BTreeMap<String, Limits>,
    cache: Option<cache::CodeCache>,
    tick: Duration,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// What the host keeps per store.
pub struct HostState {
    plugin: String,
    limiter: Limiter,
    panic: Option<String>,
}

impl HostState {
    /// The state of a new store for `plugin`, allowed `memory_bytes` of memory.
    fn new(plugin: String, memory_bytes: usize) -> HostState {
        HostState {
            plugin,
            limiter: Limiter {
                memory_bytes,
                hit: false,
            },
            panic: None,
        }
    }
}

struct Limiter {
    memory_bytes: usize,
    hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit = true;
            return Err(wasmtime::Error::msg("memory limit reached"));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl cw::engine::plugin::host::Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) {
        self.log_message(level, message);
    }
}

impl cw::engine::plugin::types::Host for HostState {}

/// The `host` interface of a frozen contract: the same log, its own level type.
macro_rules! frozen_host {
    ($($v:ident),*) => {$(
        impl $v::component::engine::plugin::host::Host for HostState {
            fn log(&mut self, level: $v::component::engine::plugin::host::LogLevel, message: String) {
                use $v::component::engine::plugin::host::LogLevel as Old;
                let level = match level {
                    Old::Trace => LogLevel::Trace,
                    Old::Debug => LogLevel::Debug,
                    Old::Info => LogLevel::Info,
                    Old::Warn => LogLevel::Warn,
                    Old::Error => LogLevel::Error,
                };
                self.log_message(level, message);
            }
        }

        impl $v::component::engine::plugin::types::Host for HostState {}
    )*};
}
frozen_host!(v0_1, v0_2, v0_3);

impl HostState {
    fn log_message(&mut self, level: LogLevel, message: String) {
        let plugin = &self.plugin;
        let message: String = message.chars().take(MESSAGE_CHARS).collect();
        // One line per message: a line break could fake one of the engine's own.
        let shown = printable::line(&message);
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{shown}"),
            LogLevel::Debug => tracing::debug!(plugin, "{shown}"),
            LogLevel::Info => tracing::info!(plugin, "{shown}"),
            LogLevel::Warn => tracing::warn!(plugin, "{shown}"),
            LogLevel::Error => {
                if let Some(p) = message.strip_prefix("panicked: ") {
                    self.panic = Some(p.to_string());
                } else {
                    tracing::error!(plugin, "{shown}");
                }
            }
        }
    }
}

impl Runtime {
    /// A runtime with `limits`, caching compiled code in `cache_dir` when given.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> wasmtime::Result<Runtime> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(1 << 20);
        config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(BACKTRACE_FRAMES));
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        cw::Component::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
        v0_1::component::Component::add_to_linker::<HostState, HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )?;
        v0_2::component::Component::add_to_linker::<HostState, HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )?;
        v0_3::component::Component::add_to_linker::<HostState, HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )?;

        let tick = Duration::from_millis(10);
        let stop_ticker = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = stop_ticker.clone();
            std::thread::Builder::new()
                .name("engine-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })?;
        }
        let cache = cache_dir.map(|dir| cache::CodeCache::new(dir, &engine));
        Ok(Runtime {
            engine,
            linker,
            limits,
            plugin_limits: Default::default(),
            cache,
            tick,
            stop_ticker,
        })
    }

    /// This runtime, with limits of their own for the plugins `limits` names
    /// (`[limits.NAME]` in engine.toml). A plugin is loaded, instantiated and
    /// asked its name under the runtime's limits; from then on (its `declare` or
    /// `check`) under its own.
    pub fn with_plugin_limits(
        mut self,
        limits: std::collections::BTreeMap<String, Limits>,
    ) -> Self {
        self.plugin_limits = limits;
        self
    }

    /// The limits in force for every plugin without limits of its own.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The limits in force for the plugin named `plugin`.
    pub fn limits_for(&self, plugin: &str) -> &Limits {
        self.plugin_limits.get(plugin).unwrap_or(&self.limits)
    }

    /// Loads, validates and instantiates the plugin at `path`, and asks who it is.
    pub fn load(&self, path: &Path) -> Result<Plugin, PluginError> {
        let file = path.display().to_string();
        let fail = |kind| PluginError {
            plugin: file.clone(),
            address: None,
            kind,
        };
        let bytes = std::fs::read(path).map_err(|source| {
            fail(PluginErrorKind::Read {
                path: path.into(),
                source,
            })
        })?;
        if !bytes.starts_with(b"\0asm") {
            return Err(fail(PluginErrorKind::NotWasm(path.into())));
        }
        if wasmparser::Parser::is_core_wasm(&bytes) {
            return Err(fail(PluginErrorKind::CoreModule(path.into())));
        }
        let sha256 = hex(&Sha256::digest(&bytes));
        let started = Instant::now();
        let (component, cached) = self.compile(&bytes, &sha256).map_err(|e| {
            fail(PluginErrorKind::Invalid {
                path: path.into(),
                message: format!("{e:#}"),
            })
        })?;
        tracing::debug!(plugin = file, cached, elapsed = ?started.elapsed(), "compiled");
        let (kind, contract) = self.check_world(&component).map_err(fail)?;

        let mut store = Store::new(
            &self.engine,
            HostState::new(file.clone(), self.limits.memory_bytes),
        );
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(self.limits.lift_budget());
        store.epoch_deadline_trap();
        self.arm(&mut store);
        let linker = &self.linker;
        let instance = match (kind, contract) {
            (PluginKind::Component, WIT_VERSION) => {
                cw::Component::instantiate(&mut store, &component, linker).map(Instance::Component)
            }
            (PluginKind::Policy, WIT_VERSION) => {
                pw::Policy::instantiate(&mut store, &component, linker).map(Instance::Policy)
            }
            (PluginKind::Component, "0.3.0") => {
                v0_3::component::Component::instantiate(&mut store, &component, linker)
                    .map(Instance::ComponentV0_3)
            }
            (PluginKind::Policy, "0.3.0") => {
                v0_3::policy::Policy::instantiate(&mut store, &component, linker)
                    .map(Instance::PolicyV0_3)
            }
            (PluginKind::Component, "0.2.0") => {
                v0_2::component::Component::instantiate(&mut store, &component, linker)
                    .map(Instance::ComponentV0_2)
            }
            (PluginKind::Policy, "0.2.0") => {
                v0_2::policy::Policy::instantiate(&mut store, &component, linker)
                    .map(Instance::PolicyV0_2)
            }
            (PluginKind::Component, _) => {
                v0_1::component::Component::instantiate(&mut store, &component, linker)
                    .map(Instance::ComponentV0_1)
            }
            (PluginKind::Policy, _) => {
                v0_1::policy::Policy::instantiate(&mut store, &component, linker)
                    .map(Instance::PolicyV0_1)
            }
        }
        .map_err(|e| fail(classify(e, &store, "instantiate", &self.limits)))?;

        let mut plugin = Plugin {
            name: file.clone(),
            info: PluginInfo::default(),
            path: path.into(),
            sha256,
            kind,
            contract,
            store,
            instance,
            deadline_ticks: self.deadline_ticks(&self.limits),
            limits: self.limits.clone(),
            released: false,
        };
        let info = plugin.metadata()?;
        if !engine_core::address::valid_name(&info.name) {
            return Err(fail(PluginErrorKind::BadAnswer(format!(
                "its name `{}` is not valid: use lowercase letters, digits and `-`, starting with a letter",
                printable::short(&info.name, SHOWN_CHARS)
            ))));
        }
        plugin.name = info.name.clone();
        plugin.store.data_mut().plugin = info.name.clone();
        // Its own limits from here on, when it has some.
        let limits = self.limits_for(&info.name).clone();
        plugin.store.data_mut().limiter.memory_bytes = limits.memory_bytes;
        plugin.deadline_ticks = self.deadline_ticks(&limits);
        plugin.limits = limits;
        plugin.info = info;
        Ok(plugin)
    }

    fn deadline_ticks(&self, limits: &Limits) -> u64 {
        (limits.deadline.as_millis() / self.tick.as_millis()).max(1) as u64
    }

    fn arm(&self, store: &mut Store<HostState>) {
        store.set_epoch_deadline(self.deadline_ticks(&self.limits));
    }

    fn compile(&self, bytes: &[u8], sha256: &str) -> wasmtime::Result<(Component, bool)> {
        if let Some(cache) = &self.cache {
            if let Some(c) = cache.get(&self.engine, sha256) {
                return Ok((c, true));
            }
            let component = Component::new(&self.engine, bytes)?;
            cache.put(sha256, &component);
            return Ok((component, false));
        }
        Ok((Component::new(&self.engine, bytes)?, false))
    }

    /// The plugin's kind and the contract version it was built against (one of
    /// [`SUPPORTED_VERSIONS`]; every `engine:plugin` name it uses must agree).
    fn check_world(
        &self,
        component: &Component,
    ) -> Result<(PluginKind, &'static str), PluginErrorKind> {
        let ty = component.component_type();
        let mut contract: Option<&'static str> = None;
        let mut agree = |version: Option<&str>| -> Result<(), PluginErrorKind> {
            let found = version.unwrap_or("?");
            let Some(known) = SUPPORTED_VERSIONS.iter().find(|v| **v == found) else {
                return Err(PluginErrorKind::Version {
                    found: found.to_string(),
                });
            };
            match contract {
                Some(c) if c != *known => Err(PluginErrorKind::Version {
                    found: format!("{c} and {known} at once"),
                }),
                _ => {
                    contract = Some(known);
                    Ok(())
                }
            }
        };
        for (name, _) in ty.imports(&self.engine) {
            let (iface, version) = split_version(name);
            if iface.starts_with("engine:plugin/") {
                agree(version)?;
            }
            if !ALLOWED_IMPORTS.contains(&iface) {
                return Err(PluginErrorKind::ForbiddenImport(name.to_string()));
            }
        }
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        for name in &exports {
            let (iface, version) = split_version(name);
            let kind = match iface {
                COMPONENT_EXPORT => PluginKind::Component,
                POLICY_EXPORT => PluginKind::Policy,
                _ => continue,
            };
            agree(version)?;
            return Ok((kind, contract.unwrap_or(WIT_VERSION)));
        }
        let exports = if exports.is_empty() {
            "nothing".to_string()
        } else {
            exports
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Err(PluginErrorKind::WrongWorld { exports })
    }
}

fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((i, v)) => (i, Some(v)),
        None => (name, None),
    }
}

/// What wasmtime says when a call's hostcall fuel runs out (its error type is
/// private): the host stopped copying an answer out of the guest.
const FUEL_EXHAUSTED: &str = "fuel allocated for hostcalls has been exhausted";

/// Where a guest's stack pointer lands when its stack, at the bottom of linear
/// memory (Rust and C on wasm32), runs out: below zero, that is at the top of
/// the 32-bit address space. No guest within the memory cap has memory there.
const WRAPPED_STACK: u64 = 0xffff_ffff - (16 << 20);

/// How many frames of a trapping guest's wasm backtrace are kept (for the debug
/// log, and to recognise a stack overflow).
const BACKTRACE_FRAMES: usize = 100;

/// Whether an out-of-bounds access is the guest's own stack (in its linear
/// memory) running out: the access is where a stack pointer that went below zero
/// points, or, when wasmtime does not know the address (a bulk `memory.fill` is
/// checked in software), the guest was at least [`BACKTRACE_FRAMES`] calls deep.
fn ran_out_of_stack(e: &wasmtime::Error) -> bool {
    fault_address(e).is_some_and(|a| a >= WRAPPED_STACK)
        || e.downcast_ref::<wasmtime::WasmBacktrace>()
            .is_some_and(|bt| bt.frames().len() >= BACKTRACE_FRAMES)
}

fn classify(
    e: wasmtime::Error,
    store: &Store<HostState>,
    call: &'static str,
    limits: &Limits,
) -> PluginErrorKind {
    let state = store.data();
    // The whole error, with its wasm backtrace, is for plugin authors.
    tracing::debug!(plugin = state.plugin, call, "{e:?}");
    if state.limiter.hit {
        return PluginErrorKind::Memory {
            call,
            limit: limits.memory_bytes,
        };
    }
    if e.chain().any(|c| c.to_string().contains(FUEL_EXHAUSTED)) {
        return PluginErrorKind::TooLarge {
            call,
            limit: limits.lift_budget(),
        };
    }
    if let Some(p) = &state.panic {
        let (location, message) = match p.strip_prefix("panicked at ").map(|p| p.split_once(":\n"))
        {
            Some(Some((at, message))) => (Some(printable::short(at, SHOWN_CHARS)), message),
            _ => (None, p.as_str()),
        };
        return PluginErrorKind::Panic {
            call,
            location,
            message: printable::short(message, MESSAGE_CHARS),
        };
    }
    let trap = e.downcast_ref::<Trap>();
    match trap {
        Some(Trap::Interrupt) => {
            return PluginErrorKind::Deadline {
                call,
                deadline: limits.deadline,
            };
        }
        Some(Trap::StackOverflow) => return PluginErrorKind::StackOverflow { call },
        Some(Trap::MemoryOutOfBounds) if ran_out_of_stack(&e) => {
            return PluginErrorKind::StackOverflow { call };
        }
        _ => {}
    }
    // One line: the trap itself (`wasm trap: out of bounds memory access`), or the
    // error's last cause, never the backtrace.
    let message = match trap {
        Some(t) => t.to_string(),
        None => e.root_cause().to_string(),
    };
    PluginErrorKind::Trap {
        call,
        message: printable::short(message.lines().next().unwrap_or_default(), SHOWN_CHARS),
    }
}

/// The wasm address of a memory fault, when wasmtime knows it (its context
/// `memory fault at wasm address 0x... in linear memory of size 0x...`, whose type
/// is private).
fn fault_address(e: &wasmtime::Error) -> Option<u64> {
    e.chain().find_map(|c| {
        let text = c.to_string();
        let hex = text.strip_prefix("memory fault at wasm address 0x")?;
        let end = hex
            .find(|ch: char| !ch.is_ascii_hexdigit())
            .unwrap_or(hex.len());
        u64::from_str_radix(&hex[..end], 16).ok()
    })
}

/// Who a plugin says it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PluginInfo {
    /// Name (first part of its addresses).
    pub name: String,
    /// Version.
    pub version: String,
    /// One line about it.
    pub description: String,
    /// The config keys it reads; `None` when its contract predates config keys
    /// (before 0.3.0), so what it reads is not known.
    pub config: Option<Vec<engine_core::config::ConfigKey>>,
}

/// Calls `check` of a policy built against the frozen contract `$v`: the plan
/// view converted down (resources of kinds it does not know are left out), the
/// violations converted up.
macro_rules! older_check {
    ($p:expr, $store:expr, $view:expr, $v:ident) => {{
        let old = $v::wit::PlanView {
            stack: $view.stack.clone(),
            region: $view.region.clone(),
            resources: $view
                .resources
                .iter()
                .filter_map(|r| across(r).ok())
                .collect(),
        };
        let found = $p.engine_plugin_policy_plugin().call_check($store, &old)?;
        found
            .iter()
            .map(|v| across::<_, wit::Violation>(v).map_err(wasmtime::Error::msg))
            .collect()
    }};
}
enum Instance {
    Component(cw::Component),
    Policy(pw::Policy),
    ComponentV0_3(v0_3::component::Component),
    PolicyV0_3(v0_3::policy::Policy),
    ComponentV0_2(v0_2::component::Component),
    PolicyV0_2(v0_2::policy::Policy),
    ComponentV0_1(v0_1::component::Component),
    PolicyV0_1(v0_1::policy::Policy),
}

/// The fields added to existing kinds since 0.3.0 (the contract before them), in
/// their serde form, with the value that keeps an older plugin's meaning: no
/// Redis AUTH token, and a DB master password read from the stack's secret, as
/// before, with none of the DB's new settings on.
const ADDED_SINCE_0_3: &[AddedField] = &[
    ("CacheReplicationGroup", "auth_token", || {
        serde_json::Value::Null
    }),
    ("DbInstance", "manage_master_user_password", || false.into()),
    ("DbInstance", "master_user_secret_kms_key_id", || {
        serde_json::Value::Null
    }),
    ("DbInstance", "iam_database_authentication", || false.into()),
    ("DbInstance", "cloudwatch_logs_exports", || {
        serde_json::json!([])
    }),
    ("DbInstance", "copy_tags_to_snapshot", || false.into()),
];

/// A field added to a kind's record: the kind's and the field's serde names, and
/// the value an older plugin meant by leaving it out.
type AddedField = (&'static str, &'static str, fn() -> serde_json::Value);

/// An older contract's declaration as a current one: the same shapes, fewer
/// kinds, and the fields added since filled in ([`ADDED_SINCE_0_3`]).
fn upgrade<D: serde::Serialize>(d: &D, version: &str) -> Result<wit::Declaration, String> {
    let mut value = serde_json::to_value(d).map_err(|e| e.to_string())?;
    if let Some(resources) = value.get_mut("resources").and_then(|r| r.as_array_mut()) {
        for r in resources {
            let Some(spec) = r.get_mut("spec").and_then(|s| s.as_object_mut()) else {
                continue;
            };
            for (kind, field, default) in ADDED_SINCE_0_3 {
                if let Some(record) = spec.get_mut(*kind).and_then(|k| k.as_object_mut()) {
                    record.entry(*field).or_insert_with(default);
                }
            }
        }
    }
    serde_json::from_value(value)
        .map_err(|e| format!("its {version} declaration does not convert: {e}"))
}

/// Converts between two contract versions' generated types of the same shape (an
/// older record into the current one, or the current into an older one when the
/// older knows every case used), through their serde form.
fn across<A: serde::Serialize, B: serde::de::DeserializeOwned>(a: &A) -> Result<B, String> {
    serde_json::to_value(a)
        .and_then(serde_json::from_value)
        .map_err(|e| e.to_string())
}

/// A loaded plugin and its store.
pub struct Plugin {
    name: String,
    info: PluginInfo,
    path: PathBuf,
    sha256: String,
    kind: PluginKind,
    contract: &'static str,
    store: Store<HostState>,
    instance: Instance,
    deadline_ticks: u64,
    limits: Limits,
    /// Whether [`Plugin::release`] dropped its sandbox.
    released: bool,
}

/// One resource of a plan, as a policy plugin sees it.
#[derive(Clone, Debug)]
pub struct PolicyResource {
    /// Address.
    pub address: engine_core::Address,
    /// The planned action.
    pub action: PolicyAction,
    /// Desired (or, for a delete, prior) properties.
    pub spec: core::Spec,
    /// Paths of properties known only after apply.
    pub unknown: Vec<String>,
}

/// A planned action, as a policy plugin sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum PolicyAction {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
}

impl From<engine_core::Action> for PolicyAction {
    fn from(a: engine_core::Action) -> PolicyAction {
        use engine_core::Action as A;
        match a {
            A::NoOp => PolicyAction::NoOp,
            A::Create => PolicyAction::Create,
            A::Update => PolicyAction::Update,
            A::Replace => PolicyAction::Replace,
            A::Delete => PolicyAction::Delete,
        }
    }
}

/// A violation a policy plugin reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The policy plugin's name.
    pub plugin: String,
    /// Rule id.
    pub policy: String,
    /// Whether it blocks apply.
    pub mandatory: bool,
    /// Offending resource.
    pub address: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub remediation: String,
}

impl Plugin {
    /// Its name (from `metadata`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Where it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SHA-256 of the file, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Component or policy.
    pub fn kind(&self) -> PluginKind {
        self.kind
    }

    /// The contract version it was built against (one of [`SUPPORTED_VERSIONS`]).
    pub fn contract(&self) -> &'static str {
        self.contract
    }

    fn fail(&self, kind: PluginErrorKind) -> PluginError {
        PluginError {
            plugin: self.name.clone(),
            address: None,
            kind,
        }
    }

    /// Frees the plugin's sandbox, its linear memory and instance, keeping what it
    /// said about itself (name, info, file, contract): a plugin that has declared
    /// is not called again, and a large stack's plan should not hold the guest's
    /// memory (a 100,000-resource plugin uses about 100 MiB). Any later call is
    /// refused.
    pub fn release(&mut self) {
        let engine = self.store.engine().clone();
        self.store = Store::new(&engine, HostState::new(self.name.clone(), 0));
        self.released = true;
    }

    fn call<R>(
        &mut self,
        call: &'static str,
        f: impl FnOnce(&Instance, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if self.released {
            return Err(self.fail(PluginErrorKind::Released { call }));
        }
        self.store.set_epoch_deadline(self.deadline_ticks);
        // This plugin's copy budget (wasmtime applies it to each call).
        self.store.set_hostcall_fuel(self.limits.lift_budget());
        self.store.data_mut().panic = None;
        match f(&self.instance, &mut self.store) {
            Ok(r) => Ok(r),
            Err(e) => {
                let kind = classify(e, &self.store, call, &self.limits);
                Err(self.fail(kind))
            }
        }
    }

    fn metadata(&mut self) -> Result<PluginInfo, PluginError> {
        // An older contract's answer has no config keys: `None`, not "reads none".
        let (info, keys) = self.call("metadata", |i, s| {
            let v1 = |i: v0_1::wit::PluginInfo| (i.name, i.version, i.description, None);
            let v2 = |i: v0_2::wit::PluginInfo| (i.name, i.version, i.description, None);
            // A 0.3.0 key has the shape of a current one.
            let v3 = |i: v0_3::wit::PluginInfo| {
                let keys = i.config.iter().filter_map(|k| across(k).ok()).collect();
                (i.name, i.version, i.description, Some(keys))
            };
            let v4 = |i: wit::PluginInfo| (i.name, i.version, i.description, Some(i.config));
            match i {
                Instance::Component(c) => {
                    c.engine_plugin_component_plugin().call_metadata(s).map(v4)
                }
                Instance::Policy(p) => p.engine_plugin_policy_plugin().call_metadata(s).map(v4),
                Instance::ComponentV0_3(c) => {
                    c.engine_plugin_component_plugin().call_metadata(s).map(v3)
                }
                Instance::PolicyV0_3(p) => p.engine_plugin_policy_plugin().call_metadata(s).map(v3),
                Instance::ComponentV0_2(c) => {
                    c.engine_plugin_component_plugin().call_metadata(s).map(v2)
                }
                Instance::PolicyV0_2(p) => p.engine_plugin_policy_plugin().call_metadata(s).map(v2),
                Instance::ComponentV0_1(c) => {
                    c.engine_plugin_component_plugin().call_metadata(s).map(v1)
                }
                Instance::PolicyV0_1(p) => p.engine_plugin_policy_plugin().call_metadata(s).map(v1),
            }
            .map(|(name, version, description, keys)| ((name, version, description), keys))
        })?;
        let (name, version, description) = info;
        let keys_size: usize = keys.iter().flatten().map(convert::config_key_size).sum();
        let size = name.len() + version.len() + description.len() + keys_size;
        if size > self.limits.max_output_bytes {
            return Err(self.fail(PluginErrorKind::Oversized {
                call: "metadata",
                size,
                limit: self.limits.max_output_bytes,
            }));
        }
        let config = keys
            .map(convert::config_keys)
            .transpose()
            .map_err(|m| self.fail(PluginErrorKind::BadAnswer(m)))?;
        Ok(PluginInfo {
            name,
            version,
            description,
            config,
        })
    }

    /// Calls `declare` and converts the answer to the host model.
    pub fn declare(&mut self, ctx: &core::Context) -> Result<core::Declaration, PluginError> {
        if self.kind != PluginKind::Component {
            return Err(self.fail(PluginErrorKind::UnexpectedKind {
                found: self.kind,
                expected: PluginKind::Component,
            }));
        }
        let wctx = wit::Context {
            stack: ctx.stack.clone(),
            region: ctx.region.clone(),
            environment: ctx.environment.clone(),
            config: ctx
                .config
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let answer = self.call("declare", |i, s| match i {
            Instance::Component(c) => c.engine_plugin_component_plugin().call_declare(s, &wctx),
            Instance::ComponentV0_3(c) => {
                let old: v0_3::wit::Context = across(&wctx).map_err(wasmtime::Error::msg)?;
                let answer = c.engine_plugin_component_plugin().call_declare(s, &old)?;
                Ok(answer.and_then(|d| upgrade(&d, "0.3.0")))
            }
            Instance::ComponentV0_2(c) => {
                let old: v0_2::wit::Context = across(&wctx).map_err(wasmtime::Error::msg)?;
                let answer = c.engine_plugin_component_plugin().call_declare(s, &old)?;
                Ok(answer.and_then(|d| upgrade(&d, "0.2.0")))
            }
            Instance::ComponentV0_1(c) => {
                let old: v0_1::wit::Context = across(&wctx).map_err(wasmtime::Error::msg)?;
                let answer = c.engine_plugin_component_plugin().call_declare(s, &old)?;
                Ok(answer.and_then(|d| upgrade(&d, "0.1.0")))
            }
            Instance::Policy(_)
            | Instance::PolicyV0_3(_)
            | Instance::PolicyV0_2(_)
            | Instance::PolicyV0_1(_) => {
                unreachable!("checked above")
            }
        })?;
        let decl = answer.map_err(|m| {
            self.fail(PluginErrorKind::Declared(printable::short(
                &m,
                MESSAGE_CHARS,
            )))
        })?;
        let source = self.path.display().to_string();
        let decl = convert::declaration(&self.name, &source, decl).map_err(|(address, m)| {
            PluginError {
                plugin: self.name.clone(),
                address,
                kind: PluginErrorKind::BadAnswer(m),
            }
        })?;
        let size = declaration_size(&decl);
        if size > self.limits.max_output_bytes {
            return Err(self.fail(PluginErrorKind::Oversized {
                call: "declare",
                size,
                limit: self.limits.max_output_bytes,
            }));
        }
        Ok(decl)
    }

    /// Calls `check` with the planned resources of the stack `ctx` names (its
    /// name, region and environment; its config is not shown to policies).
    pub fn check(
        &mut self,
        ctx: &core::Context,
        resources: &[PolicyResource],
    ) -> Result<Vec<Violation>, PluginError> {
        if self.kind != PluginKind::Policy {
            return Err(self.fail(PluginErrorKind::UnexpectedKind {
                found: self.kind,
                expected: PluginKind::Policy,
            }));
        }
        let view = wit::PlanView {
            stack: ctx.stack.clone(),
            region: ctx.region.clone(),
            environment: ctx.environment.clone(),
            resources: resources
                .iter()
                .map(|r| wit::PlannedResource {
                    address: r.address.to_string(),
                    action: match r.action {
                        PolicyAction::NoOp => wit::Action::NoOp,
                        PolicyAction::Create => wit::Action::Create,
                        PolicyAction::Update => wit::Action::Update,
                        PolicyAction::Replace => wit::Action::Replace,
                        PolicyAction::Delete => wit::Action::Delete,
                    },
                    spec: convert::spec_to_wit(&r.spec),
                    unknown: r.unknown.clone(),
                })
                .collect(),
        };
        let found = self.call("check", |i, s| match i {
            Instance::Policy(p) => p.engine_plugin_policy_plugin().call_check(s, &view),
            // An older policy is told only of the kinds its contract knows.
            Instance::PolicyV0_3(p) => older_check!(p, s, view, v0_3),
            Instance::PolicyV0_2(p) => older_check!(p, s, view, v0_2),
            Instance::PolicyV0_1(p) => older_check!(p, s, view, v0_1),
            Instance::Component(_)
            | Instance::ComponentV0_3(_)
            | Instance::ComponentV0_2(_)
            | Instance::ComponentV0_1(_) => {
                unreachable!("checked above")
            }
        })?;
        let size: usize = found
            .iter()
            .map(|v| v.policy.len() + v.address.len() + v.message.len() + v.remediation.len() + 16)
            .sum();
        if size > self.limits.max_output_bytes {
            return Err(self.fail(PluginErrorKind::Oversized {
                call: "check",
                size,
                limit: self.limits.max_output_bytes,
            }));
        }
        Ok(found
            .into_iter()
            .map(|v| Violation {
                plugin: self.name.clone(),
                policy: v.policy,
                mandatory: v.severity == wit::Severity::Mandatory,
                address: v.address,
                message: v.message,
                remediation: v.remediation,
            })
            .collect())
    }
}

/// The size of a declaration as JSON, in the form plans and state hold it (the
/// conversion moves the guest's strings; what it holds is bounded by the lift
/// budget), counted without writing it anywhere.
fn declaration_size(d: &core::Declaration) -> usize {
    let resources: usize = d
        .resources
        .iter()
        .map(|r| {
            // The properties alone: less `{"kind":"KIND","properties":` and `}`.
            let wrapper = r#"{"kind":"","properties":}"#.len() + r.spec.kind().as_str().len();
            r.address.to_string().len()
                + json_size(&r.spec).saturating_sub(wrapper)
                + 32 * r.depends_on.len()
        })
        .sum();
    let outputs: usize = d
        .outputs
        .iter()
        .map(|o| o.name.len() + o.description.len() + 64)
        .sum();
    resources + outputs
}

/// The size of `value` as JSON, counted without writing it anywhere.
fn json_size<T: serde::Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter fails only for a value serde cannot serialise, which
    // the generated types are not.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_of_a_declaration_counts_its_properties_as_json() {
        let decl = engine_core::samples::stack().remove(0);
        let expected: usize = decl
            .resources
            .iter()
            .map(|r| {
                r.address.to_string().len()
                    + r.spec.properties().to_string().len()
                    + 32 * r.depends_on.len()
            })
            .sum::<usize>()
            + decl
                .outputs
                .iter()
                .map(|o| o.name.len() + o.description.len() + 64)
                .sum::<usize>();
        assert_eq!(declaration_size(&decl), expected);
    }

    #[test]
    fn a_fault_address_is_read_from_wasmtimes_context() {
        let e = wasmtime::Error::msg("wasm trap: out of bounds memory access")
            .context("memory fault at wasm address 0xffffff60 in linear memory of size 0x120000");
        assert_eq!(fault_address(&e), Some(0xffff_ff60));
        assert!(ran_out_of_stack(&e));
        let e = wasmtime::Error::msg(
            "memory fault at wasm address 0x10 in linear memory of size 0x120000",
        );
        assert!(!ran_out_of_stack(&e));
        assert_eq!(fault_address(&wasmtime::Error::msg("wasm trap")), None);
    }

    #[test]
    fn the_lift_budget_follows_the_answer_limit() {
        assert_eq!(Limits::default().lift_budget(), 512 << 20);
        let big = Limits {
            max_output_bytes: usize::MAX,
            ..Limits::default()
        };
        assert_eq!(big.lift_budget(), usize::MAX);
    }
}
