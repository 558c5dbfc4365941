#!/usr/bin/env python3
"""Writes the generated part of docs/plan.schema.json from host/core/src/model.rs.

The kind list of host/core/src/model.rs (`for_each_kind!`) is the engine's one list
of resource kinds; this script reads it (and the `records!` and `wit_enum!` types its
fields use) and writes, into the schema's `$defs`:

- `kind`: the enum of every kind name;
- `kind-KIND`: the properties of a resource of that kind, as `after` holds them
  (every field of the kind's WIT record, in kebab-case);
- `after-by-kind`: which `kind-KIND` a change's `after` must match;
- `record-...`, `enum-...`, `wit-text`: the value types the fields use.

Everything else in the schema is written by hand. Run it after changing the kind
list (`python3 tests/schema/gen_plan_schema.py`); `--check` exits 1 when the schema
is not up to date (tests/schema/test_plan_schema.py runs it).
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "host/core/src/model.rs"
SCHEMA = ROOT / "docs/plan.schema.json"
AUTHORING = "docs/authoring.md"

GENERATED_PREFIXES = ("kind-", "record-", "enum-", "wit-")
GENERATED_NAMES = ("kind", "after-by-kind")

INTS = {"u16": 65535, "u32": 4294967295}


def kebab(s):
    """`retention_period_hours` -> `retention-period-hours`; `SecretValueRef` -> `secret-value-ref`."""
    if "_" in s or s.islower():
        return s.replace("_", "-")
    return re.sub(r"(?<!^)(?=[A-Z])", "-", s).lower()


def parse_model(text):
    """(kinds, records, enums) from model.rs's source."""
    m = re.search(r"macro_rules! for_each_kind \{(.*?)\n\}", text, re.S)
    if not m:
        raise SystemExit(f"{MODEL}: no `for_each_kind!`")
    kinds = []
    doc = ""
    for line in m.group(1).splitlines():
        line = line.strip()
        if line.startswith("///"):
            doc = line[3:].strip()
            continue
        k = re.match(r'^(\w+) = "([a-z0-9-]+)", (tagged|untagged) \{ (.*) \}$', line)
        if k:
            kinds.append((k.group(2), doc, split_fields(k.group(4))))
            doc = ""
    records = {}
    m = re.search(r"\nrecords! \{(.*?)\n\}", text, re.S)
    if not m:
        raise SystemExit(f"{MODEL}: no `records!` block")
    doc = ""
    for line in m.group(1).splitlines():
        line = line.strip()
        if line.startswith("///"):
            doc = line[3:].strip()
            continue
        r = re.match(r"^(\w+) \{ (.*) \}$", line)
        if r:
            records[r.group(1)] = (doc, split_fields(r.group(2)))
            doc = ""
    enums = {}
    for e in re.finditer(r"wit_enum!\(\s*///\s*(.*?)\n\s*(\w+)\s*\{(.*?)\}\s*\);", text, re.S):
        enums[e.group(2)] = (e.group(1).strip(), re.findall(r'\w+ = "([a-z0-9-]+)"', e.group(3)))
    return kinds, records, enums


def sentence_part(doc):
    """`An Amazon VPC.` -> `an Amazon VPC`."""
    doc = doc.rstrip(".")
    if len(doc) > 1 and doc[1].islower():
        doc = doc[0].lower() + doc[1:]
    return doc


def split_fields(s):
    out = []
    for part in s.split(", "):
        name, ty = part.split(":", 1)
        out.append((name.strip(), ty.strip()))
    return out


def wit_type(ty):
    """The WIT spelling of a Rust field type."""
    m = re.match(r"^(Option|Vec)<(.*)>$", ty)
    if m:
        return ("option" if m.group(1) == "Option" else "list") + f"<{wit_type(m.group(2))}>"
    if ty == "String":
        return "string"
    return ty if ty in ("bool", "u16", "u32", "f64") else kebab(ty)


def type_schema(ty, records, enums):
    """The JSON Schema of a value of Rust type `ty`, as serde writes it."""
    m = re.match(r"^(Option|Vec)<(.*)>$", ty)
    if m:
        inner = type_schema(m.group(2), records, enums)
        if m.group(1) == "Option":
            return {"anyOf": [inner, {"type": "null"}]}
        return {"type": "array", "items": inner}
    if ty == "String":
        return {"type": "string"}
    if ty == "bool":
        return {"type": "boolean"}
    if ty in INTS:
        return {"type": "integer", "minimum": 0, "maximum": INTS[ty]}
    if ty == "f64":
        return {"type": "number"}
    if ty == "Text":
        return {"$ref": "#/$defs/wit-text"}
    if ty == "Tag":
        return {"$ref": "#/$defs/record-tag"}
    if ty in records:
        return {"$ref": f"#/$defs/record-{kebab(ty)}"}
    if ty in enums:
        return {"$ref": f"#/$defs/enum-{kebab(ty)}"}
    raise SystemExit(f"{MODEL}: no JSON Schema for the field type `{ty}`: teach {__file__}")


def object_schema(description, fields, records, enums, where):
    props = {}
    for name, ty in fields:
        s = {
            "description": f"`{kebab(name)}` (WIT `{wit_type(ty)}`); see {where}.",
        }
        s.update(type_schema(ty, records, enums))
        props[kebab(name)] = s
    return {
        "description": description,
        "type": "object",
        "required": sorted(props),
        "additionalProperties": False,
        "properties": props,
    }


def generated(text):
    kinds, records, enums = parse_model(text)
    defs = {}
    defs["kind"] = {
        "description": "A resource kind, by its WIT name: every kind of host/core/src/model.rs's kind list (`for_each_kind!`), in its order. Each is documented in "
        + AUTHORING
        + ", \"4. The WIT reference\".",
        "enum": [k for k, _, _ in kinds],
    }
    defs["after-by-kind"] = {
        "description": "A change's `after` holds exactly the properties of its `kind`.",
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
                "then": {"properties": {"after": {"$ref": f"#/$defs/kind-{k}"}}},
            }
            for k, _, _ in kinds
        ],
    }
    for k, doc, fields in kinds:
        where = f"{AUTHORING}#{k}"
        defs[f"kind-{k}"] = object_schema(
            f"The properties of a `{k}` ({sentence_part(doc)}); its fields are documented in {where}.",
            fields,
            records,
            enums,
            where,
        )
    defs["wit-text"] = {
        "description": "A WIT `text`: a string known when planned, or an `unknown-value` (`{\"$ref\": \"plugin/name.attribute\"}`) known only after apply.",
        "anyOf": [{"type": "string"}, {"$ref": "#/$defs/unknown-value"}],
    }
    defs["record-tag"] = object_schema(
        "An AWS tag (WIT `tag`).",
        [("key", "String"), ("value", "String")],
        records,
        enums,
        f"{AUTHORING}#tag-tag",
    )
    for name, (doc, fields) in records.items():
        k = kebab(name)
        where = f"{AUTHORING}#{k}-{name.lower()}"
        defs[f"record-{k}"] = object_schema(
            f"{doc.rstrip('.')} (WIT `{k}`).", fields, records, enums, where
        )
    for name, (doc, cases) in enums.items():
        k = kebab(name)
        defs[f"enum-{k}"] = {
            "description": f"{doc.rstrip('.')} (WIT enum `{k}`); see {AUTHORING}#{k}-{name.lower()}.",
            "enum": cases,
        }
    return defs


def render(schema, text):
    defs = {
        k: v
        for k, v in schema["$defs"].items()
        if k not in GENERATED_NAMES and not k.startswith(GENERATED_PREFIXES)
    }
    defs.update(generated(text))
    schema = dict(schema)
    schema["$defs"] = defs
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    current = SCHEMA.read_text()
    new = render(json.loads(current), MODEL.read_text())
    if check:
        if new != current:
            print(
                f"{SCHEMA.relative_to(ROOT)} is not up to date with {MODEL.relative_to(ROOT)}: "
                f"run python3 tests/schema/gen_plan_schema.py",
                file=sys.stderr,
            )
            return 1
        return 0
    SCHEMA.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
