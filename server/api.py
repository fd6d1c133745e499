"""REST routes of the API contract. Blocking engine work runs in worker threads."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from engine.explain import explain_node, explain_parameter
from engine.serialization import load_session_document, session_document
from server import catalog
from server.manager import LimitError, NotFound, SessionManager, check_config_limits
from server.protocol import jsonable
from server.schemas import (
    CreatedSession,
    ErrorResponse,
    ExplainResponse,
    HealthResponse,
    HistoryResponse,
    OptionsResponse,
    ParamsBody,
    PatchRequest,
    PlayOptions,
    PredictRequest,
    PredictResponse,
    RecoverRequest,
    SessionConfig,
    SessionInfo,
    SessionList,
    StepRequest,
    StepResponse,
    TraceResponse,
)
from server.sessions import ManagedSession

__all__ = ["get_manager", "require_control", "router", "session_or_404"]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "the body is not JSON text (or not UTF-8)"},
    401: {"model": ErrorResponse, "description": "no control token"},
    403: {"model": ErrorResponse, "description": "wrong control token"},
    404: {"model": ErrorResponse, "description": "no such session"},
    409: {"model": ErrorResponse, "description": "the session's state does not allow this now"},
    413: {"model": ErrorResponse, "description": "a size limit was exceeded"},
    422: {"model": ErrorResponse, "description": "invalid input; the message says what to fix"},
}

router = APIRouter(prefix="/api", responses=ERRORS)

# The body of POST /sessions/import: what GET /sessions/{id}/export gives (docs/persistence.md).
SESSION_FILE: dict[str, Any] = {
    "type": "object",
    "required": ["format", "version", "state"],
    "properties": {
        "format": {"const": "backprop-lab-session"},
        "version": {"const": 1},
        "state": {"type": "object", "description": "config, weights, optimizer, RNG, counters, history"},
    },
    "additionalProperties": False,
}


def get_manager(request: Request) -> SessionManager:
    manager: SessionManager = request.app.state.manager
    return manager


Manager = Annotated[SessionManager, Depends(get_manager)]


def session_or_404(session_id: str, manager: Manager) -> ManagedSession:
    try:
        return manager.get(session_id)
    except NotFound:
        raise HTTPException(
            404, f"no session {session_id!r}: it was deleted, expired, or never existed"
        ) from None


Session = Annotated[ManagedSession, Depends(session_or_404)]


def token_matches(session: ManagedSession, token: str | None) -> bool:
    return token is not None and secrets.compare_digest(token.encode(), session.token.encode())


def require_control(
    session: Session, authorization: Annotated[str | None, Header()] = None
) -> ManagedSession:
    """Changes need ``Authorization: Bearer <control_token>``; compared in constant time."""
    if not authorization:
        raise HTTPException(401, "this change needs the header 'Authorization: Bearer <control_token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token_matches(session, token.strip()):
        raise HTTPException(403, "the control token does not match this session")
    return session


Controlled = Annotated[ManagedSession, Depends(require_control)]


async def _blocking(fn: Any, *args: Any) -> Any:
    """Run engine work off the event loop; caller mistakes become 422 / limits their status."""
    try:
        return await run_in_threadpool(fn, *args)
    except LimitError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


# --- catalogue -------------------------------------------------------------------


@router.get("/options", response_model=OptionsResponse, summary="What can be configured, and the limits")
async def options(request: Request) -> dict[str, Any]:
    return catalog.options(request.app.state.settings)


@router.get(
    "/health", response_model=HealthResponse, summary="Is the server well, and are sessions being stored"
)
async def health(request: Request, manager: Manager) -> dict[str, Any]:
    checkpointer = getattr(request.app.state, "checkpointer", None)
    persistence = checkpointer.health() if checkpointer is not None else {"enabled": False}
    status = "degraded" if persistence.get("problems") else "ok"
    return {"status": status, "sessions": len(manager.all()), "persistence": persistence}


# --- sessions --------------------------------------------------------------------


@router.get("/sessions", response_model=SessionList, summary="List sessions")
async def list_sessions(manager: Manager) -> dict[str, Any]:
    return {"sessions": await run_in_threadpool(lambda: [s.info() for s in manager.all()])}


@router.post("/sessions", status_code=201, response_model=CreatedSession, summary="Create a session")
async def create_session(config: SessionConfig, manager: Manager) -> dict[str, Any]:
    plain = config.to_engine()
    engine = await _blocking(manager.build_engine, plain)
    managed = await _blocking(manager.add, engine)
    return {
        "id": managed.id,
        "control_token": managed.token,
        "session": await run_in_threadpool(managed.info),
    }


@router.post(
    "/sessions/import",
    status_code=201,
    response_model=CreatedSession,
    summary="Import a session file",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": SESSION_FILE}}}
    },
)
async def import_session(request: Request, manager: Manager) -> dict[str, Any]:
    body = await request.body()

    def build() -> Any:
        engine = load_session_document(
            body,
            max_bytes=request.app.state.settings.max_body_bytes,
            check_config=lambda config: check_config_limits(config, None, manager.settings),
        )
        check_config_limits(engine.config, engine, manager.settings)
        return engine

    engine = await _blocking(build)
    managed = await _blocking(manager.add, engine)
    return {
        "id": managed.id,
        "control_token": managed.token,
        "session": await run_in_threadpool(managed.info),
    }


@router.get("/sessions/{session_id}", response_model=SessionInfo, summary="Read a session")
async def read_session(session: Session) -> dict[str, Any]:
    return await run_in_threadpool(session.info)


@router.patch("/sessions/{session_id}", response_model=SessionInfo, summary="Change hyperparameters live")
async def patch_session(body: PatchRequest, session: Controlled) -> dict[str, Any]:
    # Only the fields the client sent: a partial optimizer change keeps the optimizer,
    # and an explicit null (e.g. clip_norm) turns a setting off.
    training = body.training.model_dump(exclude_unset=True) if body.training else None
    await _blocking(session.apply_changes, training, body.play, body.lockstep)
    return await run_in_threadpool(session.info)


@router.delete("/sessions/{session_id}", summary="Delete a session")
async def delete_session(session: Controlled, manager: Manager) -> dict[str, str]:
    try:
        await run_in_threadpool(manager.delete, session.id)
    except NotFound:  # deleted by a concurrent request
        raise HTTPException(404, f"no session {session.id!r}: it was already deleted") from None
    return {"deleted": session.id}


@router.post("/sessions/{session_id}/step", response_model=StepResponse, summary="Train n steps now")
async def step(session: Controlled, request: Request, body: StepRequest | None = None) -> dict[str, Any]:
    """Train ``steps`` steps (1 when the body is left out) before answering."""
    steps = body.steps if body is not None else 1
    batch_size = body.batch_size if body is not None else None
    cap = request.app.state.settings.max_steps_per_request
    if steps > cap:
        raise HTTPException(413, f"steps = {steps} exceeds the limit max_steps_per_request = {cap}")
    if session.playing:
        raise HTTPException(409, "the session is playing: pause it before stepping")
    result = await _blocking(session.step, steps, batch_size)
    e = session.engine
    answer: dict[str, Any] = jsonable(
        {
            "step": e.step_count,
            "epoch": e.epoch,
            "steps_done": result.steps_done,
            "losses": result.losses,
            "lrs": result.lrs,
            "summary": None if result.summary is None else result.summary.to_dict(),
            "eval": e.history.evals.last(),
            "divergence": None if result.divergence is None else result.divergence.to_dict(),
        }
    )
    return answer


@router.post("/sessions/{session_id}/play", response_model=SessionInfo, summary="Train continuously")
async def play(session: Controlled, manager: Manager, body: PlayOptions | None = None) -> dict[str, Any]:
    try:
        await run_in_threadpool(session.start, body)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    manager.wake()
    return await run_in_threadpool(session.info)


@router.post("/sessions/{session_id}/pause", response_model=SessionInfo, summary="Stop continuous training")
async def pause(session: Controlled) -> dict[str, Any]:
    await run_in_threadpool(session.pause)
    return await run_in_threadpool(session.info)


@router.post(
    "/sessions/{session_id}/reset", response_model=SessionInfo, summary="Back to step 0, same weights"
)
async def reset(session: Controlled) -> dict[str, Any]:
    await _blocking(session.reset)
    return await run_in_threadpool(session.info)


@router.post("/sessions/{session_id}/recover", response_model=SessionInfo, summary="Clear a divergence")
async def recover(session: Controlled, body: RecoverRequest | None = None) -> dict[str, Any]:
    await _blocking(session.recover, body.lr if body else None)
    return await run_in_threadpool(session.info)


@router.get("/sessions/{session_id}/params", response_model=ParamsBody, summary="Read every parameter")
async def get_params(session: Session) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with session.lock:
            layers = session.engine.network.get_params()
            return {
                "layers": jsonable(layers),
                "step": session.engine.step_count,
                "generation": session.generation,
            }

    result: dict[str, Any] = await run_in_threadpool(read)
    return result


@router.put("/sessions/{session_id}/params", response_model=ParamsBody, summary="Replace every parameter")
async def put_params(body: ParamsBody, session: Controlled) -> dict[str, Any]:
    await _blocking(session.set_params, body.layers)
    return await get_params(session)


@router.get("/sessions/{session_id}/trace", response_model=TraceResponse, summary="The last step, in full")
async def trace(session: Session) -> dict[str, Any]:
    def read() -> dict[str, Any] | None:
        with session.lock:
            t = session.engine.last_trace
            if t is None:
                return None
            body: dict[str, Any] = jsonable(
                {
                    "step": t.step,
                    "epoch": t.summary.epoch,
                    "loss": t.summary.loss,
                    "generation": session.generation,
                    "summary": t.summary.to_dict(),
                    "indices": t.indices,
                    "X": t.X,
                    "Y": t.Y,
                    "layers": t.layers,
                }
            )
            return body

    body = await run_in_threadpool(read)
    if body is None:
        raise HTTPException(404, "no traced step yet: step the session once (POST …/step) and ask again")
    return body


@router.get("/sessions/{session_id}/history", response_model=HistoryResponse, summary="Loss curves and LR")
async def history(
    session: Session, max_points: Annotated[int, Query(ge=2, le=100_000)] = 2000
) -> dict[str, Any]:
    """Per-step loss and LR, and evaluation points; at most ``max_points`` each, evenly decimated."""

    def read() -> dict[str, Any]:
        with session.lock:
            h = session.engine.history
            steps = h.steps
            pick = _even(steps.length, max_points)
            evals = h.evals
            epick = _even(evals.length, max_points)
            body: dict[str, Any] = jsonable(
                {
                    "steps": steps.steps[pick],
                    "loss": steps.column("loss")[pick],
                    "lr": steps.column("lr")[pick],
                    "stride": steps.stride,
                    "recorded": session.recorded_range(),
                    "evals": {
                        "step": evals.steps[epick],
                        **{f: evals.column(f)[epick] for f in evals.fields},
                    },
                }
            )
            return body

    result: dict[str, Any] = await run_in_threadpool(read)
    return result


def _even(length: int, most: int) -> Any:
    if length <= most:
        return slice(0, length)
    return np.unique(np.linspace(0, length - 1, most).round().astype(int))


@router.post(
    "/sessions/{session_id}/predict", response_model=PredictResponse, summary="Outputs for any inputs"
)
async def predict(body: PredictRequest, session: Session, request: Request) -> dict[str, Any]:
    cap = request.app.state.settings.max_predict_rows
    if len(body.x) > cap:
        raise HTTPException(413, f"{len(body.x)} rows exceed the limit max_predict_rows = {cap}")

    def run() -> Any:
        try:
            x = np.asarray(body.x, dtype=np.float64)
        except (ValueError, TypeError):
            raise ValueError("x must be a rectangular array of numbers") from None
        with session.lock:
            net = session.engine.network
            if body.ema:
                if session.engine.ema is None:
                    raise ValueError("this session keeps no weight average: set training.ema_decay first")
                twin = net.clone()
                twin.theta[...] = session.engine.ema.values
                net = twin
            layers = net.predict(x)
        return {"outputs": layers[-1]["a"], "layers": layers}

    answer: dict[str, Any] = jsonable(await _blocking(run))
    return answer


@router.get(
    "/sessions/{session_id}/explain", response_model=ExplainResponse, summary="How a gradient was made"
)
async def explain(
    session: Session,
    layer: Annotated[int, Query(ge=0)],
    param: Annotated[str | None, Query(description="W, b, … ; leave out with node")] = None,
    index: Annotated[str | None, Query(description="comma-separated, e.g. 0,3 for W[0][3]")] = None,
    node: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    def run() -> Any:
        with session.lock:
            t = session.engine.last_trace
            if t is None:
                raise LookupError()
            net = session.engine.network
            if node is not None:
                return t.step, "node", None, [node], explain_node(net, t, layer, node)
            if param is None or index is None:
                raise ValueError("give param and index (e.g. param=W&index=0,3), or node")
            try:
                idx = tuple(int(p) for p in index.split(","))
            except ValueError:
                raise ValueError(f"index must be comma-separated integers, got {index!r}") from None
            data = explain_parameter(net, t, layer, param, idx)
            return t.step, data["kind"], param, list(idx), data

    try:
        step, kind, name, idx, data = await _blocking(run)
    except LookupError:
        raise HTTPException(404, "no traced step yet: step the session once and ask again") from None
    return {"step": step, "kind": kind, "layer": layer, "param": name, "index": idx, "data": jsonable(data)}


@router.get("/sessions/{session_id}/export", summary="Download the whole session as a file")
async def export(session: Session) -> Response:
    def run() -> bytes:
        import json

        with session.lock:
            doc = session_document(session.engine)
        return json.dumps(doc, separators=(",", ":")).encode()

    body = await run_in_threadpool(run)
    return Response(
        body,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="backprop-lab-{session.id}.json"'},
    )


def install_error_handlers(app: Any) -> None:
    """Validation errors as one readable sentence per problem, plus the raw list."""
    from fastapi.exceptions import RequestValidationError

    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                position = err.get("loc", ("body", "?"))[-1]
                reason = (err.get("ctx") or {}).get("error", "invalid JSON")
                problems.append(f"the body is not valid JSON: {reason} at character {position}")
                continue
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problem = f"{where or 'body'}: {err.get('msg')}"
            given = err.get("input")
            if isinstance(given, (str, int, float)) and err.get("type") != "missing":
                problem += f", got {_short(given)}"
            problems.append(problem)
        return JSONResponse(
            {"detail": "; ".join(problems) or "invalid request", "errors": jsonable(_plain_errors(exc))},
            status_code=422,
        )

    app.add_exception_handler(RequestValidationError, on_validation)


def _plain_errors(exc: Any) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append(
            {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg")), "type": err.get("type")}
        )
    return out


def _short(value: object, most: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= most else text[: most - 1] + "…"
