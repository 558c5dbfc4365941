//! The local backend: the conformance suite, and what only a file can do wrong
//! (a corrupt or future state file, leftovers of a crash, the files on disk).

#![allow(clippy::unwrap_used)]

use std::fs;

use engine_core::samples;
use engine_core::state::State;
use engine_state::local::{BACKUP_FILE, LOCK_FILE, STATE_FILE};
use engine_state::{LocalBackend, LockInfo, StateBackend, StateError, conformance};

fn backend() -> (tempfile::TempDir, LocalBackend) {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path().join(".engine"));
    (dir, b)
}

fn sample() -> State {
    let mut s = samples::applied_state();
    s.serial = 0;
    s.lineage.clear();
    s
}

#[test]
fn passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(&|ns: &str| -> Box<dyn StateBackend> {
        Box::new(LocalBackend::new(dir.path().join(ns)))
    });
}

#[test]
fn files_on_disk() {
    let (_dir, b) = backend();
    assert!(b.read().unwrap().is_none(), "no directory yet: no state");
    let lock = b.lock(LockInfo::current("engine apply")).unwrap();
    // The lock file says who holds it.
    let info: LockInfo =
        serde_json::from_str(&fs::read_to_string(b.dir().join(LOCK_FILE)).unwrap()).unwrap();
    assert_eq!(&info, lock.info());

    let mut s = sample();
    b.write(&lock, &mut s).unwrap();
    let text = fs::read_to_string(b.dir().join(STATE_FILE)).unwrap();
    assert_eq!(text, s.to_json(), "the file is the normalised JSON");
    assert!(
        !b.dir().join(BACKUP_FILE).exists(),
        "nothing to back up yet"
    );

    // The second write keeps the first as the backup.
    s.outputs.insert("extra".into(), serde_json::json!("x"));
    b.write(&lock, &mut s).unwrap();
    assert_eq!(fs::read_to_string(b.dir().join(BACKUP_FILE)).unwrap(), text);
    let backup = State::from_json(&text).unwrap();
    assert_eq!(backup.serial, 1);
    assert_eq!(s.serial, 2);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(b.dir().join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Released: the lock file stays, emptied.
    lock.release().unwrap();
    assert!(b.dir().join(LOCK_FILE).exists());
    assert_eq!(fs::read_to_string(b.dir().join(LOCK_FILE)).unwrap(), "");
}

#[test]
fn a_corrupt_state_is_reported_and_never_overwritten() {
    let (_dir, b) = backend();
    let lock = b.lock(LockInfo::current("engine apply")).unwrap();
    let mut s = sample();
    b.write(&lock, &mut s).unwrap();
    let path = b.dir().join(STATE_FILE);
    let corrupt = b"{\"version\": 1, \"serial\": 1, \"lineage\": \"x\", \"resources\": {";
    for bad in [&corrupt[..], b"\xff\xfe not utf-8", b""] {
        fs::write(&path, bad).unwrap();
        let e = b.read().unwrap_err();
        assert!(matches!(e, StateError::Corrupt { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        let hint = e.hint().unwrap();
        assert!(hint.contains(BACKUP_FILE), "{hint}");
        // A write refuses too, and leaves the file as it was.
        let mut again = s.clone();
        let e = b.write(&lock, &mut again).unwrap_err();
        assert!(matches!(e, StateError::Corrupt { .. }), "{e:?}");
        assert_eq!(fs::read(&path).unwrap(), bad);
    }
    let d = b.read().unwrap_err().diagnostic();
    assert!(d.to_string().contains("hint: fix the file"), "{d}");
}

#[test]
fn a_state_from_a_newer_engine_is_refused_and_kept() {
    let (_dir, b) = backend();
    let lock = b.lock(LockInfo::current("engine apply")).unwrap();
    let mut s = sample();
    b.write(&lock, &mut s).unwrap();
    let path = b.dir().join(STATE_FILE);
    let mut v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    v["version"] = serde_json::json!(2);
    v["something-new"] = serde_json::json!({});
    let future = v.to_string();
    fs::write(&path, &future).unwrap();
    let e = b.read().unwrap_err();
    assert!(
        matches!(
            e,
            StateError::NewerVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("written by a newer engine"), "{e}");
    assert!(b.write(&lock, &mut s).is_err());
    assert_eq!(fs::read_to_string(&path).unwrap(), future);
}

#[test]
fn leftovers_of_a_crash_are_ignored_and_cleaned() {
    // A crash after writing the temporary file and before renaming it: the file
    // is there, half written.
    let (_dir, b) = backend();
    let lock = b.lock(LockInfo::current("engine apply")).unwrap();
    let mut s = sample();
    b.write(&lock, &mut s).unwrap();
    let before = fs::read(b.dir().join(STATE_FILE)).unwrap();
    let tmp = b.dir().join(format!("{STATE_FILE}.tmp-99999"));
    fs::write(&tmp, &before[..before.len() / 2]).unwrap();
    assert_eq!(b.read().unwrap().unwrap(), s);
    s.outputs.insert("after".into(), serde_json::json!(true));
    b.write(&lock, &mut s).unwrap();
    assert!(!tmp.exists());
    assert_eq!(b.read().unwrap().unwrap(), s);
}

#[test]
fn a_lock_survives_nothing_but_its_holder() {
    // The lock is the OS's: a second handle is refused while it is held, whatever
    // the file says, and a stale file (its holder died) does not block.
    let (_dir, b) = backend();
    fs::create_dir_all(b.dir()).unwrap();
    let stale = LockInfo {
        id: "6d1c3a9e-0000-4000-8000-000000000000".into(),
        user: "ghost".into(),
        host: "nowhere".into(),
        pid: 1,
        command: "engine apply".into(),
        since: "2020-01-01T00:00:00Z".into(),
    };
    fs::write(
        b.dir().join(LOCK_FILE),
        serde_json::to_string(&stale).unwrap(),
    )
    .unwrap();
    let lock = b
        .lock(LockInfo::current("engine apply"))
        .expect("stale lock file");
    let other = LocalBackend::new(b.dir());
    let e = other.lock(LockInfo::current("engine plan")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&lock.info().who()) && !msg.contains("ghost"),
        "{msg}"
    );
    assert!(msg.starts_with(&format!(
        "the state at file://{} is locked by ",
        b.dir().display()
    )));
    drop(lock);
    other.lock(LockInfo::current("engine plan")).unwrap();
}

#[test]
fn a_local_lock_is_never_stale_so_unlock_refuses_its_holder() {
    // The OS releases a local lock when its process exits, so the only holder
    // `unlock` can find is a live one: refused, named.
    let (_dir, b) = backend();
    let lock = b.lock(LockInfo::current("engine apply")).unwrap();
    let other = LocalBackend::new(b.dir());
    match other.unlock(&lock.info().id) {
        Err(e @ StateError::LockAlive { .. }) => {
            assert!(e.to_string().contains(&lock.info().id), "{e}");
            assert!(e.hint().unwrap().contains("released"), "{e:?}");
        }
        other => panic!("expected LockAlive, got {other:?}"),
    }
    // Its holder keeps it.
    assert!(other.try_lock(LockInfo::current("engine plan")).is_err());
}

#[test]
fn a_migrated_state_leaves_a_backup_and_a_note() {
    let (_dir, b) = backend();
    let lock = b.lock(LockInfo::current("engine state migrate")).unwrap();
    let mut s = sample();
    b.write(&lock, &mut s).unwrap();
    let text = fs::read_to_string(b.dir().join(STATE_FILE)).unwrap();
    let backup = b.retire(&lock, &s, "s3://bucket/team/default").unwrap();
    assert_eq!(
        backup,
        b.dir().join("state.json.migrated").display().to_string()
    );
    assert_eq!(
        fs::read_to_string(&backup).unwrap(),
        text,
        "the backup is the state"
    );
    assert!(!b.dir().join(STATE_FILE).exists());
    let note: engine_state::MovedNote =
        serde_json::from_str(&fs::read_to_string(b.dir().join("moved.json")).unwrap()).unwrap();
    assert_eq!(note.moved_to, "s3://bucket/team/default");
    assert_eq!(
        (note.serial, note.lineage.as_str()),
        (1, s.lineage.as_str())
    );
    let e = b.read().unwrap_err();
    assert!(
        e.to_string()
            .contains("was moved to s3://bucket/team/default"),
        "{e}"
    );
    assert!(e.hint().unwrap().contains(&backup), "{:?}", e.hint());
    // Importing back removes the note.
    b.import(&lock, &s).unwrap();
    assert!(!b.dir().join("moved.json").exists());
    assert_eq!(b.read().unwrap().unwrap(), s);
}
