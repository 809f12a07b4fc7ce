"""What ``pip install .`` puts into site-packages: one name, ``agreeflow``, and nothing generic."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from agreeflow import cli

ROOT = Path(__file__).resolve().parent.parent


def _declared_packages() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]


def test_every_python_folder_is_declared_as_a_package() -> None:
    on_disk = {"agreeflow"} | {
        "agreeflow." + ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("engine", "workflows", "notifications", "web") for p in (ROOT / top).rglob("__init__.py")
    }
    assert sorted(on_disk) == sorted(_declared_packages())


@pytest.mark.slow
def test_wheel_installs_nothing_at_the_top_level_but_agreeflow(tmp_path: Path) -> None:
    # built from a copy of the tracked files: a checkout's stale build/ folder must not lend the wheel a file
    source = tmp_path / "src"
    for name in subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.split():
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("agreeflow-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"agreeflow"}
    for expected in ("agreeflow/cli.py", "agreeflow/engine/service/__init__.py",
                     "agreeflow/workflows/agreement-province.yaml",
                     "agreeflow/engine/migrations/versions/0001_initial_schema.py",
                     "agreeflow/web/templates/case.html", "agreeflow/web/static/vendor/htmx.min.js",
                     "agreeflow/web/static/vendor/htmx.LICENSE", "agreeflow/web/static/vendor/pico.LICENSE.md"):
        assert expected in names, expected
    assert not any(n.startswith(("agreeflow/tests/", "agreeflow/bench/")) for n in names)
    # every data file the repository keeps beside the code is in the wheel (a template, a YAML file left
    # out works from a checkout and fails after `pip install .`: register.yaml once did)
    tracked = subprocess.run(["git", "ls-files", "engine", "notifications", "web", "workflows"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    data = [f for f in tracked if not f.endswith(".py") and (ROOT / f).is_file()]
    assert data and [f for f in data if f"agreeflow/{f}" not in names] == []


def test_version_option_prints_the_installed_version() -> None:
    from importlib.metadata import version
    result = CliRunner().invoke(cli.main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"agreeflow {version('agreeflow')}"
