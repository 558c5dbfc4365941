//! A component plugin built against the frozen contract `engine:plugin@0.3.0`
//! (`wit/0.3.0`), as every plugin published before 0.4.0 was: its Redis group has
//! no `auth-token` field and its database's `master-password` is required, with
//! none of the database settings 0.4.0 added. The engine must keep loading it and
//! read its declaration as before: no AUTH token, the password from the stack's
//! secret, IAM authentication, log exports and tag copies off. Written against the
//! raw bindings, since today's SDK speaks the current contract.

wit_bindgen::generate!({
    path: "../../../wit/0.3.0",
    world: "engine:plugin/component",
});

use engine::plugin::types::*;
use exports::engine::plugin::component_plugin::Guest;

struct Older;

fn lit(s: &str) -> Text {
    Text::Literal(s.into())
}

fn local(resource: &str, attribute: &str) -> Text {
    Text::Ref(Reference {
        resource: resource.into(),
        attribute: attribute.into(),
    })
}

impl Guest for Older {
    fn metadata() -> PluginInfo {
        PluginInfo {
            name: "older3".into(),
            version: "0.3.0".into(),
            description: "A plugin built for engine:plugin@0.3.0.".into(),
            config: vec![ConfigKey {
                name: "older3-node-type".into(),
                description: "The cache's node type.".into(),
                type_: ConfigType::Text,
                default: Some("cache.t3.micro".into()),
            }],
        }
    }

    fn declare(ctx: Context) -> Result<Declaration, String> {
        let node_type = ctx
            .config
            .iter()
            .find(|(k, _)| k == "older3-node-type")
            .map_or_else(|| "cache.t3.micro".into(), |(_, v)| v.clone());
        let resource = |name: &str, spec| Resource {
            name: name.into(),
            spec,
            depends_on: vec![],
        };
        let secret = Secret {
            name: format!("older3-db-{}", ctx.environment),
            description: "credentials".into(),
            kms_key_id: None,
            username: "older_admin".into(),
            password: PasswordPolicy {
                length: 32,
                exclude_characters: "/@\" ".into(),
            },
            recovery_window_days: 0,
            tags: vec![],
        };
        let cache = CacheReplicationGroup {
            id: format!("older3-cache-{}", ctx.environment),
            description: "cache".into(),
            engine_version: "7.1".into(),
            node_type,
            num_cache_clusters: 2,
            port: 6379,
            subnet_group_name: lit("older3-cache"),
            security_group_ids: vec![],
            automatic_failover: true,
            multi_az: true,
            at_rest_encryption: true,
            transit_encryption: true,
            kms_key_id: None,
            snapshot_retention_days: 1,
            tags: vec![],
        };
        let db = DbInstance {
            identifier: format!("older3-db-{}", ctx.environment),
            engine: "postgres".into(),
            engine_version: "15".into(),
            instance_class: "db.t3.micro".into(),
            allocated_storage_gb: 20,
            storage_type: "gp3".into(),
            storage_encrypted: true,
            kms_key_id: None,
            db_name: "older".into(),
            master_username: local("secret", "username"),
            master_password: SecretValueRef {
                secret_id: local("secret", "arn"),
                key: "password".into(),
            },
            port: 5432,
            db_subnet_group_name: lit("older3-db"),
            vpc_security_group_ids: vec![],
            multi_az: true,
            publicly_accessible: false,
            backup_retention_days: 7,
            monitoring_interval_seconds: 0,
            monitoring_role_arn: None,
            deletion_protection: false,
            skip_final_snapshot: true,
            tags: vec![],
        };
        Ok(Declaration {
            resources: vec![
                resource("secret", ResourceSpec::Secret(secret)),
                resource("cache", ResourceSpec::CacheReplicationGroup(cache)),
                resource("db", ResourceSpec::DbInstance(db)),
            ],
            outputs: vec![],
        })
    }
}

export!(Older);
