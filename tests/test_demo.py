"""`agreeflow demo` runs the whole job on a fresh database and leaves real e-mails to read."""

from __future__ import annotations

import email
import json
import shutil
from email import policy
from pathlib import Path

from click.testing import CliRunner

from agreeflow import cli


def test_demo_runs_the_seed_portfolio_and_leaves_parseable_mail(monkeypatch):
    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_DB", "AGREEFLOW_SMTP", "AGREEFLOW_WORKFLOWS"):
        monkeypatch.delenv(var, raising=False)
    res = CliRunner().invoke(cli.main, ["demo", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    mail_dir = Path(summary["mail_dir"])
    try:
        assert [s for s in summary["steps"] if not s["ok"]] == []
        assert summary["audit"]["broken"] == [] and summary["audit"]["events"] > 300
        assert not (Path(summary["data_dir"]) / "agreeflow.db").exists()  # discarded without --keep
        kinds = [e["kind"] for e in summary["timeline"]]
        assert kinds.count("deemed_agreed") == 4  # the four silent districts of the consultation round
        assert "escalated" in kinds and "suspended" in kinds and "resumed" in kinds
        statuses = {(d["case"], d["unit"]): d["status"] for d in summary["compliance"]}
        assert statuses[("NV-2024-0001", "SNGV")] == "met" and statuses[("NV-2024-0002", "CA")] == "missed"

        messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in mail_dir.glob("*.eml")]
        assert len(messages) == summary["eml_files"] > 20
        subjects = [str(m["Subject"]) for m in messages]
        to_lucngan = [m for m in messages if "lucngan@bacgiang.example" in str(m["To"])]
        assert any("[Nhắc hạn]" in str(m["Subject"]) and "hạn 30/09/2024" in str(m["Subject"]) for m in to_lucngan)
        escalations = [m for m in messages if "ubnd@bacgiang.example" in str(m["To"])]
        assert escalations and all("NV-2024-0004" in str(m["Subject"]) or "NV-2024-0002" in str(m["Subject"])
                                   or "TTQT" in str(m["Subject"]) or "YK-" in str(m["Subject"]) for m in escalations)
        reminder = next(m for m in to_lucngan if str(m["Subject"]).startswith("[Nhắc hạn] NV-2024-0004"))
        body = reminder.get_body(("plain",)).get_content()
        assert "Quý III năm 2024" in body and "Lục Ngạn" in body and "30/09/2024" in body
        assert "Lục Ngạn" in reminder.get_body(("html",)).get_content()
        assert len({str(m["Message-ID"]) for m in messages}) == len(messages)
        assert all("Nhắc" in s or "Quá hạn" in s or "Báo cáo" in s or "hạn" in s.lower() for s in subjects)
    finally:
        shutil.rmtree(summary["data_dir"], ignore_errors=True)
