//! The S3 state backend: a stack's state in an S3 bucket, shared by a team and its
//! CI, locked and written with S3 conditional writes so that no update is lost.
//!
//! # Layout
//! - this file: [`S3Backend`], the [`StateBackend`] implementation, and [`open`].
//! - [`location`]: parsing `s3://BUCKET/PREFIX?kms-key=KEY&region=REGION`.
//! - `store`: the S3 calls (on a runtime of the backend's own, so that its
//!   synchronous methods can be called from anywhere) and their failures.
//!
//! # Objects
//!
//! A stack's state at `s3://BUCKET/PREFIX` (the engine binary puts each stack
//! under `PREFIX/STACK`) is these objects:
//!
//! - `PREFIX/state.json`: the state, normalised JSON, with the serial, lineage,
//!   command, writer and time of the write as user metadata (`x-amz-meta-engine-*`).
//! - `PREFIX/state.lock`: the lock, while held: the holder's [`LockInfo`] as JSON
//!   (user, host, pid, command, time, lock id). Created with `If-None-Match: *`, so
//!   of two engines only one creates it; the other reads it and names the holder.
//!   Released with a conditional delete (`If-Match` on its ETag), so a lock taken
//!   by someone else since is never removed. A killed engine leaves it behind:
//!   `engine state unlock LOCK_ID` ([`StateBackend::unlock`]) removes it, and only
//!   when its id is the one given.
//! - History: when the bucket has versioning enabled, every version of
//!   `state.json`; otherwise each write first copies the state it replaces to
//!   `PREFIX/history/SERIAL-LINEAGE.json` (expire it with a lifecycle rule if it
//!   grows too long).
//! - After `engine state migrate` moved the state away: `PREFIX/moved.json` (where
//!   it went) and `PREFIX/state.json.migrated` (the state left as a backup).
//!
//! # No lost update
//!
//! [`StateBackend::write`] checks that this process still holds the lock (its id is
//! in the lock object), then writes `state.json` with `If-Match` on the ETag it read
//! (or wrote) last, or `If-None-Match: *` when there was none. Anyone else's write
//! in between, even one that kept the serial, changes the ETag: S3 answers `412
//! Precondition Failed`, nothing is overwritten, and the write is refused
//! ([`StateError::Conflict`]). A `409 ConditionalRequestConflict` (a concurrent
//! request on the key) is retried after the ETag is read again, as AWS asks:
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>.
//!
//! # Encryption
//!
//! Every object is written with server-side encryption: SSE-KMS with the
//! location's `kms-key`, otherwise SSE-S3 (`AES256`), asked for explicitly rather
//! than left to the bucket's default.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use engine_core::state::State;
use engine_state::{
    LockHandle, LockInfo, MIGRATED_BACKUP, MOVED_NOTE, MovedNote, StateBackend, StateError,
    StateLock, Version, describe,
};

pub mod location;
mod store;

pub use location::S3Location;
use store::{Condition, Store};

/// The state object's name under the prefix.
pub const STATE_OBJECT: &str = "state.json";
/// The lock object's name under the prefix.
pub const LOCK_OBJECT: &str = "state.lock";
/// Where states replaced in a bucket without versioning are kept.
pub const HISTORY_PREFIX: &str = "history/";

/// User metadata keys of the state object (`x-amz-meta-...`).
mod meta {
    pub const SERIAL: &str = "engine-serial";
    pub const LINEAGE: &str = "engine-lineage";
    pub const COMMAND: &str = "engine-command";
    pub const WHO: &str = "engine-who";
    pub const WRITTEN: &str = "engine-written";
}

/// How a state that kept its lineage and serial changed behind the engine's back.
const REWRITTEN: &str = "rewritten by someone else (its S3 ETag changed)";

/// How many times a write is tried again after a `409 ConditionalRequestConflict`.
const CONFLICT_RETRIES: u32 = 5;

/// The state in an S3 bucket.
pub struct S3Backend {
    inner: Arc<Inner>,
}

struct Inner {
    loc: S3Location,
    store: Store,
    /// What this handle last read or wrote: the base of its next write.
    known: Mutex<Known>,
    versioned: OnceLock<bool>,
}

#[derive(Clone, Debug)]
enum Known {
    /// Nothing read or written yet.
    Unknown,
    /// No state was stored.
    Absent,
    /// This state was stored, as this object.
    Present(Box<Stored>),
}

#[derive(Clone, Debug)]
struct Stored {
    etag: String,
    state: State,
    text: String,
    metadata: BTreeMap<String, String>,
}

/// Opens the backend for `location` (`s3://BUCKET/PREFIX[?kms-key=KEY&region=R]`)
/// with the SDK set up as `options` says (the standard credential chain and
/// endpoint settings fill in what it leaves out).
pub fn open(location: &str, options: &engine_aws::SdkOptions) -> Result<S3Backend, StateError> {
    let loc = S3Location::parse(location)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("engine-state-s3")
        .enable_all()
        .build()
        .map_err(|e| StateError::Io {
            action: "start",
            path: "the S3 client's runtime".into(),
            source: e,
        })?;
    let mut options = options.clone();
    if let Some(r) = &loc.region {
        options.region = Some(r.clone());
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(engine_aws::load_sdk_config(&options).await);
    });
    let sdk = rx.recv().map_err(|_| StateError::Storage {
        action: "configure",
        path: loc.base(),
        message: "loading the AWS SDK configuration failed".into(),
        hint: None,
    })?;
    // An emulator or S3-compatible endpoint is addressed path-style; AWS itself
    // virtual-hosted style.
    let path_style =
        sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let conf = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(path_style)
        .build();
    let client = aws_sdk_s3::Client::from_conf(conf);
    let store = Store::new(client, loc.bucket.clone(), loc.kms_key.clone(), runtime);
    Ok(S3Backend {
        inner: Arc::new(Inner {
            loc,
            store,
            known: Mutex::new(Known::Unknown),
            versioned: OnceLock::new(),
        }),
    })
}

impl S3Backend {
    /// The parsed location.
    pub fn s3_location(&self) -> &S3Location {
        &self.inner.loc
    }
}

impl Inner {
    fn key(&self, name: &str) -> String {
        self.loc.key(name)
    }

    fn url(&self, name: &str) -> String {
        self.loc.url(&self.key(name))
    }

    fn set_known(&self, k: Known) {
        if let Ok(mut known) = self.known.lock() {
            *known = k;
        }
    }

    fn known(&self) -> Known {
        self.known
            .lock()
            .map(|k| k.clone())
            .unwrap_or(Known::Unknown)
    }

    /// What is stored now (`Absent` also when the state was moved away).
    fn fetch(&self) -> Result<Known, StateError> {
        let key = self.key(STATE_OBJECT);
        let obj = match self.store.get(&key, None) {
            Ok(Some(o)) => o,
            Ok(None) => return Ok(Known::Absent),
            Err(f) if f.code.as_deref() == Some("NotUtf8") => {
                return Err(StateError::Corrupt {
                    path: self.loc.url(&key),
                    message: f.message,
                    backup: None,
                });
            }
            Err(f) => return Err(f.into_error("read", self.loc.url(&key))),
        };
        let state = State::from_json(&obj.body)
            .map_err(|e| StateError::from_format(self.loc.url(&key), e, None))?;
        Ok(Known::Present(Box::new(Stored {
            etag: obj.etag,
            state,
            text: obj.body,
            metadata: obj.metadata,
        })))
    }

    /// The note `retire` left, if any.
    fn moved(&self) -> Result<Option<MovedNote>, StateError> {
        let key = self.key(MOVED_NOTE);
        match self.store.get(&key, None) {
            Ok(Some(o)) => {
                serde_json::from_str(&o.body)
                    .map(Some)
                    .map_err(|e| StateError::Corrupt {
                        path: self.loc.url(&key),
                        message: e.to_string(),
                        backup: None,
                    })
            }
            Ok(None) => Ok(None),
            Err(f) => Err(f.into_error("read", self.loc.url(&key))),
        }
    }

    fn moved_error(&self, note: MovedNote) -> StateError {
        StateError::Moved {
            location: self.loc.base(),
            to: note.moved_to,
            backup: note.backup,
        }
    }

    /// What is stored now; [`StateError::Moved`] if the state was moved away.
    fn fetch_checked(&self) -> Result<Known, StateError> {
        match self.fetch()? {
            Known::Absent => match self.moved()? {
                Some(note) => Err(self.moved_error(note)),
                None => Ok(Known::Absent),
            },
            k => Ok(k),
        }
    }

    /// Refuses a lock on another state, and a lock this process no longer holds
    /// (its id is no longer in the lock object).
    fn check_lock(&self, lock: &StateLock) -> Result<(), StateError> {
        if lock.location() != self.loc.base() {
            return Err(StateError::WrongLock {
                location: self.loc.base(),
                held: lock.location().to_string(),
            });
        }
        let key = self.key(LOCK_OBJECT);
        let detail = match self.store.get(&key, None) {
            Ok(Some(o)) => match serde_json::from_str::<LockInfo>(&o.body) {
                Ok(h) if h.id == lock.info().id => return Ok(()),
                Ok(h) => format!("it is now held by {h}"),
                Err(_) => "the lock object is not one this engine wrote".into(),
            },
            Ok(None) => "the lock object is gone".into(),
            Err(f) => return Err(f.into_error("read", self.loc.url(&key))),
        };
        Err(StateError::LockLost {
            location: self.loc.base(),
            detail,
        })
    }

    fn versioned(&self) -> bool {
        *self.versioned.get_or_init(|| match self.store.versioned() {
            Ok(v) => v,
            Err(f) => {
                // Without the answer, keep copies in history/: never lose one.
                tracing::debug!(
                    "GetBucketVersioning of {} failed ({}); keeping history in {HISTORY_PREFIX}",
                    self.loc.bucket,
                    f.message
                );
                false
            }
        })
    }

    /// The metadata of a state written by `holder`.
    fn metadata(state: &State, holder: &LockInfo) -> BTreeMap<String, String> {
        BTreeMap::from([
            (meta::SERIAL.to_string(), state.serial.to_string()),
            (meta::LINEAGE.to_string(), state.lineage.clone()),
            (meta::COMMAND.to_string(), holder.command.clone()),
            (meta::WHO.to_string(), holder.who()),
            (meta::WRITTEN.to_string(), engine_state::rfc3339_now()),
        ])
    }

    /// The refusal of a write of `expected` because the stored state is not it
    /// (read again to say what it is; what this handle knows is left as it was, so
    /// that a retried write is refused too). `how` says how it changed when it
    /// still has `expected`'s lineage and serial.
    fn conflict(&self, expected: &State, how: &str) -> StateError {
        let found = match self.fetch() {
            Ok(Known::Present(s)) => {
                let d = describe(&s.state.lineage, s.state.serial);
                if s.state.lineage == expected.lineage && s.state.serial == expected.serial {
                    format!("{d}, {how}")
                } else {
                    d
                }
            }
            Ok(_) => "no state: it was deleted".into(),
            Err(e) => format!("a state that cannot be read: {e}"),
        };
        StateError::Conflict {
            location: self.loc.base(),
            expected: describe(&expected.lineage, expected.serial),
            found,
        }
    }

    /// The stored object `state` may replace: what this handle read or wrote last
    /// when `state` is that state (by lineage and serial); read now only if this
    /// handle has read nothing yet. `None`: nothing is stored.
    fn base_for(&self, state: &State) -> Result<Option<Stored>, StateError> {
        let accepts = |known: &Known| match known {
            Known::Absent => state.serial == 0,
            Known::Present(s) => s.state.serial == state.serial && s.state.lineage == state.lineage,
            Known::Unknown => false,
        };
        let mut known = self.known();
        if let Known::Unknown = known {
            known = self.fetch_checked()?;
            self.set_known(known.clone());
        }
        if !accepts(&known) {
            if let Known::Absent = known
                && let Some(note) = self.moved()?
            {
                return Err(self.moved_error(note));
            }
            return Err(self.conflict(state, "but not the object this engine read"));
        }
        Ok(match known {
            Known::Present(s) => Some(*s),
            _ => None,
        })
    }

    /// Writes `text` over the state object `base` (none: no object), refusing if
    /// it is not the stored one any more. Returns the new ETag.
    fn put_state(
        &self,
        text: &str,
        base: Option<&Stored>,
        expected: &State,
        metadata: &BTreeMap<String, String>,
    ) -> Result<String, StateError> {
        let key = self.key(STATE_OBJECT);
        let condition = match base {
            Some(b) => Condition::Matches(b.etag.clone()),
            None => Condition::Absent,
        };
        let mut attempt = 0;
        loop {
            match self.store.put(&key, text, &condition, metadata) {
                Ok(etag) => return Ok(etag),
                Err(f) if f.conditional_conflict() && attempt < CONFLICT_RETRIES => {
                    // AWS: on a 409, fetch the object's ETag and retry.
                    attempt += 1;
                    std::thread::sleep(backoff(attempt));
                    let still = match (self.fetch()?, base) {
                        (Known::Present(now), Some(b)) => now.etag == b.etag,
                        (Known::Absent, None) => true,
                        _ => false,
                    };
                    if !still {
                        return Err(self.conflict(expected, REWRITTEN));
                    }
                }
                Err(f) if f.precondition_failed() || f.conditional_conflict() => {
                    return Err(self.conflict(expected, REWRITTEN));
                }
                Err(f) if f.not_found() && base.is_some() => {
                    return Err(self.conflict(expected, REWRITTEN));
                }
                Err(f) => return Err(f.into_error("write", self.loc.url(&key))),
            }
        }
    }

    /// The history entry of a state object with `head`, at `id`.
    fn version_of(
        &self,
        head: &store::Head,
        id: String,
        current: bool,
        last_modified: Option<u64>,
    ) -> Result<Version, StateError> {
        let m = &head.metadata;
        let recorded = m
            .get(meta::SERIAL)
            .and_then(|s| s.parse::<u64>().ok())
            .zip(m.get(meta::LINEAGE).cloned());
        let (serial, lineage) = match recorded {
            Some(x) => x,
            // Written by something else than this engine: read it to know.
            None => {
                let s = self.read_id(&id)?;
                (s.serial, s.lineage)
            }
        };
        Ok(Version {
            serial,
            lineage,
            written: m.get(meta::WRITTEN).cloned().or_else(|| {
                last_modified
                    .or(head.last_modified)
                    .map(engine_state::rfc3339)
            }),
            command: m.get(meta::COMMAND).cloned(),
            who: m.get(meta::WHO).cloned(),
            current,
            size: head.size,
            id,
        })
    }

    /// Reads the state a [`Version::id`] names: `version:ID` (an object version of
    /// the state) or `key:KEY` (an object under the prefix).
    fn read_id(&self, id: &str) -> Result<State, StateError> {
        let state_key = self.key(STATE_OBJECT);
        let (key, version) = if let Some(v) = id.strip_prefix("version:") {
            (state_key, Some(v))
        } else if let Some(k) = id
            .strip_prefix("key:")
            .filter(|k| *k == state_key || k.starts_with(&self.key(HISTORY_PREFIX)))
        {
            (k.to_string(), None)
        } else {
            return Err(StateError::Storage {
                action: "read",
                path: id.to_string(),
                message: "not a state this backend keeps".into(),
                hint: None,
            });
        };
        let url = match version {
            Some(v) => format!("{}?versionId={v}", self.loc.url(&key)),
            None => self.loc.url(&key),
        };
        match self.store.get(&key, version) {
            Ok(Some(o)) => {
                State::from_json(&o.body).map_err(|e| StateError::from_format(url, e, None))
            }
            Ok(None) => Err(StateError::Storage {
                action: "read",
                path: url,
                message: "it no longer exists".into(),
                hint: Some("`engine state history` lists the states kept".into()),
            }),
            Err(f) => Err(f.into_error("read", url)),
        }
    }
}

impl StateBackend for S3Backend {
    fn location(&self) -> String {
        self.inner.loc.base()
    }

    fn read(&self) -> Result<Option<State>, StateError> {
        let known = self.inner.fetch_checked()?;
        self.inner.set_known(known.clone());
        Ok(match known {
            Known::Present(s) => Some(s.state),
            _ => None,
        })
    }

    fn try_lock(&self, holder: LockInfo) -> Result<StateLock, StateError> {
        let inner = &self.inner;
        let key = inner.key(LOCK_OBJECT);
        let url = inner.loc.url(&key);
        let body = serde_json::to_string_pretty(&holder).unwrap_or_default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match inner
                .store
                .put(&key, &body, &Condition::Absent, &BTreeMap::new())
            {
                Ok(etag) => {
                    return Ok(StateLock::new(
                        self.location(),
                        holder,
                        Box::new(S3Lock {
                            inner: self.inner.clone(),
                            etag,
                        }),
                    ));
                }
                Err(f) => f,
            };
            // Taken (412), or being written by someone right now (409: AWS asks to
            // retry): say by whom when the lock object is there, else try again.
            if failure.precondition_failed() || failure.conditional_conflict() {
                match inner.store.get(&key, None) {
                    Ok(Some(o)) => {
                        return Err(StateError::Locked {
                            location: self.location(),
                            holder: serde_json::from_str::<LockInfo>(&o.body).ok().map(Box::new),
                            persistent: true,
                            waited: Duration::ZERO,
                        });
                    }
                    Ok(None) if attempt <= CONFLICT_RETRIES => {
                        std::thread::sleep(backoff(attempt));
                        continue;
                    }
                    Ok(None) => {
                        return Err(StateError::Locked {
                            location: self.location(),
                            holder: None,
                            persistent: true,
                            waited: Duration::ZERO,
                        });
                    }
                    Err(f) => return Err(f.into_error("read", url)),
                }
            }
            return Err(failure.into_error("lock", url));
        }
    }

    fn write(&self, lock: &StateLock, state: &mut State) -> Result<(), StateError> {
        let inner = &self.inner;
        inner.check_lock(lock)?;
        let base = inner.base_for(state)?;
        let mut next = state.clone();
        next.version = State::VERSION;
        next.serial += 1;
        if next.lineage.is_empty() {
            next.lineage = engine_state::new_lineage();
        }
        let text = next.to_json();
        if let Some(b) = &base
            && !inner.versioned()
        {
            // Keep the state this write replaces.
            let key = inner.key(&format!(
                "{HISTORY_PREFIX}{:020}-{}.json",
                b.state.serial, b.state.lineage
            ));
            let mut metadata = b.metadata.clone();
            metadata.insert(meta::SERIAL.into(), b.state.serial.to_string());
            metadata.insert(meta::LINEAGE.into(), b.state.lineage.clone());
            inner
                .store
                .put(&key, &b.text, &Condition::None, &metadata)
                .map_err(|f| f.into_error("keep", inner.loc.url(&key)))?;
        }
        let metadata = Inner::metadata(&next, lock.info());
        let etag = inner.put_state(&text, base.as_ref(), state, &metadata)?;
        inner.set_known(Known::Present(Box::new(Stored {
            etag,
            state: next.clone(),
            text,
            metadata,
        })));
        state.version = next.version;
        state.serial = next.serial;
        state.lineage = next.lineage;
        Ok(())
    }

    fn unlock(&self, lock_id: &str) -> Result<LockInfo, StateError> {
        let inner = &self.inner;
        let key = inner.key(LOCK_OBJECT);
        let url = inner.loc.url(&key);
        let obj = match inner.store.get(&key, None) {
            Ok(Some(o)) => o,
            Ok(None) => {
                return Err(StateError::NotLocked {
                    location: self.location(),
                });
            }
            Err(f) => return Err(f.into_error("read", url)),
        };
        let holder =
            serde_json::from_str::<LockInfo>(&obj.body).map_err(|e| StateError::Storage {
                action: "read",
                path: url.clone(),
                message: format!("the lock object is not one this engine wrote ({e})"),
                hint: Some(format!(
                    "look at it, and delete it if it is stale: aws s3 rm {url}"
                )),
            })?;
        if holder.id != lock_id {
            return Err(StateError::LockMismatch {
                location: self.location(),
                id: lock_id.to_string(),
                holder: Box::new(holder),
            });
        }
        // Only that lock: if it was released and taken again meanwhile, the ETag
        // differs and nothing is deleted.
        match inner.store.delete(&key, Some(&obj.etag)) {
            Ok(()) => Ok(holder),
            Err(f) if f.precondition_failed() || f.not_found() => Err(StateError::NotLocked {
                location: self.location(),
            }),
            Err(f) => Err(f.into_error("delete", url)),
        }
    }

    fn history(&self) -> Result<Vec<Version>, StateError> {
        let inner = &self.inner;
        let state_key = inner.key(STATE_OBJECT);
        let mut found: Vec<Version> = Vec::new();
        if inner.versioned() {
            let versions = inner
                .store
                .versions(&state_key)
                .map_err(|f| f.into_error("list the versions of", inner.loc.url(&state_key)))?;
            let heads = inner
                .store
                .heads(
                    versions
                        .iter()
                        .map(|v| (state_key.clone(), Some(v.version_id.clone())))
                        .collect(),
                )
                .map_err(|f| f.into_error("read", inner.loc.url(&state_key)))?;
            for (v, head) in versions.iter().zip(heads) {
                if let Some(h) = head {
                    found.push(inner.version_of(
                        &h,
                        format!("version:{}", v.version_id),
                        v.latest,
                        v.last_modified,
                    )?);
                }
            }
        } else if let Some(h) = inner
            .store
            .head(&state_key, None, None)
            .map_err(|f| f.into_error("read", inner.loc.url(&state_key)))?
        {
            found.push(inner.version_of(&h, format!("key:{state_key}"), true, None)?);
        }
        // Copies in history/ (also from before versioning was enabled).
        let history_prefix = inner.key(HISTORY_PREFIX);
        let listed = inner
            .store
            .list(&history_prefix)
            .map_err(|f| f.into_error("list", inner.loc.url(&history_prefix)))?;
        let heads = inner
            .store
            .heads(listed.iter().map(|l| (l.key.clone(), None)).collect())
            .map_err(|f| f.into_error("read", inner.loc.url(&history_prefix)))?;
        for (l, head) in listed.iter().zip(heads) {
            if let Some(h) = head {
                found.push(inner.version_of(
                    &h,
                    format!("key:{}", l.key),
                    false,
                    l.last_modified,
                )?);
            }
        }
        if !found.iter().any(|v| v.current)
            && let Some(note) = inner.moved()?
        {
            return Err(inner.moved_error(note));
        }
        found.sort_by(|a, b| {
            b.current
                .cmp(&a.current)
                .then(b.serial.cmp(&a.serial))
                .then(b.written.cmp(&a.written))
        });
        let mut seen = std::collections::BTreeSet::new();
        found.retain(|v| seen.insert((v.lineage.clone(), v.serial)));
        Ok(found)
    }

    fn read_version(&self, version: &Version) -> Result<State, StateError> {
        self.inner.read_id(&version.id)
    }

    fn import(&self, lock: &StateLock, state: &State) -> Result<(), StateError> {
        let inner = &self.inner;
        inner.check_lock(lock)?;
        if let Known::Present(s) = inner.fetch()? {
            return Err(StateError::NotEmpty {
                location: self.location(),
                found: describe(&s.state.lineage, s.state.serial),
            });
        }
        let text = state.to_json();
        let metadata = Inner::metadata(state, lock.info());
        let key = inner.key(STATE_OBJECT);
        let etag = match inner.store.put(&key, &text, &Condition::Absent, &metadata) {
            Ok(etag) => etag,
            Err(f) if f.precondition_failed() || f.conditional_conflict() => {
                return Err(StateError::NotEmpty {
                    location: self.location(),
                    found: "a state written meanwhile".into(),
                });
            }
            Err(f) => return Err(f.into_error("write", inner.loc.url(&key))),
        };
        inner.set_known(Known::Present(Box::new(Stored {
            etag,
            state: state.clone(),
            text,
            metadata,
        })));
        let note = inner.key(MOVED_NOTE);
        match inner.store.delete(&note, None) {
            Err(f) if !f.not_found() => Err(f.into_error("delete", inner.loc.url(&note))),
            _ => Ok(()),
        }
    }

    fn retire(
        &self,
        lock: &StateLock,
        state: &State,
        moved_to: &str,
    ) -> Result<String, StateError> {
        let inner = &self.inner;
        inner.check_lock(lock)?;
        let stored = match inner.fetch_checked()? {
            Known::Present(s) if s.state == *state => s,
            _ => return Err(inner.conflict(state, "but not the state that was moved")),
        };
        let backup_key = inner.key(MIGRATED_BACKUP);
        let backup = inner.loc.url(&backup_key);
        inner
            .store
            .put(
                &backup_key,
                &stored.text,
                &Condition::None,
                &stored.metadata,
            )
            .map_err(|f| f.into_error("write", backup.clone()))?;
        let note = MovedNote {
            moved_to: moved_to.to_string(),
            backup: backup.clone(),
            lineage: state.lineage.clone(),
            serial: state.serial,
            when: engine_state::rfc3339_now(),
        };
        let note_key = inner.key(MOVED_NOTE);
        let text = serde_json::to_string_pretty(&note).unwrap_or_default();
        inner
            .store
            .put(&note_key, &text, &Condition::None, &BTreeMap::new())
            .map_err(|f| f.into_error("write", inner.loc.url(&note_key)))?;
        let key = inner.key(STATE_OBJECT);
        match inner.store.delete(&key, Some(&stored.etag)) {
            Ok(()) => {}
            Err(f) => {
                let _ = inner.store.delete(&note_key, None);
                return Err(if f.precondition_failed() || f.not_found() {
                    inner.conflict(state, REWRITTEN)
                } else {
                    f.into_error("delete", inner.loc.url(&key))
                });
            }
        }
        inner.set_known(Known::Unknown);
        Ok(backup)
    }
}

/// How long to wait before attempt `attempt` + 1 after a conflict: 50 ms doubling,
/// with up to as much again at random, so that processes that collided once do
/// not collide again.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let base = 50u64 << attempt.min(6);
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u32(attempt);
    Duration::from_millis(base + h.finish() % base)
}

/// A held S3 lock: the lock object this process created, by its ETag.
struct S3Lock {
    inner: Arc<Inner>,
    etag: String,
}

impl LockHandle for S3Lock {
    fn release(self: Box<Self>) -> Result<(), StateError> {
        let key = self.inner.key(LOCK_OBJECT);
        match self.inner.store.delete(&key, Some(&self.etag)) {
            Ok(()) => Ok(()),
            Err(f) if f.precondition_failed() || f.not_found() => Err(StateError::LockLost {
                location: self.inner.loc.base(),
                detail: if f.not_found() {
                    "the lock object was already gone".into()
                } else {
                    "another lock took its place".into()
                },
            }),
            Err(f) => Err(f.into_error("release", self.inner.url(LOCK_OBJECT))),
        }
    }
}
