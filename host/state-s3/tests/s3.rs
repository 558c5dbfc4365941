//! The S3 backend against the emulator's S3 (moto, started here): the conformance
//! suite on a bucket with versioning and on one without, and what only S3 does:
//! history in versions or in `history/`, a lock left by a killed process, a state
//! changed behind the engine's back, encryption, and errors naming the bucket.
//!
//! moto (5.2.5) evaluates `If-None-Match` and `If-Match` on PutObject and
//! `If-Match` on DeleteObject as AWS documents them; `tests/moto/launcher.py`
//! (patch 13) makes the check and the write one atomic step, as on AWS, where of
//! two conditional writes to one key only the first to finish succeeds:
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption, VersioningConfiguration};
use engine_aws::moto::{MotoServer, Profile};
use engine_core::samples;
use engine_core::state::State;
use engine_state::{LockInfo, StateBackend, StateError, conformance};
use engine_state_s3::S3Backend;

fn moto() -> &'static MotoServer {
    MotoServer::shared().expect("moto starts (run `./dev setup`)")
}

/// One server under the realistic profile, shared by the tests that need it: an
/// S3 object write takes 50 ms there, and a conditional write that overlaps
/// another write of its key answers 409 ConditionalRequestConflict (launcher.py
/// R11), as AWS documents for concurrent requests.
fn realistic() -> &'static MotoServer {
    static SERVER: std::sync::OnceLock<MotoServer> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        MotoServer::start_with(&Profile::realistic(1.0))
            .expect("the realistic emulator starts (run `./dev setup`)")
    })
}

/// An SDK client of the emulator, and a runtime to call it on.
struct Sdk {
    rt: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
}

fn sdk() -> Sdk {
    sdk_of(moto())
}

fn sdk_of(server: &MotoServer) -> Sdk {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = rt.block_on(server.sdk_config());
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let kms = aws_sdk_kms::Client::new(&config);
    Sdk { rt, s3, kms }
}

/// A new bucket of its own for each test (tests run in parallel on one server).
fn bucket(sdk: &Sdk, versioned: bool) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "state-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    sdk.rt.block_on(async {
        sdk.s3.create_bucket().bucket(&name).send().await.unwrap();
        if versioned {
            sdk.s3
                .put_bucket_versioning()
                .bucket(&name)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    });
    name
}

fn open(location: &str) -> S3Backend {
    open_on(moto(), location)
}

fn open_on(server: &MotoServer, location: &str) -> S3Backend {
    engine_state_s3::open(location, &server.sdk_options()).unwrap()
}

fn sample() -> State {
    let mut s = samples::applied_state();
    s.serial = 0;
    s.lineage.clear();
    s
}

fn get(sdk: &Sdk, bucket: &str, key: &str) -> Option<String> {
    sdk.rt.block_on(async {
        let out = sdk
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = out.body.collect().await.ok()?.into_bytes();
        Some(String::from_utf8(bytes.to_vec()).unwrap())
    })
}

fn put(sdk: &Sdk, bucket: &str, key: &str, body: &str) {
    sdk.rt.block_on(async {
        sdk.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn passes_the_conformance_suite_on_a_versioned_bucket() {
    let sdk = sdk();
    let bucket = bucket(&sdk, true);
    conformance::run(&|ns: &str| -> Box<dyn StateBackend> {
        Box::new(open(&format!("s3://{bucket}/team/{ns}")))
    });
}

/// The same where S3 answers 409 to conditional writes that overlap another write.
#[test]
fn passes_the_conformance_suite_where_writes_conflict() {
    let sdk = sdk_of(realistic());
    let bucket = bucket(&sdk, true);
    conformance::run(&|ns: &str| -> Box<dyn StateBackend> {
        Box::new(open_on(realistic(), &format!("s3://{bucket}/{ns}")))
    });
}

#[test]
fn passes_the_conformance_suite_on_a_bucket_without_versioning() {
    let sdk = sdk();
    let bucket = bucket(&sdk, false);
    conformance::run(&|ns: &str| -> Box<dyn StateBackend> {
        Box::new(open(&format!("s3://{bucket}/{ns}")))
    });
}

/// Every write keeps the state it replaces: as an object version when the bucket
/// has versioning, else under `history/`; each with its serial, command and writer.
#[test]
fn every_state_written_is_kept_with_its_command() {
    let sdk = sdk();
    for versioned in [true, false] {
        let bucket = bucket(&sdk, versioned);
        let b = open(&format!("s3://{bucket}/p/dev"));
        let lock = b.lock(LockInfo::current("engine apply")).unwrap();
        let mut s = sample();
        let mut written = Vec::new();
        for i in 0..5 {
            s.outputs.insert("i".into(), serde_json::json!(i));
            b.write(&lock, &mut s).unwrap();
            written.push(s.clone());
        }
        drop(lock);
        let history = b.history().unwrap();
        let serials: Vec<u64> = history.iter().map(|v| v.serial).collect();
        assert_eq!(
            serials,
            [5, 4, 3, 2, 1],
            "versioned {versioned}: {history:?}"
        );
        assert!(history[0].current && history[1..].iter().all(|v| !v.current));
        for v in &history {
            assert_eq!(v.command.as_deref(), Some("engine apply"), "{v:?}");
            assert!(v.who.as_deref().is_some_and(|w| w.contains('@')), "{v:?}");
            assert!(
                v.written.as_deref().is_some_and(|w| w.ends_with('Z')),
                "{v:?}"
            );
            let expected = &written[usize::try_from(v.serial).unwrap() - 1];
            assert_eq!(&b.read_version(v).unwrap(), expected, "{v:?}");
        }
        let copies = sdk.rt.block_on(async {
            sdk.s3
                .list_objects_v2()
                .bucket(&bucket)
                .prefix("p/dev/history/")
                .send()
                .await
                .unwrap()
                .contents()
                .len()
        });
        assert_eq!(
            copies,
            if versioned { 0 } else { 4 },
            "versioned {versioned}: copies in history/ only without versioning"
        );
    }
}

/// Acceptance 4: the state object changed between the engine's read and its write
/// (here with the same serial, as a hand edit would) is detected by its ETag: the
/// write is refused, clearly, and what is stored is left as it is.
#[test]
fn a_state_changed_behind_the_engines_back_is_never_overwritten() {
    let sdk = sdk();
    let bucket = bucket(&sdk, true);
    let b = open(&format!("s3://{bucket}/team/dev"));
    let lock = b.lock(LockInfo::current("engine apply")).unwrap();
    let mut s = sample();
    b.write(&lock, &mut s).unwrap();
    // A second engine process reads the state, as apply does after taking the lock.
    let engine = open(&format!("s3://{bucket}/team/dev"));
    let mut read = engine.read().unwrap().unwrap();
    assert_eq!(read, s);

    // Behind its back: the same serial, one more output.
    let mut edited = s.clone();
    edited
        .outputs
        .insert("hand-edited".into(), serde_json::json!(true));
    put(&sdk, &bucket, "team/dev/state.json", &edited.to_json());

    read.outputs.insert("engine".into(), serde_json::json!(1));
    for attempt in 0..2 {
        let e = engine.write(&lock, &mut read).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, StateError::Conflict { .. }), "{e:?}");
        assert!(
            msg.contains(&format!("s3://{bucket}/team/dev"))
                && msg.contains("changed since it was read")
                && msg.contains("rewritten by someone else (its S3 ETag changed)")
                && msg.contains("refusing to overwrite it"),
            "attempt {attempt}: {msg}"
        );
        assert!(e.hint().unwrap().contains("run the command again"));
        assert_eq!(read.serial, 1, "a refused write keeps the caller's serial");
        assert_eq!(
            get(&sdk, &bucket, "team/dev/state.json").unwrap(),
            edited.to_json(),
            "attempt {attempt}: nothing was overwritten"
        );
    }

    // Deleted behind its back: refused too, nothing recreated.
    let fresh = open(&format!("s3://{bucket}/team/dev"));
    let mut read = fresh.read().unwrap().unwrap();
    sdk.rt.block_on(async {
        sdk.s3
            .delete_object()
            .bucket(&bucket)
            .key("team/dev/state.json")
            .send()
            .await
            .unwrap();
    });
    let e = fresh.write(&lock, &mut read).unwrap_err();
    assert!(matches!(e, StateError::Conflict { .. }), "{e:?}");
    assert_eq!(get(&sdk, &bucket, "team/dev/state.json"), None);
}

/// Acceptance 3, at the backend: a lock left by a process that died holding it is
/// reported with every detail, and cleared only by its id.
#[test]
fn a_lock_left_by_a_killed_process_is_reported_and_cleared_by_its_id() {
    let sdk = sdk();
    let bucket = bucket(&sdk, true);
    let location = format!("s3://{bucket}/team/prod");
    let dead = open(&location);
    let lock = dead.lock(LockInfo::current("engine apply")).unwrap();
    let info = lock.info().clone();
    let mut s = sample();
    dead.write(&lock, &mut s).unwrap();
    std::mem::forget(lock); // killed: nothing releases it

    let b = open(&location);
    let e = b.try_lock(LockInfo::current("engine destroy")).unwrap_err();
    let StateError::Locked {
        holder: Some(holder),
        persistent: true,
        ..
    } = &e
    else {
        panic!("expected a persistent lock naming its holder: {e:?}")
    };
    assert_eq!(**holder, info);
    let msg = e.to_string();
    for part in [
        info.user.clone(),
        info.host.clone(),
        info.pid.to_string(),
        "engine apply".to_string(),
        info.since.clone(),
        info.id.clone(),
    ] {
        assert!(msg.contains(&part), "`{part}` missing from: {msg}");
    }
    assert!(
        e.hint()
            .unwrap()
            .contains(&format!("engine state unlock {}", info.id)),
        "{:?}",
        e.hint()
    );
    // The lock object says it too, as JSON.
    let body = get(&sdk, &bucket, "team/prod/state.lock").unwrap();
    assert_eq!(serde_json::from_str::<LockInfo>(&body).unwrap(), info);

    // Only its id clears it.
    assert!(matches!(
        b.unlock("not-the-id"),
        Err(StateError::LockMismatch { .. })
    ));
    assert_eq!(b.unlock(&info.id).unwrap(), info);
    assert!(matches!(
        b.unlock(&info.id),
        Err(StateError::NotLocked { .. })
    ));
    let lock = b.try_lock(LockInfo::current("engine destroy")).unwrap();
    b.write(&lock, &mut s).unwrap();
    assert_eq!(s.serial, 2);
}

/// A process whose lock was cleared (and taken by another) writes nothing.
#[test]
fn a_writer_whose_lock_was_cleared_writes_nothing() {
    let sdk = sdk();
    let bucket = bucket(&sdk, false);
    let location = format!("s3://{bucket}/x");
    let slow = open(&location);
    let lock = slow.lock(LockInfo::current("engine apply")).unwrap();
    let mut s = sample();
    slow.write(&lock, &mut s).unwrap();

    let other = open(&location);
    other.unlock(&lock.info().id).unwrap();
    let theirs = other.lock(LockInfo::current("engine destroy")).unwrap();
    let e = slow.write(&lock, &mut s).unwrap_err();
    assert!(matches!(e, StateError::LockLost { .. }), "{e:?}");
    assert!(e.to_string().contains("engine destroy"), "{e}");
    // Releasing it does not remove the other one's lock.
    assert!(lock.release().is_err());
    assert!(
        get(&sdk, &bucket, "x/state.lock")
            .unwrap()
            .contains(&theirs.info().id)
    );
}

/// Of many processes taking the lock at once, exactly one gets it, and the others
/// are told who: also where S3 answers some of them 409 ConditionalRequestConflict
/// while the winner's write is under way.
#[test]
fn of_many_lockers_at_once_exactly_one_wins() {
    for server in [moto(), realistic()] {
        racing_lockers(server);
    }
    let stats: serde_json::Value =
        serde_json::from_str(&realistic().get("/engine-realistic/stats").unwrap()).unwrap();
    assert!(
        stats["s3_conflicts"].as_u64().unwrap() > 0,
        "the realistic S3 answered 409s, which the lockers rode out: {stats}"
    );
}

fn racing_lockers(server: &MotoServer) {
    let sdk = sdk_of(server);
    let bucket = bucket(&sdk, false);
    let location = format!("s3://{bucket}/race");
    for round in 0..5 {
        let backends: Vec<S3Backend> = (0..8).map(|_| open_on(server, &location)).collect();
        let barrier = std::sync::Barrier::new(backends.len());
        let won: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = backends
                .iter()
                .map(|b| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        b.try_lock(LockInfo::current("engine apply"))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners = won.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {won:?}");
        for r in &won {
            if let Err(e) = r {
                assert!(
                    matches!(
                        e,
                        StateError::Locked {
                            holder: Some(_),
                            ..
                        }
                    ),
                    "{e:?}"
                );
            }
        }
    }
}

/// Every object is encrypted at rest: SSE-S3 by default, SSE-KMS with the
/// location's key.
#[test]
fn objects_are_encrypted_with_s3_keys_or_the_configured_kms_key() {
    let sdk = sdk();
    let bucket = bucket(&sdk, false);
    let key_arn = sdk.rt.block_on(async {
        sdk.kms
            .create_key()
            .description("engine state")
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .arn()
            .unwrap()
            .to_string()
    });
    for (prefix, kms) in [("plain", None), ("kms", Some(key_arn.as_str()))] {
        let location = match kms {
            Some(k) => format!("s3://{bucket}/{prefix}?kms-key={k}"),
            None => format!("s3://{bucket}/{prefix}"),
        };
        let b = open(&location);
        assert_eq!(b.location(), format!("s3://{bucket}/{prefix}"));
        let lock = b.lock(LockInfo::current("engine apply")).unwrap();
        let mut s = sample();
        b.write(&lock, &mut s).unwrap();
        b.write(&lock, &mut s).unwrap();
        let history_key = format!("{prefix}/history/{:020}-{}.json", 1, s.lineage);
        for key in [
            format!("{prefix}/state.json"),
            format!("{prefix}/state.lock"),
            history_key,
        ] {
            let head = sdk
                .rt
                .block_on(sdk.s3.head_object().bucket(&bucket).key(&key).send())
                .unwrap_or_else(|e| panic!("{key}: {e:?}"));
            match kms {
                Some(k) => {
                    assert_eq!(
                        head.server_side_encryption(),
                        Some(&ServerSideEncryption::AwsKms),
                        "{key}"
                    );
                    assert_eq!(head.ssekms_key_id(), Some(k), "{key}");
                }
                None => assert_eq!(
                    head.server_side_encryption(),
                    Some(&ServerSideEncryption::Aes256),
                    "{key}"
                ),
            }
        }
    }
}

/// Errors name the bucket and key, with the fix.
#[test]
fn a_missing_bucket_is_named_with_how_to_create_it() {
    let b = open("s3://no-such-bucket-here/team/dev");
    let e = b.read().unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("s3://no-such-bucket-here/team/dev/state.json")
            && msg.contains("NoSuchBucket"),
        "{msg}"
    );
    assert!(
        e.hint()
            .unwrap()
            .contains("create-bucket --bucket no-such-bucket-here"),
        "{:?}",
        e.hint()
    );
    assert!(b.try_lock(LockInfo::current("engine apply")).is_err());
}

/// A state written by hand (no engine metadata) still lists with its serial.
#[test]
fn history_reads_states_written_by_other_tools() {
    let sdk = sdk();
    let bucket = bucket(&sdk, true);
    let mut s = sample();
    s.serial = 7;
    s.lineage = "3f0c2a1e-0000-4000-8000-000000000000".into();
    put(&sdk, &bucket, "hand/state.json", &s.to_json());
    let b = open(&format!("s3://{bucket}/hand"));
    let history = b.history().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].serial, history[0].command.as_deref()),
        (7, None)
    );
    assert_eq!(b.read_version(&history[0]).unwrap(), s);
}
