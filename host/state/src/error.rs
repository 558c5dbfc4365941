//! Why the state could not be read, locked or written ([`StateError`]), each with
//! the fix when one is known ([`StateError::hint`]).

use std::time::Duration;

use engine_core::Diagnostic;
use engine_core::state::StateFormatError;

use crate::LockInfo;

/// Why the state could not be read, locked or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file operation failed.
    #[error("could not {action} `{path}`: {source}")]
    Io {
        /// What was being done, for example `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A call to a remote store (S3) failed.
    #[error("could not {action} `{path}`: {message}")]
    Storage {
        /// What was being done, for example `read`.
        action: &'static str,
        /// The object, for example `s3://bucket/team/dev/state.json`.
        path: String,
        /// What the store answered, in one line.
        message: String,
        /// How to fix it, when known (a missing bucket, missing permissions).
        hint: Option<String>,
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
    #[error("{}", locked_message(.location, .holder.as_deref(), *.waited))]
    Locked {
        /// The state's location.
        location: String,
        /// Who holds it, when they said.
        holder: Option<Box<LockInfo>>,
        /// Whether the lock outlives its holder (an S3 lock object does; a local OS
        /// lock does not), so that a killed holder leaves it behind.
        persistent: bool,
        /// How long the caller waited for it ([`crate::lock_within`]).
        waited: Duration,
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
    /// [`crate::StateBackend::write`] was given a lock on another state.
    #[error("the lock held is on the state at {held}, not on the state at {location}")]
    WrongLock {
        /// The state being written.
        location: String,
        /// The state the lock is on.
        held: String,
    },
    /// The lock this process took is no longer its own (someone cleared it with
    /// `engine state unlock`, and maybe took it since): nothing was written.
    #[error(
        "the lock on the state at {location} is no longer held by this process ({detail}); \
         refusing to write the state"
    )]
    LockLost {
        /// The state's location.
        location: String,
        /// What was found instead.
        detail: String,
    },
    /// [`crate::StateBackend::unlock`]: the state is not locked.
    #[error("the state at {location} is not locked")]
    NotLocked {
        /// The state's location.
        location: String,
    },
    /// [`crate::StateBackend::unlock`]: the lock has another id than the one given.
    #[error(
        "the state at {location} is locked by {holder}, whose lock id is not `{id}`; \
         nothing was unlocked"
    )]
    LockMismatch {
        /// The state's location.
        location: String,
        /// The id given.
        id: String,
        /// Who holds the lock.
        holder: Box<LockInfo>,
    },
    /// [`crate::StateBackend::unlock`] of a lock that cannot be stale: its holder
    /// is running (a local lock is the OS's, released when its process exits).
    #[error("the state at {location} is locked by {holder}, which is still running")]
    LockAlive {
        /// The state's location.
        location: String,
        /// Who holds the lock.
        holder: Box<LockInfo>,
    },
    /// The state was moved elsewhere by `engine state migrate`; what is left here
    /// is a backup, never read or written as the state.
    #[error("the state at {location} was moved to {to} (`engine state migrate`)")]
    Moved {
        /// The old location.
        location: String,
        /// Where the state went.
        to: String,
        /// Where the state left behind is kept.
        backup: String,
    },
    /// [`crate::StateBackend::import`] into a location that already has a state.
    #[error("the state at {location} already exists ({found}); refusing to overwrite it")]
    NotEmpty {
        /// The location.
        location: String,
        /// The lineage and serial stored there.
        found: String,
    },
    /// [`crate::open`] does not know the location's scheme.
    #[error("`{0}` is not a state location this engine supports")]
    UnsupportedLocation(String),
}

fn locked_message(location: &str, holder: Option<&LockInfo>, waited: Duration) -> String {
    let waited = if waited.as_secs() >= 1 {
        format!(" (waited {}s)", waited.as_secs())
    } else {
        String::new()
    };
    match holder {
        Some(h) => format!("the state at {location} is locked by {h}{waited}"),
        None => format!(
            "the state at {location} is locked by another process (which has not said who \
             yet){waited}"
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
            StateError::Locked {
                persistent: false, ..
            } => Some(
                "wait for it to finish (or let the engine wait: `--lock-timeout 5m`); the lock \
                 is released when that process exits"
                    .into(),
            ),
            StateError::Locked {
                persistent: true,
                holder,
                ..
            } => {
                let id = holder.as_ref().map_or("LOCK_ID", |h| h.id.as_str());
                Some(format!(
                    "wait for it to finish (or let the engine wait: `--lock-timeout 5m`); if \
                     that process is gone (killed, or its machine lost), clear its lock: engine \
                     state unlock {id}"
                ))
            }
            StateError::Conflict { .. } => Some(
                "another engine wrote the state meanwhile; run the command again to plan \
                 from the new state"
                    .into(),
            ),
            StateError::LockLost { .. } => Some(
                "someone cleared this process's lock (`engine state unlock`); what was done \
                 before this write is recorded: run the command again"
                    .into(),
            ),
            StateError::LockMismatch { holder, .. } => Some(format!(
                "to clear this lock, give its id: engine state unlock {}",
                holder.id
            )),
            StateError::LockAlive { .. } => Some(
                "wait for it to finish: a local lock is released by the operating system when \
                 its process exits, so it is never left behind"
                    .into(),
            ),
            StateError::Moved { to, backup, .. } => Some(format!(
                "use the state where it is now ({to}: the stack's config or --state names it); \
                 what was left here is a backup: {backup}"
            )),
            StateError::NotEmpty { .. } => Some(
                "choose another location, or remove that state first if it is not needed".into(),
            ),
            StateError::Storage { hint, .. } => hint.clone(),
            StateError::UnsupportedLocation(_) => Some(format!(
                "use `file://DIR` or a directory path (the default is `file://.engine`){}",
                crate::registered_schemes()
                    .iter()
                    .map(|s| format!(", or `{s}://...`"))
                    .collect::<String>()
            )),
            StateError::Io { .. } | StateError::WrongLock { .. } | StateError::NotLocked { .. } => {
                None
            }
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
    pub fn from_format(path: String, e: StateFormatError, backup: Option<String>) -> Self {
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
