"""The words of the pages that are not in the workflows' data: roles, statuses, event kinds, choice values,
document kinds, and what an error means for the person who met it.

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


def N_(message: str) -> str:  # noqa: N802 — gettext's "mark for extraction" convention
    return message


def t(message: str, lang: str, **values: Any) -> str:
    """``message`` (an English msgid) in ``lang``, ``{placeholders}`` filled."""
    return service.text(message, lang, **values)


ROLES = {"coordinator": N_("Coordinator"), "officer": N_("Officer"), "approver": N_("Approver"),
         "auditor": N_("Auditor"), "admin": N_("Administrator"), "system": N_("agreeflow (automatic)"),
         "reply-link": N_("Reply link")}
DEADLINE_STATUS = {"open": N_("Running"), "pending": N_("Awaiting an event"), "met": N_("Met"),
                   "missed": N_("Missed"), "cancelled": N_("Cancelled")}
ROUND_STATUS = {"waiting": N_("Within the time"), "overdue": N_("No reply — overdue (silence is not consent)")}
EVENTS = {
    "opened": N_("Case opened"), "transition": N_("Step taken"), "field_changed": N_("Field changed"),
    "attached": N_("Document attached"), "refused": N_("Refused"), "suspended": N_("Legal clock stopped"),
    "resumed": N_("Legal clock restarted"), "deadline_set": N_("Deadline set"), "deadline_met": N_("Deadline met"),
    "deadline_missed": N_("Deadline missed"), "deadline_cancelled": N_("Deadline cancelled"),
    "deadline_moved": N_("Deadline moved"), "reminder_queued": N_("Reminder queued"),
    "escalated": N_("Escalated to the supervising body"), "reminder_sent": N_("Mail delivered"),
    "calendar_changed": N_("Calendar changed"), "directory_loaded": N_("Directory loaded"),
    "child_opened": N_("Consultation of a body opened"), "reply_recorded": N_("Reply recorded"),
    "deemed_agreed": N_("Deemed agreed"), "flagged": N_("Flagged"), "occurrence_opened": N_("Next occurrence opened"),
    "follow_up_opened": N_("Follow-up round opened"), "round_checked": N_("Round checked at the deadline"),
    "effect_failed": N_("A linked step could not run"),
}
CHOICES = {
    "agreement": N_("Agreement"), "mou": N_("Memorandum of understanding"), "letter_of_intent": N_("Letter of intent"),
    "minutes": N_("Minutes"), "programme": N_("Programme"), "plan": N_("Plan"), "other": N_("Other"),
    "in_person": N_("In person"), "online": N_("Online"), "amend": N_("Amend"), "supplement": N_("Supplement"),
    "extend": N_("Extend"), "terminate": N_("Terminate"), "withdraw": N_("Withdraw"), "suspend": N_("Suspend"),
    "overdue": N_("Overdue (no reply is not consent)"), "deemed_agreed": N_("Deemed agreed"),
}
DOCUMENTS = {
    "proposal": N_("Proposal (submission letter)"), "draft_agreement": N_("Draft agreement"),
    "reply": N_("Written reply"), "report": N_("Report"), "result": N_("Result"),
    "signed_amendment": N_("Signed amendment"), "signed_copy": N_("Signed text"), "document": N_("Document"),
}
ANSWERS = {"agree": N_("We agree"), "comment": N_("We agree with comments"), "disagree": N_("We disagree")}
DAYS = {"workday": N_("Working day"), "weekend": N_("Weekly rest"), "holiday": N_("Public holiday"),
        "observed": N_("Compensatory day off"), "swap": N_("Swapped day off"), "makeup": N_("Make-up working day"),
        "override": N_("Operator's change")}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
          N_("August"), N_("September"), N_("October"), N_("November"), N_("December"))


def word(table: dict[str, str], key: str | None, lang: str) -> str:
    """The word for ``key`` in one of the tables above; a key it does not know is shown as it is."""
    if not key:
        return ""
    return t(table[key], lang) if key in table else key


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
