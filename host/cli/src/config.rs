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
//! rego-package = "main"     # (top level) the package of `.rego` policies (--rego-package)
//!
//! [limits]                  # sandbox limits for every plugin call
//! deadline-ms = 5000
//! memory-mb = 256
//! answer-mb = 64            # the size of one plugin answer (as JSON)
//!
//! [limits.generator]        # one plugin's own (by name); unset ones come from [limits]
//! memory-mb = 1024
//!
//! [[waivers]]               # a policy rule that does not apply to one resource
//! rule = "multi-az"         # a violation's `policy` id
//! address = "rds/postgres"  # the resource
//! reason = "dev stack, rebuilt nightly from a snapshot"
//! ```
//!
//! A stack's own file (`engine.NAME.toml`, [`StackFile`]) may hold `[[waivers]]`
//! too: they add to engine.toml's, and replace one that waives the same rule on the
//! same resource ([`waivers`]).

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
    #[serde(default, rename = "rego-package")]
    rego_package: Option<String>,
    #[serde(default)]
    stack: StackSection,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
    #[serde(default)]
    limits: toml::Table,
    #[serde(default)]
    waivers: Vec<WaiverEntry>,
}

/// One `[[waivers]]` entry as written: the rule (a violation's `policy` id) that
/// does not apply to the resource `address`, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverEntry {
    /// The rule.
    pub rule: String,
    /// The resource, `plugin/name`.
    pub address: String,
    /// Why (required, not blank).
    pub reason: String,
}

/// The `[[waivers]]` of `file` (named `source` in messages), checked: a rule, a
/// valid address and a reason that is not blank, and no rule waived twice on one
/// resource.
fn check_waivers(
    entries: &[WaiverEntry],
    source: &str,
) -> anyhow::Result<Vec<engine_policy::Waiver>> {
    use engine_core::printable::short;
    let mut out: Vec<engine_policy::Waiver> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let n = i + 1;
        let title = format!(
            "{source}: [[waivers]] entry {n} (rule `{}` on `{}`)",
            short(&e.rule, 64),
            short(&e.address, 130)
        );
        if e.rule.trim().is_empty() {
            anyhow::bail!("{title}: `rule` is empty: name the rule, a violation's policy id");
        }
        if let Err(err) = engine_core::Address::parse(&e.address) {
            anyhow::bail!("{title}: `address`: {err}");
        }
        if e.reason.trim().is_empty() {
            anyhow::bail!(
                "{title}: `reason` is empty: a waiver must say why the rule does not apply to \
                 this resource"
            );
        }
        if let Some(first) = entries[..i]
            .iter()
            .position(|p| p.rule == e.rule && p.address == e.address)
        {
            anyhow::bail!(
                "{title}: the same rule is already waived on the same resource by entry {}: \
                 keep one",
                first + 1
            );
        }
        out.push(engine_policy::Waiver {
            rule: e.rule.clone(),
            address: e.address.clone(),
            reason: e.reason.trim().to_string(),
            source: source.to_string(),
        });
    }
    Ok(out)
}

/// The stack's waivers: engine.toml's (`project`), then the stack file's
/// (`stack`), which replace one of engine.toml's that waives the same rule on the
/// same resource (as a key of the stack file wins over engine.toml's).
pub fn waivers(
    project: Vec<engine_policy::Waiver>,
    stack: Vec<engine_policy::Waiver>,
) -> Vec<engine_policy::Waiver> {
    let mut out = project;
    for w in stack {
        match out
            .iter_mut()
            .find(|p| p.rule == w.rule && p.address == w.address)
        {
            Some(p) => *p = w,
            None => out.push(w),
        }
    }
    out
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

/// The settings of `[limits]` and of each `[limits.NAME]`.
const LIMIT_SETTINGS: [&str; 3] = ["deadline-ms", "memory-mb", "answer-mb"];

/// `[limits]`: the values for every plugin, then a table per plugin whose values
/// override them for that plugin (`[limits.NAME]`, by the plugin's name).
fn limits(
    table: &toml::Table,
) -> anyhow::Result<(
    engine_runtime::Limits,
    BTreeMap<String, engine_runtime::Limits>,
)> {
    let mut all = engine_runtime::Limits::default();
    set_limits(&mut all, table, "[limits]")?;
    let mut plugins = BTreeMap::new();
    for (name, value) in table {
        let Some(own) = value.as_table() else {
            continue;
        };
        if !engine_core::address::valid_name(name) {
            anyhow::bail!(
                "[limits.{name}]: `{name}` is not a plugin name (lowercase letters, digits and `-`)"
            );
        }
        let mut limits = all.clone();
        set_limits(&mut limits, own, &format!("[limits.{name}]"))?;
        if let Some((key, _)) = own.iter().find(|(_, v)| v.is_table()) {
            anyhow::bail!("[limits.{name}.{key}]: a plugin's limits have no tables of their own");
        }
        plugins.insert(name.clone(), limits);
    }
    Ok((all, plugins))
}

/// Sets the values `table` (titled `title`) gives; tables in it are left to the caller.
fn set_limits(
    limits: &mut engine_runtime::Limits,
    table: &toml::Table,
    title: &str,
) -> anyhow::Result<()> {
    for (key, value) in table {
        if value.is_table() {
            continue;
        }
        if !LIMIT_SETTINGS.contains(&key.as_str()) {
            let hint = engine_core::diag::closest(key, LIMIT_SETTINGS.iter().copied())
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            anyhow::bail!(
                "{title}: unknown setting `{key}`: {hint}the settings are {}, and a table \
                 [limits.NAME] sets them for the plugin NAME",
                LIMIT_SETTINGS.map(|s| format!("`{s}`")).join(", ")
            );
        }
        let n = value
            .as_integer()
            .filter(|n| *n > 0)
            .with_context(|| format!("{title} {key} = {value}: must be a whole number above 0"))?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        match key.as_str() {
            "deadline-ms" => limits.deadline = std::time::Duration::from_millis(n as u64),
            "memory-mb" => limits.memory_bytes = n.saturating_mul(1 << 20),
            _ => limits.max_output_bytes = n.saturating_mul(1 << 20),
        }
    }
    Ok(())
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
    /// The current stack's config file (`engine.NAME.toml`), set from `--stack`.
    #[arg(skip)]
    pub stack_config: Option<PathBuf>,
}

/// The reference's spellings of engine's own keys (Pulumi's `aws:region` and the
/// JapanCart program's `environmentSuffix`), accepted everywhere a key is.
const ALIASES: [(&str, &str); 2] = [
    ("aws:region", "region"),
    ("environmentSuffix", "environment"),
];

/// A key in engine's own spelling.
pub fn canonical(key: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |(_, k)| k)
}

/// A stack's own config file: `[config]` with `region`, `environment` and plugin
/// keys, as `engine config set` writes it, and the stack's own `[[waivers]]`
/// (kept as they are when it is written).
#[derive(Debug, Default, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackFile {
    /// Keys and values.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Policy rules waived for this stack only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverEntry>,
}

impl StackFile {
    /// Reads `path`; a missing file is an empty one.
    pub fn read(path: &Path) -> anyhow::Result<StackFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut f: StackFile = toml::from_str(&text).with_context(|| {
                    format!("{} is not a valid stack config file", path.display())
                })?;
                f.config = f
                    .config
                    .into_iter()
                    .map(|(k, v)| (canonical(&k).to_string(), v))
                    .collect();
                Ok(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StackFile::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes it to `path` (atomically: a temporary file renamed over it).
    pub fn write(&self, path: &Path, stack: &str) -> anyhow::Result<()> {
        let body = toml::to_string(self).context("cannot encode the stack config")?;
        let text = format!(
            "# Config of stack `{stack}`: `engine config set KEY VALUE` writes it, and\n\
             # it wins over engine.toml (a flag wins over both).\n{body}"
        );
        crate::commands::plan::write_atomic(path, text.as_bytes())
    }
}

/// Where a config value came from, most important first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `--region`, `-e`, `-c KEY=VALUE`.
    Flag,
    /// `engine.NAME.toml`.
    Stack,
    /// `engine.toml`.
    Project,
    /// The environment (`AWS_REGION`) or the engine's default.
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::Flag => "flag",
            Origin::Stack => "stack config",
            Origin::Project => "engine.toml",
            Origin::Default => "default",
        })
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// What plugins see.
    pub context: Context,
    /// Sandbox limits for every plugin (`[limits]`).
    pub limits: engine_runtime::Limits,
    /// Sandbox limits of some plugins, by name (`[limits.NAME]`).
    pub plugin_limits: BTreeMap<String, engine_runtime::Limits>,
    /// Policy plugins from the stack file (relative to its directory).
    pub policies: Vec<PathBuf>,
    /// `rego-package`: the package `.rego` policies are evaluated in, unless
    /// `--rego-package` says otherwise.
    pub rego_package: Option<String>,
    /// `[[waivers]]` of engine.toml and of the stack's file: policy rules that do
    /// not apply to one resource, with the reason.
    pub waivers: Vec<engine_policy::Waiver>,
    /// `[stack] allowed-account-ids`: an apply or destroy in any other AWS account
    /// is refused (empty: any account).
    pub allowed_account_ids: Vec<String>,
    /// Where `region`, `environment` and each config key's value came from.
    pub origins: BTreeMap<String, Origin>,
    /// Config key `endpoint`: one endpoint URL for every AWS service (an
    /// emulator), instead of `AWS_ENDPOINT_URL` or AWS itself.
    pub endpoint: Option<String>,
    /// Config key `state`: the state root (`s3://BUCKET/PREFIX`, a directory)
    /// when `--state` does not name one (see `crate::backend`).
    pub state: Option<String>,
}

impl Config {
    /// SDK options for this stack: its region and, when set, its endpoint. An
    /// endpoint on this machine (an emulator) gets the emulator's test credentials
    /// unless credentials are in the environment.
    pub fn sdk_options(&self) -> engine_aws::SdkOptions {
        let local = self.endpoint.as_deref().is_some_and(|e| {
            let host = e
                .split("://")
                .nth(1)
                .unwrap_or(e)
                .split(['/', ':'])
                .next()
                .unwrap_or("");
            matches!(host, "127.0.0.1" | "localhost" | "[::1]")
        });
        let has_credentials = ["AWS_ACCESS_KEY_ID", "AWS_PROFILE"]
            .iter()
            .any(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()));
        engine_aws::SdkOptions {
            region: Some(self.context.region.clone()),
            endpoint_url: self.endpoint.clone(),
            static_credentials: (local && !has_credentials)
                .then(|| ("testing".to_string(), "testing".to_string())),
            ..engine_aws::SdkOptions::default()
        }
    }
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
            plugin_limits: BTreeMap::new(),
            policies: Vec::new(),
            rego_package: None,
            waivers: Vec::new(),
            allowed_account_ids: Vec::new(),
            origins: BTreeMap::new(),
            endpoint: None,
            state: None,
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
    let name_of = |p: &Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let project_waivers = check_waivers(&file.waivers, &name_of(path.as_path()))?;
    let (own, stack_waivers) = match &o.stack_config {
        Some(p) => {
            let f = StackFile::read(p)?;
            (f.config, check_waivers(&f.waivers, &name_of(p.as_path()))?)
        }
        None => (BTreeMap::new(), Vec::new()),
    };
    let stack = file.stack.name.unwrap_or_else(|| {
        dir.canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_lowercase()))
            .unwrap_or_else(|| "stack".into())
    });
    // Lowest first: engine.toml, the stack's file, flags.
    let mut origins: BTreeMap<String, Origin> = BTreeMap::new();
    let mut config: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String, origin: Origin| {
        config.insert(k.to_string(), v);
        origins.insert(k.to_string(), origin);
    };
    let from_env = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"));
    set(
        "region",
        from_env.unwrap_or_else(|| "us-east-1".into()),
        Origin::Default,
    );
    set("environment", "dev".into(), Origin::Default);
    if let Some(r) = file.stack.region {
        set("region", r, Origin::Project);
    }
    if let Some(e) = file.stack.environment {
        set("environment", e, Origin::Project);
    }
    for (k, v) in file.config {
        let v = match v {
            toml::Value::String(s) => s,
            other => other.to_string(),
        };
        set(canonical(&k), v, Origin::Project);
    }
    for (k, v) in own {
        set(&k, v, Origin::Stack);
    }
    if let Some(r) = &o.region {
        set("region", r.clone(), Origin::Flag);
    }
    if let Some(e) = &o.environment {
        set("environment", e.clone(), Origin::Flag);
    }
    for kv in &o.config {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("`--config {kv}` is not KEY=VALUE"))?;
        set(canonical(k.trim()), v.to_string(), Origin::Flag);
    }
    let region = config.remove("region").unwrap_or_default();
    let environment = config.remove("environment").unwrap_or_default();
    let endpoint = config.remove("endpoint").filter(|e| !e.is_empty());
    let state = config.remove("state").filter(|s| !s.is_empty());
    if let Some(key) = config.keys().find(|k| k.starts_with(crate::facts::PREFIX)) {
        anyhow::bail!(
            "config key `{key}` is reserved: keys starting with `{}` are facts the engine reads \
             from AWS (pin the availability zones with `{}`)",
            crate::facts::PREFIX,
            crate::facts::ZONES_PIN
        );
    }
    let (limits, plugin_limits) =
        self::limits(&file.limits).with_context(|| format!("in {}", path.display()))?;
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
        plugin_limits,
        policies,
        rego_package: file.rego_package,
        waivers: waivers(project_waivers, stack_waivers),
        allowed_account_ids: file.stack.allowed_account_ids,
        origins,
        endpoint,
        state,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(
        text: &str,
    ) -> anyhow::Result<(
        engine_runtime::Limits,
        BTreeMap<String, engine_runtime::Limits>,
    )> {
        limits(&toml::from_str::<toml::Table>(text).unwrap())
    }

    #[test]
    fn a_plugin_table_overrides_the_limits_of_every_plugin_for_that_plugin() {
        let (all, own) = parse(
            "deadline-ms = 9000\nmemory-mb = 100\n[generator]\nmemory-mb = 1024\nanswer-mb = 200\n",
        )
        .unwrap();
        assert_eq!(all.memory_bytes, 100 << 20);
        assert_eq!(all.deadline, std::time::Duration::from_millis(9000));
        assert_eq!(
            all.max_output_bytes,
            engine_runtime::Limits::default().max_output_bytes
        );
        let g = &own["generator"];
        assert_eq!(
            (g.memory_bytes, g.max_output_bytes, g.deadline),
            (1024 << 20, 200 << 20, all.deadline)
        );
        assert_eq!(own.len(), 1);
    }

    #[test]
    fn the_defaults_let_large_stacks_plan() {
        let (all, own) = parse("").unwrap();
        assert_eq!(
            (all.memory_bytes, all.max_output_bytes),
            (256 << 20, 64 << 20)
        );
        assert!(own.is_empty());
    }

    fn waivers_of(text: &str) -> anyhow::Result<Vec<engine_policy::Waiver>> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct W {
            waivers: Vec<WaiverEntry>,
        }
        let w: W = toml::from_str(text)?;
        check_waivers(&w.waivers, "engine.toml")
    }

    #[test]
    fn a_waiver_needs_a_rule_an_address_and_a_reason() {
        let ok = waivers_of(
            "[[waivers]]\nrule = \"multi-az\"\naddress = \"rds/db\"\nreason = \" dev only \"\n",
        )
        .unwrap();
        assert_eq!(
            ok,
            [engine_policy::Waiver {
                rule: "multi-az".into(),
                address: "rds/db".into(),
                reason: "dev only".into(),
                source: "engine.toml".into(),
            }]
        );
        let e = waivers_of(
            "[[waivers]]\nrule = \"multi-az\"\naddress = \"rds/db\"\nreason = \"x\"\n\
             [[waivers]]\nrule = \"multi-az\"\naddress = \"rds/db2\"\nreason = \"  \"\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "engine.toml: [[waivers]] entry 2 (rule `multi-az` on `rds/db2`): `reason` is empty: \
             a waiver must say why the rule does not apply to this resource"
        );
        let e = waivers_of("[[waivers]]\nrule = \"multi-az\"\naddress = \"rds/db\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `reason`"), "{e}");
        let e = waivers_of(
            "[[waivers]]\nrule = \"multi-az\"\naddress = \"rds/db\"\nreason = \"x\"\nuntil = \"2027\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `until`"), "{e}");
        let e = waivers_of("[[waivers]]\nrule = \"multi-az\"\naddress = \"db\"\nreason = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "engine.toml: [[waivers]] entry 1 (rule `multi-az` on `db`): `address`: `db` is not \
             an address of the form `plugin/name`"
        );
        let e = waivers_of("[[waivers]]\nrule = \"\"\naddress = \"rds/db\"\nreason = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("entry 1 (rule `` on `rds/db`): `rule` is empty"),
            "{e}"
        );
    }

    #[test]
    fn a_rule_waived_twice_on_one_resource_is_refused() {
        let e = waivers_of(
            "[[waivers]]\nrule = \"multi-az\"\naddress = \"rds/db\"\nreason = \"a\"\n\
             [[waivers]]\nrule = \"backup-retention\"\naddress = \"rds/db\"\nreason = \"b\"\n\
             [[waivers]]\nrule = \"multi-az\"\naddress = \"rds/db\"\nreason = \"c\"\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "engine.toml: [[waivers]] entry 3 (rule `multi-az` on `rds/db`): the same rule is \
             already waived on the same resource by entry 1: keep one"
        );
    }

    #[test]
    fn the_stack_files_waivers_add_to_and_replace_engine_tomls() {
        let w = |rule: &str, reason: &str, source: &str| engine_policy::Waiver {
            rule: rule.into(),
            address: "rds/db".into(),
            reason: reason.into(),
            source: source.into(),
        };
        let all = waivers(
            vec![
                w("multi-az", "a", "engine.toml"),
                w("x", "b", "engine.toml"),
            ],
            vec![
                w("multi-az", "c", "engine.dev.toml"),
                w("y", "d", "engine.dev.toml"),
            ],
        );
        assert_eq!(
            all,
            [
                w("multi-az", "c", "engine.dev.toml"),
                w("x", "b", "engine.toml"),
                w("y", "d", "engine.dev.toml"),
            ]
        );
    }

    #[test]
    fn writing_a_stack_file_keeps_its_waivers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engine.dev.toml");
        std::fs::write(
            &path,
            "[config]\nmode = \"x\"\n\n[[waivers]]\nrule = \"multi-az\"\naddress = \"rds/db\"\n\
             reason = \"dev\"\n",
        )
        .unwrap();
        let mut f = StackFile::read(&path).unwrap();
        f.config.insert("region".into(), "eu-west-1".into());
        f.write(&path, "dev").unwrap();
        let f = StackFile::read(&path).unwrap();
        assert_eq!(f.config.len(), 2);
        assert_eq!(
            f.waivers,
            [WaiverEntry {
                rule: "multi-az".into(),
                address: "rds/db".into(),
                reason: "dev".into(),
            }]
        );
        // Without waivers, none is written.
        let f = StackFile::default();
        f.write(&path, "dev").unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("waivers"));
    }

    #[test]
    fn a_wrong_setting_is_refused_with_what_is_allowed() {
        let e = parse("[vpc]\nmemroy-mb = 5\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "[limits.vpc]: unknown setting `memroy-mb`: did you mean `memory-mb`? the settings are \
             `deadline-ms`, `memory-mb`, `answer-mb`, and a table [limits.NAME] sets them for the \
             plugin NAME"
        );
        let e = parse("memory-mb = 0\n").unwrap_err().to_string();
        assert_eq!(e, "[limits] memory-mb = 0: must be a whole number above 0");
        let e = parse("answer-mb = \"64\"\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "[limits] answer-mb = \"64\": must be a whole number above 0"
        );
        let e = parse("[\"Bad Name\"]\nmemory-mb = 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`Bad Name` is not a plugin name"), "{e}");
    }
}
