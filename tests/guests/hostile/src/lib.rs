//! A component plugin that attacks the host, chosen by the stack config `hostile`,
//! so the tests can prove each attack is refused with a clear error, in bounded
//! time and host memory (tests/hostile). With no `hostile` config it declares one
//! valid resource.
//!
//! | `hostile` | What it does |
//! |---|---|
//! | `many` | declares `count` resources (default ten million) |
//! | `huge-string` | a tag value of `size` bytes (default 100 MiB) |
//! | `alias-strings` | one string of `size` bytes (default 16 MiB) used as the value of `count` tags (default 64): the answer lifts to `size * count` bytes of host memory from `size` bytes of its own (unsafe aliasing, as a hand-written plugin could) |
//! | `chain` | `count` resources (default 100,000), each referring to the one before |
//! | `chain-cycle` | the same chain, closed into a cycle |
//! | `name` | a resource named `name` (default `../../etc/passwd\n\x1b[31m`) |
//! | `ref-path` | a reference to `../../etc/passwd` |
//! | `message` | an error from `declare` with terminal escapes and a newline |
//! | `log` | a warning in the log with terminal escapes and a newline |
//! | `panic` | a panic whose message has terminal escapes and a newline |
//! | `aws-name` | two streams with the same name, which has terminal escapes |
//! | `attr` | a reference to an attribute whose name has terminal escapes |
//! | `output-name` | an output whose name has terminal escapes |
//! | `outside` | a reference and a `depends-on` to resources no plugin declares |
//! | `secret-password` | the secret's password as an output and as a field |
//! | `secret-outside` | a database whose master password is read from a secret outside the stack (a literal ARN) |
//! | `secret-key` | a database whose master password is the secret's `arn` key |
//! | `overflow` | unbounded recursion with a buffer on the stack (the guest's shadow stack, in linear memory, runs out) |
//! | `overflow-store` | the same, the first access past the stack a plain store |
//! | `overflow-native` | unbounded recursion without one (wasm's own call stack runs out) |

use std::hint::black_box;
use std::mem::ManuallyDrop;

use engine_sdk::*;

struct Hostile;

// Every key is text: the plugin parses and answers bad values itself, as the
// tests expect.
const HOSTILE: TextKey = TextKey::new("hostile", "ok", "The attack (`ok`: none).");
const COUNT: TextKey<Option<String>> = TextKey::optional(
    "count",
    "How many, for `many`, `alias-strings` and `chain`.",
);
const SIZE: TextKey<Option<String>> =
    TextKey::optional("size", "Bytes, for `huge-string` and `alias-strings`.");
const NAME: TextKey = TextKey::new(
    "name",
    "../../etc/passwd\n\x1b[31m",
    "The resource name, for `name`.",
);

/// The terminal escapes every "escape" mode uses: red, then a newline that would
/// fake a line of the engine's own output.
const ESCAPES: &str = "\x1b[31m";

fn gateway(vpc_id: Text) -> InternetGateway {
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
        kms_key_id: None,
        shard_level_metrics: vec![],
        tags: vec![],
    }
}

fn secret() -> Secret {
    Secret {
        name: "db-credentials".into(),
        description: "Master credentials".into(),
        kms_key_id: None,
        username: "admin".into(),
        password: PasswordPolicy {
            length: 32,
            exclude_characters: "/@\" ".into(),
        },
        recovery_window_days: 7,
        tags: vec![],
    }
}

fn database(master_password: SecretValueRef) -> DbInstance {
    DbInstance {
        identifier: "db".into(),
        engine: "postgres".into(),
        engine_version: "15".into(),
        instance_class: "db.t3.micro".into(),
        allocated_storage_gb: 20,
        storage_type: "gp3".into(),
        storage_encrypted: true,
        kms_key_id: None,
        db_name: "app".into(),
        master_username: "admin".into(),
        master_password: Some(master_password),
        manage_master_user_password: false,
        master_user_secret_kms_key_id: None,
        iam_database_authentication: false,
        cloudwatch_logs_exports: vec![],
        copy_tags_to_snapshot: false,
        port: 5432,
        db_subnet_group_name: "subnets".into(),
        vpc_security_group_ids: vec![],
        multi_az: false,
        publicly_accessible: false,
        backup_retention_days: 1,
        monitoring_interval_seconds: 0,
        monitoring_role_arn: None,
        deletion_protection: false,
        skip_final_snapshot: true,
        tags: vec![],
    }
}

/// Recursion with a buffer whose address escapes: each frame takes 1 KiB of the
/// shadow stack, which Rust keeps at the bottom of linear memory.
#[inline(never)]
#[allow(unconditional_recursion)] // on purpose
fn deep(depth: u64, above: &mut [u8; 1024]) -> u64 {
    let mut buf = [0u8; 1024];
    buf[0] = above[0].wrapping_add(depth as u8);
    black_box(&mut buf);
    deep(depth + 1, &mut buf) + u64::from(buf[1])
}

/// The same with an uninitialised buffer: the first access past the stack is a
/// plain store (no `memory.fill`), which faults at the wrapped address.
#[inline(never)]
#[allow(unconditional_recursion)] // on purpose
fn deep_store(depth: u64) -> u64 {
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1024];
    buf[0].write(depth as u8);
    black_box(&mut buf);
    deep_store(depth + 1) + 1
}

/// Recursion with nothing on the shadow stack: wasm's own call stack runs out.
#[inline(never)]
#[allow(unconditional_recursion)] // on purpose
fn deep_native(depth: u64) -> u64 {
    black_box(deep_native(black_box(depth + 1))) + 1
}

impl ComponentPlugin for Hostile {
    fn info() -> PluginInfo {
        info!(
            "hostile",
            "Attacks the host on purpose, for tests.",
            [HOSTILE, COUNT, SIZE, NAME]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let number = |key: &TextKey<Option<String>>, default: usize| -> Result<usize, String> {
            key.get(ctx)?
                .map(|v| {
                    v.parse()
                        .map_err(|_| format!("`{}` is not a number", key.name()))
                })
                .unwrap_or(Ok(default))
        };
        let mut s = Stack::new();
        match HOSTILE.get(ctx)?.as_str() {
            "ok" => {
                s.add("gw", gateway("vpc-0".into()));
            }
            "many" => {
                for i in 0..number(&COUNT, 10_000_000)? {
                    s.add(&format!("r{i}"), gateway("vpc-0".into()));
                }
            }
            "huge-string" => {
                let mut gw = gateway("vpc-0".into());
                gw.tags.push(Tag {
                    key: "padding".into(),
                    value: "x".repeat(number(&SIZE, 100 << 20)?),
                });
                s.add("big", gw);
            }
            "alias-strings" => {
                let mut one = ManuallyDrop::new("x".repeat(number(&SIZE, 16 << 20)?));
                let (ptr, len, cap) = (one.as_mut_ptr(), one.len(), one.capacity());
                let mut gw = gateway("vpc-0".into());
                for i in 0..number(&COUNT, 64)? {
                    gw.tags.push(Tag {
                        key: format!("k{i}"),
                        // SAFETY: none. The same bytes under many owners, on
                        // purpose: the canonical ABI passes each string as a
                        // pointer and a length, and the host copies each one.
                        // Never dropped (the host refuses the answer first).
                        value: unsafe { String::from_raw_parts(ptr, len, cap) },
                    });
                }
                s.add("aliased", gw);
            }
            mode @ ("chain" | "chain-cycle") => {
                let n = number(&COUNT, 100_000)?;
                for i in 0..n {
                    let vpc_id = match i {
                        0 if mode == "chain" => "vpc-0".into(),
                        0 => Handle::external(&format!("r{}", n - 1)).attr("id"),
                        _ => Handle::external(&format!("r{}", i - 1)).attr("id"),
                    };
                    s.add(&format!("r{i}"), gateway(vpc_id));
                }
            }
            "name" => {
                let name = NAME.get(ctx)?;
                s.add(&name, gateway("vpc-0".into()));
            }
            "ref-path" => {
                s.add(
                    "gw",
                    gateway(Handle::external("../../etc/passwd").attr("id")),
                );
            }
            "message" => {
                return Err(format!(
                    "{ESCAPES}config is fine\nerror: a line the engine never wrote\x1b[0m"
                ));
            }
            "log" => {
                log(
                    LogLevel::Warn,
                    &format!("{ESCAPES}a warning\nerror: a line the engine never wrote"),
                );
                s.add("gw", gateway("vpc-0".into()));
            }
            "panic" => panic!("{ESCAPES}red panic\nsecond line\x1b[0m"),
            "aws-name" => {
                let name = format!("orders{ESCAPES}");
                s.add("orders", stream(&name));
                s.add("orders-again", stream(&name));
            }
            "attr" => {
                let gw = s.add("gw", gateway("vpc-0".into()));
                s.add("gw2", gateway(gw.attr(&format!("id{ESCAPES}\nx"))));
            }
            "output-name" => {
                let gw = s.add("gw", gateway("vpc-0".into()));
                s.output(&format!("id{ESCAPES}\n"), "The gateway", gw.output("id"));
            }
            "outside" => {
                let queue = Handle::external("elsewhere/queue");
                s.add_after(
                    "gw",
                    gateway(Handle::external("elsewhere/vpc").attr("id")),
                    &[&queue],
                );
            }
            "secret-password" => {
                let db = s.add("db-credentials", secret());
                s.add(
                    "alerts",
                    SnsTopic {
                        name: "alerts".into(),
                        kms_key_id: Some(db.attr("password")),
                        tags: vec![],
                    },
                );
                s.output("password", "The master password", db.output("password"));
            }
            "secret-outside" => {
                s.add(
                    "db",
                    database(SecretValueRef {
                        secret_id: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod-root"
                            .into(),
                        key: "password".into(),
                    }),
                );
            }
            "secret-key" => {
                let secret = s.add("db-credentials", secret());
                s.add(
                    "db",
                    database(SecretValueRef {
                        secret_id: secret.attr("arn"),
                        key: "arn".into(),
                    }),
                );
            }
            "overflow" => {
                let mut top = [1u8; 1024];
                let n = deep(0, &mut top);
                return Err(format!("recursion ended at {n}"));
            }
            "overflow-store" => {
                let n = deep_store(0);
                return Err(format!("recursion ended at {n}"));
            }
            "overflow-native" => {
                let n = deep_native(0);
                return Err(format!("recursion ended at {n}"));
            }
            other => return Err(format!("unknown `hostile` mode `{other}`")),
        }
        Ok(s)
    }
}

component!(Hostile);
