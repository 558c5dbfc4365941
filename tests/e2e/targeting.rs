//! `--target` and `--replace` (issue 18, acceptance 3) through the real binary on
//! moto: a targeted apply on an empty state creates only the subnet and what it
//! references; `--replace` replaces only the stream; both converge.

use engine_aws::moto::MotoServer;
use serde_json::Value;

use super::{STACK_FILE, Stack, summary};

/// The addresses a JSON plan changes, with their action.
fn changes(stdout: &str) -> Vec<(String, String)> {
    let plan: Value = serde_json::from_str(stdout).unwrap();
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn target_and_replace_change_only_what_they_name() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, STACK_FILE);

    // On an empty state: the subnet and the VPC it references, nothing else.
    let (stdout, _) = stack.run(&["plan", "--json", "--target", "vpc/public-a"], 0);
    assert_eq!(
        changes(&stdout),
        [
            ("vpc/main".to_string(), "create".to_string()),
            ("vpc/public-a".to_string(), "create".to_string())
        ]
    );
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["targets"], serde_json::json!(["vpc/public-a"]));
    let (stdout, _) = stack.run(&["plan", "--target", "vpc/public-a"], 0);
    assert!(
        stdout.contains("Partial plan (--target): this plan covers only `vpc/public-a`"),
        "{stdout}"
    );
    let (stdout, _) = stack.run(&["apply", "--yes", "--json", "--target", "vpc/public-a"], 0);
    let sum = summary(&stdout);
    assert_eq!(sum["created"], 2, "{sum}");
    assert_eq!(sum["failed"], serde_json::json!([]), "{sum}");
    let out = stack.engine(&["state", "list"]);
    assert_eq!(super::text(&out.stdout), "vpc/main\nvpc/public-a\n");

    // The rest, then a replacement of the stream alone.
    stack.run(&["apply", "--yes"], 0);
    let (stdout, _) = stack.run(&["plan", "--json", "--replace", "kinesis/transactions"], 0);
    assert_eq!(
        changes(&stdout),
        [("kinesis/transactions".to_string(), "replace".to_string())]
    );
    let before = stack.engine(&["output", "--json"]);
    let before: Value = serde_json::from_slice(&before.stdout).unwrap();
    let (_, stderr) = stack.run(&["apply", "--yes", "--replace", "kinesis/transactions"], 0);
    assert!(
        stderr.contains("1 created, 0 updated, 1 deleted"),
        "{stderr}"
    );
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    let after = stack.engine(&["output", "--json"]);
    let after: Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(before["kinesis_stream_name"], after["kinesis_stream_name"]);

    // An address nothing declares is refused, with the closest one.
    let (_, stderr) = stack.run(&["plan", "--target", "kinesis/transaction"], 1);
    assert!(
        stderr.contains("no plugin declares `kinesis/transaction`")
            && stderr.contains("did you mean `kinesis/transactions`?"),
        "{stderr}"
    );
}
