//! A cache of precompiled plugin code, so a warm run does not compile again.
//!
//! Key: the plugin's SHA-256 plus wasmtime's compatibility hash of the engine
//! configuration (which covers the wasmtime version and settings such as epoch
//! interruption that are baked into compiled code). Each entry is written
//! atomically and carries a SHA-256 of its contents, checked before use, so a
//! truncated or altered file is recompiled rather than loaded.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Entries kept; older ones (by modification time) are removed on write, so
/// rebuilding plugins does not grow the cache without bound.
const MAX_ENTRIES: usize = 64;

/// The cache directory and the engine's configuration key.
pub struct CodeCache {
    dir: PathBuf,
    engine_key: String,
}

impl CodeCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: PathBuf, engine: &Engine) -> CodeCache {
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        CodeCache {
            dir,
            engine_key: format!("{:016x}", h.finish()),
        }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    /// The compiled component, if cached and intact.
    pub fn get(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let bytes = std::fs::read(self.path(sha256)).ok()?;
        if bytes.len() < 32 {
            return None;
        }
        let (digest, code) = bytes.split_at(32);
        if Sha256::digest(code).as_slice() != digest {
            tracing::warn!(sha256, "ignoring a corrupt code cache entry");
            return None;
        }
        // SAFETY: `deserialize` trusts its input to be code wasmtime produced. This is
        // our own cache entry, written by `put` below from `Component::serialize`
        // for an engine with this exact configuration (the key), and checked
        // against the digest written with it.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, code) };
        component.ok()
    }

    /// Stores compiled code; failures only cost a recompile next time.
    pub fn put(&self, sha256: &str, component: &Component) {
        let write = || -> std::io::Result<()> {
            let code = component.serialize().map_err(std::io::Error::other)?;
            std::fs::create_dir_all(&self.dir)?;
            let path = self.path(sha256);
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            let mut bytes = Sha256::digest(&code).to_vec();
            bytes.extend_from_slice(&code);
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            tracing::debug!(error = %e, "could not write the code cache");
        }
        self.prune();
    }

    /// Removes the oldest entries beyond [`MAX_ENTRIES`].
    fn prune(&self) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = dir
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if entries.len() <= MAX_ENTRIES {
            return;
        }
        entries.sort();
        for (_, path) in &entries[..entries.len() - MAX_ENTRIES] {
            let _ = std::fs::remove_file(path);
        }
    }
}
