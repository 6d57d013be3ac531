"""docs/files.md and the JSON Schemas are generated from the models: they must be current,
and the example files must pass the schemas an editor would check them with."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from lab.files.reference import FILES, markdown, schema
from tests.conftest import EXAMPLES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_file_reference_is_current():
    assert (DOCS / "files.md").read_text() == markdown(), "run `make reference`"
    for kind in FILES:
        stored = json.loads((DOCS / "schemas" / f"{kind}.schema.json").read_text())
        assert stored == schema(kind), "run `make reference`"


@pytest.mark.parametrize(
    ("kind", "file"),
    [("lab", "lab.yaml"), ("campaign", "campaign.yaml"), ("protocol", "colour_mix.yaml")],
)
def test_example_files_pass_their_schema_and_a_typo_does_not(kind: str, file: str):
    document = yaml.safe_load((EXAMPLES / file).read_text())
    validator = jsonschema.Draft202012Validator(schema(kind))
    assert list(validator.iter_errors(document)) == []
    document["nmae"] = document.pop("name")
    assert [e.validator for e in validator.iter_errors(document)] != []
