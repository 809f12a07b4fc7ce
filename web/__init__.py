"""The web pages: server-rendered (Starlette, Jinja2, vendored HTMX), served by ``agreeflow web``.

Every page calls :mod:`agreeflow.engine.service` exactly as the command line
does — no rule lives here, and no query: who may see or do what, which steps
are open, what a field accepts and what a reply link opens are the service's
answers.  This package turns requests into service calls and answers into
pages: sessions in signed cookies, a CSRF token on every form, Vietnamese by
default with English a click away.  Import :func:`agreeflow.web.app.create_app`
(the command line imports it only when ``agreeflow web`` runs).
"""
