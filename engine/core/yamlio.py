"""Safe YAML reading that keeps line numbers, keeps ``on``/``off``/``yes``/``no`` as text, and has limits.

PyYAML's SafeLoader follows YAML 1.1, where ``on`` or ``no`` become booleans —
a state named ``on`` or a field value ``no`` would silently change type.  Our
loader only accepts ``true``/``false`` as booleans, and records the line of
every mapping key so validation can say "file.yaml:42".

Every YAML file agreeflow reads (workflows, directory, plans, report map,
calendar data, reminder policies, the demo script) comes through here, so the
limits below hold for all of them.  A file beyond a limit raises
``YamlLimitError`` (a ``YamlSyntaxError``: path, line, problem), which each
reader turns into its own exit-2 error; nothing is constructed past the check.

- **Size** (``MAX_BYTES``, 512 KiB).  Parsing is linear but not cheap: a
  composed node costs ~200 bytes and the densest document (``[1,1,1,…]``,
  one node per two bytes) is the worst case — measured at 512 KiB: ~1 s and
  ~100 MB; a realistic 512 KiB file (a directory of 5 800 people) ~0.4 s and
  ~35 MB.  The biggest shipped file is 27 KiB and a whole province's directory
  (every commune, a thousand people) about 200 KiB, so the cap leaves room
  while keeping the worst case to a second.  A bigger 2 MiB cap would allow
  ~4 s and 400 MB of nodes.  The size is checked before a byte is parsed
  (files are read up to ``MAX_BYTES + 1`` bytes, never whole).
- **Bytes**.  A NUL byte or bytes that are not UTF-8 are named by byte offset
  and line, instead of a decoder traceback (libyaml refuses other control
  characters itself; they are reported with their line the same way).
- **Aliases** (``MAX_ALIAS_EXPANSION``).  An alias is a reference: PyYAML
  shares one object between all uses, so *loading* a "billion laughs" file is
  cheap — the blow-up comes later, in whatever walks the result as a tree
  (validation, ``dict()`` copies, messages, JSON).  So the bound is on what a
  tree walk would see: after composing and before constructing, one pass over
  the node graph computes, per node, its *expanded size* (nodes, plus the
  characters of scalars, with every alias replaced by what it names),
  memoised so the pass is linear in the graph.  The document is refused when
  its expanded size exceeds its written size by more than
  ``MAX_ALIAS_EXPANSION``.  Why this and not "an anchor may be used at most N
  times": nesting multiplies uses — nine levels of nine aliases each is 9⁹
  nodes with no anchor used more than nine times — so a per-anchor count is
  only sound at N = 1, which would already forbid the shipped ``spawn: *ask``
  (used twice in agreement-local.yaml).  The expanded size bounds the work of any consumer
  directly: at most the written document plus ``MAX_ALIAS_EXPANSION``.
  Expansion only grows up the tree, so the pass stops at the first node over
  the bound (a 400-byte bomb is refused in microseconds) and names its line.
  A recursive alias (``&a [*a]``) is refused: no file of ours has one, and a
  validator walking it would never end.
- **Depth** (``MAX_DEPTH``, counted through aliases): the constructor and our
  validators recurse, and a thousand nested mappings exhaust Python's stack.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agreeflow.engine.core.i18n import N_, Msg, show
from agreeflow.engine.core.paths import cache_dir

if TYPE_CHECKING:
    import yaml

MAX_BYTES = 512 * 1024
"""Largest YAML document read, in bytes (512 KiB); see the module docstring for why."""

MAX_ALIAS_EXPANSION = 100_000
"""How much aliases may add to a document (nodes plus scalar characters); shipped workflows use at most 669."""

MAX_DEPTH = 100
"""Deepest nesting of collections, aliases expanded; shipped files nest fewer than 10 levels."""


class LineDict(dict[Any, Any]):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


@cache
def _loader() -> Any:
    """The loader class, built on first use: PyYAML is imported only when a file must really be parsed
    (a file read with ``cached=True`` whose parse is in the cache folder needs no PyYAML, 10 ms a command)."""
    import re

    import yaml

    # libyaml's C parser when PyYAML has it (its wheels do): ~20x faster on workflow files.
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(base):  # type: ignore[valid-type,misc]
        pass

    # Drop YAML 1.1's bool resolver and add a strict one.
    _Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
    }
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
    return _Loader


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            import yaml
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a single value, not a list or a mapping", key_node.start_mark) from None
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    import yaml

    # "2024-02-30" matches the timestamp pattern; the stock constructor then raises a bare ValueError.
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"'{node.value}' is not a real date ({exc})", node.start_mark) from None  # libyaml's words


class YamlSyntaxError(Exception):
    """A file that is not valid YAML, at ``path:line``; ``problem`` is the parser's words or a message."""

    label = N_("YAML syntax: {problem}")

    def __init__(self, path: str, line: int, problem: str | Msg) -> None:
        super().__init__(f"{path}:{line}: {show(problem, 'en')}")
        self.path, self.line, self.problem = path, line, problem

    @property
    def detail(self) -> Msg:
        """The problem with its kind, for a reader's "path:line: …" listing."""
        return Msg(self.label, problem=self.problem)

    @property
    def located(self) -> Msg:
        """``path:line: detail``."""
        return Msg("{path}:{line}: {detail}", path=self.path, line=self.line, detail=self.detail)


class YamlLimitError(YamlSyntaxError):
    """A file refused before it is built: too big, not UTF-8, a NUL byte, aliases expanding too far, too deep."""

    label = "{problem}"


def load_text(text: str, path: str = "<text>") -> Any:
    """Parse YAML text within the limits.

    Raises:
        YamlSyntaxError: not YAML, with the line.
        YamlLimitError: over a limit (size, NUL, aliases, depth), with the line.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise _too_big(path, size)
    nul = text.find("\0")
    if nul >= 0:
        raise _bad_byte(path, text.encode("utf-8", "surrogatepass"), len(text[:nul].encode("utf-8", "surrogatepass")))
    import yaml

    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_shape(node, path)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlSyntaxError(path, mark.line + 1 if mark else 0, str(exc.problem or exc)) from None
    except yaml.reader.ReaderError as exc:  # a control character libyaml refuses
        # Its position is a byte offset in libyaml, a character index in pure Python: find the character instead.
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        at = text.find(char)
        raise YamlLimitError(path, text.count("\n", 0, max(at, 0)) + 1,
                             Msg(N_("control character U+{code} is not allowed in YAML"),
                                 code=f"{ord(char):04X}")) from None
    except RecursionError:  # the pure-Python loader, where libyaml's depth check is missing
        raise YamlLimitError(path, 1, _depth_problem()) from None
    finally:
        loader.dispose()


def load_file(path: Path, *, cached: bool = False) -> Any:
    """``load_text`` of a file's bytes: too big, not UTF-8 or NUL raise YamlLimitError; OSError passes.

    ``cached=True`` (the files every command reads: workflows, the calendar data) keeps what was read in the
    cache folder, keyed by the file's bytes: see :func:`_from_cache`.
    """
    with open(path, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if cached and len(data) <= MAX_BYTES:
        kept, digest = _cache_file(path), hashlib.sha256(CACHE_FORMAT + _loader_id() + data).digest()
        found = _from_cache(kept, digest)
        if found is not _MISSING:
            return found
    if len(data) > MAX_BYTES:
        raise _too_big(str(path), max(len(data), path.stat().st_size if path.is_file() else 0))
    if b"\0" in data:
        raise _bad_byte(str(path), data, data.index(b"\0"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_byte(str(path), data, exc.start) from None
    result = load_text(text, str(path))
    if cached:
        _keep(kept, digest, result)
    return result


def load_checked(path: Path, error: Callable[[list[Any]], Exception], *, cached: bool = False) -> Any:
    """``load_file``, with a syntax error, a limit or an unreadable file raised as ``error([problem])``.

    For files whose problems are listed together (workflows, directory, report map).
    """
    try:
        return load_file(path, cached=cached)
    except YamlSyntaxError as exc:
        raise error([exc.located]) from None
    except OSError as exc:
        raise error([Msg(N_("{path}: cannot read: {problem}"), path=str(path), problem=exc.strerror)]) from None


# ------------------------------------------------------------------ the cache of parsed files
CACHE_FORMAT = b"agreeflow-yaml-1"
"""Part of every cache key: change it when the loader gives something else for the same bytes."""

_MISSING = object()


@cache
def _loader_id() -> bytes:
    """A hash of this module's own source, part of every cache key: a later agreeflow whose loader gives
    something else for the same bytes (resolvers, limits, line numbers) never reads an earlier one's parse,
    even when nobody changed ``CACHE_FORMAT`` (they may share the user's cache folder)."""
    try:
        return hashlib.sha256(Path(__file__).read_bytes()).digest()
    except OSError:
        return b"?"


class _Uncacheable(Exception):
    """A value the cache's encoding does not carry (a timestamp, a set, binary data…): the file is not kept."""


def _cache_file(path: Path) -> Path:
    """The cache file of ``path``: one per file read, named by its absolute path (rewritten when the file changes)."""
    where = hashlib.sha256(os.path.abspath(path).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return cache_dir() / "yaml" / f"{where}.marshal"


def _from_cache(kept: Path, digest: bytes) -> Any:
    """What the file whose bytes hash to ``digest`` parsed to, when ``kept`` holds it; else ``_MISSING``.

    The key is a hash of the file's bytes (and ``CACHE_FORMAT``), not its modification time or size: an
    edit that keeps both (a copy with ``cp -p``, a clock set back, a replaced character) is still seen.
    A cache file that is absent, of another file state or of another loader, damaged, or holding a value
    the loader never makes, is a miss.
    """
    try:
        with open(kept, "rb") as fh:
            found = marshal.loads(fh.read())
        if not isinstance(found, tuple) or len(found) != 2 or found[0] != digest:
            return _MISSING
        return _decode(found[1])
    except (OSError, ValueError, EOFError, TypeError, IndexError, KeyError, RecursionError, OverflowError,
            AttributeError):
        return _MISSING


def _keep(kept: Path, digest: bytes, value: Any) -> None:
    """Write what a file parsed to; a value the encoding cannot carry, or a cache folder that cannot be
    written, leaves nothing (the next command parses again)."""
    from agreeflow.engine.core.atomic import write_bytes

    try:
        write_bytes(kept, marshal.dumps((digest, _encode(value))), sync=False)
    except (_Uncacheable, OSError, ValueError, RecursionError):
        pass


# The encoding uses what marshal carries (str, int, float, bool, None, list, dict) and tuples as tags, which
# the loader never makes: (0, line, key_lines, keys, values) a LineDict, (1, ordinal) a date.
def _encode(value: Any) -> Any:
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind is LineDict:
        return (0, value.line, dict(value.key_lines), [_encode(k) for k in value], [_encode(v) for v in value.values()])
    if kind is list:
        return [_encode(v) for v in value]
    if kind is date:
        return (1, value.toordinal())
    raise _Uncacheable(kind.__name__)


def _decode(value: Any) -> Any:
    """What :func:`_encode` wrote, every value checked to be one the loader makes: a cache file is not
    trusted to hold only what agreeflow wrote (TypeError: a miss, the file is parsed again)."""
    kind = type(value)
    if kind is list:
        return [_decode(v) if type(v) in _NESTED else _scalar(v) for v in value]
    if kind is tuple:
        if value[0] == 1:
            return date.fromordinal(value[1])
        tag, line, key_lines, keys, values = value
        if tag != 0 or type(line) is not int or type(key_lines) is not dict or any(
                type(k) is not str or type(n) is not int for k, n in key_lines.items()):
            raise TypeError("not a LineDict")
        out = LineDict(zip([_decode(k) if type(k) in _NESTED else _scalar(k) for k in keys],
                           [_decode(v) if type(v) in _NESTED else _scalar(v) for v in values], strict=True))
        out.line, out.key_lines = line, key_lines
        return out
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if type(value) in _SCALARS or value is None:
        return value
    raise TypeError(type(value).__name__)


_NESTED = frozenset({list, tuple})
"""What :func:`_decode` must rebuild; anything else must be a scalar the loader makes (:func:`_scalar`)."""
_SCALARS = frozenset({str, int, float, bool})


# ------------------------------------------------------------------ limits
def _n(number: int) -> str:
    return f"{number:,}".replace(",", " ")  # 1 048 576: neither the Vietnamese "." nor the English ","


def _depth_problem() -> Msg:
    return Msg(N_("nested deeper than {n} levels (aliases counted as written out)"), n=MAX_DEPTH)


def _too_big(path: str, size: int) -> YamlLimitError:
    return YamlLimitError(path, 1, Msg(N_("the file is {size} bytes, over the {limit}-byte limit for YAML files"),
                                       size=_n(size), limit=_n(MAX_BYTES)))


def _bad_byte(path: str, data: bytes, offset: int) -> YamlLimitError:
    line = data.count(b"\n", 0, offset) + 1
    byte = data[offset]
    if byte == 0:
        problem = Msg(N_("a NUL byte at byte offset {offset} — YAML files must be text"), offset=offset)
    else:
        problem = Msg(N_("byte 0x{byte} at byte offset {offset} is not UTF-8 — save the file as UTF-8"),
                      byte=f"{byte:02x}", offset=offset)
    return YamlLimitError(path, line, problem)


def _check_shape(root: yaml.Node, path: str) -> None:
    """Refuse a recursive alias, nesting beyond MAX_DEPTH, or aliases expanding beyond MAX_ALIAS_EXPANSION.

    An iterative depth-first walk of the composed node graph (an alias is the
    same node object met again), each collection finished once and its
    expanded size and depth memoised.  A collection is finished when it is met
    on top of the stack a second time: by then every child pushed above it is
    finished.  ``entered`` holds the collections on the current path, so
    meeting one of them as a child is a cycle.  Scalars are sized inline (most
    nodes are scalars); ``seen`` counts an aliased scalar's text once as written.
    """
    import yaml

    if not isinstance(root, (yaml.MappingNode, yaml.SequenceNode)):
        return
    scalar = yaml.ScalarNode
    size: dict[int, int] = {}    # id(collection) → expanded size (nodes + scalar characters)
    depth: dict[int, int] = {}
    entered: set[int] = set()
    seen: set[int] = set()
    written = 0                  # size of the distinct nodes finished so far
    stack: list[Any] = [root]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in size:
            stack.pop()
            continue
        kids = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
        if key not in entered:
            entered.add(key)
            for kid in kids:
                if kid.__class__ is not scalar:
                    if id(kid) in entered:
                        raise YamlLimitError(path, kid.start_mark.line + 1,
                                             Msg(N_("a recursive alias (an &anchor that contains its own *alias)")))
                    stack.append(kid)
            continue
        stack.pop()
        entered.discard(key)
        total, deepest = 1, 0
        written += 1
        for kid in kids:
            if kid.__class__ is scalar:
                weight = 1 + len(kid.value)
                total += weight
                if id(kid) not in seen:
                    seen.add(id(kid))
                    written += weight
            else:
                total += size[id(kid)]
                deepest = max(deepest, depth[id(kid)])
        size[key], depth[key] = total, deepest + 1
        if deepest + 1 > MAX_DEPTH:
            raise YamlLimitError(path, node.start_mark.line + 1, _depth_problem())
        # ``written`` covers every node under this one and maybe more, so this undercounts the expansion;
        # expansion never shrinks going up the tree, so the first node over the bound already dooms the document.
        if total - written > MAX_ALIAS_EXPANSION:
            raise YamlLimitError(
                path, node.start_mark.line + 1,
                Msg(N_("aliases (*name) expand the document by more than {n} nodes and characters — write the values "
                       "out or use fewer aliases"), n=_n(MAX_ALIAS_EXPANSION)))
