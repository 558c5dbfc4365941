//! The conformance suite every [`StateBackend`] must pass.
//!
//! A backend's tests call [`run`] with a function that opens the backend on a
//! *namespace*: each check uses its own, and opening the same namespace twice must
//! give two handles on the same stored state (as two processes would have). For the
//! local backend a namespace is a subdirectory of a temporary directory; for an S3
//! backend it would be a key prefix.
//!
//! ```
//! # use engine_state::{conformance, LocalBackend, StateBackend};
//! let dir = tempfile::tempdir().unwrap();
//! conformance::run(&|ns: &str| -> Box<dyn StateBackend> {
//!     Box::new(LocalBackend::new(dir.path().join(ns)))
//! });
//! ```
//!
//! Each check panics with a message naming the check when the backend fails it.

use std::time::{Duration, Instant};

use engine_core::samples;
use engine_core::state::{ResourceStatus, State};
use serde_json::json;

use crate::{LockInfo, StateBackend, StateError, lock_within};

/// Opens a backend on a namespace (see the module documentation).
pub type Open<'a> = &'a dyn Fn(&str) -> Box<dyn StateBackend>;

/// One check of the suite.
pub type Check = fn(Open);

/// Every check, by name, in the order [`run`] runs them.
pub const CHECKS: &[(&str, Check)] = &[
    ("empty_reads_none", empty_reads_none),
    ("first_write_gives_lineage_and_serial_1", first_write),
    ("writes_round_trip_exactly", writes_round_trip_exactly),
    ("stale_write_is_refused", stale_write_is_refused),
    ("foreign_state_is_refused", foreign_state_is_refused),
    (
        "second_locker_is_refused_naming_the_holder",
        lock_contention,
    ),
    ("lock_is_released_on_drop", lock_released_on_drop),
    (
        "write_needs_a_lock_on_the_same_state",
        wrong_lock_is_refused,
    ),
    ("namespaces_are_independent", namespaces_are_independent),
    (
        "a_waiting_locker_gets_the_lock_once_released",
        waiting_for_a_lock,
    ),
    ("unlock_needs_the_lock_id", unlock_needs_the_lock_id),
    ("history_keeps_the_previous_state", history),
    ("migration_keeps_lineage_and_serial", migration),
];

/// Runs every check in [`CHECKS`].
pub fn run(open: Open) {
    for (name, check) in CHECKS {
        eprintln!("state backend conformance: {name}");
        check(open);
    }
}

fn holder(command: &str) -> LockInfo {
    LockInfo::current(command)
}

fn sample() -> State {
    let mut s = samples::applied_state();
    s.serial = 0;
    s.lineage.clear();
    s
}

fn empty_reads_none(open: Open) {
    let b = open("empty");
    assert!(
        b.read().expect("empty_reads_none: read").is_none(),
        "empty_reads_none: a new backend must have no state"
    );
    assert_eq!(
        b.read_or_empty().expect("empty_reads_none: read_or_empty"),
        State::empty()
    );
}

fn first_write(open: Open) {
    let b = open("first");
    let lock = b.lock(holder("engine apply")).expect("first_write: lock");
    let mut s = sample();
    b.write(&lock, &mut s).expect("first_write: write");
    assert_eq!(s.serial, 1, "first_write: the first write gives serial 1");
    assert!(
        !s.lineage.is_empty(),
        "first_write: the first write gives a lineage"
    );
    assert_eq!(s.version, State::VERSION);
    let back = b
        .read()
        .expect("first_write: read")
        .expect("first_write: stored");
    assert_eq!(back, s, "first_write: read returns what was written");
}

fn writes_round_trip_exactly(open: Open) {
    let b = open("round-trip");
    let lock = b.lock(holder("engine apply")).expect("round_trip: lock");
    let mut s = sample();
    b.write(&lock, &mut s).expect("round_trip: first write");
    let lineage = s.lineage.clone();
    // Everything the model holds: statuses, deposed copies, odd outputs.
    let first = s
        .resources
        .keys()
        .next()
        .cloned()
        .expect("sample resources");
    s.resources.get_mut(&first).expect("sample resource").status = ResourceStatus::Pending;
    let deposed = s.resources[&first].clone();
    s.deposed.insert(first, deposed);
    s.outputs
        .insert("ünïcode ✓".into(), json!("日本 \"quoted\"\n"));
    s.outputs.insert("big".into(), json!(u64::MAX));
    s.outputs.insert("ratio".into(), json!(0.25));
    for expected_serial in 2..=4 {
        b.write(&lock, &mut s).expect("round_trip: write");
        assert_eq!(
            s.serial, expected_serial,
            "round_trip: each write bumps the serial"
        );
        assert_eq!(s.lineage, lineage, "round_trip: the lineage never changes");
        let back = b
            .read()
            .expect("round_trip: read")
            .expect("round_trip: stored");
        assert_eq!(back, s, "round_trip: read returns what was written");
    }
    // Another handle (another process) sees the same.
    let again = open("round-trip").read().expect("round_trip: read again");
    assert_eq!(
        again.as_ref(),
        Some(&s),
        "round_trip: a second handle reads the same state"
    );
}

fn stale_write_is_refused(open: Open) {
    let b = open("stale");
    let lock = b.lock(holder("engine apply")).expect("stale: lock");
    let mut s = sample();
    b.write(&lock, &mut s).expect("stale: first write");
    let mut stale = s.clone();
    s.outputs.insert("newer".into(), json!(1));
    b.write(&lock, &mut s).expect("stale: second write");
    stale.outputs.insert("older".into(), json!(1));
    match b.write(&lock, &mut stale) {
        Err(StateError::Conflict { .. }) => {}
        other => panic!("stale_write_is_refused: expected a conflict, got {other:?}"),
    }
    assert_eq!(
        stale.serial, 1,
        "stale: a refused write keeps the caller's serial"
    );
    let stored = b.read().expect("stale: read").expect("stale: stored");
    assert_eq!(stored, s, "stale: a refused write changes nothing");
    // A brand-new state over an existing one is stale too.
    let mut fresh = sample();
    assert!(
        matches!(b.write(&lock, &mut fresh), Err(StateError::Conflict { .. })),
        "stale: a new state must not overwrite an existing one"
    );
}

fn foreign_state_is_refused(open: Open) {
    let b = open("foreign");
    let lock = b.lock(holder("engine apply")).expect("foreign: lock");
    let mut s = sample();
    b.write(&lock, &mut s).expect("foreign: write");
    let mut other = s.clone();
    other.lineage = "00000000-0000-4000-8000-000000000000".into();
    match b.write(&lock, &mut other) {
        Err(e @ StateError::Conflict { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&s.lineage),
                "foreign: the message names the lineage: {msg}"
            );
        }
        other => panic!("foreign_state_is_refused: expected a conflict, got {other:?}"),
    }
}

fn lock_contention(open: Open) {
    let first = open("contention");
    let second = open("contention");
    let lock = first
        .lock(holder("engine apply"))
        .expect("contention: first lock");
    for _ in 0..2 {
        match second.try_lock(holder("engine destroy")) {
            Err(e @ StateError::Locked { .. }) => {
                let StateError::Locked {
                    holder: Some(h), ..
                } = &e
                else {
                    panic!("contention: the refusal must name the holder: {e}");
                };
                assert_eq!(
                    **h,
                    *lock.info(),
                    "contention: the holder named is the holder"
                );
                let msg = e.to_string();
                for part in [&h.who(), "engine apply", &h.pid.to_string(), &h.id] {
                    assert!(
                        msg.contains(part),
                        "contention: `{part}` missing from: {msg}"
                    );
                }
                assert!(e.hint().is_some());
            }
            other => panic!("contention: expected Locked, got {other:?}"),
        }
    }
    // The holder can still write; the refused one could not have.
    let mut s = sample();
    first
        .write(&lock, &mut s)
        .expect("contention: holder writes");
    lock.release().expect("contention: release");
    let lock2 = second
        .lock(holder("engine destroy"))
        .expect("contention: lock after release");
    assert_eq!(lock2.info().command, "engine destroy");
}

fn lock_released_on_drop(open: Open) {
    let b = open("drop");
    {
        let _lock = b.lock(holder("engine apply")).expect("drop: lock");
        assert!(
            b.try_lock(holder("engine apply")).is_err(),
            "drop: locked twice"
        );
    }
    b.lock(holder("engine apply"))
        .expect("drop: a dropped lock must be released");
}

fn wrong_lock_is_refused(open: Open) {
    let a = open("lock-a");
    let b = open("lock-b");
    let lock_a = a.lock(holder("engine apply")).expect("wrong lock: lock a");
    let mut s = sample();
    match b.write(&lock_a, &mut s) {
        Err(StateError::WrongLock { .. }) => {}
        other => panic!("wrong_lock: expected WrongLock, got {other:?}"),
    }
    assert!(b.read().expect("wrong lock: read").is_none());
}

fn namespaces_are_independent(open: Open) {
    let a = open("ns-a");
    let b = open("ns-b");
    let lock = a.lock(holder("engine apply")).expect("namespaces: lock a");
    let mut s = sample();
    a.write(&lock, &mut s).expect("namespaces: write a");
    assert!(b.read().expect("namespaces: read b").is_none());
    // Locks are per state too.
    let _lock_b = b
        .lock(holder("engine apply"))
        .expect("namespaces: lock b while a is locked");
}

fn waiting_for_a_lock(open: Open) {
    let first = open("waiting");
    let second = open("waiting");
    let lock = first
        .try_lock(holder("engine apply"))
        .expect("waiting: first lock");
    // Too short a wait: refused, saying how long it waited.
    let started = Instant::now();
    match lock_within(
        second.as_ref(),
        &holder("engine apply"),
        Duration::from_millis(300),
        None,
    ) {
        Err(StateError::Locked { waited, .. }) => {
            assert!(
                waited >= Duration::from_millis(300) && started.elapsed() < Duration::from_secs(5),
                "waiting: waited {waited:?}"
            );
        }
        other => panic!("waiting: expected Locked after the timeout, got {other:?}"),
    }
    // Long enough: the lock comes when the holder releases it.
    let told = std::sync::atomic::AtomicUsize::new(0);
    let on_wait = |e: &StateError| {
        assert!(
            matches!(
                e,
                StateError::Locked {
                    holder: Some(_),
                    ..
                }
            ),
            "waiting: told about {e}"
        );
        told.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    };
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            lock.release().expect("waiting: release");
        });
        let got = lock_within(
            second.as_ref(),
            &holder("engine destroy"),
            Duration::from_secs(20),
            Some(&on_wait),
        )
        .expect("waiting: the lock once released");
        assert_eq!(got.info().command, "engine destroy");
    });
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "waiting: the lock was taken before it was released"
    );
    assert_eq!(
        told.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "waiting: told once that it waits"
    );
}

fn unlock_needs_the_lock_id(open: Open) {
    let b = open("unlock");
    match b.unlock("00000000-0000-4000-8000-000000000000") {
        Err(StateError::NotLocked { .. }) => {}
        other => panic!("unlock: expected NotLocked on a free state, got {other:?}"),
    }
    let lock = b.try_lock(holder("engine apply")).expect("unlock: lock");
    match open("unlock").unlock("00000000-0000-4000-8000-000000000000") {
        Err(e @ StateError::LockMismatch { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&lock.info().id)
                    || e.hint().unwrap_or_default().contains(&lock.info().id),
                "unlock: the refusal names the lock's id: {e}"
            );
        }
        other => panic!("unlock: expected LockMismatch, got {other:?}"),
    }
    assert!(
        open("unlock").try_lock(holder("engine plan")).is_err(),
        "unlock: a wrong id leaves the lock"
    );
    let mut s = sample();
    b.write(&lock, &mut s)
        .expect("unlock: the holder still writes");
}

fn history(open: Open) {
    let b = open("history");
    assert!(
        b.history().expect("history: empty").is_empty(),
        "history: nothing kept before the first write"
    );
    let lock = b.try_lock(holder("engine apply")).expect("history: lock");
    let mut written = Vec::new();
    let mut s = sample();
    for i in 0..3 {
        s.outputs.insert("step".into(), json!(i));
        b.write(&lock, &mut s).expect("history: write");
        written.push(s.clone());
    }
    let kept = b.history().expect("history: list");
    assert!(
        kept.len() >= 2,
        "history: the current and the previous state: {kept:?}"
    );
    for (v, expected) in kept.iter().zip(written.iter().rev()) {
        assert_eq!(v.serial, expected.serial, "history: newest first: {kept:?}");
        assert_eq!(v.lineage, expected.lineage);
        assert_eq!(
            v.current,
            v.serial == 3,
            "history: only the newest is current"
        );
        let back = b.read_version(v).expect("history: read a version");
        assert_eq!(
            &back, expected,
            "history: a version reads as it was written"
        );
    }
}

fn migration(open: Open) {
    let src = open("migrate-src");
    let dst = open("migrate-dst");
    let src_lock = src
        .try_lock(holder("engine state migrate"))
        .expect("migrate: lock src");
    let dst_lock = dst
        .try_lock(holder("engine state migrate"))
        .expect("migrate: lock dst");
    let mut s = sample();
    src.write(&src_lock, &mut s).expect("migrate: write");
    s.outputs.insert("again".into(), json!(true));
    src.write(&src_lock, &mut s).expect("migrate: write again");

    assert!(
        matches!(dst.import(&src_lock, &s), Err(StateError::WrongLock { .. })),
        "migrate: import needs the destination's lock"
    );
    dst.import(&dst_lock, &s).expect("migrate: import");
    assert_eq!(
        dst.read().expect("migrate: read dst"),
        Some(s.clone()),
        "migrate: the destination holds the state exactly, lineage and serial kept"
    );
    match dst.import(&dst_lock, &s) {
        Err(StateError::NotEmpty { .. }) => {}
        other => panic!("migrate: a second import must be refused, got {other:?}"),
    }
    let mut other = s.clone();
    other.serial += 1;
    assert!(
        matches!(
            src.retire(&src_lock, &other, "elsewhere"),
            Err(StateError::Conflict { .. })
        ),
        "migrate: retire checks it retires the state that was moved"
    );
    let backup = src
        .retire(&src_lock, &s, &dst.location())
        .expect("migrate: retire the source");
    assert!(!backup.is_empty());
    match src.read() {
        Err(StateError::Moved { to, backup: b, .. }) => {
            assert_eq!(
                to,
                dst.location(),
                "migrate: the source names where it went"
            );
            assert_eq!(b, backup);
        }
        other => panic!("migrate: reading a moved state must be refused, got {other:?}"),
    }
    let mut stale = s.clone();
    assert!(
        matches!(
            src.write(&src_lock, &mut stale),
            Err(StateError::Moved { .. })
        ),
        "migrate: writing a moved state must be refused"
    );
    // And back: the old location takes the state again.
    dst.retire(&dst_lock, &s, &src.location())
        .expect("migrate: retire the destination");
    src.import(&src_lock, &s).expect("migrate: import back");
    assert_eq!(src.read().expect("migrate: read back"), Some(s.clone()));
    let mut next = s.clone();
    src.write(&src_lock, &mut next)
        .expect("migrate: the state goes on from its serial");
    assert_eq!(next.serial, s.serial + 1);
}
