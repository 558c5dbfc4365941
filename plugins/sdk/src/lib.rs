//! Write `engine` plugins in Rust.
//!
//! A *component plugin* declares resources; the host validates, plans and applies
//! them. A *policy plugin* checks a planned stack. Both are WebAssembly components
//! built for `wasm32-unknown-unknown` that import nothing but the engine's WIT
//! (`wit/engine.wit`): no files, network, clock or randomness. This crate hides the
//! generated bindings behind a small API. `engine new component NAME` scaffolds a
//! crate that uses it; `docs/authoring.md` walks from there to a deployed plugin.
//!
//! # A component plugin
//!
//! ```
//! use engine_sdk::*;
//!
//! /// A config key: its name, default and description in one place. The host
//! /// checks a value the stack sets (an IPv4 CIDR block) before `declare` runs.
//! const VPC_CIDR: CidrKey = CidrKey::new("vpc-cidr", "10.0.0.0/16", "The VPC's IPv4 block.");
//!
//! struct Network;
//!
//! impl ComponentPlugin for Network {
//!     fn info() -> PluginInfo {
//!         // Every config key `declare` reads, the SDK's own included: `tags` reads
//!         // PROJECT, `availability_zones` AVAILABILITY_ZONES_KEY.
//!         info!(
//!             "network",
//!             "A VPC with one subnet.",
//!             [VPC_CIDR, AVAILABILITY_ZONES_KEY, PROJECT]
//!         )
//!     }
//!
//!     fn declare(ctx: &Context) -> Result<Stack, String> {
//!         let cidr = VPC_CIDR.get(ctx)?;
//!         let mut stack = Stack::new();
//!         let vpc = stack.add(
//!             "main",
//!             Vpc {
//!                 cidr_block: cidr.to_string(),
//!                 enable_dns_support: true,
//!                 enable_dns_hostnames: true,
//!                 tags: ctx.tags(&[("Name", &ctx.named("network"))]),
//!             },
//!         );
//!         stack.add(
//!             "subnet",
//!             Subnet {
//!                 vpc_id: vpc.attr("id"), // a reference: known once the VPC exists
//!                 cidr_block: cidr.subnet(8, 1)?.to_string(),
//!                 // The region's first zone (see `ContextExt::availability_zones`).
//!                 availability_zone: ctx.availability_zones(1)?.remove(0),
//!                 map_public_ip_on_launch: false,
//!                 tags: ctx.tags(&[]),
//!             },
//!         );
//!         stack.output("vpc_id", "The VPC", vpc.output("id"));
//!         Ok(stack)
//!     }
//! }
//!
//! component!(Network);
//!
//! // `declare` is plain Rust: test it on the host with `cargo test`.
//! let ctx = Context::new("shop", "us-east-1", "dev").with_config("vpc-cidr", "10.1.0.0/16");
//! let stack = Network::declare(&ctx)?;
//! let Some(ResourceSpec::Subnet(subnet)) = stack.get("subnet") else { panic!() };
//! assert_eq!(subnet.cidr_block, "10.1.1.0/24");
//! assert_eq!(subnet.availability_zone, "us-east-1a");
//! assert_eq!(subnet.vpc_id.reference().map(|r| r.attribute.as_str()), Some("id"));
//! // And `info` lists every key `declare` reads.
//! assert!(undeclared_keys::<Network>(&ctx).is_empty());
//! # Ok::<(), String>(())
//! ```
//!
//! The resource's address is `plugin/name` (`network/main`); other plugins refer to
//! it with [`Handle::external`]. [`kinds`] shows every resource kind with an example,
//! its attributes and the fields whose change replaces it.
//!
//! # A policy plugin
//!
//! ```
//! use engine_sdk::*;
//!
//! struct Encryption;
//!
//! impl PolicyPlugin for Encryption {
//!     fn info() -> PluginInfo {
//!         info!("encryption", "Topics are encrypted at rest.")
//!     }
//!
//!     fn check(plan: &PlanView) -> Vec<Violation> {
//!         plan.resources
//!             .iter()
//!             .filter(|r| r.action != Action::Delete)
//!             .filter(|r| matches!(&r.spec, ResourceSpec::SnsTopic(t) if t.kms_key_id.is_none()))
//!             .map(|r| {
//!                 Violation::mandatory(
//!                     "encryption-at-rest",
//!                     &r.address,
//!                     "The topic is not encrypted at rest.",
//!                     "Set `kms_key_id` to a KMS key.",
//!                 )
//!             })
//!             .collect()
//!     }
//! }
//!
//! policy!(Encryption);
//! ```
//!
//! # Testing and logging
//!
//! `declare` and `check` are plain functions of their input, so unit tests call
//! them directly on the host (`cargo test`; [`Context::new`] builds a context). The
//! one exception is [`log`]: it calls the host, which exists only inside the engine,
//! so a test that reaches it aborts. Return errors as `Err(String)` from `declare`:
//! the engine shows them with the plugin's name. A panic is reported too (the export
//! macros install [`install_panic_hook`]), but it stops the plugin.
//!
//! # Layout
//! - [`bindings`]: the generated WIT bindings (the one `generate!` site for guests).
//! - [`Stack`] / [`Handle`]: declaring resources and referring to their attributes.
//! - [`kinds`]: every resource kind, with an example.
//! - [`keys`]: declared config keys ([`IntKey`], [`NumberKey`], [`BoolKey`],
//!   [`TextKey`], [`ChoiceKey`], [`CidrKey`], [`ListKey`], [`KeyChoiceKey`]), each a
//!   constant with its name, default, allowed values and description, listed in
//!   [`info!`] and read with `get`; [`undeclared_keys`] for tests.
//! - [`ContextExt`]: config values (plain, parsed, range-checked, lists, [`KeyChoice`];
//!   older helpers: prefer declared [`keys`]), names with the environment suffix ([`ContextExt::named`]; for names global to
//!   the account, [`ContextExt::global_named`]), the region's availability zones
//!   ([`ContextExt::availability_zones`]), the partition, common tags;
//!   [`Context::new`] for tests.
//! - Helpers for common shapes: [`Stack::add_kms_key`] (key + alias),
//!   [`SecurityGroupRule::tcp`], [`service_trust_policy`], [`check_identifier`],
//!   [`Ipv4Cidr`] (parse, `cidrsubnet`-like subnets, containment).
//! - For policies: [`Violation::mandatory`] / [`Violation::advisory`],
//!   [`ResourceSpec::kind`], [`Text::as_literal`].
//! - [`component!`] / [`policy!`]: export a plugin type; they also install a panic
//!   hook that forwards the panic message to the host.

#![warn(missing_docs)]

pub mod keys;
pub mod kinds;
pub use keys::{
    AVAILABILITY_ZONES_KEY, BoolKey, ChoiceKey, CidrKey, IntKey, Integer, KMS_DELETION_WINDOW_DAYS,
    Key, KeyChoiceKey, ListKey, NumberKey, PROJECT, TextKey, undeclared_keys,
};
pub use kinds::KINDS;

/// The generated bindings. Plugin code should not need these directly.
pub mod bindings {
    /// Bindings for the `component` world.
    #[allow(missing_docs)]
    pub mod component {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "engine:plugin/component",
            pub_export_macro: true,
            export_macro_name: "export_component_world",
            default_bindings_module: "engine_sdk::bindings::component",
        });
    }
    /// Bindings for the `policy` world (types shared with `component`).
    #[allow(missing_docs)]
    pub mod policy {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "engine:plugin/policy",
            pub_export_macro: true,
            export_macro_name: "export_policy_world",
            default_bindings_module: "engine_sdk::bindings::policy",
            with: {
                "engine:plugin/types@0.4.0": crate::bindings::component::engine::plugin::types,
                "engine:plugin/host@0.4.0": crate::bindings::component::engine::plugin::host,
            },
        });
    }
}

pub use bindings::component::engine::plugin::host::LogLevel;
pub use bindings::component::engine::plugin::types::*;

use bindings::component::engine::plugin::host;

/// Writes a message to the engine's log.
pub fn log(level: LogLevel, message: &str) {
    host::log(level, message);
}

/// `PluginInfo` with the crate's version: `info!(name, description)`, or
/// `info!(name, description, [KEY, ...])` for a component plugin that reads config
/// keys, each a constant of the [`keys`] module's types (anything that implements
/// [`Key`]). Without the list, `config` is empty: right for a policy plugin, and for
/// a component plugin that reads no config.
///
/// The host refuses a stack value for a key that no plugin of the stack lists, and
/// checks each value against the key's type before `declare` runs. List every key
/// `declare` reads, the SDK's own included: [`PROJECT`] when the plugin calls
/// [`ContextExt::tags`], [`AVAILABILITY_ZONES_KEY`] when it calls
/// [`ContextExt::availability_zones`]. [`undeclared_keys`] checks that in a unit
/// test.
///
/// ```
/// use engine_sdk::*;
///
/// const SHARDS: IntKey<u32> = IntKey::new(
///     "kinesis-shard-count",
///     1,
///     1..=500,
///     "Shards of the data stream; each takes 1 MB/s of writes.",
/// );
/// const RETENTION: IntKey<u32> =
///     IntKey::new("kinesis-retention-hours", 24, 24..=8760, "How long records are kept.");
///
/// let info = info!("kinesis", "A Kinesis stream.", [SHARDS, RETENTION]);
/// assert_eq!(info.name, "kinesis");
/// assert_eq!(info.config.len(), 2);
/// assert_eq!(info.config[1].name, "kinesis-retention-hours");
/// assert!(info!("baseline", "A policy.").config.is_empty());
/// ```
#[macro_export]
macro_rules! info {
    ($name:expr, $description:expr $(,)?) => {
        $crate::info!($name, $description, [])
    };
    ($name:expr, $description:expr, [$($key:expr),* $(,)?] $(,)?) => {
        $crate::PluginInfo {
            name: ::std::string::String::from($name),
            version: ::std::string::String::from(env!("CARGO_PKG_VERSION")),
            description: ::std::string::String::from($description),
            config: ::std::vec![$($crate::Key::config_key(&$key)),*],
        }
    };
}

/// A component plugin.
pub trait ComponentPlugin {
    /// Who the plugin is; `name` is the first part of its resources' addresses.
    fn info() -> PluginInfo;
    /// Declares the plugin's resources and outputs.
    fn declare(ctx: &Context) -> Result<Stack, String>;
}

/// A policy plugin.
pub trait PolicyPlugin {
    /// Who the plugin is.
    fn info() -> PluginInfo;
    /// Returns every violation in the plan.
    fn check(plan: &PlanView) -> Vec<Violation>;
}

/// Exports a [`ComponentPlugin`] type as the plugin's implementation.
#[macro_export]
macro_rules! component {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __EngineComponent;
        impl $crate::bindings::component::exports::engine::plugin::component_plugin::Guest
            for __EngineComponent
        {
            fn metadata() -> $crate::PluginInfo {
                $crate::install_panic_hook();
                <$plugin as $crate::ComponentPlugin>::info()
            }
            fn declare(
                ctx: $crate::Context,
            ) -> ::std::result::Result<$crate::Declaration, ::std::string::String> {
                $crate::install_panic_hook();
                <$plugin as $crate::ComponentPlugin>::declare(&ctx).map($crate::Stack::finish)
            }
        }
        $crate::bindings::component::export_component_world!(__EngineComponent);
    };
}

/// Exports a [`PolicyPlugin`] type as the plugin's implementation.
#[macro_export]
macro_rules! policy {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __EnginePolicy;
        impl $crate::bindings::policy::exports::engine::plugin::policy_plugin::Guest
            for __EnginePolicy
        {
            fn metadata() -> $crate::PluginInfo {
                $crate::install_panic_hook();
                <$plugin as $crate::PolicyPlugin>::info()
            }
            fn check(plan: $crate::PlanView) -> ::std::vec::Vec<$crate::Violation> {
                $crate::install_panic_hook();
                <$plugin as $crate::PolicyPlugin>::check(&plan)
            }
        }
        $crate::bindings::policy::export_policy_world!(__EnginePolicy);
    };
}

/// Sends panic messages to the host (with `panic = "abort"` they would be lost).
/// The export macros call this; calling it again does nothing.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            host::log(LogLevel::Error, &format!("panicked: {info}"));
        }));
    });
}

/// The resources and outputs a plugin declares.
#[derive(Default)]
pub struct Stack {
    resources: Vec<Resource>,
    outputs: Vec<Output>,
}

/// A declared resource (or another plugin's), for referring to its attributes.
#[derive(Clone, Debug)]
pub struct Handle {
    address: String,
}

impl Handle {
    /// Another plugin's resource, by address (`plugin/name`).
    pub fn external(address: &str) -> Handle {
        Handle {
            address: address.to_string(),
        }
    }

    /// The address as written in references.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// An attribute of this resource, known once it exists.
    pub fn attr(&self, attribute: &str) -> Text {
        Text::Ref(self.reference(attribute))
    }

    /// An attribute of this resource as a stack output value.
    pub fn output(&self, attribute: &str) -> OutputValue {
        OutputValue::Ref(self.reference(attribute))
    }

    fn reference(&self, attribute: &str) -> Reference {
        Reference {
            resource: self.address.clone(),
            attribute: attribute.to_string(),
        }
    }
}

impl Stack {
    /// An empty stack.
    pub fn new() -> Stack {
        Stack::default()
    }

    /// Declares a resource named `name` (lowercase letters, digits, `-`).
    pub fn add(&mut self, name: &str, spec: impl Into<ResourceSpec>) -> Handle {
        self.add_after(name, spec, &[])
    }

    /// Declares a resource that must also come after `depends_on` (handles of
    /// resources it does not reference).
    pub fn add_after(
        &mut self,
        name: &str,
        spec: impl Into<ResourceSpec>,
        depends_on: &[&Handle],
    ) -> Handle {
        self.resources.push(Resource {
            name: name.to_string(),
            spec: spec.into(),
            depends_on: depends_on.iter().map(|h| h.address.clone()).collect(),
        });
        Handle {
            address: name.to_string(),
        }
    }

    /// Declares a customer-managed KMS key `name` with yearly rotation, and an alias
    /// `name-alias` called `alias/<alias>` that points at it; returns the key.
    pub fn add_kms_key(
        &mut self,
        name: &str,
        alias: &str,
        description: &str,
        deletion_window_days: u32,
        tags: Vec<Tag>,
    ) -> Handle {
        self.add_kms_key_for_services(name, alias, description, deletion_window_days, tags, &[])
    }

    /// Like [`Stack::add_kms_key`], and lets the AWS `services` (for example
    /// `cloudwatch.amazonaws.com`) use the key to encrypt and decrypt: needed when
    /// a service writes to something the key encrypts, such as CloudWatch alarms
    /// publishing to an encrypted SNS topic.
    pub fn add_kms_key_for_services(
        &mut self,
        name: &str,
        alias: &str,
        description: &str,
        deletion_window_days: u32,
        tags: Vec<Tag>,
        services: &[&str],
    ) -> Handle {
        let key = self.add(
            name,
            KmsKey {
                description: description.to_string(),
                enable_key_rotation: true,
                deletion_window_days,
                service_principals: services.iter().map(|s| s.to_string()).collect(),
                tags,
            },
        );
        self.add(
            &format!("{name}-alias"),
            KmsAlias {
                name: format!("alias/{alias}"),
                target_key_id: key.attr("id"),
            },
        );
        key
    }

    /// Declares a stack output.
    pub fn output(&mut self, name: &str, description: &str, value: impl Into<OutputValue>) {
        self.outputs.push(Output {
            name: name.to_string(),
            description: description.to_string(),
            value: value.into(),
        });
    }

    /// The resources declared so far, in order.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The outputs declared so far, in order.
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// The spec of the resource declared as `name`, if any (for tests).
    pub fn get(&self, name: &str) -> Option<&ResourceSpec> {
        self.resources
            .iter()
            .find(|r| r.name == name)
            .map(|r| &r.spec)
    }

    /// The declaration the host receives.
    pub fn finish(self) -> Declaration {
        Declaration {
            resources: self.resources,
            outputs: self.outputs,
        }
    }
}

impl Text {
    /// The value, when it is a literal.
    pub fn as_literal(&self) -> Option<&str> {
        match self {
            Text::Literal(s) => Some(s),
            Text::Ref(_) => None,
        }
    }

    /// The reference, when it is one.
    pub fn reference(&self) -> Option<&Reference> {
        match self {
            Text::Literal(_) => None,
            Text::Ref(r) => Some(r),
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::Literal(s.to_string())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::Literal(s)
    }
}

impl From<&str> for OutputValue {
    fn from(s: &str) -> OutputValue {
        OutputValue::Str(s.to_string())
    }
}

impl From<i64> for OutputValue {
    fn from(n: i64) -> OutputValue {
        OutputValue::Number(n)
    }
}

impl From<String> for OutputValue {
    fn from(s: String) -> OutputValue {
        OutputValue::Str(s)
    }
}

impl From<u32> for OutputValue {
    fn from(n: u32) -> OutputValue {
        OutputValue::Number(n.into())
    }
}

impl From<bool> for OutputValue {
    fn from(b: bool) -> OutputValue {
        OutputValue::Boolean(b)
    }
}

impl Violation {
    /// A violation that makes `engine apply --policy` refuse to start.
    /// `policy` is the rule id (for example `encryption-at-rest`), `address` the
    /// offending resource's (`PlannedResource::address`).
    pub fn mandatory(policy: &str, address: &str, message: &str, remediation: &str) -> Violation {
        Violation {
            policy: policy.to_string(),
            severity: Severity::Mandatory,
            address: address.to_string(),
            message: message.to_string(),
            remediation: remediation.to_string(),
        }
    }

    /// A violation that is shown but does not stop an apply.
    pub fn advisory(policy: &str, address: &str, message: &str, remediation: &str) -> Violation {
        Violation {
            severity: Severity::Advisory,
            ..Violation::mandatory(policy, address, message, remediation)
        }
    }
}

impl Context {
    /// A context with no config values, as the host would pass for stack `stack`
    /// in `region` and `environment`; for unit tests of `declare` on the host.
    pub fn new(stack: &str, region: &str, environment: &str) -> Context {
        Context {
            stack: stack.to_string(),
            region: region.to_string(),
            environment: environment.to_string(),
            config: Vec::new(),
        }
    }

    /// This context with config value `key` set to `value` (kept sorted by key,
    /// as the host sends them).
    pub fn with_config(mut self, key: &str, value: &str) -> Context {
        match self.config.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => self.config[i].1 = value.to_string(),
            Err(i) => self.config.insert(i, (key.to_string(), value.to_string())),
        }
        self
    }
}

/// Tags from `(key, value)` pairs.
pub fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag {
            key: k.to_string(),
            value: v.to_string(),
        })
        .collect()
}

/// The config key that pins the availability zones (comma-separated); see
/// [`ContextExt::availability_zones`]. A plugin that reads it declares
/// [`AVAILABILITY_ZONES_KEY`].
pub const AVAILABILITY_ZONES: &str = "availability-zones";

/// The host fact with the region's available availability zones (comma-separated,
/// sorted), which `engine plan` and `engine apply` put in the context's config
/// unless [`AVAILABILITY_ZONES`] is set. Config keys with the `aws:` prefix are the
/// host's: users cannot set them.
pub const AVAILABILITY_ZONES_FACT: &str = "aws:availability-zones";

/// The prefix of the host facts with the zones where an endpoint service offers
/// endpoints, `aws:availability-zones:SERVICE`; see
/// [`ContextExt::availability_zones_offering`].
pub const SERVICE_ZONES_FACT: &str = "aws:availability-zones:";

/// The longest name [`ContextExt::global_named`] returns: IAM's limit for role
/// names.
pub const GLOBAL_NAME_MAX: usize = 64;

/// Helpers on the stack context.
///
/// The `config*` and [`key_choice`](ContextExt::key_choice) helpers read a key
/// by name, with the default and range at the call. They keep working, but a
/// plugin should declare every key it reads instead (the [`keys`] module: a
/// constant listed in [`info!`] and read with its `get`, which checks the value
/// the same way and gives the same errors): since contract 0.3.0 the host refuses
/// a stack value for a key that no plugin of the stack lists, so a key that is
/// read only through these helpers, and declared nowhere, cannot be set. Declare the keys these helpers read
/// themselves too: [`PROJECT`] ([`tags`](ContextExt::tags)) and
/// [`AVAILABILITY_ZONES_KEY`] ([`availability_zones`](ContextExt::availability_zones),
/// [`availability_zones_offering`](ContextExt::availability_zones_offering)).
pub trait ContextExt {
    /// A config value.
    fn config(&self, key: &str) -> Option<&str>;
    /// A config value, or `default`.
    fn config_or(&self, key: &str, default: &str) -> String;
    /// A config value parsed as `T`, or `default`; an error names the key.
    fn config_parse<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display;
    /// `base-<environment>`: every resource name carries the environment suffix.
    fn named(&self, base: &str) -> String;

    /// Like [`ContextExt::named`], for names that are global to the AWS account
    /// rather than to a region (IAM roles): unique per stack, region and
    /// environment, so the same environment deployed to a second region, or another
    /// stack of the same plugins, does not collide with this one.
    ///
    /// The scheme is `[<stack>-]<base>-<region>[-<environment>]`:
    /// - `<stack>-` is left out when `base` already starts with the stack's name
    ///   (`japancart-rds-monitoring` in stack `japancart`);
    /// - the region comes before the environment, so the name still ends with the
    ///   environment suffix, as every name does;
    /// - at most [`GLOBAL_NAME_MAX`] (64) characters, IAM's limit for role names
    ///   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).
    ///   A longer name is cut, and a short stable hash of the whole name (8 hex
    ///   digits) goes before the environment suffix, so two long names that differ
    ///   only where they were cut still differ.
    ///
    /// The same context always gives the same name.
    ///
    /// ```
    /// # use engine_sdk::*;
    /// let ctx = Context::new("japancart", "ap-northeast-1", "prod");
    /// assert_eq!(
    ///     ctx.global_named("japancart-rds-monitoring"),
    ///     "japancart-rds-monitoring-ap-northeast-1-prod"
    /// );
    /// let shop = Context::new("shop", "us-east-1", "dev");
    /// assert_eq!(shop.global_named("orders-role"), "shop-orders-role-us-east-1-dev");
    /// let long = shop.global_named(&"a-very-long-role-name".repeat(3));
    /// assert_eq!(long.len(), 64);
    /// assert!(long.starts_with("shop-a-very-long-role-name") && long.ends_with("-dev"));
    /// ```
    fn global_named(&self, base: &str) -> String;

    /// `count` availability zones of the stack's region, for resources spread over
    /// zones (subnets), from the first of:
    /// 1. the config value `availability-zones` (comma-separated), when the user
    ///    pinned the zones: its first `count` different zones, each of which must
    ///    belong to the region;
    /// 2. the host fact `aws:availability-zones` ([`AVAILABILITY_ZONES_FACT`]): the
    ///    region's available zones as AWS lists them for the account, sorted, which
    ///    `engine plan` and `engine apply` read (EC2 `DescribeAvailabilityZones`)
    ///    before plugins declare; its first `count`;
    /// 3. `<region>a`, `<region>b`, ...: what `engine validate`, `graph`, `check`
    ///    and unit tests see, and `plan` and `apply` when AWS could not be asked
    ///    (they warn). Right for most regions, but not all: Tokyo has no
    ///    `ap-northeast-1b`.
    ///
    /// An error when fewer than `count` different zones are available.
    ///
    /// ```
    /// # use engine_sdk::*;
    /// let ctx = Context::new("s", "ap-northeast-1", "dev");
    /// assert_eq!(ctx.availability_zones(2)?, ["ap-northeast-1a", "ap-northeast-1b"]);
    /// let ctx = ctx.with_config(
    ///     AVAILABILITY_ZONES_FACT,
    ///     "ap-northeast-1a,ap-northeast-1c,ap-northeast-1d",
    /// );
    /// assert_eq!(ctx.availability_zones(2)?, ["ap-northeast-1a", "ap-northeast-1c"]);
    /// let ctx = ctx.with_config("availability-zones", "ap-northeast-1d, ap-northeast-1c");
    /// assert_eq!(ctx.availability_zones(2)?, ["ap-northeast-1d", "ap-northeast-1c"]);
    /// assert!(ctx.availability_zones(3).is_err());
    /// # Ok::<(), String>(())
    /// ```
    fn availability_zones(&self, count: usize) -> Result<Vec<String>, String>;

    /// `count` availability zones for subnets that an interface endpoint of
    /// `service` (such as `com.amazonaws.us-east-1.kinesis-streams`) will use: as
    /// [`availability_zones`](ContextExt::availability_zones), but only zones
    /// where the service offers endpoints, since an endpoint's subnets must be in
    /// those. `engine plan` and `engine apply` read them (EC2
    /// `DescribeVpcEndpointServices`) for every interface endpoint the plugins
    /// declare, and the plugins declare again with the host fact
    /// `aws:availability-zones:SERVICE` ([`SERVICE_ZONES_FACT`]). Without that
    /// fact (offline), and when the user pinned the zones, the same as
    /// `availability_zones`.
    ///
    /// ```
    /// # use engine_sdk::*;
    /// let kinesis = "com.amazonaws.us-east-1.kinesis-streams";
    /// let ctx = Context::new("s", "us-east-1", "dev")
    ///     .with_config(AVAILABILITY_ZONES_FACT, "us-east-1a,us-east-1b,us-east-1c")
    ///     .with_config(&format!("{SERVICE_ZONES_FACT}{kinesis}"), "us-east-1b,us-east-1c");
    /// assert_eq!(ctx.availability_zones_offering(kinesis, 2)?, ["us-east-1b", "us-east-1c"]);
    /// assert!(ctx.availability_zones_offering(kinesis, 3).is_err());
    /// assert_eq!(ctx.availability_zones(2)?, ["us-east-1a", "us-east-1b"]);
    /// # Ok::<(), String>(())
    /// ```
    fn availability_zones_offering(
        &self,
        service: &str,
        count: usize,
    ) -> Result<Vec<String>, String>;
    /// The common tags (`project`, `environment`, `managed-by`) plus `extra`.
    /// `project` is the config key [`PROJECT`] (declare it), else the stack's name.
    fn tags(&self, extra: &[(&str, &str)]) -> Vec<Tag>;

    /// The AWS partition of the stack's region, for ARNs a plugin writes itself
    /// (`arn:{partition}:iam::aws:policy/...`): `aws-cn` in China, `aws-us-gov` in
    /// GovCloud, `aws-iso`/`aws-iso-b` in the isolated regions, else `aws`. See
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>.
    ///
    /// ```
    /// # use engine_sdk::*;
    /// assert_eq!(Context::new("s", "cn-north-1", "dev").partition(), "aws-cn");
    /// assert_eq!(Context::new("s", "us-gov-west-1", "dev").partition(), "aws-us-gov");
    /// assert_eq!(Context::new("s", "ap-northeast-1", "dev").partition(), "aws");
    /// ```
    fn partition(&self) -> &'static str;

    /// A comma-separated config value as a list (items trimmed, empty items
    /// dropped), or `default`.
    fn config_list(&self, key: &str, default: &[&str]) -> Vec<String> {
        match self.config(key) {
            None => default.iter().map(|s| s.to_string()).collect(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    /// A config value parsed as `T` and checked to lie in `range`, or `default`;
    /// an error names the key and the range.
    fn config_in<T>(
        &self,
        key: &str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, String>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display,
        T::Err: std::fmt::Display,
    {
        let v = self.config_parse(key, default)?;
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(format!(
                "config `{key}` = `{v}`: must be {} to {}",
                range.start(),
                range.end()
            ))
        }
    }

    /// A config value choosing an encryption key (see [`KeyChoice`]), or `default`.
    fn key_choice(&self, key: &str, default: &str) -> KeyChoice {
        KeyChoice::parse(self.config(key).unwrap_or(default))
    }
}

/// Which KMS key encrypts something, as a config value says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChoice {
    /// `create`: a customer-managed key declared by the plugin itself.
    Create,
    /// `aws-managed`: the service's AWS managed key (for example `aws/kinesis`).
    AwsManaged,
    /// `none`: no encryption (where the service allows it).
    Unencrypted,
    /// Anything else: an existing key's id, ARN, alias name (`alias/...`) or alias ARN.
    Existing(String),
}

impl KeyChoice {
    /// Parses a config value.
    pub fn parse(value: &str) -> KeyChoice {
        match value.trim() {
            "create" => KeyChoice::Create,
            "aws-managed" => KeyChoice::AwsManaged,
            "none" => KeyChoice::Unencrypted,
            other => KeyChoice::Existing(other.to_string()),
        }
    }
}

impl SecurityGroupRule {
    /// A TCP rule for one port from `cidr_blocks`.
    pub fn tcp(port: u16, cidr_blocks: Vec<Text>, description: &str) -> SecurityGroupRule {
        SecurityGroupRule {
            protocol: IpProtocol::Tcp,
            from_port: port,
            to_port: port,
            cidr_blocks,
            description: description.to_string(),
        }
    }
}

/// An IAM trust policy (JSON) that lets the AWS service `service` (for example
/// `monitoring.rds.amazonaws.com`) assume a role.
pub fn service_trust_policy(service: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

/// Checks an identifier of the kind RDS and ElastiCache use: 1 to `max_len`
/// lowercase letters, digits and hyphens, starting with a letter, with no
/// trailing or doubled hyphen. `what` names it in the error.
pub fn check_identifier(what: &str, id: &str, max_len: usize) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= max_len
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} `{id}` is not valid: use at most {max_len} lowercase letters, digits and \
             single hyphens, starting with a letter and not ending with a hyphen \
             (check the environment suffix)"
        ))
    }
}

/// An IPv4 CIDR block, for deriving and checking subnet ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The network address (host bits zero).
    pub network: u32,
    /// The prefix length, 0 to 32.
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// Parses `a.b.c.d/n`; refuses host bits that are set.
    pub fn parse(s: &str) -> Result<Ipv4Cidr, String> {
        let bad = |why: &str| format!("`{s}` is not an IPv4 CIDR block: {why}");
        let (addr, prefix) = s.trim().split_once('/').ok_or_else(|| bad("no `/`"))?;
        let prefix: u8 = prefix.parse().map_err(|_| bad("bad prefix length"))?;
        if prefix > 32 {
            return Err(bad("prefix length above 32"));
        }
        let octets: Vec<u8> = addr
            .split('.')
            .map(|o| o.parse::<u8>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad("bad address"))?;
        let [a, b, c, d] = octets[..] else {
            return Err(bad("an address has four parts"));
        };
        let network = u32::from_be_bytes([a, b, c, d]);
        let cidr = Ipv4Cidr { network, prefix };
        if network & !cidr.mask() != 0 {
            return Err(bad("bits are set after the prefix"));
        }
        Ok(cidr)
    }

    fn mask(self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    /// Subnet number `netnum` of this block with `newbits` more prefix bits, like
    /// Terraform's `cidrsubnet`.
    pub fn subnet(self, newbits: u8, netnum: u32) -> Result<Ipv4Cidr, String> {
        let prefix = self.prefix + newbits;
        if prefix > 32 || (newbits < 32 && netnum >= 1 << newbits) {
            return Err(format!("{self} has no subnet number {netnum} of /{prefix}"));
        }
        let shift = 32 - u32::from(prefix);
        let offset = if shift == 32 { 0 } else { netnum << shift };
        Ok(Ipv4Cidr {
            network: self.network | offset,
            prefix,
        })
    }

    /// Whether `other` lies entirely inside this block.
    pub fn contains(self, other: Ipv4Cidr) -> bool {
        other.prefix >= self.prefix && other.network & self.mask() == self.network
    }

    /// Whether the two blocks share an address.
    pub fn overlaps(self, other: Ipv4Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}

impl std::fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d] = self.network.to_be_bytes();
        write!(f, "{a}.{b}.{c}.{d}/{}", self.prefix)
    }
}

impl ContextExt for Context {
    fn partition(&self) -> &'static str {
        let r = self.region.as_str();
        if r.starts_with("cn-") {
            "aws-cn"
        } else if r.starts_with("us-gov-") {
            "aws-us-gov"
        } else if r.starts_with("us-isob-") {
            "aws-iso-b"
        } else if r.starts_with("us-iso-") {
            "aws-iso"
        } else {
            "aws"
        }
    }

    fn config(&self, key: &str) -> Option<&str> {
        keys::note_read(key);
        self.config
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn config_or(&self, key: &str, default: &str) -> String {
        self.config(key).unwrap_or(default).to_string()
    }

    fn config_parse<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.config(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| format!("config `{key}` = `{v}`: {e}")),
        }
    }

    fn named(&self, base: &str) -> String {
        if self.environment.is_empty() {
            base.to_string()
        } else {
            format!("{base}-{}", self.environment)
        }
    }

    fn global_named(&self, base: &str) -> String {
        let stack = self.stack.as_str();
        let head = if stack.is_empty() || base == stack || base.starts_with(&format!("{stack}-")) {
            format!("{base}-{}", self.region)
        } else {
            format!("{stack}-{base}-{}", self.region)
        };
        let tail = if self.environment.is_empty() {
            String::new()
        } else {
            format!("-{}", self.environment)
        };
        let full = format!("{head}{tail}");
        if full.len() <= GLOBAL_NAME_MAX {
            return full;
        }
        let hash = format!("-{:08x}", short_hash(&full));
        // Keep the environment suffix unless it would leave too little of the rest.
        let (rest, tail) = if tail.len() + hash.len() + 16 <= GLOBAL_NAME_MAX {
            (head.as_str(), tail.as_str())
        } else {
            (full.as_str(), "")
        };
        let room = GLOBAL_NAME_MAX - hash.len() - tail.len();
        let cut = rest
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|end| *end <= room)
            .last()
            .unwrap_or(0);
        format!("{}{hash}{tail}", rest[..cut].trim_end_matches('-'))
    }

    fn availability_zones(&self, count: usize) -> Result<Vec<String>, String> {
        let region = &self.region;
        let n = count_word(count);
        if let Some(pinned) = self.config(AVAILABILITY_ZONES) {
            let mut zones: Vec<String> = Vec::new();
            for zone in self.config_list(AVAILABILITY_ZONES, &[]) {
                if !zone.starts_with(region.as_str()) {
                    return Err(format!(
                        "config `{AVAILABILITY_ZONES}`: `{zone}` is not a zone of region \
                         {region} (zone names start with the region's)"
                    ));
                }
                if !zones.contains(&zone) {
                    zones.push(zone);
                }
            }
            if zones.len() < count {
                return Err(format!(
                    "config `{AVAILABILITY_ZONES}` must name {n} different zones of {region}, \
                     e.g. `{}`; got `{pinned}`",
                    self.unpinned_zones(count).unwrap_or_default().join(",")
                ));
            }
            zones.truncate(count);
            return Ok(zones);
        }
        self.unpinned_zones(count)
    }

    fn availability_zones_offering(
        &self,
        service: &str,
        count: usize,
    ) -> Result<Vec<String>, String> {
        let key = format!("{SERVICE_ZONES_FACT}{service}");
        if self.config(AVAILABILITY_ZONES).is_some() || self.config(&key).is_none() {
            return self.availability_zones(count);
        }
        let offered = self.config_list(&key, &[]);
        let mut zones: Vec<String> = match self.config(AVAILABILITY_ZONES_FACT) {
            Some(_) => self
                .config_list(AVAILABILITY_ZONES_FACT, &[])
                .into_iter()
                .filter(|z| offered.contains(z))
                .collect(),
            None => offered.clone(),
        };
        zones.dedup();
        if zones.len() < count {
            return Err(format!(
                "{service} offers endpoints in {} available zone(s) of {} ({}), and {} are \
                 needed",
                zones.len(),
                self.region,
                offered.join(","),
                count_word(count)
            ));
        }
        zones.truncate(count);
        Ok(zones)
    }

    fn tags(&self, extra: &[(&str, &str)]) -> Vec<Tag> {
        let project = self.config("project").unwrap_or(&self.stack).to_string();
        let mut t = tags(&[
            ("project", &project),
            ("environment", &self.environment),
            ("managed-by", "engine"),
        ]);
        t.extend(tags(extra));
        t
    }
}

impl Context {
    /// The zones from the host fact, else the region's letters `a`, `b`, ...
    fn unpinned_zones(&self, count: usize) -> Result<Vec<String>, String> {
        let region = &self.region;
        if let Some(known) = self.config(AVAILABILITY_ZONES_FACT) {
            let mut zones = self.config_list(AVAILABILITY_ZONES_FACT, &[]);
            zones.dedup();
            if zones.len() < count {
                return Err(format!(
                    "region {region} has {} available availability zones ({known}), and {} \
                     are needed",
                    zones.len(),
                    count_word(count)
                ));
            }
            zones.truncate(count);
            return Ok(zones);
        }
        if count > 26 {
            return Err(format!(
                "{count} availability zones asked for; no region has as many"
            ));
        }
        Ok((b'a'..)
            .take(count)
            .map(|l| format!("{region}{}", char::from(l)))
            .collect())
    }
}

/// `two` for 2, up to nine; digits above.
fn count_word(n: usize) -> String {
    const WORDS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    WORDS
        .get(n)
        .map_or_else(|| n.to_string(), |w| w.to_string())
}

/// A stable 32-bit hash (FNV-1a 64, folded): the same on every platform and
/// every run, unlike `std`'s hasher.
fn short_hash(s: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((h >> 32) ^ (h & 0xffff_ffff)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_subnets_like_terraform() {
        let vpc = Ipv4Cidr::parse("10.0.0.0/16").expect("valid");
        let s = |n| vpc.subnet(8, n).expect("fits").to_string();
        assert_eq!(
            [s(1), s(2), s(11), s(12)],
            ["10.0.1.0/24", "10.0.2.0/24", "10.0.11.0/24", "10.0.12.0/24"]
        );
        assert!(vpc.subnet(8, 256).is_err());
        assert!(vpc.subnet(17, 0).is_err());
        let sub = Ipv4Cidr::parse("10.0.11.0/24").expect("valid");
        assert!(vpc.contains(sub) && !sub.contains(vpc) && vpc.overlaps(sub));
        assert!(!vpc.contains(Ipv4Cidr::parse("10.1.0.0/24").expect("valid")));
        assert!(Ipv4Cidr::parse("0.0.0.0/0").expect("valid").contains(vpc));
        for bad in [
            "10.0.0.1/16",
            "10.0.0.0",
            "10.0.0/16",
            "10.0.0.0/33",
            "256.0.0.0/8",
        ] {
            assert!(Ipv4Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn test_contexts_keep_config_sorted() {
        let ctx = Context::new("shop", "eu-west-1", "prod")
            .with_config("b", "2")
            .with_config("a", "1")
            .with_config("b", "3");
        assert_eq!(
            ctx.config,
            [("a".to_string(), "1".to_string()), ("b".into(), "3".into())]
        );
        assert_eq!(ctx.named("orders"), "orders-prod");
        assert_eq!(ctx.config_parse("b", 0), Ok(3));
    }

    #[test]
    fn stacks_can_be_inspected_before_finishing() {
        let mut stack = Stack::new();
        let key = stack.add_kms_key("key", "orders", "Orders", 7, vec![]);
        stack.output("key_arn", "The key", key.output("arn"));
        assert_eq!(
            stack
                .resources()
                .iter()
                .map(|r| r.spec.kind())
                .collect::<Vec<_>>(),
            ["kms-key", "kms-alias"]
        );
        let Some(ResourceSpec::KmsAlias(alias)) = stack.get("key-alias") else {
            panic!("an alias")
        };
        assert_eq!(alias.name, "alias/orders");
        let target = alias.target_key_id.reference().expect("a reference");
        assert_eq!(
            (target.resource.as_str(), target.attribute.as_str()),
            ("key", "id")
        );
        assert_eq!(alias.target_key_id.as_literal(), None);
        assert_eq!(Text::from("x").as_literal(), Some("x"));
        assert!(stack.get("nope").is_none());
        assert_eq!(stack.outputs()[0].name, "key_arn");
    }

    #[test]
    fn availability_zones_pinned_then_fact_then_letters() {
        let tokyo = Context::new("shop", "ap-northeast-1", "dev");
        // Nothing known: the region's first letters.
        assert_eq!(
            tokyo.availability_zones(3),
            Ok(vec![
                "ap-northeast-1a".to_string(),
                "ap-northeast-1b".into(),
                "ap-northeast-1c".into()
            ])
        );
        assert_eq!(tokyo.availability_zones(0), Ok(vec![]));
        assert!(tokyo.availability_zones(27).is_err());

        // The host's fact: its first `count`, in its (sorted) order.
        let known = tokyo.clone().with_config(
            AVAILABILITY_ZONES_FACT,
            "ap-northeast-1a,ap-northeast-1c,ap-northeast-1d",
        );
        assert_eq!(
            known.availability_zones(2),
            Ok(vec!["ap-northeast-1a".into(), "ap-northeast-1c".into()])
        );
        assert_eq!(known.availability_zones(3).map(|z| z.len()), Ok(3));
        let err = known.availability_zones(4).unwrap_err();
        assert!(
            err.contains("region ap-northeast-1 has 3 available availability zones")
                && err.contains("four are needed"),
            "{err}"
        );

        // A pin wins over the fact, in the user's order; duplicates count once.
        let pinned = known.clone().with_config(
            AVAILABILITY_ZONES,
            " ap-northeast-1d , ap-northeast-1d,ap-northeast-1c,",
        );
        assert_eq!(
            pinned.availability_zones(2),
            Ok(vec!["ap-northeast-1d".into(), "ap-northeast-1c".into()])
        );
        assert_eq!(
            pinned.availability_zones(1),
            Ok(vec!["ap-northeast-1d".into()])
        );
        let err = pinned.availability_zones(3).unwrap_err();
        assert!(
            err.starts_with("config `availability-zones` must name three different zones")
                && err.contains("e.g. `ap-northeast-1a,ap-northeast-1c,ap-northeast-1d`"),
            "{err}"
        );
        let err = known
            .clone()
            .with_config(AVAILABILITY_ZONES, "us-east-1a,us-east-1b")
            .availability_zones(2)
            .unwrap_err();
        assert!(
            err.contains("`us-east-1a` is not a zone of region ap-northeast-1"),
            "{err}"
        );
        let err = tokyo
            .with_config(AVAILABILITY_ZONES, "ap-northeast-1a")
            .availability_zones(2)
            .unwrap_err();
        assert!(
            err.contains("must name two different zones of ap-northeast-1, e.g. `ap-northeast-1a,ap-northeast-1b`"),
            "{err}"
        );
    }

    #[test]
    fn global_names_are_unique_per_stack_region_and_environment() {
        let ctx = |stack: &str, region: &str, env: &str| Context::new(stack, region, env);
        let base = "japancart-rds-monitoring";
        let name = ctx("japancart", "us-east-1", "e2e").global_named(base);
        assert_eq!(name, "japancart-rds-monitoring-us-east-1-e2e");
        // Every part of the identity changes the name.
        let others = [
            ctx("japancart", "ap-northeast-1", "e2e").global_named(base),
            ctx("japancart", "us-east-1", "prod").global_named(base),
            ctx("shop", "us-east-1", "e2e").global_named(base),
        ];
        assert_eq!(
            others,
            [
                "japancart-rds-monitoring-ap-northeast-1-e2e",
                "japancart-rds-monitoring-us-east-1-prod",
                "shop-japancart-rds-monitoring-us-east-1-e2e",
            ]
        );
        // The stack's name is not repeated; no environment, no suffix.
        assert_eq!(
            ctx("japancart", "eu-west-1", "").global_named("japancart"),
            "japancart-eu-west-1"
        );
        assert_eq!(
            ctx("", "eu-west-1", "dev").global_named("role"),
            "role-eu-west-1-dev"
        );
        // A stack whose name only begins like the base's still gets its prefix.
        assert_eq!(
            ctx("japan", "eu-west-1", "dev").global_named("japancart-role"),
            "japan-japancart-role-eu-west-1-dev"
        );

        // Too long: cut, with a stable hash before the environment suffix.
        let long_env = "staging-with-a-long-name";
        let a = ctx("japancart", "ap-southeast-2", long_env)
            .global_named(&format!("{base}-enhanced-metrics"));
        let b = ctx("japancart", "ap-southeast-3", long_env)
            .global_named(&format!("{base}-enhanced-metrics"));
        for n in [&a, &b] {
            assert!(n.len() <= GLOBAL_NAME_MAX, "{n}");
            assert!(n.starts_with("japancart-rds-monitoring-"), "{n}");
            assert!(n.ends_with(&format!("-{long_env}")), "{n}");
        }
        assert_ne!(a, b, "names cut at the same place still differ");
        assert_eq!(
            a,
            ctx("japancart", "ap-southeast-2", long_env)
                .global_named(&format!("{base}-enhanced-metrics")),
            "deterministic"
        );
        // An environment too long to keep: the whole name is cut.
        let env = "e".repeat(60);
        let n = ctx("japancart", "us-east-1", &env).global_named(base);
        assert!(n.len() <= GLOBAL_NAME_MAX && n.starts_with(base), "{n}");
        // Multi-byte characters are cut at a character boundary.
        let n = ctx("ショップ", "us-east-1", "dev").global_named(&"ロール".repeat(10));
        assert!(n.len() <= GLOBAL_NAME_MAX && n.ends_with("-dev"), "{n}");
        // The hash is stable across platforms and releases.
        assert_eq!(short_hash(""), 0x8422_2325 ^ 0xcbf2_9ce4);
        assert_eq!(format!("{:08x}", short_hash("japancart")).len(), 8);
    }

    #[test]
    fn violations_carry_their_severity() {
        let v = Violation::advisory("rule", "a/b", "Bad.", "Fix it.");
        assert_eq!(v.severity, Severity::Advisory);
        assert_eq!((v.policy.as_str(), v.address.as_str()), ("rule", "a/b"));
        let v = Violation::mandatory("rule", "a/b", "Bad.", "Fix it.");
        assert_eq!(v.severity, Severity::Mandatory);
        assert_eq!(
            (v.message.as_str(), v.remediation.as_str()),
            ("Bad.", "Fix it.")
        );
    }

    #[test]
    fn identifiers_and_key_choices() {
        assert!(check_identifier("id", "japancart-redis-dev", 40).is_ok());
        for bad in [
            "",
            "Japancart",
            "1abc",
            "a--b",
            "abc-",
            "a_b",
            &"a".repeat(41),
        ] {
            assert!(check_identifier("id", bad, 40).is_err(), "{bad}");
        }
        assert_eq!(KeyChoice::parse("create"), KeyChoice::Create);
        assert_eq!(KeyChoice::parse("aws-managed"), KeyChoice::AwsManaged);
        assert_eq!(KeyChoice::parse("none"), KeyChoice::Unencrypted);
        assert_eq!(
            KeyChoice::parse("alias/mine"),
            KeyChoice::Existing("alias/mine".into())
        );
        assert!(
            service_trust_policy("monitoring.rds.amazonaws.com")
                .contains(r#""Principal":{"Service":"monitoring.rds.amazonaws.com"}"#)
        );
    }
}
