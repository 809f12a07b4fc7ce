"""No input crashes agreeflow, exhausts the machine or writes half a command: a property-based fuzzer.

Hypothesis generates command lines (every command that takes input, hostile values in every slot), field
values, YAML documents (workflows, directory, plans, report map, calendar — shipped files mutated, random
trees, hostile bytes) and environments.  Every run must end with exit 0, 2 or 3, print no traceback, leave
the database byte for byte as it was when it says exit 2, and end within a bound (tests/fuzzing.py).  Real
SQLite files and a real PostgreSQL; a fresh copy of one populated database per example.

CI runs a fixed seed and budget (``AGREEFLOW_FUZZ=ci``, the default); the longer run is in docs/inputs.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreeflow.engine.core import db
from agreeflow.engine.core.errors import UserInputError
from agreeflow.engine.legaltime.calendar import sources
from tests import fuzzing
from tests.fuzzing import budget, check_run, invoke

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One populated simulation database (SQLite), copied afresh for every example."""
    tmp = tmp_path_factory.mktemp("fuzz-pristine")
    scene = fuzzing.Scene(tmp / "home", f"sqlite:///{tmp / 'home' / 'agreeflow.db'}", tmp)
    scene.home.mkdir()
    run = invoke(scene, ["init", "--simulation"], {})
    assert run.result.exit_code == 0, run.describe()
    fuzzing.populate(scene)
    path = scene.home / "agreeflow.db"
    from tests.databases import sqlite_snapshot
    sqlite_snapshot(path)  # the WAL folded into the file: the file alone is the database
    return path


@pytest.fixture(scope="module")
def pg_template(pg_cluster) -> str:  # noqa: ANN001 (a session fixture of conftest)
    """The same populated database on PostgreSQL, as a template every example copies."""
    name = pg_cluster.new_database()
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-pg-"))
    scene = fuzzing.Scene(tmp / "home", pg_cluster.url(name), tmp)
    scene.home.mkdir()
    fuzzing.populate(scene)
    db.dispose_all()
    yield name
    pg_cluster.drop_database(name)


def _sqlite_case(pristine: Path, work: Path, data: st.DataObject, argv: st.SearchStrategy[list[str]],
                 env: st.SearchStrategy[dict[str, str]] | None = None) -> None:
    scene, unchanged = fuzzing.sqlite_scene(pristine, work)
    args = data.draw(argv, label="argv") + data.draw(fuzzing.global_options(), label="options")
    environment = data.draw(env, label="env") if env is not None else {}
    check_run(invoke(scene, args, environment), unchanged)


@budget(90)
@given(data=st.data())
def test_command_lines_sqlite(pristine, tmp_path, data):
    _sqlite_case(pristine, tmp_path / "work", data, fuzzing.command_lines(tmp_path / "work"))


@budget(20)
@given(data=st.data())
def test_command_lines_postgresql(pg_cluster, pg_template, tmp_path, data):
    scene, unchanged, name = fuzzing.postgres_scene(pg_cluster, pg_template, tmp_path / "work")
    try:
        args = data.draw(fuzzing.command_lines(tmp_path / "work"), label="argv") + data.draw(fuzzing.global_options())
        check_run(invoke(scene, args, {}), unchanged)
    finally:
        pg_cluster.drop_database(name)


@budget(50)
@given(data=st.data())
def test_field_values(pristine, tmp_path, data):
    """Fields as an official would type them, on opening and on each step, as each kind of person."""
    argv = st.one_of(
        fuzzing.seq(["case", "open"], fuzzing.one(st.sampled_from(["task", "agreement-province", "agreement-local",
                                                                    "delegation-outbound", "consultation"])),
                    ["--title", "Hồ sơ thử"], fuzzing.many("--field", fuzzing.field_pairs, 6)),
        fuzzing.seq(["case", "fire"], fuzzing.one(st.sampled_from(["NV-2024-0001", "NV-2024-0002",
                                                                   "TTQT-2024-0001"])),
                    fuzzing.one(fuzzing.triggers), fuzzing.many("--field", fuzzing.field_pairs, 6)))
    scene, unchanged = fuzzing.sqlite_scene(pristine, tmp_path / "work")
    args = data.draw(argv, label="argv") + ["--as", data.draw(st.sampled_from(fuzzing.PEOPLE), label="as"),
                                            "--now", data.draw(fuzzing.instants, label="now")]
    check_run(invoke(scene, args, {}), unchanged)


@budget(60)
@given(data=st.data())
def test_yaml_documents(pristine, tmp_path, data):
    """Each kind of YAML file through the commands that read it (the admin loads directories)."""
    kind = data.draw(st.sampled_from(["workflow", "directory", "plan", "report-map"]), label="kind")
    scene, unchanged = fuzzing.sqlite_scene(pristine, tmp_path / "work")
    path = tmp_path / "work" / f"doc-{kind}.yaml"
    path.write_bytes(data.draw(fuzzing.yaml_document(kind), label="document"))
    commands = {
        "workflow": [["workflows", "lint", str(path)]],
        "directory": [["directory", "check", str(path)], ["directory", "load", str(path)],
                      ["init", "--directory", str(path)]],
        "plan": [["tasks", "import", str(path), "--dry-run"], ["tasks", "import", str(path)]],
        "report-map": [["report", "compliance", "--map", str(path)],
                       ["report", "annual", "--year", "2024", "--map", str(path)]],
    }[kind]
    args = data.draw(st.sampled_from(commands), label="command")
    who = fuzzing.ADMIN if kind == "directory" else fuzzing.COORD
    check_run(invoke(scene, args, {"AGREEFLOW_USER": who, "AGREEFLOW_NOW": "2024-07-01T09:00"}), unchanged)


@budget(15)
@given(data=st.data())
def test_a_workflow_folder_with_a_hostile_file(pristine, tmp_path, data):
    """A bad file in the workflows folder (AGREEFLOW_WORKFLOWS): every command says so, exit 2, quickly."""
    import shutil
    folder = tmp_path / "workflows"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(fuzzing.ROOT / "workflows", folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    victim = data.draw(st.sampled_from(sorted(p.name for p in folder.glob("*.yaml"))), label="file")
    (folder / victim).write_bytes(data.draw(fuzzing.yaml_document("workflow"), label="document"))
    from agreeflow.engine.core import definitions
    definitions._registry.cache_clear()
    try:
        _sqlite_case(pristine, tmp_path / "work", data, st.sampled_from([["case", "list"], ["workflows", "list"],
                                                                ["case", "show", "NV-2024-0001"], ["tick"]]),
                     st.just({"AGREEFLOW_WORKFLOWS": str(folder), "AGREEFLOW_USER": fuzzing.COORD,
                              "AGREEFLOW_NOW": "2024-09-24T08:00"}))
    finally:
        definitions._registry.cache_clear()


@budget(40)
@given(data=st.data())
def test_environments(pristine, tmp_path, data):
    """Bad environment variables are exit 2 before any work, whatever the command."""
    argv = st.sampled_from([["case", "list"], ["tick", "--no-dispatch"], ["tick"], ["case", "show", "NV-2024-0001"],
                            ["audit", "verify"], ["report", "compliance"], ["whoami"],
                            ["case", "fire", "NV-2024-0002", "report", "--field", "result_document=x", "--attach",
                             "result=text.txt"]])  # the example's folder is the working directory
    _sqlite_case(pristine, tmp_path / "work", data, argv, fuzzing.environments(tmp_path / "work"))


@budget(150)
@given(document=fuzzing.yaml_document("calendar"))
def test_calendar_data_files(tmp_path, document):
    """The calendar data file (engine/data/calendar-vn.yaml or an operator's copy): read, or exit-2 error."""
    path = tmp_path / "calendar.yaml"
    path.write_bytes(document)
    try:
        with fuzzing.hard_stop(fuzzing.BOUND_S):
            sources.read_data_file(path)
    except UserInputError as err:
        assert err.exit_code == 2 and err.render("vi") and err.render("en")
