//! The reports of `engine check`: for people, as JSON, and as SARIF 2.1.0 (for
//! code scanning).
//!
//! Violations are the policy plugins' text: the report for people escapes their
//! control characters (`engine_core::printable`); JSON and SARIF carry them as
//! data, which serde escapes (`\u001b`).
//!
//! A violation the stack waived (`[[waivers]]`, see `engine_policy::Waiver`) is in
//! every report, with its reason: marked `waived` for people, with `suppressed` in
//! JSON, and with an external suppression in SARIF. It is not counted among the
//! mandatory violations or advisories, but beside them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use engine_core::printable::{line, lines};
use engine_policy::Outcome;
use engine_runtime::Violation;
use serde_json::{Value, json};

use crate::config::Config;

/// The report for people: the policies run, then the violations grouped by
/// resource (in address order, mandatory first, waived ones last with their
/// reason), then a verdict.
pub fn human(cfg: &Config, o: &Outcome, color: bool) -> String {
    let paint = |code: &str, s: &str| engine_core::style::paint(color, code, s);
    let c = &cfg.context;
    let mut s = String::new();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        s,
        "Policy check of stack {} in {} (environment `{}`): {}, {}",
        c.stack,
        c.region,
        c.environment,
        plural(o.resources, "resource", "resources"),
        plural(o.runs.len(), "policy", "policies"),
    );
    for r in &o.runs {
        let version = r
            .version
            .as_deref()
            .map(|v| format!(" {}", line(v)))
            .unwrap_or_default();
        let status = match &r.failure {
            Some(d) => paint("1;31", &format!("FAILED: {}", line(&d.summary))),
            None if r.violations == 1 => "1 violation".into(),
            None => format!("{} violations", r.violations),
        };
        let _ = writeln!(
            s,
            "  {}{version} ({}): {status}",
            line(&r.label()),
            line(&r.path.display().to_string())
        );
    }
    let mut by_address: BTreeMap<&str, Vec<&Violation>> = BTreeMap::new();
    for v in &o.violations {
        by_address.entry(v.address.as_str()).or_default().push(v);
    }
    for (address, mut vs) in by_address {
        vs.sort_by_key(|v| (o.waiver(v).is_some(), !v.mandatory));
        if address.is_empty() {
            // A Rego message without an `address` is about the stack as a whole.
            let _ = writeln!(s, "\n{}", paint("1", &format!("stack {}", line(&c.stack))));
        } else {
            let kind = o
                .kinds
                .get(address)
                .map_or_else(|| "not in the plan".to_string(), Clone::clone);
            let _ = writeln!(s, "\n{} ({kind})", paint("1", &line(address)));
        }
        for v in vs {
            let waiver = o.waiver(v);
            let level = match (v.mandatory, waiver.is_some()) {
                (true, false) => paint("1;31", "mandatory"),
                (false, false) => paint("1;33", "advisory"),
                (true, true) => paint("1;36", "mandatory, waived"),
                (false, true) => paint("1;36", "advisory, waived"),
            };
            let _ = writeln!(s, "  {level}: {} ({})", line(&v.policy), line(&v.plugin));
            for l in lines(&v.message).lines() {
                let _ = writeln!(s, "    {l}");
            }
            if !v.remediation.is_empty() {
                let _ = writeln!(s, "    hint: {}", line(&v.remediation));
            }
            if let Some(w) = waiver {
                let _ = writeln!(s, "    waived in {}: {}", line(&w.source), line(&w.reason));
            }
        }
    }
    let (mandatory, advisory, failed) = (o.mandatory(), o.advisory(), o.failed());
    let waived = |n: usize| {
        if n > 0 {
            format!(" ({n} waived)")
        } else {
            String::new()
        }
    };
    let mut counts = vec![
        plural(mandatory, "mandatory violation", "mandatory violations")
            + &waived(o.waived_mandatory()),
        plural(advisory, "advisory", "advisories") + &waived(o.waived_advisory()),
    ];
    if failed > 0 {
        counts.push(plural(failed, "policy failed", "policies failed"));
    }
    let verdict = if o.passed() {
        paint("1;32", "Passed")
    } else {
        paint("1;31", "Failed")
    };
    let _ = writeln!(s, "\n{verdict}: {}.", counts.join(", "));
    s
}

fn severity(v: &Violation) -> &'static str {
    if v.mandatory { "mandatory" } else { "advisory" }
}

/// The result as JSON: the verdict, each policy plugin's run, every violation
/// (`suppressed` with the reason when waived, else null), the stack's waivers and
/// whether each matched.
pub fn json(cfg: &Config, o: &Outcome) -> Value {
    json!({
        "passed": o.passed(),
        "stack": cfg.context.stack,
        "region": cfg.context.region,
        "environment": cfg.context.environment,
        "resources": o.resources,
        "policies": o.runs.iter().map(|r| json!({
            "name": r.name,
            "version": r.version,
            "path": r.path,
            "passed": r.failure.is_none(),
            "violations": r.violations,
            "failure": r.failure,
        })).collect::<Vec<_>>(),
        "violations": o.violations.iter().map(|v| json!({
            "plugin": v.plugin,
            "policy": v.policy,
            "severity": severity(v),
            "address": v.address,
            "kind": o.kinds.get(&v.address),
            "message": v.message,
            "remediation": v.remediation,
            "suppressed": o.waiver(v).map(|w| json!({
                "reason": w.reason,
                "source": w.source,
            })),
        })).collect::<Vec<_>>(),
        "waivers": o.waivers.iter().map(|w| json!({
            "rule": w.rule,
            "address": w.address,
            "reason": w.reason,
            "source": w.source,
            "matched": o.violations.iter().any(|v| w.matches(v)),
        })).collect::<Vec<_>>(),
        "summary": {
            "mandatory": o.mandatory(),
            "advisory": o.advisory(),
            "waived_mandatory": o.waived_mandatory(),
            "waived_advisory": o.waived_advisory(),
            "failed_policies": o.failed(),
        },
    })
}

/// The result as a SARIF 2.1.0 log with one run.
///
/// - `tool.driver` is the engine; its `rules` are the policy ids reported (one rule
///   per id, in order of first appearance, with the plugin that reported it), and
///   `tool.extensions` lists the policy plugins.
/// - Each violation is a result: `level` `error` (mandatory) or `warning`
///   (advisory); the message, then the remediation; a logical location per
///   resource address (`kind` `resource`), plus the physical location of the plugin
///   file that declares the resource (code-scanning services need one). A waived
///   one keeps its level and carries a suppression (SARIF §3.27.23, §3.35): `kind`
///   `external` (declared in the stack's config, not in the plugin), `status`
///   `accepted`, and the waiver's reason as `justification`.
/// - A failing policy plugin makes `invocations[0].executionSuccessful` false, with
///   an error notification naming it.
///
/// `sources` maps component plugin names to their files.
pub fn sarif(o: &Outcome, sources: &BTreeMap<String, String>) -> Value {
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for v in &o.violations {
        if !rule_index.contains_key(v.policy.as_str()) {
            rule_index.insert(&v.policy, rules.len());
            rules.push(json!({
                "id": v.policy,
                "name": v.policy,
                "shortDescription": { "text": format!("Rule `{}` of the `{}` policy", v.policy, v.plugin) },
                "properties": { "plugin": v.plugin },
            }));
        }
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let results: Vec<Value> = o
        .violations
        .iter()
        .map(|v| {
            let mut location = json!({
                "logicalLocations": [{
                    "fullyQualifiedName": v.address,
                    "name": v.address.split_once('/').map_or(v.address.as_str(), |(_, n)| n),
                    "kind": "resource",
                }],
            });
            let plugin = v.address.split_once('/').map(|(p, _)| p);
            if let Some(file) = plugin.and_then(|p| sources.get(p)) {
                location["physicalLocation"] =
                    json!({ "artifactLocation": { "uri": artifact_uri(Path::new(file), &cwd) } });
            }
            let mut text = v.message.clone();
            if !v.remediation.is_empty() {
                text = format!("{text}\nRemediation: {}", v.remediation);
            }
            let suppressions: Vec<Value> = o
                .waiver(v)
                .map(|w| {
                    json!({
                        "kind": "external",
                        "status": "accepted",
                        "justification": w.reason,
                        "properties": { "source": w.source },
                    })
                })
                .into_iter()
                .collect();
            let mut result = json!({
                "ruleId": v.policy,
                "ruleIndex": rule_index.get(v.policy.as_str()),
                "level": if v.mandatory { "error" } else { "warning" },
                "message": { "text": text },
                "locations": [location],
                "partialFingerprints": { "engineResource/v1": format!("{}:{}:{}", v.plugin, v.policy, v.address) },
                "properties": {
                    "plugin": v.plugin,
                    "severity": severity(v),
                    "address": v.address,
                    "kind": o.kinds.get(&v.address),
                    "remediation": v.remediation,
                },
            });
            if !suppressions.is_empty() {
                result["suppressions"] = json!(suppressions);
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = o
        .runs
        .iter()
        .filter_map(|r| {
            r.failure.as_ref().map(|d| {
                json!({
                    "level": "error",
                    "message": { "text": format!("policy `{}` failed: {}", r.label(), d.summary) },
                    "properties": { "path": r.path },
                })
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "engine",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                },
                "extensions": o.runs.iter().map(|r| {
                    let mut e = json!({ "name": r.label() });
                    if let Some(v) = &r.version {
                        e["semanticVersion"] = json!(v);
                    }
                    e
                }).collect::<Vec<_>>(),
            },
            "invocations": [{
                "executionSuccessful": o.failed() == 0,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// A relative URI (forward slashes) for `file` when it lies under `cwd`, else a
/// `file://` URI.
fn artifact_uri(file: &Path, cwd: &Path) -> String {
    let abs = if file.is_absolute() {
        file.to_path_buf()
    } else {
        cwd.join(file)
    };
    match abs.strip_prefix(cwd) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => format!("file://{}", abs.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_are_relative_under_the_working_directory() {
        let cwd = Path::new("/work/stack");
        assert_eq!(
            artifact_uri(Path::new("plugins/rds.wasm"), cwd),
            "plugins/rds.wasm"
        );
        assert_eq!(
            artifact_uri(Path::new("/work/stack/plugins/rds.wasm"), cwd),
            "plugins/rds.wasm"
        );
        assert_eq!(
            artifact_uri(Path::new("/elsewhere/rds.wasm"), cwd),
            "file:///elsewhere/rds.wasm"
        );
    }
}
