//! Conversions between the generated WIT types and `engine_core`'s model. The kinds'
//! records come from the host's one kind list (`engine_core::for_each_kind!`); the
//! few shared records have a field list here. Both sides are typed, so a field
//! added to the WIT but not to the model (or the other way) is a compile error.

use engine_core::model as core;
use engine_core::printable::short;
use engine_core::{Address, Reference};

use crate::bindings::wit;

/// Converts a value between its WIT form and its host form.
pub(crate) trait Bridge: Sized {
    type Wit;
    /// From the guest; `plugin` resolves plugin-relative references.
    fn from_wit(w: Self::Wit, plugin: &str) -> Result<Self, String>;
    /// To the guest.
    fn to_wit(&self) -> Self::Wit;
}

macro_rules! identity {
    ($($t:ty),*) => {$(
        impl Bridge for $t {
            type Wit = $t;
            fn from_wit(w: $t, _: &str) -> Result<$t, String> { Ok(w) }
            fn to_wit(&self) -> $t { self.clone() }
        }
    )*};
}
identity!(String, bool, u16, u32, f64);

impl<T: Bridge> Bridge for Vec<T> {
    type Wit = Vec<T::Wit>;
    fn from_wit(w: Self::Wit, plugin: &str) -> Result<Self, String> {
        w.into_iter().map(|x| T::from_wit(x, plugin)).collect()
    }
    fn to_wit(&self) -> Self::Wit {
        self.iter().map(Bridge::to_wit).collect()
    }
}

impl<T: Bridge> Bridge for Option<T> {
    type Wit = Option<T::Wit>;
    fn from_wit(w: Self::Wit, plugin: &str) -> Result<Self, String> {
        w.map(|x| T::from_wit(x, plugin)).transpose()
    }
    fn to_wit(&self) -> Self::Wit {
        self.as_ref().map(Bridge::to_wit)
    }
}

impl Bridge for Reference {
    type Wit = wit::Reference;
    fn from_wit(w: wit::Reference, plugin: &str) -> Result<Self, String> {
        let resource = Address::resolve(plugin, &w.resource).map_err(|e| {
            format!(
                "bad reference `{}`: {}",
                short(
                    &format!("{}.{}", w.resource, w.attribute),
                    crate::SHOWN_CHARS
                ),
                short(&e.to_string(), crate::SHOWN_CHARS)
            )
        })?;
        Ok(Reference {
            resource,
            attribute: w.attribute,
        })
    }
    fn to_wit(&self) -> wit::Reference {
        wit::Reference {
            resource: self.resource.to_string(),
            attribute: self.attribute.clone(),
        }
    }
}

impl Bridge for core::Text {
    type Wit = wit::Text;
    fn from_wit(w: wit::Text, plugin: &str) -> Result<Self, String> {
        Ok(match w {
            wit::Text::Literal(s) => core::Text::Literal(s),
            wit::Text::Ref(r) => core::Text::Ref(Reference::from_wit(r, plugin)?),
        })
    }
    fn to_wit(&self) -> wit::Text {
        match self {
            core::Text::Literal(s) => wit::Text::Literal(s.clone()),
            core::Text::Ref(r) => wit::Text::Ref(r.to_wit()),
        }
    }
}

macro_rules! records {
    ($($name:ident { $($f:ident),* $(,)? })*) => {$(
        impl Bridge for core::$name {
            type Wit = wit::$name;
            fn from_wit(w: wit::$name, _plugin: &str) -> Result<Self, String> {
                Ok(core::$name { $($f: Bridge::from_wit(w.$f, _plugin)?),* })
            }
            fn to_wit(&self) -> wit::$name {
                wit::$name { $($f: self.$f.to_wit()),* }
            }
        }
    )*};
}

macro_rules! enums {
    ($($name:ident { $($v:ident),* $(,)? })*) => {$(
        impl Bridge for core::$name {
            type Wit = wit::$name;
            fn from_wit(w: wit::$name, _: &str) -> Result<Self, String> {
                Ok(match w { $(wit::$name::$v => core::$name::$v),* })
            }
            fn to_wit(&self) -> wit::$name {
                match self { $(core::$name::$v => wit::$name::$v),* }
            }
        }
    )*};
}

enums! {
    IpProtocol { Tcp, Udp, Icmp, All }
    VpcEndpointType { Interface, Gateway }
    FlowLogTraffic { Accept, Reject, All }
    Statistic { Average, Sum, Minimum, Maximum, SampleCount }
    ComparisonOperator {
        GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold,
        LessThanOrEqualToThreshold,
    }
}

records! {
    Tag { key, value }
    SecurityGroupRule { protocol, from_port, to_port, cidr_blocks, description }
    PasswordPolicy { length, exclude_characters }
    SecretValueRef { secret_id, key }
    Dimension { name, value }
    PolicyStatement { actions, resources }
}

/// The kinds' records and [`core::Spec`], derived from the host's one kind list.
macro_rules! kinds {
    ($($(#[$m:meta])* $v:ident = $s:literal, $tags:ident { $($f:ident : $t:ty),* $(,)? })*) => {
        records! { $($v { $($f),* })* }

        impl Bridge for core::Spec {
            type Wit = wit::ResourceSpec;
            fn from_wit(w: wit::ResourceSpec, plugin: &str) -> Result<Self, String> {
                Ok(match w { $(wit::ResourceSpec::$v(x) => core::Spec::$v(Bridge::from_wit(x, plugin)?)),* })
            }
            fn to_wit(&self) -> wit::ResourceSpec {
                match self { $(core::Spec::$v(x) => wit::ResourceSpec::$v(x.to_wit())),* }
            }
        }
    };
}

engine_core::for_each_kind!(kinds);

impl Bridge for core::OutputValue {
    type Wit = wit::OutputValue;
    fn from_wit(w: wit::OutputValue, plugin: &str) -> Result<Self, String> {
        Ok(match w {
            wit::OutputValue::Str(s) => core::OutputValue::Str(s),
            wit::OutputValue::Number(n) => core::OutputValue::Number(n),
            wit::OutputValue::Boolean(b) => core::OutputValue::Boolean(b),
            wit::OutputValue::Ref(r) => core::OutputValue::Ref(Reference::from_wit(r, plugin)?),
        })
    }
    fn to_wit(&self) -> wit::OutputValue {
        match self {
            core::OutputValue::Str(s) => wit::OutputValue::Str(s.clone()),
            core::OutputValue::Number(n) => wit::OutputValue::Number(*n),
            core::OutputValue::Boolean(b) => wit::OutputValue::Boolean(*b),
            core::OutputValue::Ref(r) => wit::OutputValue::Ref(r.to_wit()),
        }
    }
}

/// Converts a plugin's declaration, naming the resource on the first error.
pub(crate) fn declaration(
    plugin: &str,
    source: &str,
    d: wit::Declaration,
) -> Result<core::Declaration, (Option<String>, String)> {
    let mut resources = Vec::with_capacity(d.resources.len());
    for r in d.resources {
        if !engine_core::address::valid_name(&r.name) {
            return Err((
                None,
                format!(
                    "resource name `{}` is not valid: use lowercase letters, digits and `-`, starting with a letter",
                    short(&r.name, crate::SHOWN_CHARS)
                ),
            ));
        }
        let address = Address::new(plugin, &r.name);
        let spec =
            core::Spec::from_wit(r.spec, plugin).map_err(|e| (Some(address.to_string()), e))?;
        // A secret value is read only from a secret of the stack (the graph checks
        // the reference): never from a secret the plugin names by its ARN.
        for (field, secret) in spec.secret_value_refs() {
            if let core::Text::Literal(arn) = &secret.secret_id {
                return Err((
                    Some(address.to_string()),
                    format!(
                        "`{field}` reads a secret outside the stack: its `secret-id` is the literal `{}`, but the engine reads secret values only from a secret a plugin of this stack declares, by its `arn` attribute",
                        short(arn, crate::SHOWN_CHARS)
                    ),
                ));
            }
        }
        let depends_on = r
            .depends_on
            .iter()
            .map(|d| {
                Address::resolve(plugin, d).map_err(|e| {
                    (
                        Some(address.to_string()),
                        format!("depends-on: {}", short(&e.to_string(), crate::SHOWN_CHARS)),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        resources.push(core::Resource {
            address,
            spec,
            depends_on,
        });
    }
    let outputs = d
        .outputs
        .into_iter()
        .map(|o| {
            if !engine_core::address::valid_output_name(&o.name) {
                return Err((
                    None,
                    format!(
                        "output name `{}` is not valid: use letters, digits, `_` and `-`, starting with a letter",
                        short(&o.name, crate::SHOWN_CHARS)
                    ),
                ));
            }
            Ok(core::Output {
                value: core::OutputValue::from_wit(o.value, plugin)
                    .map_err(|e| (None, format!("output `{}`: {e}", o.name)))?,
                name: o.name,
                description: o.description,
                plugin: plugin.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(core::Declaration {
        plugin: plugin.into(),
        source: source.into(),
        resources,
        outputs,
    })
}

/// A spec in its WIT form (for policy plugins).
pub(crate) fn spec_to_wit(spec: &core::Spec) -> wit::ResourceSpec {
    spec.to_wit()
}

/// Converts the config keys a plugin lists, refusing a name that is not a key or
/// that it lists twice, and a range whose bounds are the wrong way round.
pub(crate) fn config_keys(
    keys: Vec<wit::ConfigKey>,
) -> Result<Vec<engine_core::config::ConfigKey>, String> {
    use engine_core::config::{ConfigKey, ConfigType};
    let mut seen = std::collections::BTreeSet::new();
    keys.into_iter()
        .map(|k| {
            let name = short(&k.name, crate::SHOWN_CHARS);
            if !engine_core::address::valid_name(&k.name) {
                return Err(format!(
                    "its config key `{name}` is not valid: use lowercase letters, digits and `-`, starting with a letter"
                ));
            }
            if !seen.insert(k.name.clone()) {
                return Err(format!("it lists config key `{name}` twice"));
            }
            let ty = match k.type_ {
                wit::ConfigType::Text => ConfigType::Text,
                wit::ConfigType::Integer(r) if r.min <= r.max => ConfigType::Integer {
                    min: r.min,
                    max: r.max,
                },
                wit::ConfigType::Number(r) if r.min <= r.max => ConfigType::Number {
                    min: r.min,
                    max: r.max,
                },
                wit::ConfigType::Integer(_) | wit::ConfigType::Number(_) => {
                    return Err(format!("its config key `{name}` has an empty range"));
                }
                wit::ConfigType::Boolean => ConfigType::Boolean,
                wit::ConfigType::Choice(choices) if !choices.is_empty() => {
                    ConfigType::Choice { choices }
                }
                wit::ConfigType::Choice(_) => {
                    return Err(format!("its config key `{name}` offers no choices"));
                }
                wit::ConfigType::Cidr => ConfigType::Cidr,
                wit::ConfigType::TextList => ConfigType::TextList,
            };
            Ok(ConfigKey {
                name: k.name,
                description: k.description,
                ty,
                default: k.default,
            })
        })
        .collect()
}

/// What a config key takes of an answer's size limit.
pub(crate) fn config_key_size(k: &wit::ConfigKey) -> usize {
    let choices = match &k.type_ {
        wit::ConfigType::Choice(c) => c.iter().map(|c| c.len() + 4).sum(),
        _ => 32,
    };
    k.name.len() + k.description.len() + k.default.as_ref().map_or(0, String::len) + choices
}
