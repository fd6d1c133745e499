"""Routes of the CNN and RNN views: how a feature map, a kernel or ∂L/∂h_t was made, the input's
gradient, and how the network does on a whole split (confusion matrix, mistakes, sequences).

Explanations read the session's last traced step (``engine.last_trace``) under the session's
lock, in a worker thread, like ``GET …/explain``; their numbers are those of the step the
answer names. With ``step`` they read a recorded past step instead, replayed from its snapshot
outside the lock (as ``GET …/at/{step}/explain`` does), so a page scrubbed back in time
explains what it shows. Evaluation copies the network under the lock and runs its forward
pass outside it, so a long evaluation never stalls training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from engine.evaluation import evaluate_split
from engine.explain_spatial import (
    explain_conv_input,
    explain_conv_kernel,
    explain_conv_position,
    explain_recurrent_step,
)
from engine.network import Network
from engine.recording import replay
from engine.saliency import input_gradient
from engine.trace import StepTrace
from server.api import ERRORS, Session, _blocking
from server.protocol import jsonable
from server.schemas import EvaluationResponse, InputGradientResponse, SpatialExplainResponse
from server.sessions import ManagedSession

__all__ = ["router"]

router = APIRouter(prefix="/api", responses=ERRORS)

NO_TRACE = "no traced step yet: step the session once (POST …/step) and ask again"
MAX_EXAMPLES = 200

Index = Annotated[int, Query(ge=0)]
PastStep = Annotated[
    int | None,
    Query(ge=0, description="a recorded past step (time travel); the last traced step when left out"),
]


def _with_trace(
    session: ManagedSession, step: int | None, read: Callable[[Network, StepTrace, int], dict[str, Any]]
) -> dict[str, Any]:
    """``read(net, trace, generation)`` of the last traced step, or of recorded step ``step``.

    404 when there is no such trace; a step outside the recording is a ``ValueError`` (422).
    """
    if step is None:
        with session.lock:
            trace = session.engine.last_trace
            if trace is None:
                raise HTTPException(404, NO_TRACE)
            return read(session.engine.network, trace, session.generation)
    with session.lock:
        current, generation = session.engine.step_count, session.generation
        if step > current:
            raise ValueError(f"step {step} is in the future: the session is at step {current}")
        state, gap = session.recorder.base_for(step, True)
    engine, result = replay(state, gap, True)
    if result is None or result.trace is None:
        raise HTTPException(404, f"step {step} has no trace: the recording starts there; pick a later step")
    return read(engine.network, result.trace, generation)


async def _explained(
    session: ManagedSession,
    layer: int,
    step: int | None,
    explain: Callable[[Network, StepTrace], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``explain(net, trace)`` on the step's trace; 404 without one, 422 for a bad index."""

    def read(net: Network, trace: StepTrace, generation: int) -> dict[str, Any]:
        data = explain(net, trace)
        body: dict[str, Any] = jsonable(
            {"step": trace.step, "generation": generation, "kind": data["kind"], "layer": layer, "data": data}
        )
        return body

    answer: dict[str, Any] = await _blocking(_with_trace, session, step, read)
    return answer


@router.get(
    "/sessions/{session_id}/explain/conv",
    response_model=SpatialExplainResponse,
    summary="How one feature-map position of a conv layer was made",
)
async def explain_conv(
    session: Session,
    layer: Index,
    sample: Index,
    filt: Annotated[int, Query(alias="filter", ge=0)],
    row: Index,
    col: Index,
    step: PastStep = None,
) -> dict[str, Any]:
    """The forward dot product of the kernel with the input patch at (``row``, ``col``) of map
    ``filter`` for batch row ``sample``, and its δ with this position's share of ∂L/∂K and ∂L/∂X."""
    return await _explained(
        session, layer, step, lambda net, t: explain_conv_position(net, t, layer, sample, filt, row, col)
    )


@router.get(
    "/sessions/{session_id}/explain/kernel",
    response_model=SpatialExplainResponse,
    summary="How one kernel entry's gradient was made",
)
async def explain_kernel(
    session: Session,
    layer: Index,
    filt: Annotated[int, Query(alias="filter", ge=0)],
    channel: Index,
    i: Index,
    j: Index,
    step: PastStep = None,
) -> dict[str, Any]:
    """∂L/∂K[filter, channel, i, j] as the input correlated with δ, then the optimizer's update."""
    return await _explained(
        session, layer, step, lambda net, t: explain_conv_kernel(net, t, layer, filt, channel, i, j)
    )


@router.get(
    "/sessions/{session_id}/explain/input",
    response_model=SpatialExplainResponse,
    summary="How ∂L/∂X at one input position of a conv layer was made",
)
async def explain_input(
    session: Session,
    layer: Index,
    sample: Index,
    channel: Index,
    row: Index,
    col: Index,
    step: PastStep = None,
) -> dict[str, Any]:
    """∂L/∂X[sample, channel, row, col] of conv layer ``layer``'s input: δ convolved with the
    flipped kernel."""
    return await _explained(
        session, layer, step, lambda net, t: explain_conv_input(net, t, layer, sample, channel, row, col)
    )


@router.get(
    "/sessions/{session_id}/explain/recurrent",
    response_model=SpatialExplainResponse,
    summary="How ∂L/∂h_t of a recurrent layer was built from step t+1",
)
async def explain_recurrent(
    session: Session, layer: Index, sample: Index, t: Index, step: PastStep = None
) -> dict[str, Any]:
    """``∂L/∂h_t = direct_t + δ_{t+1}·W_hᵀ`` with the numbers of batch row ``sample`` (steps count
    from 0), this step's share of ∂L/∂W_h, and every step's share norm."""
    return await _explained(
        session, layer, step, lambda net, tr: explain_recurrent_step(net, tr, layer, sample, t)
    )


@router.get(
    "/sessions/{session_id}/input-gradient",
    response_model=InputGradientResponse,
    summary="∂L/∂X of the network's input at the last traced step",
)
async def read_input_gradient(
    session: Session,
    sample: Annotated[int | None, Query(ge=0, description="one batch row; all when left out")] = None,
    step: PastStep = None,
) -> dict[str, Any]:
    """What the loss would have the input change: for an image, the gradient over its pixels."""

    def read(net: Network, trace: StepTrace, generation: int) -> dict[str, Any]:
        rows = list(range(len(trace.X)))
        if sample is not None:
            if sample >= len(rows):
                raise ValueError(f"sample must be in [0, {len(rows)}), got {sample}")
            rows = [sample]
        gradient = input_gradient(net, trace)
        body: dict[str, Any] = jsonable(
            {
                "step": trace.step,
                "generation": generation,
                "samples": rows,
                "indices": trace.indices[rows],
                "shape": list(trace.X.shape[1:]),
                "x": trace.X[rows],
                "gradient": gradient[rows],
            }
        )
        return body

    answer: dict[str, Any] = await _blocking(_with_trace, session, step, read)
    return answer


@router.get(
    "/sessions/{session_id}/evaluation",
    response_model=EvaluationResponse,
    summary="Confusion matrix, mistakes and predictions on a whole split",
)
async def evaluation(
    session: Session,
    split: Literal["test", "train"] = "test",
    max_examples: Annotated[int, Query(ge=0, le=MAX_EXAMPLES)] = 24,
) -> dict[str, Any]:
    """The network with its current parameters on every sample of ``split`` (the training set
    when the test set is empty): for classification the confusion matrix and the most
    confidently wrong examples (with their images), for sequences predicted against target."""

    def run() -> dict[str, Any]:
        with session.lock:
            e = session.engine
            net, data = e.network.clone(), e.data
            step, epoch, generation = e.step_count, e.epoch, session.generation
        result = evaluate_split(net, data, split, max_examples)
        body: dict[str, Any] = jsonable({"step": step, "epoch": epoch, "generation": generation, **result})
        return body

    answer: dict[str, Any] = await _blocking(run)
    return answer
