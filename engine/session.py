"""A training session: network + optimizer + schedule + data + generator + counters + history.

Everything is decided by the config and its seed. Three independent random
streams are spawned from the seed — one draws the data, one the initial
weights, one the order of the batches — so changing, say, the batch size never
changes the data or the initial weights, and :meth:`TrainingSession.reset`
replays exactly the same start.

:meth:`state` captures everything that decides the future of the run (weights,
optimizer buffers, schedule position, RNG state, data order, counters,
history); :meth:`from_state` rebuilds a session that continues bit for bit.

A step that produces a non-finite loss, gradient or update is not applied: the
session keeps its last finite weights, stores a :class:`Divergence` that says
what blew up where, and refuses to step until :meth:`recover` is called.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.averaging import WeightAverage
from engine.config import normalize_config, normalize_training
from engine.datasets import DataSet, infer_input_shape, load_dataset
from engine.history import EVAL_FIELDS, History
from engine.network import Network, ParamSlot
from engine.optimizers import Optimizer, make_optimizer
from engine.schedules import Schedule, make_schedule
from engine.trace import TRACE_LEVELS, Divergence, LayerSummary, StepSummary, StepTrace, TraceLevel

__all__ = ["STATE_VERSION", "StepResult", "TrainingSession"]

STATE_VERSION = 1
_vdot = np.vdot
_add_reduce = np.add.reduce  # ndarray.sum without its Python wrapper
_NON_HYPER = ("name", "lr")
# A run whose evaluated training loss stays above this multiple of its starting loss for
# this many evaluations in a row has diverged, even while every number is still finite
# (a sigmoid/BCE net at lr = 10 oscillates at ~5× its starting loss without overflowing).
LOSS_BLOWUP_FACTOR = 3.0
LOSS_BLOWUP_EVALUATIONS = 3


@dataclass(frozen=True)
class StepResult:
    """What one call to :meth:`TrainingSession.step` did."""

    first_step: int  # step count before the call
    losses: NDArray[np.float64]  # total loss of each step done, in order
    lrs: NDArray[np.float64]
    summary: StepSummary | None  # of the last step, at trace level summary or full
    trace: StepTrace | None  # of the last step, at trace level full
    divergence: Divergence | None

    @property
    def steps_done(self) -> int:
        return len(self.losses)


class TrainingSession:
    """One run. Build with a config dict (see :mod:`engine.config`)."""

    optimizer: Optimizer

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = normalize_config(config)
        self._build()

    # --- construction ----------------------------------------------------------

    def _build(self) -> None:
        cfg = self.config
        data_seed, init_seed, order_seed = np.random.SeedSequence(cfg["seed"]).spawn(3)
        self._init_seed, self._order_seed = init_seed, order_seed
        # data.seed, when given, draws the data alone: "regenerate the data" keeps the weights.
        data_spec = dict(cfg["data"])
        own_seed = data_spec.pop("seed", None)
        if own_seed is not None:
            if isinstance(own_seed, bool) or not isinstance(own_seed, int) or own_seed < 0:
                raise ValueError(f"data.seed must be a whole number ≥ 0, got {own_seed!r}")
            data_seed = np.random.SeedSequence([own_seed, 1])
        model = cfg["model"]
        input_shape = model["input_shape"] or list(infer_input_shape(data_spec))
        self.network = Network(input_shape, model["layers"], model["loss"], model["dtype"])
        self.data: DataSet = load_dataset(
            data_spec, np.random.default_rng(data_seed), model["loss"], self.network.output_shape
        )
        if tuple(self.data.input_shape) != self.network.input_shape:
            raise ValueError(
                f"model.input_shape {list(self.network.input_shape)} does not match the data's "
                f"input shape {list(self.data.input_shape)}"
            )
        if len(self.data.x_train) == 0:
            raise ValueError("the training set is empty: give more samples or a larger train_fraction")
        dtype = self.network.dtype
        self._x_train = np.ascontiguousarray(self.data.x_train, dtype)
        self._y_train = np.ascontiguousarray(self.data.y_train, dtype)
        self._x_test = np.ascontiguousarray(self.data.x_test, dtype)
        self._y_test = np.ascontiguousarray(self.data.y_test, dtype)
        self._update = np.zeros(self.network.size, dtype)
        # Below this bound on ‖Δθ‖₂ no entry of Δθ, nor their sum, can overflow (Σ|Δθ| ≤ √n·‖Δθ‖₂;
        # the factor 2 covers rounding), so the finiteness scan of Δθ can be skipped.
        self._safe_update_norm = float(np.finfo(dtype).max) / (2.0 * math.sqrt(max(self.network.size, 1)))
        # per layer, where each parameter's gradient and update go in a full trace
        self._trace_slots = [
            [_trace_slot(slot) for slot in self.network.layer_slices(k)]
            for k in range(len(self.network.layers))
        ]
        self._configure_training(self.config["training"], fresh=True)
        self.history = History()
        self._start()

    def _configure_training(self, training: dict[str, Any], fresh: bool) -> None:
        """Apply the training section; keeps optimizer buffers when only hyperparameters change."""
        opt_spec = training["optimizer"]
        hyper = {k: v for k, v in opt_spec.items() if k not in _NON_HYPER}
        current: Optimizer | None = None if fresh else self.optimizer
        if current is not None and current.name == opt_spec["name"]:
            current.set_hyper(**hyper)
        else:
            self.optimizer = make_optimizer(opt_spec["name"], self.network.size, self.network.dtype, **hyper)
        self.base_lr = float(opt_spec["lr"])
        self.schedule: Schedule = make_schedule(training["schedule"])
        # A constant schedule without warm-up gives base_lr at every step: skip the call.
        constant = self.schedule.name == "constant" and not self.schedule.warmup_steps
        self._constant_lr: float | None = self.base_lr if constant else None
        reg = training["regularization"]
        self.network.set_regularization(reg["kind"], reg["rate"])
        self.batch_size = int(training["batch_size"])
        self.clip_norm: float | None = training["clip_norm"]
        decay = training["ema_decay"]
        old_ema = None if fresh else self.ema
        if decay is None:
            self.ema: WeightAverage | None = None
        elif old_ema is None or old_ema.decay != decay:
            self.ema = WeightAverage(self.network.size, self.network.dtype, decay)
        self.eval_every = int(training["eval_every"])

    def _start(self) -> None:
        """Initial weights, fresh optimizer, counters and history: the state at step 0."""
        model = self.config["model"]
        self.network.initialize(
            np.random.default_rng(self._init_seed), model["initializer"], model["init_scale"]
        )
        self.optimizer.reset_state()
        if self.ema is not None:
            self.ema = WeightAverage(self.network.size, self.network.dtype, self.ema.decay)
        self._order_rng = np.random.default_rng(self._order_seed)
        self.step_count = 0
        self.epoch = 0
        self._pos = 0
        self._set_order(self._order_rng.permutation(len(self._x_train)))
        self.divergence: Divergence | None = None
        self.last_trace: StepTrace | None = None
        self.last_summary: StepSummary | None = None
        self.history.clear()
        self._start_loss: float | None = None
        self._best: tuple[int, float, NDArray[Any]] | None = None  # (step, train loss, theta)
        self._blowups = 0
        self._record_evaluation()

    def reset(self) -> None:
        """Back to step 0 with exactly the same initial weights and batch order."""
        self._start()

    def apply_training_changes(self, changes: dict[str, Any]) -> None:
        """Live changes to lr, optimizer, schedule, regularization, batch size, clipping, EMA.

        The weights are kept; optimizer buffers are kept unless the optimizer
        kind changes. Everything is validated before anything changes.
        """
        if not isinstance(changes, dict):
            raise ValueError("training changes must be an object")
        merged = copy.deepcopy(self.config["training"])
        for key, value in changes.items():
            if (
                key == "optimizer"
                and isinstance(value, dict)
                and value.get("name", merged["optimizer"]["name"]) == merged["optimizer"]["name"]
            ):
                merged["optimizer"].update(value)
            elif key == "optimizer" and isinstance(value, dict):
                # A new kind of optimizer keeps the learning rate unless one is given.
                merged[key] = {"lr": merged["optimizer"]["lr"], **value}
            else:
                merged[key] = value
        if isinstance(merged.get("optimizer"), dict):
            merged["optimizer"] = {k: v for k, v in merged["optimizer"].items() if v is not None}
        training = normalize_training(merged)
        # Build the new pieces first so a bad hyperparameter leaves the session untouched.
        opt = training["optimizer"]
        make_optimizer(
            opt["name"], 1, self.network.dtype, **{k: v for k, v in opt.items() if k not in _NON_HYPER}
        )
        make_schedule(training["schedule"])
        self._configure_training(training, fresh=False)
        self.config["training"] = training

    # --- training --------------------------------------------------------------

    def current_lr(self) -> float:
        return self.schedule.lr(self.step_count, self.base_lr)

    def step(self, n: int = 1, trace: TraceLevel = "off") -> StepResult:
        """Run up to ``n`` steps; only the last one is recorded at ``trace`` level.

        Stops early at a divergence (the failing step is not applied).
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"steps must be a whole number ≥ 0, got {n!r}")
        if trace not in TRACE_LEVELS:
            raise ValueError(f"trace must be one of {TRACE_LEVELS}, got {trace!r}")
        first = self.step_count
        losses = np.empty(n)
        lrs = np.empty(n)
        summary: StepSummary | None = None
        full: StepTrace | None = None
        done = 0
        if self.divergence is None:
            train_step, last = self._train_step, n - 1
            # Overflow is expected on the way to a divergence, which the step detects and
            # reports itself: NumPy's warnings would only repeat it, once per array.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                for k in range(n):
                    out = train_step(trace if k == last else "off")
                    if out is None:
                        break
                    losses[k], lrs[k], summary, full = out
                    done += 1
                    if self.divergence is not None:
                        break
        if done < n:
            losses, lrs = losses[:done], lrs[:done]
        return StepResult(first, losses, lrs, summary, full, self.divergence)

    def _set_order(self, perm: NDArray[Any]) -> None:
        """This epoch's order, and the training set copied into it.

        Each batch is then a slice — a view, no copy — of the shuffled copy: one gather
        per epoch instead of two per step. A new array per epoch, so a batch taken
        before the epoch ended (a trace's inputs) stays as it was.
        """
        self._perm = perm
        self._x_epoch = self._x_train.take(perm, axis=0)
        self._y_epoch = self._y_train.take(perm, axis=0)

    def _next_batch(self) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.intp]]:
        pos = self._pos
        stop = pos + self.batch_size
        return self._x_epoch[pos:stop], self._y_epoch[pos:stop], self._perm[pos:stop]

    def steps_until_epoch(self, epoch: int) -> int:
        """How many steps are left until ``epoch`` epochs are complete (0 when they are)."""
        if self.epoch >= epoch:
            return 0
        n, b = len(self._perm), self.batch_size
        this_epoch = -(-(n - self._pos) // b)  # the last batch of an epoch may be short
        return this_epoch + (epoch - self.epoch - 1) * -(-n // b)

    def _advance_position(self, rows: int) -> bool:
        """Move past the batch; True when that finished an epoch (a new order is drawn)."""
        self._pos += rows
        if self._pos < len(self._perm):
            return False
        self.epoch += 1
        self._pos = 0
        self._set_order(self._order_rng.permutation(len(self._x_train)))
        return True

    def _train_step(
        self, level: TraceLevel
    ) -> tuple[float, float, StepSummary | None, StepTrace | None] | None:
        # The hot path of every session: a few dozen NumPy calls on small arrays, so
        # Python work per call counts (see docs/performance.md).
        net, theta, grad, update = self.network, self.network.theta, self.network.grad, self._update
        X, Y, idx = self._next_batch()
        lr = self._constant_lr
        if lr is None:
            lr = self.schedule.lr(self.step_count, self.base_lr)
        data_loss = net.data_loss_and_backward(X, Y)
        reg_loss = net.regularization() if net.reg_kind != "none" else 0.0
        loss = data_loss + reg_loss
        grad_sq = float(_vdot(grad, grad))
        if not (math.isfinite(loss) and math.isfinite(grad_sq)):
            self._diverge("loss" if not math.isfinite(loss) else "gradient", lr)
            return None
        grad_norm = math.sqrt(grad_sq)
        clip, clipped, seen_norm = self.clip_norm, False, grad_norm
        if clip is not None and grad_norm > clip:
            grad *= clip / grad_norm
            clipped, seen_norm = True, clip  # seen_norm: ‖g‖ as the optimizer sees it
        # θ before, grad and update of a traced step, as the rows of one fresh array
        snap = None
        if level != "off":
            snap = np.empty((3, theta.size), theta.dtype)
            np.copyto(snap[0], theta)
        self.optimizer.step(theta, grad, lr, update)
        # scan Δθ for inf/NaN unless the optimizer's bound on ‖Δθ‖ already rules them out
        bound = self.optimizer.update_norm_bound(lr, seen_norm)
        if not bound < self._safe_update_norm and not math.isfinite(float(_add_reduce(update, None))):
            self._diverge("update", lr)
            return None
        theta += update
        if self.ema is not None:
            self.ema.update(theta)
        self.step_count += 1
        self.history.steps.record(self.step_count, loss, lr)
        epoch_done = self._advance_position(len(idx))
        summary = full = None
        if snap is not None:
            theta_before, grad_copy, update_copy = snap  # views of the three rows
            np.copyto(grad_copy, grad)
            np.copyto(update_copy, update)
            summary = self._summarize(data_loss, reg_loss, lr, grad_norm, clipped, snap)
            self.last_summary = summary
            if level == "full":
                full = self._full_trace(summary, X, Y, idx, theta_before, grad_copy, update_copy)
                self.last_trace = full
        if (self.eval_every and self.step_count % self.eval_every == 0) or (
            not self.eval_every and epoch_done
        ):
            self._record_evaluation()
        return loss, lr, summary, full

    def _summarize(
        self,
        data_loss: float,
        reg_loss: float,
        lr: float,
        grad_norm: float,
        clipped: bool,
        snap: NDArray[Any],
    ) -> StepSummary:
        """Per-layer norms of θ before the step, grad and update (the rows of ``snap``)."""
        w, g, u = self.network.layer_norms(snap).tolist()
        layers = [
            LayerSummary(wk, gk, uk, uk / wk if wk > 0 else 0.0) for wk, gk, uk in zip(w, g, u, strict=True)
        ]
        return StepSummary(
            self.step_count,
            self.epoch,
            data_loss + reg_loss,
            data_loss,
            reg_loss,
            lr,
            grad_norm,
            clipped,
            layers,
        )

    def _full_trace(
        self,
        summary: StepSummary,
        X: NDArray[Any],
        Y: NDArray[Any],
        idx: NDArray[np.intp],
        theta_before: NDArray[Any],
        grad: NDArray[Any],
        update: NDArray[Any],
    ) -> StepTrace:
        # θ, grad and update are rows of this step's own snapshot: views of them are safe to hand out
        layers: list[dict[str, NDArray[Any]]] = []
        for layer, slots in zip(self.network.layers, self._trace_slots, strict=True):
            arrays = layer.trace()
            for grad_key, update_key, start, stop, shape in slots:
                if shape is None:
                    arrays[grad_key], arrays[update_key] = grad[start:stop], update[start:stop]
                else:
                    arrays[grad_key] = grad[start:stop].reshape(shape)
                    arrays[update_key] = update[start:stop].reshape(shape)
            layers.append(arrays)
        return StepTrace(
            summary=summary,
            indices=idx.astype(np.int64),
            X=X.copy(),
            Y=Y.copy(),
            layers=layers,
            theta_before=theta_before,
            optimizer_state=self.optimizer.state(),
            optimizer_name=self.optimizer.name,
        )

    # --- divergence ----------------------------------------------------------

    def _diverge(self, quantity: str, lr: float) -> None:
        net = self.network
        source = {"loss": None, "gradient": net.grad, "update": self._update}[quantity]
        layer: int | None = None
        if source is not None:
            for slot in net.slots:
                if not np.all(np.isfinite(source[slot.offset : slot.stop])):
                    layer = slot.layer if layer is None else min(layer, slot.layer)
        else:
            for k, lay in enumerate(net.layers):
                out = lay.trace().get("a")
                if out is not None and not np.all(np.isfinite(out)):
                    layer = k
                    break
        kind = "infinite or NaN"
        where = f" in layer {layer}" if layer is not None else ""
        step = self.step_count + 1
        best = self._best[0] if self._best is not None else self.step_count
        message = (
            f"the {quantity} became {kind}{where} at step {step}: the learning rate {lr:g} is too large "
            f"for this network (or the weights have grown until the numbers overflowed). The step was not "
            f"applied. Lower the learning rate (a tenth of it or less) and recover — the weights of step "
            f"{best}, the lowest training loss so far, come back — or turn on gradient clipping, or reset."
        )
        weights_max = float(np.max(np.abs(net.theta))) if net.size else 0.0
        self.divergence = Divergence(step, quantity, layer, lr, message, {"max_abs_weight": weights_max})  # type: ignore[arg-type]

    def recover(self, lr: float | None = None, restore_best: bool = True) -> int:
        """Clear a divergence and return the step whose weights training continues from.

        With ``restore_best`` the weights with the lowest evaluated training loss so
        far are restored and the optimizer's buffers reset (they belong to the
        diverged weights); otherwise the last finite weights are kept and only
        non-finite buffers are reset. ``lr`` sets a new learning rate first.
        """
        if lr is not None:
            self.apply_training_changes({"optimizer": {"lr": lr}})
        restored_from = self.step_count
        if restore_best and self.divergence is not None and self._best is not None:
            restored_from, _, theta = self._best
            self.network.theta[...] = theta
            self.optimizer.reset_state()
            # The last evaluation was of the diverged weights: evaluate the restored ones, so the
            # loss reported from now on (and drawn last on the curves) is that of the weights in use.
            self.history.evals.amend(self.step_count, *self._evaluation_row())
        elif any(not np.all(np.isfinite(buf)) for buf in self.optimizer.buffers().values()):
            self.optimizer.reset_state()
        self.divergence = None
        self._blowups = 0
        return restored_from

    # --- evaluation and prediction -----------------------------------------------

    def evaluate(self) -> dict[str, float | None]:
        """Data loss (without regularization) and accuracy on the whole train and test sets."""
        train_loss, train_acc = self._evaluate_set(self._x_train, self._y_train)
        test_loss, test_acc = self._evaluate_set(self._x_test, self._y_test)
        return {
            "train_loss": train_loss,
            "test_loss": test_loss,
            "train_accuracy": train_acc,
            "test_accuracy": test_acc,
        }

    def _evaluate_set(self, X: NDArray[Any], Y: NDArray[Any]) -> tuple[float | None, float | None]:
        if len(X) == 0:
            return None, None
        out = self.network.predict(X)[-1]
        loss = self.network.loss.value(out["z"], out["a"], Y)
        accuracy = classification_accuracy(self.data.task, out["a"], Y)
        return loss, accuracy

    def _evaluation_row(self) -> list[float]:
        """:meth:`evaluate` as the evaluation curve's columns (NaN where a set is empty)."""
        ev = self.evaluate()
        return [math.nan if ev[f] is None else float(ev[f] or 0.0) for f in EVAL_FIELDS]

    def _record_evaluation(self) -> None:
        values = self._evaluation_row()
        self.history.evals.record(self.step_count, *values)
        self._watch_loss(values[0])

    def _watch_loss(self, train_loss: float) -> None:
        """Keep the best weights so far and flag a loss that blew up (see LOSS_BLOWUP_FACTOR)."""
        if math.isnan(train_loss):
            return
        if self._start_loss is None:
            self._start_loss = train_loss
        if math.isfinite(train_loss) and (self._best is None or train_loss < self._best[1]):
            self._best = (self.step_count, train_loss, self.network.theta.copy())
        start = self._start_loss
        blown = not math.isfinite(train_loss) or train_loss > LOSS_BLOWUP_FACTOR * start
        self._blowups = self._blowups + 1 if blown else 0
        if self._blowups < LOSS_BLOWUP_EVALUATIONS or self.divergence is not None:
            return
        lr = self.current_lr()
        best = self._best[0] if self._best is not None else 0
        message = (
            f"the training loss grew to {train_loss:.3g}, {train_loss / start:.1f}× its starting value "
            f"{start:.3g}, and stayed there for {LOSS_BLOWUP_EVALUATIONS} evaluations up to step "
            f"{self.step_count}: the learning rate {lr:g} is too large for this network. Lower it "
            f"(a tenth of it or less) and recover: the weights of step {best}, the lowest training "
            f"loss so far, come back."
        )
        self.divergence = Divergence(
            self.step_count,
            "loss",
            None,
            lr,
            message,
            {"train_loss": train_loss, "start_loss": start, "best_step": best},
        )

    def predict(self, X: Any) -> list[dict[str, NDArray[Any]]]:
        """Every layer's intermediates for inputs ``X`` (shape ``(n, *input_shape)``)."""
        return self.network.predict(np.asarray(X, dtype=self.network.dtype))

    # --- persistence ---------------------------------------------------------

    def state(self, history: bool = True) -> dict[str, Any]:
        """Everything needed to continue bit for bit: plain data and NumPy arrays (copies).

        ``history=False`` leaves the loss curves out (``None``): a time-travel snapshot does
        not need them, and copying them is most of the cost of a snapshot of a small network.
        """
        return {
            "version": STATE_VERSION,
            "config": copy.deepcopy(self.config),
            "theta": self.network.theta.copy(),
            "optimizer": self.optimizer.state(),
            "ema": None if self.ema is None else self.ema.state(),
            "order_rng": copy.deepcopy(self._order_rng.bit_generator.state),
            "perm": self._perm.copy(),
            "pos": self._pos,
            "step": self.step_count,
            "epoch": self.epoch,
            "history": self.history.state() if history else None,
            "divergence": None if self.divergence is None else self.divergence.to_dict(),
            "watch": {
                "start_loss": self._start_loss,
                "blowups": self._blowups,
                "best": None
                if self._best is None
                else {"step": self._best[0], "loss": self._best[1], "theta": self._best[2].copy()},
            },
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TrainingSession:
        """Rebuild a session from :meth:`state`; shapes and values are checked."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            version = state.get("version") if isinstance(state, dict) else None
            raise ValueError(f"unsupported session state version {version!r}")
        session = cls(state["config"])
        session.load_state(state)
        return session

    def load_state(self, state: dict[str, Any]) -> None:
        net = self.network
        theta = np.asarray(state["theta"])
        if theta.shape != net.theta.shape:
            raise ValueError(
                f"theta has shape {list(theta.shape)}, the network needs {list(net.theta.shape)}"
            )
        if not np.all(np.isfinite(theta)):
            raise ValueError("theta holds non-finite values")
        perm = np.asarray(state["perm"], dtype=np.int64)
        if sorted(perm.tolist()) != list(range(len(self._x_train))):
            raise ValueError("perm is not a permutation of the training set")
        pos, step, epoch = int(state["pos"]), int(state["step"]), int(state["epoch"])
        if not (0 <= pos < len(perm)) or step < 0 or epoch < 0:
            raise ValueError("pos, step and epoch must be in range")
        net.theta[...] = theta
        self.optimizer.load_state(state["optimizer"])
        if state.get("ema") is not None and self.ema is not None:
            self.ema.load_state(state["ema"])
        self._order_rng = np.random.default_rng(self._order_seed)
        self._order_rng.bit_generator.state = copy.deepcopy(state["order_rng"])
        self._set_order(perm.astype(self._perm.dtype))
        self._pos, self.step_count, self.epoch = pos, step, epoch
        self.history.load_state(state["history"])
        div = state.get("divergence")
        self.divergence = None if div is None else Divergence(**div)
        watch = state.get("watch") or {}
        self._start_loss = watch.get("start_loss")
        self._blowups = int(watch.get("blowups", 0))
        best = watch.get("best")
        if best is not None:
            best_theta = np.asarray(best["theta"], dtype=net.dtype)
            if best_theta.shape != net.theta.shape:
                raise ValueError("the best weights have the wrong shape")
            self._best = (int(best["step"]), float(best["loss"]), best_theta.copy())
        else:
            self._best = None
        self.last_trace = None
        self.last_summary = None


def _trace_slot(slot: ParamSlot) -> tuple[str, str, int, int, tuple[int, ...] | None]:
    """(grad key, update key, start, stop, shape) of one parameter; shape None: 1-D, no reshape."""
    shape = slot.shape if len(slot.shape) > 1 else None
    return f"grad_{slot.name}", f"update_{slot.name}", slot.offset, slot.stop, shape


def classification_accuracy(task: str, outputs: NDArray[Any], targets: NDArray[Any]) -> float | None:
    """Fraction of rows classified right; ``None`` for regression."""
    if task == "binary":
        return float(np.mean((outputs > 0.5) == (targets > 0.5)))
    if task == "multiclass":
        o = outputs.reshape(-1, outputs.shape[-1])
        t = targets.reshape(-1, targets.shape[-1])
        return float(np.mean(o.argmax(axis=-1) == t.argmax(axis=-1)))
    return None
