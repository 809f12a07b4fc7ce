"""Read a deadline phrase from an official document (Vietnamese or English) into a ``Due``.

``parse_phrase("hoàn thành trong tháng 7/2024", ref, cal)`` → due 31/07/2024.
The phrase is folded (lower case, no diacritics) so "Quý III", "quy iii" and
"QUÝ III" read alike, then the rules of ``phrase_rules.RULES`` are tried in
order; the first that matches anywhere in the phrase decides.  Nothing matching
raises ``PhraseError`` listing every accepted form with an example, so the user
learns what to write instead.  ``ref`` is the day the phrase is read against:
counts ("trong vòng 10 ngày làm việc") start there, recurring phrases give the
occurrence that contains it, and periods without a year take the nearest one.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from agreeflow.engine.core.errors import PhraseError
from agreeflow.engine.core.i18n import Msg, join
from agreeflow.engine.legaltime.calendar.days import Calendar
from agreeflow.engine.legaltime.calendar.due import Due
from agreeflow.engine.legaltime.calendar.periods import PeriodValueError
from agreeflow.engine.legaltime.calendar.phrase_rules import RULES, Context

_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "\u00a0": " ", "\u2009": " "})


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", ch)[0].lower()
    return base if len(base) == 1 else ch


def fold(text: str) -> str:
    """Lower case without diacritics, one character per character of ``text`` (NFC)."""
    return "".join(_fold_char(ch) for ch in text.translate(_DASHES))


def forms() -> list[Msg]:
    """One message per accepted form, ``label: example; example``, merged by label, in rule order."""
    merged: dict[str, list[str]] = {}
    for rule in RULES:
        if not rule.label:  # a row that only refuses (a quarter V, a month 13)
            continue
        merged.setdefault(rule.label, []).extend(rule.examples.split("; "))
    return [Msg("{label}: {examples}", label=Msg(label), examples="; ".join(examples))
            for label, examples in merged.items()]


def accepted_forms(lang: str = "vi") -> list[str]:
    """:func:`forms` in ``lang``."""
    return [f.render(lang) for f in forms()]


def _phrase_error(phrase: str, problem: Msg | str = "") -> PhraseError:
    accepted = forms()
    # ``forms`` is shown as a bulleted block; ``accepted`` keeps the list for --json.
    return PhraseError(phrase=phrase, problem=problem, accepted=accepted,
                       forms=join([Msg("  - {form}", form=f) for f in accepted], "\n"))


def parse_phrase(text: str, ref: date, cal: Calendar) -> Due:
    """The Due described by ``text``, read on day ``ref``.

    Raises:
        PhraseError: no rule reads the phrase, or it names what does not exist
            (31/02/2024, Quý V, tháng 13, năm 0, a year off the calendar, a
            negative count); the error says which, then lists the accepted forms.
    """
    phrase = unicodedata.normalize("NFC", " ".join(text.split()))
    folded = fold(phrase)
    context = Context(phrase, ref, cal)
    for rule in RULES:
        match = rule.pattern.search(folded)
        if match is None:
            continue
        try:
            return rule.read(match, context)
        except PeriodValueError as exc:
            raise _phrase_error(phrase, exc.problem) from exc
        except ValueError as exc:  # e.g. a range that ends before it starts
            raise _phrase_error(phrase, str(exc)) from exc
    raise _phrase_error(phrase)
