//! The desired graph: every plugin's declarations merged and validated.
//!
//! Validation reports every problem it finds, each naming the plugin, resource and
//! field: duplicate plugins, addresses and AWS names; references to missing
//! resources or to attributes their kind does not expose; dependency cycles (the
//! cycle printed). The result orders resources so that each comes after everything
//! it depends on.

use std::collections::{BTreeMap, BTreeSet};

use crate::address::Address;
use crate::diag::Diagnostic;
use crate::model::{Declaration, Output, OutputValue, Reference, Resource};

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

impl Graph {
    /// Merges declarations and validates the result.
    pub fn build(decls: &[Declaration]) -> Result<Graph, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut g = Graph::default();
        let mut plugin_sources: BTreeMap<&str, &str> = BTreeMap::new();
        let mut names: BTreeMap<(crate::Kind, String), Address> = BTreeMap::new();

        for d in decls {
            if let Some(first) = plugin_sources.insert(&d.plugin, &d.source) {
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
            for r in &d.resources {
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
                if let Some(prop) = schema.name_property
                    && let Some(name) = r.spec.properties()[prop].as_str()
                {
                    let key = (r.spec.kind(), name.to_string());
                    if let Some(other) = names.get(&key) {
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
                g.resources.insert(r.address.clone(), r.clone());
            }
            for o in &d.outputs {
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
                g.outputs.insert(o.name.clone(), o.clone());
            }
        }

        // References and explicit dependencies.
        for r in g.resources.values() {
            let mut deps = BTreeSet::new();
            for (field, reference) in r.spec.references() {
                if let Some(d) = g.check_ref(&reference) {
                    diags.push(d.plugin(&r.address.plugin).address(&r.address).field(field));
                } else {
                    deps.insert(reference.resource.clone());
                }
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
        // Self-references are cycles too.
        for r in g.resources.values() {
            if r.spec
                .references()
                .iter()
                .any(|(_, x)| x.resource == r.address)
            {
                diags.push(
                    Diagnostic::error("dependency cycle")
                        .plugin(&r.address.plugin)
                        .address(&r.address)
                        .detail(format!("{0} -> {0}", r.address)),
                );
            }
        }
        if let Some(cycle) = g.find_cycle() {
            let path: Vec<String> = cycle.iter().map(|a| a.to_string()).collect();
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
                "`{reference}` names a resource that no plugin declares."
            ));
            return Some(match hint {
                Some(h) => d.hint(format!("did you mean `{h}`?")),
                None => d.hint("check the name, and that the plugin declaring it is passed too"),
            });
        };
        let kind = target.spec.kind();
        if kind.attribute(&reference.attribute).is_none() {
            return Some(
                Diagnostic::error(format!(
                    "`{}` has no attribute `{}`",
                    reference.resource, reference.attribute
                ))
                .detail(format!(
                    "A {kind} exposes: {}.",
                    kind.attribute_names().join(", ")
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
    pub fn find_cycle(&self) -> Option<Vec<Address>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Visiting,
            Done,
        }
        fn visit<'a>(
            g: &'a Graph,
            a: &'a Address,
            marks: &mut BTreeMap<&'a Address, Mark>,
            stack: &mut Vec<&'a Address>,
        ) -> Option<Vec<Address>> {
            match marks.get(a) {
                Some(Mark::Done) => return None,
                Some(Mark::Visiting) => {
                    let start = stack.iter().position(|x| *x == a).unwrap_or(0);
                    let mut cycle: Vec<Address> =
                        stack[start..].iter().map(|x| (*x).clone()).collect();
                    cycle.push(a.clone());
                    return Some(cycle);
                }
                None => {}
            }
            marks.insert(a, Mark::Visiting);
            stack.push(a);
            for dep in g.dependencies.get(a).into_iter().flatten() {
                if let Some(c) = visit(g, dep, marks, stack) {
                    return Some(c);
                }
            }
            stack.pop();
            marks.insert(a, Mark::Done);
            None
        }
        let mut marks = BTreeMap::new();
        for a in self.dependencies.keys() {
            if let Some(c) = visit(self, a, &mut marks, &mut Vec::new()) {
                return Some(c);
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
