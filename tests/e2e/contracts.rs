//! Three contracts in one stack: plugins built against the frozen 0.1.0 and 0.2.0
//! contracts beside one of the current contract that uses `s3-bucket` (a kind
//! 0.1.0 does not know). The real binary validates, applies, re-plans,
//! policy-checks with a 0.1.0 policy, and destroys them against moto; the bucket is
//! checked through the SDK.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Stack, text};

pub(super) fn guests() -> PathBuf {
    engine_build::build_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/guests"))
}

#[test]
fn plugins_of_three_contracts_live_in_one_stack() {
    let moto = engine_aws::moto::MotoServer::start().expect("moto starts (run `./dev setup`)");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        "[stack]\nname = \"contracts\"\nregion = \"us-east-1\"\nenvironment = \"e2e\"\n",
    )
    .unwrap();
    let g = guests();
    let wasm = |n: &str| g.join(format!("{n}.wasm")).display().to_string();
    let stack = Stack {
        dir,
        plugins: vec![wasm("contract-0-1"), wasm("contract-0-2"), wasm("storage")],
        moto,
        proxy: None,
    };

    // validate names each plugin's contract. A key that only a plugin of an
    // older contract can read (it lists none) is passed on, with a warning.
    let (_, stderr) = stack.run(&["validate", "-c", "older-topic-name=older-e2e"], 0);
    assert!(
        stderr.contains("legacy: component plugin, engine:plugin@0.1.0 (an older contract")
            && stderr.contains("older: component plugin, engine:plugin@0.2.0 (an older contract")
            && stderr.contains("storage: component plugin, engine:plugin@0.4.0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("config key `older-topic-name` is listed by no plugin; passed on to legacy, older unchecked"),
        "{stderr}"
    );

    // A 0.1.0 policy checks the 0.2.0 plan: it sees the kinds it knows, and is
    // told nothing of the bucket.
    let policy = wasm("contract-0-1-policy");
    let (stdout, _) = stack.run(&["check", "--json", "--policy", &policy], 0);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let mut seen: Vec<String> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["policy"] == "seen")
        .map(|v| v["address"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "legacy/alerts",
            "legacy/subnet",
            "legacy/vpc",
            "older/topic",
            "storage/key"
        ],
        "{report}"
    );

    // Apply both, then nothing left to do.
    let (_, stderr) = stack.run(&["apply", "--yes"], 0);
    assert!(stderr.contains("6 created"), "{stderr}");
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    let out = stack.engine(&["output", "--json"]);
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outputs["bucket"], "engine-exports-e2e");
    assert!(
        outputs["older_topic_arn"]
            .as_str()
            .unwrap()
            .ends_with(":older-alerts-e2e")
    );
    assert!(
        outputs["legacy_vpc_id"]
            .as_str()
            .unwrap()
            .starts_with("vpc-")
    );

    // The bucket, as S3 reports it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(stack.moto.sdk_config());
    let s3 = aws_sdk_s3::Client::new(&sdk);
    rt.block_on(async {
        let bucket = "engine-exports-e2e";
        let versioning = s3
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(
            versioning.status(),
            Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        );
        let enc = s3
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
        let by_default = rule.apply_server_side_encryption_by_default().unwrap();
        assert_eq!(
            by_default.sse_algorithm(),
            &aws_sdk_s3::types::ServerSideEncryption::AwsKms
        );
        assert!(by_default.kms_master_key_id().unwrap().contains(":key/"));
        let block = s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        let block = block.public_access_block_configuration().unwrap();
        assert_eq!(block.block_public_acls(), Some(true));
        assert_eq!(block.restrict_public_buckets(), Some(true));
        let life = s3
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(life.rules()[0].expiration().unwrap().days(), Some(30));
        let tags = s3.get_bucket_tagging().bucket(bucket).send().await.unwrap();
        let keys: Vec<&str> = tags.tag_set().iter().map(|t| t.key()).collect();
        for k in ["team", "engine:stack", "engine:stack-id", "engine:address"] {
            assert!(keys.contains(&k), "{keys:?}");
        }
    });

    // Destroy leaves no bucket.
    let out = stack.engine(&["destroy", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let buckets = rt.block_on(s3.list_buckets().send()).unwrap();
    assert!(buckets.buckets().is_empty(), "{buckets:?}");
}
