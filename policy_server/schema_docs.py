"""Render the policy-language reference (``docs/policy-language.md``) from the JSON Schema.

The schema is the one source of truth for the language; ``tests/test_docs.py`` fails when the
document drifts from it. Regenerate with ``python -m policy_server.schema_docs --write``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .loader import SCHEMA_DIR

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "policy-language.md"
BEGIN = "<!-- BEGIN policy-language (generated from policies/schema/policy.schema.json) -->"
END = "<!-- END policy-language -->"

SECTIONS = (
    ("Rule keys", ("$defs", "rule")),
    ("Conditions (`when:`)", ("$defs", "when")),
    ("Shell command conditions (`when: command:`)", ("$defs", "command")),
    ("Inline test keys (`tests:`)", ("$defs", "test")),
)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref and ref.startswith("#/"):
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        merged = dict(target)
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        return merged
    return node


def _type_of(schema: dict[str, Any], node: dict[str, Any]) -> str:
    ref = node.get("$ref", "")
    named = {
        "#/$defs/stringOrList": "string or list",
        "#/$defs/regexList": "regex or list",
        "#/$defs/globMatch": "globs or {any, except}",
        "#/$defs/flagMatch": "{all, any, none}",
        "#/$defs/wordMatch": "{any, all, none} of regexes",
        "#/$defs/when": "conditions",
        "#/$defs/command": "command conditions",
    }
    if ref in named:
        return named[ref]
    node = _resolve(schema, node)
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "oneOf" in node:
        return "globs or {any, except, access}"
    kind = node.get("type", "")
    if kind == "array":
        item = node.get("items", {})
        return "list of " + (
            "conditions" if item.get("$ref") == "#/$defs/when" else item.get("type", "values")
        )
    return str(kind)


def render() -> str:
    schema = json.loads((SCHEMA_DIR / "policy.schema.json").read_text(encoding="utf-8"))
    out = [BEGIN, ""]
    for title, path in SECTIONS:
        node: Any = schema
        for part in path:
            node = node[part]
        required = set(node.get("required", []))
        out += [f"#### {title}", "", "| key | type | meaning |", "|---|---|---|"]
        for key, prop in node["properties"].items():
            description = (
                _resolve(schema, prop).get("description", "")
                if "description" not in prop
                else prop["description"]
            )
            marker = " (required)" if key in required else ""
            cell = description.replace("|", "\\|")
            out.append(f"| `{key}`{marker} | {_type_of(schema, prop)} | {cell} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


def splice(readme: str, section: str) -> str:
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[:start] + section + readme[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print or write the policy-language reference (docs/policy-language.md)."
    )
    parser.add_argument("--write", action="store_true", help=f"update {REFERENCE.name} in place")
    args = parser.parse_args(argv)
    section = render()
    if args.write:
        REFERENCE.write_text(
            splice(REFERENCE.read_text(encoding="utf-8"), section), encoding="utf-8"
        )
    else:
        print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
