//! A component plugin built against the frozen contract `engine:plugin@0.1.0`
//! (`wit/0.1.0`), as every plugin published before 0.2.0 was: the engine must keep
//! loading, declaring, planning and applying it. Written against the raw bindings,
//! since today's SDK speaks the current contract.

wit_bindgen::generate!({
    path: "../../../wit/0.1.0",
    world: "engine:plugin/component",
});

use engine::plugin::types::*;
use exports::engine::plugin::component_plugin::Guest;

struct Legacy;

fn reference(resource: &str, attribute: &str) -> Reference {
    Reference {
        resource: resource.into(),
        attribute: attribute.into(),
    }
}

impl Guest for Legacy {
    fn metadata() -> PluginInfo {
        PluginInfo {
            name: "legacy".into(),
            version: "0.1.0".into(),
            description: "A plugin built for engine:plugin@0.1.0.".into(),
        }
    }

    fn declare(ctx: Context) -> Result<Declaration, String> {
        let env = &ctx.environment;
        let name = Tag {
            key: "Name".into(),
            value: format!("legacy-{env}"),
        };
        Ok(Declaration {
            resources: vec![
                Resource {
                    name: "vpc".into(),
                    spec: ResourceSpec::Vpc(Vpc {
                        cidr_block: "10.42.0.0/16".into(),
                        enable_dns_support: true,
                        enable_dns_hostnames: true,
                        tags: vec![name.clone()],
                    }),
                    depends_on: vec![],
                },
                Resource {
                    name: "subnet".into(),
                    spec: ResourceSpec::Subnet(Subnet {
                        vpc_id: Text::Ref(reference("vpc", "id")),
                        cidr_block: "10.42.1.0/24".into(),
                        availability_zone: format!("{}a", ctx.region),
                        map_public_ip_on_launch: false,
                        tags: vec![name],
                    }),
                    depends_on: vec![],
                },
                Resource {
                    name: "alerts".into(),
                    spec: ResourceSpec::SnsTopic(SnsTopic {
                        name: format!("legacy-alerts-{env}"),
                        kms_key_id: Some(Text::Literal("alias/aws/sns".into())),
                        tags: vec![],
                    }),
                    depends_on: vec![],
                },
            ],
            outputs: vec![Output {
                name: "legacy_vpc_id".into(),
                description: "The legacy plugin's VPC".into(),
                value: OutputValue::Ref(reference("vpc", "id")),
            }],
        })
    }
}

export!(Legacy);
