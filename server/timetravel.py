"""Routes for going back in a run: the state at any recorded step, forks, gradient checks.

Past steps are rebuilt by the engine's :mod:`engine.recording` (snapshot +
deterministic replay), outside the session's lock except for copying the
snapshot, so scrubbing an old step does not pause live training.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from engine.explain import explain_node, explain_parameter
from engine.gradcheck import TOLERANCE, gradient_check
from engine.history import EVAL_FIELDS
from engine.recording import replay
from engine.session import StepResult, TrainingSession
from server.api import ERRORS, Manager, Session, _blocking
from server.framebuilder import FrameBuilder
from server.protocol import HEAT_BITS, TENSORS, jsonable
from server.schemas import (
    CreatedSession,
    ExplainResponse,
    ForkRequest,
    GradcheckRequest,
    GradcheckResponse,
    StepStateResponse,
)
from server.sessions import ManagedSession

__all__ = ["router"]

router = APIRouter(prefix="/api", responses=ERRORS)


def _rebuild(
    session: ManagedSession, step: int, trace: bool = True
) -> tuple[TrainingSession, StepResult | None]:
    """The run as it was after ``step``; 422 when the step is outside the recorded range."""
    with session.lock:
        current = session.engine.step_count
        if step > current:
            raise ValueError(f"step {step} is in the future: the session is at step {current}")
        state, gap = session.recorder.base_for(step, trace)
    return replay(state, gap, trace)


@router.get(
    "/sessions/{session_id}/at/{step}", response_model=StepStateResponse, summary="The run at a past step"
)
async def state_at(session: Session, step: int) -> dict[str, Any]:
    """Parameters, evaluation and (when replayable) the full trace of step ``step``, read-only."""

    def run() -> dict[str, Any]:
        engine, result = _rebuild(session, step)
        trace = None if result is None else result.trace
        body: dict[str, Any] = jsonable(
            {
                "step": engine.step_count,
                "epoch": engine.epoch,
                "params": {"layers": engine.network.get_params()},
                "eval": engine.evaluate(),
                "summary": None if trace is None else trace.summary.to_dict(),
                "trace": None
                if trace is None
                else {"indices": trace.indices, "X": trace.X, "Y": trace.Y, "layers": trace.layers},
            }
        )
        return body

    result: dict[str, Any] = await _blocking(run)
    return result


@router.get(
    "/sessions/{session_id}/at/{step}/frame",
    summary="A binary frame of a past step",
    response_class=Response,
    responses={
        200: {"description": "a binary frame (docs/protocol.md)", "content": {"application/octet-stream": {}}}
    },
)
async def frame_at(
    session: Session,
    step: int,
    output: Annotated[int, Query(ge=0, le=200)] = 50,
    nodes: Annotated[int, Query(ge=0, le=200)] = 20,
    bits: Annotated[int, Query(description="heatmaps as q8 codes (8) or float32 (32)")] = 32,
) -> Response:
    """The same binary frame the websocket sends (docs/protocol.md), for step ``step``:
    the page draws a past step with the code that draws live ones."""
    if bits not in HEAT_BITS:
        raise HTTPException(422, f"bits must be 8 (heatmaps as q8 codes) or 32 (float32), got {bits}")

    def run() -> bytes:
        engine, result = _rebuild(session, step)
        # The header's eval is the history's last one: make that the evaluation at this step
        # (the replay's own history only logged the steps since its snapshot).
        ev = engine.evaluate()
        values = [math.nan if (v := ev[f]) is None else float(v) for f in EVAL_FIELDS]
        engine.history.evals.record(engine.step_count, *values)
        builder = FrameBuilder(engine, session.frames.frame_max_parameters)
        empty = np.zeros(0)
        header = {
            "session": session.id,
            "generation": session.generation,
            "step": engine.step_count,
            "epoch": engine.epoch,
            "playing": False,
            "divergence": None,
            "past": True,
        }
        key = (TENSORS, output, nodes, bits)
        summary = None if result is None else result.summary
        trace = None if result is None else result.trace
        return builder.build([key], header, (empty, empty, empty), summary, trace)[key]

    body: bytes = await _blocking(run)
    return Response(body, media_type="application/octet-stream")


@router.get(
    "/sessions/{session_id}/at/{step}/explain",
    response_model=ExplainResponse,
    summary="How a gradient was made at a past step",
)
async def explain_at(
    session: Session,
    step: int,
    layer: Annotated[int, Query(ge=0)],
    param: Annotated[str | None, Query(description="W, b, … ; leave out with node")] = None,
    index: Annotated[str | None, Query(description="comma-separated, e.g. 0,3 for W[0][3]")] = None,
    node: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """``GET …/explain`` for the recorded step ``step``: the same chain-rule factors, from the
    replayed trace of that step (the explain panel of a scrubbed page)."""

    def run() -> dict[str, Any] | None:
        engine, result = _rebuild(session, step)
        trace = None if result is None else result.trace
        if trace is None:
            return None
        net = engine.network
        if node is not None:
            return {
                "kind": "node",
                "param": None,
                "index": [node],
                "data": explain_node(net, trace, layer, node),
            }
        if param is None or index is None:
            raise ValueError("give param and index (e.g. param=W&index=0,3), or node")
        try:
            idx = tuple(int(p) for p in index.split(","))
        except ValueError:
            raise ValueError(f"index must be comma-separated integers, got {index!r}") from None
        data = explain_parameter(net, trace, layer, param, idx)
        return {"kind": data["kind"], "param": param, "index": list(idx), "data": data}

    found = await _blocking(run)
    if found is None:
        raise HTTPException(404, f"step {step} has no trace: the recording starts there; pick a later step")
    answer: dict[str, Any] = jsonable({"step": step, "layer": layer, **found})
    return answer


@router.get("/sessions/{session_id}/compare", summary="Two recorded steps side by side")
async def compare(
    session: Session, a: Annotated[int, Query(ge=0)], b: Annotated[int, Query(ge=0)]
) -> dict[str, Any]:
    """Per-layer weight norms at both steps and every parameter's change from ``a`` to ``b``."""

    def run() -> dict[str, Any]:
        first, _ = _rebuild(session, a, trace=False)
        second, _ = _rebuild(session, b, trace=False)
        net_a, net_b = first.network, second.network
        change = net_b.theta - net_a.theta
        layers = []
        for k, (pa, pb) in enumerate(zip(net_a.get_params(), net_b.get_params(), strict=True)):
            layers.append(
                {
                    "layer": k,
                    "norm_a": float(np.sqrt(sum(float(np.vdot(v, v)) for v in pa.values()))),
                    "norm_b": float(np.sqrt(sum(float(np.vdot(v, v)) for v in pb.values()))),
                    "change": {name: (pb[name] - pa[name]) for name in pa},
                }
            )
        body: dict[str, Any] = jsonable(
            {
                "a": a,
                "b": b,
                "change_norm": float(np.linalg.norm(change)),
                "layers": layers,
                "eval_a": first.evaluate(),
                "eval_b": second.evaluate(),
            }
        )
        return body

    result: dict[str, Any] = await _blocking(run)
    return result


@router.post(
    "/sessions/{session_id}/fork", status_code=201, response_model=CreatedSession, summary="Fork a run"
)
async def fork(session: Session, manager: Manager, body: ForkRequest | None = None) -> dict[str, Any]:
    """A new session from this one's current step (or any recorded ``step``), with optional
    training changes. Anyone who can watch a session can fork it; the fork is theirs."""
    body = body or ForkRequest()

    def run() -> ManagedSession:
        if body.step is None:
            with session.lock:
                engine = TrainingSession.from_state(session.engine.state())
        else:
            with session.lock:
                history = session.engine.history.state()
            engine, _ = _rebuild(session, body.step, trace=False)
            # The replay only saw the steps since its snapshot: the fork's curves are the
            # parent's up to the fork step, as when forking the current step.
            engine.history.load_state(_history_until(history, engine.step_count))
        if body.training is not None:
            engine.apply_training_changes(body.training.model_dump(exclude_unset=True))
        created = manager.add(engine)
        created.parent = (session.id, engine.step_count)
        return created

    created = await _blocking(run)
    return {
        "id": created.id,
        "control_token": created.token,
        "session": await run_in_threadpool(created.info),
    }


def _history_until(history: dict[str, Any], step: int) -> dict[str, Any]:
    """A ``History.state()`` cut after ``step``."""
    cut = {}
    for name, curve in history.items():
        keep = np.asarray(curve["steps"]) <= step
        cut[name] = {
            "stride": curve["stride"],
            "steps": curve["steps"][keep],
            "values": curve["values"][:, keep],
        }
    return cut


@router.get("/sessions/{session_id}/forks", summary="Live losses of the forks of a session")
async def forks(session: Session, manager: Manager) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        found = []
        for other in manager.all():
            if other.parent is not None and other.parent[0] == session.id:
                with other.lock:
                    history = other.engine.history
                    found.append(
                        {
                            "id": other.id,
                            "parent_step": other.parent[1],
                            "step": other.engine.step_count,
                            "playing": other.playing,
                            "config": other.engine.config["training"],
                            "eval": history.evals.last(),
                            "evals": {
                                "step": history.evals.steps,
                                "train_loss": history.evals.column("train_loss"),
                                "test_loss": history.evals.column("test_loss"),
                            },
                        }
                    )
        listed: dict[str, Any] = jsonable({"forks": found})
        return listed

    result: dict[str, Any] = await run_in_threadpool(run)
    return result


@router.post("/sessions/{session_id}/gradcheck", response_model=GradcheckResponse, summary="Check gradients")
async def gradcheck(session: Session, body: GradcheckRequest | None = None) -> dict[str, Any]:
    """Central finite differences (float64) beside the analytic gradient, on the batch of the
    last traced step (or of ``step``), for one parameter entry, one layer, or the whole network."""
    body = body or GradcheckRequest()

    def run() -> dict[str, Any]:
        if body.step is not None:
            engine, result = _rebuild(session, body.step)
            trace = None if result is None else result.trace
            net = engine.network
        else:
            with session.lock:
                trace = session.engine.last_trace
                net = session.engine.network.clone()
        if trace is None:
            raise ValueError("no traced step to check: step the session once (or pick a later step)")
        net.theta[...] = trace.theta_before  # the weights the step's gradient was computed at
        indices = None
        if body.layer is None and (body.param is not None or body.index is not None):
            raise ValueError("param and index need a layer, e.g. {'layer': 0, 'param': 'W', 'index': [0, 1]}")
        if body.layer is not None:
            if body.layer >= len(net.layers):
                raise ValueError(
                    f"layer {body.layer} does not exist; the network has {len(net.layers)} layers"
                )
            slots = [
                s for s in net.slots if s.layer == body.layer and (body.param is None or s.name == body.param)
            ]
            if not slots:
                raise ValueError(f"layer {body.layer} has no parameter {body.param!r}")
            if body.index is not None:
                if body.param is None or len(slots) != 1:
                    raise ValueError("index needs param, e.g. {'layer': 0, 'param': 'W', 'index': [0, 1]}")
                slot = slots[0]
                if len(body.index) != len(slot.shape) or any(
                    not 0 <= i < n for i, n in zip(body.index, slot.shape, strict=True)
                ):
                    raise ValueError(f"index {body.index} is outside {slot.name}, shape {list(slot.shape)}")
                indices = [slot.offset + int(np.ravel_multi_index(tuple(body.index), slot.shape))]
            else:
                indices = [i for s in slots for i in range(s.offset, s.stop)]
        if indices is not None and len(indices) > body.max_entries:
            rng = np.random.default_rng(0)
            indices = sorted(rng.choice(indices, body.max_entries, replace=False).tolist())
        check = gradient_check(net, trace.X, trace.Y, indices, body.epsilon, body.max_entries)
        where = {
            i: (s.layer, s.name, np.unravel_index(i - s.offset, s.shape))
            for s in net.slots
            for i in check.indices.tolist()
            if s.offset <= i < s.stop
        }
        entries = [
            {
                "layer": where[int(i)][0],
                "param": where[int(i)][1],
                "index": [int(x) for x in where[int(i)][2]],
                "analytic": float(check.analytic[k]),
                "numeric": float(check.numeric[k]),
                "relative_error": float(check.entry_errors[k]),
            }
            for k, i in enumerate(check.indices)
        ]
        return {
            "step": trace.step,
            "entries": entries,
            "max_relative_error": check.relative_error,
            "ok": check.ok,
            "tolerance": TOLERANCE,
            "dtype_checked": "float64",
        }

    result: dict[str, Any] = await _blocking(run)
    return result
