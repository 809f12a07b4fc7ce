"""Safe YAML reading that keeps line numbers and keeps ``on``/``off``/``yes``/``no`` as text.

PyYAML's SafeLoader follows YAML 1.1, where ``on`` or ``no`` become booleans —
a state named ``on`` or a field value ``no`` would silently change type.  Our
loader only accepts ``true``/``false`` as booleans, and records the line of
every mapping key so validation can say "file.yaml:42".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict[Any, Any]):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


# libyaml's C parser when PyYAML has it (its wheels do): ~20x faster on workflow files.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    pass


# Drop YAML 1.1's bool resolver and add a strict one.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlSyntaxError(Exception):
    def __init__(self, path: str, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path, self.line, self.problem = path, line, problem


def load_text(text: str, path: str = "<text>") -> Any:
    """Parse YAML text; syntax errors become YamlSyntaxError with a line number."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 0
        raise YamlSyntaxError(path, line, str(exc.problem or exc)) from None


def load_file(path: Path) -> Any:
    return load_text(path.read_text(encoding="utf-8"), str(path))


def load_checked(path: Path, error: Callable[[list[str]], Exception]) -> Any:
    """``load_file``, with a syntax error or an unreadable file raised as ``error([problem])``.

    For files whose problems are listed together (workflows, directory, report map).
    """
    try:
        return load_file(path)
    except YamlSyntaxError as exc:
        raise error([f"{exc.path}:{exc.line}: YAML syntax: {exc.problem}"]) from None
    except OSError as exc:
        raise error([f"{path}: cannot read: {exc.strerror}"]) from None
