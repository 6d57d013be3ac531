"""Bad files at scale: whatever bytes a user's lab, protocol or campaign file holds, reading
it ends in a :class:`ConfigError` that names the file (and a field where there is one), or
in a valid campaign; never a traceback, a hang or unbounded memory."""

from __future__ import annotations

import copy
import math
import os
import resource
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab import ConfigError
from lab.api import prepare
from tests.conftest import EXAMPLES

FILES = ("campaign.yaml", "colour_mix.yaml", "lab.yaml")
ORIGINAL = {name: yaml.safe_load((EXAMPLES / name).read_text()) for name in FILES}
MAX_MESSAGE = 4000

NASTY: list[Any] = [
    None,
    "",
    0,
    -1,
    1e308,
    math.inf,
    -math.inf,
    math.nan,
    True,
    "x" * 5000,
    "{a b}",
    "{}",
    "{cyan",
    "nan mL",
    "inf degC",
    "-inf mL",
    "1e400 mL",
    "90 mL",
    "3 parsec",
    "1e-3*cyan + magenta <= 6 mL",
    "cyan + magneta <= 6 mL",
    "cyan <= ",
    "<= <= 3 mL",
    "¿ünïcødé? ✓",
    "\x00\x01",
    [],
    [[[[[]]]]],
    {},
    {"a": {"b": {"c": None}}},
    ["rack", 1, None],
    "os:system",
    "simulators.chemistry:DyeChemistry",
    "json:dumps",
    "no.such.module:thing",
    "/dev/zero",
    "../../../../etc/passwd",
    "opc.tcp://256.1.1.1:99999",
    "SignAndEncrypt",
    "None",
]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@st.composite
def edits(draw) -> tuple[str, Any]:
    """One of the example files with one to three of its values (or keys) made nasty."""
    name = draw(st.sampled_from(FILES))
    doc = copy.deepcopy(ORIGINAL[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "rename", "add"]))
        value = copy.deepcopy(draw(st.sampled_from(NASTY) | st.text(max_size=30) | st.floats()))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if action == "replace" or not path:
            doc = _set(doc, path, value)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "delete" and isinstance(parent, list):
            parent.pop(path[-1])
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = parent.pop(path[-1])
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "min", "kind", "step", "seed"]))] = value
    return name, doc


def _write_example(root: Path) -> Path:
    for f in EXAMPLES.iterdir():
        if f.is_file() and f.suffix in (".yaml", ".csv"):
            (root / f.name).write_bytes(f.read_bytes())
    return root / "campaign.yaml"


def _assert_clear(err: ConfigError, root: Path) -> None:
    text = str(err)
    assert err.problems, text
    assert len(text) <= MAX_MESSAGE, text[:300]
    assert any(name in err.source for name in FILES), err.source
    assert Path(err.source).parent == root or err.source.startswith(str(root)), err.source


def _check(root: Path) -> None:
    try:
        prepare(root / "campaign.yaml")
    except ConfigError as err:
        _assert_clear(err, root)


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits())
def test_edited_files_give_clear_errors(fuzz_root: Path, edit: tuple[str, Any]) -> None:
    name, doc = edit
    _write_example(fuzz_root)
    (fuzz_root / name).write_text(yaml.safe_dump(doc, allow_unicode=True))
    _check(fuzz_root)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(FILES), st.binary(max_size=400) | st.text(max_size=400))
def test_arbitrary_bytes_give_clear_errors(fuzz_root: Path, name: str, content) -> None:
    _write_example(fuzz_root)
    target = fuzz_root / name
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8", errors="surrogatepass")
    _check(fuzz_root)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
    f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9)
)

SPECIAL: dict[str, str | bytes] = {
    "non-utf8": b"name: caf\xe9\n",
    "nul": b"name: a\x00b\n",
    "bom": "\ufeffname: x\n".encode(),
    "deep lists": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep maps": "".join("  " * i + f"k{i}:\n" for i in range(400)),
    "alias bomb": BOMB,
    "duplicate key": "{original}name: again\n",
    "python tag": "name: !!python/object/apply:os.system ['true']\n",
    "custom tag": "name: !vault x\n",
    "huge int": "trials: " + "9" * 5000 + "\n",
    "infinite trials": "trials: .inf\n",
    "list at top": "- 1\n- 2\n",
    "empty": "",
    "only comment": "# nothing\n",
    "many documents": "a: 1\n---\nb: 2\n",
}


def _mapped_bytes() -> int:
    """This process's virtual memory size (VmSize), what RLIMIT_AS counts against."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize in /proc/self/status")


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("case", SPECIAL)
def test_special_content_gives_clear_errors(tmp_path: Path, case: str, name: str) -> None:
    _write_example(tmp_path)
    content = SPECIAL[case]
    if case == "duplicate key":
        content = str(content).format(original=(EXAMPLES / name).read_text())
    target = tmp_path / name
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    # a bomb fails, not the box: 2 GiB above what the process already maps (after the
    # system tests that is several GiB of torch and thread stacks; a fixed cap below it
    # made every allocation fail, down to a segfault)
    cap = _mapped_bytes() + 2 * 2**30
    resource.setrlimit(
        resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard)
    )
    try:
        with pytest.raises(ConfigError) as info:
            prepare(tmp_path / "campaign.yaml")
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    _assert_clear(info.value, tmp_path)


@pytest.mark.parametrize("kind", ["directory", "/dev/zero", "fifo", "dangling link", "missing"])
@pytest.mark.parametrize("name", FILES)
def test_special_files_give_clear_errors(tmp_path: Path, kind: str, name: str) -> None:
    _write_example(tmp_path)
    target = tmp_path / name
    target.unlink()
    if kind == "directory":
        target.mkdir()
    elif kind == "/dev/zero":
        target.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(target)  # opening it for reading would wait for a writer forever
    elif kind == "dangling link":
        target.symlink_to(tmp_path / "nowhere.yaml")
    with pytest.raises(ConfigError) as info:
        prepare(tmp_path / "campaign.yaml")
    _assert_clear(info.value, tmp_path)
    assert name in str(info.value)


def _rename_reagent(root: Path, new: str) -> None:
    """``water`` renamed to ``new`` in the lab file and the protocol alike."""
    lab = yaml.safe_load((root / "lab.yaml").read_text())
    lab["reagents"][new] = lab["reagents"].pop("water")
    lab["devices"]["station"]["pumps"][4] = new
    (root / "lab.yaml").write_text(yaml.safe_dump(lab, allow_unicode=True))
    protocol = yaml.safe_load((root / "colour_mix.yaml").read_text())
    protocol["steps"][4]["reagent"] = new
    (root / "colour_mix.yaml").write_text(yaml.safe_dump(protocol, allow_unicode=True))


@pytest.mark.parametrize("name", ["cyan blue", "青", "cyan\nSTOP", "../water", "x" * 65, "-x"])
def test_a_name_outside_the_alphabet_is_refused_in_every_file(tmp_path: Path, name: str) -> None:
    """Names go on instrument wires (one command a line), into paths and into pages."""
    _write_example(tmp_path)
    _rename_reagent(tmp_path, name)
    with pytest.raises(ConfigError) as info:
        prepare(tmp_path / "campaign.yaml")
    assert "is not a name: start with a letter" in str(info.value)
    assert info.value.source.endswith(("lab.yaml", "colour_mix.yaml"))


def test_a_reagent_the_simulated_chemistry_does_not_know_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    _write_example(tmp_path)
    _rename_reagent(tmp_path, "ethanol")
    with pytest.raises(ConfigError) as info:
        prepare(tmp_path / "campaign.yaml")
    assert info.value.source.endswith("lab.yaml")
    assert any(
        p.startswith("reagents.ethanol: the simulated chemistry") and "no dye model" in p
        for p in info.value.problems
    ), info.value.problems


@pytest.mark.parametrize(
    ("file", "path", "value", "words"),
    [
        ("colour_mix.yaml", ("steps", 6, "duration"), "1e308 s", "steps.6.duration"),
        ("colour_mix.yaml", ("steps", 4, "volume"), "-2 mL", "steps.4.volume"),
        ("colour_mix.yaml", ("steps", 6, "speed"), "1e9 rpm", "steps.6.speed"),
        ("lab.yaml", ("devices", "arm", "transport", "timeout"), "-1e999 s", "timeout"),
        ("lab.yaml", ("devices", "arm", "transport", "timeout"), "-1 s", "timeout"),
        ("lab.yaml", ("locations", "rack", "xyz_mm", 0), 9223372036854775808, "xyz_mm.0"),
        ("lab.yaml", ("simulation", "clock_speed"), 1e308, "simulation.clock_speed"),
        ("lab.yaml", ("devices", "station", "temperature", "min"), "-300 degC", "min"),
        ("lab.yaml", ("vial_capacity",), "1e30 L", "vial_capacity"),
        *(
            ("lab.yaml", path, value, path[-1])
            for path in (
                ("devices", "arm", "transport", "timeout"),
                ("devices", "station", "transport", "timeout"),
                ("devices", "station", "stale_after"),
                ("devices", "station", "safe_state_patience"),
                ("devices", "station", "heartbeat"),
                ("devices", "arm", "move_timeout"),
                ("watchdog_period",),
            )
            for value in ("0 s", "-1 s", "1e999 s", "-1e999 s")
        ),
        ("lab.yaml", ("watchdog_period",), "30 s", "watchdog_period"),
        ("lab.yaml", ("devices", "arm", "transport", "baudrate"), 9223372036854775808, "baudrate"),
        ("lab.yaml", ("simulation", "devices"), {"spectrometer": {"noise_seed": -1}}, "noise_seed"),
        ("lab.yaml", ("reagents", "cyan", "stock"), "-5 mL", "stock"),
        ("lab.yaml", ("devices", "station", "stir_speed", "min"), "-100 rpm", "min"),
        ("lab.yaml", ("devices", "station", "dispense_rate", "min"), "-1 mL/min", "min"),
        ("lab.yaml", ("devices", "station", "ambient"), "200 degC", "ambient"),
    ],
)
def test_numbers_beyond_any_lab_are_refused_when_the_file_is_read(
    tmp_path: Path, file: str, path: tuple, value: Any, words: str
) -> None:
    """Once accepted, and met mid-run by a timer or a device (a traceback, exit 3)."""
    _write_example(tmp_path)
    doc = yaml.safe_load((tmp_path / file).read_text())
    (tmp_path / file).write_text(yaml.safe_dump(_set(doc, path, value)))
    with pytest.raises(ConfigError) as info:
        prepare(tmp_path / "campaign.yaml")
    assert info.value.source.endswith(file)
    assert any(words in p for p in info.value.problems), info.value.problems
