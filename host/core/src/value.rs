//! Generic walks over the JSON form of a spec (see [`crate::model::Spec::properties`]).

use serde_json::Value;

use crate::model::{REF_KEY, Reference, parse_ref};

/// Calls `f(path, reference)` for every `{"$ref": ...}` in `v`, with dotted paths.
pub fn walk_refs(v: &Value, path: &mut String, f: &mut dyn FnMut(&str, Reference)) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(target)) = m.get(REF_KEY)
                && m.len() == 1
            {
                if let Some(r) = parse_ref(target) {
                    f(path, r);
                }
                return;
            }
            for (k, child) in m {
                let len = path.len();
                push(path, k);
                walk_refs(child, path, f);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                push(path, &i.to_string());
                walk_refs(child, path, f);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Replaces every reference in `v` by what `resolve` returns for it; `None` leaves the
/// reference in place (its value is not known yet).
pub fn replace_refs(v: &mut Value, resolve: &mut dyn FnMut(&Reference) -> Option<Value>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(target)) = m.get(REF_KEY)
                && m.len() == 1
            {
                if let Some(r) = parse_ref(target)
                    && let Some(new) = resolve(&r)
                {
                    *v = new;
                }
                return;
            }
            for child in m.values_mut() {
                replace_refs(child, resolve);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| replace_refs(c, resolve)),
        _ => {}
    }
}

fn push(path: &mut String, part: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(part);
}
