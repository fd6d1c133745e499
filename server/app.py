"""The app factory: ``create_app(settings)`` builds everything; nothing is created at import."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from server import api, classroom, race, spatial, timetravel, ws
from server.manager import SessionManager
from server.security import LOOPBACK_NAMES, EdgeMiddleware
from server.settings import Settings

__all__ = ["FRONTEND_DIR", "create_app"]

FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"
EXPIRY_INTERVAL_SECONDS = 60.0


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager = SessionManager(settings, asyncio.get_running_loop())
        app.state.manager = manager
        app.state.sockets = set()
        app.state.checkpointer = None
        if settings.data_dir is not None:
            from server.store import attach_store

            # Blocking (SQLite, rebuilding sessions) but before the first request: nothing waits on it.
            app.state.checkpointer = attach_store(manager, settings)
        manager.start()
        expiry = asyncio.create_task(_expire_forever(manager))
        try:
            yield
        finally:
            # uvicorn has closed every websocket (code 1012, "service restart") before this runs.
            expiry.cancel()
            for session in manager.all():
                session.playing = False
            manager.stop()
            if app.state.checkpointer is not None:
                await asyncio.to_thread(app.state.checkpointer.close)  # a final checkpoint of every session

    app = FastAPI(
        title="backprop-lab",
        version="1",
        summary="Train neural networks in NumPy and watch backpropagation happen, step by step.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    api.install_error_handlers(app)
    app.add_exception_handler(405, _method_not_allowed)
    app.add_exception_handler(404, _not_found)
    app.include_router(api.router)
    app.include_router(timetravel.router)
    app.include_router(spatial.router)
    app.include_router(classroom.router)
    app.include_router(race.router)
    app.include_router(ws.router)
    if FRONTEND_DIR.is_dir():
        index = FRONTEND_DIR / "index.html"

        @app.get("/", include_in_schema=False)
        async def page() -> Any:
            return FileResponse(index)

        app.mount("/", StaticFiles(directory=FRONTEND_DIR), name="frontend")
    check_host = settings.host in LOOPBACK_NAMES
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_body_bytes, check_host=check_host)
    if settings.allowed_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=settings.allowed_origins, allow_methods=["*"], allow_headers=["*"]
        )
    return app


async def _expire_forever(manager: SessionManager) -> None:
    while True:
        await asyncio.sleep(EXPIRY_INTERVAL_SECONDS)
        manager.expire_idle()


def _allowed_methods(request: Request) -> set[str]:
    """The methods the API documents for the request's path (empty when it documents none)."""
    path = request.scope.get("path", "")
    paths = request.app.openapi().get("paths", {})
    methods: set[str] = set()
    if path in paths:  # a concrete path wins over templates that also match (OpenAPI's rule)
        methods = {m.upper() for m in paths[path]}
    else:
        for template, operations in paths.items():
            if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path):
                methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return methods


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 with an ``Allow`` that lists every method of the path, read from the OpenAPI schema.

    Starlette answers from the first route that matches, often the static files mounted at ``/``:
    its ``Allow`` named only their GET and HEAD, and a GET on a POST-only API path got their 404.
    """
    methods = _allowed_methods(request) or {"GET", "HEAD"}
    allow = ", ".join(sorted(methods))
    detail = f"method {request.method} is not allowed here; use {allow}"
    return JSONResponse({"detail": detail}, 405, headers={"Allow": allow})


async def _not_found(request: Request, exc: Exception) -> Response:
    methods = _allowed_methods(request)
    if methods and request.method not in methods:
        return await _method_not_allowed(request, exc)
    assert isinstance(exc, StarletteHTTPException)
    return await http_exception_handler(request, exc)
