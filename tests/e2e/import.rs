//! `engine import` (issue 18, item 1, acceptance 1 and 2) through the real binary
//! on moto: a VPC, a security group, a Kinesis stream and a secret made through the
//! SDK are imported; the next plan changes only what differs from what is declared
//! (and creates the rest of JapanCart); after apply the plan is empty and nothing
//! exists twice. Then `state rm` and `import` of the stream give an empty plan again.
//! Every refusal writes nothing: an id that does not exist, an address no plugin
//! declares, a resource already in the state, another stack's (unless `--force`).
//!
//! The stack keeps the database password in a secret of its own (`db-password =
//! "stack-secret"`), so that there is a `secrets/db-credentials` to import.

use std::collections::BTreeMap;

use engine_aws::moto::MotoServer;
use serde_json::Value;

use super::{STACK_FILE, Stack};

/// The end-to-end stack, with the database password in `secrets/db-credentials`.
fn stack_file() -> String {
    let file = STACK_FILE.replace("[config]\n", "[config]\ndb-password = \"stack-secret\"\n");
    assert_ne!(file, STACK_FILE);
    file
}

const STREAM: &str = "japancart-transactions-e2e";
const SECRET: &str = "japancart-db-credentials-e2e";
const ENDPOINT_SG: &str = "japancart-vpc-endpoints-e2e";

/// The actions of a JSON plan, by address.
fn actions(stdout: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let plan: Value = serde_json::from_str(stdout).unwrap();
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let fields = c["fields"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .map(|f| f["path"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            (
                c["address"].as_str().unwrap().to_string(),
                (c["action"].as_str().unwrap().to_string(), fields),
            )
        })
        .collect()
}

fn state_bytes(stack: &Stack) -> Option<Vec<u8>> {
    std::fs::read(stack.dir.path().join(".engine/state.json")).ok()
}

#[test]
fn import_adopts_what_was_made_outside_and_refuses_what_it_must() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, &stack_file());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let kinesis = aws_sdk_kinesis::Client::new(&sdk);
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);

    // Made outside the engine: the secret is tagged as another stack's.
    let (vpc_id, sg_id, secret_arn) = rt.block_on(async {
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .unwrap();
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let sg = ec2
            .create_security_group()
            .group_name(ENDPOINT_SG)
            .description("Interface VPC endpoints: HTTPS from inside the VPC only")
            .vpc_id(&vpc_id)
            .send()
            .await
            .unwrap();
        kinesis
            .create_stream()
            .stream_name(STREAM)
            .shard_count(1)
            .send()
            .await
            .unwrap();
        let tag = |k: &str, v: &str| {
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        };
        let secret = secrets
            .create_secret()
            .name(SECRET)
            .secret_string(
                r#"{"username":"japancart_admin","password":"Imported0Password0Of0Length0032"}"#,
            )
            .tags(tag("engine:stack", "japancart"))
            .tags(tag("engine:stack-id", "another-stack"))
            .tags(tag("engine:address", "secrets/db-credentials"))
            .send()
            .await
            .unwrap();
        (
            vpc_id,
            sg.group_id().unwrap().to_string(),
            secret.arn().unwrap().to_string(),
        )
    });

    // Refused, nothing written: an id that does not exist, an address no plugin
    // declares.
    let (_, stderr) = stack.run(&["import", "kinesis/transactions", "no-such-stream"], 1);
    assert!(
        stderr.contains("no kinesis-stream `no-such-stream` exists"),
        "{stderr}"
    );
    let (_, stderr) = stack.run(&["import", "vpc/main", "sg-0123"], 1);
    assert!(stderr.contains("ids start with `vpc-`"), "{stderr}");
    let (_, stderr) = stack.run(&["import", "kinesis/transaction", STREAM], 1);
    assert!(
        stderr.contains("no plugin declares `kinesis/transaction`")
            && stderr.contains("did you mean `kinesis/transactions`?"),
        "{stderr}"
    );
    assert_eq!(state_bytes(&stack), None, "no state was written");

    // Imported.
    for (address, id, kind) in [
        ("vpc/main", vpc_id.as_str(), "vpc"),
        ("vpc/endpoint-sg", sg_id.as_str(), "security-group"),
        ("kinesis/transactions", STREAM, "kinesis-stream"),
    ] {
        let (_, stderr) = stack.run(&["import", address, id], 0);
        assert!(
            stderr.contains(&format!("Imported {address} ({kind}, {id})")),
            "{stderr}"
        );
    }

    // Refused, nothing written: another stack's secret, a resource in the state.
    let before = state_bytes(&stack).unwrap();
    let (_, stderr) = stack.run(&["import", "secrets/db-credentials", SECRET], 1);
    assert!(
        stderr.contains("belongs to another stack") && stderr.contains("--force"),
        "{stderr}"
    );
    let (_, stderr) = stack.run(&["import", "vpc/main", &vpc_id], 1);
    assert!(
        stderr.contains("`vpc/main` is already in the state"),
        "{stderr}"
    );
    let (_, stderr) = stack.run(&["import", "vpc/public-rt", &vpc_id], 1);
    assert!(stderr.contains("ids start with `rtb-`"), "{stderr}");
    assert_eq!(state_bytes(&stack).unwrap(), before, "nothing was written");

    // Taken over with --force (by its ARN): its tags now name this stack.
    let (stdout, stderr) = stack.run(
        &[
            "import",
            "--force",
            "--json",
            "secrets/db-credentials",
            &secret_arn,
        ],
        0,
    );
    assert!(stderr.contains("taking over"), "{stderr}");
    let imported: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(imported["attributes"]["arn"], secret_arn.as_str());
    let state: Value = serde_json::from_slice(&state_bytes(&stack).unwrap()).unwrap();
    let lineage = state["lineage"].as_str().unwrap().to_string();
    let tags = rt
        .block_on(secrets.describe_secret().secret_id(&secret_arn).send())
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("engine:stack-id") && t.value() == Some(lineage.as_str())),
        "{tags:?}"
    );

    // The plan changes the imported resources in place where they differ from
    // what is declared, and creates the rest.
    let (stdout, _) = stack.run(&["plan", "--json"], 0);
    let plan = actions(&stdout);
    for address in [
        "vpc/main",
        "vpc/endpoint-sg",
        "kinesis/transactions",
        "secrets/db-credentials",
    ] {
        assert_eq!(plan[address].0, "update", "{address}: {:?}", plan[address]);
    }
    assert!(
        plan["vpc/main"]
            .1
            .contains(&"enable-dns-hostnames".to_string()),
        "{:?}",
        plan["vpc/main"]
    );
    assert!(
        plan.values()
            .all(|(action, _)| action == "update" || action == "create"),
        "{plan:?}"
    );

    // Applied, the plan is empty and nothing exists twice.
    stack.run(&["apply", "--yes"], 0);
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    rt.block_on(async {
        let vpcs = ec2.describe_vpcs().send().await.unwrap();
        let ours: Vec<_> = vpcs
            .vpcs()
            .iter()
            .filter(|v| v.cidr_block() == Some("10.0.0.0/16"))
            .collect();
        assert_eq!(ours.len(), 1, "{ours:?}");
        let groups = ec2.describe_security_groups().send().await.unwrap();
        let named = groups
            .security_groups()
            .iter()
            .filter(|g| g.group_name() == Some(ENDPOINT_SG))
            .count();
        assert_eq!(named, 1);
        let streams = kinesis.list_streams().send().await.unwrap();
        assert_eq!(
            streams
                .stream_names()
                .iter()
                .filter(|s| *s == STREAM)
                .count(),
            1
        );
        let listed = secrets.list_secrets().send().await.unwrap();
        let named = listed
            .secret_list()
            .iter()
            .filter(|s| s.name() == Some(SECRET))
            .count();
        assert_eq!(named, 1);
    });

    // Acceptance 2: forgotten, then imported again: nothing to do.
    stack.bare(&["state", "rm", "kinesis/transactions"], 0);
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 2);
    assert!(
        stdout.contains("kinesis/transactions will be created"),
        "{stdout}"
    );
    let (_, stderr) = stack.run(&["import", "kinesis/transactions", STREAM], 0);
    assert!(
        stderr.contains(&format!(
            "Imported kinesis/transactions (kinesis-stream, {STREAM})"
        )),
        "{stderr}"
    );
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
}
