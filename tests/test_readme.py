"""The README stays true: every command is documented, and the quick start is the two commands."""

from __future__ import annotations

from pathlib import Path

import click

import agreeflow.engine as engine
from agreeflow import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(cmd: click.Command, prefix: list[str]) -> list[str]:
    if isinstance(cmd, click.Group):
        return [c for name, sub in sorted(cmd.commands.items()) for c in _commands(sub, prefix + [name])]
    return [" ".join(prefix)]


def test_every_command_is_in_the_readme():
    missing = [c for c in _commands(cli.main, ["agreeflow"]) if f"`{c}`" not in README]
    assert missing == []


def test_quick_start_is_exactly_the_two_commands():
    block = README.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert block.strip().splitlines() == ["pip install . && agreeflow demo",
                                          "pip install '.[test]' && python -m pytest"]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet '.[test]' && python -m pytest" in ci


def test_engine_exports_only_the_service_api_and_errors():
    """The errors, and the catalogue's words the command line needs before it knows which command runs (help)."""
    assert sorted(engine.__all__) == ["AgreeflowError", "RefusedError", "TamperingError", "UserInputError",
                                      "speaking", "text", "translations"]
