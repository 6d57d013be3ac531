"""The reference of every file a user writes (lab, campaign, protocol), generated from the
models that read them so that it cannot drift: ``docs/files.md`` for people and JSON
Schemas in ``docs/schemas/`` for editors. Regenerate with ``make reference``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lab.files.campaign_file import CampaignConfig
from lab.files.lab_file import LabConfig
from protocols import Protocol

FILES: dict[str, tuple[type[BaseModel], str]] = {
    "lab": (LabConfig, "which devices, over which transport, where things sit, what is stocked"),
    "campaign": (CampaignConfig, "what to vary, within which bounds, towards which objectives"),
    "protocol": (Protocol, "the steps of one trial; `{name}` placeholders take parameters"),
}


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one file kind (lab, protocol, campaign), from its model."""
    model, summary = FILES[kind]
    out = model.model_json_schema()
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["description"] = f"The {kind} file: {summary}."
    return out


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "anyOf" in prop or "oneOf" in prop:
        options = [_type(p) for p in prop.get("anyOf", prop.get("oneOf", []))]
        return " or ".join(o for o in options if o != "null") + (
            " (optional)" if any(p.get("type") == "null" for p in prop.get("anyOf", [])) else ""
        )
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object" and "additionalProperties" in prop:
        return f"map of name to {_type(prop['additionalProperties'])}"
    if kind == "object" and "patternProperties" in prop:
        (value,) = prop["patternProperties"].values()
        return f"map of name to {_type(value)}"
    return str(kind)


def _section(name: str, definition: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if definition.get("description"):
        lines += [" ".join(definition["description"].split()), ""]
    required = set(definition.get("required", []))
    lines += ["| field | type | default | meaning |", "|---|---|---|---|"]
    for field, prop in definition.get("properties", {}).items():
        default = "*required*" if field in required else f"`{json.dumps(prop.get('default'))}`"
        meaning = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        lines.append(f"| `{field}` | {_type(prop)} | {default} | {meaning} |")
    return [*lines, ""]


def markdown() -> str:
    """docs/files.md: every field of every file kind, with type, unit, default and meaning."""
    lines = [
        "# File reference",
        "",
        "Generated from the models that read the files (`make reference`); do not edit by "
        "hand. Editors can check a file as it is typed with the JSON Schemas in "
        "[schemas/](schemas/) (for VS Code's YAML extension: "
        "`# yaml-language-server: $schema=docs/schemas/lab.schema.json` on the first line).",
        "",
        "Quantities are strings with their unit (`'2.5 mL'`, `'60 degC'`, `'600 rpm'`); a "
        "bare number is refused, and so is a number beyond the range any lab would use for "
        "its kind (a duration from 0 s to 366 days, a temperature from 0 K to 2500 K, a "
        "volume from 0 mL to 1000 L, a speed up to 100000 rpm). Paths are relative to the "
        "file that names them.",
        "",
        "Names (of the lab, locations, reagents, devices, interlocks, parameters, campaigns "
        "and protocols) start with an ASCII letter and hold only letters, digits, `_` and "
        "`-`, at most 64 characters: `cyan`, `station-2`, `spectrometer_holder`. Names "
        "travel on instrument wires one command a line, into file paths and into pages, so "
        "a space, a line break, a dot or a letter outside ASCII is refused.",
        "",
    ]
    for kind, (_, summary) in FILES.items():
        doc = schema(kind)
        lines += [f"## The {kind} file", "", f"{summary[0].upper()}{summary[1:]}.", ""]
        lines += _section(doc["title"], doc)
        for name, definition in doc.get("$defs", {}).items():
            lines += _section(name, definition)
    return "\n".join(lines)


def write(docs: Path) -> list[Path]:
    """Write ``files.md`` and ``schemas/<kind>.schema.json`` under ``docs``."""
    (docs / "schemas").mkdir(parents=True, exist_ok=True)
    written = [docs / "files.md"]
    written[0].write_text(markdown())
    for kind in FILES:
        path = docs / "schemas" / f"{kind}.schema.json"
        path.write_text(json.dumps(schema(kind), indent=2) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(path)
