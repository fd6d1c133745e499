"""Every request and response body of the REST API, in one place.

These models check *types and structure* at the edge (wrong type, unknown
field, NaN, negative size → 422 naming the field). The engine then checks the
*meaning* (activation/loss pairs, shapes, dataset keys) and its ``ValueError``
messages become 422 answers too. Examples here feed the OpenAPI page at /docs.
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "CreatedRace",
    "CreatedSession",
    "DataConfig",
    "ErrorResponse",
    "EvaluationResponse",
    "ExplainResponse",
    "GradcheckRequest",
    "GradcheckResponse",
    "HealthResponse",
    "HistoryResponse",
    "InputGradientResponse",
    "JoinInfo",
    "LayerConfig",
    "Lesson",
    "LessonList",
    "LessonStep",
    "LessonSummary",
    "ModelConfig",
    "OptimizerConfig",
    "OptionsResponse",
    "ParamsBody",
    "PatchRequest",
    "PersistenceHealth",
    "PlayOptions",
    "PredictRequest",
    "PredictResponse",
    "PresentRequest",
    "Presentation",
    "RaceInfo",
    "RaceLandscape",
    "RaceLandscapeMember",
    "RaceMember",
    "RacePlay",
    "RaceRequest",
    "RaceStepRequest",
    "RaceVariant",
    "RecoverRequest",
    "RegularizationConfig",
    "ScheduleConfig",
    "SessionConfig",
    "SessionInfo",
    "SessionList",
    "SpatialExplainResponse",
    "StepRequest",
    "StepResponse",
    "TraceResponse",
    "TrainingChanges",
    "TrainingConfig",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_true_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        """Pydantic's lax mode reads ``true``/``false`` as 1/0 for a number: ``{"lr": false}`` would
        set the learning rate to 0. A number field takes numbers only (found by the schema fuzzer)."""
        if isinstance(value, bool) and info.field_name is not None:
            kinds = _scalar_kinds(cls.model_fields[info.field_name].annotation)
            if kinds & {int, float} and bool not in kinds:
                raise ValueError(f"expected a number, not {str(value).lower()}")
        return value


def _scalar_kinds(annotation: Any) -> set[Any]:
    """The plain types a field annotation admits at its top level: ``float | None`` → {float, None}."""
    args = get_args(annotation)
    if not args:
        return {annotation}
    if get_origin(annotation) is Literal:
        return {type(a) for a in args}
    out: set[Any] = set()
    for arg in args:
        out |= _scalar_kinds(arg) if get_origin(arg) in (Union, UnionType) else {arg}
    return out


class LayerConfig(Strict):
    type: Literal["dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", "rnn", "lstm"]
    units: int | None = Field(None, ge=1)
    activation: str | None = None
    filters: int | None = Field(None, ge=1)
    kernel: int | list[int] | None = None
    stride: int | None = Field(None, ge=1)
    padding: Literal["valid", "same"] | None = None
    size: int | None = Field(None, ge=1)
    return_sequences: bool | None = None
    truncate: int | None = Field(None, ge=1)
    forget_bias: float | None = None


class ModelConfig(Strict):
    input_shape: list[int] | None = Field(None, description="per sample; derived from the data when left out")
    layers: list[LayerConfig] = Field(..., min_length=1)
    loss: Literal["mse", "bce", "cross_entropy"] | None = Field(
        None, description="left out: bce for a sigmoid output, cross_entropy for softmax, else mse"
    )
    initializer: str | None = None
    init_scale: float | None = Field(None, ge=0)
    dtype: Literal["float64", "float32"] | None = None


class DataConfig(Strict):
    dataset: str | None = Field(
        None, description="a generated dataset (see GET /api/options); or give x and y"
    )
    samples: int | None = Field(None, ge=1)
    noise: float | None = Field(None, ge=0)
    train_fraction: float | None = Field(None, gt=0, le=1)
    features: list[str] | None = None
    classes: int | None = Field(None, ge=2)
    length: int | None = Field(None, ge=1)
    size: int | None = Field(None, ge=4)
    target: Literal["last", "sequence"] | None = None
    seed: int | None = Field(
        None, ge=0, le=2**53 - 1, description="draws the data alone; default: from the session seed"
    )
    x: list[Any] | None = None
    y: list[Any] | None = None
    x_test: list[Any] | None = None
    y_test: list[Any] | None = None
    domain: list[float] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="inline points: the plane's [lo, hi] (widened to hold them); default: their range + 10 %",
    )


class OptimizerConfig(Strict):
    name: Literal["sgd", "adam", "adamw", "rmsprop", "adagrad"] = "sgd"
    lr: float = Field(0.03, ge=0)
    momentum: float | None = Field(None, ge=0)
    dampening: float | None = Field(None, ge=0)
    nesterov: bool | None = None
    weight_decay: float | None = Field(None, ge=0)
    beta1: float | None = Field(None, ge=0, lt=1)
    beta2: float | None = Field(None, ge=0, lt=1)
    eps: float | None = Field(None, gt=0)
    amsgrad: bool | None = None
    alpha: float | None = Field(None, ge=0)
    centered: bool | None = None
    lr_decay: float | None = Field(None, ge=0)
    initial_accumulator_value: float | None = Field(None, ge=0)


class ScheduleConfig(Strict):
    name: Literal["constant", "step", "exponential", "cosine"] = "constant"
    step_size: int | None = Field(None, ge=1)
    gamma: float | None = Field(None, gt=0)
    t_max: int | None = Field(None, ge=1)
    eta_min: float | None = Field(None, ge=0)
    restarts: bool | None = None
    t_mult: int | None = Field(None, ge=1)
    warmup_steps: int | None = Field(None, ge=0)
    warmup_start_factor: float | None = Field(None, ge=0, le=1)


class RegularizationConfig(Strict):
    kind: Literal["none", "l1", "l2"] = "none"
    rate: float = Field(0.0, ge=0)


class TrainingConfig(Strict):
    optimizer: OptimizerConfig | None = None
    batch_size: int | None = Field(None, ge=1)
    regularization: RegularizationConfig | None = None
    schedule: ScheduleConfig | None = None
    clip_norm: float | None = Field(None, gt=0)
    ema_decay: float | None = Field(None, gt=0, lt=1)
    eval_every: int | None = Field(None, ge=0)


_EXAMPLE_CONFIG: dict[str, Any] = {
    "model": {
        "input_shape": [2],
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": "bce",
    },
    "data": {
        "dataset": "circle",
        "samples": 500,
        "noise": 0.1,
        "train_fraction": 0.5,
        "features": ["x1", "x2"],
    },
    "training": {
        "optimizer": {"name": "sgd", "lr": 0.03, "momentum": 0.0, "nesterov": False},
        "batch_size": 10,
        "regularization": {"kind": "none", "rate": 0.0},
    },
    "seed": 0,
}


class SessionConfig(Strict):
    """The session config of the API contract; see PRODUCT.md."""

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [_EXAMPLE_CONFIG]}
    )

    model: ModelConfig | None = None
    data: DataConfig | None = None
    training: TrainingConfig | None = None
    # 2**53 - 1: the largest integer a browser (a JavaScript number) holds exactly.
    seed: int = Field(0, ge=0, le=2**53 - 1)

    def to_engine(self) -> dict[str, Any]:
        """The plain dict the engine takes: unset fields left out so engine defaults apply."""
        return self.model_dump(exclude_none=True)


class TrainingChanges(TrainingConfig):
    """A partial training section: only the fields given change."""


class PlayOptions(Strict):
    speed: float | None = Field(None, gt=0, description="steps per second; null = as fast as possible")
    max_steps: int | None = Field(None, ge=1, description="pause when the step count reaches this")
    max_epochs: int | None = Field(None, ge=1)
    target_loss: float | None = Field(None, ge=0, description="pause when the evaluated train loss is ≤ this")


class PatchRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"training": {"optimizer": {"lr": 0.1}, "batch_size": 5}}]},
    )
    training: TrainingChanges | None = None
    play: PlayOptions | None = None
    lockstep: bool | None = None


class StepRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [{"steps": 10}]}
    )
    steps: int = Field(1, ge=1)
    batch_size: int | None = Field(
        None, ge=1, description="for these steps only, e.g. 1 to step one sample; the session keeps its own"
    )


class RecoverRequest(Strict):
    lr: float | None = Field(None, ge=0)


class PredictRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"x": [[0.5, -1.0], [2.0, 3.0]]}]},
    )
    x: list[Any] = Field(..., min_length=1)
    ema: bool = Field(False, description="use the exponential moving average of the weights")


class ParamsBody(BaseModel):
    model_config = ConfigDict(
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"layers": [{"W": [[0.1, -0.2]], "b": [0.0, 0.0]}]}]},
    )
    layers: list[dict[str, Any]]
    step: int | None = None
    generation: int | None = None


class SessionInfo(BaseModel):
    id: str
    generation: int
    step: int
    epoch: int
    playing: bool
    lockstep: bool
    play: PlayOptions
    config: dict[str, Any]
    architecture: dict[str, Any]
    data: dict[str, Any]
    eval: dict[str, Any] | None
    divergence: dict[str, Any] | None
    stop_reason: str | None = Field(
        None, description="why play last stopped (a stop condition, 'paused', a reset…); null while playing"
    )
    viewers: int
    parameters: int
    created: float
    updated: float
    revision: int = 0
    parent: dict[str, Any] | None = None
    recorded: dict[str, Any] | None = None


class CreatedSession(BaseModel):
    id: str
    control_token: str
    session: SessionInfo


class SessionList(BaseModel):
    sessions: list[SessionInfo]


class StepResponse(BaseModel):
    step: int
    epoch: int
    steps_done: int
    losses: list[float | None]
    lrs: list[float]
    summary: dict[str, Any] | None
    eval: dict[str, Any] | None
    divergence: dict[str, Any] | None


class PredictResponse(BaseModel):
    outputs: list[Any]
    layers: list[dict[str, Any]]


class TraceResponse(BaseModel):
    step: int
    epoch: int
    loss: float | None = Field(description="the step's total batch loss, regularization included")
    generation: int
    summary: dict[str, Any]
    indices: list[int]
    X: list[Any]
    Y: list[Any]
    layers: list[dict[str, Any]]


class HistoryResponse(BaseModel):
    steps: list[int]
    loss: list[float | None]
    lr: list[float | None]
    stride: int
    evals: dict[str, list[float | None]]
    recorded: dict[str, Any] | None = None


class ExplainResponse(BaseModel):
    step: int
    kind: Literal["weight", "bias", "node", "param"]
    layer: int
    param: str | None
    index: list[int]
    data: dict[str, Any]


class GradcheckRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"layer": 0, "param": "W", "index": [0, 1]}, {"layer": 1}, {}]},
    )
    layer: int | None = Field(None, ge=0, description="one layer, or all when left out")
    param: str | None = None
    index: list[int] | None = None
    step: int | None = Field(None, ge=0, description="a recorded step; the last traced step when left out")
    max_entries: int = Field(200, ge=1, le=5000)
    epsilon: float = Field(1e-6, gt=0, le=1e-2)


class GradcheckResponse(BaseModel):
    step: int
    entries: list[dict[str, Any]]
    max_relative_error: float
    ok: bool
    tolerance: float
    dtype_checked: str


class ForkRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [{}, {"step": 300, "training": {"optimizer": {"name": "adam", "lr": 0.01}}}]
        },
    )
    step: int | None = Field(None, ge=0, description="a recorded step; the current step when left out")
    training: TrainingChanges | None = None


class StepStateResponse(BaseModel):
    step: int
    epoch: int
    params: dict[str, Any]
    eval: dict[str, Any]
    summary: dict[str, Any] | None
    trace: dict[str, Any] | None


class OptionsResponse(BaseModel):
    activations: list[str]
    output_activations: dict[str, list[str]]
    losses: dict[str, Any]
    optimizers: dict[str, dict[str, Any]]
    schedules: list[str]
    initializers: list[str]
    layer_types: list[str]
    datasets: dict[str, Any]
    limits: dict[str, Any]
    protocol: int


class ErrorResponse(BaseModel):
    detail: str


class PersistenceHealth(BaseModel):
    enabled: bool = Field(
        ..., description="false: sessions live in memory only (--memory, or the data dir is in use)"
    )
    checkpoints_written: int = 0
    last_checkpoint: float | None = Field(None, description="Unix time of the newest checkpoint written")
    restored_sessions: int = Field(0, description="sessions brought back from the data dir at start")
    checkpoint_every_steps: int | None = None
    checkpoint_every_seconds: float | None = None
    problems: list[str] = Field(
        default_factory=list, description="checkpoints that failed their checksum or could not be written"
    )


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"] = Field(..., description="degraded: see persistence.problems")
    sessions: int
    persistence: PersistenceHealth


# --- classroom: presenting, lessons, races (server/classroom.py, server/race.py) -----------------


class PresentRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{}, {"code": "K7QX2M", "secret": "…"}]},
    )
    code: str | None = Field(
        None, max_length=16, description="a code this presenter already has: its class moves to this session"
    )
    secret: str | None = Field(None, max_length=128, description="the secret that came with that code")


class Presentation(BaseModel):
    code: str = Field(..., description="6 characters; viewers open /?join=CODE")
    secret: str = Field(
        ..., description="moves the code to another session of the presenter's (keep it private)"
    )
    session: str
    link: str = Field(..., description="the join link, relative to the server: /?join=CODE")
    url: str = Field(..., description="the join link as an absolute URL (what the QR code holds)")
    qr: str = Field(..., description="where the QR code is drawn as SVG: /api/join/CODE/qr.svg")
    qr_svg: str = Field(..., description="the QR code itself, an SVG document")
    viewers: int


class JoinInfo(BaseModel):
    code: str
    session: str
    link: str
    view: dict[str, Any] | None = Field(None, description="the presenter's latest view state")
    viewers: int


class LessonStep(BaseModel):
    text: str
    do: dict[str, Any] | None = Field(
        None,
        description="what the step does to the session: set, play, pause, step, reset, config, view, race",
    )


class LessonSummary(BaseModel):
    name: str
    title: str
    summary: str
    steps: int
    architecture: str


class LessonList(BaseModel):
    lessons: list[LessonSummary]


class Lesson(BaseModel):
    name: str
    title: str
    summary: str
    config: dict[str, Any]
    params: list[dict[str, Any]] | None = Field(None, description="exact starting weights (PUT …/params)")
    steps: list[LessonStep]


class RaceVariant(Strict):
    label: str | None = Field(
        None, max_length=40, description="a name for the curve; the optimizer's when left out"
    )
    training: TrainingChanges = Field(..., description="what differs from the race's config")


class RaceRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "config": {"data": {"dataset": "spiral"}, "seed": 7},
                    "variants": [
                        {"label": "SGD", "training": {"optimizer": {"name": "sgd", "lr": 0.03}}},
                        {
                            "label": "momentum",
                            "training": {"optimizer": {"name": "sgd", "lr": 0.03, "momentum": 0.9}},
                        },
                        {"label": "Adam", "training": {"optimizer": {"name": "adam", "lr": 0.01}}},
                    ],
                }
            ]
        },
    )
    config: SessionConfig
    variants: list[RaceVariant] = Field(..., min_length=2, max_length=6)


class RaceStepRequest(Strict):
    steps: int = Field(1, ge=1, description="steps for every member")


class RacePlay(Strict):
    max_steps: int | None = Field(None, ge=1, description="pause when the members reach this step")
    speed: float | None = Field(
        None, gt=0, description="steps per second of each member; null = as fast as possible"
    )


class RaceMember(BaseModel):
    label: str
    id: str = Field(..., description="the member's session: watch it at /?session=ID")
    step: int
    diverged: bool
    training: dict[str, Any]
    eval: dict[str, Any] | None
    curve: dict[str, list[float | None]] = Field(..., description="steps and batch loss, evenly decimated")
    evals: dict[str, list[float | None]] = Field(..., description="step, train_loss, test_loss")


class RaceInfo(BaseModel):
    id: str
    step: int = Field(..., description="the step every live member is at")
    playing: bool
    stop_reason: str | None
    members: list[RaceMember]
    created: float


class CreatedRace(BaseModel):
    id: str
    control_token: str
    race: RaceInfo


class RaceLandscapeMember(BaseModel):
    label: str
    id: str
    path: list[list[float | None]] = Field(..., description="[α, β] of each recorded point, oldest first")
    steps: list[int]
    loss: float | None = Field(..., description="the member's train loss now")


class RaceLandscape(BaseModel):
    directions: Literal["principal", "random"]
    explained: list[float] = Field(
        ..., description="share of the paths' spread along each direction (principal)"
    )
    step: int
    alphas: list[float]
    betas: list[float]
    grid: list[list[float | None]] = Field(
        ..., description="grid[i][j]: train loss at α = alphas[j], β = betas[i]"
    )
    members: list[RaceLandscapeMember]


class SpatialExplainResponse(BaseModel):
    """A conv / recurrent explanation (docs/cnn-rnn.md lists the fields of ``data`` per kind)."""

    step: int = Field(description="the traced step the numbers belong to")
    generation: int
    kind: Literal["conv_position", "conv_kernel", "conv_input", "rnn_step", "lstm_step"]
    layer: int
    data: dict[str, Any]


class InputGradientResponse(BaseModel):
    step: int
    generation: int
    samples: list[int] = Field(description="the batch rows given")
    indices: list[int] = Field(description="their indices in the training set")
    shape: list[int] = Field(description="one sample's input shape")
    x: list[Any] = Field(description="the inputs, (len(samples), *shape)")
    gradient: list[Any] = Field(description="∂L/∂x of the step's data loss, (len(samples), *shape)")


class EvaluationResponse(BaseModel):
    step: int
    epoch: int
    generation: int
    split: Literal["train", "test"] = Field(description="the split evaluated (train when test is empty)")
    count: int
    task: str
    kind: str
    class_names: list[str] | None
    accuracy: float | None
    confusion: list[list[int]] | None = Field(description="counts[true][predicted]")
    misclassified: list[dict[str, Any]]
    sequences: list[dict[str, Any]]
    scatter: dict[str, list[float | None]] | None
