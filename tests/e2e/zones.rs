//! Availability zones come from the region, and global names carry it (issue 13).
//!
//! `engine plan` and `engine apply` read the region's zones once (EC2
//! `DescribeAvailabilityZones`, state `available`, no Local Zones) and hand them to
//! the plugins as the fact `aws:availability-zones`: Tokyo's subnets go to
//! `ap-northeast-1a` and `-1c` (it has no `-1b`; moto lists the zones as AWS does).
//! A pinned `availability-zones` wins without any AWS call; without AWS one warning
//! line says so and the plugins use `{region}a`, `{region}b`. `validate`, `graph`
//! and `check` stay offline. The same environment then deploys to a second region
//! beside the first: the RDS monitoring role's name (IAM names are global) carries
//! the region.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use engine_aws::moto::MotoServer;
use serde_json::Value;

use super::{STACK_FILE, Stack, plugins, summary, text};

/// Subnet address -> zone, from `engine plan --json`.
fn subnet_zones(plan_json: &str) -> BTreeMap<String, String> {
    let plan: Value = serde_json::from_str(plan_json).unwrap();
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let zone = c["after"]["availability-zone"].as_str()?;
            Some((c["address"].as_str()?.to_string(), zone.to_string()))
        })
        .collect()
}

fn zones(pairs: [(&str, &str); 4]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, z)| (a.to_string(), z.to_string()))
        .collect()
}

/// Whether an apply's JSON summary counts a `DescribeAvailabilityZones` call.
fn read_zones(stdout: &str) -> bool {
    summary(stdout)["aws_calls"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.ends_with("DescribeAvailabilityZones"))
}

#[test]
fn tokyo_gets_its_own_zones_and_deploys_beside_virginia() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, STACK_FILE);
    let tokyo = ["--region", "ap-northeast-1", "--state", "tokyo"];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk_in = |region: &str| {
        let mut options = stack.moto.sdk_options();
        options.region = Some(region.into());
        rt.block_on(engine_aws::load_sdk_config(&options))
    };
    let tokyo_sdk = sdk_in("ap-northeast-1");
    // moto builds a region's endpoint services on the first call, which takes
    // seconds on a loaded machine; AWS answers at once. Warm it, so the engine's
    // 3 s bound on the lookup measures the engine, not moto's first call.
    rt.block_on(
        aws_sdk_ec2::Client::new(&tokyo_sdk)
            .describe_vpc_endpoint_services()
            .send(),
    )
    .expect("moto lists Tokyo's endpoint services");

    // The plan puts the subnets in Tokyo's first two zones, with no warning.
    let mut args = vec!["plan", "--json", "--out", "tokyo.plan"];
    args.extend(tokyo);
    let (stdout, stderr) = stack.run(&args, 0);
    assert_eq!(
        subnet_zones(&stdout),
        zones([
            ("vpc/private-a", "ap-northeast-1a"),
            ("vpc/private-b", "ap-northeast-1c"),
            ("vpc/public-a", "ap-northeast-1a"),
            ("vpc/public-b", "ap-northeast-1c"),
        ])
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    // Deterministic: the same zones, the same plan.
    let mut again = vec!["plan", "--json"];
    again.extend(tokyo);
    assert_eq!(stack.run(&again, 0).0, stdout);

    // The saved plan is applied exactly: its zones, and no second lookup.
    let mut apply = vec!["apply", "--yes", "--json"];
    apply.extend(tokyo);
    apply.push("tokyo.plan");
    let out = stack.engine(&apply);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!read_zones(&stdout), "{}", summary(&stdout));

    let subnets = rt
        .block_on(
            aws_sdk_ec2::Client::new(&tokyo_sdk)
                .describe_subnets()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("tag:engine:stack")
                        .values("japancart")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    let mut live: Vec<&str> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.availability_zone())
        .collect();
    live.sort();
    assert_eq!(
        live,
        [
            "ap-northeast-1a",
            "ap-northeast-1a",
            "ap-northeast-1c",
            "ap-northeast-1c"
        ]
    );

    // An apply from the plugins plans with the zones read (without them the
    // plugins' defaults would move two subnets to `ap-northeast-1b`): nothing to
    // do, so it needs no confirmation either.
    let mut reapply = vec!["apply", "--json"];
    reapply.extend(tokyo);
    let (stdout, stderr) = stack.run(&reapply, 0);
    assert!(read_zones(&stdout), "{}", summary(&stdout));
    assert_eq!(summary(&stdout)["aws_mutating_calls"], 0, "{stderr}");

    // The same environment in us-east-1 deploys beside Tokyo: the global role
    // names differ by region. An apply from plugins reads the zones once.
    let (stdout, stderr) = stack.run(&["apply", "--yes", "--json", "--state", "virginia"], 0);
    assert!(read_zones(&stdout), "{}", summary(&stdout));
    assert!(!stderr.contains("warning"), "{stderr}");
    let iam = aws_sdk_iam::Client::new(&tokyo_sdk);
    for role in [
        "japancart-rds-monitoring-ap-northeast-1-e2e",
        "japancart-rds-monitoring-us-east-1-e2e",
    ] {
        rt.block_on(iam.get_role().role_name(role).send())
            .unwrap_or_else(|e| panic!("{role}: {e:?}"));
    }
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode", "--state", "virginia"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    let mut replan = vec!["plan", "--detailed-exitcode"];
    replan.extend(tokyo);
    let (stdout, _) = stack.run(&replan, 0);
    assert!(stdout.contains("No changes."), "{stdout}");
}

/// A stand-in for AWS on a loopback port: it counts connections and never
/// answers, so any call the engine makes is seen (and waits for the bound).
struct Silent {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                seen.fetch_add(1, Ordering::SeqCst);
                // Hold the connection open and read, never answer.
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut buf = [0u8; 1024];
                    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
        });
        Silent { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Runs `engine` in `dir` against `endpoint`, with (or without) credentials and
/// nothing else from this machine's AWS setup.
fn engine_at(dir: &Path, endpoint: &str, credentials: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_engine"));
    cmd.args(args)
        .current_dir(dir)
        .env("ENGINE_CACHE_DIR", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("ENGINE_LOG");
    if credentials {
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
    } else {
        cmd.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
    }
    cmd.output().expect("runs engine")
}

#[test]
fn without_aws_one_warning_and_the_plugins_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("engine.toml"), STACK_FILE).unwrap();
    let plugins = plugins();
    let mut args = vec!["plan", "--json", "--region", "ap-northeast-1"];
    args.extend(plugins.iter().map(String::as_str));
    let out = engine_at(dir.path(), "http://127.0.0.1:9", false, &args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "warning: could not read the availability zones of ap-northeast-1 from AWS: no AWS \
             credentials were found (environment, profile files, SSO, container or instance \
             metadata). The plugins use their defaults (ap-northeast-1a, ap-northeast-1b, ...); \
             pin the zones with `-c availability-zones=ZONE,ZONE` or `availability-zones` in \
             engine.toml [config]."
        ],
        "one warning line"
    );
    assert_eq!(
        subnet_zones(&stdout),
        zones([
            ("vpc/private-a", "ap-northeast-1a"),
            ("vpc/private-b", "ap-northeast-1b"),
            ("vpc/public-a", "ap-northeast-1a"),
            ("vpc/public-b", "ap-northeast-1b"),
        ])
    );
}

#[test]
fn pinned_zones_win_and_offline_commands_make_no_aws_call() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("engine.toml"), STACK_FILE).unwrap();
    let plugins = plugins();
    let aws = Silent::start();
    let endpoint = format!("http://127.0.0.1:{}", aws.port);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(plugins.iter().map(String::as_str));
        engine_at(dir.path(), &endpoint, true, &all)
    };

    // Pinned: the user's zones, in the user's order; no call, no warning.
    let out = run(&[
        "plan",
        "--json",
        "--region",
        "ap-northeast-1",
        "-c",
        "availability-zones=ap-northeast-1d,ap-northeast-1c",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        subnet_zones(&text(&out.stdout)),
        zones([
            ("vpc/private-a", "ap-northeast-1d"),
            ("vpc/private-b", "ap-northeast-1c"),
            ("vpc/public-a", "ap-northeast-1d"),
            ("vpc/public-b", "ap-northeast-1c"),
        ])
    );
    assert_eq!(text(&out.stderr), "");
    // validate and graph stay offline.
    for args in [&["validate"][..], &["graph"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            !text(&out.stderr).contains("warning"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(aws.connections(), 0, "no AWS call");

    // The host's fact is not the user's to set.
    let out = run(&["plan", "-c", "aws:availability-zones=ap-northeast-1d"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("config key `aws:availability-zones` is reserved"),
        "{}",
        text(&out.stderr)
    );

    // Control: unpinned, the plan does ask (the stand-in sees it), and an AWS
    // that does not answer costs at most the bound, then the defaults.
    let started = std::time::Instant::now();
    let out = run(&["plan", "--json", "--region", "ap-northeast-1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(aws.connections() > 0, "the lookup reached the stand-in");
    assert!(
        stderr.contains("DescribeAvailabilityZones: no answer within 3s"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        subnet_zones(&text(&out.stdout))["vpc/private-b"],
        "ap-northeast-1b"
    );
}
