"""``agreeflow web`` as a server: its secret file, and the scheduler running in the same process."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from agreeflow.engine import service
from agreeflow.engine.core import clock
from agreeflow.engine.core.store import Node
from agreeflow.web.app import create_app
from agreeflow.web.config import WebConfig
from tests.web_support import T0, eml_messages, free_port, open_agreement, serving, settings_for


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_BASE_URL", "AGREEFLOW_SECRET_FILE", "AGREEFLOW_SMTP"):
        monkeypatch.delenv(var, raising=False)
    folder = tmp_path / "home"
    clock.set_now(T0)
    service.init(settings_for(folder, f"sqlite:///{folder / 'agreeflow.db'}"), simulation=True)
    yield folder
    clock.set_now(None)


def test_the_signing_secret_is_a_file_of_the_data_folder_only_its_owner_reads(home: Path):
    url = f"sqlite:///{home / 'agreeflow.db'}"
    create_app(settings_for(home, url), WebConfig())
    secret = home / "secret.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    key = secret.read_text().strip()
    assert len(bytes.fromhex(key)) == 32
    assert key.encode() not in (home / "agreeflow.db").read_bytes()
    create_app(settings_for(home, url), WebConfig())
    assert secret.read_text().strip() == key  # made once, then kept: sessions survive a restart


@pytest.mark.slow
def test_with_the_scheduler_the_web_process_also_sends_the_reminders_with_their_links(home: Path):
    url = f"sqlite:///{home / 'agreeflow.db'}"
    open_agreement(home, url)
    clock.set_now("2024-03-08T09:00:00+07:00")  # the reply reminders fall due (3 working days before 13/03)
    port = free_port()
    app = create_app(settings_for(home, url), WebConfig.from_env("127.0.0.1", port), scheduler=True)
    with serving(app, port):
        assert httpx.get(f"http://127.0.0.1:{port}/login").status_code == 200
        deadline = time.monotonic() + 60
        while not any("/reply/" in str(m.get_body(preferencelist=("plain",)).get_content())
                      for m in eml_messages(home / "mail")):
            assert time.monotonic() < deadline, "the scheduler sent nothing"
            time.sleep(0.2)
    with service.reading(settings_for(home, url)) as s:
        assert s.exec(select(Node)).all() == []  # the scheduler's node left the table when the web stopped
