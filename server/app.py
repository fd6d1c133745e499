"""The app factory: ``create_app(settings)`` builds everything; nothing is created at import."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from server import api, ws
from server.manager import SessionManager
from server.security import LOOPBACK_NAMES, EdgeMiddleware
from server.settings import Settings

__all__ = ["create_app", "FRONTEND_DIR"]

FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"
EXPIRY_INTERVAL_SECONDS = 60.0


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager = SessionManager(settings, asyncio.get_running_loop())
        app.state.manager = manager
        app.state.sockets = set()
        store = None
        if settings.data_dir is not None:
            from server.store import attach_store

            store = attach_store(manager, settings)
        manager.start()
        expiry = asyncio.create_task(_expire_forever(manager))
        try:
            yield
        finally:
            expiry.cancel()
            for session in manager.all():
                session.playing = False
            manager.stop()
            if store is not None:
                store.close()

    app = FastAPI(
        title="backprop-lab",
        version="1",
        summary="Train neural networks in NumPy and watch backpropagation happen, step by step.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    api.install_error_handlers(app)
    app.include_router(api.router)
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

        app.add_middleware(CORSMiddleware, allow_origins=settings.allowed_origins, allow_methods=["*"],
                           allow_headers=["*"])
    return app


async def _expire_forever(manager: SessionManager) -> None:
    while True:
        await asyncio.sleep(EXPIRY_INTERVAL_SECONDS)
        manager.expire_idle()
