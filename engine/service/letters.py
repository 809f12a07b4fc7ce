"""Letters of a case in Decree 30/2020 form: written to a file, and attached to the case when asked."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from sqlmodel import Session

from agreeflow.engine.core import authority, cases, clock, files
from agreeflow.engine.core.kinds import Role
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.reports import decree30, letters
from agreeflow.engine.service import base
from agreeflow.engine.service.base import now, on_case
from agreeflow.engine.service.present import check_output, output_file

WRITERS = (Role.COORDINATOR, Role.ADMIN)
"""Who may write a case's letters and attach them: DOFA's coordinators and administrators."""


def letter_kinds(settings: Settings) -> dict[str, str]:
    """The letter kinds written for cases (name → what it is), from the templates in force."""
    return letters.kinds(settings.letter_templates, settings.lang)


def docx_bytes(doc: decree30.Document) -> bytes:
    """A Decree 30 document as the bytes of a .docx file."""
    buffer = io.BytesIO()
    decree30.write_docx(buffer, doc)
    return buffer.getvalue()


def write_letter(settings: Settings, ref: str, kind: str, out: Path | None = None, attach: bool = False,
                 number: int | None = None, signer: str | None = None) -> dict[str, Any]:
    """Write the letter ``kind`` of case ``ref`` to ``out`` (default ``<CASE>-<kind>.docx``); attach it if asked.

    Checked in this order, nothing written before the last: the kind and its
    template (exit 2), the output path (exit 2), the case (exit 2), who acts —
    a coordinator or an admin (exit 3, the refusal logged on the case) — then
    whether the case has this letter and who signs it (exit 2).  With
    ``attach`` the file is kept in the content store and listed among the
    case's documents under the kind's name, logged as ``attached`` in the same
    transaction.  The letter is dated the day of the command (Vietnam time);
    ``number`` is the registry's (none leaves room for the clerk).
    """
    spec = letters.kind(settings.letter_templates, kind, settings.lang)
    target = out if out is not None else Path(f"{ref}-{kind}.docx")
    check_output(target)

    def work(s: Session) -> tuple[bytes, dict[str, Any]]:
        case = cases.find(s, ref, lock=attach)
        who = base.writer(s, settings, action=f"letter {kind}", target=ref)
        role = authority.require_any(who, WRITERS, f"letter {kind}", ref)
        at = now()
        doc = letters.case_letter(s, case, spec, who, at, settings.letter_templates, number=number, signer=signer)
        data = docx_bytes(doc)
        meta = {"kind": kind, "name": target.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                "letter": kind, "number": number, "day": clock.to_local(at).date().isoformat()}
        if attach:
            if clock.is_simulated():
                cases.check_time_order(s, case, at, who.email)
            cases.attach_document(s, case, meta, who.email, role, at)
            files.put_blob(settings.files_dir, data)
        return data, meta | {"signer": doc.signature.name, "signature": doc.signature.lines,
                             "number_line": decree30.number_line(doc.number, doc.symbol, doc.lang)}
    data, meta = on_case(settings, ref, f"letter {kind}", work)
    output_file(target, lambda fh: fh.write(data), binary=True)
    return {"case": ref, "kind": kind, "label": spec.label, "file": str(target), "attached": attach,
            "template": spec.file, **{k: meta[k] for k in ("size", "sha256", "number_line", "signer", "signature")}}
