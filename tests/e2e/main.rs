//! The JapanCart stack live, end to end: the real `engine` binary applies the six
//! plugins to a real moto server started here; every property the reference README
//! lists is checked through the AWS SDK (not through the engine's own state), and
//! so is the hardening (docs/japancart.md, "Hardened by default"): Redis requires
//! its AUTH token and is encrypted with the stack's key, the database has IAM auth,
//! its logs exported, tags copied to snapshots, storage under the stack's key and a
//! password RDS keeps in the secret `db_secret_arn` names; the VPC's flow logs go to
//! their log group (a year, the logs key) through a role that may write only there,
//! and its default security group has no rule. Neither the token nor the password
//! appears in the state, its backup, a saved or JSON plan, or anything the engine
//! printed (at `-vvv` too). A re-plan finds nothing, a refreshed re-apply makes no
//! mutating call, an in-place change and a replacement take effect, and destroy
//! leaves nothing behind.
//!
//! moto differences from AWS, followed as AWS documents it: RDS and ElastiCache come
//! back `available` at once (AWS takes minutes; the provider polls either way), and
//! KMS keys can only be scheduled for deletion (`PendingDeletion`), as on AWS.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::process::{Command, Output};

use engine_aws::moto::{FaultProxy, MotoServer};
use serde_json::Value;

mod census;
#[path = "../common/mod.rs"]
mod common;
mod contracts;
mod faults;
mod import;
mod interrupts;
mod kills;
mod live_view;
mod ownership;
mod realistic;
mod stacks;
mod surgery;
mod targeting;
mod team_state;
mod zones;

const STACK_FILE: &str = r#"[stack]
name = "japancart"
region = "us-east-1"
environment = "e2e"

[config]
# So that destroy can be checked to leave nothing behind.
rds-skip-final-snapshot = "true"
db-secret-recovery-days = "0"
# Deletion protection is on outside `dev`; stacks.rs proves it refuses a destroy.
rds-deletion-protection = "false"
"#;

struct Stack {
    dir: tempfile::TempDir,
    plugins: Vec<String>,
    moto: MotoServer,
    /// When set, the engine talks to the emulator through it.
    proxy: Option<FaultProxy>,
}

impl Stack {
    /// The six JapanCart plugins in a fresh directory with `stack_file` as its
    /// `engine.toml`, against `moto`.
    fn japancart(moto: MotoServer, stack_file: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("engine.toml"), stack_file).unwrap();
        Stack {
            dir,
            plugins: plugins(),
            moto,
            proxy: None,
        }
    }

    /// `engine ARGS` in the stack's directory, against its emulator.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_engine"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("ENGINE_CACHE_DIR", self.dir.path().join(".cache"))
            .env("NO_COLOR", "1")
            .env(
                "AWS_ENDPOINT_URL",
                self.proxy
                    .as_ref()
                    .map_or_else(|| self.moto.endpoint(), FaultProxy::endpoint),
            )
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("ENGINE_STACK")
            .env_remove("ENGINE_STATE")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION");
        c
    }

    /// Starts `engine ARGS` with its stderr watched: each line is sent on the
    /// receiver as it comes, and the reader thread returns all of it at the end.
    fn spawn_watched(&self, args: &[&str]) -> Watched {
        let mut child = self
            .command(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs engine");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut all = String::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        Watched {
            child,
            lines,
            reader,
        }
    }

    /// `engine ARGS` (no plugins appended), expecting `code`; returns (stdout, stderr).
    fn bare(&self, args: &[&str], code: i32) -> (String, String) {
        let out = self.engine(args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(
            out.status.code(),
            Some(code),
            "engine {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }

    fn engine(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("runs engine")
    }

    /// Runs `engine ARGS PLUGINS...` and expects `code`.
    fn run(&self, args: &[&str], code: i32) -> (String, String) {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(self.plugins.iter().map(String::as_str));
        self.bare(&all, code)
    }

    fn set_config(&self, key: &str, value: &str) {
        let path = self.dir.path().join("engine.toml");
        let mut s = std::fs::read_to_string(&path).unwrap();
        s.push_str(&format!("{key} = \"{value}\"\n"));
        std::fs::write(path, s).unwrap();
    }
}

/// A running engine whose stderr is read line by line ([`Stack::spawn_watched`]).
struct Watched {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<String>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

use common::japancart as plugins;

/// The JSON event stream's final summary.
fn summary(stdout: &str) -> Value {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary event in:\n{stdout}"))
}

#[test]
fn japancart_lives_end_to_end() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, STACK_FILE);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    // Everything the engine printed (stdout and stderr of every command), searched
    // for the secrets at the end.
    let printed = std::cell::RefCell::new(String::new());
    let keep = |(stdout, stderr): (String, String)| {
        let mut p = printed.borrow_mut();
        p.push_str(&stdout);
        p.push_str(&stderr);
        (stdout, stderr)
    };
    let run = |args: &[&str], code: i32| keep(stack.run(args, code));
    let bare = |args: &[&str], code: i32| keep(stack.bare(args, code));

    // Apply from nothing, with every log line the engine has.
    let (_, stderr) = run(&["apply", "--yes", "-vvv"], 0);
    assert!(stderr.contains("Apply complete"), "{stderr}");
    assert!(
        stderr.contains("53 created, 0 updated, 0 deleted"),
        "{stderr}"
    );

    // The ten outputs of the reference (plus three of ours), ports as numbers.
    let (stdout, _) = bare(&["output", "--json"], 0);
    let outputs: Value = serde_json::from_str(&stdout).unwrap();
    for name in [
        "vpc_id",
        "kinesis_stream_name",
        "kinesis_stream_arn",
        "redis_endpoint",
        "redis_port",
        "rds_endpoint",
        "rds_port",
        "db_secret_arn",
        "elasticache_security_group_id",
        "rds_security_group_id",
        "redis_ttl_seconds",
        "alarm_topic_arn",
        "redis_auth_secret_arn",
    ] {
        assert!(!outputs[name].is_null(), "output {name} missing: {outputs}");
    }
    assert_eq!(outputs["redis_port"], 6379);
    assert_eq!(outputs["rds_port"], 5432);
    let s = |k: &str| outputs[k].as_str().unwrap().to_string();

    rt.block_on(check_live(&sdk, &outputs));

    // The Redis AUTH token and the password RDS generated, read back from Secrets
    // Manager: what must appear nowhere the engine writes or prints. (moto's RDS
    // writes the same fixed password into every secret of its own; the host's
    // generated one is faults.rs's.)
    let mut secrets = vec![
        rt.block_on(secret_password(&sdk, &s("redis_auth_secret_arn"))),
        rt.block_on(secret_password(&sdk, &s("db_secret_arn"))),
    ];

    // Nothing to do right after.
    let (stdout, _) = run(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    // A refreshed re-apply reads everything and changes nothing.
    let (stdout, _) = run(&["apply", "--yes", "--refresh", "--json"], 0);
    let sum = summary(&stdout);
    assert_eq!(sum["aws_mutating_calls"], 0, "{sum}");
    assert!(
        sum["aws_calls"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.contains("Describe")),
        "{sum}"
    );

    // An in-place update (an alarm threshold, the stream's retention) and a
    // replacement (the database's name forces a new instance), planned and saved.
    stack.set_config("alarm-rds-cpu-percent", "90");
    stack.set_config("kinesis-retention-hours", "48");
    stack.set_config("db-name", "ledger");
    let (stdout, _) = run(&["plan", "--detailed-exitcode", "--out", "change.plan"], 2);
    assert!(
        stdout.contains("monitoring/rds-cpu will be updated in place"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kinesis/transactions will be updated in place"),
        "{stdout}"
    );
    assert!(stdout.contains("rds/postgres must be replaced"), "{stdout}");
    let (json_plan, _) = run(&["plan", "--json"], 0);
    assert!(json_plan.contains("rds/postgres"), "{json_plan}");
    let (_, stderr) = run(&["apply", "--yes"], 0);
    assert!(stderr.contains("Apply complete"), "{stderr}");
    rt.block_on(async {
        let cw = aws_sdk_cloudwatch::Client::new(&sdk);
        let alarms = cw
            .describe_alarms()
            .alarm_names("japancart-rds-cpu-e2e")
            .send()
            .await
            .unwrap();
        assert_eq!(alarms.metric_alarms()[0].threshold(), Some(90.0));
        let kinesis = aws_sdk_kinesis::Client::new(&sdk);
        let d = kinesis
            .describe_stream_summary()
            .stream_name(s("kinesis_stream_name"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            d.stream_description_summary()
                .unwrap()
                .retention_period_hours(),
            48
        );
        let rds = aws_sdk_rds::Client::new(&sdk);
        let dbs = rds.describe_db_instances().send().await.unwrap();
        assert_eq!(dbs.db_instances().len(), 1, "the old instance is gone");
        assert_eq!(dbs.db_instances()[0].db_name(), Some("ledger"));
    });
    let (_, _) = run(&["plan", "--detailed-exitcode"], 0);
    // The new instance's password is in a new secret of RDS's, the output follows.
    let (stdout, _) = bare(&["output", "--json"], 0);
    let after: Value = serde_json::from_str(&stdout).unwrap();
    let db_secret = after["db_secret_arn"].as_str().unwrap().to_string();
    secrets.push(rt.block_on(secret_password(&sdk, &db_secret)));

    // Secret hygiene: neither the token nor a password is in the state, its backup,
    // the saved plan, the JSON plan or anything printed.
    let spellings: Vec<String> = secrets.iter().flat_map(|s| faults::spellings(s)).collect();
    let clean = |what: &str, text: &str| {
        let names = [
            "the Redis AUTH token",
            "the database password",
            "the new database password",
        ];
        for (secret, name) in secrets.iter().zip(names) {
            assert!(
                !faults::leaks(text, &faults::spellings(secret)),
                "{name} is in {what}"
            );
        }
    };
    let files = |when: &str| {
        for file in [
            ".engine/state.json",
            ".engine/state.json.backup",
            "change.plan",
        ] {
            let bytes = std::fs::read(stack.dir.path().join(file))
                .unwrap_or_else(|e| panic!("{when}: {file}: {e}"));
            clean(
                &format!("{file} ({when})"),
                &String::from_utf8_lossy(&bytes),
            );
        }
    };
    files("applied");
    clean("plan --json", &json_plan);
    assert!(!spellings.is_empty());

    // Destroy leaves nothing behind.
    let (_, stderr) = bare(&["destroy", "--yes"], 0);
    assert!(stderr.contains("53 deleted"), "{stderr}");
    rt.block_on(check_gone(&sdk, false));
    let (stdout, _) = bare(&["state", "list"], 0);
    assert!(stdout.is_empty(), "{stdout}");
    files("destroyed");
    let printed = printed.into_inner();
    clean("the engine's output", &printed);
    eprintln!(
        "secret hygiene: the Redis AUTH token and RDS's password (before and after the \
         replacement) in no state, backup, saved plan, JSON plan or {} bytes of output",
        printed.len()
    );
}

/// The `password` key of the secret `arn`'s JSON value.
async fn secret_password(sdk: &aws_config::SdkConfig, arn: &str) -> String {
    let value = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{arn}: {e:?}"));
    let value: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    let password = value["password"].as_str().expect("a password").to_string();
    assert!(!password.is_empty(), "{arn}: a password");
    password
}

/// The ARN of the KMS key `id` (an alias name, key id or ARN).
async fn key_arn(kms: &aws_sdk_kms::Client, id: &str) -> String {
    kms.describe_key()
        .key_id(id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("key {id}: {e:?}"))
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string()
}

/// A policy document as IAM returns it: URL-encoded JSON (moto may send it plain).
fn policy_document(raw: &str) -> Value {
    if let Ok(v) = serde_json::from_str(raw) {
        return v;
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("policy {raw}: {e}"))
}

/// Every property the reference README names, read from "AWS".
async fn check_live(sdk: &aws_config::SdkConfig, outputs: &Value) {
    let s = |k: &str| outputs[k].as_str().unwrap().to_string();
    let ec2 = aws_sdk_ec2::Client::new(sdk);

    // VPC with DNS, public and private subnets across two zones.
    let vpc_id = s("vpc_id");
    let vpc = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    let cidr = vpc.vpcs()[0].cidr_block().unwrap().to_string();
    assert_eq!(cidr, "10.0.0.0/16");
    for attr in [
        aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport,
        aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames,
    ] {
        let a = ec2
            .describe_vpc_attribute()
            .vpc_id(&vpc_id)
            .attribute(attr.clone())
            .send()
            .await
            .unwrap();
        let on = a
            .enable_dns_support()
            .or(a.enable_dns_hostnames())
            .and_then(|v| v.value());
        assert_eq!(on, Some(true), "{attr:?}");
    }
    let vpc_filter = aws_sdk_ec2::types::Filter::builder()
        .name("vpc-id")
        .values(&vpc_id)
        .build();
    let subnets = ec2
        .describe_subnets()
        .filters(vpc_filter.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(subnets.subnets().len(), 4);
    let zones: std::collections::BTreeSet<_> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.availability_zone())
        .collect();
    assert_eq!(zones.len(), 2, "{zones:?}");
    let igws = ec2
        .describe_internet_gateways()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("attachment.vpc-id")
                .values(&vpc_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(igws.internet_gateways().len(), 1);
    // Subnets with a route to the internet gateway are public; the rest are private.
    let tables = ec2
        .describe_route_tables()
        .filters(vpc_filter.clone())
        .send()
        .await
        .unwrap();
    let mut public = std::collections::BTreeSet::new();
    for t in tables.route_tables() {
        let to_igw = t
            .routes()
            .iter()
            .any(|r| r.gateway_id().is_some_and(|g| g.starts_with("igw-")));
        for a in t.associations() {
            if let Some(sub) = a.subnet_id()
                && to_igw
            {
                public.insert(sub.to_string());
            }
        }
        assert!(
            !t.routes().iter().any(|r| r.nat_gateway_id().is_some()),
            "no NAT gateway"
        );
    }
    assert_eq!(public.len(), 2, "two public subnets");
    let private: Vec<String> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id())
        .filter(|id| !public.contains(*id))
        .map(str::to_string)
        .collect();

    // Security groups: one port, only from the VPC.
    for (output, port) in [
        ("elasticache_security_group_id", 6379),
        ("rds_security_group_id", 5432),
    ] {
        let g = ec2
            .describe_security_groups()
            .group_ids(s(output))
            .send()
            .await
            .unwrap();
        let perms = g.security_groups()[0].ip_permissions();
        assert_eq!(perms.len(), 1, "{output}: {perms:?}");
        assert_eq!(
            (perms[0].from_port(), perms[0].to_port()),
            (Some(port), Some(port))
        );
        let sources: Vec<_> = perms[0]
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip())
            .collect();
        assert_eq!(sources, [cidr.as_str()], "{output}");
    }

    // Kinesis: 1 shard, 24 hours, KMS at rest, enhanced metrics.
    let kinesis = aws_sdk_kinesis::Client::new(sdk);
    let d = kinesis
        .describe_stream_summary()
        .stream_name(s("kinesis_stream_name"))
        .send()
        .await
        .unwrap();
    let d = d.stream_description_summary().unwrap();
    assert_eq!(d.open_shard_count(), 1);
    assert_eq!(d.retention_period_hours(), 24);
    assert_eq!(
        d.encryption_type(),
        Some(&aws_sdk_kinesis::types::EncryptionType::Kms)
    );
    assert!(d.key_id().is_some_and(|k| !k.is_empty()));
    let metrics: Vec<_> = d
        .enhanced_monitoring()
        .iter()
        .flat_map(|m| m.shard_level_metrics())
        .collect();
    assert!(metrics.len() >= 7, "{metrics:?}");
    assert_eq!(d.stream_arn(), s("kinesis_stream_arn"));

    // The stack's customer-managed keys, by their aliases.
    let kms = aws_sdk_kms::Client::new(sdk);
    let secrets_key = key_arn(&kms, "alias/japancart-db-secret-e2e").await;
    let redis_key = key_arn(&kms, "alias/japancart-redis-e2e").await;
    let rds_key = key_arn(&kms, "alias/japancart-postgres-e2e").await;
    let logs_key = key_arn(&kms, "alias/japancart-logs-e2e").await;

    // Secrets Manager: the credentials (RDS's own secret) and the Redis AUTH token,
    // both encrypted with secrets/key.
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    for output in ["db_secret_arn", "redis_auth_secret_arn"] {
        let secret = secrets
            .describe_secret()
            .secret_id(s(output))
            .send()
            .await
            .unwrap();
        let key = secret
            .kms_key_id()
            .expect("secret encrypted with its own key");
        assert_eq!(key_arn(&kms, key).await, secrets_key, "{output}");
    }
    let value = secrets
        .get_secret_value()
        .secret_id(s("db_secret_arn"))
        .send()
        .await
        .unwrap();
    // RDS's secret holds a user and a password. (moto writes fixed ones,
    // `admin`/`P@55w0rd!`, where RDS writes the master user and a generated
    // password; the master user is checked on the instance below.)
    let creds: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    assert!(
        creds["username"].is_string() && creds["password"].is_string(),
        "{}",
        creds
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>().join(","))
            .unwrap_or_default()
    );
    // The Redis AUTH token: 64 characters the host generated.
    let token = secrets
        .get_secret_value()
        .secret_id(s("redis_auth_secret_arn"))
        .send()
        .await
        .unwrap();
    let token: Value = serde_json::from_str(token.secret_string().unwrap()).unwrap();
    let token = token["password"]
        .as_str()
        .expect("the token under `password`");
    assert_eq!(token.chars().count(), 64, "a generated token");
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!&#$^<>-".contains(c)),
        "only characters ElastiCache takes"
    );

    // ElastiCache: Redis, 2 nodes, Multi-AZ with failover, encrypted both ways, t3.micro.
    let ec = aws_sdk_elasticache::Client::new(sdk);
    let groups = ec.describe_replication_groups().send().await.unwrap();
    let g = &groups.replication_groups()[0];
    assert_eq!(
        g.multi_az(),
        Some(&aws_sdk_elasticache::types::MultiAzStatus::Enabled)
    );
    assert_eq!(
        g.automatic_failover(),
        Some(&aws_sdk_elasticache::types::AutomaticFailoverStatus::Enabled)
    );
    assert_eq!(g.at_rest_encryption_enabled(), Some(true));
    assert_eq!(g.transit_encryption_enabled(), Some(true));
    // Hardened: the AUTH token is required, and the key at rest is the stack's
    // (its ARN), not the AWS managed key.
    assert_eq!(g.auth_token_enabled(), Some(true), "Redis requires AUTH");
    assert_eq!(g.kms_key_id(), Some(redis_key.as_str()), "elasticache/key");
    assert_eq!(g.cache_node_type(), Some("cache.t3.micro"));
    assert_eq!(g.member_clusters().len(), 2, "one primary, one replica");
    let endpoint = g.node_groups()[0].primary_endpoint().unwrap();
    assert_eq!(endpoint.address(), Some(s("redis_endpoint").as_str()));
    let sg = ec.describe_cache_subnet_groups().send().await.unwrap();
    let cache_subnets: Vec<_> = sg.cache_subnet_groups()[0]
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier())
        .map(str::to_string)
        .collect();
    assert_eq!(
        sorted(cache_subnets),
        sorted(private.clone()),
        "cache in the private subnets"
    );

    // RDS: PostgreSQL 15 (AWS picks the newest 15.x), Multi-AZ, 7-day backups,
    // monitoring, encrypted, private.
    let rds = aws_sdk_rds::Client::new(sdk);
    let dbs = rds.describe_db_instances().send().await.unwrap();
    let db = &dbs.db_instances()[0];
    assert_eq!(db.engine(), Some("postgres"));
    assert!(
        db.engine_version()
            .is_some_and(|v| v == "15" || v.starts_with("15.")),
        "{:?}",
        db.engine_version()
    );
    assert_eq!(db.db_instance_class(), Some("db.t3.micro"));
    assert_eq!(db.multi_az(), Some(true));
    assert_eq!(db.backup_retention_period(), Some(7));
    assert_eq!(db.monitoring_interval(), Some(60));
    assert!(
        db.monitoring_role_arn()
            .is_some_and(|a| a.contains(":role/"))
    );
    assert_eq!(db.storage_encrypted(), Some(true));
    assert_eq!(db.publicly_accessible(), Some(false));
    assert_eq!(
        db.endpoint().and_then(|e| e.address()),
        Some(s("rds_endpoint").as_str())
    );
    let db_subnets: Vec<_> = db
        .db_subnet_group()
        .map(|g| {
            g.subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        sorted(db_subnets),
        sorted(private),
        "database in the private subnets"
    );
    assert_eq!(db.master_username(), Some("japancart_admin"));
    // Hardened: IAM authentication, both logs exported, tags copied to snapshots,
    // storage under rds/key, the master password kept by RDS in the secret the
    // `db_secret_arn` output names, encrypted with secrets/key.
    assert_eq!(db.iam_database_authentication_enabled(), Some(true));
    assert_eq!(
        sorted(db.enabled_cloudwatch_logs_exports().to_vec()),
        ["postgresql", "upgrade"]
    );
    assert_eq!(db.copy_tags_to_snapshot(), Some(true));
    assert_eq!(db.kms_key_id(), Some(rds_key.as_str()), "rds/key");
    assert_eq!(
        db.deletion_protection(),
        Some(false),
        "off, as the test's config says"
    );
    let managed = db.master_user_secret().expect("RDS keeps the password");
    assert_eq!(managed.secret_arn(), Some(s("db_secret_arn").as_str()));
    let key = managed.kms_key_id().expect("the managed secret's key");
    assert_eq!(key_arn(&kms, key).await, secrets_key, "secrets/key");

    // VPC flow logs: all traffic of the VPC, into its log group, through its role.
    let flow_logs = ec2
        .describe_flow_logs()
        .filter(
            aws_sdk_ec2::types::Filter::builder()
                .name("resource-id")
                .values(&vpc_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(flow_logs.flow_logs().len(), 1, "{flow_logs:?}");
    let flow_log = &flow_logs.flow_logs()[0];
    assert_eq!(
        flow_log.traffic_type(),
        Some(&aws_sdk_ec2::types::TrafficType::All)
    );
    assert_eq!(
        flow_log.log_group_name(),
        Some("/aws/vpc/flow-logs/japancart-e2e")
    );
    let role_arn = flow_log
        .deliver_logs_permission_arn()
        .expect("the flow log's role");
    let role = role_arn.rsplit('/').next().unwrap();
    assert!(role.starts_with("japancart-flow-logs-"), "{role_arn}");

    // The log groups: a year's retention, encrypted with vpc/logs-key.
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let mut flow_group_arn = String::new();
    for name in [
        "/aws/vpc/flow-logs/japancart-e2e",
        "/aws/rds/instance/japancart-postgres-e2e/postgresql",
        "/aws/rds/instance/japancart-postgres-e2e/upgrade",
    ] {
        let found = logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .unwrap();
        let group = found
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .unwrap_or_else(|| panic!("log group {name}: {found:?}"));
        assert_eq!(group.retention_in_days(), Some(365), "{name}");
        let key = group
            .kms_key_id()
            .unwrap_or_else(|| panic!("{name}: a key"));
        assert_eq!(key_arn(&kms, key).await, logs_key, "{name}");
        if name.starts_with("/aws/vpc/") {
            flow_group_arn = group.arn().unwrap().trim_end_matches(":*").to_string();
        }
    }

    // The flow-logs role may write to that group only: no `*` resource.
    let iam = aws_sdk_iam::Client::new(sdk);
    let names = iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names().len(), 1, "{names:?}");
    let policy = iam
        .get_role_policy()
        .role_name(role)
        .policy_name(&names.policy_names()[0])
        .send()
        .await
        .unwrap();
    let policy = policy_document(policy.policy_document());
    let resources: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|st| match &st["Resource"] {
            Value::Array(a) => a.clone(),
            one => vec![one.clone()],
        })
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert!(!resources.is_empty(), "{policy}");
    assert!(
        resources.contains(&flow_group_arn),
        "names {flow_group_arn}: {policy}"
    );
    // Each resource is the group or its streams (`...:log-group:NAME:*`; the
    // plugin writes the streams' ARN with any account, as it cannot know the
    // account when it declares); none is `*` or another group.
    let group_or_streams = |r: &str| {
        let parts: Vec<&str> = r.splitn(6, ':').collect();
        let group = "log-group:/aws/vpc/flow-logs/japancart-e2e";
        parts.len() == 6
            && parts[..4] == ["arn", "aws", "logs", "us-east-1"]
            && (parts[4] == "123456789012" || parts[4] == "*")
            && (parts[5] == group || parts[5] == format!("{group}:*"))
    };
    assert!(
        resources.iter().all(|r| group_or_streams(r)),
        "only {flow_group_arn} and its streams: {policy}"
    );
    assert!(!resources.iter().any(|r| r == "*"), "{policy}");

    // The VPC's default security group: no rule either way.
    let default_sg = ec2
        .describe_security_groups()
        .filters(vpc_filter.clone())
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(default_sg.security_groups().len(), 1, "{default_sg:?}");
    let default_sg = &default_sg.security_groups()[0];
    assert!(default_sg.ip_permissions().is_empty(), "{default_sg:?}");
    assert!(
        default_sg.ip_permissions_egress().is_empty(),
        "{default_sg:?}"
    );

    // CloudWatch: the alarms of the reference, each notifying the SNS topic.
    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    let alarms = cw.describe_alarms().send().await.unwrap();
    let alarms = alarms.metric_alarms();
    let metric = |ns: &str, m: &str| {
        alarms
            .iter()
            .filter(|a| a.namespace() == Some(ns) && a.metric_name() == Some(m))
            .count()
    };
    assert_eq!(
        metric("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
        1
    );
    assert_eq!(
        metric("AWS/Kinesis", "WriteProvisionedThroughputExceeded"),
        1
    );
    assert_eq!(metric("AWS/ElastiCache", "EngineCPUUtilization"), 2);
    assert_eq!(
        metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
        2
    );
    assert_eq!(metric("AWS/RDS", "CPUUtilization"), 1);
    assert_eq!(metric("AWS/RDS", "FreeStorageSpace"), 1);
    assert_eq!(metric("AWS/RDS", "DatabaseConnections"), 1);
    let sns = aws_sdk_sns::Client::new(sdk);
    let topics = sns.list_topics().send().await.unwrap();
    let topic = topics.topics()[0].topic_arn().unwrap().to_string();
    let attrs = sns
        .get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let topic_key = attrs
        .attributes()
        .and_then(|a| a.get("KmsMasterKeyId"))
        .cloned()
        .unwrap_or_default();
    assert!(!topic_key.is_empty(), "topic encrypted");
    // CloudWatch may use the topic's key, or alarm notifications would be dropped.
    let kms = aws_sdk_kms::Client::new(sdk);
    let policy = kms
        .get_key_policy()
        .key_id(&topic_key)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let services: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|st| st["Principal"]["Service"].as_array())
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    assert_eq!(services, ["cloudwatch.amazonaws.com"], "{policy}");
    for a in alarms {
        assert_eq!(
            a.alarm_actions(),
            std::slice::from_ref(&topic),
            "{:?} notifies the topic",
            a.alarm_name()
        );
    }
}

/// Nothing the stack created is left (keys can only be scheduled for deletion).
/// Nothing of JapanCart is left in the SDK config's region (its IAM role in any),
/// but for final DB snapshots when `final_snapshots` (the default config keeps one
/// per destroyed instance, named `<id>-final-<time>`).
pub(crate) async fn check_gone(sdk: &aws_config::SdkConfig, final_snapshots: bool) {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let ours = aws_sdk_ec2::types::Filter::builder()
        .name("tag:engine:stack")
        .values("japancart")
        .build();
    assert!(
        ec2.describe_vpcs()
            .filters(ours.clone())
            .send()
            .await
            .unwrap()
            .vpcs()
            .is_empty()
    );
    assert!(
        ec2.describe_subnets()
            .filters(ours.clone())
            .send()
            .await
            .unwrap()
            .subnets()
            .is_empty()
    );
    assert!(
        ec2.describe_security_groups()
            .filters(ours.clone())
            .send()
            .await
            .unwrap()
            .security_groups()
            .is_empty()
    );
    // AWS (and moto) keep a deleted endpoint visible for a while in state `deleted`.
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(ours.clone())
        .send()
        .await
        .unwrap();
    for e in endpoints.vpc_endpoints() {
        let state = e.state().map(|s| s.as_str().to_lowercase());
        assert_eq!(state.as_deref(), Some("deleted"), "{e:?}");
    }
    let kinesis = aws_sdk_kinesis::Client::new(sdk);
    assert!(
        kinesis
            .list_streams()
            .send()
            .await
            .unwrap()
            .stream_names()
            .is_empty()
    );
    let rds = aws_sdk_rds::Client::new(sdk);
    assert!(
        rds.describe_db_instances()
            .send()
            .await
            .unwrap()
            .db_instances()
            .is_empty()
    );
    assert!(
        rds.describe_db_subnet_groups()
            .send()
            .await
            .unwrap()
            .db_subnet_groups()
            .is_empty()
    );
    let snapshots = rds.describe_db_snapshots().send().await.unwrap();
    for snap in snapshots.db_snapshots() {
        let id = snap.db_snapshot_identifier().unwrap_or_default();
        assert!(
            final_snapshots && id.contains("-final-"),
            "snapshot {id} left"
        );
    }
    let ec = aws_sdk_elasticache::Client::new(sdk);
    assert!(
        ec.describe_replication_groups()
            .send()
            .await
            .unwrap()
            .replication_groups()
            .is_empty()
    );
    let groups = ec.describe_cache_subnet_groups().send().await.unwrap();
    assert!(
        groups
            .cache_subnet_groups()
            .iter()
            .all(|g| g.cache_subnet_group_name() == Some("default"))
    );
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    assert!(
        secrets
            .list_secrets()
            .send()
            .await
            .unwrap()
            .secret_list()
            .is_empty()
    );
    let flow_logs = ec2
        .describe_flow_logs()
        .filter(ours.clone())
        .send()
        .await
        .unwrap();
    assert!(flow_logs.flow_logs().is_empty(), "{flow_logs:?}");
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let groups = logs.describe_log_groups().send().await.unwrap();
    assert!(
        !groups
            .log_groups()
            .iter()
            .any(|g| g.log_group_name().is_some_and(|n| n.contains("japancart"))),
        "{groups:?}"
    );
    let sns = aws_sdk_sns::Client::new(sdk);
    assert!(sns.list_topics().send().await.unwrap().topics().is_empty());
    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    assert!(
        cw.describe_alarms()
            .send()
            .await
            .unwrap()
            .metric_alarms()
            .is_empty()
    );
    let iam = aws_sdk_iam::Client::new(sdk);
    let roles = iam.list_roles().send().await.unwrap();
    assert!(
        !roles
            .roles()
            .iter()
            .any(|r| r.role_name().contains("japancart")),
        "{:?}",
        roles.roles()
    );
    let kms = aws_sdk_kms::Client::new(sdk);
    for k in kms.list_keys().send().await.unwrap().keys() {
        let d = kms
            .describe_key()
            .key_id(k.key_id().unwrap())
            .send()
            .await
            .unwrap();
        let meta = d.key_metadata().unwrap();
        if meta.key_manager() == Some(&aws_sdk_kms::types::KeyManagerType::Customer) {
            assert_eq!(
                meta.key_state(),
                Some(&aws_sdk_kms::types::KeyState::PendingDeletion)
            );
        }
    }
    let aliases = kms.list_aliases().send().await.unwrap();
    assert!(
        !aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name().is_some_and(|n| n.contains("japancart")))
    );
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Without credentials, nothing starts: one identity call fails, and the user sees
/// one short error with a hint (no SDK dump). An account the stack does not allow
/// is refused the same way.
#[test]
fn credentials_and_account_are_checked_before_any_change() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("engine.toml"), STACK_FILE).unwrap();
    let plugins = plugins();
    let endpoint = moto.endpoint().to_string();
    let no_credentials = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["apply", "--yes"])
        .args(&plugins)
        .current_dir(dir.path())
        .env("ENGINE_CACHE_DIR", dir.path().join(".cache"))
        .env("NO_COLOR", "1")
        // Anything sent goes to the local emulator; nothing looks for credentials
        // outside this process (no instance metadata, no profile files).
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    let stderr = text(&no_credentials.stderr);
    assert_eq!(no_credentials.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot apply: no AWS credentials were found")
            && stderr.contains("./dev up"),
        "{stderr}"
    );
    assert!(
        stderr.lines().filter(|l| !l.trim().is_empty()).count() <= 6,
        "one short error, not a dump:\n{stderr}"
    );
    assert!(!stderr.contains("creating..."), "{stderr}");

    // A stack pinned to another account refuses, before any change.
    let stack = Stack {
        dir,
        plugins,
        moto,
        proxy: None,
    };
    std::fs::write(
        stack.dir.path().join("engine.toml"),
        STACK_FILE.replace(
            "environment = \"e2e\"",
            "environment = \"e2e\"\nallowed-account-ids = [\"111111111111\"]",
        ),
    )
    .unwrap();
    let (_, stderr) = stack.run(&["apply", "--yes"], 1);
    assert!(
        stderr.contains(
            "refusing to apply in AWS account 123456789012: this stack allows only 111111111111"
        ),
        "{stderr}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    let vpcs = rt
        .block_on(aws_sdk_ec2::Client::new(&sdk).describe_vpcs().send())
        .unwrap();
    assert!(
        vpcs.vpcs().iter().all(|v| v.is_default() == Some(true)),
        "nothing was created: {:?}",
        vpcs.vpcs()
    );

    // The account the stack allows: the plan header names it.
    std::fs::write(
        stack.dir.path().join("engine.toml"),
        STACK_FILE.replace(
            "environment = \"e2e\"",
            "environment = \"e2e\"\nallowed-account-ids = [\"123456789012\"]",
        ),
    )
    .unwrap();
    let (stdout, _) = stack.run(&["apply", "--yes"], 0);
    assert!(
        stdout.contains("AWS account 123456789012 as arn:aws:"),
        "{stdout}"
    );
}
