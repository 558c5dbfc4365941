//! The desired graph: every plugin's declarations merged and validated.
//!
//! Validation reports every problem it finds, each naming the plugin, resource and
//! field: duplicate plugins, addresses and AWS names; references to missing
//! resources or to attributes their kind does not expose; secret values read from
//! anything but a secret of the stack; dependency cycles (the cycle printed,
//! shortened when long). The result orders resources so that each comes after
//! everything it depends on. Nothing here recurses along references, so a chain of
//! any length is checked in linear time and constant stack.

use std::collections::{BTreeMap, BTreeSet};

use crate::address::Address;
use crate::diag::Diagnostic;
use crate::model::{
    Declaration, Kind, Output, OutputValue, Reference, Resource, SECRET_KEYS, SecretValueRef, Spec,
    Text,
};
use crate::printable::short;

/// Plugin text (an AWS name, an attribute) longer than this is clipped in messages.
const SHOWN_CHARS: usize = 200;
/// A cycle longer than this many resources is printed with its middle left out.
const CYCLE_SHOWN: usize = 12;

/// The merged, validated desired state of a stack.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Resources by address.
    pub resources: BTreeMap<Address, Resource>,
    /// Outputs by name.
    pub outputs: BTreeMap<String, Output>,
    /// For each resource, the resources it depends on (references and `depends-on`).
    pub dependencies: BTreeMap<Address, BTreeSet<Address>>,
}

/// A kind's credentials that contradict each other: a DB instance whose master
/// password is both read from a secret and managed by RDS (or neither), and a
/// Redis AUTH token without TLS, which ElastiCache refuses
/// (<https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html>,
/// `AuthToken`: "TransitEncryptionEnabled must be set to true").
pub(crate) fn credentials_conflict(spec: &Spec) -> Option<Diagnostic> {
    match spec {
        Spec::DbInstance(d) if d.master_password.is_some() == d.manage_master_user_password => {
            Some(
                Diagnostic::error(if d.manage_master_user_password {
                    "`master-password` is set, but RDS manages the master password"
                } else {
                    "no master password: `master-password` is unset and RDS does not manage it"
                })
                .field("master-password")
                .hint(
                    "set exactly one: `master-password` (a secret of the stack) or \
                     `manage-master-user-password`",
                ),
            )
        }
        Spec::CacheReplicationGroup(c) if c.auth_token.is_some() && !c.transit_encryption => Some(
            Diagnostic::error("an AUTH token needs encryption in transit")
                .field("auth-token")
                .hint("set `transit-encryption`, or drop `auth-token`"),
        ),
        _ => None,
    }
}

impl Graph {
    /// Merges declarations and validates the result.
    pub fn build(decls: &[Declaration]) -> Result<Graph, Vec<Diagnostic>> {
        Graph::from_declarations(decls.to_vec())
    }

    /// [`Graph::build`], taking the declarations (no copy of a large stack's
    /// resources).
    pub fn from_declarations(decls: Vec<Declaration>) -> Result<Graph, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut g = Graph::default();
        let mut plugin_sources: BTreeMap<String, String> = BTreeMap::new();
        let mut names: BTreeMap<(crate::Kind, String), Address> = BTreeMap::new();
        // Each resource's references, with the property holding each: read once
        // from its typed spec, with its name.
        let mut references: BTreeMap<Address, Vec<(String, Reference)>> = BTreeMap::new();

        for d in decls {
            if let Some(first) = plugin_sources.insert(d.plugin.clone(), d.source.clone()) {
                diags.push(
                    Diagnostic::error(format!("two plugins are both named `{}`", d.plugin))
                        .plugin(&d.plugin)
                        .detail(format!(
                            "`{first}` and `{}` both call themselves `{}`, so their resources \
                             would share addresses.",
                            d.source, d.plugin
                        ))
                        .hint("pass each plugin once, or give the copies different names"),
                );
                continue;
            }
            for r in d.resources {
                if g.resources.contains_key(&r.address) {
                    diags.push(
                        Diagnostic::error(format!("resource `{}` is declared twice", r.address))
                            .plugin(&d.plugin)
                            .address(&r.address)
                            .hint("resource names must be unique within a plugin"),
                    );
                    continue;
                }
                let schema = r.spec.kind().schema();
                let (refs, name) = crate::value::spec_refs(&r.spec, schema.name_property);
                if let Some(prop) = schema.name_property
                    && let Some(name) = name.as_deref()
                {
                    let key = (r.spec.kind(), name.to_string());
                    if let Some(other) = names.get(&key) {
                        let name = short(name, SHOWN_CHARS);
                        diags.push(
                            Diagnostic::error(format!(
                                "two resources would create the same {} `{name}`",
                                r.spec.kind()
                            ))
                            .plugin(&d.plugin)
                            .address(&r.address)
                            .field(prop)
                            .detail(format!(
                                "`{other}` and `{}` both set `{prop}` to `{name}`; AWS allows one.",
                                r.address
                            ))
                            .hint(
                                "include the resource's role or the environment suffix in the name",
                            ),
                        );
                    } else {
                        names.insert(key, r.address.clone());
                    }
                }
                references.insert(r.address.clone(), refs);
                g.resources.insert(r.address.clone(), r);
            }
            for o in d.outputs {
                if let Some(prev) = g.outputs.get(&o.name) {
                    diags.push(
                        Diagnostic::error(format!("output `{}` is declared twice", o.name))
                            .plugin(&d.plugin)
                            .detail(format!(
                                "plugins `{}` and `{}` both declare it.",
                                prev.plugin, d.plugin
                            )),
                    );
                    continue;
                }
                g.outputs.insert(o.name.clone(), o);
            }
        }

        // References and explicit dependencies.
        let mut self_cycles = Vec::new();
        for r in g.resources.values() {
            let mut deps = BTreeSet::new();
            let refs = references
                .get(&r.address)
                .map(Vec::as_slice)
                .unwrap_or_default();
            // Self-references are cycles too (reported after the references).
            if refs.iter().any(|(_, x)| x.resource == r.address) {
                self_cycles.push(
                    Diagnostic::error("dependency cycle")
                        .plugin(&r.address.plugin)
                        .address(&r.address)
                        .detail(format!("{0} -> {0}", r.address)),
                );
            }
            for (field, reference) in refs {
                if let Some(d) = g.check_ref(reference) {
                    diags.push(d.plugin(&r.address.plugin).address(&r.address).field(field));
                } else {
                    deps.insert(reference.resource.clone());
                }
            }
            for (field, secret) in r.spec.secret_value_refs() {
                if let Some(d) = g.check_secret(secret) {
                    diags.push(d.plugin(&r.address.plugin).address(&r.address).field(field));
                }
            }
            if let Some(d) = credentials_conflict(&r.spec) {
                diags.push(d.plugin(&r.address.plugin).address(&r.address));
            }
            for dep in &r.depends_on {
                if g.resources.contains_key(dep) {
                    deps.insert(dep.clone());
                } else {
                    diags.push(
                        Diagnostic::error(format!("`depends-on` names a missing resource `{dep}`"))
                            .plugin(&r.address.plugin)
                            .address(&r.address)
                            .field("depends-on"),
                    );
                }
            }
            deps.remove(&r.address);
            g.dependencies.insert(r.address.clone(), deps);
        }
        for o in g.outputs.values() {
            if let OutputValue::Ref(reference) = &o.value
                && let Some(d) = g.check_ref(reference)
            {
                diags.push(d.plugin(&o.plugin).field(format!("output `{}`", o.name)));
            }
        }
        diags.extend(self_cycles);
        if let Some(cycle) = g.find_cycle() {
            let mut path: Vec<String> = cycle.iter().map(|a| a.to_string()).collect();
            if path.len() > CYCLE_SHOWN {
                let (half, left_out) = (CYCLE_SHOWN / 2, path.len() - CYCLE_SHOWN);
                path.splice(
                    half..path.len() - half,
                    [format!("... ({left_out} more) ...")],
                );
            }
            diags.push(
                Diagnostic::error("dependency cycle")
                    .plugin(&cycle[0].plugin)
                    .address(&cycle[0])
                    .detail(format!(
                        "{}\nEach resource must be created after the ones it references, so \
                         these can never be ordered.",
                        path.join(" -> ")
                    ))
                    .hint("break the cycle by removing one reference or `depends-on` entry"),
            );
        }

        if diags.iter().any(Diagnostic::is_error) {
            Err(diags)
        } else {
            Ok(g)
        }
    }

    fn check_ref(&self, reference: &Reference) -> Option<Diagnostic> {
        let Some(target) = self.resources.get(&reference.resource) else {
            let hint = self.near_miss(&reference.resource);
            let d = Diagnostic::error(format!(
                "reference to a missing resource `{}`",
                reference.resource
            ))
            .detail(format!(
                "`{}` names a resource that no plugin declares.",
                short(&reference.to_string(), SHOWN_CHARS)
            ));
            return Some(match hint {
                Some(h) => d.hint(format!("did you mean `{h}`?")),
                None => d.hint("check the name, and that the plugin declaring it is passed too"),
            });
        };
        let kind = target.spec.kind();
        if kind.attribute(&reference.attribute).is_none() {
            let mut detail = format!("A {kind} exposes: {}.", kind.attribute_names().join(", "));
            if kind == Kind::Secret && reference.attribute == "password" {
                detail.push_str(
                    " Its password is never exposed, to plugins or outputs: the engine \
                     writes it to Secrets Manager and reads it back only for a \
                     db-instance's `master-password`.",
                );
            }
            return Some(
                Diagnostic::error(format!(
                    "`{}` has no attribute `{}`",
                    reference.resource,
                    short(&reference.attribute, SHOWN_CHARS)
                ))
                .detail(detail),
            );
        }
        None
    }

    /// Whether a secret value reference reads a key of a secret of this stack: its
    /// `secret-id` is the `arn` of a `secret`, its key one the secret holds. (A
    /// plugin's literal `secret-id`, a secret outside the stack, is refused where
    /// its answer is read, in `engine-runtime`.)
    fn check_secret(&self, s: &SecretValueRef) -> Option<Diagnostic> {
        let Text::Ref(r) = &s.secret_id else {
            return None;
        };
        match self.resources.get(&r.resource) {
            // A missing resource is reported as a missing reference.
            None => {}
            Some(t) if t.spec.kind() == Kind::Secret && r.attribute == "arn" => {}
            Some(t) => {
                return Some(
                    Diagnostic::error(format!(
                        "`secret-id` must be the `arn` of a secret, not `{}`",
                        short(&r.to_string(), SHOWN_CHARS)
                    ))
                    .detail(format!("`{}` is a {}.", r.resource, t.spec.kind()))
                    .hint(
                        "declare the secret (kind `secret`) and use its `arn`: \
                             `secret.attr(\"arn\")`",
                    ),
                );
            }
        }
        if !SECRET_KEYS.contains(&s.key.as_str()) {
            return Some(
                Diagnostic::error(format!(
                    "a secret holds no key `{}`",
                    short(&s.key, SHOWN_CHARS)
                ))
                .detail(format!(
                    "A secret of the stack holds {}.",
                    SECRET_KEYS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                )),
            );
        }
        None
    }

    fn near_miss(&self, missing: &Address) -> Option<&Address> {
        self.resources
            .keys()
            .find(|a| a.name == missing.name && a.plugin != missing.plugin)
    }

    /// A dependency cycle, as a path that starts and ends at the same resource.
    /// Depth-first, with the path on the heap: a chain of any length takes no
    /// stack.
    pub fn find_cycle(&self) -> Option<Vec<Address>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Visiting,
            Done,
        }
        static NONE: BTreeSet<Address> = BTreeSet::new();
        let deps = |a: &Address| self.dependencies.get(a).unwrap_or(&NONE).iter();
        let mut marks: BTreeMap<&Address, Mark> = BTreeMap::new();
        for start in self.dependencies.keys() {
            if marks.contains_key(start) {
                continue;
            }
            // The path from `start`, each with the dependencies it has left to visit.
            marks.insert(start, Mark::Visiting);
            let mut path = vec![(start, deps(start))];
            while let Some((_, left)) = path.last_mut() {
                let Some(next) = left.next() else {
                    if let Some((done, _)) = path.pop() {
                        marks.insert(done, Mark::Done);
                    }
                    continue;
                };
                match marks.get(next) {
                    Some(Mark::Done) => {}
                    Some(Mark::Visiting) => {
                        let from = path.iter().position(|(a, _)| *a == next).unwrap_or(0);
                        let mut cycle: Vec<Address> =
                            path[from..].iter().map(|(a, _)| (*a).clone()).collect();
                        cycle.push(next.clone());
                        return Some(cycle);
                    }
                    None => {
                        marks.insert(next, Mark::Visiting);
                        path.push((next, deps(next)));
                    }
                }
            }
        }
        None
    }

    /// Every resource, each after all it depends on; ties in address order.
    pub fn order(&self) -> Vec<&Address> {
        let mut remaining: BTreeMap<&Address, usize> = self
            .dependencies
            .iter()
            .map(|(a, d)| (a, d.len()))
            .collect();
        let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
        for (a, deps) in &self.dependencies {
            for d in deps {
                dependents.entry(d).or_default().push(a);
            }
        }
        let mut ready: BTreeSet<&Address> = remaining
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(a, _)| *a)
            .collect();
        let mut out = Vec::with_capacity(remaining.len());
        while let Some(a) = ready.pop_first() {
            out.push(a);
            for d in dependents.get(a).into_iter().flatten() {
                if let Some(n) = remaining.get_mut(d) {
                    *n -= 1;
                    if *n == 0 {
                        ready.insert(d);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn vpc(plugin: &str, name: &str) -> Resource {
        Resource {
            address: Address::new(plugin, name),
            spec: Spec::Vpc(Vpc {
                cidr_block: "10.0.0.0/16".into(),
                enable_dns_support: true,
                enable_dns_hostnames: true,
                tags: vec![],
            }),
            depends_on: vec![],
        }
    }

    fn igw(plugin: &str, name: &str, vpc: &str, attr: &str) -> Resource {
        Resource {
            address: Address::new(plugin, name),
            spec: Spec::InternetGateway(InternetGateway {
                vpc_id: Text::Ref(Reference {
                    resource: Address::parse(vpc).unwrap(),
                    attribute: attr.into(),
                }),
                tags: vec![],
            }),
            depends_on: vec![],
        }
    }

    fn decl(plugin: &str, resources: Vec<Resource>) -> Declaration {
        Declaration {
            plugin: plugin.into(),
            source: format!("{plugin}.wasm"),
            resources,
            outputs: vec![],
        }
    }

    fn errors(decls: &[Declaration]) -> String {
        Graph::build(decls)
            .unwrap_err()
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn orders_dependencies_first_across_plugins() {
        let g = Graph::build(&[
            decl("net", vec![igw("net", "gw", "base/main", "id")]),
            decl("base", vec![vpc("base", "main")]),
        ])
        .unwrap();
        let order: Vec<String> = g.order().iter().map(|a| a.to_string()).collect();
        assert_eq!(order, ["base/main", "net/gw"]);
    }

    #[test]
    fn missing_resource_and_attribute_are_named() {
        let e = errors(&[decl("net", vec![igw("net", "gw", "net/nope", "id")])]);
        assert!(
            e.contains("reference to a missing resource `net/nope`"),
            "{e}"
        );
        assert!(e.contains("field `vpc-id`"), "{e}");
        let e = errors(&[decl(
            "net",
            vec![vpc("net", "main"), igw("net", "gw", "net/main", "arn")],
        )]);
        assert!(e.contains("`net/main` has no attribute `arn`"), "{e}");
        assert!(e.contains("A vpc exposes: id, cidr-block."), "{e}");
    }

    #[test]
    fn cycles_are_printed() {
        let mut a = igw("p", "a", "p/b", "id");
        let b = igw("p", "b", "p/a", "id");
        a.depends_on = vec![];
        let e = errors(&[decl("p", vec![a, b])]);
        assert!(e.contains("dependency cycle"), "{e}");
        assert!(e.contains("p/a -> p/b -> p/a"), "{e}");
    }

    /// A chain of 100,000 references, open or closed into a cycle: checked without
    /// recursion (the test thread's 2 MiB stack would not hold it), in bounded
    /// time, and the cycle printed short.
    #[test]
    fn a_chain_of_100_000_references_is_checked_without_recursion() {
        let n = 100_000;
        let chain = |closed: bool| {
            let resources = (0..n)
                .map(|i| match i {
                    0 if !closed => vpc("p", "r0"),
                    0 => igw("p", "r0", &format!("p/r{}", n - 1), "id"),
                    _ => igw("p", &format!("r{i}"), &format!("p/r{}", i - 1), "id"),
                })
                .collect();
            vec![decl("p", resources)]
        };
        let started = std::time::Instant::now();
        let g = Graph::build(&chain(false)).unwrap();
        assert_eq!(g.order().len(), n);
        let e = errors(&chain(true));
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
        assert!(e.contains("dependency cycle"), "{e}");
        assert!(e.contains(" -> ... (99989 more) ... -> "), "{e}");
        assert!(e.len() < 1000, "{} bytes: {e}", e.len());
    }

    fn db(plugin: &str, name: &str, secret_id: Text, key: &str) -> Resource {
        let Spec::DbInstance(mut d) = crate::samples::spec(Kind::DbInstance) else {
            unreachable!()
        };
        d.master_password = Some(SecretValueRef {
            secret_id,
            key: key.into(),
        });
        Resource {
            address: Address::new(plugin, name),
            spec: Spec::DbInstance(d),
            depends_on: vec![],
        }
    }

    fn secret(plugin: &str, name: &str) -> Resource {
        Resource {
            address: Address::new(plugin, name),
            spec: crate::samples::spec(Kind::Secret),
            depends_on: vec![],
        }
    }

    fn r(s: &str) -> Text {
        Text::Ref(crate::model::parse_ref(s).unwrap())
    }

    #[test]
    fn credentials_that_contradict_each_other_are_refused() {
        let both = Spec::DbInstance(crate::model::DbInstance {
            manage_master_user_password: true,
            ..match crate::samples::spec(Kind::DbInstance) {
                Spec::DbInstance(d) => d,
                _ => unreachable!(),
            }
        });
        let d = credentials_conflict(&both).expect("refused").to_string();
        assert!(d.contains("RDS manages the master password"), "{d}");
        let Spec::DbInstance(mut neither) = both.clone() else {
            unreachable!()
        };
        neither.manage_master_user_password = false;
        neither.master_password = None;
        let d = credentials_conflict(&Spec::DbInstance(neither.clone()))
            .expect("refused")
            .to_string();
        assert!(d.contains("no master password"), "{d}");
        neither.manage_master_user_password = true;
        assert!(credentials_conflict(&Spec::DbInstance(neither)).is_none());

        let Spec::CacheReplicationGroup(mut redis) =
            crate::samples::spec(Kind::CacheReplicationGroup)
        else {
            unreachable!()
        };
        assert!(redis.auth_token.is_some());
        assert!(credentials_conflict(&Spec::CacheReplicationGroup(redis.clone())).is_none());
        redis.transit_encryption = false;
        let d = credentials_conflict(&Spec::CacheReplicationGroup(redis))
            .expect("refused")
            .to_string();
        assert!(d.contains("AUTH token needs encryption in transit"), "{d}");
    }

    #[test]
    fn secret_values_are_read_only_from_the_stacks_secrets() {
        // The right way: the `arn` of a secret of the stack, key `password`.
        let ok = db("app", "db", r("app/creds.arn"), "password");
        let mut refs = ok.clone();
        if let Spec::DbInstance(d) = &mut refs.spec {
            // The sample's other references point at resources of other plugins.
            d.db_subnet_group_name = Text::lit("subnets");
            d.vpc_security_group_ids = vec![];
            d.kms_key_id = None;
            d.monitoring_role_arn = None;
            d.master_username = Text::lit("admin");
        }
        Graph::build(&[decl("app", vec![secret("app", "creds"), refs.clone()])]).unwrap();

        let refused = |resource: Resource| {
            let mut resource = resource;
            if let (Spec::DbInstance(d), Spec::DbInstance(base)) = (&mut resource.spec, &refs.spec)
            {
                let password = d.master_password.clone();
                *d = base.clone();
                d.master_password = password;
            }
            errors(&[decl(
                "app",
                vec![secret("app", "creds"), vpc("app", "net"), resource],
            )])
        };
        let e = refused(db("app", "db", r("app/net.id"), "password"));
        assert!(
            e.contains(
                "error: `secret-id` must be the `arn` of a secret, not `app/net.id`\n  \
                 --> plugin `app`, resource `app/db`, field `master-password`\n  \
                 `app/net` is a vpc."
            ),
            "{e}"
        );
        let e = refused(db("app", "db", r("app/creds.name"), "password"));
        assert!(
            e.contains("must be the `arn` of a secret, not `app/creds.name`"),
            "{e}"
        );
        let e = refused(db("app", "db", r("app/creds.arn"), "arn"));
        assert!(e.contains("a secret holds no key `arn`"), "{e}");
        assert!(e.contains("holds `password` and `username`"), "{e}");

        // The password is no attribute: not for a field, not for an output.
        let mut leak = igw("app", "gw", "app/creds", "password");
        leak.depends_on = vec![];
        let e = errors(&[decl("app", vec![secret("app", "creds"), leak])]);
        assert!(e.contains("`app/creds` has no attribute `password`"), "{e}");
        assert!(e.contains("Its password is never exposed"), "{e}");
    }

    #[test]
    fn plugin_text_in_messages_is_escaped_and_clipped() {
        let name = format!("orders\x1b[31m{}", "x".repeat(1000));
        let stream = |n: &str| Resource {
            address: Address::new("p", n),
            spec: Spec::KinesisStream(KinesisStream {
                name: name.clone(),
                shard_count: 1,
                retention_period_hours: 24,
                kms_key_id: None,
                shard_level_metrics: vec![],
                tags: vec![],
            }),
            depends_on: vec![],
        };
        let e = errors(&[decl("p", vec![stream("a"), stream("b")])]);
        assert!(!e.contains('\x1b'), "{e}");
        assert!(e.contains("`orders\\x1b[31mxxx"), "{e}");
        assert!(e.contains("... (811 more characters)"), "{e}");
        let e = errors(&[decl(
            "p",
            vec![vpc("p", "a"), igw("p", "b", "p/a", "id\n\x1b[2J")],
        )]);
        assert!(e.contains("has no attribute `id\\n\\x1b[2J`"), "{e}");
    }

    #[test]
    fn duplicates_are_refused() {
        let e = errors(&[
            decl("p", vec![vpc("p", "a")]),
            decl("p", vec![vpc("p", "b")]),
        ]);
        assert!(e.contains("two plugins are both named `p`"), "{e}");
        let e = errors(&[decl("p", vec![vpc("p", "a"), vpc("p", "a")])]);
        assert!(e.contains("resource `p/a` is declared twice"), "{e}");
    }
}
