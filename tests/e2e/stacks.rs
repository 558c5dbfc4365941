//! Named stacks, operated as the reference README operates JapanCart: a stack of
//! its own per environment, with its own config and state, in one account and
//! region. `prod`'s database has deletion protection (on outside `dev`): its
//! destroy is refused until the user turns it off.

use engine_aws::moto::MotoServer;
use serde_json::Value;

use super::{Stack, text};

const PROJECT: &str = r#"[stack]
name = "japancart"

[config]
rds-skip-final-snapshot = "true"
db-secret-recovery-days = "0"
"#;

#[test]
fn dev_and_prod_live_side_by_side_as_stacks_the_reference_way() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, PROJECT);

    // The reference's commands, in its order.
    stack.bare(&["stack", "init", "dev"], 0);
    stack.bare(&["config", "set", "aws:region", "us-east-1"], 0);
    stack.bare(&["config", "set", "environmentSuffix", "dev"], 0);
    let (stdout, _) = stack.run(&["preview"], 0);
    assert!(stdout.contains("53 to create"), "{stdout}");
    let (_, stderr) = stack.run(&["up", "--yes"], 0);
    assert!(stderr.contains("Apply complete"), "{stderr}");
    let (stdout, _) = stack.bare(&["stack", "output", "--json"], 0);
    let outputs: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        outputs["kinesis_stream_name"]
            .as_str()
            .unwrap()
            .ends_with("-dev"),
        "{outputs}"
    );
    let config = std::fs::read_to_string(stack.dir.path().join("engine.dev.toml")).unwrap();
    assert!(
        config.contains("region = \"us-east-1\"") && config.contains("environment = \"dev\""),
        "aliases stored under engine's own keys:\n{config}"
    );
    let (stdout, _) = stack.bare(&["config", "ls"], 0);
    assert!(
        stdout.contains("environment") && stdout.contains("stack config"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rds-skip-final-snapshot") && stdout.contains("engine.toml"),
        "{stdout}"
    );

    // A second stack in the same account and region: its own names, its own state.
    stack.bare(&["stack", "init", "prod"], 0);
    let (stdout, _) = stack.bare(&["config", "get", "environment"], 0);
    assert_eq!(
        stdout.trim(),
        "prod",
        "a new stack's environment is its name"
    );
    stack.run(&["apply", "--yes"], 0);
    for name in ["dev", "prod"] {
        let (stdout, _) = stack.run(&["plan", "--stack", name, "--detailed-exitcode"], 0);
        assert!(stdout.contains("No changes."), "{name}: {stdout}");
    }
    let (stdout, _) = stack.bare(&["stack", "ls"], 0);
    let line = |n: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().any(|w| w == n))
            .unwrap_or_else(|| panic!("{n} in:\n{stdout}"))
            .to_string()
    };
    assert!(
        line("prod").starts_with('*') && line("prod").contains("53"),
        "{stdout}"
    );
    assert!(
        !line("dev").starts_with('*') && line("dev").contains("53"),
        "{stdout}"
    );

    // A plan belongs to its stack; an environment flag cannot turn one stack's
    // state into another environment's replacements.
    stack.run(&["plan", "--stack", "dev", "--out", "dev.plan"], 0);
    let (_, stderr) = stack.bare(&["apply", "--stack", "prod", "--yes", "dev.plan"], 1);
    assert!(stderr.contains("made for stack `dev`"), "{stderr}");
    let (_, stderr) = stack.run(&["apply", "--stack", "dev", "-e", "prod", "--yes"], 1);
    assert!(
        stderr.contains("holds 53 resources of environment `dev`")
            && stderr.contains("would replace every one of them"),
        "{stderr}"
    );
    let (_, stderr) = stack.run(&["plan", "--stack", "staging"], 1);
    assert!(
        stderr.contains("no stack named `staging`") && stderr.contains("engine stack init"),
        "{stderr}"
    );

    // Deletion protection: on in prod by default, off in dev.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    let protected = |env: &str| {
        let rds = aws_sdk_rds::Client::new(&sdk);
        let db = rt
            .block_on(
                rds.describe_db_instances()
                    .db_instance_identifier(format!("japancart-postgres-{env}"))
                    .send(),
            )
            .unwrap();
        db.db_instances()[0].deletion_protection()
    };
    assert_eq!(protected("prod"), Some(true), "on outside dev");
    assert_eq!(protected("dev"), Some(false), "off in dev");

    // So destroying prod is refused, as a user meets it: AWS refuses the
    // database, and the error names it and says how to turn the protection off.
    let (_, stderr) = stack.bare(&["destroy", "--stack", "prod", "--yes"], 1);
    assert!(
        stderr.contains("rds/postgres")
            && stderr.contains("japancart-postgres-prod has deletion protection on")
            && stderr.contains("set `deletion-protection` to false and apply first"),
        "{stderr}"
    );
    assert_eq!(protected("prod"), Some(true), "the database is still there");
    // Turned off in prod's config and applied: then prod destroys.
    stack.bare(
        &[
            "config",
            "set",
            "--stack",
            "prod",
            "rds-deletion-protection",
            "false",
        ],
        0,
    );
    let (_, stderr) = stack.run(&["apply", "--stack", "prod", "--yes"], 0);
    assert!(stderr.contains("Apply complete"), "{stderr}");
    assert_eq!(protected("prod"), Some(false), "turned off by the apply");

    // Destroying prod leaves dev whole.
    let (_, stderr) = stack.bare(&["destroy", "--stack", "prod", "--yes"], 0);
    assert!(stderr.contains("53 deleted"), "{stderr}");
    let (stdout, _) = stack.run(&["plan", "--stack", "dev", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    let (stdout, _) = stack.run(
        &["apply", "--stack", "dev", "--refresh", "--json", "--yes"],
        0,
    );
    let sum = super::summary(&stdout);
    assert_eq!(sum["aws_mutating_calls"], 0, "dev is whole: {sum}");

    // A stack with resources is not removed by mistake.
    let (_, stderr) = stack.bare(&["stack", "rm", "dev"], 1);
    assert!(stderr.contains("still has 53 resources"), "{stderr}");
    stack.bare(&["stack", "rm", "prod"], 0);
    stack.bare(&["stack", "select", "dev"], 0);
    stack.bare(&["destroy", "--yes"], 0);
    stack.bare(&["stack", "rm", "dev"], 0);
    let (stdout, _) = stack.bare(&["stack", "ls", "--json"], 0);
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] == "default" && s["resources"] == 0),
        "{list}"
    );
}

/// A stack whose config names the emulator's endpoint is operated with plain
/// commands: no AWS_ENDPOINT_URL and no credentials in the environment (as after
/// `./dev up`, which deploys the stack `local` this way).
#[test]
fn a_stack_can_target_the_emulator_by_its_config() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, PROJECT);
    stack.bare(&["stack", "init", "local"], 0);
    // As `./dev up` makes it (scripts/aws-target): environment `dev`, whose
    // database has no deletion protection, so that destroy deletes it.
    stack.bare(&["config", "set", "environment", "dev"], 0);
    stack.bare(&["config", "set", "endpoint", &stack.moto.endpoint()], 0);
    let plain = |args: &[&str], with_plugins: bool| {
        let mut all: Vec<&str> = args.to_vec();
        if with_plugins {
            all.extend(stack.plugins.iter().map(String::as_str));
        }
        let out = stack
            .command(&all)
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "engine {args:?}:\n{stderr}");
        text(&out.stdout)
    };
    plain(&["apply", "--yes"], true);
    let outputs: Value = serde_json::from_str(&plain(&["output", "--json"], false)).unwrap();
    assert!(
        outputs["vpc_id"].as_str().unwrap().starts_with("vpc-"),
        "{outputs}"
    );
    let stdout = plain(&["plan", "--detailed-exitcode"], true);
    assert!(stdout.contains("No changes."), "{stdout}");
    plain(&["destroy", "--yes"], false);
}
