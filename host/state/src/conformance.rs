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

use engine_core::samples;
use engine_core::state::{ResourceStatus, State};
use serde_json::json;

use crate::{LockInfo, StateBackend, StateError};

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
        match second.lock(holder("engine destroy")) {
            Err(e @ StateError::Locked { .. }) => {
                let StateError::Locked {
                    holder: Some(h), ..
                } = &e
                else {
                    panic!("contention: the refusal must name the holder: {e}");
                };
                assert_eq!(h, lock.info(), "contention: the holder named is the holder");
                let msg = e.to_string();
                for part in [&h.who, "engine apply", &h.pid.to_string()] {
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
            b.lock(holder("engine apply")).is_err(),
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
