//! The engine's Rego evaluator: regorus behind the `evaluator` world of
//! `wit/rego/rego.wit`. It imports nothing; the host embeds it and runs it in the
//! sandbox of a policy plugin (deadline, memory cap).
//!
//! It only evaluates: which rules count (`deny*`, `violation*`, `warn*`) and what
//! a message is are decided by the host (`engine-policy`), which also knows
//! where each rule is written.

wit_bindgen::generate!({ world: "evaluator", path: "../../../../wit/rego" });

use regorus::{Engine, Value};

struct Evaluator;
export!(Evaluator);

/// Whether a rule of this name is one the host reads.
fn wanted(name: &str) -> bool {
    ["deny", "violation", "warn"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// An engine with `modules` loaded (Rego v1, the default of regorus).
fn load(modules: Vec<Module>) -> Result<Engine, RegoError> {
    let mut engine = Engine::new();
    for m in modules {
        engine
            .add_policy(m.file, m.source)
            .map_err(|e| RegoError::Parse(format!("{e}")))?;
    }
    Ok(engine)
}

impl Guest for Evaluator {
    fn evaluate(
        modules: Vec<Module>,
        input: String,
        package: String,
    ) -> Result<Vec<RuleValue>, RegoError> {
        let mut engine = load(modules)?;
        let query = format!("data.{package}");
        let declared = engine
            .get_packages()
            .map_err(|e| RegoError::Parse(format!("{e}")))?;
        if !declared.contains(&query) {
            let mut names: Vec<String> = declared
                .into_iter()
                .map(|p| p.trim_start_matches("data.").to_string())
                .collect();
            names.sort();
            names.dedup();
            return Err(RegoError::NoPackage(names));
        }
        engine
            .set_input_json(&input)
            .map_err(|e| RegoError::Input(format!("{e}")))?;
        let results = engine
            .eval_query(query, false)
            .map_err(|e| RegoError::Eval(format!("{e}")))?;
        let value = results
            .result
            .into_iter()
            .next()
            .and_then(|r| r.expressions.into_iter().next())
            .map(|e| e.value)
            .unwrap_or(Value::Undefined);
        let mut rules = Vec::new();
        if let Ok(object) = value.as_object() {
            for (key, value) in object.iter() {
                let Ok(name) = key.as_string() else { continue };
                if !wanted(name) {
                    continue;
                }
                let value = value
                    .to_json_str()
                    .map_err(|e| RegoError::Eval(format!("rule `{name}`: {e}")))?;
                rules.push(RuleValue {
                    name: name.to_string(),
                    value,
                });
            }
        }
        Ok(rules)
    }
}
