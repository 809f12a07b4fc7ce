"""Errors that reach users, each with an exit code and one message of the catalogue.

    AgreeflowError                    (base; never raised itself)
    ├── UserInputError        exit 2  bad input; nothing was written
    │   ├── NotInitialisedError       database has no schema yet
    │   ├── UnknownCaseError
    │   ├── UnknownWorkflowError
    │   ├── UnknownTriggerError
    │   ├── UnknownUnitError
    │   ├── InactiveUnitError         a unit that exists but is retired (or not yet active) on the day
    │   ├── UnknownPersonError
    │   ├── FieldValueError           malformed ``--field k=v`` or wrong type
    │   ├── MissingFieldsError        required fields/documents not supplied
    │   ├── DefinitionError           a workflow file has problems (all listed)
    │   ├── DirectoryFileError        a directory file has problems (all listed)
    │   ├── PhraseError               an unparseable deadline phrase
    │   ├── DateValueError            a date (or year) that is malformed or off the calendar
    │   ├── InputFileError            a file that cannot be read / imported
    │   ├── PlanFileError             a plan (task table) with bad rows (all listed)
    │   ├── ReportMapError            report-map.yaml has problems (all listed)
    │   ├── SimulationOnlyError       --now on a database that is not a simulation
    │   ├── NotSignedInError          a write on a real database with nobody signed in
    │   ├── DatabaseUrlError          a database URL that is malformed or cannot be reached
    │   ├── OutputPathError           an output path that is a folder or cannot be written
    │   ├── AttachmentTooLargeError   a file given to --attach over the configured limit
    │   ├── OffCalendarError          a computation that needs days outside the calendar's years
    │   └── OptionValueError          a malformed option value (--from, --year, ...)
    ├── RefusedError          exit 3  a rule refused it; the refusal is logged
    │   ├── RoleRefusedError          the person holds none of the step's roles
    │   ├── ScopeRefusedError         an officer outside the case's unit
    │   ├── PositionRefusedError      the step needs a position (the Chairman…) the person does not hold
    │   ├── StateRefusedError
    │   ├── GuardRefusedError
    │   ├── StaleCaseError            the case changed since it was read
    │   ├── ReadOnlyError             auditors change nothing
    │   ├── SignInRefusedError        wrong password, no password, or locked for now
    │   ├── OnBehalfRefusedError      --as another person without the admin role
    │   └── TimeOrderRefusedError     an effective time before the case's last event or after now
    └── TamperingError        exit 4  audit verify found a broken chain

Subclasses keep their details as attributes (case, state, trigger, allowed...)
so the CLI can print them as JSON as well as text.  The text is one English
``msgid`` of the gettext catalogue (``msgid`` on the class, or given when
raised); its values are plain values or ``i18n.Msg`` messages (a problem, a
remedy, a guard's reason) that are put in the reader's language only when the
error is shown: ``err.render(lang)`` at the edge (command line, web page).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from agreeflow.engine.core.i18n import N_, Msg, join, pair, show


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """Return the closest option to ``word`` or ''."""
    from difflib import get_close_matches  # only when a word was not found (difflib costs every start)

    found = get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else ""


_UNKNOWN: dict[str, str] = {
    "action": N_("unknown action '{name}'{hint}"),
    "field": N_("unknown field '{name}'{hint}"),
    "guard": N_("unknown guard '{name}'{hint}"),
    "outcome": N_("unknown outcome '{name}'{hint}"),
    "position": N_("unknown position '{name}'{hint}"),
    "role": N_("unknown role '{name}'{hint}"),
    "state": N_("unknown state '{name}'{hint}"),
    "timer": N_("unknown timer '{name}'{hint}"),
    "trigger": N_("unknown trigger '{name}'{hint}"),
    "type": N_("unknown type '{name}'{hint}"),
    "workflow": N_("unknown workflow '{name}'{hint}"),
}
"""What a workflow file may name, each with its message (the word order differs between languages)."""


def unknown_name(kind: str, name: str, known: Iterable[str]) -> Msg:
    """"unknown <kind> '<name>'", with "did you mean" when a known name is close (workflow lint)."""
    return Msg(_UNKNOWN[kind], name=name, hint=dash_hint(did_you_mean(name, known)))


def dash_hint(guess: str) -> Msg | str:
    """`` — did you mean 'x'?`` after a problem of a data file ('' when there is no guess)."""
    return Msg(N_(" — did you mean '{guess}'?"), guess=guess) if guess else ""


def listed(problems: Iterable[Any]) -> Msg:
    """Problems of a data file, one a line (``\\n  - …``): the ``problem`` of an ``InputFileError``."""
    return Msg("\n  - {listing}", listing=join(list(problems), "\n  - "))


def guess_hint(guess: str) -> Msg | str:
    """`` Did you mean 'x'?`` as a message ('' when there is no guess)."""
    return Msg(N_(" Did you mean '{guess}'?"), guess=guess) if guess else ""


class AgreeflowError(Exception):
    """Base of every error agreeflow shows to a user."""

    exit_code: ClassVar[int] = 1
    msgid: ClassVar[str] = N_("Error: {detail}")
    """The English text (a message of the catalogue) whose ``{placeholders}`` the fields fill."""

    def __init__(self, **fields: Any) -> None:
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)
        super().__init__(self.render("en"))

    def message(self) -> Msg:
        """The error as a message of the catalogue, not yet in a language (what a log note stores)."""
        return Msg(self.msgid, **self.fields)

    def render(self, lang: str = "vi") -> str:
        """The message in ``lang`` (vi or en), with its remedy."""
        return self.message().render(lang)

    def part(self, name: str, lang: str = "vi") -> str:
        """One field (a problem, a remedy, a reason) in ``lang`` — for a page that words the rest itself."""
        return show(self.fields.get(name), lang)

    def to_json(self, lang: str = "vi") -> dict[str, Any]:
        """A machine-readable form for ``--json`` output."""
        return {"error": type(self).__name__, "exit_code": self.exit_code,
                "message": self.render(lang),
                "details": {k: _detail(v, lang) for k, v in self.fields.items() if _jsonable(v)}}


def _jsonable(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool, list, dict, type(None), Msg))


def _detail(value: Any, lang: str) -> Any:
    """A field for ``--json``: messages in ``lang``, the rest as it is."""
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, list):
        return [_detail(v, lang) for v in value]
    if isinstance(value, dict) and value and set(value) <= {"vi", "en"}:
        return show(value, lang)
    return value


# ---------------------------------------------------------------- exit 2
class UserInputError(AgreeflowError):
    """Bad input: nothing was written."""

    exit_code = 2


class NotInitialisedError(UserInputError):
    msgid = N_("The database {db} is not initialised. Run: agreeflow init")


class UnknownCaseError(UserInputError):
    msgid = N_("No case '{case}'.{hint} See the list: agreeflow case list")

    def __init__(self, case: str, known: Iterable[str] = ()) -> None:
        super().__init__(case=case, hint=guess_hint(did_you_mean(case, known)))


class _Suggesting(UserInputError):
    """An unknown name with a 'did you mean' suggestion and the allowed names."""

    kind: ClassVar[str] = N_("name")
    msgid = N_("Unknown {kind} '{name}'.{hint} Allowed: {allowed}")

    def __init__(self, name: str, allowed: Iterable[str] = (), **extra: Any) -> None:
        allowed = sorted(set(allowed))
        guess = did_you_mean(name, allowed)
        super().__init__(name=name, allowed=allowed, guess=guess, **extra)

    def message(self) -> Msg:
        return Msg(self.msgid, **self.fields, kind=Msg(self.kind), hint=guess_hint(self.fields.get("guess", "")))


class UnknownWorkflowError(_Suggesting):
    kind = N_("workflow")


class UnknownTriggerError(_Suggesting):
    kind = N_("trigger")
    msgid = N_("The workflow of case {case} has no trigger '{name}'.{hint} Triggers: {allowed}")


class UnknownUnitError(_Suggesting):
    kind = N_("unit")
    msgid = N_("No active unit '{name}' in the directory.{hint} See: agreeflow directory show")


class InactiveUnitError(UserInputError):
    """A unit code that the directory knows but that is not active on the day in question.

    Never answered with "did you mean" another code: a retired district is not a
    misspelt ministry.  ``retired`` tells which side of its life the day falls on.
    """

    msgid = N_("No active unit '{name}' on {on}: {unit} ({name}) {status}. {remedy}")

    def __init__(self, name: str, unit_vi: str, unit_en: str, since: str, on: str, retired: bool) -> None:
        if retired:
            status = Msg(N_("is no longer active from {since}"), since=since)
            remedy = Msg(N_("Name the unit that took over its work (see: agreeflow directory show); its open work "
                            "moves to that unit with: agreeflow directory transfer {name} NEW --from {since}"),
                         name=name, since=since)
        else:
            status = Msg(N_("is active only from {since}"), since=since)
            remedy = Msg(N_("See: agreeflow directory show"))
        super().__init__(name=name, unit=pair(unit_vi, unit_en), since=since, on=on, retired=retired,
                         status=status, remedy=remedy)


class UnknownPersonError(UserInputError):
    msgid = N_("No person '{email}' in the directory. Use --as EMAIL (or AGREEFLOW_USER) with an address from: "
               "agreeflow directory show")


class FieldValueError(UserInputError):
    """A value of a field that cannot be taken: ``problem`` and ``remedy`` are messages."""

    msgid = N_("Field '{field}': {problem}. {remedy}")


class MissingFieldsError(UserInputError):
    msgid = N_("Trigger '{trigger}' needs the fields: {missing}. Add them with --field NAME=VALUE "
               "(documents: --attach FILE).")


class DefinitionError(UserInputError):
    problems: list[Any]  # set by AgreeflowError.__init__ from the fields: messages (Msg) or text
    msgid = N_("The workflow file has {count} problem(s):\n{listing}")

    def __init__(self, problems: list[str] | list[Any]) -> None:
        super().__init__(count=len(problems), listing=join([Msg("  - {problem}", problem=p) for p in problems], "\n"),
                         problems=problems)


class DirectoryFileError(DefinitionError):
    msgid = N_("The directory file has {count} problem(s) (nothing written):\n{listing}")


class PhraseError(UserInputError):
    """A phrase nothing reads, or one that reads but names what cannot be (``problem``, a message).

    "Quý V", "năm 0", "trong vòng -5 ngày": the problem is said, then the accepted forms — never another date.
    """

    msgid = N_("Cannot read the time phrase '{phrase}'. Accepted forms:\n{forms}")

    def message(self) -> Msg:
        if self.fields.get("problem"):
            return Msg(N_("Cannot read the time phrase '{phrase}': {problem}. Accepted forms:\n{forms}"),
                       **self.fields)
        return super().message()


class DateValueError(UserInputError):
    msgid = N_("'{value}' is not a valid date: {problem}. Write dates as YYYY-MM-DD, e.g. 2025-01-20 "
               "(the calendar covers {first}–{last}).")


class InputFileError(UserInputError):
    msgid = N_("File '{path}': {problem}")


class PlanFileError(DefinitionError):
    msgid = N_("The plan file has {count} problem(s) — nothing was written; fix these rows and import again:"
               "\n{listing}{hint}")

    def __init__(self, problems: list[str] | list[Any], hint: Msg | str = "") -> None:
        super().__init__(problems)
        self.fields["hint"] = self.hint = Msg("\n{hint}", hint=hint) if hint else ""


class ReportMapError(DefinitionError):
    msgid = N_("The report map has {count} problem(s):\n{listing}")


class SimulationOnlyError(UserInputError):
    msgid = N_("{what} works only on a simulation database (made with: agreeflow init --simulation). "
               "The database {db} is a real one: time comes from the system clock. "
               "To record something that happened earlier, use --effective DATE --reason \"why\".")


class NotSignedInError(UserInputError):
    msgid = N_("Not signed in. Sign in with: agreeflow login EMAIL (or set AGREEFLOW_TOKEN).")


class DatabaseUrlError(UserInputError):
    msgid = N_("Cannot open the database {db}: {problem}. Check --db / AGREEFLOW_DB "
               "(e.g. sqlite:////path/to/agreeflow.db or postgresql+psycopg://user@host/agreeflow).")


class OutputPathError(UserInputError):
    msgid = N_("Cannot write the file '{path}': {problem}. Choose a file path in a folder you may write to.")


class AttachmentTooLargeError(UserInputError):
    msgid = N_("The file '{path}' is {size} ({bytes} bytes), over the limit of {limit} ({limit_bytes} bytes) "
               "for an attachment; nothing was stored. Send a smaller file (compress or split it), or ask the "
               "administrator to raise AGREEFLOW_MAX_ATTACHMENT_MB.")


class OffCalendarError(UserInputError, ValueError):
    """The input leads to days the calendar does not have (a start in 1994, 10⁶ working days, year 9999).

    Also a ValueError, so the code that already turns "off the calendar" into a message of its own keeps
    doing so; anywhere else it reaches the user as exit 2 with this text — never a traceback.
    """

    msgid = N_("The dates this needs ({years}) are outside the calendar's years {first}–{last}: agreeflow counts "
               "working days only there. Check the dates and numbers given (a start, a number of days, a year).")


class OptionValueError(UserInputError):
    msgid = N_("Option {option}: '{value}' is not valid. {remedy}")


class LetterError(UserInputError):
    """A letter that cannot be written: its text is a message of the catalogue, named when raised.

    ``message`` is the English msgid (marked with ``N_``), the other fields fill its placeholders.
    """

    def __init__(self, message: str, **values: Any) -> None:
        self._msgid = message
        super().__init__(**values)

    def message(self) -> Msg:
        return Msg(self._msgid, **self.fields)


class UnknownLetterKindError(UserInputError):
    """A letter kind no template defines; says which kinds there are (with their names) and the closest."""

    msgid = N_("There is no letter kind '{name}'.{hint} The kinds are:\n{listing}\n(The annual report: "
               "agreeflow report annual --year YEAR --docx FILE.)")

    def __init__(self, name: str, kinds: dict[str, str]) -> None:
        allowed = sorted(kinds)
        super().__init__(name=name, allowed=allowed, guess=did_you_mean(name, kinds), labels=kinds,
                         hint=guess_hint(did_you_mean(name, kinds)),
                         listing="\n".join(f"  {k} — {kinds[k]}" for k in allowed))


# ---------------------------------------------------------------- exit 3
class RefusedError(AgreeflowError):
    """A rule refused the action; the refusal itself is logged on the case."""

    exit_code = 3


class RoleRefusedError(RefusedError):
    msgid = N_("{actor} may not do '{trigger}' on case {case} (needs role: {needed}; your roles: {roles}).")


class ScopeRefusedError(RefusedError):
    msgid = N_("{actor} (unit {unit}) may not do '{trigger}' on case {case}: the case belongs to {case_unit}; "
               "officers act only on their own unit's cases (the unit-scope rule). Who may: {who}.")


class PositionRefusedError(RefusedError):
    msgid = N_("{actor} does not hold a position that may do '{trigger}' on case {case} (the position rule). "
               "Who may: {who}. Basis: {citation}")


class StateRefusedError(RefusedError):
    msgid = N_("Case {case} is in state '{state}': '{trigger}' is not possible. Triggers you may use now: {allowed}")


class GuardRefusedError(RefusedError):
    """A guard refused: ``reason`` is its message (several joined)."""

    msgid = N_("Cannot '{trigger}' case {case} yet: {reason}")


class StaleCaseError(RefusedError):
    msgid = N_("The case {case} changed since you read it (version {expected} → {actual}). Look again: "
               "agreeflow case show {case}")


class ReadOnlyError(RefusedError):
    msgid = N_("{actor} is an auditor: auditors read everything and change nothing.")


class SignInRefusedError(RefusedError):
    msgid = N_("Sign-in failed for {email}: wrong password, no password set, or the account is locked for "
               "now{wait}.")


class OnBehalfRefusedError(RefusedError):
    msgid = N_("{recorder} may not act on behalf of {actor}: only an admin may act for someone else (--as).")


class TimeOrderRefusedError(RefusedError):
    msgid = N_("The effective time {effective} on case {case} is not allowed: {problem}.")


# ---------------------------------------------------------------- exit 4
class TamperingError(AgreeflowError):
    exit_code = 4
    msgid = N_("The log has been tampered with:\n{listing}")
