//! Write `engine` plugins in Rust.
//!
//! A component plugin declares resources; the host plans and applies them. This
//! crate hides the generated WIT bindings behind a small API:
//!
//! ```ignore
//! use engine_sdk::*;
//!
//! struct Network;
//!
//! impl ComponentPlugin for Network {
//!     fn info() -> PluginInfo {
//!         info("network", "A VPC with one subnet.")
//!     }
//!     fn declare(ctx: &Context) -> Result<Stack, String> {
//!         let mut stack = Stack::new();
//!         let vpc = stack.add("main", Vpc {
//!             cidr_block: ctx.config_or("vpc-cidr", "10.0.0.0/16"),
//!             enable_dns_support: true,
//!             enable_dns_hostnames: true,
//!             tags: ctx.tags(&[("Name", &ctx.named("vpc"))]),
//!         });
//!         stack.output("vpc_id", "The VPC", vpc.output("id"));
//!         Ok(stack)
//!     }
//! }
//!
//! component!(Network);
//! ```
//!
//! # Layout
//! - [`bindings`]: the generated WIT bindings (the one `generate!` site for guests).
//! - [`Stack`] / [`Handle`]: declaring resources and referring to their attributes.
//! - [`ContextExt`]: config values, names with the environment suffix, common tags.
//! - [`component!`] / [`policy!`]: export a plugin type; they also install a panic
//!   hook that forwards the panic message to the host.

#![warn(missing_docs)]

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
                "engine:plugin/types@0.1.0": crate::bindings::component::engine::plugin::types,
                "engine:plugin/host@0.1.0": crate::bindings::component::engine::plugin::host,
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

/// `PluginInfo` with the crate's version.
#[macro_export]
macro_rules! info {
    ($name:expr, $description:expr) => {
        $crate::PluginInfo {
            name: ::std::string::String::from($name),
            version: ::std::string::String::from(env!("CARGO_PKG_VERSION")),
            description: ::std::string::String::from($description),
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
        Handle { address: address.to_string() }
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
        Reference { resource: self.address.clone(), attribute: attribute.to_string() }
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
        Handle { address: name.to_string() }
    }

    /// Declares a stack output.
    pub fn output(&mut self, name: &str, description: &str, value: impl Into<OutputValue>) {
        self.outputs.push(Output {
            name: name.to_string(),
            description: description.to_string(),
            value: value.into(),
        });
    }

    /// The declaration the host receives.
    pub fn finish(self) -> Declaration {
        Declaration { resources: self.resources, outputs: self.outputs }
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

macro_rules! spec_from {
    ($($kind:ident),* $(,)?) => {$(
        impl From<$kind> for ResourceSpec {
            fn from(v: $kind) -> ResourceSpec { ResourceSpec::$kind(v) }
        }
    )*};
}

spec_from!(
    Vpc, InternetGateway, Subnet, RouteTable, Route, RouteTableAssociation, SecurityGroup,
    VpcEndpoint, KmsKey, KmsAlias, KinesisStream, Secret, IamRole, CacheSubnetGroup,
    CacheReplicationGroup, DbSubnetGroup, DbInstance, SnsTopic, MetricAlarm,
);

/// Tags from `(key, value)` pairs.
pub fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs.iter().map(|(k, v)| Tag { key: k.to_string(), value: v.to_string() }).collect()
}

/// Helpers on the stack context.
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
    /// The common tags (`project`, `environment`, `managed-by`) plus `extra`.
    fn tags(&self, extra: &[(&str, &str)]) -> Vec<Tag>;
}

impl ContextExt for Context {
    fn config(&self, key: &str) -> Option<&str> {
        self.config.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
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
            Some(v) => v.parse().map_err(|e| format!("config `{key}` = `{v}`: {e}")),
        }
    }

    fn named(&self, base: &str) -> String {
        if self.environment.is_empty() {
            base.to_string()
        } else {
            format!("{base}-{}", self.environment)
        }
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
