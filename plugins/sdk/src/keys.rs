//! Declared config keys: each key a plugin reads, as a constant that holds its name,
//! default, allowed values and description, and reads the value from the context.
//!
//! A plugin lists the keys it reads in [`info!`](crate::info), and the host uses
//! that list (the WIT `config-key`s of `plugin-info`) to refuse a misspelt key or a
//! bad value before `declare` runs, and to show every key with its default and
//! description (`engine config ls plugins/*.wasm`). `declare` reads each value
//! through the same constant, so the default and the range live in one place:
//!
//! ```
//! use engine_sdk::*;
//!
//! const SHARDS: IntKey<u32> = IntKey::new(
//!     "kinesis-shard-count",
//!     1,
//!     1..=500,
//!     "Shards of the data stream; each takes 1 MB/s of writes.",
//! );
//! const METRICS: ListKey = ListKey::new(
//!     "kinesis-shard-level-metrics",
//!     &["IncomingBytes", "OutgoingBytes"],
//!     "Enhanced shard-level metrics, comma-separated.",
//! );
//!
//! struct Stream;
//!
//! impl ComponentPlugin for Stream {
//!     fn info() -> PluginInfo {
//!         info!("kinesis", "A Kinesis stream.", [SHARDS, METRICS, PROJECT])
//!     }
//!
//!     fn declare(ctx: &Context) -> Result<Stack, String> {
//!         let mut stack = Stack::new();
//!         stack.add(
//!             "stream",
//!             KinesisStream {
//!                 name: ctx.named("stream"),
//!                 shard_count: SHARDS.get(ctx)?,
//!                 retention_period_hours: 24,
//!                 kms_key_id: Some("alias/aws/kinesis".into()),
//!                 shard_level_metrics: METRICS.get(ctx)?,
//!                 tags: ctx.tags(&[]), // reads `project`: hence PROJECT above
//!             },
//!         );
//!         Ok(stack)
//!     }
//! }
//!
//! // What the host sees:
//! let info = Stream::info();
//! assert_eq!(info.config[0].name, "kinesis-shard-count");
//! assert_eq!(info.config[0].default.as_deref(), Some("1"));
//! assert!(matches!(info.config[0].type_, ConfigType::Integer(IntRange { min: 1, max: 500 })));
//! assert_eq!(info.config[1].default.as_deref(), Some("IncomingBytes,OutgoingBytes"));
//!
//! // What `declare` gets: the default when unset, else the value, checked.
//! let ctx = Context::new("shop", "us-east-1", "dev");
//! assert_eq!(SHARDS.get(&ctx), Ok(1));
//! assert_eq!(SHARDS.get(&ctx.clone().with_config("kinesis-shard-count", "4")), Ok(4));
//! assert_eq!(
//!     SHARDS.get(&ctx.clone().with_config("kinesis-shard-count", "0")),
//!     Err("config `kinesis-shard-count` = `0`: must be 1 to 500".to_string())
//! );
//!
//! // A unit test that proves `info` lists every key `declare` reads.
//! assert_eq!(undeclared_keys::<Stream>(&ctx), Vec::<String>::new());
//! # Ok::<(), String>(())
//! ```
//!
//! The kinds, by the value `get` returns:
//!
//! | Key | WIT `config-type` | `get` returns |
//! |---|---|---|
//! | [`IntKey<T>`]: [`new`](IntKey::new) (a range), [`one_of`](IntKey::one_of) (a set) | `integer`, `choice` | `T` |
//! | [`NumberKey`] | `number` | `f64` |
//! | [`BoolKey`] | `boolean` | `bool` |
//! | [`TextKey`]: [`new`](TextKey::new), [`optional`](TextKey::optional) | `text` | `String`, `Option<String>` |
//! | [`ChoiceKey`] | `choice` | `&'static str` |
//! | [`CidrKey`] | `cidr` | [`Ipv4Cidr`] |
//! | [`ListKey`]: [`new`](ListKey::new), [`optional`](ListKey::optional) | `text-list` | `Vec<String>`, `Option<Vec<String>>` |
//! | [`KeyChoiceKey`] | `text` | [`KeyChoice`] |
//!
//! The SDK declares the keys its own helpers read: [`PROJECT`]
//! ([`ContextExt::tags`]), [`AVAILABILITY_ZONES_KEY`]
//! ([`ContextExt::availability_zones`]), and [`KMS_DELETION_WINDOW_DAYS`] for
//! plugins that create KMS keys. The host checks each value again, but `get`
//! checks it too, so `declare` behaves the same in unit tests, which have no host.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::marker::PhantomData;
use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::{
    ComponentPlugin, ConfigKey, ConfigType, Context, ContextExt, IntRange, Ipv4Cidr, KeyChoice,
    NumberRange,
};

/// A declared config key: what [`info!`](crate::info) lists.
pub trait Key {
    /// The key, as the stack writes it (`kinesis-shard-count`).
    fn name(&self) -> &'static str;
    /// Its WIT declaration: name, description, type and default (rendered as the
    /// stack would write it).
    fn config_key(&self) -> ConfigKey;
}

fn declaration(
    name: &'static str,
    description: &'static str,
    type_: ConfigType,
    default: Option<String>,
) -> ConfigKey {
    ConfigKey {
        name: name.to_string(),
        description: description.to_string(),
        type_,
        default,
    }
}

/// `a, b or c`.
fn either(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `const`-friendly string equality.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

mod sealed {
    pub trait Sealed {}
}

/// The integer types an [`IntKey`] holds (`u8` to `u64`, `i8` to `i64`, `usize`).
pub trait Integer:
    sealed::Sealed + Copy + PartialOrd + Display + FromStr<Err = std::num::ParseIntError>
{
    /// The value as a WIT `s64` (saturating: only `u64` and `usize` can overflow).
    fn to_i64(self) -> i64;
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Integer for $t {
            fn to_i64(self) -> i64 {
                i64::try_from(self).unwrap_or(i64::MAX)
            }
        }
    )*};
}
integers!(u8, u16, u32, u64, usize, i8, i16, i32, i64);

enum Allowed<T: 'static> {
    Range(RangeInclusive<T>),
    OneOf(&'static [T]),
}

/// An integer key: WIT `integer` with a range, or `choice` of a few numbers.
///
/// ```
/// # use engine_sdk::*;
/// const RETENTION: IntKey<u32> =
///     IntKey::new("kinesis-retention-hours", 24, 24..=8760, "How long records are kept.");
/// let ctx = Context::new("s", "us-east-1", "dev");
/// assert_eq!(RETENTION.get(&ctx), Ok(24));
/// let bad = ctx.with_config("kinesis-retention-hours", "a day");
/// assert_eq!(
///     RETENTION.get(&bad),
///     Err("config `kinesis-retention-hours` = `a day`: invalid digit found in string".into())
/// );
/// ```
pub struct IntKey<T: 'static> {
    name: &'static str,
    default: T,
    allowed: Allowed<T>,
    description: &'static str,
}

impl<T: Integer> IntKey<T> {
    /// A key whose values lie in `range` (inclusive), `default` when unset.
    pub const fn new(
        name: &'static str,
        default: T,
        range: RangeInclusive<T>,
        description: &'static str,
    ) -> IntKey<T> {
        IntKey {
            name,
            default,
            allowed: Allowed::Range(range),
            description,
        }
    }

    /// A key whose values are exactly `values` (a WIT `choice` of their decimal
    /// forms), `default` when unset.
    ///
    /// ```
    /// # use engine_sdk::*;
    /// const INTERVAL: IntKey<u32> =
    ///     IntKey::one_of("interval", 60, &[0, 1, 5, 10, 15, 30, 60], "Seconds.");
    /// let ctx = Context::new("s", "us-east-1", "dev").with_config("interval", "45");
    /// assert_eq!(
    ///     INTERVAL.get(&ctx),
    ///     Err("config `interval` = `45`: must be 0, 1, 5, 10, 15, 30 or 60".into())
    /// );
    /// assert!(matches!(INTERVAL.config_key().type_, ConfigType::Choice(c) if c.len() == 7));
    /// ```
    pub const fn one_of(
        name: &'static str,
        default: T,
        values: &'static [T],
        description: &'static str,
    ) -> IntKey<T> {
        IntKey {
            name,
            default,
            allowed: Allowed::OneOf(values),
            description,
        }
    }

    /// The value: the default when unset, else the value parsed and checked; an
    /// error names the key and what is allowed (as [`ContextExt::config_in`]).
    pub fn get(&self, ctx: &Context) -> Result<T, String> {
        match &self.allowed {
            Allowed::Range(range) => ctx.config_in(self.name, self.default, range.clone()),
            Allowed::OneOf(values) => {
                let v = ctx.config_parse(self.name, self.default)?;
                if values.contains(&v) {
                    Ok(v)
                } else {
                    let all: Vec<String> = values.iter().map(T::to_string).collect();
                    Err(format!(
                        "config `{}` = `{v}`: must be {}",
                        self.name,
                        either(&all)
                    ))
                }
            }
        }
    }
}

impl<T: Integer> Key for IntKey<T> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn config_key(&self) -> ConfigKey {
        let type_ = match &self.allowed {
            Allowed::Range(r) => ConfigType::Integer(IntRange {
                min: r.start().to_i64(),
                max: r.end().to_i64(),
            }),
            Allowed::OneOf(values) => ConfigType::Choice(values.iter().map(T::to_string).collect()),
        };
        declaration(
            self.name,
            self.description,
            type_,
            Some(self.default.to_string()),
        )
    }
}

/// A decimal number key in a range (WIT `number`).
///
/// ```
/// # use engine_sdk::*;
/// const CPU: NumberKey = NumberKey::new("cpu-alarm-percent", 80.0, 0.0..=100.0, "CPU alarm threshold.");
/// let ctx = Context::new("s", "us-east-1", "dev");
/// assert_eq!(CPU.get(&ctx), Ok(80.0));
/// assert_eq!(CPU.config_key().default.as_deref(), Some("80"));
/// let bad = ctx.with_config("cpu-alarm-percent", "120");
/// assert_eq!(CPU.get(&bad), Err("config `cpu-alarm-percent` = `120`: must be 0 to 100".into()));
/// ```
pub struct NumberKey {
    name: &'static str,
    default: f64,
    range: RangeInclusive<f64>,
    description: &'static str,
}

impl NumberKey {
    /// A key whose values lie in `range` (inclusive), `default` when unset.
    pub const fn new(
        name: &'static str,
        default: f64,
        range: RangeInclusive<f64>,
        description: &'static str,
    ) -> NumberKey {
        assert!(
            *range.start() <= default && default <= *range.end(),
            "the default is outside the range"
        );
        NumberKey {
            name,
            default,
            range,
            description,
        }
    }

    /// The value: the default when unset, else the value parsed and checked.
    pub fn get(&self, ctx: &Context) -> Result<f64, String> {
        ctx.config_in(self.name, self.default, self.range.clone())
    }
}

impl Key for NumberKey {
    fn name(&self) -> &'static str {
        self.name
    }

    fn config_key(&self) -> ConfigKey {
        let type_ = ConfigType::Number(NumberRange {
            min: *self.range.start(),
            max: *self.range.end(),
        });
        declaration(
            self.name,
            self.description,
            type_,
            Some(self.default.to_string()),
        )
    }
}

/// A `true`/`false` key (WIT `boolean`).
///
/// ```
/// # use engine_sdk::*;
/// const ENDPOINT: BoolKey = BoolKey::new("vpc-endpoint", true, "Whether to add the endpoint.");
/// let ctx = Context::new("s", "us-east-1", "dev").with_config("vpc-endpoint", "false");
/// assert_eq!(ENDPOINT.get(&ctx), Ok(false));
/// ```
pub struct BoolKey<V = bool> {
    name: &'static str,
    default: Option<bool>,
    description: &'static str,
    value: PhantomData<fn() -> V>,
}

impl BoolKey {
    /// A key that is `default` when unset.
    pub const fn new(name: &'static str, default: bool, description: &'static str) -> BoolKey {
        BoolKey {
            name,
            default: Some(default),
            description,
            value: PhantomData,
        }
    }

    /// The value: the default when unset; an error unless `true` or `false`.
    pub fn get(&self, ctx: &Context) -> Result<bool, String> {
        ctx.config_parse(self.name, self.default.unwrap_or_default())
    }
}

impl BoolKey<Option<bool>> {
    /// A key with no fixed default, for one whose value when unset depends on the
    /// context (the description says how): `get` is `None` when it is unset.
    ///
    /// ```
    /// # use engine_sdk::*;
    /// const GUARD: BoolKey<Option<bool>> =
    ///     BoolKey::optional("guard", "Unset: on except in `dev`.");
    /// let ctx = Context::new("s", "us-east-1", "dev");
    /// assert_eq!(GUARD.get(&ctx), Ok(None));
    /// assert_eq!(GUARD.get(&ctx.with_config("guard", "true")), Ok(Some(true)));
    /// assert_eq!(GUARD.config_key().default, None);
    /// ```
    pub const fn optional(name: &'static str, description: &'static str) -> Self {
        BoolKey {
            name,
            default: None,
            description,
            value: PhantomData,
        }
    }

    /// The value, if set; an error unless `true` or `false`.
    pub fn get(&self, ctx: &Context) -> Result<Option<bool>, String> {
        match ctx.config(self.name) {
            None => Ok(None),
            Some(_) => ctx.config_parse(self.name, false).map(Some),
        }
    }
}

impl<V> Key for BoolKey<V> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn config_key(&self) -> ConfigKey {
        declaration(
            self.name,
            self.description,
            ConfigType::Boolean,
            self.default.map(|d| d.to_string()),
        )
    }
}

/// A text key (WIT `text`). `TextKey` (made by [`TextKey::new`]) has a default and
/// `get` returns a `String`; `TextKey<Option<String>>` (made by
/// [`TextKey::optional`]) has none, for a key whose absence means something the
/// description says, and `get` returns `None` when it is unset.
///
/// ```
/// # use engine_sdk::*;
/// const NODE_TYPE: TextKey = TextKey::new("node-type", "cache.t3.micro", "Node type.");
/// const OWNER: TextKey<Option<String>> =
///     TextKey::optional("owner", "The `owner` tag; unset, no such tag.");
/// let ctx = Context::new("s", "us-east-1", "dev").with_config("owner", "data");
/// assert_eq!(NODE_TYPE.get(&ctx)?, "cache.t3.micro");
/// assert_eq!(OWNER.get(&ctx)?.as_deref(), Some("data"));
/// assert_eq!(OWNER.config_key().default, None);
/// # Ok::<(), String>(())
/// ```
pub struct TextKey<V = String> {
    name: &'static str,
    default: Option<&'static str>,
    description: &'static str,
    value: PhantomData<fn() -> V>,
}

impl TextKey {
    /// A key that is `default` when unset.
    pub const fn new(
        name: &'static str,
        default: &'static str,
        description: &'static str,
    ) -> TextKey {
        TextKey {
            name,
            default: Some(default),
            description,
            value: PhantomData,
        }
    }

    /// The value, or the default.
    pub fn get(&self, ctx: &Context) -> Result<String, String> {
        Ok(ctx.config_or(self.name, self.default.unwrap_or_default()))
    }
}

impl TextKey<Option<String>> {
    /// A key with no default: `get` is `None` when the stack does not set it.
    pub const fn optional(name: &'static str, description: &'static str) -> Self {
        TextKey {
            name,
            default: None,
            description,
            value: PhantomData,
        }
    }

    /// The value, if set.
    pub fn get(&self, ctx: &Context) -> Result<Option<String>, String> {
        Ok(ctx.config(self.name).map(String::from))
    }
}

impl<V> Key for TextKey<V> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn config_key(&self) -> ConfigKey {
        declaration(
            self.name,
            self.description,
            ConfigType::Text,
            self.default.map(String::from),
        )
    }
}

/// A key that is exactly one of a few words (WIT `choice`).
///
/// ```
/// # use engine_sdk::*;
/// const TIER: ChoiceKey = ChoiceKey::new("tier", "small", &["small", "large"], "Instance size.");
/// let ctx = Context::new("s", "us-east-1", "dev");
/// assert_eq!(TIER.get(&ctx), Ok("small"));
/// let bad = ctx.with_config("tier", "huge");
/// assert_eq!(TIER.get(&bad), Err("config `tier` = `huge`: must be `small` or `large`".into()));
/// ```
pub struct ChoiceKey {
    name: &'static str,
    default: &'static str,
    choices: &'static [&'static str],
    description: &'static str,
}

impl ChoiceKey {
    /// A key whose value is one of `choices`, `default` (one of them) when unset.
    pub const fn new(
        name: &'static str,
        default: &'static str,
        choices: &'static [&'static str],
        description: &'static str,
    ) -> ChoiceKey {
        let mut i = 0;
        while i < choices.len() && !same(choices[i], default) {
            i += 1;
        }
        assert!(i < choices.len(), "the default is not one of the choices");
        ChoiceKey {
            name,
            default,
            choices,
            description,
        }
    }

    /// The value: the default when unset; an error unless it is one of the choices.
    pub fn get(&self, ctx: &Context) -> Result<&'static str, String> {
        let Some(v) = ctx.config(self.name) else {
            return Ok(self.default);
        };
        self.choices
            .iter()
            .copied()
            .find(|c| *c == v)
            .ok_or_else(|| {
                let all: Vec<String> = self.choices.iter().map(|c| format!("`{c}`")).collect();
                format!("config `{}` = `{v}`: must be {}", self.name, either(&all))
            })
    }
}

impl Key for ChoiceKey {
    fn name(&self) -> &'static str {
        self.name
    }

    fn config_key(&self) -> ConfigKey {
        declaration(
            self.name,
            self.description,
            ConfigType::Choice(self.choices.iter().map(|c| c.to_string()).collect()),
            Some(self.default.to_string()),
        )
    }
}

/// An IPv4 CIDR block key (WIT `cidr`).
///
/// ```
/// # use engine_sdk::*;
/// const VPC_CIDR: CidrKey = CidrKey::new("vpc-cidr", "10.0.0.0/16", "The VPC's block.");
/// let ctx = Context::new("s", "us-east-1", "dev");
/// assert_eq!(VPC_CIDR.get(&ctx)?.to_string(), "10.0.0.0/16");
/// let bad = ctx.with_config("vpc-cidr", "10.0.0.1/16");
/// assert!(VPC_CIDR.get(&bad).unwrap_err().starts_with("config `vpc-cidr`: `10.0.0.1/16` is not"));
/// # Ok::<(), String>(())
/// ```
pub struct CidrKey {
    name: &'static str,
    default: &'static str,
    description: &'static str,
}

impl CidrKey {
    /// A key that is the block `default` when unset.
    pub const fn new(
        name: &'static str,
        default: &'static str,
        description: &'static str,
    ) -> CidrKey {
        CidrKey {
            name,
            default,
            description,
        }
    }

    /// The block: the default when unset; an error names the key.
    pub fn get(&self, ctx: &Context) -> Result<Ipv4Cidr, String> {
        Ipv4Cidr::parse(ctx.config(self.name).unwrap_or(self.default))
            .map_err(|e| format!("config `{}`: {e}", self.name))
    }
}

impl Key for CidrKey {
    fn name(&self) -> &'static str {
        self.name
    }

    fn config_key(&self) -> ConfigKey {
        declaration(
            self.name,
            self.description,
            ConfigType::Cidr,
            Some(self.default.to_string()),
        )
    }
}

/// A comma-separated list key (WIT `text-list`): items trimmed, empty items
/// dropped, as [`ContextExt::config_list`]. `ListKey` (made by [`ListKey::new`]) has
/// a default; `ListKey<Option<Vec<String>>>` (made by [`ListKey::optional`]) has
/// none, and `get` is `None` when it is unset.
///
/// ```
/// # use engine_sdk::*;
/// const METRICS: ListKey = ListKey::new("metrics", &["IncomingBytes", "OutgoingBytes"], "Metrics.");
/// const SUBNETS: ListKey<Option<Vec<String>>> =
///     ListKey::optional("subnet-cidrs", "Subnet blocks; unset, derived from the VPC's.");
/// let ctx = Context::new("s", "us-east-1", "dev").with_config("subnet-cidrs", " 10.0.1.0/24,, 10.0.2.0/24");
/// assert_eq!(METRICS.get(&ctx)?, ["IncomingBytes", "OutgoingBytes"]);
/// assert_eq!(METRICS.config_key().default.as_deref(), Some("IncomingBytes,OutgoingBytes"));
/// assert_eq!(SUBNETS.get(&ctx)?, Some(vec!["10.0.1.0/24".into(), "10.0.2.0/24".into()]));
/// # Ok::<(), String>(())
/// ```
pub struct ListKey<V = Vec<String>> {
    name: &'static str,
    default: Option<&'static [&'static str]>,
    description: &'static str,
    value: PhantomData<fn() -> V>,
}

impl ListKey {
    /// A key that is the list `default` when unset.
    pub const fn new(
        name: &'static str,
        default: &'static [&'static str],
        description: &'static str,
    ) -> ListKey {
        ListKey {
            name,
            default: Some(default),
            description,
            value: PhantomData,
        }
    }

    /// The items, or the default.
    pub fn get(&self, ctx: &Context) -> Result<Vec<String>, String> {
        Ok(ctx.config_list(self.name, self.default.unwrap_or_default()))
    }
}

impl ListKey<Option<Vec<String>>> {
    /// A key with no default: `get` is `None` when the stack does not set it.
    pub const fn optional(name: &'static str, description: &'static str) -> Self {
        ListKey {
            name,
            default: None,
            description,
            value: PhantomData,
        }
    }

    /// The items, if set.
    pub fn get(&self, ctx: &Context) -> Result<Option<Vec<String>>, String> {
        Ok(ctx
            .config(self.name)
            .map(|_| ctx.config_list(self.name, &[])))
    }
}

impl<V> Key for ListKey<V> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn config_key(&self) -> ConfigKey {
        declaration(
            self.name,
            self.description,
            ConfigType::TextList,
            self.default.map(|d| d.join(",")),
        )
    }
}

/// A key choosing the KMS key that encrypts something ([`KeyChoice`]): `create`,
/// `aws-managed`, `none`, or an existing key's id, ARN, alias name or alias ARN.
/// Its WIT type is `text` (an ARN is not one of a few words), so the description
/// should list the choices this plugin accepts; refusing one (`none` where the
/// service always encrypts) is the plugin's job.
///
/// ```
/// # use engine_sdk::*;
/// const KEY: KeyChoiceKey = KeyChoiceKey::new(
///     "stream-kms-key",
///     "create",
///     "The stream's key: `create`, `aws-managed` or an existing key.",
/// );
/// let ctx = Context::new("s", "us-east-1", "dev");
/// assert_eq!(KEY.get(&ctx), Ok(KeyChoice::Create));
/// let ctx = ctx.with_config("stream-kms-key", "alias/mine");
/// assert_eq!(KEY.get(&ctx), Ok(KeyChoice::Existing("alias/mine".into())));
/// ```
pub struct KeyChoiceKey {
    name: &'static str,
    default: &'static str,
    description: &'static str,
}

impl KeyChoiceKey {
    /// A key that is `default` (for example `create`) when unset.
    pub const fn new(
        name: &'static str,
        default: &'static str,
        description: &'static str,
    ) -> KeyChoiceKey {
        KeyChoiceKey {
            name,
            default,
            description,
        }
    }

    /// The choice, or the default's (as [`ContextExt::key_choice`]).
    pub fn get(&self, ctx: &Context) -> Result<KeyChoice, String> {
        Ok(ctx.key_choice(self.name, self.default))
    }
}

impl Key for KeyChoiceKey {
    fn name(&self) -> &'static str {
        self.name
    }

    fn config_key(&self) -> ConfigKey {
        declaration(
            self.name,
            self.description,
            ConfigType::Text,
            Some(self.default.to_string()),
        )
    }
}

/// The key [`ContextExt::tags`] reads for the `project` tag. List it in
/// [`info!`](crate::info) when the plugin tags anything with `ctx.tags`.
pub const PROJECT: TextKey<Option<String>> = TextKey::optional(
    "project",
    "The `project` tag on everything the stack creates; unset, the stack's name.",
);

/// The key that pins the availability zones, [`AVAILABILITY_ZONES`](crate::AVAILABILITY_ZONES),
/// which [`ContextExt::availability_zones`] and
/// [`ContextExt::availability_zones_offering`] read. List it in
/// [`info!`](crate::info) when the plugin calls either.
pub const AVAILABILITY_ZONES_KEY: ListKey<Option<Vec<String>>> = ListKey::optional(
    crate::AVAILABILITY_ZONES,
    "The availability zones to use, comma-separated, in order (pinning them: no lookup); \
     unset, the region's available zones as read from AWS, else `{region}a`, `{region}b` \
     and so on.",
);

/// Days between scheduling the deletion of a KMS key a plugin creates
/// ([`Stack::add_kms_key`](crate::Stack::add_kms_key)) and its deletion: AWS allows 7
/// to 30, and waits 30 unless told otherwise
/// (<https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html>).
/// One key for every plugin of a stack that creates KMS keys.
pub const KMS_DELETION_WINDOW_DAYS: IntKey<u32> = IntKey::new(
    "kms-deletion-window-days",
    30,
    7..=30,
    "Days between scheduling the deletion of a KMS key the stack created and its deletion.",
);

thread_local! {
    /// The keys read on this thread while [`undeclared_keys`] runs `declare`.
    static READ: std::cell::RefCell<Option<BTreeSet<String>>> =
        const { std::cell::RefCell::new(None) };
}

/// Notes that `key` was read (only while [`undeclared_keys`] listens).
pub(crate) fn note_read(key: &str) {
    READ.with(|r| {
        if let Some(read) = r.borrow_mut().as_mut()
            && !key.starts_with("aws:")
        {
            read.insert(key.to_string());
        }
    });
}

/// For unit tests: runs `P::declare(ctx)` and returns the config keys it read
/// (through [`ContextExt`] or a key's `get`) that `P::info()` does not list,
/// sorted; empty when the plugin declares every key it reads. Host facts (`aws:`
/// keys) are not keys. Only the branches `ctx` takes are seen: call it with
/// contexts that reach every key.
///
/// ```
/// # use engine_sdk::*;
/// struct Forgetful;
/// impl ComponentPlugin for Forgetful {
///     fn info() -> PluginInfo {
///         info!("forgetful", "Reads a key it does not declare.")
///     }
///     fn declare(ctx: &Context) -> Result<Stack, String> {
///         let _size = ctx.config_or("size", "1");
///         Ok(Stack::new())
///     }
/// }
/// let ctx = Context::new("s", "us-east-1", "dev");
/// assert_eq!(undeclared_keys::<Forgetful>(&ctx), ["size"]);
/// ```
pub fn undeclared_keys<P: ComponentPlugin>(ctx: &Context) -> Vec<String> {
    READ.with(|r| *r.borrow_mut() = Some(BTreeSet::new()));
    // Its result does not matter: a failing `declare` has read keys too.
    let _ = P::declare(ctx);
    let read = READ.with(|r| r.borrow_mut().take()).unwrap_or_default();
    let declared: Vec<String> = P::info().config.into_iter().map(|k| k.name).collect();
    read.into_iter().filter(|k| !declared.contains(k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info;

    fn ctx() -> Context {
        Context::new("shop", "us-east-1", "dev")
    }

    #[test]
    fn keys_declare_their_type_and_default_as_the_stack_writes_them() {
        let k = KMS_DELETION_WINDOW_DAYS.config_key();
        assert_eq!(k.name, "kms-deletion-window-days");
        assert_eq!(k.default.as_deref(), Some("30"));
        assert!(matches!(
            k.type_,
            ConfigType::Integer(IntRange { min: 7, max: 30 })
        ));
        let big: IntKey<u64> = IntKey::new("big", 0, 0..=u64::MAX, "Big.");
        assert!(matches!(
            big.config_key().type_,
            ConfigType::Integer(IntRange {
                min: 0,
                max: i64::MAX
            })
        ));
        let f = NumberKey::new("f", 2.5, -1.0..=1e3, "F.").config_key();
        assert_eq!(f.default.as_deref(), Some("2.5"));
        assert!(
            matches!(f.type_, ConfigType::Number(NumberRange { min, max }) if min == -1.0 && max == 1000.0)
        );
        let b = BoolKey::new("b", false, "B.").config_key();
        assert!(matches!(b.type_, ConfigType::Boolean));
        assert_eq!(b.default.as_deref(), Some("false"));
        let c = CidrKey::new("c", "10.0.0.0/16", "C.").config_key();
        assert!(matches!(c.type_, ConfigType::Cidr));
        let k = KeyChoiceKey::new("k", "create", "K.").config_key();
        assert!(matches!(k.type_, ConfigType::Text));
        assert_eq!(k.default.as_deref(), Some("create"));
        let z = AVAILABILITY_ZONES_KEY.config_key();
        assert!(matches!(z.type_, ConfigType::TextList));
        assert_eq!((z.name.as_str(), z.default), ("availability-zones", None));
        let e = ListKey::new("e", &[], "E.").config_key();
        assert_eq!(e.default.as_deref(), Some(""));
        assert_eq!(PROJECT.config_key().default, None);
    }

    #[test]
    fn get_checks_like_the_context_helpers() {
        let k = IntKey::new("n", 5u32, 1..=10, "N.");
        assert_eq!(k.get(&ctx()), Ok(5));
        assert_eq!(
            k.get(&ctx().with_config("n", "-1")),
            ctx().with_config("n", "-1").config_in("n", 5u32, 1..=10)
        );
        assert_eq!(
            k.get(&ctx().with_config("n", "11")),
            Err("config `n` = `11`: must be 1 to 10".into())
        );
        let b = BoolKey::new("b", true, "B.");
        assert_eq!(
            b.get(&ctx().with_config("b", "yes")),
            Err("config `b` = `yes`: provided string was not `true` or `false`".into())
        );
        let t = TextKey::new("t", "x", "T.");
        assert_eq!(t.get(&ctx().with_config("t", "")), Ok(String::new()));
        let l: ListKey<Option<Vec<String>>> = ListKey::optional("l", "L.");
        assert_eq!(l.get(&ctx()), Ok(None));
        assert_eq!(l.get(&ctx().with_config("l", "")), Ok(Some(vec![])));
        let k = KeyChoiceKey::new("k", "create", "K.");
        assert_eq!(
            k.get(&ctx().with_config("k", " none ")),
            Ok(KeyChoice::Unencrypted)
        );
        let c = ChoiceKey::new("c", "b", &["a", "b", "c"], "C.");
        assert_eq!(c.get(&ctx().with_config("c", "c")), Ok("c"));
        assert_eq!(
            c.get(&ctx().with_config("c", " a")),
            Err("config `c` = ` a`: must be `a`, `b` or `c`".into())
        );
    }

    #[test]
    fn info_lists_the_keys_in_order() {
        const A: IntKey<u8> = IntKey::new("a", 1, 0..=9, "A.");
        const B: TextKey = TextKey::new("b", "x", "B.");
        let info = info!("p", "P.", [A, B, PROJECT,]);
        let names: Vec<&str> = info.config.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "project"]);
        assert!(info!("p", "P.").config.is_empty());
        assert!(info!("p", "P.", []).config.is_empty());
    }
}
