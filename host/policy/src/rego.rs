//! Rego policies: `.rego` files evaluated by the engine's embedded Rego evaluator
//! ([`engine_runtime::rego`], regorus in the sandbox of a policy plugin), with the
//! conventions of conftest.
//!
//! - The files given together are loaded together (one may `import` another), and
//!   the package `--rego-package` names is evaluated ([`DEFAULT_PACKAGE`], `main`,
//!   as in conftest).
//! - The input document is the plan as `engine plan --json` prints it
//!   (docs/plan.schema.json), so the same file runs under `conftest test` or
//!   `opa eval` on that output.
//! - Rules `deny`, `deny_*`, `violation` and `violation_*` yield mandatory
//!   violations; `warn` and `warn_*` advisory ones ([`severity`]).
//! - Each yields messages ([`violations`]): a string, or an object with a string
//!   `msg` and optionally `address` (the resource, `plugin/name`), `remediation`
//!   and `rule` (the id waivers and reports use; else the rule's name). Other keys
//!   are kept out, as conftest's metadata are.
//! - Anything else is an error naming the file, the line and the rule.

use std::path::{Path, PathBuf};

use engine_core::Diagnostic;
use engine_runtime::rego::{RegoError, RegoModule, RuleValue};
use engine_runtime::{Runtime, Violation};
use serde_json::Value;

/// The package evaluated when none is chosen: conftest's.
pub const DEFAULT_PACKAGE: &str = "main";

/// Whether `path` is a Rego policy (by its extension), not a policy plugin.
pub fn is_rego(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rego")
}

/// The name of a Rego policy in reports: the file's stem, or the stems of
/// several files joined by `+`.
pub fn label(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| {
            f.file_stem()
                .map_or_else(|| f.display().to_string(), |s| s.to_string_lossy().into())
        })
        .collect::<Vec<_>>()
        .join("+")
}

/// Whether a rule of this name is a policy rule, and whether its violations are
/// mandatory: `Some(true)` for `deny`/`violation` (alone or with `_suffix`),
/// `Some(false)` for `warn`, `None` for any other rule (a helper).
pub fn severity(rule: &str) -> Option<bool> {
    let is = |prefix: &str| {
        rule == prefix
            || rule
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('_'))
    };
    if is("deny") || is("violation") {
        Some(true)
    } else if is("warn") {
        Some(false)
    } else {
        None
    }
}

/// Reads `files`, or says which cannot be read.
pub fn read(files: &[PathBuf]) -> Result<Vec<RegoModule>, Box<Diagnostic>> {
    files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .map(|source| RegoModule {
                    file: f.display().to_string(),
                    source,
                })
                .map_err(|e| {
                    Box::new(Diagnostic::error(format!(
                        "cannot read {}: {e}",
                        f.display()
                    )))
                })
        })
        .collect()
}

/// Evaluates `modules` (the policy `label`) over `input`, the plan as JSON, in
/// `runtime`'s sandbox, and turns what its rules yield into violations.
pub fn evaluate(
    runtime: &Runtime,
    label: &str,
    modules: &[RegoModule],
    package: &str,
    input: &str,
) -> Result<Vec<Violation>, Box<Diagnostic>> {
    let rules = match runtime.evaluate_rego(label, modules, input, package) {
        Err(e) => {
            return Err(Box::new(e.diagnostic().detail(
                "The Rego policy could not check the plan, so the plan has not passed it.",
            )));
        }
        Ok(Err(e)) => return Err(Box::new(rego_error(label, package, modules, e))),
        Ok(Ok(rules)) => rules,
    };
    violations(label, package, modules, rules)
}

/// The diagnostic for what regorus said: `file:line:col: message (in rule
/// \`deny\`)` as the summary, the source line and caret under it as the detail.
fn rego_error(label: &str, package: &str, modules: &[RegoModule], e: RegoError) -> Diagnostic {
    match e {
        RegoError::NoPackage(declared) => {
            let hint = match declared.as_slice() {
                [one] => format!("evaluate it with `--rego-package {one}`"),
                _ => "choose the package with `--rego-package NAME`".to_string(),
            };
            Diagnostic::error(format!("no Rego file declares `package {package}`"))
                .plugin(label)
                .detail(format!(
                    "The files declare {}. The package evaluated is `{DEFAULT_PACKAGE}` \
                     unless --rego-package says otherwise, as in conftest.",
                    if declared.is_empty() {
                        "no package".to_string()
                    } else {
                        declared
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ))
                .hint(hint)
        }
        RegoError::Parse(m) | RegoError::Eval(m) | RegoError::Input(m) => {
            let (mut summary, detail) = regorus_message(&m);
            if let Some(rule) = summary
                .split(": ")
                .next()
                .and_then(|at| enclosing_rule(modules, at))
            {
                summary = format!("{summary} (in rule `{rule}`)");
            }
            Diagnostic::error(summary).plugin(label).detail(detail)
        }
    }
}

/// A regorus error as a summary and a detail. regorus writes
///
/// ```text
/// --> rules.rego:6:12
///   |
/// 6 |   msg := no_such_thing.name
///   |          ^
/// error: use of undefined variable `no_such_thing` is unsafe
/// ```
///
/// which becomes `rules.rego:6:12: use of undefined variable ...`, with the
/// source line and caret (a tab as four spaces: regorus counts it as four columns)
/// as the detail. Any other shape: its first line, then the rest.
pub fn regorus_message(m: &str) -> (String, String) {
    let lines: Vec<&str> = m.lines().filter(|l| !l.trim().is_empty()).collect();
    let location = lines
        .iter()
        .position(|l| l.trim_start().starts_with("--> "));
    let error = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with("error: "));
    match (location, error) {
        (Some(at), Some(e)) if at < e => {
            let location = lines[at].trim_start().trim_start_matches("--> ").trim();
            let message = lines[e].trim_start().trim_start_matches("error: ").trim();
            let snippet: Vec<String> = lines[at + 1..e]
                .iter()
                .map(|l| l.replace('\t', "    "))
                .collect();
            (format!("{location}: {message}"), snippet.join("\n"))
        }
        _ => {
            let summary = lines.first().map_or("", |l| l.trim()).to_string();
            (
                summary,
                lines.iter().skip(1).copied().collect::<Vec<_>>().join("\n"),
            )
        }
    }
}

/// The violations the rules yield, in rule order then value order; or an error
/// naming the file, line and rule of the first rule that yields something that
/// is not a message.
pub fn violations(
    label: &str,
    package: &str,
    modules: &[RegoModule],
    rules: Vec<RuleValue>,
) -> Result<Vec<Violation>, Box<Diagnostic>> {
    let mut out = Vec::new();
    for rule in rules {
        let Some(mandatory) = severity(&rule.name) else {
            continue;
        };
        let items = match rule.value {
            Value::Array(items) => items,
            // A complete rule (`deny := "..."`) yields one message.
            one @ (Value::String(_) | Value::Object(_)) => vec![one],
            other => {
                return Err(Box::new(not_a_message(
                    label, package, modules, &rule.name, &other,
                )));
            }
        };
        for item in items {
            let v = message(&item).ok_or_else(|| {
                Box::new(not_a_message(label, package, modules, &rule.name, &item))
            })?;
            out.push(Violation {
                plugin: label.to_string(),
                policy: v.rule.unwrap_or_else(|| rule.name.clone()),
                mandatory,
                address: v.address.unwrap_or_default(),
                message: v.msg,
                remediation: v.remediation.unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// One message's parts.
struct Message {
    msg: String,
    address: Option<String>,
    remediation: Option<String>,
    rule: Option<String>,
}

/// A message: a string, or an object with a string `msg` and optional string
/// `address`, `remediation` and `rule`.
fn message(v: &Value) -> Option<Message> {
    match v {
        Value::String(s) => Some(Message {
            msg: s.clone(),
            address: None,
            remediation: None,
            rule: None,
        }),
        Value::Object(o) => {
            let optional = |key: &str| match o.get(key) {
                None => Some(None),
                Some(Value::String(s)) => Some(Some(s.clone())),
                Some(_) => None,
            };
            Some(Message {
                msg: o.get("msg")?.as_str()?.to_string(),
                address: optional("address")?,
                remediation: optional("remediation")?,
                rule: optional("rule")?,
            })
        }
        _ => None,
    }
}

fn not_a_message(
    label: &str,
    package: &str,
    modules: &[RegoModule],
    rule: &str,
    value: &Value,
) -> Diagnostic {
    let at = rule_location(modules, package, rule)
        .map(|l| format!("{l}: "))
        .unwrap_or_default();
    let mut shown = value.to_string();
    if shown.len() > 200 {
        shown = format!("{}...", shown.chars().take(200).collect::<String>());
    }
    Diagnostic::error(format!(
        "{at}rule `{rule}` yields {shown}, which is not a message"
    ))
    .plugin(label)
    .detail(
        "A `deny`, `violation` or `warn` rule yields messages: strings, or objects with a \
         string `msg` and, optionally, string `address`, `remediation` and `rule`.",
    )
    .hint(format!(
        "make `{rule}` yield messages, e.g. `{rule} contains {{\"msg\": sprintf(\"...\", [x]), \"address\": c.address}} if {{ ... }}`"
    ))
}

/// Where `rule` of `package` is first written: `file:line`. Rego names a rule at
/// the start of a line (`deny contains msg if`, `warn_x[msg] {`).
pub fn rule_location(modules: &[RegoModule], package: &str, rule: &str) -> Option<String> {
    modules
        .iter()
        .filter(|m| declared_package(&m.source).as_deref() == Some(package))
        .find_map(|m| {
            m.source.lines().enumerate().find_map(|(i, line)| {
                let rest = line.strip_prefix(rule)?;
                let starts_rule = rest
                    .chars()
                    .next()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                starts_rule.then(|| format!("{}:{}", m.file, i + 1))
            })
        })
}

/// The rule written around `at` (`file:line` or `file:line:col`): the head of the
/// nearest rule that starts (at the line's start) on or above that line. None
/// outside any rule, or for a file not among `modules`.
pub fn enclosing_rule(modules: &[RegoModule], at: &str) -> Option<String> {
    let mut parts = at.rsplitn(3, ':');
    let (last, middle) = (parts.next()?, parts.next()?);
    // `file:line:col` or `file:line`.
    let (file, line) = match parts.next() {
        Some(file) if middle.parse::<usize>().is_ok() => (file, middle),
        _ => (middle, last),
    };
    let line: usize = line.parse().ok()?;
    let module = modules.iter().find(|m| m.file == file)?;
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    module
        .source
        .lines()
        .take(line)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find_map(|l| {
            let first = l.chars().next()?;
            if first.is_whitespace() || first == '#' || first == '}' {
                return None;
            }
            let name = ident(l);
            match name.as_str() {
                "" => None,
                "package" | "import" => Some(None),
                "default" => Some(Some(ident(l["default".len()..].trim_start()))),
                _ => Some(Some(name)),
            }
        })
        .flatten()
        .filter(|n| !n.is_empty())
}

/// The package a module declares (its `package` line).
fn declared_package(source: &str) -> Option<String> {
    source.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("package")?;
        let name = rest.split('#').next()?.trim();
        (rest.starts_with(char::is_whitespace) && !name.is_empty()).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn module(file: &str, source: &str) -> RegoModule {
        RegoModule {
            file: file.into(),
            source: source.into(),
        }
    }

    fn rule(name: &str, value: Value) -> RuleValue {
        RuleValue {
            name: name.into(),
            value,
        }
    }

    #[test]
    fn rule_names_decide_the_severity_as_in_conftest() {
        assert_eq!(severity("deny"), Some(true));
        assert_eq!(severity("deny_public_db"), Some(true));
        assert_eq!(severity("violation"), Some(true));
        assert_eq!(severity("violation_x"), Some(true));
        assert_eq!(severity("warn"), Some(false));
        assert_eq!(severity("warn_tags"), Some(false));
        assert_eq!(severity("denylist"), None);
        assert_eq!(severity("warning"), None);
        assert_eq!(severity("allow"), None);
    }

    #[test]
    fn strings_and_objects_are_messages() {
        let rules = vec![
            rule("deny", json!(["plain text"])),
            rule(
                "deny_retention",
                json!([{"msg": "too short", "address": "kinesis/stream", "remediation": "raise it",
                        "rule": "kinesis-retention", "severity": "ignored metadata"}]),
            ),
            rule("warn", json!("one advisory")),
            rule("helper", json!(42)),
        ];
        let got = violations("team", "main", &[], rules).unwrap();
        let shape: Vec<(&str, &str, bool, &str, &str)> = got
            .iter()
            .map(|v| {
                (
                    v.policy.as_str(),
                    v.address.as_str(),
                    v.mandatory,
                    v.message.as_str(),
                    v.remediation.as_str(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("deny", "", true, "plain text", ""),
                (
                    "kinesis-retention",
                    "kinesis/stream",
                    true,
                    "too short",
                    "raise it"
                ),
                ("warn", "", false, "one advisory", ""),
            ]
        );
        assert!(got.iter().all(|v| v.plugin == "team"));
    }

    #[test]
    fn a_rule_that_yields_a_non_message_is_named_with_its_file_and_line() {
        let modules = [
            module("lib.rego", "package lib\n\ndeny_x := 1\n"),
            module(
                "rules.rego",
                "package main\n\nimport rego.v1\n\n# deny_count is below\ndeny_count contains n if {\n  n := 3\n}\n",
            ),
        ];
        for (value, shown) in [
            (json!([3]), "3"),
            (json!(true), "true"),
            (json!([{"message": "no msg"}]), "{\"message\":\"no msg\"}"),
            (json!([{"msg": 7}]), "{\"msg\":7}"),
            (json!([{"msg": "m", "address": ["x"]}]), "\"address\""),
        ] {
            let e =
                violations("rules", "main", &modules, vec![rule("deny_count", value)]).unwrap_err();
            assert!(
                e.summary
                    .starts_with("rules.rego:6: rule `deny_count` yields "),
                "{}",
                e.summary
            );
            assert!(e.summary.contains(shown), "{}", e.summary);
            assert!(e.summary.ends_with("which is not a message"));
            assert_eq!(e.plugin.as_deref(), Some("rules"));
        }
    }

    #[test]
    fn regorus_errors_become_a_located_summary_and_a_snippet() {
        let m = "\n--> u.rego:6:12\n  |\n6 | \tmsg := x.name\n  |            ^\nerror: use of undefined variable `x` is unsafe\n";
        let (summary, detail) = regorus_message(m);
        assert_eq!(
            summary,
            "u.rego:6:12: use of undefined variable `x` is unsafe"
        );
        assert_eq!(detail, "  |\n6 |     msg := x.name\n  |            ^");
        assert_eq!(
            regorus_message("conflict in rule `deny`\nmore"),
            ("conflict in rule `deny`".to_string(), "more".to_string())
        );
    }

    #[test]
    fn errors_are_placed_in_the_rule_around_them() {
        let modules = [module(
            "r.rego",
            "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome c in input.changes\n\n\t# why\n\tc.kind ==\n}\n\ndefault allow := false\n",
        )];
        assert_eq!(
            enclosing_rule(&modules, "r.rego:10:1").as_deref(),
            Some("deny")
        );
        assert_eq!(
            enclosing_rule(&modules, "r.rego:5").as_deref(),
            Some("deny")
        );
        assert_eq!(
            enclosing_rule(&modules, "r.rego:12:9").as_deref(),
            Some("allow")
        );
        assert_eq!(enclosing_rule(&modules, "r.rego:3:1"), None, "an import");
        assert_eq!(enclosing_rule(&modules, "other.rego:10:1"), None);
        assert_eq!(enclosing_rule(&modules, "r.rego:x:1"), None);
    }

    #[test]
    fn the_package_line_is_read_past_comments() {
        assert_eq!(
            declared_package("# a policy\npackage kinesis.retention # team A\n"),
            Some("kinesis.retention".into())
        );
        assert_eq!(declared_package("packages := 1\n"), None);
    }

    #[test]
    fn labels_name_the_files() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(label(&[p("policies/baseline.rego")]), "baseline");
        assert_eq!(label(&[p("a.rego"), p("dir/b.rego")]), "a+b");
        assert!(is_rego(&p("x/rules.rego")));
        assert!(!is_rego(&p("x/rules.wasm")));
    }
}
