"""The session manager: owns every session, enforces limits, runs the trainer thread.

Training never runs on the event loop. One trainer thread visits the playing
sessions round-robin and gives each a slice of at most ``slice_seconds``, so a
hot session cannot starve the others; between slices it releases the GIL so
the event loop (REST, websockets) stays responsive. On this 2-core machine one
trainer thread measured best: a second one only fights the first for the GIL
on small networks (see docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from engine.session import TrainingSession
from server.limits import LimitError, check_batch_size
from server.sessions import ManagedSession
from server.settings import Settings

__all__ = ["LimitError", "NotFound", "SessionManager"]

log = logging.getLogger("backprop_lab.trainer")

# The longest the trainer waits for the sockets to take a frame (see Hub.drained).
MAX_SEND_WAIT_SECONDS = 0.02


class NotFound(KeyError):
    pass


def check_config_limits(config: dict[str, Any], engine: TrainingSession | None, settings: Settings) -> None:
    """Refuse configs beyond the server's limits, naming the limit and the value."""
    model = config.get("model") or {}
    layers = model.get("layers") or []
    if len(layers) > settings.max_layers:
        raise LimitError(f"{len(layers)} layers exceed the limit max_layers = {settings.max_layers}")
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            continue
        for key in ("units", "filters"):
            value = layer.get(key)
            if isinstance(value, int) and value > settings.max_units:
                raise LimitError(
                    f"layer {i}: {key} = {value} exceeds the limit max_units = {settings.max_units}"
                )
    data = config.get("data") or {}
    samples = data.get("samples")
    if isinstance(samples, int) and samples > settings.max_samples:
        raise LimitError(f"samples = {samples} exceeds the limit max_samples = {settings.max_samples}")
    for key in ("x", "x_test"):
        rows = data.get(key)
        if isinstance(rows, list) and len(rows) > settings.max_samples:
            raise LimitError(
                f"data.{key} has {len(rows)} rows, over the limit max_samples = {settings.max_samples}"
            )
    training = config.get("training") or {}
    check_batch_size(training.get("batch_size"), settings.max_batch_size)
    if engine is not None and engine.network.size > settings.max_parameters:
        raise LimitError(
            f"the network has {engine.network.size} parameters, over the limit max_parameters = "
            f"{settings.max_parameters}"
        )


class SessionManager:
    def __init__(self, settings: Settings, loop: asyncio.AbstractEventLoop) -> None:
        self.settings = settings
        self.loop = loop
        self._sessions: dict[str, ManagedSession] = {}
        self._registry_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._train_forever, name="trainer", daemon=True)
        self.on_change: Callable[[ManagedSession], None] | None = None
        self.on_delete: Callable[[str], None] | None = None
        self.on_progress: Callable[[ManagedSession], None] | None = None  # after each training slice

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    # --- registry ----------------------------------------------------------------

    def build_engine(self, config: dict[str, Any]) -> TrainingSession:
        """Build (blocking) an engine session within the limits; ValueError/LimitError otherwise."""
        check_config_limits(config, None, self.settings)
        engine = TrainingSession(config)
        check_config_limits(config, engine, self.settings)
        return engine

    def add(
        self, engine: TrainingSession, session_id: str | None = None, token: str | None = None
    ) -> ManagedSession:
        with self._registry_lock:
            if len(self._sessions) >= self.settings.max_sessions:
                raise LimitError(
                    f"{len(self._sessions)} sessions exist, the limit max_sessions = "
                    f"{self.settings.max_sessions}; delete one first",
                    status=429,
                )
            sid = session_id or secrets.token_urlsafe(9)
            managed = ManagedSession(
                sid,
                token or secrets.token_urlsafe(32),
                engine,
                self.loop,
                self.settings.frame_max_parameters,
                on_change=self._changed,
                recording_budget_bytes=self.settings.recording_budget_bytes,
                max_batch_size=self.settings.max_batch_size,
            )
            self._sessions[sid] = managed
        self._changed(managed)
        return managed

    def _changed(self, managed: ManagedSession) -> None:
        if managed.playing:
            self._wake.set()
        if self.on_change is not None:
            self.on_change(managed)

    def get(self, session_id: str) -> ManagedSession:
        managed = self._sessions.get(session_id)
        if managed is None or managed.deleted:
            raise NotFound(session_id)
        return managed

    def all(self) -> list[ManagedSession]:
        return list(self._sessions.values())

    def delete(self, session_id: str) -> ManagedSession:
        with self._registry_lock:
            managed = self._sessions.pop(session_id, None)
        if managed is None:
            raise NotFound(session_id)
        with managed.lock:
            managed.deleted = True
            managed.playing = False
        managed.broadcast({"type": "event", "event": "deleted", "generation": managed.generation})
        managed._to_loop(managed.hub.close_all, 1000)
        if self.on_delete is not None:
            self.on_delete(session_id)
        return managed

    def expire_idle(self) -> list[str]:
        """Delete sessions idle for longer than the TTL (no change, no viewer, not playing)."""
        now = time.monotonic()
        expired = [
            s.id
            for s in self.all()
            if not s.playing
            and not s.hub.viewers
            and now - s.last_activity > self.settings.session_ttl_seconds
        ]
        for sid in expired:
            try:
                self.delete(sid)
            except NotFound:
                pass
        return expired

    def wake(self) -> None:
        self._wake.set()

    # --- the trainer thread ------------------------------------------------------

    def _train_forever(self) -> None:
        # session id → (its play count, when it wants its next slice). A slice that ends play
        # (a stop condition, a divergence) asks for no next slice (inf); keyed by the play count,
        # that wish ends when the session is played again, even if others kept the loop busy.
        next_run: dict[str, tuple[int, float]] = {}
        while not self._stop.is_set():
            playing = [s for s in self.all() if s.playing and not s.deleted]
            if not playing:
                self._wake.wait(0.25)
                self._wake.clear()
                next_run.clear()
                continue
            if len(next_run) > len(playing):  # forget sessions that stopped or were deleted
                ids = {s.id for s in playing}
                for sid in [k for k in next_run if k not in ids]:
                    del next_run[sid]
            now = time.monotonic()
            soonest = math.inf
            ran = False
            # Each playing session should get a turn once per display frame: shorten the
            # slices as sessions multiply (never below half a millisecond).
            fps = max((s.hub.max_fps for s in playing), default=0.0) or 30.0
            budget = max(0.0005, min(self.settings.slice_seconds, 1.0 / (fps * len(playing)) * 0.5))
            for session in playing:
                plays, at = next_run.get(session.id, (session.plays, 0.0))
                if plays == session.plays and at > now:
                    soonest = min(soonest, at)
                    continue
                try:
                    wait = session.run_slice(budget)
                except Exception as exc:  # a bug must not kill the trainer for every session
                    log.exception("training session %s failed; it is paused", session.id)
                    session.playing = False
                    session.broadcast(
                        {"type": "event", "event": "pause", "reason": f"internal error: {exc!r}"}
                    )
                    wait = math.inf
                ran = True
                if self.on_progress is not None:
                    self.on_progress(session)
                # Let the event loop hand the slice's frame to the sockets before training on
                # (outside the session's lock); then take the GIL turn between slices anyway.
                session.wait_until_sent(min(MAX_SEND_WAIT_SECONDS, 0.5 / fps))
                at = time.monotonic() + wait
                next_run[session.id] = (session.plays, at)
                soonest = min(soonest, at)
                time.sleep(0)
            if not ran or soonest > time.monotonic():
                delay = min(max(soonest - time.monotonic(), 0.0), 0.05)
                self._wake.wait(delay)
                self._wake.clear()
