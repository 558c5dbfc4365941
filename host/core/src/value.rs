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

/// The references in a spec with the dotted path of the property holding each, as
/// [`walk_refs`] finds them in [`Spec::properties`](crate::model::Spec::properties),
/// and the string at the top-level property `name` when asked for: read straight
/// from the typed spec, without building its JSON value (a graph of 100,000
/// resources would build 100,000 of them for this alone).
pub fn spec_refs(
    spec: &crate::model::Spec,
    name: Option<&str>,
) -> (Vec<(String, Reference)>, Option<String>) {
    use serde::Serialize;
    let mut c = RefCollector {
        path: String::new(),
        marks: Vec::new(),
        refs: Vec::new(),
        capture: false,
        captured: None,
        name_path: name.map(|n| format!("{TOP}.{n}")),
        name: None,
    };
    let _ = spec.serialize(&mut c);
    // A spec serialises as `{"kind": ..., "properties": {...}}`; its properties'
    // paths start inside the second.
    let prefix = format!("{TOP}.");
    let mut refs: Vec<(String, Reference)> = c
        .refs
        .into_iter()
        .filter_map(|(p, r)| p.strip_prefix(&prefix).map(|p| (p.to_string(), r)))
        .collect();
    // In the JSON form's order: an object's keys sorted, an array's items in order.
    refs.sort_by(|(a, _), (b, _)| json_order(a, b));
    (refs, c.name)
}

/// The order of two dotted paths in a walk over a JSON value: segment by segment,
/// indices as numbers, keys as strings.
fn json_order(a: &str, b: &str) -> std::cmp::Ordering {
    let mut a = a.split('.');
    let mut b = b.split('.');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x.parse::<usize>(), y.parse::<usize>()) {
                    (Ok(i), Ok(j)) => i.cmp(&j),
                    _ => x.cmp(y),
                };
                if o.is_ne() {
                    return o;
                }
            }
        }
    }
}

/// Where a spec's properties are in its serde form.
const TOP: &str = "properties";

/// A serde serializer that keeps only references (see [`spec_refs`]). It walks
/// the same shape serde_json's value serializer builds: structs and maps are
/// objects, sequences and tuples arrays, an enum variant with data an object
/// keyed by the variant's name.
struct RefCollector {
    path: String,
    /// The path's length before each segment pushed.
    marks: Vec<usize>,
    refs: Vec<(String, Reference)>,
    /// Whether the next string is the target of a `$ref` entry.
    capture: bool,
    captured: Option<String>,
    name_path: Option<String>,
    name: Option<String>,
}

impl RefCollector {
    fn enter(&mut self, segment: &str) {
        self.marks.push(self.path.len());
        push(&mut self.path, segment);
    }

    fn leave(&mut self) {
        if let Some(len) = self.marks.pop() {
            self.path.truncate(len);
        }
    }
}

/// No error is ever raised; serde needs a type for it.
#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unreachable")
    }
}

impl std::error::Error for Never {}

impl serde::ser::Error for Never {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Never
    }
}

/// A sequence, struct or map being walked.
struct Compound<'c> {
    c: &'c mut RefCollector,
    /// The next element's index (sequences).
    index: usize,
    /// Whether `end` leaves a variant's segment too.
    variant: bool,
    /// The key of the map entry being written, and how many entries were.
    key: Option<String>,
    entries: usize,
    /// A `$ref` entry's string target.
    target: Option<String>,
}

impl<'c> Compound<'c> {
    fn new(c: &'c mut RefCollector, variant: bool) -> Self {
        c.capture = false;
        Compound {
            c,
            index: 0,
            variant,
            key: None,
            entries: 0,
            target: None,
        }
    }

    fn element<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.c.enter(&self.index.to_string());
        self.index += 1;
        v.serialize(&mut *self.c)?;
        self.c.leave();
        Ok(())
    }

    fn field<T: serde::Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), Never> {
        self.c.enter(key);
        v.serialize(&mut *self.c)?;
        self.c.leave();
        Ok(())
    }

    fn finish(self) -> Result<(), Never> {
        // `{"$ref": "plugin/name.attribute"}` alone is a reference.
        if self.entries == 1
            && let Some(target) = self.target
            && let Some(r) = parse_ref(&target)
        {
            self.c.refs.push((self.c.path.clone(), r));
        }
        if self.variant {
            self.c.leave();
        }
        Ok(())
    }
}

macro_rules! ignore {
    ($($f:ident: $t:ty),*) => {
        $(fn $f(self, _: $t) -> Result<(), Never> { Ok(()) })*
    };
}

impl<'c> serde::Serializer for &'c mut RefCollector {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Compound<'c>;
    type SerializeTuple = Compound<'c>;
    type SerializeTupleStruct = Compound<'c>;
    type SerializeTupleVariant = Compound<'c>;
    type SerializeMap = Compound<'c>;
    type SerializeStruct = Compound<'c>;
    type SerializeStructVariant = Compound<'c>;

    ignore!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_f32: f32, serialize_f64: f64, serialize_char: char,
        serialize_bytes: &[u8], serialize_unit_struct: &'static str);

    fn serialize_str(self, v: &str) -> Result<(), Never> {
        if self.capture {
            self.captured = Some(v.to_string());
        }
        if self.name_path.as_deref() == Some(self.path.as_str()) {
            self.name = Some(v.to_string());
        }
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Never> {
        Ok(())
    }

    fn serialize_some<T: serde::Serialize + ?Sized>(self, v: &T) -> Result<(), Never> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Never> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Never> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        self.enter(variant);
        v.serialize(&mut *self)?;
        self.leave();
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'c>, Never> {
        Ok(Compound::new(self, false))
    }

    fn serialize_tuple(self, _: usize) -> Result<Compound<'c>, Never> {
        Ok(Compound::new(self, false))
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'c>, Never> {
        Ok(Compound::new(self, false))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'c>, Never> {
        self.enter(variant);
        Ok(Compound::new(self, true))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'c>, Never> {
        Ok(Compound::new(self, false))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'c>, Never> {
        Ok(Compound::new(self, false))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'c>, Never> {
        self.enter(variant);
        Ok(Compound::new(self, true))
    }
}

impl serde::ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_element<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.element(v)
    }
    fn end(self) -> Result<(), Never> {
        self.finish()
    }
}

impl serde::ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_element<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.element(v)
    }
    fn end(self) -> Result<(), Never> {
        self.finish()
    }
}

impl serde::ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.element(v)
    }
    fn end(self) -> Result<(), Never> {
        self.finish()
    }
}

impl serde::ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.element(v)
    }
    fn end(self) -> Result<(), Never> {
        self.finish()
    }
}

impl serde::ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: serde::Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Never> {
        // Keys are strings here (as serde_json requires): catch it.
        let mut k = RefCollector {
            path: String::new(),
            marks: Vec::new(),
            refs: Vec::new(),
            capture: true,
            captured: None,
            name_path: None,
            name: None,
        };
        key.serialize(&mut k)?;
        self.key = Some(k.captured.unwrap_or_default());
        Ok(())
    }
    fn serialize_value<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.entries += 1;
        let key = self.key.take().unwrap_or_default();
        self.c.enter(&key);
        if key == REF_KEY {
            self.c.capture = true;
            self.c.captured = None;
            v.serialize(&mut *self.c)?;
            self.c.capture = false;
            self.target = self.c.captured.take();
        } else {
            v.serialize(&mut *self.c)?;
        }
        self.c.leave();
        Ok(())
    }
    fn end(self) -> Result<(), Never> {
        self.finish()
    }
}

impl serde::ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), Never> {
        self.finish()
    }
}

impl serde::ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), Never> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::Kind;

    /// The typed walk finds exactly what the walk over the JSON form finds, for a
    /// spec of every kind with its references in place (the sample stack), and the
    /// same name.
    #[test]
    fn spec_refs_agrees_with_the_walk_over_the_json_form() {
        let mut kinds = std::collections::BTreeSet::new();
        for d in crate::samples::stack() {
            for r in &d.resources {
                let props = r.spec.properties();
                let mut expected = Vec::new();
                walk_refs(&props, &mut String::new(), &mut |p, x| {
                    expected.push((p.to_string(), x))
                });
                let prop = r.spec.kind().schema().name_property;
                let (refs, name) = spec_refs(&r.spec, prop);
                assert_eq!(refs, expected, "{}", r.address);
                assert_eq!(
                    name.as_deref(),
                    prop.and_then(|p| props[p].as_str()),
                    "{}",
                    r.address
                );
                kinds.insert(r.spec.kind());
            }
        }
        for kind in Kind::ALL {
            let spec = crate::samples::spec(*kind);
            let prop = kind.schema().name_property;
            let (refs, name) = spec_refs(&spec, prop);
            assert!(refs.is_empty(), "{kind}: {refs:?}");
            let props = spec.properties();
            assert_eq!(name.as_deref(), prop.and_then(|p| props[p].as_str()));
        }
        assert!(kinds.len() > 10, "{kinds:?}");
    }
}
