"""Words reach users through ONE mechanism: the gettext catalogue (engine/core/i18n.py, engine/locale).

A second mechanism creeps in as a pair of strings — ``problem_vi=``/``problem_en=``, ``Reason("…", "…")``,
``"…" if lang == "en" else "…"``, a ``{"vi": "…", "en": "…"}`` literal, a "vi / en" slash string — and
these tests fail on each, reading the code's syntax tree.  Data that operators edit (workflow labels, unit
names, calendar reasons) keeps its own vi/en fields: picking from it goes through ``i18n.localized``.
The catalogue itself must hold every message the code names, translated, with the same placeholders.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from agreeflow.engine.core import i18n

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("engine", "workflows", "notifications", "web", "cli.py")
"""Every Python file here speaks through the catalogue (the command line too, since i18ncli was merged)."""
EXEMPT = {"engine/core/i18n.py"}
"""The mechanism itself."""
DATA_FIELDS = {"label_vi", "label_en", "name_vi", "name_en", "reason_vi", "reason_en", "unit_vi", "unit_en"}
"""Columns and constructor fields of data that operators edit (directory, calendar, deadline rows)."""
LANG_WORDS = set(i18n.LANGS)
_VI = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùýĐ]")
_SLASH = re.compile(r"(\w[^/]*) / ([A-Za-z][A-Za-z ,'()-]*)")


def _files(roots: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for root in roots:
        path = ROOT / root
        found = [path] if path.is_file() else sorted(path.rglob("*.py"))
        out += [p for p in found if "migrations" not in p.parts and str(p.relative_to(ROOT)) not in EXEMPT]
    return out


def _is_lang(node: ast.AST) -> bool:
    """``lang``, ``self.lang``, ``who.lang``, ``settings.lang`` …"""
    if isinstance(node, ast.Call):  # lang(), lang_of(ctx)
        node = node.func
    return (isinstance(node, ast.Name) and node.id in ("lang", "language", "lang_of")) or \
        (isinstance(node, ast.Attribute) and node.attr in ("lang", "language"))


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def second_mechanisms(path: Path) -> list[str]:
    """Every place in ``path`` that picks words by language without the catalogue."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    found = []
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg and re.search(r"_(vi|en)$", kw.arg) and kw.arg not in DATA_FIELDS:
                    found.append(f"{line}: keyword {kw.arg}= (a text per language; pass one i18n.Msg)")
            name = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else ""
            texts = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if name in ("Reason", "Msg", "Break", "Finding", "step", "PeriodValueError") and len(texts) >= 2:
                found.append(f"{line}: {name}() with two texts (one English msgid and its values)")
            if name in ("localized", "pair") and texts:
                found.append(f"{line}: {name}() of a literal (data only; code text goes in the catalogue)")
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_lang(s) for s in sides) and any(isinstance(s, ast.Constant) and s.value in LANG_WORDS
                                                        for s in sides):
                found.append(f"{line}: compares the language (let the catalogue or i18n.localized choose)")
        elif isinstance(node, ast.IfExp) and isinstance(node.test, ast.Name) and node.test.id in LANG_WORDS:
            found.append(f"{line}: '… if {node.test.id} else …' (let the catalogue choose)")
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if set(keys) == LANG_WORDS and all(isinstance(v, ast.Constant) and isinstance(v.value, str)
                                               for v in node.values):
                found.append(f"{line}: a {{vi, en}} literal (put the English in the catalogue)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            m = _SLASH.search(node.value)
            if m and _VI.search(m.group(1)) and not _VI.search(m.group(2)):
                found.append(f"{line}: a 'vi / en' text: {node.value[:60]!r}")
    return found


def test_no_second_translation_mechanism_anywhere() -> None:
    assert [f for p in _files(CHECKED) for f in second_mechanisms(p)] == []


def test_the_check_finds_each_kind_of_second_mechanism(tmp_path: Path) -> None:
    bad = tmp_path / "probe.py"
    bad.write_text(
        'def f(lang, Reason, E):\n'
        '    E(problem_vi="a", problem_en="b")\n'
        '    Reason("hồ sơ", "the case")\n'
        '    x = "Có" if lang == "vi" else "Yes"\n'
        '    y = {"vi": "Có", "en": "Yes"}\n'
        '    return "(chưa đặt / not set)"\n', encoding="utf-8")
    found = sorted(f.split(": ", 1)[1][:12] for f in second_mechanisms(bad))
    assert found == ["Reason() wit", "a 'vi / en' ", "a {vi, en} l", "compares the", "keyword prob",
                     "keyword prob"], found


# ------------------------------------------------------------------ the catalogue holds what the code names
MARKERS = {"t", "N_", "Msg", "Reason", "gettext", "text", "_translate"}
PLURALS = {"plural", "nt", "ngettext", "tn", "text_n"}
"""Functions whose first two arguments, literals, are a msgid and its plural (``Msg.plural``, ``i18n.nt``, the
command line's ``tn`` and the service's ``text_n``, which call it)."""


def _named_messages() -> dict[str, str]:
    """msgid → where the code names it, for every literal given to the catalogue's functions."""
    out: dict[str, str] = {}
    for path in _files(CHECKED):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else ""
            first = node.args[0]
            if name == "text" and not (isinstance(node.func, ast.Attribute) and node.func.value is not None
                                       and getattr(node.func.value, "id", "") == "service"):
                continue  # sqlalchemy's text(), not the catalogue's
            if name in MARKERS | PLURALS and isinstance(first, ast.Constant) \
                    and isinstance(first.value, str):
                msgid = i18n.KEYS.get(first.value, first.value)
                if _has_words(msgid):
                    out.setdefault(msgid, f"{path.relative_to(ROOT)}:{node.lineno}")
    return out


def _has_words(msgid: str) -> bool:
    """A template with words needs a translation; ``"{a}: {b}"`` (layout only) needs none."""
    return any(ch.isalpha() for ch in re.sub(r"\{[^}]*\}", "", msgid))


def _catalogue(lang: str) -> dict[str, object]:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "agreeflow.po").open("rb") as fh:
        cat = read_po(fh)
    return {(m.id if isinstance(m.id, str) else m.id[0]): m for m in cat if m.id}


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_message_the_code_names_is_in_the_catalogue(lang: str) -> None:
    known = _catalogue(lang)
    plural_forms = {m.id[1] for m in known.values() if not isinstance(m.id, str)}  # type: ignore[attr-defined]
    assert {m: where for m, where in _named_messages().items() if m not in known and m not in plural_forms} == {}


def test_both_catalogues_hold_the_same_messages() -> None:
    assert set(_catalogue("vi")) ^ set(_catalogue("en")) == set()


def test_every_vietnamese_entry_is_translated() -> None:
    untranslated = [mid for mid, m in _catalogue("vi").items()
                    if not (m.string if isinstance(m.string, str) else all(m.string))]  # type: ignore[attr-defined]
    assert untranslated == []


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_placeholders_match_between_msgid_and_translation(lang: str) -> None:
    wrong = []
    for mid, m in _catalogue(lang).items():
        ids = [m.id] if isinstance(m.id, str) else list(m.id)  # type: ignore[attr-defined]
        strings = [m.string] if isinstance(m.string, str) else list(m.string)  # type: ignore[attr-defined]
        expected = set().union(*(i18n.placeholders(i) for i in ids))
        wrong += [(mid, s) for s in strings if s and i18n.placeholders(s) - expected]
        if isinstance(m.id, str) and m.string and i18n.placeholders(m.string) != i18n.placeholders(m.id):  # type: ignore[attr-defined]
            wrong.append((mid, m.string))  # type: ignore[attr-defined]
    assert wrong == []


def test_a_message_with_a_count_has_its_plural_in_english_and_one_form_in_vietnamese() -> None:
    from agreeflow.engine.core.vocabulary import duration
    assert (duration(1, "wd").render("en"), duration(2, "wd").render("en")) == ("1 working day", "2 working days")
    assert (duration(1, "wd").render("vi"), duration(2, "wd").render("vi")) == ("1 ngày làm việc", "2 ngày làm việc")
