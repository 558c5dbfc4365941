"""docs/plan.schema.json describes what `engine plan --json` prints.

Every golden plan JSON of the tree (written by the real renderer, and checked by
the Rust tests that own them) must validate against it, with format checking; so
must the fixtures here (tests/schema/fixtures/README.md), which the renderer wrote
for the cases the goldens lack (a deposed copy, a tainted, pending and moved
resource, a partial plan, a forced replacement, a deleted stack). Broken copies of a
golden must not validate, so the schema is not vacuous. The kind list and the kinds'
properties are generated from host/core/src/model.rs; the schema must be up to date.

Run: python3 -m unittest discover -s tests/schema -p 'test_*.py' -v
"""

import copy
import json
import subprocess
import sys
import unittest
from pathlib import Path

import jsonschema
from jsonschema import Draft202012Validator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCHEMA_PATH = ROOT / "docs/plan.schema.json"

# Every golden plan JSON: `engine plan --json` output that the Rust tests compare
# with the renderer's (host/core/tests/golden.rs, tests/japancart).
GOLDEN_GLOBS = ["host/core/tests/golden/*.json", "tests/japancart/golden/plan-*.json"]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def goldens():
    paths = sorted(p for g in GOLDEN_GLOBS for p in ROOT.glob(g))
    return paths


def fixtures():
    return sorted((HERE / "fixtures").glob("*.json"))


class PlanSchema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.schema = load(SCHEMA_PATH)
        Draft202012Validator.check_schema(cls.schema)
        cls.validator = Draft202012Validator(
            cls.schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        cls.mixed = load(ROOT / "host/core/tests/golden/mixed.json")

    def errors(self, doc):
        return sorted(self.validator.iter_errors(doc), key=lambda e: list(e.path))

    def assert_valid(self, doc, what):
        errs = self.errors(doc)
        self.assertEqual(
            errs,
            [],
            f"{what} does not match docs/plan.schema.json:\n"
            + "\n".join(f"  at {list(e.absolute_path)}: {e.message[:300]}" for e in errs[:10]),
        )

    def assert_invalid(self, doc, what):
        self.assertNotEqual(self.errors(doc), [], f"{what} validates, but must not")

    def change(self, doc, action):
        return next(c for c in doc["changes"] if c["action"] == action)

    # ---- the schema itself ----

    def test_schema_is_draft_2020_12_and_names_the_format_version(self):
        self.assertEqual(
            self.schema["$schema"], "https://json-schema.org/draft/2020-12/schema"
        )
        self.assertTrue(self.schema["$id"].endswith(":format-version:1"), self.schema["$id"])
        self.assertEqual(self.schema["properties"]["format_version"], {
            **self.schema["properties"]["format_version"], "const": 1})

    def test_the_format_version_is_the_renderers(self):
        render = (ROOT / "host/core/src/render.rs").read_text(encoding="utf-8")
        self.assertIn("pub const JSON_FORMAT_VERSION: u32 = 1;", render,
                      "the renderer's format version changed: update docs/plan.schema.json "
                      "(`$id` and `format_version`)")

    def test_every_property_has_a_description(self):
        missing = []

        def walk(node, path):
            if isinstance(node, dict):
                for name, sub in node.get("properties", {}).items():
                    if not isinstance(sub, dict) or not sub.get("description"):
                        missing.append(f"{path}/properties/{name}")
                for k, v in node.items():
                    walk(v, f"{path}/{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{path}/{i}")

        walk(self.schema, "#")
        # `if` conditions name properties only to test them.
        missing = [m for m in missing if "/if/" not in m and "/then/" not in m
                   and "/else/" not in m]
        self.assertEqual(missing, [])

    def test_the_generated_kinds_are_up_to_date_with_the_model(self):
        r = subprocess.run(
            [sys.executable, str(HERE / "gen_plan_schema.py"), "--check"],
            capture_output=True,
            text=True,
        )
        self.assertEqual(r.returncode, 0, r.stderr)

    # ---- what the renderer wrote validates ----

    def test_every_golden_plan_json_validates(self):
        paths = goldens()
        self.assertGreaterEqual(len(paths), 5, [str(p) for p in paths])
        for p in paths:
            with self.subTest(golden=str(p.relative_to(ROOT))):
                self.assert_valid(load(p), p.relative_to(ROOT))

    def test_every_fixture_validates(self):
        paths = fixtures()
        self.assertGreaterEqual(len(paths), 4)
        for p in paths:
            with self.subTest(fixture=p.name):
                self.assert_valid(load(p), p.relative_to(ROOT))

    def test_the_goldens_and_fixtures_use_every_optional_field(self):
        """The optional fields the schema documents all occur in some output."""
        seen = {"top": set(), "change": set(), "field": set(), "prior": set(),
                "output": set(), "actions": set(), "kinds": set()}
        for p in goldens() + fixtures():
            d = load(p)
            seen["top"].update(d)
            for c in d["changes"]:
                seen["change"].update(c)
                seen["actions"].add(c["action"])
                seen["kinds"].add(c["kind"])
                for f in c.get("fields", []):
                    seen["field"].update(f)
                seen["prior"].update(c.get("prior", {}))
            for o in d["outputs"]:
                seen["output"].update(o)
        defs = self.schema["$defs"]
        self.assertEqual(seen["top"], set(self.schema["properties"]))
        self.assertEqual(seen["change"], set(defs["resource-change"]["properties"]))
        self.assertEqual(seen["field"], set(defs["field-change"]["properties"]))
        self.assertEqual(seen["prior"], set(defs["resource-state"]["properties"]))
        self.assertEqual(seen["output"], set(defs["output-change"]["properties"]))
        self.assertEqual(seen["actions"], set(defs["action"]["enum"]))

    # ---- broken plans do not validate ----

    def test_a_change_with_an_unknown_action_fails(self):
        d = copy.deepcopy(self.mixed)
        self.change(d, "update")["action"] = "modify"
        self.assert_invalid(d, "a change with action `modify`")

    def test_a_change_without_an_address_fails(self):
        d = copy.deepcopy(self.mixed)
        del d["changes"][0]["address"]
        self.assert_invalid(d, "a change without `address`")

    def test_another_format_version_fails(self):
        for v in (2, 0, "1", None):
            d = copy.deepcopy(self.mixed)
            d["format_version"] = v
            self.assert_invalid(d, f"format_version {v!r}")
        d = copy.deepcopy(self.mixed)
        del d["format_version"]
        self.assert_invalid(d, "a plan without format_version")

    def test_an_unknown_kind_fails(self):
        d = copy.deepcopy(self.mixed)
        d["changes"][0]["kind"] = "lambda-function"
        self.assert_invalid(d, "kind `lambda-function`")

    def test_a_malformed_address_fails(self):
        for bad in ("transactions", "Kinesis/transactions", "kinesis/transactions/x", ""):
            d = copy.deepcopy(self.mixed)
            d["changes"][0]["address"] = bad
            self.assert_invalid(d, f"address {bad!r}")

    def test_after_must_hold_its_kinds_properties(self):
        d = copy.deepcopy(self.mixed)
        c = next(c for c in d["changes"] if c["kind"] == "kinesis-stream")
        c["after"]["retention-period-hours"] = "24"
        self.assert_invalid(d, "a string `retention-period-hours`")
        d = copy.deepcopy(self.mixed)
        c = next(c for c in d["changes"] if c["kind"] == "kinesis-stream")
        c["after"]["retention-hours"] = 24
        self.assert_invalid(d, "a property the kind does not have")
        d = copy.deepcopy(self.mixed)
        c = next(c for c in d["changes"] if c["kind"] == "kinesis-stream")
        del c["after"]["shard-count"]
        self.assert_invalid(d, "a kind's property missing")

    def test_an_unknown_value_is_a_ref_object(self):
        d = copy.deepcopy(self.mixed)
        c = next(c for c in d["changes"] if c.get("unknown"))
        path = c["unknown"][0].split(".")
        target = c["after"]
        for step in path[:-1]:
            target = target[int(step)] if isinstance(target, list) else target[step]
        last = int(path[-1]) if isinstance(target, list) else path[-1]
        self.assertIn("$ref", target[last])
        target[last] = {"$ref": "not-an-address"}
        self.assert_invalid(d, "a reference that names no `plugin/name.attribute`")

    def test_required_fields_per_action(self):
        cases = [
            ("delete", lambda c: c.pop("prior"), "a delete without `prior`"),
            ("delete", lambda c: c.update(after={}), "a delete with `after`"),
            ("replace", lambda c: c.pop("replace_order"), "a replace without `replace_order`"),
            ("update", lambda c: c.update(replace_order="create-before-delete"),
             "an update with `replace_order`"),
            ("update", lambda c: c.pop("after"), "an update without `after`"),
            ("no-op", lambda c: c.update(deposed=True), "a deposed no-op"),
            ("update", lambda c: c.update(deposed=False), "`deposed` false"),
            ("update", lambda c: c.pop("dependencies"), "a change without `dependencies`"),
            ("update", lambda c: c.update(extra=1), "a change with an unknown field"),
        ]
        for action, edit, what in cases:
            with self.subTest(what):
                d = copy.deepcopy(self.mixed)
                edit(self.change(d, action))
                self.assert_invalid(d, what)

    def test_summary_outputs_and_top_level(self):
        cases = [
            (lambda d: d["summary"].pop("create"), "a summary without `create`"),
            (lambda d: d["summary"].update(create=-1), "a negative count"),
            (lambda d: d.pop("has_changes"), "a plan without `has_changes`"),
            (lambda d: d.update(prior_serial="1"), "a string `prior_serial`"),
            (lambda d: d.update(targets=[]), "empty `targets`"),
            (lambda d: d.update(extra=True), "an unknown top-level field"),
            (lambda d: d["outputs"][0].update(action="replace"), "an output replaced"),
            (lambda d: d["outputs"][0].update(unknown=True), "a known output marked unknown"),
            (lambda d: d["outputs"][0].pop("name"), "an output without a name"),
        ]
        for edit, what in cases:
            with self.subTest(what):
                d = copy.deepcopy(self.mixed)
                edit(d)
                self.assert_invalid(d, what)


if __name__ == "__main__":
    print(f"jsonschema {jsonschema.__version__}" if hasattr(jsonschema, "__version__") else "")
    unittest.main()
