//! A component plugin of the current contract that uses a kind 0.1.0 does not know
//! (`s3-bucket`): beside a 0.1.0 plugin it shows both contracts in one stack. Its
//! key's resource name and description are config keys, so a test can rename the
//! key in the plugin (`engine state mv`) or update it in place.

use engine_sdk::*;

struct Storage;

const KEY_NAME: TextKey = TextKey::new(
    "storage-key-name",
    "key",
    "The name (in its address) of the key that encrypts the bucket.",
);
const KEY_DESCRIPTION: TextKey = TextKey::new(
    "storage-key-description",
    "Encrypts the exports bucket",
    "The key's description.",
);

impl ComponentPlugin for Storage {
    fn info() -> PluginInfo {
        info!(
            "storage",
            "An encrypted, private S3 bucket.",
            [KEY_NAME, KEY_DESCRIPTION]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let mut stack = Stack::new();
        let key = stack.add(
            &KEY_NAME.get(ctx)?,
            KmsKey {
                description: KEY_DESCRIPTION.get(ctx)?,
                enable_key_rotation: true,
                deletion_window_days: 7,
                service_principals: vec![],
                tags: vec![],
            },
        );
        let bucket = stack.add(
            "bucket",
            S3Bucket {
                name: format!("engine-exports-{}", ctx.environment),
                versioning: true,
                default_encryption: true,
                kms_key_id: Some(key.attr("arn")),
                block_public_access: true,
                expiration_days: 30,
                tags: tags(&[("team", "data")]),
            },
        );
        stack.output("bucket", "The exports bucket", bucket.output("id"));
        Ok(stack)
    }
}

component!(Storage);
