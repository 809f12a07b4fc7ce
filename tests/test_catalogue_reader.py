"""The catalogue reader every command uses gives what Babel's read_po gives (engine/core/i18n.py)."""

from __future__ import annotations

import io

from babel.messages.pofile import read_po

from agreeflow.engine.core import i18n

TRICKY = r'''# A translator's comment
#, fuzzy
msgid ""
msgstr ""
"Language: vi\n"
"Content-Type: text/plain; charset=utf-8\n"

#. key: case
#: cli.py:12
msgid "Case"
msgstr "Hồ sơ"

msgid "Untranslated"
msgstr ""

#, fuzzy, python-format
msgid "Rough {n}"
msgstr "Tạm {n}"

msgid ""
"A long message "
"on two lines"
msgstr ""
"Một thông điệp dài "
"trên hai dòng"

msgid "Quote \"this\" and a tab\there\nand a new line, a back\\slash"
msgstr "Trích \"cái này\" và tab\tở đây\nvà dòng mới, gạch \\ngược"

msgctxt "menu"
msgid "Open"
msgstr "Mở (trình đơn)"

msgid "Open"
msgstr "Mở"

msgid "One file"
msgid_plural "{n} files"
msgstr[0] "{n} tệp"

#~ msgid "Gone"
#~ msgstr "Đã bỏ"

msgid "Last"
msgstr "Cuối"
'''


def babel(text: str) -> dict[str, str]:
    cat = read_po(io.BytesIO(text.encode("utf-8")), domain=i18n.DOMAIN)
    return {str(m.id): str(m.string) for m in cat if m.id and isinstance(m.id, str) and m.string}


def test_the_reader_gives_what_babel_gives_for_every_shipped_catalogue() -> None:
    for lang in i18n.LANGS:
        text = (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "agreeflow.po").read_text(encoding="utf-8")
        assert i18n.read_catalogue(text) == babel(text)
    assert len(i18n.translations("vi")) > 100  # the Vietnamese one translates, the English one overrides a few


def test_the_reader_gives_what_babel_gives_for_what_an_operator_may_write() -> None:
    ours = i18n.read_catalogue(TRICKY)
    assert ours == babel(TRICKY)
    assert ours["A long message on two lines"] == "Một thông điệp dài trên hai dòng"
    assert ours['Quote "this" and a tab\there\nand a new line, a back\\slash'] == \
        'Trích "cái này" và tab\tở đây\nvà dòng mới, gạch \\ngược'
    assert "Untranslated" not in ours and "Gone" not in ours and "One file" not in ours
    assert ours["Rough {n}"] == "Tạm {n}" and ours["Last"] == "Cuối"
