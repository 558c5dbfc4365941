//! A component plugin of the current contract that uses a kind 0.1.0 does not know
//! (`s3-bucket`): beside a 0.1.0 plugin it shows both contracts in one stack.

use engine_sdk::*;

struct Storage;

impl ComponentPlugin for Storage {
    fn info() -> PluginInfo {
        info!("storage", "An encrypted, private S3 bucket.")
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let mut stack = Stack::new();
        let key = stack.add(
            "key",
            KmsKey {
                description: "Encrypts the exports bucket".into(),
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
