"""The words of the pages that are not in the workflows' data — the tables of roles, statuses, event kinds,
choice values and document kinds live in agreeflow.engine.service.words, shared with the command line — and
what an error means for the person who met it.

Every string here is an English ``msgid`` of the one catalogue
(engine/locale/<lang>/LC_MESSAGES/agreeflow.po), translated at render time
by :func:`agreeflow.engine.service.text`.  Errors are shown in the words of
this module, not as the command line prints them: a page never tells an
official to run a command.
"""

from __future__ import annotations

import re
from typing import Any

from agreeflow.engine import AgreeflowError, service
from agreeflow.engine.service import words as vocabulary

# The tables have one home, shared with the command line: agreeflow.engine.service.words.
ROLES, DEADLINE_STATUS, ROUND_STATUS, EVENTS = (vocabulary.ROLES, vocabulary.DEADLINE_STATUS,
                                                vocabulary.ROUND_STATUS, vocabulary.EVENTS)
CHOICES, DOCUMENTS, ANSWERS, DAYS = vocabulary.CHOICES, vocabulary.DOCUMENTS, vocabulary.ANSWERS, vocabulary.DAYS
MONTHS = vocabulary.MONTHS
POSITIONS, OUTBOX_STATUS = vocabulary.POSITIONS, vocabulary.OUTBOX_STATUS
word, weekday = vocabulary.word, vocabulary.weekday


def t(message: str, lang: str, **values: Any) -> str:
    """``message`` (an English msgid) in ``lang``, ``{placeholders}`` filled."""
    return service.text(message, lang, **values)


def working_days(n: int | None, lang: str) -> str:
    """A signed working-day count as words: "3 working days left", "due today", "2 working days overdue"."""
    if n is None:
        return ""
    if n > 0:
        return t("{n} working days left", lang, n=n)
    if n == 0:
        return t("due today", lang)
    return t("{n} working days overdue", lang, n=-n)


# ------------------------------------------------------------------ errors as a page says them
_COMMAND = re.compile(r"[^.:]*(agreeflow |--[a-z])[^.]*\.?")


def error_text(err: AgreeflowError, lang: str) -> str:
    """What went wrong, in words for the person who met it (no command lines, no class names)."""
    name = type(err).__name__
    f = err.fields
    if name == "ReadOnlyError":
        return t("Auditors read everything and change nothing: nothing was recorded.", lang)
    if name == "RoleRefusedError":
        needed = ", ".join(word(ROLES, r, lang) for r in f.get("needed") or [])
        return t("You may not take this step on this case (it needs the role: {needed}). Nothing was recorded.",
                 lang, needed=needed)
    if name == "StateRefusedError":
        return t("This step is not possible at the case's present step ({state}). Nothing was recorded.", lang,
                 state=f.get("state", ""))
    if name == "GuardRefusedError":
        return t("Not possible yet: {reason}", lang, reason=err.part("reason", lang))
    if name == "TimeOrderRefusedError":
        return err.part("problem", lang)
    if name == "SignInRefusedError":
        return t("Sign-in failed: wrong e-mail or password, no password set, or the account is locked for a "
                 "while after repeated failures.", lang)
    if name == "MissingFieldsError":
        return t("Fill in the fields marked below.", lang)
    if name == "UnknownUnitError":
        return t("There is no active unit '{name}' in the directory.", lang, name=f.get("name", ""))
    if name == "NotSignedInError":
        return t("Please sign in.", lang)
    if name == "UnknownCaseError":
        return t("There is no such case, or it is not one you may see.", lang)
    if name == "FieldValueError":
        return field_problem(err, lang)
    return _COMMAND.sub("", err.render(lang)).strip() or t("This could not be done.", lang)


def field_problem(err: AgreeflowError, lang: str) -> str:
    """The problem with one field's value and how to write it."""
    return f"{err.part('problem', lang)}. {err.part('remedy', lang)}".strip(" .") + "."


_DOC = re.compile(r"--attach (\w+)=")


def field_errors(err: AgreeflowError, form: dict[str, str], lang: str) -> dict[str, str]:
    """Errors to show at the fields of a form: ``{field name: message}``; a document is ``doc:<kind>``.

    The engine names the field in FieldValueError, lists what is missing in MissingFieldsError and names
    the unknown code in UnknownUnitError (placed at the field that holds it).
    """
    name = type(err).__name__
    if name == "FieldValueError":
        return {str(err.fields.get("field", "")): field_problem(err, lang)}
    if name == "MissingFieldsError":
        out = {}
        for item in err.fields.get("missing") or []:
            doc = _DOC.match(str(item))
            key = f"doc:{doc.group(1)}" if doc else ("title" if item == "--title" else str(item))
            out[key] = t("Required.", lang)
        return out
    if name == "UnknownUnitError":
        code = str(err.fields.get("name", ""))
        return {k: error_text(err, lang) for k, v in form.items() if code and code in v.split(",")}
    return {}
