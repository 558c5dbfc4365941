//! A component plugin that misbehaves as the stack config `mode` says, so the tests
//! can prove each sandbox limit and validation rule fires. With no mode it declares
//! a small valid stack.

use std::hint::black_box;

use engine_sdk::*;

struct Misbehave;

/// How to misbehave. Text, not a choice, so that the plugin itself answers an
/// unknown mode (the tests check that answer).
const MODE: TextKey = TextKey::new("mode", "ok", "How to misbehave (`ok`: not at all).");
/// Shown in the `panic` mode's message; deliberately not a valid block.
const CIDR: TextKey = TextKey::new("cidr", "10.0.0.0/99", "Echoed by the `panic` mode.");

fn vpc() -> Vpc {
    Vpc {
        cidr_block: "10.0.0.0/16".into(),
        enable_dns_support: true,
        enable_dns_hostnames: true,
        tags: vec![],
    }
}

fn igw(vpc_id: Text) -> InternetGateway {
    InternetGateway {
        vpc_id,
        tags: vec![],
    }
}

fn stream(name: &str) -> KinesisStream {
    KinesisStream {
        name: name.into(),
        shard_count: 1,
        retention_period_hours: 24,
        kms_key_id: Some("alias/aws/kinesis".into()),
        shard_level_metrics: vec![],
        tags: vec![],
    }
}

impl ComponentPlugin for Misbehave {
    fn info() -> PluginInfo {
        info!(
            "misbehave",
            "Misbehaves on purpose, for tests.",
            [MODE, CIDR]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let mut s = Stack::new();
        match MODE.get(ctx)?.as_str() {
            "ok" => {
                let v = s.add("net", vpc());
                s.add("gw", igw(v.attr("id")));
                s.output("vpc_id", "The VPC", v.output("id"));
            }
            "loop" => {
                let mut n = 0u64;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            "panic" => panic!(
                "the configured CIDR block `{}` is not valid",
                CIDR.get(ctx)?
            ),
            "oversized" => {
                let mut v = vpc();
                v.tags = vec![Tag {
                    key: "padding".into(),
                    value: "x".repeat(8 << 20),
                }];
                s.add("big", v);
            }
            "error" => return Err("config `cidr` is required".into()),
            "missing-ref" => {
                s.add("gw", igw(Handle::external("network/main").attr("id")));
            }
            "bad-attr" => {
                let v = s.add("net", vpc());
                s.add("gw", igw(v.attr("arn")));
            }
            "cycle" => {
                let a = Handle::external("misbehave/a");
                let b = Handle::external("misbehave/b");
                s.add("a", igw(b.attr("id")));
                s.add("b", igw(a.attr("id")));
            }
            "dup-name" => {
                s.add("orders", stream("orders"));
                s.add("orders-again", stream("orders"));
            }
            "bad-name" => {
                s.add("Not_Valid", vpc());
            }
            other => return Err(format!("unknown mode `{other}`")),
        }
        Ok(s)
    }
}

component!(Misbehave);
