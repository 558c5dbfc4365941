//! The lock: who holds it ([`LockInfo`]), the held lock ([`StateLock`]), and
//! waiting for a lock someone else holds ([`lock_within`], [`set_lock_wait`]).

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{StateBackend, StateError};

/// Who holds a lock: written into the lock so that a refused second writer can say
/// who to wait for, and so that a lock left behind can be cleared by its id
/// (`engine state unlock ID`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// A random id (a UUID), new for every lock taken.
    pub id: String,
    /// The user name of the holder's process.
    pub user: String,
    /// The holder's host name.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// What it is doing, for example `engine apply`.
    pub command: String,
    /// When it took the lock (RFC 3339, UTC).
    pub since: String,
}

impl LockInfo {
    /// This process, running `command`, now, with a new lock id.
    pub fn current(command: impl Into<String>) -> LockInfo {
        LockInfo {
            id: crate::new_lineage(),
            user: user_name(),
            host: host_name(),
            pid: std::process::id(),
            command: command.into(),
            since: crate::rfc3339_now(),
        }
    }

    /// `user@host`.
    pub fn who(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (pid {}, running `{}`, since {}; lock id {})",
            self.who(),
            self.pid,
            self.command,
            self.since,
            self.id
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

/// Told once when a lock is found taken and the caller starts to wait for it (the
/// error names the holder).
pub type OnWait = dyn Fn(&StateError) + Send + Sync;

/// How long [`StateBackend::lock`] waits in this process, and whom it tells.
struct LockWait {
    timeout: Duration,
    on_wait: Option<Arc<OnWait>>,
}

static LOCK_WAIT: RwLock<LockWait> = RwLock::new(LockWait {
    timeout: Duration::ZERO,
    on_wait: None,
});

/// Sets how long [`StateBackend::lock`] waits for a lock someone else holds, in this
/// process (the engine binary sets it from `--lock-timeout`; the default, zero,
/// fails at once), and what it calls when it starts waiting.
pub fn set_lock_wait(timeout: Duration, on_wait: Option<Arc<OnWait>>) {
    if let Ok(mut w) = LOCK_WAIT.write() {
        *w = LockWait { timeout, on_wait };
    }
}

/// What [`set_lock_wait`] set.
pub(crate) fn lock_wait() -> (Duration, Option<Arc<OnWait>>) {
    LOCK_WAIT
        .read()
        .map(|w| (w.timeout, w.on_wait.clone()))
        .unwrap_or((Duration::ZERO, None))
}

/// Takes the lock of `backend`, waiting up to `timeout` while someone else holds
/// it: it tries again after 100 ms, then backs off to every 2 s. `on_wait` is called
/// once, when the first attempt is refused and there is time left. After
/// `timeout` the last refusal is returned, saying how long it waited. Errors other
/// than [`StateError::Locked`] are returned at once.
pub fn lock_within<B: StateBackend + ?Sized>(
    backend: &B,
    holder: &LockInfo,
    timeout: Duration,
    on_wait: Option<&dyn Fn(&StateError)>,
) -> Result<StateLock, StateError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    let mut told = false;
    loop {
        match backend.try_lock(holder.clone()) {
            Err(StateError::Locked {
                location,
                holder: h,
                persistent,
                ..
            }) => {
                let waited = started.elapsed();
                let e = StateError::Locked {
                    location,
                    holder: h,
                    persistent,
                    waited,
                };
                let Some(left) = timeout.checked_sub(waited).filter(|l| !l.is_zero()) else {
                    return Err(e);
                };
                if !told {
                    if let Some(f) = on_wait {
                        f(&e);
                    }
                    told = true;
                }
                std::thread::sleep(delay.min(left));
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
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
