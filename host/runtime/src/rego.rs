//! The Rego evaluator: a Rego interpreter (regorus) compiled to a component from
//! `guests/rego-evaluator` by this crate's build script and embedded in the
//! binary. [`Runtime::evaluate_rego`] runs it in the sandbox of a policy plugin:
//! its own store with the runtime's memory cap, epoch deadline and copy budget,
//! and nothing to import. An endless rule is stopped by the deadline, a runaway
//! comprehension by the memory cap, each reported as a [`PluginError`] naming the
//! policy.
//!
//! It evaluates only; the conventions (which rules are mandatory, what a message
//! is, where a rule is written) are `engine-policy`'s.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};
use wasmtime::Store;

use crate::bindings::rego as rw;
use crate::{HostState, PluginError, PluginErrorKind, Runtime, classify, hex};

/// The evaluator component (empty when the build had no wasm32 toolchain).
const EVALUATOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rego-evaluator.wasm"));
/// Why the evaluator was not built (empty when it was).
const UNAVAILABLE: &str = include_str!(concat!(env!("OUT_DIR"), "/rego-evaluator.unavailable"));

/// One Rego file.
#[derive(Clone, Debug)]
pub struct RegoModule {
    /// Its path, as errors name it.
    pub file: String,
    /// Its text.
    pub source: String,
}

/// One `deny*`, `violation*` or `warn*` rule of the package, with its value.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleValue {
    /// The rule's name.
    pub name: String,
    /// Its value (a set reads as an array).
    pub value: serde_json::Value,
}

/// Why Rego could not be evaluated: regorus's messages name the file, line and
/// column.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegoError {
    /// A module does not parse or compile.
    #[error("{0}")]
    Parse(String),
    /// The input is not JSON.
    #[error("the input is not JSON: {0}")]
    Input(String),
    /// Evaluation failed.
    #[error("{0}")]
    Eval(String),
    /// No module declares the package: the packages they declare.
    #[error("no module declares the package")]
    NoPackage(Vec<String>),
}

/// The size of the embedded evaluator component, in bytes (0 without one).
pub fn evaluator_size() -> usize {
    EVALUATOR.len()
}

/// The evaluator's SHA-256, its key in the code cache.
static SHA256: LazyLock<String> = LazyLock::new(|| hex(&Sha256::digest(EVALUATOR)));

impl Runtime {
    /// Evaluates `data.PACKAGE` of `modules` with `input` (JSON) as the input
    /// document, in the sandbox, returning its `deny*`, `violation*` and `warn*`
    /// rules. `label` names the policy in errors and picks its limits
    /// ([`Runtime::limits_for`]). The outer error is the sandbox's
    /// (deadline, memory, no evaluator in this build); the inner one is Rego's.
    pub fn evaluate_rego(
        &self,
        label: &str,
        modules: &[RegoModule],
        input: &str,
        package: &str,
    ) -> Result<Result<Vec<RuleValue>, RegoError>, PluginError> {
        let fail = |kind| PluginError {
            plugin: label.to_string(),
            address: None,
            kind,
        };
        if EVALUATOR.is_empty() {
            return Err(fail(PluginErrorKind::Unavailable(format!(
                "this engine was built without its Rego evaluator ({UNAVAILABLE})"
            ))));
        }
        let (component, cached) = self.compile(EVALUATOR, &SHA256).map_err(|e| {
            fail(PluginErrorKind::Invalid {
                path: "the embedded Rego evaluator".into(),
                message: format!("{e:#}"),
            })
        })?;
        tracing::debug!(policy = label, cached, "Rego evaluator compiled");
        // `[limits.NAME]` of the policy's name, else `[limits]`, as for a plugin.
        let limits = self.limits_for(label);
        let mut store = Store::new(
            &self.engine,
            HostState::new(label.to_string(), limits.memory_bytes),
        );
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(limits.lift_budget());
        store.epoch_deadline_trap();
        store.set_epoch_deadline(self.deadline_ticks(limits));
        let evaluator = rw::Evaluator::instantiate(&mut store, &component, &self.linker)
            .map_err(|e| fail(classify(e, &store, "instantiate", limits)))?;
        let wit_modules: Vec<rw::Module> = modules
            .iter()
            .map(|m| rw::Module {
                file: m.file.clone(),
                source: m.source.clone(),
            })
            .collect();
        // The deadline covers the evaluation alone, as it does a plugin's `check`.
        store.set_epoch_deadline(self.deadline_ticks(limits));
        let answer = evaluator
            .call_evaluate(&mut store, &wit_modules, input, package)
            .map_err(|e| fail(classify(e, &store, "evaluate", limits)))?;
        let rules = match answer {
            Ok(rules) => rules,
            Err(e) => {
                return Ok(Err(match e {
                    rw::RegoError::Parse(m) => RegoError::Parse(m),
                    rw::RegoError::Input(m) => RegoError::Input(m),
                    rw::RegoError::Eval(m) => RegoError::Eval(m),
                    rw::RegoError::NoPackage(p) => RegoError::NoPackage(p),
                }));
            }
        };
        let size: usize = rules.iter().map(|r| r.name.len() + r.value.len()).sum();
        if size > limits.max_output_bytes {
            return Err(fail(PluginErrorKind::Oversized {
                call: "evaluate",
                size,
                limit: limits.max_output_bytes,
            }));
        }
        rules
            .into_iter()
            .map(|r| {
                let value = serde_json::from_str(&r.value).map_err(|e| {
                    fail(PluginErrorKind::BadAnswer(format!(
                        "rule `{}` is not JSON: {e}",
                        r.name
                    )))
                })?;
                Ok(RuleValue {
                    name: r.name,
                    value,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Ok)
    }
}
