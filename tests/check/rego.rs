//! Rego policies (issue 20): `.rego` files evaluated by the engine's embedded Rego
//! evaluator over the plan as JSON, in the sandbox of a policy plugin, through
//! the real `engine` binary.

use super::*;

/// Acceptance 1's policy, written against the documented input
/// (docs/plan.schema.json): Kinesis keeps at least 48 hours of data.
const KINESIS_48H: &str = r#"package main

import rego.v1

# A weekend's outage must still be replayable: keep 48 hours of records.
deny contains {
	"msg": sprintf("stream `%s` keeps its records %d hours; keep at least 48", [c.after.name, c.after["retention-period-hours"]]),
	"address": c.address,
	"remediation": "set kinesis-retention-hours to 48 or more",
	"rule": "kinesis-retention-48h",
} if {
	some c in input.changes
	c.kind == "kinesis-stream"
	c.action != "delete"
	c.after["retention-period-hours"] < 48
}

warn contains "the plan creates resources" if input.summary.create > 0
"#;

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `args` then the JapanCart plugins.
fn with_japancart<'a>(args: &[&'a str], plugins: &'a [String]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(plugins.iter().map(String::as_str));
    all
}

#[test]
fn a_rego_policy_fails_check_in_text_json_and_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "kinesis.rego", KINESIS_48H);
    let jc = japancart();
    let args = with_japancart(&["--policy", &rules], &jc);

    let (code, stdout, stderr) = check(dir.path(), &args);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "53 resources, 1 policy\n  kinesis ({rules}): 2 violations\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "\nkinesis/transactions (kinesis-stream)\n  mandatory: kinesis-retention-48h (kinesis)\n    \
             stream `japancart-transactions-dev` keeps its records 24 hours; keep at least 48\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("set kinesis-retention-hours to 48 or more"),
        "{stdout}"
    );
    // A string message has no resource: it is the stack's.
    assert!(
        stdout.contains(&format!(
            "\nstack {}\n  advisory: warn (kinesis)\n    the plan creates resources\n",
            stdout.split(' ').nth(4).unwrap()
        )),
        "{stdout}"
    );

    let (code, report, stderr) = check_json(dir.path(), &args);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(report["passed"], false);
    assert_eq!(
        violations(&report),
        [
            (
                "kinesis-retention-48h".to_string(),
                "kinesis/transactions".to_string(),
                "mandatory".to_string()
            ),
            ("warn".to_string(), String::new(), "advisory".to_string()),
        ]
    );
    assert_eq!(report["policies"][0]["name"], "kinesis");
    assert_eq!(report["policies"][0]["violations"], 2);
    assert_eq!(report["policies"][0]["failure"], Value::Null);

    let mut sarif_args = vec!["--sarif"];
    sarif_args.extend(&args);
    let (code, stdout, stderr) = check(dir.path(), &sarif_args);
    assert_eq!(code, Some(1), "{stderr}");
    let sarif: Value = serde_json::from_str(&stdout).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "kinesis-retention-48h");
    assert_eq!(result["level"], "error");
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("stream `japancart-transactions-dev` keeps its records 24 hours"),
        "{result}"
    );
    assert_eq!(
        result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "kinesis/transactions"
    );

    // Control: the rule reads the planned value.
    let fixed = with_japancart(
        &["--policy", &rules, "-c", "kinesis-retention-hours=48"],
        &jc,
    );
    let (code, report, stderr) = check_json(dir.path(), &fixed);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        violations(&report),
        [("warn".to_string(), String::new(), "advisory".to_string())]
    );
}

/// `apply` refuses a Rego violation before any AWS call (counted at a stand-in
/// endpoint), from `--policy` and from `policies` in engine.toml alike.
#[test]
fn apply_refuses_a_rego_violation_before_any_aws_call() {
    let jc = japancart();
    let stub = AwsStub::start();
    let env = stub.env();

    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "kinesis.rego", KINESIS_48H);
    let out = engine_with(
        dir.path(),
        &with_japancart(&["apply", "--yes", "--policy", &rules], &jc),
        &env,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("  mandatory: kinesis-retention-48h (kinesis)\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: a mandatory policy failed; nothing was changed"),
        "{stderr}"
    );
    assert_eq!(stub.calls(), (0, 0), "no AWS call");
    assert!(!dir.path().join(".engine/state.json").exists());

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "kinesis.rego", KINESIS_48H);
    write(dir.path(), "engine.toml", "policies = [\"kinesis.rego\"]\n");
    let out = engine_with(dir.path(), &with_japancart(&["apply", "--yes"], &jc), &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("  mandatory: kinesis-retention-48h (kinesis)\n"),
        "{stderr}"
    );
    assert_eq!(stub.calls(), (0, 0), "no AWS call");
}

/// Acceptance 3 and deliver 5: what is wrong in a Rego file is named with its file,
/// line and rule, and the check fails (a broken policy never passes a plan).
#[test]
fn errors_in_a_rego_file_name_the_file_line_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let shop = guest("datastore");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "syntax.rego",
            "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome c in input.changes\n\tc.kind ==\n}\n",
            &["syntax.rego:8:", "(in rule `deny`)"],
        ),
        (
            "undefined.rego",
            "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tmsg := no_such_thing.name\n}\n",
            &["undefined.rego:6:", "no_such_thing", "(in rule `deny`)"],
        ),
        (
            "nonmessage.rego",
            "package main\n\nimport rego.v1\n\n# numbers are not messages\ndeny_count contains n if {\n\tn := 3\n}\n",
            &[
                "nonmessage.rego:6: rule `deny_count` yields 3, which is not a message",
                "strings, or objects with a string `msg`",
            ],
        ),
        (
            "function.rego",
            "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tmsg := no_such_function(input)\n}\n",
            &["function.rego:6:", "no_such_function", "(in rule `deny`)"],
        ),
    ];
    let mut failures = Vec::new();
    for (name, source, words) in cases {
        let file = write(dir.path(), name, source);
        let (code, stdout, stderr) = check(dir.path(), &["--policy", &file, &shop]);
        let missing: Vec<&&str> = words.iter().filter(|w| !stderr.contains(**w)).collect();
        if code != Some(1)
            || !missing.is_empty()
            || !stdout.contains(": FAILED: ")
            || !stdout.contains("1 policy failed")
        {
            failures.push(format!(
                "{name}: exit {code:?}, missing {missing:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Acceptance 3: an endless rule is stopped by the deadline, like any plugin, and
/// the policy's own limits apply.
#[test]
fn an_endless_rego_rule_is_stopped_by_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let shop = guest("datastore");
    // Ten billion iterations over two small ranges: no memory, only time.
    let file = write(
        dir.path(),
        "endless.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"never\" if {\n\tsome a in numbers.range(1, 100000)\n\tsome b in numbers.range(1, 100000)\n\ta + b < 0\n}\n",
    );
    // The policy's own limits (`[limits.NAME]`), as a plugin's.
    write(
        dir.path(),
        "engine.toml",
        "[limits.endless]\ndeadline-ms = 500\n",
    );
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = check(dir.path(), &["--policy", &file, &shop]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("did not finish `evaluate` within its deadline of 500ms and was stopped"),
        "{stderr}"
    );
    assert!(stderr.contains("endless"), "the policy is named: {stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "stopped, not run to the end"
    );
}

/// The package evaluated is `main` unless `--rego-package` or engine.toml's
/// `rego-package` says otherwise (the flag first); a file of another package is
/// not silently passed.
#[test]
fn the_package_is_main_unless_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let jc = japancart();
    let file = write(
        dir.path(),
        "team.rego",
        &KINESIS_48H.replace("package main", "package team.kinesis"),
    );
    let (code, stdout, stderr) = check(dir.path(), &with_japancart(&["--policy", &file], &jc));
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("no Rego file declares `package main`"),
        "{stderr}"
    );
    assert!(stderr.contains("`--rego-package team.kinesis`"), "{stderr}");

    let (code, report, stderr) = check_json(
        dir.path(),
        &with_japancart(&["--policy", &file, "--rego-package", "team.kinesis"], &jc),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(violations(&report)[0].0, "kinesis-retention-48h");

    write(
        dir.path(),
        "engine.toml",
        "rego-package = \"team.kinesis\"\n",
    );
    let (code, report, stderr) = check_json(dir.path(), &with_japancart(&["--policy", &file], &jc));
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(violations(&report)[0].0, "kinesis-retention-48h");
    let (code, _, stderr) = check(
        dir.path(),
        &with_japancart(&["--policy", &file, "--rego-package", "main"], &jc),
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no Rego file declares `package main`"),
        "the flag wins: {stderr}"
    );
}

/// Every violation of a JSON report in full (rule, address, severity, message,
/// remediation), sorted.
fn full_violations(report: &Value) -> Vec<[String; 5]> {
    let mut all: Vec<[String; 5]> = report["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            ["policy", "address", "severity", "message", "remediation"]
                .map(|k| v[k].as_str().unwrap_or_default().to_string())
        })
        .collect();
    all.sort();
    all
}

/// Deliver 3 and acceptance 2: the baseline ported to Rego
/// (`policies/baseline.rego`) reports exactly what the Rust baseline reports, to
/// the message and remediation, on every broken stack of the baseline's own test
/// and on JapanCart as it is, in dev and in prod.
#[test]
fn the_rego_baseline_agrees_with_the_rust_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let rust = baseline();
    let rego = repo().join("policies/baseline.rego").display().to_string();
    let mut cases: Vec<(&str, &str)> = BROKEN_STACKS.iter().map(|c| (c.0, c.1)).collect();
    cases.extend([("japancart", ""), ("japancart", "environment=prod")]);
    let mut failures = Vec::new();
    let mut compared = 0;
    for (stack, config) in cases {
        let run = |policy: &str| {
            let args = broken_stack_args(policy, stack, config);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            check_json(dir.path(), &args)
        };
        let (rust_code, rust_report, rust_err) = run(&rust);
        let (rego_code, rego_report, rego_err) = run(&rego);
        let (want, got) = (full_violations(&rust_report), full_violations(&rego_report));
        compared += want.len();
        let ran = |r: &Value| r["policies"][0]["failure"].is_null();
        if want != got || rust_code != rego_code || !ran(&rust_report) || !ran(&rego_report) {
            failures.push(format!(
                "{stack} with `{config}`: Rust exit {rust_code:?}, Rego exit {rego_code:?}\n\
                 Rust: {want:#?}\nRego: {got:#?}\n{rust_err}\n{rego_err}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let broken = BROKEN_STACKS.iter().filter(|c| c.2.is_some()).count();
    assert!(compared >= broken, "every broken stack broke something");
}
