"""The ``agreeflow`` command: parse options, call one engine.service function, render.

Exit codes: 0 ok · 2 bad input (nothing written) · 3 refused by a rule (logged)
· 4 ``audit verify`` found tampering.  1 is never expected.
Every command takes ``--json``, ``--lang vi|en``, ``--as EMAIL``, ``--db URL``
and ``--now ISO-8601``, before or after the command name.
Heavy modules are imported inside commands so ``agreeflow --help`` starts fast.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

# ----------------------------------------------------------------- plumbing
_OPTS = ("json_out", "lang", "user", "db", "now", "home")


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and value is not False:
        ctx.find_root().meta.setdefault("agreeflow", {})[param.name] = value
    return value


def common(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options every command accepts (also accepted before the command name)."""
    options = [
        click.option("--json", "json_out", is_flag=True, expose_value=False, callback=_store,
                     help="Machine-readable JSON output."),
        click.option("--lang", type=click.Choice(["vi", "en"]), expose_value=False, callback=_store,
                     help="Language of messages (default vi; env AGREEFLOW_LANG)."),
        click.option("--as", "user", metavar="EMAIL", expose_value=False, callback=_store,
                     help="Acting person from the directory (env AGREEFLOW_USER)."),
        click.option("--db", metavar="URL", expose_value=False, callback=_store,
                     help="SQLAlchemy database URL (env AGREEFLOW_DB; default SQLite in the data dir)."),
        click.option("--now", metavar="ISO-8601", expose_value=False, callback=_store,
                     help="Run as if it were this moment (env AGREEFLOW_NOW)."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _opts() -> dict[str, Any]:
    opts: dict[str, Any] = click.get_current_context().find_root().meta.get("agreeflow", {})
    return opts


def settings() -> Any:
    import os

    from agreeflow.engine import service

    o = _opts()
    given = o.get("now")
    service.set_clock(given if given is not None else os.environ.get("AGREEFLOW_NOW") or None,
                      option="--now" if given is not None else "AGREEFLOW_NOW")
    s = service.Settings.from_env(db_url=o.get("db"), lang=o.get("lang"), user=o.get("user"))
    if s.token is None:
        s.token = service.saved_token(s)
    return s


def lang_of(ctx: click.Context) -> str:
    """The language asked for in ``ctx`` (``--lang``), else ``AGREEFLOW_LANG``, else Vietnamese."""
    import os
    return ctx.meta.get("agreeflow", {}).get("lang") or os.environ.get("AGREEFLOW_LANG") or "vi"


def lang() -> str:
    import os
    return _opts().get("lang") or os.environ.get("AGREEFLOW_LANG") or "vi"


def as_json() -> bool:
    return bool(_opts().get("json_out"))


def emit(data: Any, human: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON with --json, else call ``human(data)``."""
    if as_json():
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        human(data)


def console() -> Any:
    import os

    from rich.console import Console
    # Piped output (files, mail, CI logs) has no terminal width: COLUMNS if set, else a readable one.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 0) or 160
    return Console(highlight=False, soft_wrap=True, width=width)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.table import Table
    tbl = Table(title=title, show_lines=False, title_justify="left")
    for c in columns:
        tbl.add_column(c, overflow="fold")
    for r in rows:
        tbl.add_row(*["" if v is None else str(v) for v in r])
    console().print(tbl)


def t(key: str, **values: Any) -> str:
    from agreeflow.engine import service
    return service.text(key, lang(), **values)


def tn(singular: str, plural: str, n: int, **values: Any) -> str:
    """The form of a message for the number ``n`` ("1 working day", "2 working days")."""
    from agreeflow.engine import service
    return service.text_n(singular, plural, n, lang(), **values)


def word(table: str, key: str | None) -> str:
    """An engine code (a status, an event kind, a role…) in words: ``table`` names a table of service.words."""
    from agreeflow.engine import service
    return str(service.words.word(getattr(service.words, table), key, lang()))


def counts_text(counts: dict[str, Any]) -> str:
    """``{"sent": 2, "failed": 0}`` as "đã gửi: 2, gửi lỗi: 0" (the keys in words)."""
    return ", ".join(f"{word('COUNTS', k)}: {v}" for k, v in counts.items())


def rung_text(rung: str | None) -> str:
    """A mail's rung in words, from the reminder policy file ("nhắc trước hạn 3 ngày làm việc")."""
    from agreeflow.engine import service
    return service.words.rung_word(rung, lang())


def actor_text(actor: str | None) -> str:
    """Who did it: a person's e-mail as stored, the engine's own steps ("system", "agreeflow") in words."""
    from agreeflow.engine import service
    return service.words.actor_word(actor, lang())


def yes_no(value: Any) -> str:
    return t("yes") if value else t("no")


# ----------------------------------------------------------------- help in the user's language
# Click builds the help of every command at import, from English docstrings and option help, and
# translates its own words ("Usage:", "Options:", "No such option") through the standard library's
# gettext.  So each invocation first reads the language from the raw arguments (--help may come before
# --lang is parsed), then runs with the catalogue bound to the standard library's gettext (i18n.speaking)
# and with the help texts and metavars of the command tree replaced by their translations, put back after.
_METAVAR = re.compile(r"(?<![\w-])[A-Z][A-Z0-9_]*(?: [A-Z][A-Z0-9_]*)*(?![\w-])")


def _argv_lang(args: list[str]) -> str:
    """``--lang vi|en`` anywhere in ``args`` (the last one wins, as click's), else AGREEFLOW_LANG, else vi."""
    import os
    found = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--lang="):
            found = arg.partition("=")[2]
    for candidate in (found, os.environ.get("AGREEFLOW_LANG")):
        if candidate in ("vi", "en"):
            return candidate
    return "vi"


def _metavar_in(metavar: str, known: dict[str, str]) -> str:
    """FILE, CASE, [OPTIONS], NAME=VALUE … translated: a run of capitalised words as a whole, else word by word."""
    def one(match: re.Match[str]) -> str:
        run = match.group(0)
        return known.get(run) or " ".join(known.get(w, w) for w in run.split(" "))
    return _METAVAR.sub(one, metavar)


@contextmanager
def _help_in(root: click.Command, argv: list[str], lang: str) -> Iterator[None]:
    """The help of the command tree under ``root`` in ``lang`` until the block ends.

    Every command's own help (a group lists its commands with the first line of it); the options,
    arguments and metavars only of the commands ``argv`` names (the only ones a help page or an error
    message can show), since click makes a command's --help option the first time it is asked for.
    """
    import gettext
    import inspect
    from functools import cache

    from agreeflow.engine import translations
    known = translations(lang)  # once: a lookup through text() checks the file each time
    click_word = cache(gettext.gettext)  # click's own words, from the catalogue bound by i18n.speaking
    saved: list[tuple[Any, str, Any]] = []

    def swap(obj: Any, attr: str, value: Any) -> None:
        old = getattr(obj, attr)
        if value != old:
            saved.append((obj, attr, old))
            setattr(obj, attr, value)

    def every(cmd: click.Command) -> Iterator[click.Command]:
        yield cmd
        for sub in (cmd.commands.values() if isinstance(cmd, click.Group) else ()):
            yield from every(sub)

    def named(cmd: click.Command, parent: click.Context | None) -> Iterator[tuple[click.Command, click.Context]]:
        ctx = click.Context(cmd, parent=parent, info_name=cmd.name, **(cmd.context_settings if parent is None else {}))
        yield cmd, ctx
        sub = next((cmd.commands[a] for a in argv if a in cmd.commands), None) if isinstance(cmd, click.Group) else None
        if sub is not None:
            yield from named(sub, ctx)
    try:
        for cmd in every(root):
            if cmd.help:
                swap(cmd, "help", known.get(inspect.cleandoc(cmd.help), cmd.help))
        for cmd, ctx in named(root, None):
            if cmd.options_metavar:
                swap(cmd, "options_metavar", _metavar_in(cmd.options_metavar, known))
            if isinstance(cmd, click.Group):
                swap(cmd, "subcommand_metavar", _metavar_in(cmd.subcommand_metavar, known))
            helper = cmd.get_help_option(ctx)  # made once per command, in the language of that moment
            if helper is not None:
                swap(helper, "help", click_word("Show this message and exit."))
            for param in cmd.params:
                if param.help:
                    swap(param, "help", known.get(param.help, param.help))
                if not getattr(param, "is_flag", False):
                    swap(param, "metavar", _metavar_in(param.make_metavar(ctx), known))
                # A type's name shows in errors ("'x' is not a valid integer", "path 'x' does not exist"); it
                # is set at import (click.Path's from click's gettext), so it is put in the language here.
                swap(param.type, "name", click_word(param.type.name))
        yield
    finally:
        for obj, attr, old in reversed(saved):
            setattr(obj, attr, old)


class AgreeflowGroup(click.Group):
    """Maps engine errors to exit codes and clear messages in the user's language."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        """Run the command line with its help and click's own words in the user's language."""
        from agreeflow.engine import speaking
        argv = list(sys.argv[1:] if args is None else args)
        language = _argv_lang(argv)
        with speaking(language), _help_in(self, argv, language):
            return super().main(argv, *rest, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        import os

        from agreeflow.engine import AgreeflowError
        try:
            return super().invoke(ctx)
        except AgreeflowError as err:
            language = lang_of(ctx)
            if ctx.meta.get("agreeflow", {}).get("json_out"):
                click.echo(json.dumps(err.to_json(language), ensure_ascii=False, indent=2, default=str))
            else:
                click.echo(err.render(language), err=True)
            ctx.exit(err.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # a genuine bug: a short report for the official, the traceback in a file
            if os.environ.get("AGREEFLOW_DEBUG"):
                raise
            from agreeflow.engine.service import present
            path = present.crash_report(exc, sys.argv)
            click.echo(present.text("crash", lang_of(ctx), path=path), err=True)
            ctx.exit(1)


@click.group(cls=AgreeflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="agreeflow", prog_name="agreeflow", message="%(prog)s %(version)s")
@common
def main() -> None:
    """agreeflow — quy trình thỏa thuận quốc tế và đoàn ra/đoàn vào (Luật 70/2020/QH14, Nghị định 64/2021/NĐ-CP).

    Workflow engine for international agreements and foreign delegations of a
    Vietnamese province: declared legal steps, working-day deadlines, e-mail
    reminders, and a tamper-evident log.
    """


# ----------------------------------------------------------------- init / directory
@main.command()
@common
@click.option("--directory", "directory_file", type=click.Path(path_type=Path),
              help="Directory YAML for a new database (default: the shipped Bắc Giang 2024 sample); "
                   "on an existing one, an admin reloads it.")
@click.option("--simulation", is_flag=True,
              help="Make a NEW database a simulation: --now and --as are allowed (demo, tests, training).")
def init(directory_file: Path | None, simulation: bool) -> None:
    """Create or upgrade the database; a new one gets the directory."""
    from agreeflow.engine import service
    res = service.init(settings(), directory_file, simulation=simulation)

    def human(r: Any) -> None:
        click.echo(t("init_ok", db=r["database"], rev=r["revision"]))
        if r["directory"]:
            click.echo(t("directory_ok", **r["directory"]))
    emit(res, human)


@main.command()
@common
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (scripts).")
@click.option("--hours", type=click.FloatRange(min=0.1, max=24 * 366), help="How long the sign-in lasts "
              "(default 12 hours; a worker's service account may need longer).")
def login(email: str, password_stdin: bool, hours: float | None) -> None:
    """Sign in on this database; later commands act as you (a real database needs it)."""
    from agreeflow.engine import service
    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        t("password_prompt"), hide_input=True)
    res = service.login(settings(), email, password, hours=hours)
    emit({k: v for k, v in res.items() if k != "token"}, lambda r: click.echo(t("login_ok", email=r["email"])))


@main.command()
@common
def logout() -> None:
    """End this command line's sign-in on this database."""
    from agreeflow.engine import service
    emit(service.logout(settings()), lambda r: click.echo(t("logout_ok")))


@main.command()
@common
def whoami() -> None:
    """Who the next command acts as, and on what kind of database."""
    from agreeflow.engine import service
    emit(service.whoami(settings()), lambda r: click.echo(t("whoami", **(r | {
        "roles": ", ".join(word("ROLES", x) for x in r["roles"]), "simulation": yes_no(r["simulation"]),
        "signed_in_as": r["signed_in_as"] or t("none")}))))


@main.group()
def user() -> None:
    """Sign-in accounts of the people in the directory."""


@user.command("set-password")
@common
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (scripts).")
def user_set_password(email: str, password_stdin: bool) -> None:
    """Set a person's password (an admin for anyone, a person for themself)."""
    from agreeflow.engine import service
    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        t("password_new"), hide_input=True, confirmation_prompt=True)
    emit(service.set_password(settings(), email, password), lambda r: click.echo(t("password_set", **r)))


@main.group()
def directory() -> None:
    """Units and people (data an operator edits)."""


@directory.command("load")
@common
@click.argument("file", type=click.Path(path_type=Path))
def directory_load(file: Path) -> None:
    """Load a directory YAML file (idempotent; admin role)."""
    from agreeflow.engine import service
    emit(service.load_directory(settings(), file), lambda r: click.echo(t("directory_ok", **r)))


def _capitalised(text: str) -> str:
    """A word of a sentence ("sở, ngành") as a table cell ("Sở, ngành")."""
    return text[:1].upper() + text[1:]


@directory.command("show")
@common
def directory_show() -> None:
    """List units, people (with positions) and delegations of authority."""
    from agreeflow.engine import service
    res = service.directory_show(settings())

    def human(r: Any) -> None:
        table(t("unit"), [t("Code"), t("Name"), t("E-mail"), t("Parent unit"), t("Kind"), t("Active")],
              [[u["code"], service.render(service.pair(u["name_vi"], u["name_en"]), lang()), u["email"], u["parent"],
                _capitalised(word("UNIT_KINDS", u["kind"])),
                "✓" if u["active"] else f"✗ {service.fmt_day(u['active_to'])}"] for u in r["units"]])
        table(t("People"), [t("E-mail"), t("Name"), t("unit"), t("Roles"), t("positions")],
              [[p["email"], " ".join(x for x in (p["title"], p["name"]) if x), p["unit"],
                ", ".join(word("ROLES", x) for x in p["roles"]),
                ", ".join(f"{word('POSITIONS', x['position'])} {x['unit']}" for x in p["positions"])]
               for p in r["people"] if p["active"]])
        if r["delegations"]:
            table(t("delegations"), [t("principal"), t("delegate"), t("scope"), t("valid"), t("document")],
                  [[d["principal"], d["delegate"], ", ".join(d["scope"]),
                    f"{service.fmt_day(d['from'])} – {service.fmt_day(d['to'])}", d["document"]]
                   for d in r["delegations"]])
    emit(res, human)


@directory.command("check")
@common
@click.argument("file", type=click.Path(path_type=Path))
def directory_check(file: Path) -> None:
    """Check a directory file without loading it (no database needed)."""
    from agreeflow.engine import service

    def human(r: Any) -> None:
        click.echo(t("directory_check_ok", **r))
        for w in r["warnings"]:
            click.echo(f"  ! {w}")
    emit(service.directory_check(file), human)


@directory.command("transfer")
@common
@click.argument("old")
@click.argument("new")
@click.option("--from", "since", required=True, metavar="DATE",
              help="The day the successor takes over (YYYY-MM-DD or dd/mm/yyyy), e.g. 2025-07-01.")
@click.option("--dry-run", is_flag=True, help="List what would move; write nothing.")
@click.option("--note", help="A note recorded in each case's log (e.g. the deciding document).")
def directory_transfer(old: str, new: str, since: str, dry_run: bool, note: str | None) -> None:
    """Move the open cases and deadlines of a retired unit OLD to its successor NEW (admin role)."""
    from agreeflow.engine import service

    def human(r: Any) -> None:
        click.echo(t("transfer_dry" if r["dry_run"] else "transfer_ok", old=r["from_unit"], new=r["to_unit"],
                     since=service.fmt_day(r["effective_from"]), cases=len(r["cases"]), deadlines=r["deadlines"]))
        if r["cases"]:
            table(t("transfer_moves"), [t("case"), t("title"), t("fields"), t("deadlines")],
                  [[c["id"], c["title"],
                    "; ".join([f"{k}: {_text(v['before'])} → {_text(v['after'])}" for k, v in c["fields"].items()]
                              or ([f"{t('unit')}: {c['unit'][0]} → {c['unit'][1]}"] if c["unit"] else [])),
                    "; ".join(f"{service.render(service.pair(d['label'], d['label_en']), lang())} "
                              f"({service.fmt_day(d['due_date'])})" for d in c["deadlines"])] for c in r["cases"]])
    emit(service.directory_transfer(settings(), old, new, since, dry_run=dry_run, note=note), human)


def _text(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) else str(value)


# ----------------------------------------------------------------- workflows
@main.group()
def workflows() -> None:
    """Workflow definitions (workflows/*.yaml)."""


@workflows.command("list")
@common
def workflows_list() -> None:
    """List workflows (newest version of each)."""
    from agreeflow.engine import service
    emit(service.workflows_list(settings()), lambda rows: table(
        t("workflow"), [t("Id"), t("version"), t("title"), t("States"), t("Steps forward"), t("Unconfirmed")],
        [[r["id"], r["version"], r["title"], r["states"], r["transitions"], r["unconfirmed"]] for r in rows]))


@workflows.command("show")
@common
@click.argument("workflow")
def workflows_show(workflow: str) -> None:
    """A workflow's versions (with open cases), states, transitions and citations."""
    from agreeflow.engine import service
    res = service.workflow_show(settings(), workflow)

    def human(r: Any) -> None:
        states = {s["name"]: s["label"].get(lang(), s["name"]) for s in r["states"]}
        click.echo(f"{r['id']}: {r['title'].get(lang(), r['id'])}")
        click.echo("  " + "; ".join(r["legal_basis"]))
        table(t("version"), [t("version"), t("open_cases"), t("File")],
              [[v["version"], v["open_cases"], v["path"] if v["path"] != "(stored copy)" else t("(stored copy)")]
               for v in r["versions"]])
        table(t("Steps forward"), [t("Command"), t("Step"), t("From"), t("To"), t("Roles"), t("citation")],
              [[x["trigger"], x["label"].get(lang(), x["trigger"]), ", ".join(states.get(f, f) for f in x["from"]),
                states.get(x["to"], x["to"]), ", ".join(word("ROLES", ro) for ro in x["roles"]),
                x["citation"] + ("" if x["confirmed"] else f" [{t('UNCONFIRMED')}]")] for x in r["transitions"]])
        if r["unconfirmed"]:
            click.echo(t("unconfirmed") + ":\n  " + "\n  ".join(r["unconfirmed"]))
    emit(res, human)


@workflows.command("graph")
@common
@click.argument("workflow")
@click.option("--case", "case_ref", help="Highlight this case's current state.")
def workflows_graph(workflow: str, case_ref: str | None) -> None:
    """Print a Mermaid state diagram."""
    from agreeflow.engine import service
    text = service.workflow_graph(settings(), workflow, case_ref)
    emit({"mermaid": text}, lambda r: click.echo(r["mermaid"]))


@workflows.command("lint")
@common
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def workflows_lint(paths: tuple[Path, ...]) -> None:
    """Check workflow files; every problem of every file is listed (exit 2 if any)."""
    from agreeflow.engine import service
    res = service.lint(list(paths))

    def human(r: Any) -> None:
        if r["ok"]:
            click.echo(t("lint_ok", ok=", ".join(r["ok"])))
        for wf, items in r["unconfirmed"].items():
            click.echo(t("lint_unconfirmed", wf=wf))
            for i in items:
                click.echo(f"  ! {i}")
    emit({**res, "problems": [service.render(p, lang()) for p in res["problems"]]}, human)
    if res["problems"]:
        raise service.DefinitionError(res["problems"])


# ----------------------------------------------------------------- cases
@main.group()
def case() -> None:
    """Open, advance and inspect cases."""


@case.command("open")
@common
@click.argument("workflow")
@click.option("--title", required=True, help="Title of the case.")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="A case field (repeatable).")
@click.option("--parent", help="Parent case id (for follow-ups and child cases).")
@click.option("--note", help="A note recorded in the log.")
def case_open(workflow: str, title: str, fields: tuple[str, ...], parent: str | None, note: str | None) -> None:
    """Open a case; prints its id (e.g. TTQT-2024-0001)."""
    from agreeflow.engine import service
    res = service.open_case(settings(), workflow, title, list(fields), parent=parent, note=note)
    emit(res, lambda r: click.echo(r["id"]))


@case.command("fire")
@common
@click.argument("case_ref", metavar="CASE")
@click.argument("trigger")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="A field to set (repeatable).")
@click.option("--note", help="A note recorded in the log.")
@click.option("--attach", multiple=True, type=click.Path(path_type=Path), metavar="[KIND=]FILE",
              help="Attach a document (stored content-addressed).")
@click.option("--expect-version", type=click.IntRange(min=0, max=2**62),
              help="Refuse if the case changed since this lock_version.")
@click.option("--effective", metavar="DATE", help="The step took effect earlier (e.g. a paper reply received on "
                                                  "that day); needs --reason. Shown as recorded late.")
@click.option("--reason", help="Why the step is recorded late (with --effective).")
def case_fire(case_ref: str, trigger: str, fields: tuple[str, ...], note: str | None,
              attach: tuple[Path, ...], expect_version: int | None, effective: str | None,
              reason: str | None) -> None:
    """Advance a case by a trigger."""
    from agreeflow.engine import service
    # The text output names the new state only: the full case view is built for --json alone.
    res = service.fire(settings(), case_ref, trigger, list(fields), note, list(attach), expect_version,
                       effective=effective, reason=reason, view=as_json())
    emit(res, lambda r: click.echo(f"{r['id']}: {r['state_label']}"))


@case.command("suspend")
@common
@click.argument("case_ref", metavar="CASE")
@click.option("--reason", required=True, help="Why the legal clock stops (e.g. dossier incomplete).")
def case_suspend(case_ref: str, reason: str) -> None:
    """Stop the legal clock of a case (e.g. while a dossier is being completed)."""
    from agreeflow.engine import service
    emit(service.suspend(settings(), case_ref, reason), _print_case)


@case.command("resume")
@common
@click.argument("case_ref", metavar="CASE")
@click.option("--note", help="A note recorded in the log.")
def case_resume(case_ref: str, note: str | None) -> None:
    """Restart the legal clock; open deadlines move by the working days suspended."""
    from agreeflow.engine import service
    emit(service.resume(settings(), case_ref, note), _print_case)


@case.command("show")
@common
@click.argument("case_ref", metavar="CASE")
def case_show(case_ref: str) -> None:
    """Everything about a case: state, fields, deadlines, what you can do next."""
    from agreeflow.engine import service
    emit(service.show_case(settings(), case_ref), _print_case)


def _print_case(r: dict[str, Any]) -> None:
    c = console()
    c.print(f"[bold]{r['id']}[/bold] — {r['title']}")
    c.print(f"{t('workflow')}: {r['workflow_title']} ({t('version {v}', v=r['version'])})")
    unit = (r.get("unit_names") or {}).get(r["unit"], r["unit"]) if r["unit"] else ""
    c.print(f"{t('state')}: [bold]{r['state_label']}[/bold]   {t('unit')}: {unit}   "
            f"{t('Record version (--expect-version)')}: {r['lock_version']}")
    if r.get("suspension"):
        sus = r["suspension"]
        detail = t("suspension_detail", since=_dmy(sus["since"]), reason=sus["reason"] or "",
                   n=sus["working_days_so_far"])
        c.print(f"[yellow]{detail}[/yellow]")
    shown = {k: v for k, v in r["fields"].items() if not k.startswith("_")}  # _round, _flags: the engine's own
    if shown:
        c.print(f"{t('fields')}:")
        for k, v in shown.items():
            c.print(f"  {_field_label(r['words'], k)}: {_field_value(r, k, v)}")
    for kind, docs in (r.get("documents") or {}).items():
        for d in docs:
            c.print(f"  📎 {word('DOCUMENTS', kind)}: {d['name']} ({d['size']} B, sha256 {d['sha256'][:12]}…)")
    if r["deadlines"]:
        table(t("deadlines"), [t("deadlines"), t("unit"), t("due"), t("status"), t("citation")],
              [[d["label"], d["unit"], _due_text(d), word("DEADLINE_STATUS", d["status"]),
                (d["citation"] or "") + ("" if d["confirmed"] else " ⚠")]
               for d in r["deadlines"]])
        for d in r["deadlines"]:
            if d["running"] and d["explanation"]:
                c.print(f"  {d['label']}:")
                for step in d["explanation"]:
                    c.print(f"    · {step}")
    if r["available_triggers"]:
        c.print(f"{t('next_steps')}:")
        for tr in r["available_triggers"]:
            flag = "" if tr["confirmed"] else " ⚠"
            c.print(f"  agreeflow case fire {r['id']} {tr['trigger']}  — {tr['label']} → {tr['to_label']}  "
                    f"[{tr['citation']}{flag}]")
    if r["unconfirmed"]:
        c.print(f"[yellow]⚠ {t('unconfirmed')}[/yellow]")


def _due_text(d: dict[str, Any]) -> str:
    if not d["due_date"]:
        return d.get("phrase") or ""
    text = _dmy(d["due_date"])
    n = d.get("working_days_left")
    if n is not None:
        text += " (" + (tn("{n} working day left", "{n} working days left", n) if n >= 0
                        else tn("overdue by {n} working day", "overdue by {n} working days", -n)) + ")"
    return text


def _field_label(words: dict[str, Any], name: str) -> str:
    """A case field's label in its workflow (the name itself for a field the workflow no longer declares)."""
    return str(words["fields"].get(name, {}).get("label") or name)


def _field_value(view: dict[str, Any], name: str, value: Any) -> str:
    """A stored field value as an official reads it (dates dd/mm/yyyy, choices and yes/no in words): the service's
    one way, which the case page uses too."""
    from agreeflow.engine import service
    return service.words.field_value(view["words"]["fields"].get(name), value, lang(), view.get("unit_names"))


@case.command("list")
@common
@click.option("--workflow", help="Only this workflow.")
@click.option("--state", help="Only cases in this state.")
@click.option("--unit", help="Only cases of this unit.")
def case_list(workflow: str | None, state: str | None, unit: str | None) -> None:
    """List cases."""
    from agreeflow.engine import service
    emit(service.list_cases(settings(), workflow, state, unit), lambda rows: table(
        t("case"), [t("Id"), t("workflow"), t("state"), t("unit"), t("title")],
        [[r["id"], r["workflow_title"], r["state_label"] + (" ⚠ " + ", ".join(word("FLAGS", f) for f in r["flags"])
                                                      if r["flags"] else ""),
          r["unit"], r["title"]] for r in rows]))


@case.command("history")
@common
@click.argument("case_ref", metavar="CASE")
def case_history(case_ref: str) -> None:
    """The case's transition log (hash-chained)."""
    from agreeflow.engine import service
    emit(service.history(settings(), case_ref), lambda rows: table(
        case_ref, [t("seq"), t("at"), *_recorded_heading(rows), t("actor"), t("kind"), t("From → to"), t("Step"),
                   t("note")],
        [[e["seq"], service.fmt_at_local(e["at"]), *_recorded_cell(rows, e), _actor_cell(e),
          word("EVENTS", e["kind"]), _move(e), e.get("trigger_label") or e["trigger"], service.event_note(e, lang())]
         for e in rows]))


def _move(e: dict[str, Any]) -> str:
    """"from → to" of an event in the states' words ("" when it did not move)."""
    if not e["to"]:
        return ""
    return f"{e.get('from_label') or e['from'] or ''} → {e.get('to_label') or e['to']}"


def _recorded_shown(rows: list[dict[str, Any]]) -> bool:
    """The Recorded column appears when it tells the reader something: an event entered late
    (``--effective``) or written before events had a recording time.  Otherwise the recording time is
    the effective time and the column would only squeeze the notes (the JSON output always has it)."""
    return any(not e.get("recorded_at") or (e.get("payload") or {}).get("late_entry") for e in rows)


def _actor_cell(e: dict[str, Any]) -> str:
    """The acting person, and who typed it when an admin recorded it for them (issue 14 point 3: the
    table an inspector reads says "recorded by X on behalf of Y", not only the JSON's ``recorded_by``)."""
    by = e.get("recorded_by")
    if not by or by == e["actor"]:
        return actor_text(e["actor"])
    return t("{actor} (recorded by {by} on their behalf)", actor=actor_text(e["actor"]), by=by)


def _recorded_heading(rows: list[dict[str, Any]]) -> list[str]:
    return [t("recorded")] if _recorded_shown(rows) else []


def _recorded_cell(rows: list[dict[str, Any]], e: dict[str, Any]) -> list[str]:
    return [e["recorded"]] if _recorded_shown(rows) else []


def _margin(wd: int) -> str:
    """A deadline's margin in working days, in words: "2 working days early", "on the due day", "1 … late"."""
    if wd > 0:
        return tn("{n} working day early", "{n} working days early", wd)
    if wd == 0:
        return t("on the due day")
    return tn("{n} working day late", "{n} working days late", -wd)


def _duration(seconds: float) -> str:
    """A delay in days, hours and minutes ("1 day 2 hours"); under a minute, "less than a minute"."""
    minutes = int(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = ([tn("{n} day", "{n} days", days)] if days else []) + ([tn("{n} hour", "{n} hours", hours)] if hours
                                                                   else []) \
        + ([tn("{n} minute", "{n} minutes", minutes)] if minutes and not days else [])
    return " ".join(parts) or t("less than a minute")


# ----------------------------------------------------------------- audit
@main.group()
def audit() -> None:
    """Verify and export the tamper-evident log."""


@audit.command("verify")
@common
@click.option("--case", "case_ref", help="Only this case's chain.")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(path_type=Path),
              help="Hold the log against this checkpoint (default: the newest in the checkpoints folder).")
@click.option("--public-key", type=click.Path(path_type=Path),
              help="First check that the checkpoint is signed by this Ed25519 key (audit keygen).")
def audit_verify(case_ref: str | None, checkpoint_file: Path | None, public_key: Path | None) -> None:
    """Recompute every chain and replay it against the tables; exit 4 naming each case that does not hold."""
    from agreeflow.engine import service

    def human(r: dict[str, Any]) -> None:
        click.echo(t("verify_ok", **r))
        if r.get("security_log") is not None:
            click.echo(t("seclog_ok", n=r["security_log"]))
        cp = r.get("checkpoint")
        if cp is None:
            click.echo(t("checkpoint_none", folder=r["checkpoints_dir"]))
        else:
            click.echo(t("checkpoint_newest" if cp["automatic"] else "checkpoint_holds",
                         **(cp | {"taken_at": service.fmt_at_local(cp["taken_at"])})))
            if case_ref is None and isinstance(cp.get("events"), int) and r["events"] > cp["events"]:
                # A checkpoint pins only what existed when it was taken: say so, rather than "all heads stand".
                click.echo(t("{n} event(s) recorded after this checkpoint are not pinned by it: the removal of "
                             "the last of them cannot be ruled out until the next sweep writes a checkpoint.",
                             n=r["events"] - cp["events"]))
            if cp["signature_checked_with"]:
                click.echo(t("checkpoint_signed", key_id=cp["signature_checked_with"]))
    emit(service.verify(settings(), case_ref, checkpoint_file, public_key), human)


@audit.command("access-log")
@common
@click.argument("state", type=click.Choice(["on", "off"]))
def audit_access_log(state: str) -> None:
    """Keep (on) or stop keeping (off) an access log: every read names its reader in the security log (admin)."""
    from agreeflow.engine import service

    def human(r: dict[str, Any]) -> None:
        click.echo(t("access_log_" + r["access_log"] if r["changed"] else "access_log_unchanged",
                     **(r | {"access_log": word("SWITCH", r["access_log"])})))
    emit(service.set_access_log(settings(), state == "on"), human)


@audit.command("security-log")
@common
@click.option("--kind", help="Only this kind of entry (read, refused, sign_in, sign_in_failed, setting_changed, ...).")
@click.option("--actor", metavar="EMAIL", help="Only this person's entries.")
@click.option("--from", "start", metavar="DATE", help="From this day or ISO-8601 instant (recording time).")
@click.option("--to", "end", metavar="DATE", help="Up to this day (inclusive) or ISO-8601 instant.")
def audit_security_log(kind: str | None, actor: str | None, start: str | None, end: str | None) -> None:
    """Sign-ins, refusals that concern no case, settings changed and, with the access log on, every read."""
    from agreeflow.engine import service
    rows = service.security_log(settings(), start, end, kind, actor)
    emit(rows, lambda rs: table(t("security_log", n=len(rs)), [t("seq"), t("at"), t("actor"), t("kind"),
                                                               t("origin"), t("note")],
         [[e["seq"], service.fmt_at_local(e["at"]), actor_text(e["actor"]), word("SECURITY_KINDS", e["kind"]),
           e["origin"], service.words.security_note(e, lang())] for e in rs]))


@audit.command("keygen")
@common
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for checkpoint-signing.key (mode 0600) and checkpoint-signing.pub.")
def audit_keygen(out_dir: Path) -> None:
    """Make the Ed25519 key pair that signs checkpoints (keep the private key outside the database)."""
    from agreeflow.engine import service
    emit(service.audit_keygen(out_dir), lambda r: click.echo(t("keygen_ok", **r)))


# ----------------------------------------------------------------- calendar (engine/calendar)
@main.group()
def calendar() -> None:
    """Working days, holidays and deadline phrases (Civil Code 2015 arts. 146-148)."""


@calendar.command("holidays")
@common
@click.argument("year", type=int)
def calendar_holidays(year: int) -> None:
    """Every weekday off and every weekend day worked in YEAR, with reason and source."""
    from agreeflow.engine import service
    emit(service.calendar_holidays(settings(), year), lambda r: table(
        t("cal_holidays", year=r["year"]), [t("cal_date"), t("cal_weekday"), t("cal_kind"), t("cal_reason"),
                                            t("cal_source")],
        [[_dmy(d["date"]), d["weekday"], t("cal_working" if d["working"] else "cal_off"), d["reason"], d["source"]]
         for d in r["days"]]))


@calendar.command("is-working")
@common
@click.argument("day", metavar="DATE")
def calendar_is_working(day: str) -> None:
    """Whether DATE (YYYY-MM-DD) is a working day, why, and on whose decision."""
    from agreeflow.engine import service
    emit(service.calendar_day(settings(), day), lambda d: click.echo(t(
        "cal_is_working" if d["working"] else "cal_is_off", date=_dmy(d["date"]), weekday=d["weekday"],
        reason=d["reason"], source=d["source"])))


@calendar.command("add")
@common
@click.argument("start", metavar="DATE")
@click.argument("n", type=int)
@click.option("--working", "unit", flag_value="wd", default=True, help="Count working days (default).")
@click.option("--calendar", "unit", flag_value="d", help="Count calendar days; a day off at the end moves it.")
def calendar_add(start: str, n: int, unit: str) -> None:
    """The due date N working (or calendar) days after DATE, with the days skipped and why."""
    from agreeflow.engine import service
    emit(service.calendar_add(settings(), start, n, unit), _print_due)


@calendar.command("due")
@common
@click.argument("phrase", nargs=-1, required=True)
@click.option("--from", "ref", metavar="DATE", help="Read the phrase on this day (default: today).")
def calendar_due(phrase: tuple[str, ...], ref: str | None) -> None:
    """The due date of a time phrase, e.g. "trong vòng 10 ngày làm việc" or "Quý III/2024"."""
    from agreeflow.engine import service
    emit(service.calendar_due(settings(), " ".join(phrase), ref), _print_due)


def _print_due(r: dict[str, Any]) -> None:
    if "from" in r:
        click.echo(t("cal_phrase", phrase=r["phrase"], kind=word("PHRASE_KINDS", r["kind"]), ref=_dmy(r["from"])))
    if r["due_date"]:
        click.echo(t("Due: {date} ({weekday}), at the end of the day (24:00 Vietnam time)", date=_dmy(r["due_date"]),
                     weekday=r["weekday"]))
    else:
        event = f": {r['pending_event']}" if r.get("pending_event") else ""
        click.echo(t("cal_no_due", kind=word("PHRASE_KINDS", r["kind"]), event=event))
    click.echo(t("cal_explanation"))
    for line in r["explanation"]:
        click.echo(f"  · {line}")


@calendar.command("set-off")
@common
@click.argument("day", metavar="DATE")
@click.option("--reason", required=True, help="Why the day is off (e.g. the holiday's name).")
@click.option("--source", required=True, metavar="DOC", help="The deciding document (e.g. Công văn 12729/VPCP-KGVX).")
def calendar_set_off(day: str, reason: str, source: str) -> None:
    """Make DATE a day off (admin); open deadlines it touches are re-projected and logged."""
    from agreeflow.engine import service
    emit(service.calendar_set_day(settings(), day, "off", reason, source), _print_calendar_change)


@calendar.command("set-working")
@common
@click.argument("day", metavar="DATE")
@click.option("--reason", required=True, help="Why the day is worked (e.g. make-up Saturday for 02/01).")
@click.option("--source", required=True, metavar="DOC", help="The deciding document.")
def calendar_set_working(day: str, reason: str, source: str) -> None:
    """Make DATE a working day, e.g. a make-up Saturday (admin); deadlines re-projected and logged."""
    from agreeflow.engine import service
    emit(service.calendar_set_day(settings(), day, "working", reason, source), _print_calendar_change)


def _print_calendar_change(r: dict[str, Any]) -> None:
    if not r["changed"]:
        click.echo(t("cal_unchanged", date=_dmy(r["date"])))
        return
    kind = t("cal_off" if r["kind"] == "off" else "cal_working")
    click.echo(t("cal_set", date=_dmy(r["date"]), kind=kind, reason=r["reason"], source=r["source"]))
    click.echo(t("cal_moved", n=len(r["moved"])))
    for m in r["moved"]:
        click.echo(f"  {m['case']} {m['label']}: {_dmy(m['before'])} → {_dmy(m['after'])}")
    if r["not_reprojected"]:
        click.echo(t("cal_not_reprojected"))
        for m in r["not_reprojected"]:
            click.echo(f"  {m['case']} {m['deadline']}: {_dmy(m['due_date'])}")


def _dmy(day: Any) -> str:
    """A day (YYYY-MM-DD text or a date) as dd/mm/yyyy, the form Vietnamese documents use (clock.fmt_day)."""
    from agreeflow.engine import service
    return service.fmt_day(day)


# ----------------------------------------------------------------- deadlines, tick, serve, outbox
_NODE = click.option("--node-name", metavar="NAME",
                     help="This process's name in `nodes` and on claimed mail (default host:pid).")


def _log_line() -> Any:
    """serve's log lines for the operator: the time in Vietnam (dd/mm/yyyy HH:MM:SS), the level in words when it
    is not plain information, the logger's name, the message (agreeflow's own are in the catalogue)."""
    import logging
    from datetime import UTC, datetime

    from agreeflow.engine import service
    # Worded now: the lines are formatted in the scheduler's threads, where click's context (the language) is not.
    levels = {"WARNING": t("WARNING"), "ERROR": t("ERROR"), "CRITICAL": t("ERROR")}

    class LogLine(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            when = service.fmt_local(datetime.fromtimestamp(record.created, UTC), seconds=True)
            level = f" {levels[record.levelname]}" if record.levelname in levels else ""
            line = f"{when}{level} [{record.name}] {record.getMessage()}"
            return line + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")
    return LogLine()


@main.command()
@common
@_NODE
@click.option("--no-dispatch", is_flag=True, help="Only queue; leave sending to `serve`.")
def tick(node_name: str | None, no_dispatch: bool) -> None:
    """One sweep at now (or --now): queue due reminders, escalations, digests; then send the outbox."""
    from agreeflow.engine.service import worker
    emit(worker.tick(settings(), node_name, dispatch=not no_dispatch), lambda r: click.echo(counts_text(r)))


@main.command()
@common
@_NODE
@click.option("--interval", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds between sweeps.")
@click.option("--dispatch-interval", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds between outbox rounds.")
def serve(node_name: str | None, interval: float, dispatch_interval: float) -> None:
    """Run the sweep and the mail dispatcher until SIGTERM/SIGINT (APScheduler only wakes them)."""
    import logging

    from agreeflow.engine.service import worker
    handler = logging.StreamHandler()
    handler.setFormatter(_log_line())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: already running" is by design
    emit(worker.serve(settings(), node_name, interval, dispatch_interval), lambda r: click.echo(counts_text(r)))


@main.command()
@common
def nodes() -> None:
    """Scheduler nodes alive now and what each sent in the last hour."""
    from agreeflow.engine import service
    from agreeflow.engine.service import worker
    emit(worker.nodes(settings()), lambda rows: table(
        t("Scheduler nodes"), [t("Name"), t("Machine"), t("Process"), t("Started"), t("Last seen"),
                               t("Sent in the last hour")],
        [[n["name"], n["host"], n["pid"], service.fmt_at_local(n["started_at"]), service.fmt_at_local(n["last_seen"]),
          n["sent_last_hour"]] for n in rows]))


@main.group()
def outbox() -> None:
    """Mail waiting, sent or failed."""


OUTBOX_STATUSES = ["queued", "sending", "delivered", "sent", "failed", "cancelled", "held", "bundled", "skipped"]
"""engine.core.kinds.OutboxStatus, spelled here so that --help imports no engine module (a test compares them)."""


@outbox.command("list")
@common
@click.option("--status", type=click.Choice(OUTBOX_STATUSES), help="Only messages in this status.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
def outbox_list(status: str | None, limit: int) -> None:
    """The newest outbox messages."""
    from agreeflow.engine.service import worker
    emit(worker.outbox_list(settings(), status, limit), lambda rows: table(
        t("Outbox"), [t("Id"), t("status"), t("case"), t("Reminder"), t("Recipient"), t("Tries"),
                      t("Sent / next try"), t("Error")],
        [[m["id"], word("OUTBOX_STATUS", m["status"])
          + (f" ({t('queued {duration} late', duration=_duration(m['late_by_s']))})" if m["late_by_s"] else ""),
          m["case"], rung_text(m["rung"]), m["recipient"], m["tries"], m["sent_at"] or m["next_try_at"],
          word("OUTBOX_NOTES", m["last_error"])] for m in rows]))


@outbox.command("retry")
@common
@click.argument("message_id", metavar="ID", type=click.IntRange(min=1, max=2**62))
def outbox_retry(message_id: int) -> None:
    """Queue a failed or cancelled message again (coordinator or admin)."""
    from agreeflow.engine.service import worker
    emit(worker.outbox_retry(settings(), message_id),
         lambda m: click.echo(f"{m['id']}: {word('OUTBOX_STATUS', m['status'])} → {m['recipient']}"))


# ----------------------------------------------------------------- reports, export, import
def _print_tables(tables: list[Any]) -> None:
    from datetime import date

    from agreeflow.engine import service
    for tbl in tables:
        table(tbl.title, tbl.columns, [[service.fmt_day(c) if isinstance(c, date) else c for c in row]
                                       for row in tbl.rows])


def period(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--to", "end", metavar="DATE", help="Up to this day (inclusive) or ISO-8601 instant.")(f)
    return click.option("--from", "start", metavar="DATE", help="From this day or ISO-8601 instant.")(f)


@audit.command("log")
@common
@click.option("--case", "case_ref", help="Only this case.")
@click.option("--actor", metavar="EMAIL", help="Only what this person (or process) did.")
@click.option("--unit", help="Only cases this unit takes part in.")
@click.option("--kind", help="Only this kind of event (transition, refused, deadline_missed, ...).")
@period
def audit_log(case_ref: str | None, actor: str | None, unit: str | None, kind: str | None,
              start: str | None, end: str | None) -> None:
    """Who did what and when, across all cases (filters combine)."""
    from agreeflow.engine import service
    rows = service.audit_log(settings(), start, end, case=case_ref, actor=actor, unit=unit, kind=kind)
    emit(rows, lambda rs: table(t("audit_log", n=len(rs)), [t("case"), t("seq"), t("at"), *_recorded_heading(rs),
                                                             t("actor"), t("kind"), t("From → to"), t("Step"),
                                                             t("note")],
         [[e["case"], e["seq"], service.fmt_at_local(e["at"]), *_recorded_cell(rs, e), _actor_cell(e),
           word("EVENTS", e["kind"]), _move(e), e.get("trigger_label") or e["trigger"], service.event_note(e, lang())]
          for e in rs]))


@audit.command("export")
@common
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@period
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE (default: standard output).")
def audit_export(fmt: str, start: str | None, end: str | None, output: Path | None) -> None:
    """Every chain field of every event, for outside verification (docs/audit.md)."""
    from agreeflow.engine import service
    if output is None:
        res = service.audit_export(settings(), fmt, sys.stdout, start, end)
        if res["simulation"]:  # the events went to standard output: the kind of database goes to stderr
            click.echo(t("export_simulation"), err=True)
        return
    res = service.output_file(output, lambda fh: service.audit_export(settings(), fmt, fh, start, end))

    def human(r: dict[str, Any]) -> None:
        click.echo(t("export_ok", **r))
        click.echo(t("export_simulation" if r["simulation"] else "export_real"))
        if r["before_recorded_at"]:
            click.echo(t("export_before_recorded_at", n=r["before_recorded_at"]))
    emit(res | {"file": str(output)}, human)


@audit.command("checkpoint")
@common
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE (default: standard output).")
def audit_checkpoint(output: Path | None) -> None:
    """Pin every chain's head and their Merkle root; keep the file OUTSIDE the database (docs/audit.md)."""
    from agreeflow.engine import service
    cp = service.audit_checkpoint(settings())
    if output is None:
        click.echo(service.checkpoint_text(cp), nl=False)
        return
    service.output_file(output, lambda fh: fh.write(service.checkpoint_text(cp)))
    emit({k: v for k, v in cp.items() if k != "heads"} | {"file": str(output)},
         lambda r: click.echo(t("checkpoint_ok", **r)))


@main.group()
def report() -> None:
    """Reports computed from the log (workflow meanings: engine/data/report-map.yaml)."""


@report.command("compliance")
@common
@period
@click.option("--unit", help="Only this unit's steps and tasks.")
@click.option("--map", "map_file", type=click.Path(path_type=Path), help="Report map (default: the shipped one).")
def report_compliance(start: str | None, end: str | None, unit: str | None, map_file: Path | None) -> None:
    """Every statutory step and assigned task: on time, late by N working days, or open and overdue."""
    from agreeflow.engine import service
    res = service.report_compliance(settings(), start, end, unit, map_file)
    emit(res, lambda r: _print_tables(service.compliance_tables(r, lang())))


@report.command("annual")
@common
@click.option("--year", type=int, required=True, help="Calendar year, e.g. 2024.")
@click.option("--xlsx", type=click.Path(path_type=Path), help="Also write an XLSX workbook (one sheet per section).")
@click.option("--docx", type=click.Path(path_type=Path), help="Also write a DOCX report.")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(path_type=Path),
              help="Print this checkpoint's Merkle root in the report (audit checkpoint).")
@click.option("--map", "map_file", type=click.Path(path_type=Path), help="Report map (default: the shipped one).")
def report_annual(year: int, xlsx: Path | None, docx: Path | None, checkpoint_file: Path | None,
                  map_file: Path | None) -> None:
    """Agreements, delegations, consultations and tasks of one year (vi; --lang en)."""
    from agreeflow.engine import service
    res = service.report_annual(settings(), year, map_file, checkpoint_file, xlsx=xlsx, docx=docx)
    sections = service.annual_sections(res, lang())

    def human(r: dict[str, Any]) -> None:
        console().print(f"[bold]{service.annual_title(r, lang())}[/bold]")
        for sec in sections:
            console().print(f"\n[bold]{sec.title}[/bold]")
            _print_tables(sec.tables)
        for w in r["warnings"]:
            click.echo(f"⚠ {w}", err=True)
    emit(res, human)


@main.command("letter")
@common
@click.argument("case_ref", metavar="CASE")
@click.argument("kind")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Write to FILE (default: CASE-KIND.docx here).")
@click.option("--attach", is_flag=True, help="Also attach the letter to the case (logged).")
@click.option("--number", type=click.IntRange(min=1, max=999_999),
              help="The registry's number (Số); default: left blank for the clerk.")
@click.option("--signer", metavar="EMAIL", help="Who signs (default: the head of the issuing body; a deputy "
                                                "signs 'KT.' for the head).")
def letter(case_ref: str, kind: str, out: Path | None, attach: bool, number: int | None,
           signer: str | None) -> None:
    """Write a case's letter as a DOCX in Decree 30/2020 form (KIND: opinions_request, submission,
    signing_report, termination_notice; templates: docs/letters.md)."""
    from agreeflow.engine import service
    res = service.write_letter(settings(), case_ref, kind, out, attach=attach, number=number, signer=signer)
    emit(res, lambda r: click.echo(t("letter_attached" if r["attached"] else "letter_ok", **r)))


@main.group("export")
def export_group() -> None:
    """Files for other programs."""


@export_group.command("ics")
@common
@click.option("--unit", help="Only this unit's deadlines.")
@click.option("--person", metavar="EMAIL", help="Only the deadlines of this person's unit.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE (default: standard output).")
def export_ics(unit: str | None, person: str | None, output: Path | None) -> None:
    """Open deadlines as calendar to-dos; importing again updates them (stable UIDs)."""
    from agreeflow.engine import service
    if unit and person:
        raise click.UsageError("give --unit or --person, not both")
    data, n = service.export_ics(settings(), unit, person)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        return
    service.output_file(output, lambda fh: fh.write(data), binary=True)
    emit({"file": str(output), "todos": n}, lambda r: click.echo(t("ics_ok", **r)))


@main.group()
def tasks() -> None:
    """Assigned tasks (workflow task)."""


@tasks.command("import")
@common
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show the due dates; write nothing.")
def tasks_import(file: Path, dry_run: bool) -> None:
    """Open one task per row of a plan (CSV, XLSX or YAML); any bad row rejects the whole file."""
    from agreeflow.engine import service
    fmt_day = service.fmt_day
    res = service.import_tasks(settings(), file, dry_run)
    emit(res, lambda r: table(t("import_dry" if r["dry_run"] else "import_ok", n=len(r["tasks"]), file=r["file"]),
                              [t("case"), t("Where in the file"), t("title"), t("unit"), t("due")],
                              [[x["id"] or "—", _plan_row(x), x["title"], x["lead_unit"],
                                fmt_day(x["due_date"]) or x["due_phrase"]] for x in r["tasks"]]))


def _plan_row(x: dict[str, Any]) -> str:
    """Where a task is in its plan: "dòng 49 (STT 2.7)" — the file's line or row, and the plan's own number."""
    if x.get("row_number") is None:
        where = str(x["row"])
    else:
        where = t("row {n}" if x.get("row_kind") == "row" else "line {n}", n=x["row_number"])
    return where + (f" ({t('No.')} {x['no']})" if x.get("no") not in (None, "") else "")


# ----------------------------------------------------------------- demo, plan
_HOST = click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
_PORT = click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True,
                     help="Port to listen on.")


@main.command()
@common
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Stop the simulated clock at this date.")
@click.option("--keep", is_flag=True, help="Keep the demo database to explore with the other commands.")
@click.option("--web", "serve_web", is_flag=True, help="Then serve the demo's database on the web (implies --keep).")
@_HOST
@_PORT
def demo(until: Any, keep: bool, serve_web: bool, host: str, port: int) -> None:
    """Run the whole job on a simulated clock (21/06/2024 → 31/12/2024), fresh database, local mail sink."""
    from rich.progress import Progress

    from agreeflow.engine.service import demo as demo_mod

    quiet = as_json()
    url = f"http://{host}:{port}" if serve_web else None
    with Progress(disable=quiet, transient=True) as bar:
        task = bar.add_task("21/06/2024 → …", total=None)

        def tick(day: Any, total: int) -> None:
            bar.update(task, total=total, advance=1, description=_dmy(day))
        result = demo_mod.run(until=until.date() if until else None, lang=lang(), progress=tick, base_url=url)
    summary = demo_mod.summarise(result)
    keep = keep or serve_web
    if not keep:
        demo_mod.discard_database(result)
    summary["kept"] = keep
    emit(summary, _print_demo)
    if serve_web:
        sign_ins = demo_mod.web_sign_ins(result)
        emit({"url": url, "sign_ins": sign_ins}, lambda r: _print_sign_ins(r["url"], r["sign_ins"]))
        _serve(demo_mod.settings_of(result), host, port, scheduler=False, base_url=url)


def _print_sign_ins(url: str, people: list[dict[str, Any]]) -> None:
    click.echo(t("Open {url} and sign in as:", url=url))
    table(t("Trial accounts"), [t("E-mail"), t("Name"), t("Roles"), t("Password")],
          [[p["email"], p["name"], ", ".join(word("ROLES", x) for x in p["roles"]), p["password"]] for p in people])


def _serve(settings_: Any, host: str, port: int, scheduler: bool, base_url: str | None = None) -> None:
    from agreeflow.web.app import run
    from agreeflow.web.config import WebConfig
    run(settings_, WebConfig.from_env(host, port, base_url), scheduler=scheduler)


@main.command()
@common
@_HOST
@_PORT
@click.option("--with-scheduler", is_flag=True, help="Also run the sweep and the mail dispatcher (as `serve`).")
def web(host: str, port: int, with_scheduler: bool) -> None:
    """Serve the web pages (sign-in, my work, cases, reply links) until interrupted."""
    s = settings()
    click.echo(t("agreeflow web: {url} (Ctrl+C to stop)", url=f"http://{host}:{port}"), err=True)
    _serve(s, host, port, with_scheduler)


def _print_demo(r: dict[str, Any]) -> None:
    table(t("Timeline"), [t("at"), t("case"), t("kind"), t("From → to"), t("actor")],
          [[e["at"], e["case"], word("EVENTS", e["kind"]), _move(e) or (e.get("trigger_label") or e["trigger"] or ""),
            actor_text(e["actor"])] for e in r["timeline"]])
    table(t("Mail sent, by unit"), [t("unit"), t("Mails")],
          [[u, ", ".join(f"{rung_text(k.partition(':')[0])} ({word('OUTBOX_STATUS', k.partition(':')[2])}): {n}"
                         for k, n in sorted(c.items()))] for u, c in sorted(r["mail_per_unit"].items())])
    counts: dict[str, int] = {}
    for d in r["compliance"]:
        counts[d["status"]] = counts.get(d["status"], 0) + 1
    table(t("deadlines"), [t("case"), t("deadlines"), t("unit"), t("due"), t("status"), t("Margin")],
          [[d["case"], d["deadline"], d["unit"], _dmy(d["due_date"]), word("DEADLINE_STATUS", d["status"]),
            _margin(d["margin_wd"]) if d["margin_wd"] is not None else ""] for d in r["compliance"]])
    click.echo(t("Deadline outcomes: {outcomes}", outcomes=counts_text(dict(sorted(counts.items())))))
    click.echo(t("verify_ok", **r["audit"]))
    click.echo(t("E-mails (.eml files): {n} — {folder}", n=r["eml_files"], folder=r["mail_dir"]))
    if r["kept"]:
        click.echo(t("Database kept. Explore it with: {command}",
                     command=f"export AGREEFLOW_HOME={r['data_dir']}; agreeflow case list"))
    else:
        click.echo(t("(--keep keeps the database to explore)"))




# ----------------------------------------------------------------- plan, consultation rounds, flags
@main.command()
@common
@click.argument("workflow")
@click.option("--start", required=True, metavar="DATE", help="Day 0: the day the dossier is sent (YYYY-MM-DD).")
@click.option("--by", metavar="DATE", help="Target date: is it feasible, and by how many working days does it miss?")
@click.option("--to", "goal", metavar="STATE", help="State to reach (default: the workflow's planning goal).")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="A planned case field (repeatable).")
def plan(workflow: str, start: str, by: str | None, goal: str | None, fields: tuple[str, ...]) -> None:
    """The fastest legal path with earliest and latest dates, citations and UNCONFIRMED limits."""
    from agreeflow.engine import service
    emit(service.plan(settings(), workflow, start, by, goal, list(fields)), _print_plan)


def _day(iso: str) -> str:
    return _dmy(iso)


def _span(n: int, unit: str) -> str:
    """A legal period in words: "7 working days", "15 days", "3 months" (units wd, d, m)."""
    from agreeflow.engine import service
    return service.words.span(n, unit, lang())


def _print_plan(r: dict[str, Any]) -> None:
    click.echo(f"{r['title']} ({r['workflow']} v{r['version']}) — {_day(r['start'])} → {r['goal_label']}")
    for w in r["warnings"]:
        click.echo(f"⚠ {w}")
    unconfirmed = f" ⚠ {t('UNCONFIRMED')}"
    table(t("Plan"), [t("Step"), t("Command"), t("Earliest"), t("Latest"), t("wd"), t("Time limit"), t("citation")],
          [[s["label"], s["via"] or "", _day(s["leave_earliest"]), _day(s["leave_latest"]), s["working_days"],
            _span(s["wait"]["max"], s["wait"]["unit"]) if s["wait"] else "",
            (s["wait"]["citation"] or s["wait"]["note"]) + ("" if s["wait"]["confirmed"] else unconfirmed)
            if s["wait"] else (s["via_citation"] or "") + ("" if s["via_confirmed"] else " ⚠")] for s in r["steps"]])
    for s in r["steps"]:
        for line in s["explanation"]:
            click.echo(f"  · {line}")
    click.echo(t("Earliest if every reply arrives at once: {date}", date=_day(r["earliest"])))
    click.echo(t("Earliest legal completion (full statutory periods): {date} ({days})", date=_day(r["latest"]),
                 days=_span(r["working_days"], "wd")))
    if r["feasible"] is not None:
        why = "; ".join(f"{b['label']} {_span(b['days'], b['unit'])} ({b['citation']})" for b in r["binding"])
        if r["feasible"]:
            click.echo(t("FEASIBLE by {date}", date=_day(r["by"])))
        else:
            click.echo(t("INFEASIBLE by {date}: misses by {days} — because of: {why}", date=_day(r["by"]),
                         days=_span(r["missed_by_wd"], "wd"), why=why))
    if r["unconfirmed"]:
        click.echo("⚠ " + t("unconfirmed") + ":\n  " + "\n  ".join(r["unconfirmed"]))


@main.group()
def consultation() -> None:
    """Consultation rounds (xin ý kiến): summary, closing at the deadline, follow-up round."""


@consultation.command("summary")
@common
@click.argument("case_ref", metavar="CASE")
def consultation_summary(case_ref: str) -> None:
    """Who agreed, who commented what, who was deemed to agree, who has not answered."""
    from agreeflow.engine import service
    emit(service.round_summary(settings(), case_ref), _print_round)


def _print_round(r: dict[str, Any]) -> None:
    from agreeflow.engine import service
    click.echo(f"{r['id']} — {r['title']} ({t('state')}: {r.get('state_label') or r['state']}; "
               f"{t('No reply means')}: {word('CHOICES', r['on_silence'])})")
    table(t("Replies"), [t("unit"), t("status"), t("at"), t("note"), t("documents")],
          [[f"{x['unit']} {x['unit_name']}", x.get("state_label") or word("COUNTS", x["status"]),
            service.fmt_at_local(x["at"]), x["comment"] or (x["rule"]["note"] if x["rule"] else ""),
            ", ".join(x["documents"])] for x in r["replies"]])
    click.echo(counts_text(dict(sorted(r["counts"].items()))))


@consultation.command("close-round")
@common
@click.argument("case_ref", metavar="CASE")
def consultation_close_round(case_ref: str) -> None:
    """At the deadline: apply what silence means to every addressee that has not answered."""
    from agreeflow.engine import service
    emit(service.close_round(settings(), case_ref), lambda r: _print_round(r["summary"]))


@consultation.command("follow-up")
@common
@click.argument("case_ref", metavar="CASE")
@click.option("--reply-by", required=True, help="Reply deadline of the new round (a date or a phrase).")
@click.option("--sent-on", metavar="DATE", help="Date of the new letter.")
@click.option("--letter-no", help="Number of the new letter.")
@click.option("--on-silence", type=click.Choice(["overdue", "deemed_agreed"]),
              help="What no reply means (default: as before).")
@click.option("--send", is_flag=True, help="Send the new round at once.")
def consultation_follow_up(case_ref: str, reply_by: str, sent_on: str | None, letter_no: str | None,
                           on_silence: str | None, send: bool) -> None:
    """Open the next round, addressed only to the units that did not answer."""
    from agreeflow.engine import service
    res = service.follow_up(settings(), case_ref, reply_by, sent_on, on_silence, letter_no, send)
    emit(res, lambda r: click.echo(t("Opened the round {id} for: {units}", id=r["id"],
                                     units=", ".join(r["fields"]["units"]))))


@case.command("flags")
@common
def case_flags() -> None:
    """Run the engine's checks (delegations started without approval) and list flagged cases."""
    from agreeflow.engine import service
    emit(service.check_flags(settings()), lambda r: table(
        t("Flagged cases"), [t("case"), t("workflow"), t("state"), t("Flags")],
        [[c["id"], c["workflow_title"], c["state_label"], ", ".join(word("FLAGS", f) for f in c["flags"])]
         for c in r["flagged"]]))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
