"""Classroom routes: presenting a session to a class, the presenter's view relay, guided lessons.

A **room** is a 6-character join code that points at one presented session. The presenter (the
session's control token) opens it with ``POST /api/sessions/{id}/present``; viewers resolve the
code (``GET /api/join/{code}``) and watch that session over its websocket, read-only. The room
can move to another session of the presenter's (``code`` + ``secret``), e.g. after the network was
rebuilt: the old session's viewers get a ``moved`` event and follow.

The presenter's page leads the view (which panel is open, which weight is explained) with
``view`` messages on its websocket (:func:`relay_view`); the server keeps the latest one for
late joiners (it is in ``hello``) and broadcasts each to every viewer as a ``view`` event.

Lessons are data, not code: ``server/lessons/*.json``, each a session config plus short texts
(see docs/scripting.md). They are read and checked once, on first use.
"""

from __future__ import annotations

import functools
import io
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from server.api import ERRORS, Controlled, Manager, token_matches
from server.manager import NotFound
from server.protocol import ProtocolError
from server.schemas import (
    ErrorResponse,
    JoinInfo,
    Lesson,
    LessonList,
    Presentation,
    PresentRequest,
    SessionConfig,
    TrainingChanges,
)
from server.sessions import ManagedSession

__all__ = ["LESSON_DIR", "Classroom", "load_lessons", "relay_view", "router"]

router = APIRouter(prefix="/api", responses=ERRORS)

# No 0/O, 1/I/L: a code read off a projector is typed right the first time.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MAX_VIEW_BYTES = 8192
MAX_ROOMS = 1000
LESSON_DIR = Path(__file__).resolve().parent / "lessons"
LESSON_ACTIONS = ("set", "play", "pause", "step", "reset", "recover", "config", "view", "race")


@dataclass
class Room:
    code: str
    secret: str
    session_id: str
    created: float


class Classroom:
    """Every open room (one per app, on ``app.state.classroom``)."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.lock = threading.Lock()

    def new_code(self) -> str:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if code not in self.rooms:
                return code

    def get(self, code: str) -> Room:
        room = self.rooms.get(normalize_code(code))
        if room is None:
            raise HTTPException(404, f"no class with the code {code!r}: check the code, or ask for a new one")
        return room


def normalize_code(code: str) -> str:
    return code.strip().upper()


def get_classroom(request: Request) -> Classroom:
    classroom: Classroom | None = getattr(request.app.state, "classroom", None)
    if classroom is None:
        classroom = request.app.state.classroom = Classroom()
    return classroom


Rooms = Annotated[Classroom, Depends(get_classroom)]


# --- presenting ------------------------------------------------------------------------


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as a standalone SVG document (dark modules on white)."""
    import segno

    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=4, border=2, xmldecl=False, title="Join the class", light="#fff")
    return out.getvalue().decode()


def _presentation(request: Request, room: Room, session: ManagedSession) -> dict[str, Any]:
    link = f"/?join={room.code}"
    url = str(request.base_url).rstrip("/") + link
    return {
        "code": room.code,
        "secret": room.secret,
        "session": session.id,
        "link": link,
        "url": url,
        "qr": f"/api/join/{room.code}/qr.svg",
        "qr_svg": qr_svg(url),
        "viewers": len(session.hub.viewers),
    }


@router.post(
    "/sessions/{session_id}/present",
    response_model=Presentation,
    summary="Present a session to a class",
    responses={429: {"model": ErrorResponse, "description": "too many classes are open"}},
)
async def present(
    session: Controlled, request: Request, rooms: Rooms, manager: Manager, body: PresentRequest | None = None
) -> dict[str, Any]:
    """Turn presenting on: a join code, link and QR code for viewers (idempotent). With ``code`` and
    ``secret`` of a room this presenter already has, that room — and its viewers — move here."""
    body = body or PresentRequest()
    with rooms.lock:
        if body.code is not None:
            room = rooms.get(body.code)
            if body.secret is None or not secrets.compare_digest(body.secret.encode(), room.secret.encode()):
                raise HTTPException(403, f"the secret does not match the class {room.code}")
            if room.session_id != session.id:
                _move(room, session, manager)
        elif session.join_code is not None and session.join_code in rooms.rooms:
            room = rooms.rooms[session.join_code]
        else:
            if len(rooms.rooms) >= MAX_ROOMS:
                raise HTTPException(429, f"{len(rooms.rooms)} classes are open, the limit is {MAX_ROOMS}")
            room = Room(rooms.new_code(), secrets.token_urlsafe(24), session.id, time.time())
            rooms.rooms[room.code] = room
        session.join_code = room.code
    session.broadcast({"type": "event", "event": "present", "code": room.code})
    return await run_in_threadpool(_presentation, request, room, session)


def _move(room: Room, session: ManagedSession, manager: Manager) -> None:
    try:
        old: ManagedSession | None = manager.get(room.session_id)
    except NotFound:
        old = None
    if old is not None:
        if session.view is None:
            session.view = old.view
        old.join_code = None
        old.view = None
        old.broadcast({"type": "event", "event": "moved", "code": room.code, "to": session.id})
    room.session_id = session.id


@router.delete("/sessions/{session_id}/present", summary="Stop presenting")
async def stop_presenting(session: Controlled, rooms: Rooms) -> dict[str, Any]:
    with rooms.lock:
        code = session.join_code
        if code is not None:
            rooms.rooms.pop(code, None)
        session.join_code = None
        session.view = None
    session.broadcast({"type": "event", "event": "present", "code": None})
    return {"session": session.id, "presenting": False}


@router.get("/join/{code}", response_model=JoinInfo, summary="Which session a join code shows")
async def join(code: str, rooms: Rooms, manager: Manager) -> dict[str, Any]:
    room = rooms.get(code)
    try:
        session = manager.get(room.session_id)
    except NotFound:
        raise HTTPException(404, f"the class {room.code} has ended: its session was deleted") from None
    return {
        "code": room.code,
        "session": session.id,
        "link": f"/?join={room.code}",
        "view": session.view,
        "viewers": len(session.hub.viewers),
    }


@router.get(
    "/join/{code}/qr.svg",
    summary="The join link as a QR code (SVG)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def join_qr(code: str, request: Request, rooms: Rooms) -> Response:
    room = rooms.get(code)
    url = str(request.base_url).rstrip("/") + f"/?join={room.code}"
    svg = await run_in_threadpool(qr_svg, url)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-cache"})


def relay_view(message: dict[str, Any], session: ManagedSession, authorized: bool) -> dict[str, Any]:
    """A ``view`` message from the presenter's page: keep it, broadcast it (on the event loop)."""
    token = message.get("token")
    if token is not None and not isinstance(token, str):
        raise ProtocolError(400, "token must be a string")
    if not (authorized or token_matches(session, token)):
        raise ProtocolError(
            401 if token is None else 403, "view needs the session's control token: only the presenter leads"
        )
    view = message.get("view")
    if not isinstance(view, dict):
        raise ProtocolError(400, 'view must be an object, e.g. {"panel": "explain", "explain": {…}}')
    size = len(json.dumps(view))
    if size > MAX_VIEW_BYTES:
        raise ProtocolError(413, f"a view of {size} bytes exceeds the limit of {MAX_VIEW_BYTES}")
    if session.join_code is None:
        raise ProtocolError(409, "the session is not presented: turn presenting on (POST …/present) first")
    session.view = view
    session.hub.broadcast({"type": "event", "event": "view", "view": view, "time": time.time()})
    return {"type": "ack", "action": "view"}


# --- lessons --------------------------------------------------------------------------------


def _check_lesson(name: str, raw: Any) -> dict[str, Any]:
    """A lesson file as the API serves it; ValueError naming the file and the problem."""
    if not isinstance(raw, dict):
        raise ValueError(f"lesson {name}: the file must hold a JSON object")
    lesson = Lesson.model_validate({**raw, "name": name})
    SessionConfig.model_validate(lesson.config)
    for k, step in enumerate(lesson.steps):
        do = step.do or {}
        unknown = set(do) - set(LESSON_ACTIONS)
        if unknown:
            raise ValueError(f"lesson {name}, step {k + 1}: unknown action(s) {sorted(unknown)}")
        if "set" in do:
            TrainingChanges.model_validate(do["set"])
        if "race" in do:
            for variant in do["race"].get("variants", []):
                TrainingChanges.model_validate(variant["training"])
    return lesson.model_dump()


@functools.cache
def load_lessons(directory: Path = LESSON_DIR) -> dict[str, dict[str, Any]]:
    """Every lesson file, checked, in the order of its ``order`` field (then name)."""
    found: list[tuple[int, str, dict[str, Any]]] = []
    for path in sorted(directory.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        try:
            lesson = _check_lesson(path.stem, raw)
        except ValidationError as exc:
            raise ValueError(f"lesson file {path.name}: {exc}") from None
        found.append((int(raw.get("order", 999)), path.stem, lesson))
    found.sort(key=lambda item: (item[0], item[1]))
    return {name: lesson for _, name, lesson in found}


def _architecture(config: dict[str, Any]) -> str:
    kinds = {layer.get("type", "dense") for layer in config.get("model", {}).get("layers", [])}
    if kinds & {"rnn", "lstm"}:
        return "rnn"
    if kinds & {"conv2d", "maxpool2d", "avgpool2d"}:
        return "cnn"
    return "mlp"


@router.get("/lessons", response_model=LessonList, summary="The guided lessons")
async def lessons() -> dict[str, Any]:
    return {
        "lessons": [
            {
                "name": lesson["name"],
                "title": lesson["title"],
                "summary": lesson["summary"],
                "steps": len(lesson["steps"]),
                "architecture": _architecture(lesson["config"]),
            }
            for lesson in load_lessons().values()
        ]
    }


@router.get("/lessons/{name}", response_model=Lesson, summary="One lesson: its config and texts")
async def lesson(name: str) -> dict[str, Any]:
    found = load_lessons().get(name) if re.fullmatch(r"[a-z0-9-]{1,64}", name) else None
    if found is None:
        known = ", ".join(load_lessons())
        raise HTTPException(404, f"no lesson {name!r}; the lessons are: {known}")
    return found
