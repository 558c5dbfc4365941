//! JapanCart through a faulty network: the engine talks to the realistic emulator
//! through the fault proxy, which fails a fifth of all calls: 8% the service's own
//! throttling error, 4% HTTP 500/503 and 4% connection resets (AWS never saw the
//! call), and 4% lost answers (AWS acted, then the answer was lost: a reset or a
//! 500), the case where a blind retry of a create makes a second resource. Apply,
//! re-plan and destroy converge with no duplicate and no orphan, counted through the
//! SDK by the ownership tags; the proxy reports what it injected.
//!
//! The same run proves secret hygiene for both values the host generates: the
//! database password (`db-password = "stack-secret"`: the host generates it into
//! `secrets/db-credentials`) and the Redis AUTH token (`secrets/redis-auth`), read
//! back from Secrets Manager, appear in no state file, saved plan, JSON event, log
//! line at `-vvv`, error message, or request the engine sent, except the calls that
//! must carry them: the secret's value, and the database's master password or the
//! replication group's AUTH token.

use std::time::Instant;

use engine_aws::moto::{FaultProxy, Faults, MotoServer, Profile};
use serde_json::Value;

use super::Stack;
use super::census::census;

const STACK_FILE: &str = r#"[stack]
name = "japancart"
region = "us-east-1"
environment = "faults"

[config]
rds-skip-final-snapshot = "true"
# The host generates the database password (the default leaves it to RDS).
db-password = "stack-secret"
# On outside `dev`: off, so that destroy can delete the database.
rds-deletion-protection = "false"
"#;

/// What the stack declares with this config: the 53 of the defaults and
/// `secrets/db-credentials`.
const RESOURCES: usize = 54;
/// Of those, the ones that carry the ownership tags (not the six KMS aliases, the
/// four route table associations, the route or the flow-logs role's inline
/// policy), and the aliases.
const TAGGED_AND_ALIASES: (usize, usize) = (42, 6);

/// The calls that must carry the password: its secret's value, and the database's
/// master password.
const PASSWORD_CARRIERS: [(&str, &str); 4] = [
    ("secretsmanager", "CreateSecret"),
    ("secretsmanager", "PutSecretValue"),
    ("rds", "CreateDBInstance"),
    ("rds", "ModifyDBInstance"),
];

/// The calls that must carry the Redis AUTH token: its secret's value, and the
/// replication group's token.
const TOKEN_CARRIERS: [(&str, &str); 4] = [
    ("secretsmanager", "CreateSecret"),
    ("secretsmanager", "PutSecretValue"),
    ("elasticache", "CreateReplicationGroup"),
    ("elasticache", "ModifyReplicationGroup"),
];

/// The forms the password takes on the wire: as is (JSON bodies), and
/// percent-encoded (query bodies), with either case of hex digits.
pub(crate) fn spellings(password: &str) -> Vec<String> {
    let encode = |upper: bool| {
        password
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect::<String>()
    };
    let json = serde_json::to_string(password).unwrap();
    vec![
        password.to_string(),
        json[1..json.len() - 1].to_string(),
        encode(true),
        encode(false),
    ]
}

/// Where in `haystack` any spelling of the password is, if anywhere.
pub(crate) fn leaks(haystack: &str, spellings: &[String]) -> bool {
    spellings.iter().any(|s| haystack.contains(s.as_str()))
}

/// The `password` key of the secret named `name`.
async fn password(sdk: &aws_config::SdkConfig, name: &str) -> String {
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let value = secrets
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the secret {name}: {e:?}"));
    let value: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    value["password"].as_str().expect("a password").to_string()
}

#[test]
fn japancart_converges_with_a_fifth_of_calls_failing_and_never_leaks_its_password() {
    let moto = MotoServer::start_with(&Profile::realistic(0.5))
        .expect("the realistic emulator starts (run `./dev setup`)");
    let faults = Faults {
        throttle: 0.08,
        server_error: 0.04,
        reset: 0.04,
        lost_reply: 0.04,
        seed: 14,
        ..Faults::default()
    };
    let proxy = FaultProxy::start(&moto, &faults).expect("the fault proxy starts");
    let mut stack = Stack::japancart(moto, STACK_FILE);
    stack.proxy = Some(proxy);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    // Everything the engine printed: JSON events on stdout, logs on stderr.
    let mut printed = String::new();
    let mut run = |args: &[&str], code: i32| {
        let (stdout, stderr) = if args[0] == "destroy" {
            stack.bare(args, code)
        } else {
            stack.run(args, code)
        };
        printed.push_str(&stdout);
        printed.push_str(&stderr);
        (stdout, stderr)
    };

    // A refused database (a retired engine version, refused by the realistic
    // profile as by AWS) after the secret is made: an error message to search.
    let (_, stderr) = run(
        &["apply", "--yes", "-vvv", "-c", "rds-engine-version=9.6"],
        1,
    );
    assert!(stderr.contains("rds/postgres"), "{stderr}");

    let start = Instant::now();
    let (events, _) = run(&["apply", "--yes", "--json", "-vvv"], 0);
    let applied = start.elapsed();
    let summary = super::summary(&events);
    assert_eq!(
        (&summary["complete"], &summary["failed"]),
        (&Value::Bool(true), &serde_json::json!([])),
        "{summary}"
    );

    let state_path = stack.dir.path().join(".engine/state.json");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let addresses: Vec<String> = state["resources"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(addresses.len(), RESOURCES, "{addresses:?}");
    let c = rt.block_on(census(&sdk, "japancart"));
    assert!(c.duplicates().is_empty(), "{:?}", c.duplicates());
    assert!(
        c.orphans(&addresses).is_empty(),
        "{:?}",
        c.orphans(&addresses)
    );
    assert_eq!(
        (c.tagged.len(), c.aliases.len()),
        TAGGED_AND_ALIASES,
        "{c:?}"
    );

    // Re-planned through the same faults: nothing to do; and a saved plan.
    let (stdout, _) = run(&["plan", "--detailed-exitcode", "--out", "tonight.plan"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");

    let secret = rt.block_on(password(&sdk, "japancart-db-credentials-faults"));
    assert!(secret.len() >= 16, "a generated password");
    let token = rt.block_on(password(&sdk, "japancart-redis-auth-faults"));
    assert_eq!(token.len(), 64, "a generated token");
    assert_ne!(secret, token);
    let password_spellings = spellings(&secret);
    let token_spellings = spellings(&token);
    // Both secrets: what must appear nowhere but on the wire.
    let spellings: Vec<String> = password_spellings
        .iter()
        .chain(&token_spellings)
        .cloned()
        .collect();

    let start = Instant::now();
    let (events, _) = run(&["destroy", "--yes", "--json", "-vvv"], 0);
    let destroyed = start.elapsed();
    let summary = super::summary(&events);
    assert_eq!(summary["deleted"], RESOURCES, "{summary}");
    let c = rt.block_on(census(&sdk, "japancart"));
    assert_eq!(c.total(), 0, "left behind: {c:?}");

    // What the proxy injected.
    let proxy = stack.proxy.as_ref().unwrap();
    let stats: Value = serde_json::from_str(&proxy.stats().unwrap()).unwrap();
    let requests = stats["requests"].as_u64().unwrap();
    let injected = &stats["injected"];
    let kinds = ["throttle", "server_error", "reset", "lost_reply"];
    let failed: u64 = kinds.iter().map(|k| injected[k].as_u64().unwrap()).sum();
    for kind in kinds {
        assert!(injected[kind].as_u64().unwrap() > 0, "{stats}");
    }
    assert!(
        failed * 100 >= requests * 12,
        "about a fifth of calls failed: {stats}"
    );
    eprintln!(
        "faults: {requests} requests, {failed} failed ({:.1}%): {injected}; by service {}; \
         apply {:.1}s, destroy {:.1}s; {RESOURCES} resources, 0 duplicates, 0 orphans",
        failed as f64 * 100.0 / requests as f64,
        stats["by_service"],
        applied.as_secs_f64(),
        destroyed.as_secs_f64()
    );

    // Secret hygiene: the password and the token are nowhere but where they must be.
    assert!(
        !leaks(&printed, &password_spellings),
        "the password reached the engine's output"
    );
    assert!(
        !leaks(&printed, &token_spellings),
        "the Redis AUTH token reached the engine's output"
    );
    let dir = stack.dir.path();
    for file in [
        ".engine/state.json",
        ".engine/state.json.backup",
        "tonight.plan",
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !leaks(&text, &password_spellings),
            "the password is in {file}"
        );
        assert!(
            !leaks(&text, &token_spellings),
            "the Redis AUTH token is in {file}"
        );
    }
    let log = std::fs::read_to_string(proxy.requests()).unwrap();
    let (mut password_carriers, mut token_carriers) = (0, 0);
    for line in log.lines() {
        let request: Value = serde_json::from_str(line).unwrap();
        let body = request["body"].as_str().unwrap_or_default();
        let found = |spellings: &[String]| leaks(body, spellings) || leaks(line, spellings);
        if !found(&spellings) {
            continue;
        }
        let call = (
            request["service"].as_str().unwrap_or_default(),
            request["action"].as_str().unwrap_or_default(),
        );
        if found(&password_spellings) {
            assert!(
                PASSWORD_CARRIERS.contains(&call),
                "the password was sent in {call:?}: {line}"
            );
            password_carriers += 1;
        }
        if found(&token_spellings) {
            assert!(
                TOKEN_CARRIERS.contains(&call),
                "the Redis AUTH token was sent in {call:?}: {line}"
            );
            token_carriers += 1;
        }
    }
    assert!(
        password_carriers >= 2,
        "the secret and the database carried the password"
    );
    assert!(
        token_carriers >= 2,
        "the secret and the replication group carried the token"
    );
    eprintln!(
        "secret hygiene: {} requests searched, {password_carriers} carried the password \
         (all CreateSecret/PutSecretValue/CreateDBInstance/ModifyDBInstance), \
         {token_carriers} the Redis AUTH token (all CreateSecret/PutSecretValue/\
         CreateReplicationGroup/ModifyReplicationGroup); state, backup, saved plan and {} \
         bytes of output clean",
        log.lines().count(),
        printed.len()
    );
}

/// The creates AWS cannot make idempotent (no client token) lose every answer after
/// AWS acted: each is made once, found by its ownership tags and adopted; a blind
/// retry would have made a second VPC, subnet, gateway or key.
#[test]
fn a_lost_answer_to_a_create_makes_no_second_resource() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let tokenless = [
        "CreateVpc",
        "CreateSubnet",
        "CreateInternetGateway",
        "CreateKey",
    ];
    let faults = Faults {
        lost_reply: 1.0,
        only: tokenless.iter().map(|s| s.to_string()).collect(),
        ..Faults::default()
    };
    let proxy = FaultProxy::start(&moto, &faults).expect("the fault proxy starts");
    let mut stack = Stack::japancart(moto, STACK_FILE);
    stack.proxy = Some(proxy);
    let (_, stderr) = stack.run(&["apply", "--yes"], 0);
    assert!(
        stderr.contains("vpc/main: created") && stderr.contains("adopted"),
        "{stderr}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    let c = rt.block_on(census(&sdk, "japancart"));
    assert!(c.duplicates().is_empty(), "{:?}", c.duplicates());
    assert_eq!(
        (c.tagged.len(), c.aliases.len()),
        TAGGED_AND_ALIASES,
        "{c:?}"
    );

    // Each create was sent once: the engine looked before trying again.
    let proxy = stack.proxy.as_ref().unwrap();
    let log = std::fs::read_to_string(proxy.requests()).unwrap();
    let sent = |action: &str| {
        log.lines()
            .filter(|l| serde_json::from_str::<Value>(l).unwrap()["action"] == action)
            .count()
    };
    let counts: Vec<usize> = tokenless.iter().map(|a| sent(a)).collect();
    // One VPC, four subnets, one gateway, six keys (kinesis, secrets, monitoring,
    // logs, Redis, RDS).
    assert_eq!(counts, [1, 4, 1, 6], "{tokenless:?}");

    let out = stack.engine(&["destroy", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", super::text(&out.stderr));
    assert_eq!(rt.block_on(census(&sdk, "japancart")).total(), 0);
}
