"""Sessions that survive restarts: checkpoints in SQLite (WAL), written by one thread off the hot path.

When a checkpoint is written (see docs/persistence.md):
- after every change made through the API (create, import, step, play, pause, reset, params,
  PATCH, recover) and when a session pauses itself (stop condition, divergence);
- while training, every ``checkpoint_every_steps`` steps or ``checkpoint_every_seconds`` seconds,
  whichever comes first (checked after each training slice);
- at shutdown, for every session.

A checkpoint is the session file of :mod:`engine.serialization` (the same bytes an export
gives) plus the SHA-256 of those bytes. Each write is one SQLite transaction, so a crash leaves
either the old checkpoint or the new one, never half of one. The two newest checkpoints of each
session are kept; on start, a checkpoint that fails its checksum (or cannot be rebuilt) is logged,
reported under ``GET /api/health`` and the previous one is used. A checkpoint identical to the
last one written is skipped.

Threads: the routes and the trainer only put requests in a queue (they never wait for the disk);
the ``checkpoint-writer`` thread serializes the session (holding its lock only to copy the state)
and writes. Deletes travel through the same queue, so a delete is never overtaken by a stale write.

Only one server process uses a data directory at a time (an advisory ``flock`` on a lock file);
a second one runs with sessions in memory and says so in its log and health report.
"""

from __future__ import annotations

import collections
import fcntl
import hashlib
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from engine.serialization import load_session_document, state_document
from server.manager import LimitError, SessionManager, check_config_limits
from server.sessions import ManagedSession
from server.settings import Settings

__all__ = [
    "DB_NAME",
    "KEEP_CHECKPOINTS",
    "Checkpoint",
    "Checkpointer",
    "MemoryOnly",
    "SessionStore",
    "attach_store",
]

log = logging.getLogger("backprop_lab.store")

DB_NAME = "sessions.sqlite3"
LOCK_NAME = "sessions.lock"
KEEP_CHECKPOINTS = 2
MAX_PROBLEMS = 100
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    step INTEGER NOT NULL,
    written REAL NOT NULL,
    sha256 TEXT NOT NULL,
    document BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
);
"""


@dataclass(frozen=True)
class Checkpoint:
    session_id: str
    seq: int
    step: int
    written: float
    sha256: str
    document: bytes

    @property
    def intact(self) -> bool:
        return hashlib.sha256(self.document).hexdigest() == self.sha256


class SessionStore:
    """The SQLite side: tables of sessions and their checkpoints. Thread-safe, no threads of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed transaction survives a process crash (kill -9); only a
            # power cut can roll back the last few. FULL would fsync every checkpoint.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError:
            self._db.close()
            raise

    def save(self, session_id: str, token: str, created: float, step: int, document: bytes) -> str:
        """Write one checkpoint in one transaction and drop all but the newest ``KEEP_CHECKPOINTS``."""
        digest = hashlib.sha256(document).hexdigest()
        with self._lock, self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO sessions (id, token, created) VALUES (?, ?, ?)",
                (session_id, token, created),
            )
            (last,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM checkpoints WHERE session_id = ?", (session_id,)
            ).fetchone()
            seq = int(last) + 1
            db.execute(
                "INSERT INTO checkpoints (session_id, seq, step, written, sha256, document)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, seq, step, time.time(), digest, document),
            )
            db.execute(
                "DELETE FROM checkpoints WHERE session_id = ? AND seq <= ?",
                (session_id, seq - KEEP_CHECKPOINTS),
            )
        return digest

    def delete(self, session_id: str) -> None:
        with self._lock, self._transaction() as db:
            db.execute("DELETE FROM checkpoints WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def drop_checkpoint(self, session_id: str, seq: int) -> None:
        with self._lock, self._transaction() as db:
            db.execute("DELETE FROM checkpoints WHERE session_id = ? AND seq = ?", (session_id, seq))

    def sessions(self) -> list[tuple[str, str, float]]:
        """``(id, token, created)`` of every stored session, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT id, token, created FROM sessions ORDER BY created, id").fetchall()
        return [(str(i), str(t), float(c)) for i, t, c in rows]

    def checkpoints(self, session_id: str) -> list[Checkpoint]:
        """The stored checkpoints of one session, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, step, written, sha256, document FROM checkpoints"
                " WHERE session_id = ? ORDER BY seq DESC",
                (session_id,),
            ).fetchall()
        return [
            Checkpoint(session_id, int(s), int(st), float(w), str(h), bytes(d)) for s, st, w, h, d in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


class Checkpointer:
    """The queue of checkpoint requests and the thread that drains it."""

    def __init__(
        self, store: SessionStore, manager: SessionManager, settings: Settings, lock_file: IO[str]
    ) -> None:
        self.store = store
        self.manager = manager
        self.settings = settings
        self.problems: collections.deque[str] = collections.deque(maxlen=MAX_PROBLEMS)
        self.written = 0
        self.skipped = 0
        self.last_written: float | None = None
        self.restored = 0
        self._lock_file = lock_file
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        # session id → (monotonic time, step) of its last checkpoint request
        self._due: dict[str, tuple[float, int]] = {}
        self._digests: dict[str, str] = {}  # session id → digest of its newest stored checkpoint
        self._thread = threading.Thread(target=self._run, name="checkpoint-writer", daemon=True)

    # --- called from the routes and the trainer (never blocks on the disk) ------

    def request(self, session: ManagedSession, force: bool = True) -> None:
        """Queue a checkpoint; unless ``force``, only when K steps or T seconds have passed."""
        step = session.engine.step_count
        if not force:
            when, last_step = self._due.get(session.id, (0.0, -1))
            due_steps = abs(step - last_step) >= self.settings.checkpoint_every_steps
            due_time = time.monotonic() - when >= self.settings.checkpoint_every_seconds
            if not (due_steps or due_time):
                return
        self._due[session.id] = (time.monotonic(), step)
        with self._pending_lock:
            if session.id in self._pending:
                return  # the queued request will serialize the newest state anyway
            self._pending.add(session.id)
        self._queue.put(("save", session.id))

    def forget(self, session_id: str) -> None:
        """The session was deleted: remove it from the store (after any write queued before)."""
        self._due.pop(session_id, None)
        self._queue.put(("delete", session_id))

    def report(self, message: str) -> None:
        log.warning("%s", message)
        self.problems.append(message)

    def health(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "checkpoints_written": self.written,
            "last_checkpoint": self.last_written,
            "restored_sessions": self.restored,
            "checkpoint_every_steps": self.settings.checkpoint_every_steps,
            "checkpoint_every_seconds": self.settings.checkpoint_every_seconds,
            "problems": list(self.problems),
        }

    # --- the writer thread -------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            kind, sid = item
            try:
                if kind == "delete":
                    self.store.delete(sid)
                    self._digests.pop(sid, None)
                    continue
                with self._pending_lock:
                    self._pending.discard(sid)
                try:
                    session = self.manager.get(sid)
                except KeyError:
                    continue
                self.write(session)
            except Exception as exc:  # a full disk must not stop training, only be reported
                log.exception("checkpoint of session %s failed", sid)
                self.problems.append(f"checkpoint of session {sid} failed: {exc!r}")

    def write(self, session: ManagedSession) -> None:
        """Serialize and store ``session`` now, unless it is unchanged since its last checkpoint."""
        with session.lock:
            if session.deleted:
                return
            state = session.engine.state()  # copies: the lock is held only for this
            step = session.engine.step_count
        document = json.dumps(state_document(state), separators=(",", ":")).encode()
        digest = hashlib.sha256(document).hexdigest()
        if self._digests.get(session.id) == digest:
            self.skipped += 1
            return
        if session.deleted:  # deleted while serializing: its delete is already queued behind us
            return
        self._digests[session.id] = self.store.save(
            session.id, session.token, session.created, step, document
        )
        self.written += 1
        self.last_written = time.time()

    def close(self) -> None:
        """Drain the queue, write a final checkpoint of every session, close the database."""
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        for session in self.manager.all():
            try:
                self.write(session)
            except Exception as exc:
                log.exception("final checkpoint of session %s failed", session.id)
                self.problems.append(f"final checkpoint of session {session.id} failed: {exc!r}")
        self.store.close()
        self._lock_file.close()


class MemoryOnly:
    """Stands in for the checkpointer when the data directory could not be used."""

    def __init__(self, problem: str) -> None:
        self.problem = problem

    def health(self) -> dict[str, Any]:
        return {"enabled": False, "problems": [self.problem]}

    def close(self) -> None:
        pass


def _lock_data_dir(data_dir: Path) -> IO[str] | None:
    """An exclusive advisory lock on the data directory, or None when another process holds it."""
    handle = open(data_dir / LOCK_NAME, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _restore(store: SessionStore, manager: SessionManager, settings: Settings, writer: Checkpointer) -> None:
    """Bring every stored session back, paused, from its newest checkpoint that checks out."""
    for sid, token, created in store.sessions():
        restored = False
        for checkpoint in store.checkpoints(sid):
            what = f"checkpoint {checkpoint.seq} (step {checkpoint.step}) of session {sid}"
            if not checkpoint.intact:
                writer.report(f"{what} fails its SHA-256 checksum; using the previous checkpoint")
                store.drop_checkpoint(sid, checkpoint.seq)
                continue
            try:
                engine = load_session_document(
                    checkpoint.document,
                    check_config=lambda config: check_config_limits(config, None, settings),
                )
                managed = manager.add(engine, session_id=sid, token=token)
            except LimitError as exc:
                writer.report(f"session {sid} was not restored: {exc}")
                restored = True  # reported; not for want of a usable checkpoint
                break
            except ValueError as exc:
                writer.report(f"{what} cannot be restored ({exc}); using the previous checkpoint")
                continue
            managed.created = created
            writer._digests[sid] = checkpoint.sha256
            writer._due[sid] = (time.monotonic(), engine.step_count)
            writer.restored += 1
            restored = True
            break
        if not restored:
            writer.report(f"session {sid} has no usable checkpoint and was not restored")


def attach_store(manager: SessionManager, settings: Settings) -> Checkpointer | MemoryOnly:
    """Restore stored sessions (paused) into ``manager`` and checkpoint them from now on.

    When another server holds the data directory, sessions stay in memory only and the
    returned :class:`MemoryOnly` says so in the health report.
    """
    assert settings.data_dir is not None
    data_dir = Path(settings.data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock_file = _lock_data_dir(data_dir)
    if lock_file is None:
        message = (
            f"another backprop-lab server uses the data directory {data_dir}: this one keeps its sessions in "
            "memory only (start it with its own --data-dir, or --memory)"
        )
        log.error("%s", message)
        return MemoryOnly(message)
    problems = []
    try:
        store = SessionStore(data_dir / DB_NAME)
    except sqlite3.DatabaseError as exc:
        # Not a database at all (a stray file, a torn copy): keep it for inspection, start afresh.
        aside = data_dir / f"{DB_NAME}.unreadable-{int(time.time())}"
        for suffix in ("", "-wal", "-shm"):
            source = data_dir / (DB_NAME + suffix)
            if source.exists():
                source.rename(aside.with_name(aside.name + suffix))
        problems.append(
            f"{data_dir / DB_NAME} could not be read ({exc}); moved to {aside.name}, starting empty"
        )
        store = SessionStore(data_dir / DB_NAME)
    writer = Checkpointer(store, manager, settings, lock_file)
    for problem in problems:
        writer.report(problem)
    _restore(store, manager, settings, writer)
    if writer.restored:
        log.warning("restored %d session(s) from %s, paused", writer.restored, data_dir / DB_NAME)
    manager.on_change = writer.request  # every change through the API: forced
    manager.on_delete = writer.forget
    manager.on_progress = lambda session: writer.request(session, force=False)
    writer.start()
    return writer
