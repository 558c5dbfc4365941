//! The local state backend: a directory, `.engine/` in the working directory by
//! default.
//!
//! - `state.json`: the state, normalised JSON ([`State::to_json`]).
//! - `state.json.backup`: the state before the last write (the history this
//!   backend keeps: the current state and this one).
//! - `state.lock`: the lock. Held with an OS file lock ([`File::try_lock`]), which
//!   the OS releases if the holder dies, so a crash never leaves the state locked;
//!   while held, the file holds the holder's [`LockInfo`] as JSON, which a refused
//!   second writer reads to say who holds it. Emptied on release, never deleted (a
//!   deleted lock file lets two processes lock two different files).
//!
//! Writes are atomic: the new content goes to a temporary file in the same
//! directory, is flushed to disk (`fsync`), and renamed over the old file; then the
//! directory is flushed so the rename itself survives a power cut. A crash at any
//! point leaves the old state or the new one, never a mix; a temporary file left
//! behind is removed by the next write. The backup is written the same way, before
//! the state.
//!
//! A state file that does not parse, or that a newer engine wrote, is reported with
//! its path and never overwritten.
//!
//! After `engine state migrate` moved the state elsewhere, `state.json` is renamed
//! `state.json.migrated` (the backup) and `moved.json` says where it went: reading
//! or writing here is refused, naming the new location, until a state is imported
//! here again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use engine_core::state::State;

use crate::{
    LockHandle, LockInfo, MIGRATED_BACKUP, MOVED_NOTE, MovedNote, StateBackend, StateError,
    StateLock, Version, describe,
};

/// The default state directory, relative to the working directory.
pub const DEFAULT_DIR: &str = ".engine";
/// The state file's name.
pub const STATE_FILE: &str = "state.json";
/// The backup's name: the state before the last write.
pub const BACKUP_FILE: &str = "state.json.backup";
/// The lock file's name.
pub const LOCK_FILE: &str = "state.lock";
/// Temporary files are named `<target>.tmp-<pid>`.
const TMP_MARK: &str = ".tmp-";

/// The state in a local directory.
#[derive(Debug)]
pub struct LocalBackend {
    dir: PathBuf,
    /// Test failpoint: the name of a file whose next rename "crashes".
    #[cfg(test)]
    pub(crate) crash_before_rename: std::sync::Mutex<Option<&'static str>>,
}

impl LocalBackend {
    /// The backend for the state in `dir` (created on the first lock or write).
    pub fn new(dir: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend {
            dir: dir.into(),
            #[cfg(test)]
            crash_before_rename: std::sync::Mutex::new(None),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the state file.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// The path of the backup.
    pub fn backup_path(&self) -> PathBuf {
        self.dir.join(BACKUP_FILE)
    }

    /// The path of the lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// The stored state's bytes and parsed value, `None` if there is no state file;
    /// [`StateError::Moved`] if the state was moved elsewhere.
    fn load(&self) -> Result<Option<(String, State)>, StateError> {
        match self.load_file(&self.state_path(), Some(self.backup_path()))? {
            Some(found) => Ok(Some(found)),
            None => match self.moved()? {
                Some(note) => Err(StateError::Moved {
                    location: self.location(),
                    to: note.moved_to,
                    backup: note.backup,
                }),
                None => Ok(None),
            },
        }
    }

    /// A state file's bytes and parsed value, `None` if it does not exist.
    fn load_file(
        &self,
        path: &Path,
        backup: Option<PathBuf>,
    ) -> Result<Option<(String, State)>, StateError> {
        let backup = backup.map(|b| b.display().to_string());
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(StateError::Corrupt {
                    path: path.display().to_string(),
                    message: "it is not UTF-8 text".into(),
                    backup,
                });
            }
            Err(e) => return Err(io_error("read", path, e)),
        };
        let state = State::from_json(&text)
            .map_err(|e| StateError::from_format(path.display().to_string(), e, backup))?;
        Ok(Some((text, state)))
    }

    /// The note `retire` left, if any.
    fn moved(&self) -> Result<Option<MovedNote>, StateError> {
        let path = self.dir.join(MOVED_NOTE);
        match fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| StateError::Corrupt {
                    path: path.display().to_string(),
                    message: e.to_string(),
                    backup: None,
                }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        }
    }

    /// Refuses a lock on another state.
    fn check_lock(&self, lock: &StateLock) -> Result<(), StateError> {
        if lock.location() != self.location() {
            return Err(StateError::WrongLock {
                location: self.location(),
                held: lock.location().to_string(),
            });
        }
        Ok(())
    }

    /// The history entry of the state file at `path`, if there is one.
    fn version_of(&self, path: &Path, current: bool) -> Result<Option<Version>, StateError> {
        let Some((text, state)) = self.load_file(path, None)? else {
            return Ok(None);
        };
        let written = fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| crate::rfc3339(d.as_secs()));
        Ok(Some(Version {
            serial: state.serial,
            lineage: state.lineage,
            written,
            command: None,
            who: None,
            current,
            size: Some(text.len() as u64),
            id: path.display().to_string(),
        }))
    }

    /// Writes `content` to `target` atomically: temporary file, fsync, rename,
    /// fsync of the directory.
    fn write_atomic(&self, target: &Path, content: &[u8]) -> Result<(), StateError> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self
            .dir
            .join(format!("{name}{TMP_MARK}{}", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .map_err(|e| io_error("create", &tmp, e))?;
        file.write_all(content)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("write", &tmp, e))?;
        drop(file);
        #[cfg(test)]
        if self
            .crash_before_rename
            .lock()
            .is_ok_and(|f| *f == Some(name.as_str()))
        {
            return Err(io_error(
                "rename",
                &tmp,
                io::Error::other("simulated crash before rename"),
            ));
        }
        fs::rename(&tmp, target).map_err(|e| io_error("rename", &tmp, e))?;
        sync_dir(&self.dir)
    }

    /// Removes temporary files an interrupted write left (the caller holds the lock,
    /// so no other write is under way).
    fn remove_leftovers(&self) -> Result<(), StateError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error("list", &self.dir, e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = [STATE_FILE, BACKUP_FILE, MOVED_NOTE]
                .iter()
                .any(|f| name.starts_with(&format!("{f}{TMP_MARK}")));
            if ours {
                let path = entry.path();
                fs::remove_file(&path).map_err(|e| io_error("remove", &path, e))?;
            }
        }
        Ok(())
    }
}

impl Default for LocalBackend {
    /// The backend for `.engine/` in the working directory.
    fn default() -> Self {
        LocalBackend::new(DEFAULT_DIR)
    }
}

impl StateBackend for LocalBackend {
    fn location(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    fn read(&self) -> Result<Option<State>, StateError> {
        Ok(self.load()?.map(|(_, s)| s))
    }

    fn try_lock(&self, holder: LockInfo) -> Result<StateLock, StateError> {
        fs::create_dir_all(&self.dir).map_err(|e| io_error("create", &self.dir, e))?;
        let path = self.lock_path();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error("open", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<LockInfo>(&t).ok())
                    .map(Box::new);
                return Err(StateError::Locked {
                    location: self.location(),
                    holder,
                    persistent: false,
                    waited: std::time::Duration::ZERO,
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_error("lock", &path, e)),
        }
        let info = serde_json::to_string(&holder).unwrap_or_default();
        file.set_len(0)
            .and_then(|()| file.write_all(info.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("write", &path, e))?;
        Ok(StateLock::new(
            self.location(),
            holder,
            Box::new(LocalLock { file, path }),
        ))
    }

    fn write(&self, lock: &StateLock, state: &mut State) -> Result<(), StateError> {
        self.check_lock(lock)?;
        fs::create_dir_all(&self.dir).map_err(|e| io_error("create", &self.dir, e))?;
        let stored = self.load()?;
        let (stored_lineage, stored_serial) = stored
            .as_ref()
            .map(|(_, s)| (s.lineage.as_str(), s.serial))
            .unwrap_or(("", 0));
        let same_lineage = state.lineage == stored_lineage || stored.is_none();
        if state.serial != stored_serial || !same_lineage {
            return Err(StateError::Conflict {
                location: self.location(),
                expected: describe(&state.lineage, state.serial),
                found: describe(stored_lineage, stored_serial),
            });
        }

        let mut next = state.clone();
        next.version = State::VERSION;
        next.serial += 1;
        if next.lineage.is_empty() {
            next.lineage = crate::new_lineage();
        }
        self.remove_leftovers()?;
        if let Some((old_text, _)) = &stored {
            self.write_atomic(&self.backup_path(), old_text.as_bytes())?;
        }
        self.write_atomic(&self.state_path(), next.to_json().as_bytes())?;
        state.version = next.version;
        state.serial = next.serial;
        state.lineage = next.lineage;
        Ok(())
    }

    fn unlock(&self, lock_id: &str) -> Result<LockInfo, StateError> {
        // A local lock is the OS's: if it can be taken, nobody holds it; if not,
        // its holder is alive. Either way there is nothing stale to clear.
        match self.try_lock(LockInfo::current("engine state unlock")) {
            Ok(probe) => {
                probe.release()?;
                Err(StateError::NotLocked {
                    location: self.location(),
                })
            }
            Err(StateError::Locked {
                holder: Some(holder),
                ..
            }) if holder.id != lock_id => Err(StateError::LockMismatch {
                location: self.location(),
                id: lock_id.to_string(),
                holder,
            }),
            Err(StateError::Locked {
                holder: Some(holder),
                ..
            }) => Err(StateError::LockAlive {
                location: self.location(),
                holder,
            }),
            Err(e) => Err(e),
        }
    }

    fn history(&self) -> Result<Vec<Version>, StateError> {
        // A moved state has no history here (its backup is named by the error).
        self.load()?;
        Ok([
            self.version_of(&self.state_path(), true)?,
            self.version_of(&self.backup_path(), false)?,
        ]
        .into_iter()
        .flatten()
        .collect())
    }

    fn read_version(&self, version: &Version) -> Result<State, StateError> {
        let path = [self.state_path(), self.backup_path()]
            .into_iter()
            .find(|p| p.display().to_string() == version.id)
            .ok_or_else(|| {
                io_error(
                    "read",
                    Path::new(&version.id),
                    io::Error::other("not a state this backend keeps"),
                )
            })?;
        match self.load_file(&path, None)? {
            Some((_, s)) => Ok(s),
            None => Err(io_error("read", &path, io::ErrorKind::NotFound.into())),
        }
    }

    fn import(&self, lock: &StateLock, state: &State) -> Result<(), StateError> {
        self.check_lock(lock)?;
        fs::create_dir_all(&self.dir).map_err(|e| io_error("create", &self.dir, e))?;
        if let Some((_, stored)) = self.load_file(&self.state_path(), None)? {
            return Err(StateError::NotEmpty {
                location: self.location(),
                found: describe(&stored.lineage, stored.serial),
            });
        }
        self.remove_leftovers()?;
        self.write_atomic(&self.state_path(), state.to_json().as_bytes())?;
        let note = self.dir.join(MOVED_NOTE);
        match fs::remove_file(&note) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", &note, e)),
            _ => sync_dir(&self.dir),
        }
    }

    fn retire(
        &self,
        lock: &StateLock,
        state: &State,
        moved_to: &str,
    ) -> Result<String, StateError> {
        self.check_lock(lock)?;
        let stored = self.load()?.map(|(_, s)| s);
        let (lineage, serial) = stored
            .as_ref()
            .map_or(("", 0), |s| (s.lineage.as_str(), s.serial));
        if stored.as_ref() != Some(state) {
            return Err(StateError::Conflict {
                location: self.location(),
                expected: describe(&state.lineage, state.serial),
                found: describe(lineage, serial),
            });
        }
        let backup = self.dir.join(MIGRATED_BACKUP);
        let note = MovedNote {
            moved_to: moved_to.to_string(),
            backup: backup.display().to_string(),
            lineage: state.lineage.clone(),
            serial: state.serial,
            when: crate::rfc3339_now(),
        };
        let text = serde_json::to_string_pretty(&note).unwrap_or_default();
        // The note first: a crash between the two leaves the state refused (the
        // note) but still in place, never a location that reads as empty.
        self.write_atomic(&self.dir.join(MOVED_NOTE), text.as_bytes())?;
        fs::rename(self.state_path(), &backup).map_err(|e| io_error("rename", &backup, e))?;
        sync_dir(&self.dir)?;
        Ok(note.backup)
    }
}

struct LocalLock {
    file: File,
    path: PathBuf,
}

impl LockHandle for LocalLock {
    fn release(self: Box<Self>) -> Result<(), StateError> {
        // Empty it first: once unlocked, another process may write its own info.
        let emptied = self.file.set_len(0).and_then(|()| self.file.sync_all());
        let unlocked = self.file.unlock();
        emptied
            .and(unlocked)
            .map_err(|e| io_error("release", &self.path, e))
    }
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> StateError {
    StateError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

/// Flushes a directory's entries (a rename) to disk. Windows has no such call; its
/// renames are durable once `MoveFileEx` returns.
fn sync_dir(dir: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("flush", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use engine_core::samples;

    use super::*;

    fn locked(b: &LocalBackend) -> StateLock {
        b.lock(LockInfo::current("engine test")).unwrap()
    }

    /// The first write of the sample state, then a second with one change.
    fn two_writes(b: &LocalBackend, lock: &StateLock) -> (State, State) {
        let mut first = samples::applied_state();
        first.serial = 0;
        first.lineage.clear();
        b.write(lock, &mut first).unwrap();
        let mut second = first.clone();
        second.outputs.insert("extra".into(), serde_json::json!(1));
        b.write(lock, &mut second).unwrap();
        (first, second)
    }

    fn temp_files(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(TMP_MARK))
            .collect()
    }

    #[test]
    fn a_crash_between_write_and_rename_leaves_the_old_state() {
        // Crash while renaming the new state, then while renaming the backup.
        for file in [STATE_FILE, BACKUP_FILE] {
            let dir = tempfile::tempdir().unwrap();
            let b = LocalBackend::new(dir.path());
            let lock = locked(&b);
            let (_, second) = two_writes(&b, &lock);
            let before = fs::read(b.state_path()).unwrap();

            *b.crash_before_rename.lock().unwrap() = Some(file);
            let mut third = second.clone();
            third.outputs.insert("lost".into(), serde_json::json!(true));
            let e = b.write(&lock, &mut third).unwrap_err();
            assert!(e.to_string().contains("simulated crash"), "{e}");
            assert_eq!(
                third.serial, second.serial,
                "a failed write keeps the serial"
            );
            // The temporary file is there; the state is the old one, byte for byte.
            assert_eq!(temp_files(dir.path()).len(), 1, "{file}");
            assert_eq!(fs::read(b.state_path()).unwrap(), before);
            assert_eq!(b.read().unwrap().unwrap(), second);

            // The next write works and cleans up.
            *b.crash_before_rename.lock().unwrap() = None;
            b.write(&lock, &mut third).unwrap();
            assert_eq!(b.read().unwrap().unwrap(), third);
            assert_eq!(third.serial, second.serial + 1);
            assert_eq!(temp_files(dir.path()), Vec::<String>::new());
            assert_eq!(fs::read(b.backup_path()).unwrap(), before);
        }
    }
}
