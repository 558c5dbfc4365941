//! Stack configuration: `engine.toml` in the working directory, overridden by flags.
//!
//! ```toml
//! [stack]
//! name = "japancart"        # default: the directory's name
//! region = "us-east-1"      # default: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1
//! environment = "dev"       # the suffix on every resource name
//!
//! [config]                  # free-form values passed to every plugin
//! vpc-cidr = "10.0.0.0/16"
//! availability-zones = "ap-northeast-1a,ap-northeast-1c"   # pins them (see `facts`)
//!
//! policies = ["policies/baseline.wasm"]   # (top level) checked before every apply
//!
//! [limits]                  # sandbox limits for every plugin call
//! deadline-ms = 5000
//! memory-mb = 64
//! answer-mb = 4             # the size of one plugin answer (as JSON)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use engine_core::Context;
use serde::Deserialize;

/// The file name.
pub const FILE: &str = "engine.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    policies: Vec<PathBuf>,
    #[serde(default)]
    stack: StackSection,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
    #[serde(default)]
    limits: LimitsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StackSection {
    name: Option<String>,
    region: Option<String>,
    environment: Option<String>,
    /// The AWS accounts this stack may change; empty: any.
    #[serde(default)]
    allowed_account_ids: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct LimitsSection {
    deadline_ms: Option<u64>,
    memory_mb: Option<usize>,
    answer_mb: Option<usize>,
}

/// Overrides from the command line.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// AWS region [default: engine.toml, then AWS_REGION, then us-east-1]
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Environment suffix carried by every resource name [default: engine.toml, then `dev`]
    #[arg(long, short = 'e', global = true)]
    pub environment: Option<String>,
    /// Set a config value passed to plugins (repeatable), e.g. `--config vpc-cidr=10.1.0.0/16`
    #[arg(long = "config", short = 'c', value_name = "KEY=VALUE", global = true)]
    pub config: Vec<String>,
    /// Read this file instead of ./engine.toml
    #[arg(long = "stack-file", value_name = "PATH", global = true)]
    pub file: Option<PathBuf>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// What plugins see.
    pub context: Context,
    /// Sandbox limits.
    pub limits: engine_runtime::Limits,
    /// Policy plugins from the stack file (relative to its directory).
    pub policies: Vec<PathBuf>,
    /// `[stack] allowed-account-ids`: an apply or destroy in any other AWS account
    /// is refused (empty: any account).
    pub allowed_account_ids: Vec<String>,
}

#[cfg(test)]
impl Config {
    /// A config of stack `test` in `region`, environment `dev`, no config values.
    pub fn for_tests(region: &str) -> Config {
        Config {
            context: Context {
                stack: "test".into(),
                region: region.into(),
                environment: "dev".into(),
                config: Default::default(),
            },
            limits: engine_runtime::Limits::default(),
            policies: Vec::new(),
            allowed_account_ids: Vec::new(),
        }
    }
}

/// Reads `engine.toml` (if present) and applies overrides.
pub fn load(dir: &Path, o: &Overrides) -> anyhow::Result<Config> {
    let path = o.file.clone().unwrap_or_else(|| dir.join(FILE));
    let file: File = match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text)
            .with_context(|| format!("{} is not a valid stack file", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && o.file.is_none() => File::default(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let stack = file.stack.name.unwrap_or_else(|| {
        dir.canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_lowercase()))
            .unwrap_or_else(|| "stack".into())
    });
    let region = o
        .region
        .clone()
        .or(file.stack.region)
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let environment = o
        .environment
        .clone()
        .or(file.stack.environment)
        .unwrap_or_else(|| "dev".into());
    let mut config: BTreeMap<String, String> = file
        .config
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect();
    for kv in &o.config {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("`--config {kv}` is not KEY=VALUE"))?;
        config.insert(k.trim().to_string(), v.to_string());
    }
    if let Some(key) = config.keys().find(|k| k.starts_with(crate::facts::PREFIX)) {
        anyhow::bail!(
            "config key `{key}` is reserved: keys starting with `{}` are facts the engine reads \
             from AWS (pin the availability zones with `{}`)",
            crate::facts::PREFIX,
            crate::facts::ZONES_PIN
        );
    }
    let mut limits = engine_runtime::Limits::default();
    if let Some(ms) = file.limits.deadline_ms {
        limits.deadline = std::time::Duration::from_millis(ms);
    }
    if let Some(mb) = file.limits.memory_mb {
        limits.memory_bytes = mb.saturating_mul(1 << 20);
    }
    if let Some(mb) = file.limits.answer_mb {
        limits.max_output_bytes = mb.saturating_mul(1 << 20);
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let policies = file.policies.iter().map(|p| base.join(p)).collect();
    Ok(Config {
        context: Context {
            stack,
            region,
            environment,
            config,
        },
        limits,
        policies,
        allowed_account_ids: file.stack.allowed_account_ids,
    })
}
