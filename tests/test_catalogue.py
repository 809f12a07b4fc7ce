"""One catalogue for every word users read: gettext .po files an operator can correct."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from agreeflow.engine.core import i18n


def test_every_keyed_phrase_has_a_vietnamese_translation() -> None:
    vi = i18n.translations("vi")
    assert [k for k, msgid in i18n.KEYS.items() if not vi.get(msgid)] == []


def test_placeholders_survive_translation() -> None:
    import string
    names = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
    vi = i18n.translations("vi")
    assert [m for m, tr in vi.items() if names(m) != names(tr)] == []


def test_an_operator_edit_of_the_catalogue_takes_effect_without_a_build(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "vi" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    text = (i18n.LOCALE_DIR / "vi" / "LC_MESSAGES" / "agreeflow.po").read_text(encoding="utf-8")
    (folder / "agreeflow.po").write_text(text.replace('msgstr "Hồ sơ"', 'msgstr "Hồ sơ vụ việc"'), encoding="utf-8")
    monkeypatch.setenv("AGREEFLOW_LOCALE_DIR", str(tmp_path))
    assert i18n.t("case", "vi") == "Hồ sơ vụ việc"
    monkeypatch.delenv("AGREEFLOW_LOCALE_DIR")
    assert i18n.t("case", "vi") == "Hồ sơ"


def test_the_shipped_catalogues_parse() -> None:
    for lang in i18n.LANGS:
        with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "agreeflow.po").open("rb") as fh:
            assert read_po(fh).locale.language == lang
