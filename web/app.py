"""The ASGI application and the server: routes, static files, and (optionally) the scheduler in the same process."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from agreeflow.engine import service
from agreeflow.engine.service import worker
from agreeflow.web import audit_views, views
from agreeflow.web.config import WebConfig
from agreeflow.web.context import Site
from agreeflow.web.jobs import Jobs
from agreeflow.web.render import environment

STATIC = Path(__file__).resolve().parent / "static"


def routes() -> list[Any]:
    e = views.endpoint
    return [
        Route("/", e(views.my_work)),
        Route("/login", e(views.login_page, public=True)),
        Route("/login", e(views.login, public=True), methods=["POST"]),
        Route("/logout", e(views.logout, public=True), methods=["POST"]),
        Route("/login/link", e(views.link_request, public=True), methods=["POST"]),
        Route("/login/link/{token}", e(views.link_page, public=True)),
        Route("/login/link/{token}", e(views.link_use, public=True), methods=["POST"]),
        Route("/cases", e(views.case_list)),
        Route("/cases.xlsx", e(views.case_export)),
        Route("/cases/{ref}", e(views.case)),
        Route("/cases/{ref}/fire", e(views.fire), methods=["POST"]),
        Route("/cases/{ref}/version", e(views.case_version)),
        Route("/cases/{ref}/round", e(views.case_round)),
        Route("/cases/{ref}/files/{sha}", e(views.download)),
        Route("/new", e(views.new_list)),
        Route("/new/{workflow}", e(views.new_form)),
        Route("/new/{workflow}", e(views.new_case), methods=["POST"]),
        Route("/calendar", e(views.calendar)),
        Route("/reply/{token}", e(views.reply_page, public=True)),
        Route("/reply/{token}", e(views.reply, public=True), methods=["POST"]),
        *audit_routes(),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def audit_routes() -> list[Any]:
    """The inspectors' pages (web/audit_views.py); the POSTs are the integrity check (a read) and the mail's
    "send again" (coordinators and admins)."""
    e, a = views.endpoint, audit_views
    return [
        Route("/audit", e(a.home)),
        Route("/audit/log", e(a.log)),
        Route("/audit/proof", e(a.proof)),
        Route("/audit/verify", e(a.verify_start), methods=["POST"]),
        Route("/audit/verify/{job}", e(a.verify_status)),
        Route("/audit/checkpoints/{name}", e(a.checkpoint_download)),
        Route("/audit/export.{fmt}", e(a.export)),
        Route("/audit/compliance", e(a.compliance)),
        Route("/audit/compliance.xlsx", e(a.compliance_export)),
        Route("/audit/annual", e(a.annual)),
        Route("/audit/annual.{fmt}", e(a.annual_download)),
        Route("/audit/outbox", e(a.outbox)),
        Route("/audit/outbox/{id}/retry", e(a.outbox_retry), methods=["POST"]),
        Route("/audit/directory", e(a.directory)),
        Route("/audit/decisions", e(a.decisions)),
    ]


def create_app(settings: service.Settings, config: WebConfig, scheduler: bool = False) -> Starlette:
    """The web application over the database of ``settings``.

    ``scheduler`` runs the sweep and the mail dispatcher (``agreeflow serve``) in a thread of this process
    for as long as the application lives.
    """
    settings = service.Settings(**{**settings.__dict__, "base_url": config.base_url})
    site = Site(config=config, settings=settings, secret=service.web_secret(settings), env=environment(),
                simulation=service.is_simulation_db(settings))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.threads
        stop = threading.Event()
        thread = None
        if scheduler:
            thread = threading.Thread(target=worker.serve, args=(settings,), kwargs={"stop": stop},
                                      name="agreeflow-scheduler", daemon=True)
            thread.start()
        try:
            yield
        finally:
            app.state.jobs.stop()
            stop.set()
            if thread is not None:
                thread.join(timeout=30)

    app = Starlette(routes=routes(), lifespan=lifespan)
    app.state.site = site
    app.state.jobs = Jobs()
    return app


def run(settings: service.Settings, config: WebConfig, scheduler: bool = False) -> None:
    """Serve until interrupted (uvicorn on ``config.host:config.port``)."""
    import uvicorn

    uvicorn.run(create_app(settings, config, scheduler), host=config.host, port=config.port,
                log_level="info", proxy_headers=False, server_header=False)
