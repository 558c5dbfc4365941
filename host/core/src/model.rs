//! The typed resource model: one Rust type per WIT record, with the same fields.
//!
//! These types are the host's own; `engine-runtime` converts the WIT bindings into
//! them at the plugin boundary and nothing else in the host sees generated code.
//! Field names serialise in kebab-case, exactly as in the WIT, so plans, state and
//! policy paths use the names a plugin author wrote.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::address::Address;

/// A reference to an attribute of another resource (always absolute in the host).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// The referenced resource.
    pub resource: Address,
    /// One of the attributes its kind exposes.
    pub attribute: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.resource, self.attribute)
    }
}

/// A string that is known now, or comes from another resource's attribute.
///
/// Serialises as a plain JSON string when literal and as `{"$ref": "plugin/name.attr"}`
/// when a reference, which keeps state files and plans readable.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Text {
    /// A known value.
    Literal(String),
    /// A value taken from another resource.
    Ref(Reference),
}

/// The JSON key that marks a serialised [`Text::Ref`].
pub const REF_KEY: &str = "$ref";

impl Text {
    /// A literal.
    pub fn lit(s: impl Into<String>) -> Self {
        Text::Literal(s.into())
    }

    /// The literal value, if known.
    pub fn as_literal(&self) -> Option<&str> {
        match self {
            Text::Literal(s) => Some(s),
            Text::Ref(_) => None,
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::lit(s)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Text::Literal(v) => s.serialize_str(v),
            Text::Ref(r) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(REF_KEY, &r.to_string())?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Lit(String),
            Ref {
                #[serde(rename = "$ref")]
                target: String,
            },
        }
        match Repr::deserialize(d)? {
            Repr::Lit(s) => Ok(Text::Literal(s)),
            Repr::Ref { target } => parse_ref(&target)
                .map(Text::Ref)
                .ok_or_else(|| serde::de::Error::custom(format!("bad reference `{target}`"))),
        }
    }
}

/// Parses `plugin/name.attribute`.
pub fn parse_ref(s: &str) -> Option<Reference> {
    let (addr, attr) = s.rsplit_once('.')?;
    Some(Reference {
        resource: Address::parse(addr).ok()?,
        attribute: attr.to_string(),
    })
}

/// An AWS tag.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

macro_rules! wit_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $v),* }
        impl $name {
            /// The WIT name of the case.
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $s),* } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

wit_enum!(
    /// IP protocol of a security group rule.
    IpProtocol { /** TCP */ Tcp = "tcp", /** UDP */ Udp = "udp", /** ICMP */ Icmp = "icmp", /** all */ All = "all" }
);
wit_enum!(
    /// VPC endpoint type.
    VpcEndpointType { /** interface */ Interface = "interface", /** gateway */ Gateway = "gateway" }
);
wit_enum!(
    /// Which traffic a flow log records.
    FlowLogTraffic { /** accepted */ Accept = "accept", /** rejected */ Reject = "reject", /** both */ All = "all" }
);
wit_enum!(
    /// CloudWatch statistic.
    Statistic {
        /** Average */ Average = "average", /** Sum */ Sum = "sum",
        /** Minimum */ Minimum = "minimum", /** Maximum */ Maximum = "maximum",
        /** SampleCount */ SampleCount = "sample-count",
    }
);
wit_enum!(
    /// Alarm comparison.
    ComparisonOperator {
        /** >= */ GreaterThanOrEqualToThreshold = "greater-than-or-equal-to-threshold",
        /** > */ GreaterThanThreshold = "greater-than-threshold",
        /** < */ LessThanThreshold = "less-than-threshold",
        /** <= */ LessThanOrEqualToThreshold = "less-than-or-equal-to-threshold",
    }
);

/// Declares the record types; each field is documented in `wit/engine.wit`.
macro_rules! records {
    ($($(#[$m:meta])* $name:ident { $($f:ident : $t:ty),* $(,)? })*) => {$(
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        #[allow(missing_docs)]
        pub struct $name { $(pub $f: $t),* }
    )*};
}

records! {
    /// One rule of a security group.
    SecurityGroupRule { protocol: IpProtocol, from_port: u16, to_port: u16, cidr_blocks: Vec<Text>, description: String }
    /// How the host generates a password.
    PasswordPolicy { length: u32, exclude_characters: String }
    /// A value the host reads from a secret at apply time.
    SecretValueRef { secret_id: Text, key: String }
    /// A metric dimension.
    Dimension { name: String, value: Text }
    /// One statement of an IAM policy (it allows `actions` on `resources`).
    PolicyStatement { actions: Vec<String>, resources: Vec<Text> }
}

/// **The host's one list of resource kinds.** Each entry is a kind's record type
/// (its fields are the WIT record's, in order), its WIT name, and whether it takes
/// tags (`tagged`, with a `tags` field) or not (`untagged`).
///
/// Everything else that has a case per kind is derived from this list by passing
/// a macro to it, `engine_core::for_each_kind!(my_macro)`, which expands to
/// `my_macro! { $( $(#[doc])* Name = "wit-name", tagged|untagged { field: Type, ... } )* }`:
/// here the record types, [`Spec`], [`Kind`] and tag access; in `engine-runtime`
/// the WIT conversion; in `engine-aws` the provider dispatch. Adding a kind is a
/// line here, its record in the WIT, its schema (`schema.rs`) and its provider
/// module; a kind missing from any of them is a compile error or a failing test.
#[macro_export]
macro_rules! for_each_kind {
    ($m:ident) => {
        $m! {
            /// An Amazon VPC.
            Vpc = "vpc", tagged { cidr_block: String, enable_dns_support: bool, enable_dns_hostnames: bool, tags: Vec<Tag> }
            /// An internet gateway attached to a VPC.
            InternetGateway = "internet-gateway", tagged { vpc_id: Text, tags: Vec<Tag> }
            /// A subnet.
            Subnet = "subnet", tagged { vpc_id: Text, cidr_block: String, availability_zone: String, map_public_ip_on_launch: bool, tags: Vec<Tag> }
            /// A route table.
            RouteTable = "route-table", tagged { vpc_id: Text, tags: Vec<Tag> }
            /// A route.
            Route = "route", untagged { route_table_id: Text, destination_cidr_block: String, gateway_id: Text }
            /// A route table association.
            RouteTableAssociation = "route-table-association", untagged { route_table_id: Text, subnet_id: Text }
            /// A security group with its rules.
            SecurityGroup = "security-group", tagged { name: String, description: String, vpc_id: Text, ingress: Vec<SecurityGroupRule>, egress: Vec<SecurityGroupRule>, tags: Vec<Tag> }
            /// A VPC endpoint.
            VpcEndpoint = "vpc-endpoint", tagged { vpc_id: Text, service_name: String, endpoint_type: VpcEndpointType, subnet_ids: Vec<Text>, security_group_ids: Vec<Text>, route_table_ids: Vec<Text>, private_dns_enabled: bool, tags: Vec<Tag> }
            /// A customer-managed KMS key.
            KmsKey = "kms-key", tagged { description: String, enable_key_rotation: bool, deletion_window_days: u32, service_principals: Vec<String>, tags: Vec<Tag> }
            /// A KMS alias.
            KmsAlias = "kms-alias", untagged { name: String, target_key_id: Text }
            /// A Kinesis data stream.
            KinesisStream = "kinesis-stream", tagged { name: String, shard_count: u32, retention_period_hours: u32, kms_key_id: Option<Text>, shard_level_metrics: Vec<String>, tags: Vec<Tag> }
            /// A Secrets Manager secret with a generated password.
            Secret = "secret", tagged { name: String, description: String, kms_key_id: Option<Text>, username: String, password: PasswordPolicy, recovery_window_days: u32, tags: Vec<Tag> }
            /// An IAM role.
            IamRole = "iam-role", tagged { name: String, description: String, assume_role_policy: String, managed_policy_arns: Vec<String>, tags: Vec<Tag> }
            /// An ElastiCache subnet group.
            CacheSubnetGroup = "cache-subnet-group", tagged { name: String, description: String, subnet_ids: Vec<Text>, tags: Vec<Tag> }
            /// An ElastiCache Redis replication group.
            CacheReplicationGroup = "cache-replication-group", tagged { id: String, description: String, engine_version: String, node_type: String, num_cache_clusters: u32, port: u16, subnet_group_name: Text, security_group_ids: Vec<Text>, automatic_failover: bool, multi_az: bool, at_rest_encryption: bool, transit_encryption: bool, kms_key_id: Option<Text>, auth_token: Option<SecretValueRef>, snapshot_retention_days: u32, tags: Vec<Tag> }
            /// An RDS DB subnet group.
            DbSubnetGroup = "db-subnet-group", tagged { name: String, description: String, subnet_ids: Vec<Text>, tags: Vec<Tag> }
            /// An RDS DB instance.
            DbInstance = "db-instance", tagged { identifier: String, engine: String, engine_version: String, instance_class: String, allocated_storage_gb: u32, storage_type: String, storage_encrypted: bool, kms_key_id: Option<Text>, db_name: String, master_username: Text, master_password: Option<SecretValueRef>, manage_master_user_password: bool, master_user_secret_kms_key_id: Option<Text>, iam_database_authentication: bool, cloudwatch_logs_exports: Vec<String>, copy_tags_to_snapshot: bool, port: u16, db_subnet_group_name: Text, vpc_security_group_ids: Vec<Text>, multi_az: bool, publicly_accessible: bool, backup_retention_days: u32, monitoring_interval_seconds: u32, monitoring_role_arn: Option<Text>, deletion_protection: bool, skip_final_snapshot: bool, tags: Vec<Tag> }
            /// An SNS topic.
            SnsTopic = "sns-topic", tagged { name: String, kms_key_id: Option<Text>, tags: Vec<Tag> }
            /// A CloudWatch metric alarm.
            MetricAlarm = "metric-alarm", tagged { name: String, description: String, namespace: String, metric_name: String, dimensions: Vec<Dimension>, statistic: Statistic, period_seconds: u32, evaluation_periods: u32, threshold: f64, comparison_operator: ComparisonOperator, treat_missing_data: String, alarm_actions: Vec<Text>, ok_actions: Vec<Text>, tags: Vec<Tag> }
            /// An S3 bucket.
            S3Bucket = "s3-bucket", tagged { name: String, versioning: bool, default_encryption: bool, kms_key_id: Option<Text>, block_public_access: bool, expiration_days: u32, tags: Vec<Tag> }
            /// A CloudWatch Logs log group.
            LogGroup = "log-group", tagged { name: String, retention_days: u32, kms_key_id: Option<Text>, tags: Vec<Tag> }
            /// A VPC flow log to CloudWatch Logs.
            FlowLog = "flow-log", tagged { vpc_id: Text, traffic_type: FlowLogTraffic, log_group_name: Text, deliver_logs_permission_arn: Text, max_aggregation_interval_seconds: u32, tags: Vec<Tag> }
            /// A VPC's default security group, adopted.
            DefaultSecurityGroup = "default-security-group", tagged { vpc_id: Text, ingress: Vec<SecurityGroupRule>, egress: Vec<SecurityGroupRule>, tags: Vec<Tag> }
            /// A policy embedded in an IAM role.
            IamRolePolicy = "iam-role-policy", untagged { role_name: Text, name: String, statements: Vec<PolicyStatement> }
        }
    };
}

/// The tags field of a kind's record, by its `tagged`/`untagged` mark.
macro_rules! tags_field {
    (tagged, $s:expr) => {
        Some($s)
    };
    (untagged, $s:expr) => {
        None
    };
}

/// Declares the kinds' records, [`Spec`] and [`Kind`] from [`for_each_kind!`].
macro_rules! kinds {
    ($($(#[$m:meta])* $v:ident = $s:literal, $tags:ident { $($f:ident : $t:ty),* $(,)? })*) => {
        records! { $($(#[$m])* $v { $($f: $t),* })* }

        /// A resource's desired properties, one case per kind. (Variants differ in
        /// size; a stack holds tens of them, so boxing would buy nothing.)
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", content = "properties")]
        pub enum Spec { $(#[allow(missing_docs)] #[serde(rename = $s)] $v($v)),* }

        /// A resource kind.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Kind { $(#[allow(missing_docs)] #[serde(rename = $s)] $v),* }

        impl Kind {
            /// Every kind, in WIT order.
            pub const ALL: &'static [Kind] = &[$(Kind::$v),*];
            /// The WIT name, for example `kinesis-stream`.
            pub fn as_str(self) -> &'static str { match self { $(Kind::$v => $s),* } }
            /// Parses a WIT name.
            pub fn parse(s: &str) -> Option<Kind> { match s { $($s => Some(Kind::$v),)* _ => None } }
        }

        impl Spec {
            /// The kind of this spec.
            pub fn kind(&self) -> Kind { match self { $(Spec::$v(_) => Kind::$v),* } }
            /// Its tags, for kinds that take tags.
            #[allow(unused_variables)]
            pub fn tags(&self) -> Option<&Vec<Tag>> {
                match self { $(Spec::$v(s) => tags_field!($tags, &s.tags)),* }
            }
            /// Its tags, mutable, for kinds that take tags.
            #[allow(unused_variables)]
            pub fn tags_mut(&mut self) -> Option<&mut Vec<Tag>> {
                match self { $(Spec::$v(s) => tags_field!($tags, &mut s.tags)),* }
            }
        }
    };
}

for_each_kind!(kinds);

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Spec {
    /// The properties as a JSON object (field names in kebab-case).
    pub fn properties(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut m)) => {
                m.remove("properties").unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        }
    }

    /// Rebuilds a spec from its kind and properties (the inverse of [`Spec::properties`]).
    pub fn from_properties(kind: Kind, properties: serde_json::Value) -> serde_json::Result<Spec> {
        serde_json::from_value(
            serde_json::json!({ "kind": kind.as_str(), "properties": properties }),
        )
    }

    /// Every reference in the spec with the dotted path of the property holding it
    /// (for example `subnet-ids.1`), in property order.
    pub fn references(&self) -> Vec<(String, Reference)> {
        crate::value::spec_refs(self, None).0
    }
}

/// The keys a `secret` holds, which a [`SecretValueRef`] may read.
pub const SECRET_KEYS: &[&str] = &["password", "username"];

impl Spec {
    /// Every [`SecretValueRef`] in the spec, with the property that holds it
    /// (`master-password`). The graph checks that each reads a secret of the
    /// stack (`Graph::build`); a kind given a field of that type must list it here
    /// (a test compares this with the properties).
    pub fn secret_value_refs(&self) -> Vec<(&'static str, &SecretValueRef)> {
        match self {
            Spec::DbInstance(d) => d
                .master_password
                .iter()
                .map(|r| ("master-password", r))
                .collect(),
            Spec::CacheReplicationGroup(g) => {
                g.auth_token.iter().map(|r| ("auth-token", r)).collect()
            }
            _ => vec![],
        }
    }
}

/// One declared resource, with its absolute address.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// `plugin/name`.
    pub address: Address,
    /// Desired properties.
    pub spec: Spec,
    /// Explicit extra dependencies (absolute).
    pub depends_on: Vec<Address>,
}

/// The value of a stack output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputValue {
    /// A string.
    Str(String),
    /// A whole number.
    Number(i64),
    /// A boolean.
    Boolean(bool),
    /// An attribute of a resource.
    Ref(#[serde(with = "ref_string")] Reference),
}

mod ref_string {
    use super::{Reference, parse_ref};
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(r: &Reference, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&r.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Reference, D::Error> {
        let s = String::deserialize(d)?;
        parse_ref(&s).ok_or_else(|| serde::de::Error::custom(format!("bad reference `{s}`")))
    }
}

/// A stack output declared by a plugin.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// Output name.
    pub name: String,
    /// For people.
    pub description: String,
    /// The value.
    pub value: OutputValue,
    /// The plugin that declared it.
    pub plugin: String,
}

/// What one plugin returned from `declare`, converted to the host model.
#[derive(Clone, Debug, PartialEq)]
pub struct Declaration {
    /// Plugin name.
    pub plugin: String,
    /// Where it was loaded from (for messages).
    pub source: String,
    /// Its resources (addresses absolute).
    pub resources: Vec<Resource>,
    /// Its outputs.
    pub outputs: Vec<Output>,
}

/// The stack context passed to every plugin.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Context {
    /// Stack name.
    pub stack: String,
    /// AWS region.
    pub region: String,
    /// Environment suffix.
    pub environment: String,
    /// Free-form config, sorted by key.
    pub config: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_serialises_plainly_and_round_trips() {
        let r = Text::Ref(Reference {
            resource: Address::new("vpc", "main"),
            attribute: "id".into(),
        });
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j, serde_json::json!({"$ref": "vpc/main.id"}));
        assert_eq!(serde_json::from_value::<Text>(j).unwrap(), r);
        let l = Text::lit("10.0.0.0/16");
        assert_eq!(
            serde_json::to_value(&l).unwrap(),
            serde_json::json!("10.0.0.0/16")
        );
    }

    #[test]
    fn spec_properties_round_trip_and_list_references() {
        let spec = Spec::Subnet(Subnet {
            vpc_id: Text::Ref(Reference {
                resource: Address::new("vpc", "main"),
                attribute: "id".into(),
            }),
            cidr_block: "10.0.1.0/24".into(),
            availability_zone: "us-east-1a".into(),
            map_public_ip_on_launch: false,
            tags: vec![],
        });
        let props = spec.properties();
        assert_eq!(props["cidr-block"], "10.0.1.0/24");
        assert_eq!(Spec::from_properties(Kind::Subnet, props).unwrap(), spec);
        let refs = spec.references();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].0, "vpc-id");
        assert_eq!(refs[0].1.to_string(), "vpc/main.id");
    }

    #[test]
    fn every_secret_value_ref_is_listed() {
        // A secret value reference is the only record with a `secret-id` property.
        fn count(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::Object(m) => {
                    usize::from(m.contains_key("secret-id")) + m.values().map(count).sum::<usize>()
                }
                serde_json::Value::Array(items) => items.iter().map(count).sum(),
                _ => 0,
            }
        }
        for k in Kind::ALL {
            let spec = crate::samples::spec(*k);
            assert_eq!(
                spec.secret_value_refs().len(),
                count(&spec.properties()),
                "{k}: list its secret value references in Spec::secret_value_refs"
            );
        }
    }

    #[test]
    fn kind_names_parse_back() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
        }
    }

    #[test]
    fn tag_access_follows_the_kind_list() {
        let mut vpc = Spec::Vpc(Vpc {
            cidr_block: "10.0.0.0/16".into(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
            tags: vec![],
        });
        assert!(vpc.tags().is_some());
        vpc.tags_mut().unwrap().push(Tag {
            key: "a".into(),
            value: "b".into(),
        });
        assert_eq!(vpc.tags().unwrap().len(), 1);
        let route = Spec::Route(Route {
            route_table_id: "rtb-1".into(),
            destination_cidr_block: "0.0.0.0/0".into(),
            gateway_id: "igw-1".into(),
        });
        assert!(route.tags().is_none());
        let taggable = Kind::ALL
            .iter()
            .filter(|k| crate::samples::spec(**k).tags().is_some())
            .count();
        assert_eq!(
            taggable,
            Kind::ALL.len() - 4,
            "routes, associations, aliases, role policies"
        );
    }
}
