//! State backends: where a stack's [`State`] is kept between runs, with a lock so
//! that one writer at a time changes it.
//!
//! # Layout
//! - this file: the [`StateBackend`] trait every backend implements, its errors
//!   ([`StateError`]), the lock ([`StateLock`], [`LockInfo`], [`LockHandle`]), and
//!   [`open`], which picks a backend from a `--state` location.
//! - [`local`]: [`LocalBackend`], the default: a directory (`.engine/` in the
//!   working directory) holding `state.json`, `state.json.backup` and `state.lock`.
//! - [`conformance`]: the test suite every backend must pass (the local backend's
//!   tests run it; an S3 backend's would too).
//!
//! The state model itself (and its JSON) is in [`engine_core::state`]; this crate
//! only stores it.
//!
//! # Contract
//!
//! - [`StateBackend::read`] returns the stored state, `None` when there is none,
//!   and refuses a damaged state or one written by a newer engine (it is never
//!   overwritten either).
//! - [`StateBackend::lock`] takes the lock or fails at once naming the holder.
//! - [`StateBackend::write`] needs the lock, stores the state atomically (a crash
//!   leaves the old or the new state, never a mix), keeps the previous one as a
//!   backup, and refuses to overwrite a state that changed since the caller read it
//!   (compare-and-swap on lineage and serial). It gives the state a lineage on its
//!   first write and increments the serial on every write.

use std::fmt;

use engine_core::Diagnostic;
use engine_core::state::{State, StateFormatError};
use serde::{Deserialize, Serialize};

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
pub mod local;

pub use local::LocalBackend;

/// Where a stack's state is kept.
pub trait StateBackend: Send + Sync {
    /// Where the state lives, for messages, for example `file://.engine`.
    fn location(&self) -> String;

    /// The stored state, or `None` if there is none yet.
    fn read(&self) -> Result<Option<State>, StateError>;

    /// Takes the lock, or fails at once ([`StateError::Locked`], naming the holder
    /// when known). The lock is released when the returned guard is dropped (or by
    /// [`StateLock::release`]), and by the backend if the holder dies (the local
    /// backend's lock is an OS file lock).
    fn lock(&self, holder: LockInfo) -> Result<StateLock, StateError>;

    /// Stores `state`, holding `lock`: refuses unless the stored state still has
    /// `state`'s lineage and serial (none stored counts as serial 0), then writes it
    /// with the serial incremented (and a new lineage if it had none), keeping the
    /// previous state as a backup. On success `state` holds the new serial and
    /// lineage, so it can be written again after the next change.
    fn write(&self, lock: &StateLock, state: &mut State) -> Result<(), StateError>;

    /// The stored state, or a new empty one ([`State::empty`]) if there is none.
    fn read_or_empty(&self) -> Result<State, StateError> {
        Ok(self.read()?.unwrap_or_else(State::empty))
    }
}

/// Who holds a lock: written into the lock so that a refused second writer can say
/// who to wait for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// `user@host`.
    pub who: String,
    /// The holder's process id.
    pub pid: u32,
    /// What it is doing, for example `engine apply`.
    pub command: String,
    /// When it took the lock (RFC 3339, UTC).
    pub since: String,
}

impl LockInfo {
    /// This process, running `command`, now.
    pub fn current(command: impl Into<String>) -> LockInfo {
        LockInfo {
            who: format!("{}@{}", user_name(), host_name()),
            pid: std::process::id(),
            command: command.into(),
            since: rfc3339_now(),
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (pid {}, running `{}`, since {})",
            self.who, self.pid, self.command, self.since
        )
    }
}

/// Releases a backend's lock; each backend has its own.
pub trait LockHandle: Send + Sync {
    /// Releases the lock.
    fn release(self: Box<Self>) -> Result<(), StateError>;
}

/// A held lock. Dropping it releases the lock (errors ignored); [`StateLock::release`]
/// reports them.
pub struct StateLock {
    location: String,
    info: LockInfo,
    handle: Option<Box<dyn LockHandle>>,
}

impl StateLock {
    /// A lock on the state at `location` (as [`StateBackend::location`] says), held
    /// as `info`, released through `handle`. For backend implementations.
    pub fn new(location: String, info: LockInfo, handle: Box<dyn LockHandle>) -> StateLock {
        StateLock {
            location,
            info,
            handle: Some(handle),
        }
    }

    /// Who holds it (this process).
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The location of the locked state.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Releases the lock, reporting any error.
    pub fn release(mut self) -> Result<(), StateError> {
        match self.handle.take() {
            Some(h) => h.release(),
            None => Ok(()),
        }
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.release();
        }
    }
}

impl fmt::Debug for StateLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateLock")
            .field("location", &self.location)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Why the state could not be read, locked or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file or storage operation failed.
    #[error("could not {action} `{path}`: {source}")]
    Io {
        /// What was being done, for example `write`.
        action: &'static str,
        /// The file or object.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The stored state is damaged; it was left as it is.
    #[error("the state file `{path}` is not valid: {message}")]
    Corrupt {
        /// The file or object.
        path: String,
        /// What is wrong.
        message: String,
        /// Where the previous state is kept, if the backend keeps one.
        backup: Option<String>,
    },
    /// The stored state was written by a newer engine; it was left as it is.
    #[error(
        "the state file `{path}` was written by a newer engine (format version {found}; \
         this engine reads version {supported} at most)"
    )]
    NewerVersion {
        /// The file or object.
        path: String,
        /// Its format version.
        found: u64,
        /// The newest this engine reads.
        supported: u32,
    },
    /// Someone else holds the lock.
    #[error("{}", locked_message(.location, .holder.as_ref()))]
    Locked {
        /// The state's location.
        location: String,
        /// Who holds it, when they said.
        holder: Option<LockInfo>,
    },
    /// The stored state changed since the caller read it.
    #[error(
        "the state at {location} changed since it was read (expected {expected}, found {found}); \
         refusing to overwrite it"
    )]
    Conflict {
        /// The state's location.
        location: String,
        /// The lineage and serial the caller had.
        expected: String,
        /// The lineage and serial stored.
        found: String,
    },
    /// [`StateBackend::write`] was given a lock on another state.
    #[error("the lock held is on the state at {held}, not on the state at {location}")]
    WrongLock {
        /// The state being written.
        location: String,
        /// The state the lock is on.
        held: String,
    },
    /// [`open`] does not know the location's scheme.
    #[error("`{0}` is not a state location this engine supports")]
    UnsupportedLocation(String),
}

fn locked_message(location: &str, holder: Option<&LockInfo>) -> String {
    match holder {
        Some(h) => format!("the state at {location} is locked by {h}"),
        None => format!(
            "the state at {location} is locked by another process (which has not said who yet)"
        ),
    }
}

impl StateError {
    /// How to fix it, when known.
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::Corrupt {
                backup: Some(b), ..
            } => Some(format!(
                "fix the file, or replace it with `{b}` (the state before the last write); \
                 the engine will not overwrite it"
            )),
            StateError::Corrupt { backup: None, .. } => {
                Some("fix the file; the engine will not overwrite it".into())
            }
            StateError::NewerVersion { .. } => {
                Some("use the engine that wrote it, or a newer one".into())
            }
            StateError::Locked { .. } => {
                Some("wait for it to finish; the lock is released when that process exits".into())
            }
            StateError::Conflict { .. } => Some(
                "another engine wrote the state meanwhile; run the command again to plan \
                 from the new state"
                    .into(),
            ),
            StateError::UnsupportedLocation(_) => Some(
                "use `file://DIR` or a directory path (the default is `file://.engine`)".into(),
            ),
            StateError::Io { .. } | StateError::WrongLock { .. } => None,
        }
    }

    /// The error as a diagnostic for people, with its hint.
    pub fn diagnostic(&self) -> Diagnostic {
        let d = Diagnostic::error(self.to_string());
        match self.hint() {
            Some(h) => d.hint(h),
            None => d,
        }
    }

    /// The error for a state file that does not parse.
    pub(crate) fn from_format(path: String, e: StateFormatError, backup: Option<String>) -> Self {
        match e {
            StateFormatError::NewerVersion { found, supported } => StateError::NewerVersion {
                path,
                found,
                supported,
            },
            other => StateError::Corrupt {
                path,
                message: match other {
                    StateFormatError::Invalid(m) => m,
                    o => o.to_string(),
                },
                backup,
            },
        }
    }
}

/// Opens the backend for a `--state` location: `file://DIR` or a plain directory
/// path (the local backend). The default is `file://.engine`.
pub fn open(location: &str) -> Result<Box<dyn StateBackend>, StateError> {
    if let Some(dir) = location.strip_prefix("file://") {
        if dir.is_empty() {
            return Err(StateError::UnsupportedLocation(location.to_string()));
        }
        return Ok(Box::new(LocalBackend::new(dir)));
    }
    if location.contains("://") || location.is_empty() {
        return Err(StateError::UnsupportedLocation(location.to_string()));
    }
    Ok(Box::new(LocalBackend::new(location)))
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

fn user_name() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Now, as RFC 3339 in UTC to the second: `2026-05-01T10:00:00Z`.
fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    rfc3339(secs)
}

fn rfc3339(unix_secs: u64) -> String {
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
        assert!(i.who.contains('@'));
        assert_eq!(i.pid, std::process::id());
        let s = i.to_string();
        assert!(s.contains("running `engine apply`"), "{s}");
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
