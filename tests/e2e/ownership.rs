//! Ownership first: two stacks that share a name in one account never touch each
//! other's resources (issue: one stack destroyed another stack's IAM role).
//!
//! IAM names are global to the account. The JapanCart monitoring role's name
//! carries the stack, the region and the environment (`ContextExt::global_named`),
//! so the same environment in a second region has a role of its own
//! (`tests/e2e/zones.rs` deploys one); but a second state of the same stack name
//! and environment in the same region (another directory, say) wants the same role
//! name, and must be told it is another stack's. Every kind is covered by handing
//! the stack's own records to a state with another identity: as recorded resources
//! (destroy must refuse all 53) and as pending creates (apply must adopt none,
//! destroy must delete none).

use std::path::Path;

use serde_json::Value;

use super::{Stack, text};

/// The role name of stack `japancart`, environment `e2e`, in us-east-1 (IAM names
/// are global to the account: the name carries the region).
const ROLE: &str = "japancart-rds-monitoring-us-east-1-e2e";

fn read_state(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap()
}

/// Writes `state` as the state of a new directory, under another lineage: the
/// same records, seen by another stack.
fn write_foreign(dir: &Path, mut state: Value, lineage: &str) {
    state["lineage"] = Value::from(lineage);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("state.json"),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
}

/// Whether stack A is intact: a refresh finds everything, and the plan is empty.
fn assert_intact(stack: &Stack, state: &str) {
    let out = stack.engine(&["refresh", "--state", state]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode", "--state", state], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
}

#[test]
fn two_stacks_of_one_name_never_touch_each_other() {
    let moto = engine_aws::moto::MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, super::STACK_FILE);
    let root = stack.dir.path().to_path_buf();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    let iam = aws_sdk_iam::Client::new(&sdk);
    let role_exists = || {
        rt.block_on(iam.get_role().role_name(ROLE).send())
            .map(|o| o.role().map(|r| r.role_id().to_string()))
            .ok()
            .flatten()
    };

    // 1. Stack A deploys.
    stack.run(&["apply", "--yes", "--state", "a"], 0);
    let role_id = role_exists().expect("A's role exists");

    // 2. A second state of the same stack and environment in the same region
    //    (stack B) cannot create the global role, and says exactly why. B declares
    //    the plugins the role needs (vpc, secrets, rds: they refer to nothing
    //    else) and runs one step at a time, so the role, which depends on nothing,
    //    is its only step and B stops there, having created nothing. (Every
    //    plugin in parallel would race on into names that collide in the region
    //    too, and moto's CreateDBSubnetGroup silently replaces an existing group,
    //    where AWS refuses with DBSubnetGroupAlreadyExists:
    //    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html)
    //    B targets the role: apply starts the longest chain first (the VPC's, to
    //    the database), and this test is about the role alone.
    let mut args = vec![
        "apply",
        "--yes",
        "--parallelism",
        "1",
        "--target",
        "rds/monitoring-role",
        "--state",
        "b",
    ];
    args.extend(
        stack
            .plugins
            .iter()
            .filter(|p| {
                ["vpc.wasm", "secrets.wasm", "rds.wasm"]
                    .iter()
                    .any(|n| p.ends_with(n))
            })
            .map(String::as_str),
    );
    let out = stack.engine(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("0 created, 0 updated, 0 deleted"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{ROLE} belongs to another stack"))
            && stderr.contains("engine:stack-id=")
            && stderr.contains("Choose another environment (`-e`)"),
        "{stderr}"
    );

    // 3. B's state has no record of the role: AWS refused its create.
    let out = stack.engine(&["state", "list", "--state", "b"]);
    assert!(
        !text(&out.stdout).contains("rds/monitoring-role"),
        "{}",
        text(&out.stdout)
    );

    // 4. Destroying B deletes nothing of A's.
    let out = stack.engine(&["destroy", "--yes", "--state", "b"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("rds/monitoring-role"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        role_exists(),
        Some(role_id.clone()),
        "A's role is untouched"
    );

    // 5. A, refreshed, still has nothing to do.
    assert_intact(&stack, "a");

    // Every kind, recorded: A's records under another identity are not its to
    // delete. Checked before the first change, so nothing at all is deleted.
    let a_state = read_state(&root.join("a"));
    let kinds: std::collections::BTreeSet<String> = a_state["resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.len(), 23, "JapanCart uses every kind: {kinds:?}");
    write_foreign(
        &root.join("c"),
        a_state.clone(),
        "00000000-0000-4000-8000-00000000000c",
    );
    let out = stack.engine(&["destroy", "--yes", "--state", "c"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let refused = stderr.matches("refusing to delete").count();
    assert_eq!(refused, 53, "every resource is refused:\n{stderr}");
    assert!(!stderr.contains("deleted ["), "{stderr}");
    assert_intact(&stack, "a");

    // Every kind, pending: neither adopted by an apply nor deleted by a destroy.
    let mut pending = a_state.clone();
    for r in pending["resources"].as_object_mut().unwrap().values_mut() {
        r["status"] = Value::from("pending");
        r["attributes"] = serde_json::json!({});
    }
    write_foreign(
        &root.join("d"),
        pending,
        "00000000-0000-4000-8000-00000000000d",
    );
    let (_, stderr) = stack.run(&["apply", "--yes", "--state", "d"], 1);
    assert!(stderr.contains("belongs to another stack"), "{stderr}");
    assert!(!stderr.contains("adopted"), "{stderr}");
    assert!(!stderr.contains("created ["), "{stderr}");
    let out = stack.engine(&["destroy", "--yes", "--state", "d"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("deleted ["), "{stderr}");
    assert!(stderr.contains("forgotten, nothing deleted"), "{stderr}");
    assert_intact(&stack, "a");

    // A create killed after AWS made the resource (outcome unknown) is still
    // adopted, by its tags, on the next apply.
    let mut crashed = a_state;
    for address in ["rds/monitoring-role", "vpc/endpoint-sg"] {
        let r = &mut crashed["resources"][address];
        r["status"] = Value::from("pending");
        r["attributes"] = serde_json::json!({});
    }
    std::fs::write(
        root.join("a/state.json"),
        serde_json::to_string_pretty(&crashed).unwrap(),
    )
    .unwrap();
    let (_, stderr) = stack.run(&["apply", "--yes", "--state", "a"], 0);
    assert_eq!(stderr.matches("adopted").count(), 2, "{stderr}");
    assert_eq!(role_exists(), Some(role_id));
    let groups = rt
        .block_on(
            aws_sdk_ec2::Client::new(&sdk)
                .describe_security_groups()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("tag:engine:address")
                        .values("vpc/endpoint-sg")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(groups.security_groups().len(), 1, "adopted, not duplicated");
    assert_intact(&stack, "a");
}
