"""What ``pip install .`` puts into site-packages: one name, ``agreeflow``, and nothing generic."""

from __future__ import annotations

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
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
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


def test_version_option_prints_the_installed_version() -> None:
    from importlib.metadata import version
    result = CliRunner().invoke(cli.main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"agreeflow {version('agreeflow')}"
