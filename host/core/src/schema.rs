//! What the host knows about each kind, independent of AWS calls: which properties
//! force a replacement (the rest update in place), which attributes other resources
//! may reference, which property is the resource's name in AWS, and whether the kind
//! can be created before its old copy is deleted.
//!
//! The rules follow the AWS APIs: a property with no "modify" call (a VPC's CIDR, a
//! stream's name, a DB's storage encryption) forces replacement.

use crate::model::Kind;

/// The type of an attribute's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    /// A string.
    String,
    /// A whole number (ports).
    Number,
}

/// The host's schema for one kind.
#[derive(Debug)]
pub struct KindSchema {
    /// The kind.
    pub kind: Kind,
    /// Properties (top-level, kebab-case) whose change replaces the resource.
    pub replace_on: &'static [&'static str],
    /// Attributes other resources may reference; all are computed by AWS or
    /// echo a property once the resource exists.
    pub attributes: &'static [(&'static str, AttrType)],
    /// The property holding the resource's unique name in AWS, if it has one.
    pub name_property: Option<&'static str>,
    /// Whether a replacement may create the new resource before deleting the old
    /// one (false when the AWS name must be unique, so the two would collide).
    pub create_before_destroy: bool,
    /// Whether creation takes minutes on AWS (the CLI shows progress).
    pub slow: bool,
    /// What deleting the resource keeps or loses, from its properties (the plan
    /// shows it on every change that deletes or may later delete it).
    pub delete_note: Option<fn(&serde_json::Value) -> Option<String>>,
}

use AttrType::{Number as N, String as S};

const fn schema(kind: Kind) -> KindSchema {
    KindSchema {
        kind,
        replace_on: &[],
        attributes: &[("id", S)],
        name_property: None,
        create_before_destroy: true,
        slow: false,
        delete_note: None,
    }
}

/// A DB instance's delete: a final snapshot is kept unless `skip-final-snapshot`.
/// A kept snapshot is billed as backup storage until someone deletes it
/// (<https://aws.amazon.com/rds/postgresql/pricing/>, "Backup Storage"); a skipped
/// one means the data is gone with the instance
/// (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html>).
fn db_instance_delete_note(props: &serde_json::Value) -> Option<String> {
    let skip = props.get("skip-final-snapshot")?.as_bool()?;
    let id = props
        .get("identifier")
        .and_then(|v| v.as_str())
        .unwrap_or("the instance");
    // Deletion protection makes AWS refuse the delete (DeleteDBInstance's
    // `InvalidParameterCombination`) until an update turns it off.
    if props.get("deletion-protection").and_then(|v| v.as_bool()) == Some(true) {
        return Some(format!(
            "deletion protection is on: AWS refuses to delete {id} until it is turned off"
        ));
    }
    let what = if skip {
        format!("no final snapshot of {id}; its data is lost with it")
    } else {
        format!(
            "a final snapshot `{id}-final-<time>` is kept, billed as backup storage until \
             you delete it"
        )
    };
    Some(format!("deletion protection is off; on delete: {what}"))
}

static SCHEMAS: &[KindSchema] = &[
    KindSchema {
        replace_on: &["cidr-block"],
        attributes: &[("id", S), ("cidr-block", S)],
        ..schema(Kind::Vpc)
    },
    KindSchema {
        replace_on: &["vpc-id"],
        ..schema(Kind::InternetGateway)
    },
    KindSchema {
        replace_on: &["vpc-id", "cidr-block", "availability-zone"],
        attributes: &[("id", S), ("cidr-block", S), ("availability-zone", S)],
        // Two subnets cannot share a CIDR block.
        create_before_destroy: false,
        ..schema(Kind::Subnet)
    },
    KindSchema {
        replace_on: &["vpc-id"],
        ..schema(Kind::RouteTable)
    },
    KindSchema {
        replace_on: &["route-table-id", "destination-cidr-block"],
        create_before_destroy: false,
        ..schema(Kind::Route)
    },
    KindSchema {
        replace_on: &["route-table-id", "subnet-id"],
        create_before_destroy: false,
        ..schema(Kind::RouteTableAssociation)
    },
    KindSchema {
        replace_on: &["name", "description", "vpc-id"],
        attributes: &[("id", S), ("name", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::SecurityGroup)
    },
    KindSchema {
        replace_on: &["vpc-id", "service-name", "endpoint-type"],
        ..schema(Kind::VpcEndpoint)
    },
    KindSchema {
        replace_on: &[],
        attributes: &[("id", S), ("arn", S)],
        ..schema(Kind::KmsKey)
    },
    KindSchema {
        replace_on: &["name"],
        attributes: &[("name", S), ("arn", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::KmsAlias)
    },
    KindSchema {
        replace_on: &["name"],
        attributes: &[("name", S), ("arn", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::KinesisStream)
    },
    KindSchema {
        // A new password policy means a new password: the host generates one.
        replace_on: &["name", "password"],
        attributes: &[("arn", S), ("name", S), ("username", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::Secret)
    },
    KindSchema {
        replace_on: &["name"],
        attributes: &[("arn", S), ("name", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::IamRole)
    },
    KindSchema {
        replace_on: &["name"],
        attributes: &[("name", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::CacheSubnetGroup)
    },
    KindSchema {
        replace_on: &[
            "id",
            "port",
            "subnet-group-name",
            "at-rest-encryption",
            "transit-encryption",
            "kms-key-id",
            "auth-token",
        ],
        attributes: &[
            ("id", S),
            ("arn", S),
            ("primary-endpoint", S),
            ("reader-endpoint", S),
            ("port", N),
        ],
        name_property: Some("id"),
        create_before_destroy: false,
        slow: true,
        ..schema(Kind::CacheReplicationGroup)
    },
    KindSchema {
        replace_on: &["name"],
        attributes: &[("name", S), ("arn", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::DbSubnetGroup)
    },
    KindSchema {
        replace_on: &[
            "identifier",
            "engine",
            "storage-encrypted",
            "kms-key-id",
            "db-name",
            "master-username",
            "db-subnet-group-name",
        ],
        attributes: &[
            ("id", S),
            ("arn", S),
            ("endpoint", S),
            ("port", N),
            ("resource-id", S),
            ("master-user-secret-arn", S),
        ],
        name_property: Some("identifier"),
        create_before_destroy: false,
        slow: true,
        delete_note: Some(db_instance_delete_note),
        ..schema(Kind::DbInstance)
    },
    KindSchema {
        replace_on: &["name"],
        attributes: &[("arn", S), ("name", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::SnsTopic)
    },
    KindSchema {
        replace_on: &["name"],
        attributes: &[("arn", S), ("name", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::MetricAlarm)
    },
    KindSchema {
        // S3 renames nothing: a bucket's name is fixed for its life.
        replace_on: &["name"],
        attributes: &[("id", S), ("arn", S), ("domain-name", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::S3Bucket)
    },
    KindSchema {
        replace_on: &["name"],
        attributes: &[("name", S), ("arn", S)],
        name_property: Some("name"),
        create_before_destroy: false,
        ..schema(Kind::LogGroup)
    },
    KindSchema {
        // EC2 has no call that modifies a flow log, only its tags.
        replace_on: &[
            "vpc-id",
            "traffic-type",
            "log-group-name",
            "deliver-logs-permission-arn",
            "max-aggregation-interval-seconds",
        ],
        ..schema(Kind::FlowLog)
    },
    KindSchema {
        // The group is the VPC's own: one per VPC, so never two at once.
        replace_on: &["vpc-id"],
        create_before_destroy: false,
        ..schema(Kind::DefaultSecurityGroup)
    },
    KindSchema {
        replace_on: &["role-name", "name"],
        attributes: &[("name", S)],
        create_before_destroy: false,
        ..schema(Kind::IamRolePolicy)
    },
];

impl Kind {
    /// The host's schema for this kind.
    pub fn schema(self) -> &'static KindSchema {
        SCHEMAS
            .iter()
            .find(|s| s.kind == self)
            .expect("every kind has a schema (checked by a unit test)")
    }

    /// The type of `attribute`, if this kind exposes it.
    pub fn attribute(self, attribute: &str) -> Option<AttrType> {
        self.schema()
            .attributes
            .iter()
            .find(|(a, _)| *a == attribute)
            .map(|(_, t)| *t)
    }

    /// The attribute names, for messages.
    pub fn attribute_names(self) -> Vec<&'static str> {
        self.schema().attributes.iter().map(|(a, _)| *a).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_exactly_one_schema() {
        for k in Kind::ALL {
            assert_eq!(SCHEMAS.iter().filter(|s| s.kind == *k).count(), 1, "{k}");
        }
        assert_eq!(SCHEMAS.len(), Kind::ALL.len());
    }
}
