//! The WIT reference of docs/authoring.md, generated from `wit/engine.wit` (names,
//! types and `///` docs) and `engine_core`'s schema (attributes, replacing fields),
//! so that the document cannot drift from either.

use std::fmt::Write as _;
use std::path::Path;

use engine_core::Kind;
use engine_core::schema::AttrType;
use wit_parser::{Resolve, Type, TypeDefKind, TypeId};

/// Marks the start of the generated part of docs/authoring.md.
pub const BEGIN: &str = "<!-- BEGIN GENERATED WIT REFERENCE: edit wit/engine.wit or host/core/src/schema.rs, then run `ENGINE_BLESS=1 cargo test -p engine --test authoring` -->";
/// Marks its end.
pub const END: &str = "<!-- END GENERATED WIT REFERENCE -->";

/// The `types` interface of the WIT package in `wit_dir`.
pub struct Wit {
    resolve: Resolve,
    types: Vec<(String, TypeId)>,
}

impl Wit {
    /// Parses the package.
    pub fn load(wit_dir: &Path) -> Wit {
        let mut resolve = Resolve::new();
        let (pkg, _) = resolve.push_path(wit_dir).expect("wit/ parses");
        let iface = resolve.packages[pkg].interfaces["types"];
        let types = resolve.interfaces[iface]
            .types
            .iter()
            .map(|(n, id)| (n.clone(), *id))
            .collect();
        Wit { resolve, types }
    }

    fn id(&self, name: &str) -> Option<TypeId> {
        self.types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }

    /// The record `name`, with its doc (less the list of attributes) and (field,
    /// WIT type, Rust type, doc) rows.
    pub fn record(&self, name: &str) -> Option<(String, Vec<[String; 4]>)> {
        let def = &self.resolve.types[self.id(name)?];
        let TypeDefKind::Record(r) = &def.kind else {
            return None;
        };
        let rows = r
            .fields
            .iter()
            .map(|f| {
                [
                    f.name.clone(),
                    self.wit_type(&f.ty),
                    format!("{}: {}", snake(&f.name), self.rust_type(&f.ty)),
                    one_line(f.docs.contents.as_deref()),
                ]
            })
            .collect();
        // The attributes get a line of their own, with their types.
        let doc = one_line(def.docs.contents.as_deref());
        let doc = doc
            .split_once(" Attributes:")
            .map_or(doc.as_str(), |(d, _)| d);
        Some((doc.to_string(), rows))
    }

    /// The attribute names that the WIT doc of `kind` lists ("Attributes: `id`, ...").
    pub fn documented_attributes(&self, kind: &str) -> Vec<String> {
        let Some(id) = self.id(kind) else {
            return Vec::new();
        };
        let doc = one_line(self.resolve.types[id].docs.contents.as_deref());
        let Some((_, list)) = doc.split_once("Attributes:") else {
            return Vec::new();
        };
        // Backticked names, skipping parenthesised remarks such as "(the host name)".
        let mut out = Vec::new();
        let mut depth = 0;
        let mut parts = list.split('`');
        let mut outside = parts.next().unwrap_or("");
        loop {
            depth += outside.matches('(').count();
            depth -= outside.matches(')').count().min(depth);
            let Some(inside) = parts.next() else { break };
            if depth == 0 {
                out.push(inside.to_string());
            }
            outside = parts.next().unwrap_or("");
        }
        out
    }

    fn wit_type(&self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::S8 => "s8".into(),
            Type::S16 => "s16".into(),
            Type::S32 => "s32".into(),
            Type::S64 => "s64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "error-context".into(),
            Type::Id(id) => {
                let def = &self.resolve.types[*id];
                if let Some(n) = &def.name {
                    return n.clone();
                }
                match &def.kind {
                    TypeDefKind::Option(t) => format!("option<{}>", self.wit_type(t)),
                    TypeDefKind::List(t) => format!("list<{}>", self.wit_type(t)),
                    TypeDefKind::Tuple(t) => format!(
                        "tuple<{}>",
                        t.types
                            .iter()
                            .map(|t| self.wit_type(t))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    TypeDefKind::Type(t) => self.wit_type(t),
                    other => panic!("the reference does not know WIT type {other:?}"),
                }
            }
        }
    }

    fn rust_type(&self, ty: &Type) -> String {
        match ty {
            Type::String => "String".into(),
            Type::S8 => "i8".into(),
            Type::S16 => "i16".into(),
            Type::S32 => "i32".into(),
            Type::S64 => "i64".into(),
            Type::Id(id) => {
                let def = &self.resolve.types[*id];
                if let Some(n) = &def.name {
                    return camel(n);
                }
                match &def.kind {
                    TypeDefKind::Option(t) => format!("Option<{}>", self.rust_type(t)),
                    TypeDefKind::List(t) => format!("Vec<{}>", self.rust_type(t)),
                    TypeDefKind::Tuple(t) => format!(
                        "({})",
                        t.types
                            .iter()
                            .map(|t| self.rust_type(t))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    TypeDefKind::Type(t) => self.rust_type(t),
                    other => panic!("the reference does not know WIT type {other:?}"),
                }
            }
            other => self.wit_type(other),
        }
    }

    /// The generated Markdown, between [`BEGIN`] and [`END`] (exclusive).
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let w = &mut md;
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();

        w.push_str("### Resource kinds at a glance\n\n");
        w.push_str("| Kind | Rust type | Attributes others may reference | Fields whose change replaces it |\n");
        w.push_str("|---|---|---|---|\n");
        for kind in Kind::ALL {
            let s = kind.schema();
            let _ = writeln!(
                w,
                "| [`{k}`](#{k}) | `{rust}` | {attrs} | {replace} |",
                k = kind.as_str(),
                rust = camel(kind.as_str()),
                attrs = list(s.attributes.iter().map(|(a, _)| *a)),
                replace = if s.replace_on.is_empty() {
                    "none".to_string()
                } else {
                    list(s.replace_on.iter().copied())
                },
            );
        }

        for kind in Kind::ALL {
            let s = kind.schema();
            let (doc, rows) = self
                .record(kind.as_str())
                .unwrap_or_else(|| panic!("wit/engine.wit has no record `{kind}`"));
            let _ = writeln!(w, "\n### `{kind}`\n");
            let _ = writeln!(
                w,
                "{}\n\nRust: `engine_sdk::{}` (`ResourceSpec::{}`).{}{}{}\n",
                escape(&doc),
                camel(kind.as_str()),
                camel(kind.as_str()),
                match s.name_property {
                    Some(p) => format!(" Field `{p}` is its name in AWS."),
                    None => String::new(),
                },
                if s.replace_on.is_empty() {
                    ""
                } else if s.create_before_destroy {
                    " A replacement creates the new one before it deletes the old one."
                } else {
                    " A replacement deletes the old one before it creates the new one (the two \
                     could not coexist)."
                },
                if s.slow {
                    " Creating one takes minutes on AWS; the engine shows progress."
                } else {
                    ""
                },
            );
            let _ = writeln!(
                w,
                "Attributes: {}.\n",
                s.attributes
                    .iter()
                    .map(|(a, t)| format!(
                        "`{a}` ({})",
                        match t {
                            AttrType::String => "string",
                            AttrType::Number => "number",
                        }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            w.push_str("| Field | WIT type | Rust field | Replaces | Description |\n");
            w.push_str("|---|---|---|---|---|\n");
            for [name, wit, rust, doc] in rows {
                let _ = writeln!(
                    w,
                    "| `{name}` | `{}` | `{}` | {} | {} |",
                    escape(&wit),
                    escape(&rust),
                    if s.replace_on.contains(&name.as_str()) {
                        "yes"
                    } else {
                        ""
                    },
                    escape(&doc)
                );
            }
        }

        w.push_str("\n### Value types\n\nThe types the kinds' fields use, and those of declarations, plans and violations.\n");
        for (name, id) in &self.types {
            if kinds.contains(&name.as_str()) || name == "resource-spec" {
                continue;
            }
            let def = &self.resolve.types[*id];
            let _ = writeln!(
                w,
                "\n#### `{name}` (`{}`)\n\n{}\n",
                camel(name),
                escape(&one_line(def.docs.contents.as_deref()))
            );
            let (head, rows): (&str, Vec<[String; 3]>) = match &def.kind {
                TypeDefKind::Record(r) => (
                    "| Field | WIT type | Description |\n|---|---|---|",
                    r.fields
                        .iter()
                        .map(|f| {
                            [
                                format!("`{}`", f.name),
                                format!("`{}`", escape(&self.wit_type(&f.ty))),
                                one_line(f.docs.contents.as_deref()),
                            ]
                        })
                        .collect(),
                ),
                TypeDefKind::Variant(v) => (
                    "| Case | Payload | Description |\n|---|---|---|",
                    v.cases
                        .iter()
                        .map(|c| {
                            [
                                format!("`{}`", c.name),
                                c.ty.as_ref()
                                    .map(|t| format!("`{}`", escape(&self.wit_type(t))))
                                    .unwrap_or_default(),
                                one_line(c.docs.contents.as_deref()),
                            ]
                        })
                        .collect(),
                ),
                TypeDefKind::Enum(e) => (
                    "| Case | Rust | Description |\n|---|---|---|",
                    e.cases
                        .iter()
                        .map(|c| {
                            [
                                format!("`{}`", c.name),
                                format!("`{}::{}`", camel(name), camel(&c.name)),
                                one_line(c.docs.contents.as_deref()),
                            ]
                        })
                        .collect(),
                ),
                other => panic!("the reference does not know WIT type {other:?}"),
            };
            let _ = writeln!(w, "{head}");
            for [a, b, c] in rows {
                let _ = writeln!(w, "| {a} | {b} | {} |", escape(&c));
            }
        }
        md
    }
}

/// `kms-key` -> `KmsKey`.
pub fn camel(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `cidr-block` -> `cidr_block`.
fn snake(kebab: &str) -> String {
    kebab.replace('-', "_")
}

fn one_line(doc: Option<&str>) -> String {
    doc.unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}
