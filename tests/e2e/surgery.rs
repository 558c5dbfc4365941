//! State surgery: `engine state rm` forgets resources without deleting them, after
//! keeping a backup of the state.

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
    assert_eq!(listed.lines().count(), 38, "{listed}");
    assert!(!listed.contains("monitoring/rds-cpu\n"), "{listed}");

    // The backup is the state before, whole.
    let backups: Vec<_> = std::fs::read_dir(stack.dir.path().join(".engine/backups"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(backups.len(), 1);
    let before: Value =
        serde_json::from_str(&std::fs::read_to_string(backups[0].path()).unwrap()).unwrap();
    assert_eq!(before["resources"].as_object().unwrap().len(), 40);

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
