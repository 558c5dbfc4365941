//! A component plugin built against the frozen contract `engine:plugin@0.2.0`
//! (`wit/0.2.0`), as every plugin published before 0.3.0 was: it lists no config
//! keys (0.2.0 has no way to), yet reads one, `older-topic-name`. The engine must
//! keep loading it, and pass that key on unchecked, with a warning. Written
//! against the raw bindings, since today's SDK speaks the current contract.

wit_bindgen::generate!({
    path: "../../../wit/0.2.0",
    world: "engine:plugin/component",
});

use engine::plugin::types::*;
use exports::engine::plugin::component_plugin::Guest;

struct Older;

impl Guest for Older {
    fn metadata() -> PluginInfo {
        PluginInfo {
            name: "older".into(),
            version: "0.2.0".into(),
            description: "A plugin built for engine:plugin@0.2.0.".into(),
        }
    }

    fn declare(ctx: Context) -> Result<Declaration, String> {
        let name = ctx
            .config
            .iter()
            .find(|(k, _)| k == "older-topic-name")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| format!("older-alerts-{}", ctx.environment));
        Ok(Declaration {
            resources: vec![Resource {
                name: "topic".into(),
                spec: ResourceSpec::SnsTopic(SnsTopic {
                    name,
                    kms_key_id: Some(Text::Literal("alias/aws/sns".into())),
                    tags: vec![],
                }),
                depends_on: vec![],
            }],
            outputs: vec![Output {
                name: "older_topic_arn".into(),
                description: "The older plugin's topic".into(),
                value: OutputValue::Ref(Reference {
                    resource: "topic".into(),
                    attribute: "arn".into(),
                }),
            }],
        })
    }
}

export!(Older);
