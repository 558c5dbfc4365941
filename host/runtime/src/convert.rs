//! Conversions between the generated WIT types and `engine_core`'s model, one field
//! list per record. Both sides are typed, so a field added to the WIT but not here
//! (or the other way) is a compile error.

use engine_core::model as core;
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
        let resource = Address::resolve(plugin, &w.resource)
            .map_err(|e| format!("bad reference `{}.{}`: {e}", w.resource, w.attribute))?;
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
    Vpc { cidr_block, enable_dns_support, enable_dns_hostnames, tags }
    InternetGateway { vpc_id, tags }
    Subnet { vpc_id, cidr_block, availability_zone, map_public_ip_on_launch, tags }
    RouteTable { vpc_id, tags }
    Route { route_table_id, destination_cidr_block, gateway_id }
    RouteTableAssociation { route_table_id, subnet_id }
    SecurityGroup { name, description, vpc_id, ingress, egress, tags }
    VpcEndpoint { vpc_id, service_name, endpoint_type, subnet_ids, security_group_ids, route_table_ids, private_dns_enabled, tags }
    KmsKey { description, enable_key_rotation, deletion_window_days, service_principals, tags }
    KmsAlias { name, target_key_id }
    KinesisStream { name, shard_count, retention_period_hours, kms_key_id, shard_level_metrics, tags }
    Secret { name, description, kms_key_id, username, password, recovery_window_days, tags }
    IamRole { name, description, assume_role_policy, managed_policy_arns, tags }
    CacheSubnetGroup { name, description, subnet_ids, tags }
    CacheReplicationGroup { id, description, engine_version, node_type, num_cache_clusters, port, subnet_group_name, security_group_ids, automatic_failover, multi_az, at_rest_encryption, transit_encryption, kms_key_id, snapshot_retention_days, tags }
    DbSubnetGroup { name, description, subnet_ids, tags }
    DbInstance { identifier, engine, engine_version, instance_class, allocated_storage_gb, storage_type, storage_encrypted, kms_key_id, db_name, master_username, master_password, port, db_subnet_group_name, vpc_security_group_ids, multi_az, publicly_accessible, backup_retention_days, monitoring_interval_seconds, monitoring_role_arn, deletion_protection, skip_final_snapshot, tags }
    SnsTopic { name, kms_key_id, tags }
    MetricAlarm { name, description, namespace, metric_name, dimensions, statistic, period_seconds, evaluation_periods, threshold, comparison_operator, treat_missing_data, alarm_actions, ok_actions, tags }
}

macro_rules! specs {
    ($($v:ident),* $(,)?) => {
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

specs!(
    Vpc,
    InternetGateway,
    Subnet,
    RouteTable,
    Route,
    RouteTableAssociation,
    SecurityGroup,
    VpcEndpoint,
    KmsKey,
    KmsAlias,
    KinesisStream,
    Secret,
    IamRole,
    CacheSubnetGroup,
    CacheReplicationGroup,
    DbSubnetGroup,
    DbInstance,
    SnsTopic,
    MetricAlarm,
);

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
                    r.name
                ),
            ));
        }
        let address = Address::new(plugin, &r.name);
        let spec =
            core::Spec::from_wit(r.spec, plugin).map_err(|e| (Some(address.to_string()), e))?;
        let depends_on = r
            .depends_on
            .iter()
            .map(|d| {
                Address::resolve(plugin, d)
                    .map_err(|e| (Some(address.to_string()), format!("depends-on: {e}")))
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
