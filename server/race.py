"""Races: N sessions on the same data from the same initial weights, trained in step.

A race builds one session per variant from one config and seed (so the data, the initial weights
and the batch order are the same) and applies each variant's training changes (optimizer, lr,
regularization …). The members are ordinary sessions — anyone can watch one at ``/?session=ID`` —
but only the race holds their control tokens: they move only together, so their step counts are
always equal (a member that diverges stops; the others go on).

Playing runs one small thread per playing race that steps every member round-robin by the same
number of steps per round; the session manager's trainer never sees the members (they are never
``playing``), so it is untouched. After each round every member's weights are added to its path,
which ``GET …/landscape`` projects onto a 2-D slice of the loss landscape (engine/landscape.py).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from numpy.typing import NDArray
from starlette.concurrency import run_in_threadpool

from engine.landscape import (
    filter_normalized_direction,
    grid_axes,
    loss_surface,
    network_loss,
    principal_directions,
    project,
)
from server.api import ERRORS, Manager, _blocking, _even
from server.manager import LimitError, NotFound, SessionManager
from server.protocol import jsonable
from server.schemas import (
    CreatedRace,
    ErrorResponse,
    RaceInfo,
    RaceLandscape,
    RacePlay,
    RaceRequest,
    RaceStepRequest,
)
from server.sessions import ManagedSession

__all__ = ["Race", "router"]

router = APIRouter(prefix="/api", responses=ERRORS)

MAX_RACES = 50
ROUND_SECONDS = 0.02  # one round of steps for all members, when playing as fast as possible
PATH_BUDGET_BYTES = 8 * 1024 * 1024  # per member: the path thins out (every other point) when full
MAX_PATH_POINTS = 400
LANDSCAPE_SAMPLES = 512  # training rows the landscape's loss is evaluated on
CURVE_POINTS = 600


@dataclass
class Member:
    label: str
    session: ManagedSession
    path: list[tuple[int, NDArray[np.float64]]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return not self.session.deleted and self.session.engine.divergence is None

    def record(self, limit: int) -> None:
        with self.session.lock:
            step = self.session.engine.step_count
            theta = self.session.engine.network.theta.astype(np.float64)
        if self.path and self.path[-1][0] == step:
            return
        self.path.append((step, theta))
        if len(self.path) > limit:  # keep the start, every other point, and the newest
            self.path = [*self.path[:-1:2], self.path[-1]]


class Race:
    def __init__(self, race_id: str, members: list[Member], unwatched_seconds: float = 120.0) -> None:
        self.id = race_id
        # A playing race that nobody reads (GET …/races/{id} or …/landscape) and nobody watches
        # (no socket on a member) pauses after this long: a page that started one and went away
        # would otherwise leave a thread training at full speed for ever, its token lost with it.
        self.unwatched_seconds = unwatched_seconds
        self.token = secrets.token_urlsafe(32)
        self.members = members
        self.created = time.time()
        self.playing = False
        self.play = RacePlay()
        self.stop_reason: str | None = None
        self.seen_at = time.monotonic()  # the last read of this race (see unwatched_seconds)
        self.lock = threading.RLock()  # one round at a time
        self._thread: threading.Thread | None = None
        self._chunk = 1
        self._random: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        size = members[0].session.engine.network.size
        self.path_limit = max(8, min(MAX_PATH_POINTS, PATH_BUDGET_BYTES // max(1, 8 * size)))
        for m in members:
            m.record(self.path_limit)

    # --- training ---------------------------------------------------------------------

    @property
    def step(self) -> int:
        live = [m.session.engine.step_count for m in self.members if m.live]
        return min(live) if live else max(m.session.engine.step_count for m in self.members)

    def run_round(self, n: int) -> None:
        """Every live member ``n`` steps, in turn; then each one's weights join its path."""
        with self.lock:
            target = self.step + n
            for m in self.members:
                if m.live and m.session.engine.step_count < target:
                    m.session.step(target - m.session.engine.step_count)
            for m in self.members:
                if not m.session.deleted:
                    m.record(self.path_limit)

    def reset(self) -> None:
        with self.lock:
            for m in self.members:
                if not m.session.deleted:
                    m.session.reset()
                m.path.clear()
                if not m.session.deleted:
                    m.record(self.path_limit)
            self.stop_reason = None

    def start(self, play: RacePlay) -> None:
        with self.lock:
            if not any(m.live for m in self.members):
                raise ValueError("every member has diverged or been deleted: reset the race")
            self.play = play
            self.stop_reason = None
            self.seen_at = time.monotonic()
            self.playing = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._play_forever, name=f"race-{self.id}", daemon=True
                )
                self._thread.start()

    def pause(self, reason: str = "paused") -> None:
        self.playing = False
        self.stop_reason = reason

    def _play_forever(self) -> None:
        credit, last = 0.0, time.monotonic()
        while self.playing:
            speed, max_steps = self.play.speed, self.play.max_steps
            now = time.monotonic()
            if speed is not None:
                credit = min(credit + (now - last) * speed, max(speed * 0.25, 1.0))
                n = int(credit)
            else:
                n = self._chunk
            last = now
            if max_steps is not None:
                n = min(n, max_steps - self.step)
            if n >= 1:
                started = time.perf_counter()
                try:
                    self.run_round(n)
                except Exception as exc:  # a bug must not leave a race "playing" with no thread
                    self.pause(f"internal error: {exc!r}")
                    return
                credit -= n
                if speed is None:  # aim each round at ROUND_SECONDS: frames stay smooth, the loop breathes
                    per_step = (time.perf_counter() - started) / n
                    self._chunk = max(1, min(1000, int(ROUND_SECONDS / max(per_step, 1e-7))))
            reason = self._stop_reason()
            if reason is not None:
                self.pause(reason)
                return
            time.sleep(0.002 if speed is None else max(0.002, 1.0 / speed))

    def _stop_reason(self) -> str | None:
        if not any(m.live for m in self.members):
            return "every member diverged"
        if self.play.max_steps is not None and self.step >= self.play.max_steps:
            return f"reached max_steps {self.play.max_steps}"
        watched = any(m.session.hub.viewers for m in self.members)
        if not watched and time.monotonic() - self.seen_at > self.unwatched_seconds:
            return f"nobody read or watched the race for {self.unwatched_seconds:g} s"
        return None

    # --- reading ----------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        self.seen_at = time.monotonic()
        with self.lock:  # between rounds: every member at the same step
            return self._info()

    def _info(self) -> dict[str, Any]:
        members = []
        for m in self.members:
            s = m.session
            with s.lock:
                h = s.engine.history
                pick = _even(h.steps.length, CURVE_POINTS)
                epick = _even(h.evals.length, CURVE_POINTS)
                members.append(
                    {
                        "label": m.label,
                        "id": s.id,
                        "step": s.engine.step_count,
                        "diverged": s.engine.divergence is not None,
                        "training": s.engine.config["training"],
                        "eval": h.evals.last(),
                        "curve": {"steps": h.steps.steps[pick], "loss": h.steps.column("loss")[pick]},
                        "evals": {
                            "step": h.evals.steps[epick],
                            "train_loss": h.evals.column("train_loss")[epick],
                            "test_loss": h.evals.column("test_loss")[epick],
                        },
                    }
                )
        body: dict[str, Any] = jsonable(
            {
                "id": self.id,
                "step": self.step,
                "playing": self.playing,
                "stop_reason": self.stop_reason,
                "members": members,
                "created": self.created,
            }
        )
        return body

    def landscape(self, res: int, directions: str) -> dict[str, Any]:
        """The loss over a 2-D slice through the members' mean weights, and each path on it."""
        self.seen_at = time.monotonic()
        with self.lock:
            paths = [list(m.path) for m in self.members]
        lead = self.members[0].session
        with lead.lock:
            net = lead.engine.network.clone()
            X = np.asarray(lead.engine.data.x_train[:LANDSCAPE_SAMPLES])
            Y = np.asarray(lead.engine.data.y_train[:LANDSCAPE_SAMPLES])
            slots = list(net.slots)
        currents = np.stack([p[-1][1] for p in paths])
        center = currents.mean(axis=0)
        points = np.concatenate([np.stack([theta for _, theta in p]) for p in paths])
        explained: list[float] = []
        if directions == "random":
            if self._random is None:  # fixed once, from the shared initial weights
                rng = np.random.default_rng(0)
                start = paths[0][0][1]
                self._random = (
                    filter_normalized_direction(start, slots, rng),
                    filter_normalized_direction(start, slots, rng),
                )
            d1, d2 = self._random
        else:
            d1, d2, shares = principal_directions(points, center)
            explained = [float(x) for x in shares]
        coords = [project(np.stack([theta for _, theta in p]), center, d1, d2) for p in paths]
        alphas, betas = grid_axes(np.concatenate(coords), res)
        grid = loss_surface(network_loss(net, X, Y), center, d1, d2, alphas, betas)
        members = []
        for m, p, c in zip(self.members, paths, coords, strict=True):
            with m.session.lock:
                last = m.session.engine.history.evals.last()
            members.append(
                {
                    "label": m.label,
                    "id": m.session.id,
                    "path": c,
                    "steps": [step for step, _ in p],
                    "loss": None if last is None else last.get("train_loss"),
                }
            )
        body: dict[str, Any] = jsonable(
            {
                "directions": directions,
                "explained": explained,
                "step": self.step,
                "alphas": alphas,
                "betas": betas,
                "grid": grid,
                "members": members,
            }
        )
        return body


def _label(training: dict[str, Any]) -> str:
    opt = training["optimizer"]
    name = opt["name"]
    if name == "sgd" and opt.get("momentum"):
        name = "nesterov" if opt.get("nesterov") else "momentum"
    reg = training.get("regularization") or {}
    extra = f" {reg['kind'].upper()}" if reg.get("kind") not in (None, "none") else ""
    return f"{name} lr={opt['lr']:g}{extra}"


# --- routes ------------------------------------------------------------------------------


def get_races(request: Request) -> dict[str, Race]:
    races: dict[str, Race] | None = getattr(request.app.state, "races", None)
    if races is None:
        races = request.app.state.races = {}
    return races


Races = Annotated[dict[str, Race], Depends(get_races)]


def race_or_404(race_id: str, races: Races) -> Race:
    race = races.get(race_id)
    if race is None:
        raise HTTPException(404, f"no race {race_id!r}: it was deleted, or never existed")
    return race


RaceDep = Annotated[Race, Depends(race_or_404)]


def require_race_control(race: RaceDep, authorization: Annotated[str | None, Header()] = None) -> Race:
    if not authorization:
        raise HTTPException(
            401, "this change needs the header 'Authorization: Bearer <control_token>' of the race"
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), race.token.encode()):
        raise HTTPException(403, "the control token does not match this race")
    return race


ControlledRace = Annotated[Race, Depends(require_race_control)]


@router.post(
    "/races",
    status_code=201,
    response_model=CreatedRace,
    summary="Start a race",
    responses={429: {"model": ErrorResponse, "description": "too many races, or sessions, exist"}},
)
async def create_race(body: RaceRequest, manager: Manager, races: Races, request: Request) -> dict[str, Any]:
    """One session per variant, all from ``config`` (same seed: same data and initial weights),
    each with its variant's training changes; they train only together, in step."""
    if len(races) >= MAX_RACES:
        raise HTTPException(429, f"{len(races)} races exist, the limit is {MAX_RACES}: delete one first")
    config = body.config.to_engine()

    def build() -> Race:
        made: list[Member] = []
        try:
            for variant in body.variants:
                engine = manager.build_engine(config)
                engine.apply_training_changes(variant.training.model_dump(exclude_unset=True))
                managed = manager.add(engine)
                made.append(Member(variant.label or _label(engine.config["training"]), managed))
        except (ValueError, LimitError):
            for m in made:
                _delete_quietly(manager, m.session.id)
            raise
        return Race(secrets.token_urlsafe(9), made, request.app.state.settings.race_unwatched_seconds)

    race: Race = await _blocking(build)
    races[race.id] = race
    return {"id": race.id, "control_token": race.token, "race": await run_in_threadpool(race.info)}


def _delete_quietly(manager: SessionManager, session_id: str) -> None:
    try:
        manager.delete(session_id)
    except NotFound:
        pass


@router.get("/races/{race_id}", response_model=RaceInfo, summary="A race: members, steps, loss curves")
async def read_race(race: RaceDep) -> dict[str, Any]:
    result: dict[str, Any] = await run_in_threadpool(race.info)
    return result


@router.post("/races/{race_id}/step", response_model=RaceInfo, summary="Every member n steps")
async def step_race(
    race: ControlledRace, request: Request, body: RaceStepRequest | None = None
) -> dict[str, Any]:
    steps = body.steps if body is not None else 1
    cap = request.app.state.settings.max_steps_per_request
    if steps > cap:
        raise HTTPException(413, f"steps = {steps} exceeds the limit max_steps_per_request = {cap}")
    if race.playing:
        raise HTTPException(409, "the race is playing: pause it before stepping")
    await _blocking(race.run_round, steps)
    result: dict[str, Any] = await run_in_threadpool(race.info)
    return result


@router.post("/races/{race_id}/play", response_model=RaceInfo, summary="Train every member, in step")
async def play_race(race: ControlledRace, body: RacePlay | None = None) -> dict[str, Any]:
    try:
        race.start(body or RacePlay())
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    result: dict[str, Any] = await run_in_threadpool(race.info)
    return result


@router.post("/races/{race_id}/pause", response_model=RaceInfo, summary="Stop training the members")
async def pause_race(race: ControlledRace) -> dict[str, Any]:
    race.pause()
    result: dict[str, Any] = await run_in_threadpool(race.info)
    return result


@router.post("/races/{race_id}/reset", response_model=RaceInfo, summary="Every member back to step 0")
async def reset_race(race: ControlledRace) -> dict[str, Any]:
    race.pause()
    await _blocking(race.reset)
    result: dict[str, Any] = await run_in_threadpool(race.info)
    return result


@router.delete("/races/{race_id}", summary="Delete a race and its members")
async def delete_race(race: ControlledRace, races: Races, manager: Manager) -> dict[str, str]:
    race.pause("deleted")
    races.pop(race.id, None)

    def drop() -> None:
        with race.lock:
            for m in race.members:
                _delete_quietly(manager, m.session.id)

    await run_in_threadpool(drop)
    return {"deleted": race.id}


@router.get(
    "/races/{race_id}/landscape",
    response_model=RaceLandscape,
    summary="The members' paths on a loss-landscape slice",
)
async def race_landscape(
    race: RaceDep,
    res: Annotated[int, Query(ge=5, le=61, description="grid points per axis")] = 25,
    directions: Annotated[str, Query(pattern="^(principal|random)$")] = "principal",
) -> dict[str, Any]:
    """The train loss (no regularization, at most 512 training rows) on the plane through the members'
    mean weights spanned by two fixed directions: the top-2 principal directions of all paths
    (``principal``) or filter-normalised random ones drawn once from the initial weights (``random``);
    each member's path projected onto it."""
    result: dict[str, Any] = await _blocking(race.landscape, res, directions)
    if not all(math.isfinite(a) for a in result["alphas"]):
        raise HTTPException(409, "the paths left the finite numbers: reset the race")
    return result
