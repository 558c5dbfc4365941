//! Plans for people and for machines.
//!
//! [`human`] prints a plan the way Terraform users expect: one block per changed
//! resource in address order, `+` create (green), `~` update in place (yellow),
//! `-/+` or `+/-` replace (red and green; the order is the symbol's), `-` delete
//! (red), `(known after apply)` for values not known yet, `(forces replacement)` on
//! the properties that force a replacement, and the reason in a comment. It ends with
//! the summary line of [`summary_line`]. Colour only when asked: the caller decides
//! (a terminal, and no `NO_COLOR`).
//!
//! [`json`] prints the plan as normalised JSON (keys sorted, final newline):
//!
//! ```text
//! {
//!   "changes": [ResourceChange...],   // every resource, no-ops included, address order
//!   "context": {"environment": "dev", "region": "us-east-1", "stack": "default"},
//!   "format_version": 1,              // JSON_FORMAT_VERSION
//!   "has_changes": true,              // what `--detailed-exitcode` reports
//!   "outputs": [OutputChange...],
//!   "plugins": {"network": "<sha256>", ...},
//!   "prior_lineage": "...", "prior_serial": 3,
//!   "summary": {"create": 1, "delete": 0, "replace": 0, "update": 2}
//! }
//! ```
//!
//! with [`crate::plan::ResourceChange`] and [`crate::plan::OutputChange`] as
//! documented in [`crate::plan`](mod@crate::plan).
//!
//! Also here: [`dot`] (the dependency graph for Graphviz) and [`resource_state`]
//! (one resource of the state, for `engine state show`).

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::address::Address;
use crate::graph::Graph;
use crate::model::Context;
use crate::model::REF_KEY;
use crate::plan::{
    Action, FieldView, LEFT_OUT, OutputChange, Plan, ReplaceOrder, ResourceChange, Summary,
};
use crate::state::{ResourceState, ResourceStatus, to_normalised_json};

/// The version of the [`json`] format; bumped on any change that is not an added field.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// What an unknown value prints as.
pub const UNKNOWN: &str = "(known after apply)";

/// An inline rendering of a list or object longer than this goes on several lines.
const INLINE_MAX: usize = 72;

#[derive(Clone, Copy)]
struct Paint {
    color: bool,
}

use crate::style::{BOLD, BOLD_YELLOW, GREEN, RED, YELLOW};

impl Paint {
    fn paint(self, code: &str, s: &str) -> String {
        crate::style::paint(self.color, code, s)
    }

    fn sym(self, sym: Sym) -> String {
        match sym {
            Sym::None => " ".into(),
            Sym::Add => self.paint(GREEN, "+"),
            Sym::Remove => self.paint(RED, "-"),
            Sym::Change => self.paint(YELLOW, "~"),
            Sym::Replace(ReplaceOrder::DeleteBeforeCreate) => {
                format!("{}/{}", self.paint(RED, "-"), self.paint(GREEN, "+"))
            }
            Sym::Replace(ReplaceOrder::CreateBeforeDelete) => {
                format!("{}/{}", self.paint(GREEN, "+"), self.paint(RED, "-"))
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Sym {
    None,
    Add,
    Remove,
    Change,
    Replace(ReplaceOrder),
}

impl Sym {
    fn width(self) -> usize {
        match self {
            Sym::Replace(_) => 3,
            _ => 1,
        }
    }
}

/// The summary line: `Plan: 1 to create, 2 to update, 0 to replace, 0 to delete.`,
/// or `No changes. The stack matches the plugins.`
pub fn summary_line(plan: &Plan) -> String {
    if !plan.has_changes() {
        return "No changes. The stack matches the plugins.".into();
    }
    let Summary {
        create,
        update,
        replace,
        delete,
    } = plan.summary();
    format!(
        "Plan: {create} to create, {update} to update, {replace} to replace, {delete} to delete."
    )
}

/// The plan for people, ending with a newline. `color` adds ANSI colours.
pub fn human(plan: &Plan, color: bool) -> String {
    let mut text = String::new();
    human_to(plan, color, &mut |chunk| text.push_str(chunk));
    text
}

/// [`human`], handed to `sink` in pieces of about [`CHUNK`] bytes as it is
/// written, so a plan of 100,000 resources is printed without holding all of its
/// text at once.
pub fn human_to(plan: &Plan, color: bool, sink: &mut dyn FnMut(&str)) {
    let mut out = String::new();
    human_into(plan, color, &mut out, sink);
    sink(&out);
}

/// How much text [`human_to`] gathers before handing it on.
pub const CHUNK: usize = 64 << 10;

fn human_into(plan: &Plan, color: bool, out: &mut String, sink: &mut dyn FnMut(&str)) {
    let p = Paint { color };
    let changes: Vec<&ResourceChange> = plan.changes.iter().filter(|c| c.is_change()).collect();
    let outputs: Vec<&OutputChange> = plan
        .outputs
        .iter()
        .filter(|o| o.action != Action::NoOp)
        .collect();
    if changes.is_empty() && outputs.is_empty() {
        let _ = writeln!(out, "{}", p.paint(BOLD, &summary_line(plan)));
        partial_note(out, p, plan);
        return;
    }

    if !changes.is_empty() {
        legend(out, p, &changes);
        let _ = writeln!(out, "Engine will perform these actions:");
        for c in &changes {
            out.push('\n');
            resource_block(out, p, c);
            if out.len() >= CHUNK {
                sink(out);
                out.clear();
            }
        }
        out.push('\n');
    }
    if !outputs.is_empty() {
        let _ = writeln!(out, "Changes to outputs:");
        let width = outputs.iter().map(|o| o.name.len()).max().unwrap_or(0);
        for o in &outputs {
            let (sym, rhs) = match o.action {
                Action::Create => (Sym::Add, inline_or_block(o.after.as_ref(), 4)),
                Action::Delete => (Sym::Remove, inline_or_block(o.before.as_ref(), 4)),
                _ => (
                    Sym::Change,
                    format!(
                        "{} -> {}",
                        inline_or_block(o.before.as_ref(), 4),
                        inline_or_block(o.after.as_ref(), 4)
                    ),
                ),
            };
            let _ = writeln!(
                out,
                "  {} {:width$} = {rhs}",
                p.sym(sym),
                crate::printable::line(&o.name)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", p.paint(BOLD, &summary_line(plan)));
    partial_note(out, p, plan);
}

/// For a plan narrowed by `--target`: that it is partial, and how to see the rest.
fn partial_note(out: &mut String, p: Paint, plan: &Plan) {
    if plan.targets.is_empty() {
        return;
    }
    let names: Vec<String> = plan.targets.iter().map(|a| format!("`{a}`")).collect();
    let kept = plan
        .changes
        .iter()
        .filter(|c| c.reason.as_deref() != Some(LEFT_OUT))
        .count();
    let _ = writeln!(
        out,
        "\n{} this plan covers only {} and what {} on ({kept} resource{}); the rest of \
         the stack is left as it is. Plan without `--target` to see everything that differs.",
        p.paint(BOLD_YELLOW, "Partial plan (--target):"),
        names.join(", "),
        if names.len() == 1 {
            "it depends"
        } else {
            "they depend"
        },
        if kept == 1 { "" } else { "s" },
    );
}

/// The properties a delete of the resource would act on: for a delete or a
/// replacement (which deletes the old copy), the applied ones; otherwise the
/// desired ones.
fn delete_props(c: &ResourceChange) -> Value {
    let mut props = c
        .after
        .clone()
        .unwrap_or_else(|| Value::Object(Default::default()));
    if matches!(c.action, Action::Delete | Action::Replace)
        && let Some(map) = props.as_object_mut()
    {
        for f in c.field_views() {
            match f.before {
                Some(v) => map.insert(f.path.to_string(), v.clone()),
                None => map.remove(f.path),
            };
        }
    }
    props
}

fn legend(out: &mut String, p: Paint, changes: &[&ResourceChange]) {
    let has = |f: &dyn Fn(&ResourceChange) -> bool| changes.iter().any(|c| f(c));
    let _ = writeln!(out, "Resource actions are shown with these symbols:");
    let rows: [(bool, Sym, &str); 5] = [
        (has(&|c| c.action == Action::Create), Sym::Add, "create"),
        (
            has(&|c| c.action == Action::Update),
            Sym::Change,
            "update in place",
        ),
        (
            has(&|c| c.replace_order == Some(ReplaceOrder::DeleteBeforeCreate)),
            Sym::Replace(ReplaceOrder::DeleteBeforeCreate),
            "replace: delete the old copy, then create the new one",
        ),
        (
            has(&|c| c.replace_order == Some(ReplaceOrder::CreateBeforeDelete)),
            Sym::Replace(ReplaceOrder::CreateBeforeDelete),
            "replace: create the new copy, then delete the old one",
        ),
        (has(&|c| c.action == Action::Delete), Sym::Remove, "delete"),
    ];
    for (shown, sym, text) in rows {
        if shown {
            let pad = " ".repeat(3 - sym.width());
            let _ = writeln!(out, "{pad}{} {text}", p.sym(sym));
        }
    }
    out.push('\n');
}

fn resource_block(out: &mut String, p: Paint, c: &ResourceChange) {
    let (sym, what) = match (c.action, c.replace_order) {
        (Action::Create, _) => (Sym::Add, "will be created".to_string()),
        (Action::Update, _) => (Sym::Change, "will be updated in place".to_string()),
        (Action::Replace, Some(ReplaceOrder::CreateBeforeDelete)) => (
            Sym::Replace(ReplaceOrder::CreateBeforeDelete),
            "must be replaced (the new copy is created first)".to_string(),
        ),
        (Action::Replace, _) => (
            Sym::Replace(ReplaceOrder::DeleteBeforeCreate),
            "must be replaced (the old copy is deleted first)".to_string(),
        ),
        (Action::Delete, _) => (Sym::Remove, "will be deleted".to_string()),
        (Action::NoOp, _) => return,
    };
    let deposed = if c.deposed { " (deposed copy)" } else { "" };
    let _ = writeln!(
        out,
        "  {}",
        p.paint(BOLD, &format!("# {}{deposed} {what}", c.address))
    );
    if let Some(reason) = &c.reason {
        let _ = writeln!(out, "  # because {reason}");
    }
    // What a delete keeps or loses: on a delete or replacement, from the resource
    // as it is; on a create or update, from the resource as it will be.
    if let Some(note) = c.kind.schema().delete_note
        && let Some(note) = note(&delete_props(c))
    {
        let _ = writeln!(out, "  # {note}");
    }
    let pad = " ".repeat(3 - sym.width());
    let _ = writeln!(out, "{pad}{} {} \"{}\" {{", p.sym(sym), c.kind, c.address);

    let fields = c.field_views();
    let shown = &fields;
    let width = shown.iter().map(|f| f.path.len()).max().unwrap_or(0);
    for f in shown {
        field_lines(out, p, c.action, f, width);
    }
    if matches!(c.action, Action::Update | Action::Replace) {
        let total = c
            .after
            .as_ref()
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
        let hidden = total.saturating_sub(fields.iter().filter(|f| f.after.is_some()).count());
        if hidden > 0 {
            let noun = if hidden == 1 {
                "property"
            } else {
                "properties"
            };
            let _ = writeln!(out, "        # ({hidden} unchanged {noun} hidden)");
        }
    }
    let _ = writeln!(out, "    }}");
}

/// Content column of top-level properties (after `      + `).
const TOP: usize = 8;

fn field_lines(out: &mut String, p: Paint, action: Action, f: &FieldView, width: usize) {
    let key = format!("{:width$}", f.path);
    let forces = if f.forces_replacement {
        format!(" {}", p.paint(RED, "(forces replacement)"))
    } else {
        String::new()
    };
    match (f.before, f.after, action) {
        (_, Some(after), Action::Create) | (None, Some(after), _) => {
            emit(
                out,
                p,
                TOP,
                Sym::Add,
                &format!("{key} = "),
                &fmt_value(after, TOP),
                &forces,
            );
        }
        (Some(before), None, _) | (Some(before), _, Action::Delete) => {
            emit(
                out,
                p,
                TOP,
                Sym::Remove,
                &format!("{key} = "),
                &fmt_value(before, TOP),
                &forces,
            );
        }
        (Some(before), Some(after), _) => {
            diff_entry(out, p, TOP, &key, before, after, &forces);
        }
        (None, None, _) => {}
    }
}

/// Writes a (possibly multi-line) value after `prefix`, the symbol two columns left
/// of `col`; `suffix` goes at the end of the first line.
fn emit(
    out: &mut String,
    p: Paint,
    col: usize,
    sym: Sym,
    prefix: &str,
    lines: &[String],
    suffix: &str,
) {
    let lead = " ".repeat(col - 2);
    let first = lines.first().map(String::as_str).unwrap_or_default();
    let _ = writeln!(out, "{lead}{} {prefix}{first}{suffix}", p.sym(sym));
    for l in lines.iter().skip(1) {
        let _ = writeln!(out, "{l}");
    }
}

/// One changed entry `key = before -> after`, recursing into lists and objects.
fn diff_entry(
    out: &mut String,
    p: Paint,
    col: usize,
    key: &str,
    before: &Value,
    after: &Value,
    suffix: &str,
) {
    match (before, after) {
        (Value::Array(a), Value::Array(b)) if !is_ref(before) && !is_ref(after) => {
            emit(
                out,
                p,
                col,
                Sym::Change,
                &format!("{key} = "),
                &["[".into()],
                suffix,
            );
            list_diff(out, p, col + 4, a, b);
            let _ = writeln!(out, "{}]", " ".repeat(col));
        }
        (Value::Object(a), Value::Object(b)) if !is_ref(before) && !is_ref(after) => {
            emit(
                out,
                p,
                col,
                Sym::Change,
                &format!("{key} = "),
                &["{".into()],
                suffix,
            );
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            let width = keys.iter().map(|k| k.len()).max().unwrap_or(0);
            for k in keys {
                let kk = format!("{k:width$}");
                let inner = col + 4;
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) if x == y && !is_unknown(y) => {
                        emit(
                            out,
                            p,
                            inner,
                            Sym::None,
                            &format!("{kk} = "),
                            &fmt_value(y, inner),
                            "",
                        );
                    }
                    (Some(x), Some(y)) => diff_entry(out, p, inner, &kk, x, y, ""),
                    (None, Some(y)) => {
                        emit(
                            out,
                            p,
                            inner,
                            Sym::Add,
                            &format!("{kk} = "),
                            &fmt_value(y, inner),
                            "",
                        );
                    }
                    (Some(x), None) => {
                        emit(
                            out,
                            p,
                            inner,
                            Sym::Remove,
                            &format!("{kk} = "),
                            &fmt_value(x, inner),
                            "",
                        );
                    }
                    (None, None) => {}
                }
            }
            let _ = writeln!(out, "{}}}", " ".repeat(col));
        }
        _ => {
            let old = fmt_value(before, col);
            let new = fmt_value(after, col);
            let mut lines = old;
            let last = lines.pop().unwrap_or_default();
            lines.push(format!(
                "{last} -> {}",
                new.first().cloned().unwrap_or_default()
            ));
            lines.extend(new.into_iter().skip(1));
            emit(
                out,
                p,
                col,
                Sym::Change,
                &format!("{key} = "),
                &lines,
                suffix,
            );
        }
    }
}

/// The elements of a changed list, each kept, added or removed (longest common
/// subsequence, so an insertion shows as one `+`).
fn list_diff(out: &mut String, p: Paint, col: usize, a: &[Value], b: &[Value]) {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] && !is_unknown(&b[j]) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut element = |sym: Sym, v: &Value| {
        let mut lines = fmt_value(v, col);
        if let Some(last) = lines.last_mut() {
            last.push(',');
        }
        emit(out, p, col, sym, "", &lines, "");
    };
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] && !is_unknown(&b[j]) {
            element(Sym::None, &b[j]);
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            element(Sym::Remove, &a[i]);
            i += 1;
        } else {
            element(Sym::Add, &b[j]);
            j += 1;
        }
    }
}

fn is_ref(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.len() == 1 && m.get(REF_KEY).is_some_and(Value::is_string))
}

fn is_unknown(v: &Value) -> bool {
    crate::plan::contains_unknown(v)
}

/// A value as lines: the first continues the line it starts on; the others are
/// complete (indented), with nested content at `col + 4` and the closing bracket at
/// `col`.
fn fmt_value(v: &Value, col: usize) -> Vec<String> {
    if let Some(s) = inline(v)
        && s.len() <= INLINE_MAX
    {
        return vec![s];
    }
    let inner = " ".repeat(col + 4);
    let close = " ".repeat(col);
    match v {
        Value::Array(items) => {
            let mut lines = vec!["[".to_string()];
            for item in items {
                let mut sub = fmt_value(item, col + 4);
                if let Some(last) = sub.last_mut() {
                    last.push(',');
                }
                let mut it = sub.into_iter();
                if let Some(first) = it.next() {
                    lines.push(format!("{inner}{first}"));
                }
                lines.extend(it);
            }
            lines.push(format!("{close}]"));
            lines
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let width = keys.iter().map(|k| k.len()).max().unwrap_or(0);
            let mut lines = vec!["{".to_string()];
            for k in keys {
                let mut it = fmt_value(&m[k], col + 4).into_iter();
                if let Some(first) = it.next() {
                    lines.push(format!("{inner}{k:width$} = {first}"));
                }
                lines.extend(it);
            }
            lines.push(format!("{close}}}"));
            lines
        }
        // Long strings stay on one line.
        other => vec![scalar(other)],
    }
}

/// The one-line form, if the value has one (lists and objects of scalars nest).
fn inline(v: &Value) -> Option<String> {
    if is_ref(v) {
        return Some(UNKNOWN.into());
    }
    Some(match v {
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(inline).collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Option<Vec<String>> = keys
                .iter()
                .map(|k| inline(&m[*k]).map(|v| format!("{k} = {v}")))
                .collect();
            format!("{{ {} }}", parts?.join(", "))
        }
        other => scalar(other),
    })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// One value on one line if short, else the first line of its block form (for
/// outputs, which are scalars in practice).
fn inline_or_block(v: Option<&Value>, col: usize) -> String {
    match v {
        None => "null".into(),
        Some(v) => fmt_value(v, col).join("\n"),
    }
}

/// The JSON of a plan of the stack `ctx` names (see the module documentation),
/// normalised, with a final newline. Of the context it carries the stack, region
/// and environment (what policies read), never the config.
pub fn json(plan: &Plan, ctx: &Context) -> String {
    #[derive(Serialize)]
    struct JsonContext<'a> {
        stack: &'a str,
        region: &'a str,
        environment: &'a str,
    }
    #[derive(Serialize)]
    struct JsonPlan<'a> {
        format_version: u32,
        context: JsonContext<'a>,
        summary: Summary,
        has_changes: bool,
        #[serde(flatten)]
        plan: &'a Plan,
    }
    to_normalised_json(&JsonPlan {
        format_version: JSON_FORMAT_VERSION,
        context: JsonContext {
            stack: &ctx.stack,
            region: &ctx.region,
            environment: &ctx.environment,
        },
        summary: plan.summary(),
        has_changes: plan.has_changes(),
        plan,
    })
}

/// The dependency graph in Graphviz DOT: one cluster per plugin, an edge from each
/// resource to each resource it depends on.
pub fn dot(graph: &Graph) -> String {
    let mut out = String::from("digraph engine {\n  rankdir = \"RL\";\n  node [shape = box];\n");
    let mut plugin: Option<&str> = None;
    for (address, r) in &graph.resources {
        if plugin != Some(address.plugin.as_str()) {
            if plugin.is_some() {
                out.push_str("  }\n");
            }
            let _ = writeln!(
                out,
                "  subgraph \"cluster_{0}\" {{\n    label = \"{0}\";",
                address.plugin
            );
            plugin = Some(&address.plugin);
        }
        let _ = writeln!(
            out,
            "    \"{address}\" [label = \"{}\\n{}\"];",
            address.name,
            r.spec.kind()
        );
    }
    if plugin.is_some() {
        out.push_str("  }\n");
    }
    for (address, deps) in &graph.dependencies {
        for d in deps {
            let _ = writeln!(out, "  \"{address}\" -> \"{d}\";");
        }
    }
    out.push_str("}\n");
    out
}

/// One resource of the state, for `engine state show`: its properties as applied,
/// then what AWS returned, its dependencies and status.
pub fn resource_state(address: &Address, r: &ResourceState) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {address}");
    let _ = writeln!(out, "{} \"{address}\" {{", r.kind);
    let mut block = |title: &str, entries: Vec<(String, Value)>| {
        if entries.is_empty() {
            return;
        }
        let _ = writeln!(out, "    # {title}");
        let width = entries.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in entries {
            let mut it = fmt_value(&v, 4).into_iter();
            if let Some(first) = it.next() {
                let _ = writeln!(out, "    {k:width$} = {first}");
            }
            for l in it {
                let _ = writeln!(out, "{l}");
            }
        }
    };
    let mut inputs: Vec<(String, Value)> = r
        .inputs
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    inputs.sort_by(|a, b| a.0.cmp(&b.0));
    block("properties", inputs);
    block(
        "attributes",
        r.attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    let mut meta = vec![
        (
            "dependencies".to_string(),
            Value::Array(
                r.dependencies
                    .iter()
                    .map(|d| Value::String(d.to_string()))
                    .collect(),
            ),
        ),
        (
            "plugin-sha256".to_string(),
            Value::String(r.plugin_sha256.clone()),
        ),
    ];
    if r.status != ResourceStatus::Ready {
        meta.push((
            "status".into(),
            serde_json::to_value(r.status).unwrap_or(Value::Null),
        ));
    }
    if let Some(tagged) = &r.tagged_as {
        // Moved by `engine state mv`; its next update tags it at this address.
        meta.push(("tagged-as".into(), Value::String(tagged.to_string())));
    }
    block("engine", meta);
    out.push_str("}\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::samples;
    use crate::state::State;

    fn plan_with(edit: impl FnOnce(&mut Vec<crate::Declaration>)) -> Plan {
        let mut decls = samples::stack();
        edit(&mut decls);
        let g = Graph::build(&decls).unwrap();
        crate::plan::plan(&g, &samples::applied_state(), &samples::plugin_sha256s())
    }

    fn set(decls: &mut [crate::Declaration], address: &str, field: &str, value: Value) {
        let r = decls
            .iter_mut()
            .flat_map(|d| d.resources.iter_mut())
            .find(|r| r.address.to_string() == address)
            .unwrap();
        let mut props = r.spec.properties();
        props[field] = value;
        r.spec = crate::Spec::from_properties(r.spec.kind(), props).unwrap();
    }

    #[test]
    fn no_changes_says_so() {
        let p = plan_with(|_| {});
        assert_eq!(
            human(&p, false),
            "No changes. The stack matches the plugins.\n"
        );
        assert_eq!(
            summary_line(&p),
            "No changes. The stack matches the plugins."
        );
        assert_eq!(
            human(&p, true),
            "\x1b[1mNo changes. The stack matches the plugins.\x1b[0m\n"
        );
    }

    #[test]
    fn db_instances_say_what_a_delete_keeps() {
        // The sample skips the final snapshot; a change of that flag shows both
        // ways: the update says what a later delete keeps.
        let address = samples::stack()
            .iter()
            .flat_map(|d| d.resources.iter())
            .find(|r| r.spec.kind() == crate::Kind::DbInstance)
            .map(|r| r.address.to_string())
            .unwrap();
        let keep = plan_with(|d| set(d, &address, "skip-final-snapshot", json!(false)));
        let out = human(&keep, false);
        assert!(
            out.contains("# deletion protection is off; on delete: a final snapshot `")
                && out.contains("-final-<time>` is kept"),
            "{out}"
        );
        // Protected, the plan says AWS refuses the delete.
        let protected = plan_with(|d| set(d, &address, "deletion-protection", json!(true)));
        let out = human(&protected, false);
        assert!(
            out.contains("# deletion protection is on: AWS refuses to delete japancart-db-dev"),
            "{out}"
        );
        let gone = plan_with(|d| d.retain(|x| x.plugin != "database" && x.plugin != "monitoring"));
        let out = human(&gone, false);
        assert!(out.contains("its data is lost with it"), "{out}");
    }

    #[test]
    fn colour_only_when_asked() {
        let p = plan_with(|d| {
            set(d, "network/vpc", "cidr-block", json!("10.1.0.0/16"));
            d.retain(|x| x.plugin != "monitoring");
        });
        let plain = human(&p, false);
        assert!(!plain.contains('\x1b'));
        let colour = human(&p, true);
        for code in ["\x1b[32m+\x1b[0m", "\x1b[33m~\x1b[0m", "\x1b[31m-\x1b[0m"] {
            assert!(colour.contains(code), "{code:?} missing");
        }
        assert!(colour.contains("\x1b[31m-\x1b[0m/\x1b[32m+\x1b[0m subnet"));
        assert!(colour.contains("\x1b[32m+\x1b[0m/\x1b[31m-\x1b[0m vpc"));
        assert!(colour.contains("\x1b[31m(forces replacement)\x1b[0m"));
        // Without the escapes, the coloured text is the plain text.
        let stripped = colour
            .replace("\x1b[32m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[1m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn replacements_show_their_order_reason_and_unknowns() {
        let p = plan_with(|d| set(d, "network/vpc", "cidr-block", json!("10.1.0.0/16")));
        let out = human(&p, false);
        assert!(
            out.contains(
                "  # network/vpc must be replaced (the new copy is created first)\n  \
             # because `cidr-block` changed, and AWS cannot change it in place\n\
             +/- vpc \"network/vpc\" {\n      \
             ~ cidr-block = \"10.0.0.0/16\" -> \"10.1.0.0/16\" (forces replacement)\n"
            ),
            "{out}"
        );
        assert!(out.contains(
            "  # network/private-a must be replaced (the old copy is deleted first)\n  \
             # because `vpc-id` cannot change in place and refers to `network/vpc`, which is replaced\n\
             -/+ subnet \"network/private-a\" {\n"
        ), "{out}");
        assert!(
            out.contains("-> (known after apply) (forces replacement)\n"),
            "{out}"
        );
        assert!(out.contains(
            "-/+ replace: delete the old copy, then create the new one\n\
             +/- replace: create the new copy, then delete the old one\n"
        ));
        assert!(
            out.ends_with("Plan: 0 to create, 4 to update, 14 to replace, 0 to delete.\n"),
            "{out}"
        );
    }

    #[test]
    fn nested_changes_are_shown_element_by_element() {
        let p = plan_with(|d| {
            set(
                d,
                "secrets/db",
                "password",
                json!({"length": 40, "exclude-characters": "/@\" "}),
            );
            set(
                d,
                "cache/redis-sg",
                "ingress",
                json!([{"protocol": "tcp", "from-port": 6380, "to-port": 6380,
                        "cidr-blocks": [{"$ref": "network/vpc.cidr-block"}], "description": "Redis TLS"}]),
            );
        });
        let out = human(&p, false);
        assert!(
            out.contains(
                "      ~ password = { (forces replacement)\n            \
             exclude-characters = \"/@\\\" \"\n          \
             ~ length             = 32 -> 40\n        }\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("      ~ ingress = [\n          - {\n"),
            "{out}"
        );
        assert!(
            out.contains("          + {\n                cidr-blocks = [\"10.0.0.0/16\"]\n"),
            "{out}"
        );
    }

    #[test]
    fn output_only_changes_are_shown_with_a_zero_summary() {
        let mut prior = samples::applied_state();
        prior.outputs.insert("old".into(), json!(1));
        let p = crate::plan::plan(&samples::graph(), &prior, &samples::plugin_sha256s());
        let out = human(&p, false);
        assert_eq!(
            out,
            "Changes to outputs:\n  - old = 1\n\nPlan: 0 to create, 0 to update, 0 to replace, 0 to delete.\n"
        );
    }

    #[test]
    fn deletes_of_deposed_copies_say_so() {
        let mut prior = samples::applied_state();
        let a = crate::Address::new("network", "public");
        prior.deposed.insert(a.clone(), prior.resources[&a].clone());
        let p = crate::plan::plan(&samples::graph(), &prior, &samples::plugin_sha256s());
        let out = human(&p, false);
        assert!(
            out.contains("  # network/public (deposed copy) will be deleted\n"),
            "{out}"
        );
    }

    #[test]
    fn json_has_a_version_context_summary_and_every_change() {
        let p = crate::plan::plan(&samples::graph(), &State::empty(), &BTreeMap::new());
        let mut ctx = Context {
            stack: "default".into(),
            region: "ap-northeast-1".into(),
            environment: "prod".into(),
            ..Context::default()
        };
        ctx.config
            .insert("db-password".into(), "never shown".into());
        let text = json(&p, &ctx);
        assert!(!text.contains("never shown"), "the config stays out");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["format_version"], 1);
        assert_eq!(
            v["context"],
            serde_json::json!({"stack": "default", "region": "ap-northeast-1", "environment": "prod"})
        );
        assert_eq!(v["has_changes"], true);
        assert_eq!(v["summary"]["create"], p.changes.len());
        assert_eq!(v["changes"].as_array().unwrap().len(), p.changes.len());
        assert_eq!(v["changes"][0]["action"], "create");
        // The plan part reads back.
        let back: Plan = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn dot_lists_every_resource_and_dependency() {
        let g = samples::graph();
        let out = dot(&g);
        assert!(out.starts_with("digraph engine {\n"));
        assert!(out.contains("  subgraph \"cluster_network\" {\n    label = \"network\";\n"));
        assert!(out.contains("    \"network/vpc\" [label = \"vpc\\nvpc\"];\n"));
        assert!(out.contains("  \"network/igw\" -> \"network/vpc\";\n"));
        let edges = g.dependencies.values().map(|d| d.len()).sum::<usize>();
        assert_eq!(out.matches(" -> ").count(), edges);
        assert!(out.ends_with("}\n"));
    }

    #[test]
    fn a_state_resource_shows_properties_attributes_and_status() {
        let s = samples::applied_state();
        let a = crate::Address::new("cache", "redis");
        let mut r = s.resources[&a].clone();
        r.status = crate::state::ResourceStatus::Tainted;
        let out = resource_state(&a, &r);
        assert!(out.starts_with(
            "# cache/redis\ncache-replication-group \"cache/redis\" {\n    # properties\n"
        ));
        assert!(out.contains("    # attributes\n"));
        assert!(
            out.contains("    port                    = 6379\n"),
            "{out}"
        );
        assert!(out.contains("    status        = \"tainted\"\n"), "{out}");
        assert!(out.ends_with("}\n"));
    }
}
