"""Sessions that survive restarts: checkpoints in SQLite (WAL), written off the hot path.

When a checkpoint is written:
- after every change made through the API (create, step, reset, params, PATCH, import…);
- while training, every ``checkpoint_every_steps`` steps or ``checkpoint_every_seconds``
  seconds, whichever comes first;
- at shutdown, for every session.

So a crash (``kill -9``) loses at most the last ``checkpoint_every_seconds`` of
free-running training (default 10 s) and nothing that was done through the
API and answered. Each write is one transaction; each checkpoint carries a
SHA-256 of its document, and the two newest are kept: one that fails its
checksum is reported and the previous one is used.

A dedicated writer thread serializes and writes; the trainer and the routes
only put a session id in a queue.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from engine.serialization import load_session_document, session_document
from server.manager import SessionManager
from server.sessions import ManagedSession
from server.settings import Settings

__all__ = ["SessionStore", "attach_store"]

log = logging.getLogger("backprop_lab.store")
KEEP_CHECKPOINTS = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    step INTEGER NOT NULL,
    written REAL NOT NULL,
    sha256 TEXT NOT NULL,
    document BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
);
"""


class SessionStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self.corrupt_reports: list[str] = []

    def save(self, session_id: str, token: str, created: float, step: int, document: bytes) -> None:
        digest = hashlib.sha256(document).hexdigest()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT OR IGNORE INTO sessions (id, token, created) VALUES (?, ?, ?)",
                           (session_id, token, created))
                row = db.execute("SELECT COALESCE(MAX(seq), 0) FROM checkpoints WHERE session_id = ?",
                                 (session_id,)).fetchone()
                seq = int(row[0]) + 1
                db.execute(
                    "INSERT INTO checkpoints (session_id, seq, step, written, sha256, document) VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, seq, step, time.time(), digest, document),
                )
                db.execute("DELETE FROM checkpoints WHERE session_id = ? AND seq <= ?",
                           (session_id, seq - KEEP_CHECKPOINTS))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM checkpoints WHERE session_id = ?", (session_id,))
            self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            self._db.execute("COMMIT")

    def load_all(self) -> list[tuple[str, str, float, bytes]]:
        """(id, token, created, document) of each session's newest checkpoint that passes its checksum."""
        out = []
        with self._lock:
            sessions = self._db.execute("SELECT id, token, created FROM sessions").fetchall()
            for sid, token, created in sessions:
                rows = self._db.execute(
                    "SELECT seq, sha256, document FROM checkpoints WHERE session_id = ? ORDER BY seq DESC", (sid,)
                ).fetchall()
                for seq, digest, document in rows:
                    if hashlib.sha256(document).hexdigest() == digest:
                        out.append((sid, token, created, bytes(document)))
                        break
                    message = f"checkpoint {seq} of session {sid} fails its checksum; using an older one"
                    log.warning(message)
                    self.corrupt_reports.append(message)
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Writer:
    """Queue of sessions to checkpoint, drained by one thread."""

    def __init__(self, store: SessionStore, manager: SessionManager, settings: Settings) -> None:
        self.store = store
        self.manager = manager
        self.settings = settings
        self.queue: queue.Queue[str | None] = queue.Queue()
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        self._last: dict[str, tuple[float, int]] = {}
        self._thread = threading.Thread(target=self._run, name="checkpoint-writer", daemon=True)
        self._thread.start()

    def request(self, session: ManagedSession, force: bool = True) -> None:
        if not force:
            when, step = self._last.get(session.id, (0.0, -1))
            due_steps = session.engine.step_count - step >= self.settings.checkpoint_every_steps
            due_time = time.monotonic() - when >= self.settings.checkpoint_every_seconds
            if not (due_steps or due_time):
                return
        with self._pending_lock:
            if session.id in self._pending:
                return
            self._pending.add(session.id)
        self._last[session.id] = (time.monotonic(), session.engine.step_count)
        self.queue.put(session.id)

    def write_now(self, session: ManagedSession) -> None:
        with session.lock:
            if session.deleted:
                return
            document = json.dumps(session_document(session.engine), separators=(",", ":")).encode()
            step = session.engine.step_count
        self.store.save(session.id, session.token, session.created, step, document)

    def _run(self) -> None:
        while True:
            sid = self.queue.get()
            if sid is None:
                return
            with self._pending_lock:
                self._pending.discard(sid)
            try:
                self.write_now(self.manager.get(sid))
            except KeyError:
                continue
            except Exception:
                log.exception("checkpoint of session %s failed", sid)

    def close(self) -> None:
        self.queue.put(None)
        self._thread.join(timeout=10)
        for session in self.manager.all():
            try:
                self.write_now(session)
            except Exception:
                log.exception("final checkpoint of session %s failed", session.id)
        self.store.close()


def attach_store(manager: SessionManager, settings: Settings) -> _Writer:
    """Restore stored sessions (paused) into ``manager`` and checkpoint from now on."""
    assert settings.data_dir is not None
    store = SessionStore(Path(settings.data_dir) / "sessions.sqlite3")
    for sid, token, created, document in store.load_all():
        try:
            engine = load_session_document(document)
        except ValueError as exc:
            log.warning("stored session %s could not be restored: %s", sid, exc)
            continue
        managed = manager.add(engine, session_id=sid, token=token)
        managed.created = created
    writer = _Writer(store, manager, settings)

    def on_change(session: ManagedSession) -> None:
        writer.request(session, force=not session.playing)

    manager.on_change = on_change
    manager.on_delete = store.delete
    manager.on_progress = lambda s: writer.request(s, force=False)
    return writer
