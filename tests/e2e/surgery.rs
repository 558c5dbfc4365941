//! State surgery: `engine state rm` forgets resources without deleting them, and
//! `engine state mv` renames an address so a resource renamed in its plugin is not
//! replaced; both keep a backup of the state.

use engine_aws::moto::MotoServer;
use serde_json::Value;

use super::{STACK_FILE, Stack, text};

#[test]
fn state_rm_forgets_without_deleting_and_keeps_a_backup() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, STACK_FILE);
    stack.run(&["apply", "--yes"], 0);

    let out = stack.engine(&[
        "state",
        "rm",
        "monitoring/rds-cpu",
        "monitoring/rds-connections",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Forgot monitoring/rds-cpu (metric-alarm, arn:aws:cloudwatch:")
            && stderr.contains("it stays in AWS"),
        "{stderr}"
    );
    let out = stack.engine(&["state", "list"]);
    let listed = text(&out.stdout);
    assert_eq!(listed.lines().count(), 51, "{listed}");
    assert!(!listed.contains("monitoring/rds-cpu\n"), "{listed}");

    // The backup is the state before, whole.
    let backups: Vec<_> = std::fs::read_dir(stack.dir.path().join(".engine/backups"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(backups.len(), 1);
    let before: Value =
        serde_json::from_str(&std::fs::read_to_string(backups[0].path()).unwrap()).unwrap();
    assert_eq!(before["resources"].as_object().unwrap().len(), 53);

    // Still in AWS.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    let alarms = rt
        .block_on(
            aws_sdk_cloudwatch::Client::new(&sdk)
                .describe_alarms()
                .alarm_names("japancart-rds-cpu-e2e")
                .send(),
        )
        .unwrap();
    assert_eq!(alarms.metric_alarms().len(), 1, "the alarm is not deleted");

    // Nothing is changed for an address the state does not have.
    let out = stack.engine(&["state", "rm", "monitoring/rds-cpu"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no resource `monitoring/rds-cpu`"));

    // Still declared: the plan creates them again.
    let (stdout, _) = stack.run(&["plan"], 0);
    assert!(stdout.contains("2 to create"), "{stdout}");
    stack.run(&["apply", "--yes"], 0);
    let out = stack.engine(&["destroy", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Issue 18, acceptance 4: `state mv` plus the matching rename in the plugin plans
/// no replacement; the resource stays provably the stack's (its tags still name
/// the old address until an update sets them again), and destroy removes it.
#[test]
fn state_mv_and_the_rename_in_the_plugin_plan_no_replacement() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        "[stack]\nname = \"surgery\"\nregion = \"us-east-1\"\nenvironment = \"e2e\"\n\n[config]\n",
    )
    .unwrap();
    let storage = super::contracts::guests().join("storage.wasm");
    let stack = Stack {
        dir,
        plugins: vec![storage.display().to_string()],
        moto,
        proxy: None,
    };
    stack.run(&["apply", "--yes"], 0);
    let key_id = |stack: &Stack| {
        let out = stack.engine(&["state", "show", "--json", "storage/exports-key"]);
        let shown: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        shown
    };

    // Renamed in the plugin alone, the key would be replaced.
    let (stdout, _) = stack.run(&["plan", "-c", "storage-key-name=exports-key"], 0);
    assert!(
        stdout.contains("1 to create") && stdout.contains("1 to delete"),
        "{stdout}"
    );

    let (_, stderr) = stack.bare(&["state", "mv", "storage/key", "storage/exports-key"], 0);
    assert!(
        stderr.contains("Moved storage/key to storage/exports-key")
            && stderr.contains("nothing in AWS changed"),
        "{stderr}"
    );
    let shown = key_id(&stack);
    assert_eq!(shown["tagged_as"], "storage/key", "{shown}");
    stack.set_config("storage-key-name", "exports-key");
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");

    // An update proves ownership by the address the tags name, and tags it anew.
    let (_, stderr) = stack.run(
        &[
            "apply",
            "--yes",
            "-c",
            "storage-key-description=Encrypts the exports",
        ],
        0,
    );
    assert!(
        stderr.contains("0 created, 1 updated, 0 deleted"),
        "{stderr}"
    );
    let shown = key_id(&stack);
    assert!(shown["tagged_as"].is_null(), "{shown}");
    let id = shown["attributes"]["id"].as_str().unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    let tags = rt
        .block_on(
            aws_sdk_kms::Client::new(&sdk)
                .list_resource_tags()
                .key_id(&id)
                .send(),
        )
        .unwrap();
    let address = tags
        .tags()
        .iter()
        .find(|t| t.tag_key() == "engine:address")
        .map(|t| t.tag_value().to_string());
    assert_eq!(address.as_deref(), Some("storage/exports-key"));

    // Refused, nothing changed: a target address already held.
    let (_, stderr) = stack.bare(&["state", "mv", "storage/bucket", "storage/exports-key"], 1);
    assert!(
        stderr.contains("already holds a resource at `storage/exports-key`"),
        "{stderr}"
    );
    let out = stack.engine(&["destroy", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
