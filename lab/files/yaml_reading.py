"""Reading the YAML files a user writes, with bounds: whatever a file holds (binary data,
a device, a pipe, an alias bomb, deep nesting), reading it ends in a clear
:class:`ConfigError` naming the file and the line, in bounded time and memory."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from lab.errors import ConfigError, problems_of

M = TypeVar("M", bound=BaseModel)

MAX_BYTES = 1_000_000
MAX_DEPTH = 50
MAX_NODES = 50_000


class _Refused(Exception):
    """A document too large or too deep once its aliases are expanded."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what a config file has no use for: nesting deeper than
    :data:`MAX_DEPTH`, duplicate keys (YAML says they are an error; PyYAML keeps the last),
    and numbers too long to be a number. A number that is not finite (``.nan``, ``.inf``)
    is read, and refused by the file's model, which names its field."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested deeper than {MAX_DEPTH} levels",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        None, None, "a key must be a plain value", key_node.start_mark
                    ) from None
                if first is not key_node.start_mark:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first given at line {first.line + 1})",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node: Any) -> int:
        if len(node.value) > 30:
            raise yaml.constructor.ConstructorError(
                None, None, "a number with more than 30 digits", node.start_mark
            )
        return super().construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


def _expanded(
    node: yaml.Node, memo: dict[int, tuple[int, int]], open_: set[int]
) -> tuple[int, int]:
    """(nodes, depth) of ``node`` with every alias expanded, as a consumer would see it;
    memoised, so an alias bomb is measured without being expanded."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in open_:
        raise _Refused("an alias refers to the node that contains it")
    open_.add(key)
    size, depth = 1, 0
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    for child in children:
        s, d = _expanded(child, memo, open_)
        size, depth = size + s, max(depth, d)
        if size > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES} values once its aliases are expanded")
    depth += 1
    if depth > MAX_DEPTH:
        raise _Refused(f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded")
    open_.discard(key)
    memo[key] = (size, depth)
    return memo[key]


def file_problem(path: Path) -> str | None:
    """Why ``path`` is not a file a user could have written, or None; nothing is opened,
    so a pipe or a device is refused without waiting on it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "file not found"
    except OSError as err:
        return f"cannot be read: {err.strerror}"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a device, a pipe or a socket)"
    if info.st_size > MAX_BYTES:
        return f"is {info.st_size} bytes; files over {MAX_BYTES} are refused"
    return None


def read_text(path: Path) -> str:
    """The text of a user's file; refuses what is not a small UTF-8 text file.

    Args:
        path: the file.
    """
    problem = file_problem(path)
    if problem is not None:
        raise ConfigError(path, [problem])
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as err:
        raise ConfigError(path, [f"cannot be read: {err.strerror}"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError(
            path,
            [f"line {line}: not UTF-8 text (byte 0x{data[err.start]:02x}); save it as UTF-8"],
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ConfigError(path, [f"line {line}: holds a NUL character; is it a binary file?"])
    return text


def _yaml_problem(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(filter(None, (err.context, err.problem)))
        return f"not valid YAML: {where}{what}"
    if isinstance(err, yaml.reader.ReaderError):
        return f"character {err.character!r} at position {err.position} is not allowed in YAML"
    return f"not valid YAML: {err}"


def read_yaml(path: str | Path) -> Any:
    """The document in a YAML file, bounded in size, depth and alias expansion.

    Args:
        path: the file.
    """
    path = Path(path)
    text = read_text(path)
    try:
        loader = _Loader(text)
    except yaml.YAMLError as err:
        raise ConfigError(path, [_yaml_problem(err)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded(node, {}, set())
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        raise ConfigError(path, [_yaml_problem(err)]) from None
    except _Refused as err:
        raise ConfigError(path, [f"refused: {err}"]) from None
    finally:
        loader.dispose()


def load_yaml_model(model: type[M], path: str | Path, **context: object) -> M:
    """Read ``path`` and validate it as ``model``; any failure is a :class:`ConfigError`.

    Args:
        model: the pydantic model to validate as.
        path: the file.
        context: more pydantic validation context; ``base_dir`` (the file's folder) is always given.
    """
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, ["expected a mapping of fields at the top level"])
    try:
        return model.model_validate(data, context={"base_dir": path.parent, **context})
    except ValidationError as err:
        raise ConfigError(path, problems_of(err, data)) from None
