//! JapanCart against AWS's documented behaviour rather than the emulator's
//! leniency: moto under the launcher's realistic profile (creating, modifying and
//! deleting phases, calls refused while busy, an IAM propagation window, lists that
//! lag, retired engine versions, EC2 eventual consistency; see
//! tests/moto/launcher.py, R1-R10), at 1.5 times the profile's durations so that
//! the database takes long enough to show its progress lines.
//!
//! With the default config (a 7-day secret recovery window, a final DB snapshot)
//! but for deletion protection, which is off:
//! apply, re-plan (no changes), destroy, apply again at once under the same names,
//! destroy; in us-east-1 and, for the same stack name and environment in the same
//! account, in ap-northeast-1 (zones 1a, 1c, 1d: no `b`). Neither stack disturbs
//! the other, and nothing of either is left but the final snapshots.

use engine_aws::moto::{MotoServer, Profile};

use super::{Stack, check_gone, text};

const DEFAULTS: &str = r#"[stack]
name = "japancart"
region = "us-east-1"
environment = "e2e"

[config]
# On outside `dev`: off, so that destroy can delete the database (stacks.rs
# proves a protected one refuses).
rds-deletion-protection = "false"
"#;

const TOKYO: &str = "ap-northeast-1";

#[test]
fn japancart_deploys_twice_in_two_regions_under_realistic_aws() {
    let moto = MotoServer::start_with(&Profile::realistic(1.5))
        .expect("the realistic emulator starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, DEFAULTS);
    let home = ["--state", "home"];
    let tokyo = ["--state", "tokyo", "--region", TOKYO];
    let with = |base: &[&str], args: &[&str]| -> Vec<String> {
        args.iter().chain(base).map(|s| s.to_string()).collect()
    };
    let run = |base: &[&str], args: &[&str], code: i32| -> (String, String) {
        let all = with(base, args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        stack.run(&all, code)
    };
    let destroy = |base: &[&str]| -> String {
        let all = with(base, &["destroy", "--yes"]);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = stack.engine(&all);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        stderr
    };
    let intact = |base: &[&str]| {
        let all = with(base, &["refresh"]);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = stack.engine(&all);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let (stdout, _) = run(base, &["plan", "--detailed-exitcode"], 0);
        assert!(stdout.contains("No changes."), "{stdout}");
    };

    // 1. Apply, with the slow steps' status at least every 10 s.
    let (stdout, stderr) = run(&home, &["apply", "--yes"], 0);
    assert!(stderr.contains("53 created"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("rds/postgres: still creating... [") && stderr.contains("] status "),
        "progress lines with the AWS status: {stderr}"
    );
    assert!(
        stdout.contains("a final snapshot `japancart-postgres-e2e-final-<time>` is kept"),
        "the plan says what destroy keeps: {stdout}"
    );
    let (stdout, _) = run(&home, &["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");

    // 2. The same stack name and environment in a second region of the account.
    let (_, stderr) = run(&tokyo, &["apply", "--yes"], 0);
    assert!(stderr.contains("53 created"), "{stderr}");
    let (stdout, _) = run(&tokyo, &["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    let tokyo_sdk = sdk
        .to_builder()
        .region(aws_config::Region::new(TOKYO))
        .build();
    let zones: std::collections::BTreeSet<String> = rt.block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tokyo_sdk);
        let ours = aws_sdk_ec2::types::Filter::builder()
            .name("tag:engine:stack")
            .values("japancart")
            .build();
        let out = ec2.describe_subnets().filters(ours).send().await.unwrap();
        out.subnets()
            .iter()
            .filter_map(|s| s.availability_zone().map(str::to_string))
            .collect()
    });
    assert_eq!(zones.len(), 2, "{zones:?}");
    assert!(
        zones.iter().all(
            |z| ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"].contains(&z.as_str())
        ),
        "zones of the region: {zones:?}"
    );
    intact(&home);

    // 3. Each destroys and at once applies again under the same names: the secret
    //    scheduled for deletion is restored, the stream's and the instance's names
    //    are free again; the other stack is untouched throughout.
    for (base, other) in [(&tokyo[..], &home[..]), (&home[..], &tokyo[..])] {
        let stderr = destroy(base);
        assert!(stderr.contains("53 deleted"), "{stderr}");
        intact(other);
        let (stdout, stderr) = run(base, &["apply", "--yes", "--json"], 0);
        assert_eq!(super::summary(&stdout)["created"], 53, "{stderr}");
        assert!(
            stdout.contains("restored this stack's secret"),
            "the secret in its recovery window was restored: {stdout}"
        );
        intact(base);
        intact(other);
    }

    // 4. Both destroyed: nothing left in either region but final snapshots.
    for base in [&tokyo[..], &home[..]] {
        let stderr = destroy(base);
        assert!(stderr.contains("53 deleted"), "{stderr}");
    }
    rt.block_on(check_gone(&sdk, true));
    rt.block_on(check_gone(&tokyo_sdk, true));
}
