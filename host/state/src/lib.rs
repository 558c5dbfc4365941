//! State backends: where a stack's [`State`] is kept between runs, with a lock so
//! that one writer at a time changes it, and the states before kept as history.
//!
//! # Layout
//! - this file: the [`StateBackend`] trait every backend implements, [`Version`]
//!   (one state of a backend's history), [`open`], which picks a backend from a
//!   `--state` location, and [`register_scheme`], through which the engine binary
//!   adds backends this crate does not build (S3, in `engine-state-s3`, so that
//!   this crate stays free of the AWS SDK).
//! - [`lock`]: the lock ([`LockInfo`], [`StateLock`], [`LockHandle`]) and waiting
//!   for it ([`lock_within`], [`set_lock_wait`]).
//! - [`error`]: [`StateError`], each with its hint.
//! - [`local`]: [`LocalBackend`], the default: a directory (`.engine/` in the
//!   working directory) holding `state.json`, `state.json.backup` and `state.lock`.
//! - [`conformance`]: the test suite every backend must pass (the local backend's
//!   tests and the S3 backend's run it).
//!
//! The state model itself (and its JSON) is in [`engine_core::state`]; this crate
//! only stores it.
//!
//! # Contract
//!
//! - [`StateBackend::read`] returns the stored state, `None` when there is none,
//!   and refuses a damaged state or one written by a newer engine (it is never
//!   overwritten either), and a state moved elsewhere by [`StateBackend::retire`].
//! - [`StateBackend::try_lock`] takes the lock or fails at once naming the holder;
//!   [`StateBackend::lock`] waits as long as the process allows ([`set_lock_wait`]).
//! - [`StateBackend::write`] needs the lock, stores the state atomically (a crash
//!   leaves the old or the new state, never a mix), keeps the previous one as
//!   history, and refuses to overwrite a state that changed since the caller read
//!   it (compare-and-swap on lineage and serial, and on the stored object itself
//!   where the store can say: an S3 ETag). It gives the state a lineage on its
//!   first write and increments the serial on every write.
//! - [`StateBackend::history`] lists the states kept, newest first, and
//!   [`StateBackend::read_version`] reads one.
//! - [`StateBackend::import`] and [`StateBackend::retire`] move a state between
//!   backends keeping its lineage and serial (`engine state migrate`).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use engine_core::state::State;
use serde::{Deserialize, Serialize};

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
pub mod error;
pub mod local;
pub mod lock;

pub use error::StateError;
pub use local::LocalBackend;
pub use lock::{LockHandle, LockInfo, OnWait, StateLock, lock_within, set_lock_wait};

/// Where a stack's state is kept.
pub trait StateBackend: Send + Sync {
    /// Where the state lives, for messages, for example `file://.engine`.
    fn location(&self) -> String;

    /// The stored state, or `None` if there is none yet.
    fn read(&self) -> Result<Option<State>, StateError>;

    /// Takes the lock, or fails at once ([`StateError::Locked`], naming the holder
    /// when known). The lock is released when the returned guard is dropped (or by
    /// [`StateLock::release`]). A local lock is also released by the OS if the
    /// holder dies; an S3 lock stays until [`StateBackend::unlock`] clears it.
    fn try_lock(&self, holder: LockInfo) -> Result<StateLock, StateError>;

    /// Stores `state`, holding `lock`: refuses unless the stored state still has
    /// `state`'s lineage and serial (none stored counts as serial 0), then writes it
    /// with the serial incremented (and a new lineage if it had none), keeping the
    /// previous state as history. On success `state` holds the new serial and
    /// lineage, so it can be written again after the next change.
    fn write(&self, lock: &StateLock, state: &mut State) -> Result<(), StateError>;

    /// Clears a lock left behind by a holder that is gone, deliberately: only the
    /// lock whose id is `lock_id` ([`StateError::LockMismatch`] otherwise, naming
    /// the holder). Returns who held it.
    fn unlock(&self, lock_id: &str) -> Result<LockInfo, StateError>;

    /// The states kept, newest first: the current one, then the previous ones this
    /// backend keeps (the local backend: one; S3: every one).
    fn history(&self) -> Result<Vec<Version>, StateError>;

    /// One state of [`StateBackend::history`], exactly as it was written.
    fn read_version(&self, version: &Version) -> Result<State, StateError>;

    /// Stores `state` as it is, keeping its lineage and serial, holding `lock`:
    /// the destination of a migration. Refuses when a state is stored already
    /// ([`StateError::NotEmpty`]); a state moved away earlier does not count.
    fn import(&self, lock: &StateLock, state: &State) -> Result<(), StateError>;

    /// After the stored state (which must be `state`) was imported at `moved_to`:
    /// keeps it here as a backup under another name, and leaves a note so that
    /// reading or writing this location is refused with [`StateError::Moved`]
    /// naming `moved_to`. Returns where the backup is.
    fn retire(&self, lock: &StateLock, state: &State, moved_to: &str)
    -> Result<String, StateError>;

    /// Takes the lock like [`StateBackend::try_lock`], waiting while someone else
    /// holds it for as long as [`set_lock_wait`] allows in this process (by
    /// default not at all).
    fn lock(&self, holder: LockInfo) -> Result<StateLock, StateError> {
        let (timeout, on_wait) = lock::lock_wait();
        lock_within(
            self,
            &holder,
            timeout,
            on_wait.as_deref().map(|f| f as &dyn Fn(&StateError)),
        )
    }

    /// The stored state, or a new empty one ([`State::empty`]) if there is none.
    fn read_or_empty(&self) -> Result<State, StateError> {
        Ok(self.read()?.unwrap_or_else(State::empty))
    }
}

/// One state a backend keeps ([`StateBackend::history`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Its serial.
    pub serial: u64,
    /// Its lineage.
    pub lineage: String,
    /// When it was written (RFC 3339, UTC), when known.
    pub written: Option<String>,
    /// The command that wrote it (`engine apply`), when recorded.
    pub command: Option<String>,
    /// Who wrote it (`user@host`), when recorded.
    pub who: Option<String>,
    /// Whether it is the current state.
    pub current: bool,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// Where the backend keeps it (a file, an S3 key or object version): for
    /// [`StateBackend::read_version`].
    pub id: String,
}

/// The note a retired location keeps ([`StateBackend::retire`]), as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedNote {
    /// Where the state went.
    pub moved_to: String,
    /// Where the state left here is kept.
    pub backup: String,
    /// Its lineage.
    pub lineage: String,
    /// Its serial.
    pub serial: u64,
    /// When (RFC 3339).
    pub when: String,
}

/// The file or object name of a retired location's [`MovedNote`].
pub const MOVED_NOTE: &str = "moved.json";
/// The name the state gets when its location is retired.
pub const MIGRATED_BACKUP: &str = "state.json.migrated";

/// Opens a backend for a location of a scheme this crate does not build (see
/// [`register_scheme`]).
pub type Opener = dyn Fn(&str) -> Result<Box<dyn StateBackend>, StateError> + Send + Sync;

static SCHEMES: RwLock<BTreeMap<String, Arc<Opener>>> = RwLock::new(BTreeMap::new());

/// Makes [`open`] open `SCHEME://...` locations with `opener` in this process (the
/// engine binary registers `s3`). A second registration of a scheme replaces the
/// first.
pub fn register_scheme(scheme: &str, opener: Arc<Opener>) {
    if let Ok(mut m) = SCHEMES.write() {
        m.insert(scheme.to_string(), opener);
    }
}

/// The schemes [`register_scheme`] added.
pub fn registered_schemes() -> Vec<String> {
    SCHEMES
        .read()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Opens the backend for a `--state` location: `file://DIR` or a plain directory
/// path (the local backend; the default is `file://.engine`), or a location of a
/// registered scheme (`s3://BUCKET/PREFIX/STACK`).
pub fn open(location: &str) -> Result<Box<dyn StateBackend>, StateError> {
    if let Some(dir) = location.strip_prefix("file://") {
        if dir.is_empty() {
            return Err(StateError::UnsupportedLocation(location.to_string()));
        }
        return Ok(Box::new(LocalBackend::new(dir)));
    }
    if let Some((scheme, _)) = location.split_once("://") {
        let opener = SCHEMES.read().ok().and_then(|m| m.get(scheme).cloned());
        return match opener {
            Some(open) => open(location),
            None => Err(StateError::UnsupportedLocation(location.to_string())),
        };
    }
    if location.is_empty() {
        return Err(StateError::UnsupportedLocation(location.to_string()));
    }
    Ok(Box::new(LocalBackend::new(location)))
}

/// A state's lineage and serial for messages: `lineage L serial N`, or `no state`.
pub fn describe(lineage: &str, serial: u64) -> String {
    if lineage.is_empty() && serial == 0 {
        "no state".into()
    } else {
        format!("lineage {lineage} serial {serial}")
    }
}

/// A new random lineage, formatted as a UUID (version 4).
pub fn new_lineage() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        // `RandomState` is seeded from the OS's random source.
        let mut h = std::hash::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Now, as RFC 3339 in UTC to the second: `2026-05-01T10:00:00Z`.
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    rfc3339(secs)
}

/// Seconds since the Unix epoch as RFC 3339 in UTC: `2026-05-01T10:00:00Z`.
pub fn rfc3339(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// The seconds since the Unix epoch of an RFC 3339 time in UTC to the second, as
/// [`rfc3339`] writes it (`2026-05-01T10:00:00Z`); `None` for any other form.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3_600 + m * 60 + sec).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_777_629_845), "2026-05-01T10:04:05Z");
        assert!(rfc3339_now().starts_with("20"));
        for secs in [0, 951_782_400, 1_777_629_845, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
        for bad in [
            "",
            "2026-05-01",
            "2026-13-01T00:00:00Z",
            "2026-05-01T10:00:00+01:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn lineages_are_uuids_and_differ() {
        let a = new_lineage();
        let b = new_lineage();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
    }

    #[test]
    fn lock_info_names_the_holder() {
        let i = LockInfo::current("engine apply");
        assert!(i.who().contains('@'));
        assert_eq!(i.id.len(), 36);
        assert_ne!(i.id, LockInfo::current("x").id, "every lock has its own id");
        assert_eq!(i.pid, std::process::id());
        let s = i.to_string();
        assert!(s.contains("running `engine apply`"), "{s}");
        assert!(s.contains(&format!("lock id {}", i.id)), "{s}");
    }

    #[test]
    fn registered_schemes_open_their_backends() {
        register_scheme(
            "test-scheme",
            Arc::new(|loc: &str| -> Result<Box<dyn StateBackend>, StateError> {
                let dir = loc.trim_start_matches("test-scheme://").to_string();
                Ok(Box::new(LocalBackend::new(format!("/tmp/{dir}"))))
            }),
        );
        assert_eq!(open("test-scheme://x").unwrap().location(), "file:///tmp/x");
        assert!(registered_schemes().contains(&"test-scheme".to_string()));
        let e = open("nope://x").err().unwrap();
        assert!(
            e.hint().unwrap().contains("`test-scheme://...`"),
            "{:?}",
            e.hint()
        );
    }

    #[test]
    fn locations_open_the_local_backend_or_are_refused() {
        assert_eq!(open("file://.engine").unwrap().location(), "file://.engine");
        assert_eq!(open("/tmp/x").unwrap().location(), "file:///tmp/x");
        for bad in ["s3://bucket/key", "file://", ""] {
            let e = open(bad).err().unwrap();
            assert!(matches!(e, StateError::UnsupportedLocation(_)), "{bad}");
            assert!(e.diagnostic().hint.is_some());
        }
    }
}
