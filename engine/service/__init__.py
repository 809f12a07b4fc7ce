"""The service API: what the command line, the web pages and the worker call.

Each function is one command in one transaction.  Order inside a write:
parse and check input (UserInputError, exit 2: nothing written) → load and
lock the case → who may act, the state, the guards (RefusedError, exit 3:
rolled back, then the refusal is logged on the case in a transaction of its
own) → state, fields, events, effects → commit.  Results are plain dicts
ready for ``--json``.  This package is the only one that opens transactions
and reads the clock for a command; everything below it takes a session and
an explicit instant.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlmodel import Session

    from agreeflow.engine.service import words
    from agreeflow.engine.service.audit import (
        audit_checkpoint,
        audit_export,
        audit_log,
        checkpoint_text,
        security_log,
        set_access_log,
        verify,
    )
    from agreeflow.engine.service.audit import keygen as audit_keygen
    from agreeflow.engine.service.base import now, reading, writing
    from agreeflow.engine.service.calendar import add as calendar_add
    from agreeflow.engine.service.calendar import day as calendar_day
    from agreeflow.engine.service.calendar import due as calendar_due
    from agreeflow.engine.service.calendar import holidays as calendar_holidays
    from agreeflow.engine.service.calendar import set_day as calendar_set_day
    from agreeflow.engine.service.cases import (
        check_flags,
        fire,
        history,
        list_cases,
        open_case,
        resume,
        show_case,
        suspend,
    )
    from agreeflow.engine.service.directory import check_directory as directory_check
    from agreeflow.engine.service.directory import directory_show, load_directory
    from agreeflow.engine.service.directory import transfer as directory_transfer
    from agreeflow.engine.service.identity import (
        is_simulation_db,
        login,
        logout,
        saved_token,
        send_sign_in_link,
        set_password,
        sign_in_trusted,
        sign_in_with_link,
        web_session,
        web_sign_out,
        whoami,
    )
    from agreeflow.engine.service.inspection import (
        INSPECTORS,
        LogFilter,
        checkpoint_file,
        checkpoints,
        export_file,
        log_page,
        may_inspect,
    )
    from agreeflow.engine.service.letters import letter_kinds, write_letter
    from agreeflow.engine.service.oversight import (
        annual_file,
        annual_preview,
        calendar_decisions,
        compliance_page,
        compliance_xlsx,
        directory_page,
        outbox_page,
    )
    from agreeflow.engine.service.pages import (
        attachment,
        calendar_month,
        case_form,
        case_forms,
        case_page,
        case_version,
        my_work,
        round_page,
    )
    from agreeflow.engine.service.planning import plan
    from agreeflow.engine.service.present import (
        DefinitionError,
        FieldValueError,
        MissingFieldsError,
        NotSignedInError,
        ReadOnlyError,
        Settings,
        SignInRefusedError,
        StaleCaseError,
        UnknownCaseError,
        UnknownUnitError,
        catalogue,
        check_output,
        event_note,
        fmt_at_local,
        fmt_day,
        fmt_local,
        language_name,
        other_language,
        output_file,
        pair,
        parse_instant,
        render,
        set_clock,
        text,
        text_n,
        write_file,
    )
    from agreeflow.engine.service.replies import reply, reply_page
    from agreeflow.engine.service.replies import secret as web_secret
    from agreeflow.engine.service.reports import (
        annual_sections,
        annual_title,
        compliance_tables,
        export_ics,
        report_annual,
        report_compliance,
    )
    from agreeflow.engine.service.rounds import close_round, follow_up
    from agreeflow.engine.service.rounds import summary as round_summary
    from agreeflow.engine.service.search import CaseFilter, export_cases, search_cases
    from agreeflow.engine.service.setup import init
    from agreeflow.engine.service.tasks import import_tasks, open_cases
    from agreeflow.engine.service.workflows import lint, workflow_graph, workflow_show, workflows_list

T = TypeVar("T")

__all__ = [
    "CaseFilter", "DefinitionError", "FieldValueError", "MissingFieldsError", "NotSignedInError",
    "ReadOnlyError", "Settings", "SignInRefusedError", "StaleCaseError", "UnknownCaseError",
    "UnknownUnitError", "annual_sections", "annual_title", "attachment", "audit_checkpoint", "audit_export",
    "audit_keygen", "audit_log", "calendar_add", "calendar_day", "calendar_due", "calendar_holidays",
    "calendar_month", "calendar_set_day", "case_form", "case_forms", "case_page", "case_version", "catalogue",
    "check_flags", "check_output", "checkpoint_text", "close_round", "compliance_tables", "directory_check",
    "directory_show", "directory_transfer", "export_cases", "export_ics", "fire", "fmt_at_local", "fmt_day",
    "fmt_local", "follow_up", "history", "import_tasks", "init", "letter_kinds", "lint", "list_cases",
    "load_directory", "login", "logout", "my_work", "now", "open_case", "open_cases", "output_file",
    "parse_instant", "plan", "reading", "reply", "reply_page", "report_annual", "report_compliance", "resume",
    "round_page", "round_summary", "saved_token", "search_cases", "security_log", "send_sign_in_link",
    "set_access_log", "set_clock", "set_password", "show_case", "sign_in_trusted", "sign_in_with_link", "suspend",
    "text", "text_n", "verify", "event_note", "render", "other_language", "language_name", "pair",
    "web_secret", "web_session", "web_sign_out", "whoami", "is_simulation_db", "with_session",
    "words",
    "workflow_graph",
    "workflow_show", "workflows_list", "write_file", "write_letter", "writing",
    "INSPECTORS", "LogFilter", "annual_file", "annual_preview", "calendar_decisions", "checkpoint_file",
    "checkpoints", "compliance_page", "compliance_xlsx", "directory_page", "export_file", "log_page",
    "may_inspect", "outbox_page",
]

# Where each name of the API lives: (module of this package, its name there).  A command imports
# only the module it calls (and what that imports) — ``case show`` does not pay for reports, mail
# or the calendar administration (docs/performance.md, the lazy-import rule).
_MODULES = ("words",)
"""Modules of this package that are part of the API themselves (``service.words``: the words for codes)."""
_WHERE: dict[str, tuple[str, str]] = {
    **{n: ("audit", n) for n in ("audit_checkpoint", "audit_export", "audit_log", "checkpoint_text",
                                  "security_log", "set_access_log", "verify")},
    "audit_keygen": ("audit", "keygen"),
    **{n: ("base", n) for n in ("now", "reading", "writing")},
    **{f"calendar_{n}": ("calendar", n) for n in ("add", "day", "due", "holidays", "set_day")},
    **{n: ("cases", n) for n in ("check_flags", "fire", "history", "list_cases", "open_case", "resume",
                                  "show_case", "suspend")},
    "directory_check": ("directory", "check_directory"), "directory_transfer": ("directory", "transfer"),
    **{n: ("directory", n) for n in ("directory_show", "load_directory")},
    **{n: ("identity", n) for n in ("is_simulation_db", "login", "logout", "saved_token", "send_sign_in_link",
                                     "set_password", "sign_in_trusted", "sign_in_with_link", "web_session",
                                     "web_sign_out", "whoami")},
    **{n: ("inspection", n) for n in ("INSPECTORS", "LogFilter", "checkpoint_file", "checkpoints", "export_file",
                                       "log_page", "may_inspect")},
    **{n: ("letters", n) for n in ("letter_kinds", "write_letter")},
    **{n: ("oversight", n) for n in ("annual_file", "annual_preview", "calendar_decisions", "compliance_page",
                                      "compliance_xlsx", "directory_page", "outbox_page")},
    **{n: ("pages", n) for n in ("attachment", "calendar_month", "case_form", "case_forms", "case_page",
                                  "case_version", "my_work", "round_page")},
    "plan": ("planning", "plan"),
    **{n: ("present", n) for n in ("DefinitionError", "FieldValueError", "MissingFieldsError", "NotSignedInError",
                                    "ReadOnlyError", "Settings", "SignInRefusedError", "StaleCaseError",
                                    "UnknownCaseError", "UnknownUnitError", "catalogue", "check_output",
                                    "fmt_at_local", "fmt_day", "fmt_local", "output_file", "parse_instant",
                                    "set_clock", "text", "text_n", "write_file", "event_note", "render",
                                    "other_language", "language_name", "pair")},
    "reply": ("replies", "reply"), "reply_page": ("replies", "reply_page"), "web_secret": ("replies", "secret"),
    **{n: ("reports", n) for n in ("annual_sections", "annual_title", "compliance_tables", "export_ics",
                                    "report_annual", "report_compliance")},
    "close_round": ("rounds", "close_round"), "follow_up": ("rounds", "follow_up"),
    "round_summary": ("rounds", "summary"),
    **{n: ("search", n) for n in ("CaseFilter", "export_cases", "search_cases")},
    "init": ("setup", "init"),
    **{n: ("tasks", n) for n in ("import_tasks", "open_cases")},
    **{n: ("workflows", n) for n in ("lint", "workflow_graph", "workflow_show", "workflows_list")},
}


def __getattr__(name: str) -> Any:
    """Import the module that holds ``name`` on first use (PEP 562), then keep the name here."""
    if name in _MODULES:
        module = import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{where[0]}"), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def with_session(settings: Settings, fn: Callable[[Session], T]) -> T:
    """Run ``fn(session)`` in one write transaction (tests and tools that drive engine modules)."""
    from agreeflow.engine.service.base import writing

    with writing(settings) as s:
        return fn(s)
