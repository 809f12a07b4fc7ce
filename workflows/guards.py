"""Named guards used by the workflow files (registered in engine.guards).

Each returns ``None`` to allow or a ``Reason`` saying, in Vietnamese and
English, what is missing and what to do.
"""

from __future__ import annotations

from engine.guards import GuardContext, Reason, register_guard


def has_attachment(ctx: GuardContext) -> Reason | None:
    """At least one document is attached to the case."""
    if ctx.fields.get("_documents"):
        return None
    return Reason("hồ sơ chưa có văn bản đính kèm. Đính kèm bằng --attach TỆP.",
                  "the case has no attached document. Attach one with --attach FILE.")


register_guard("has_attachment", has_attachment)
