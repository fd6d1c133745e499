"""One served session: the engine session, its lock, play state, and its frames.

Every method that touches the engine takes ``self.lock`` and is *blocking*: the
routes call them through a worker thread, the trainer calls :meth:`run_slice`
from its own thread. What viewers must hear is handed to the event loop with
``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.recording import Recorder
from engine.session import StepResult, TrainingSession
from engine.trace import StepSummary, StepTrace, TraceLevel
from server.framebuilder import FrameBuilder
from server.hub import EncodedFrame, Hub
from server.limits import check_batch_size
from server.points import PointsRing
from server.protocol import jsonable
from server.schemas import PlayOptions

# While playing, a time-travel snapshot once the steps since the last one would take this long to
# replay: a past step between two snapshots is replayed from the earlier one, so this bounds the
# wait of a scrub, and a snapshot (a copy of the whole state) costs ~2 % of the training it follows.
# Changes and pauses always snapshot.
REPLAY_SECONDS = 0.02
# Frames (heatmaps, encoding) may take at most one part in this many of a playing session's time.
FRAME_COST_SHARE = 5
# From this many viewers on, training waits for a frame to be handed to their sockets (Hub.drained).
CROWD = 8

__all__ = ["ManagedSession"]


class ManagedSession:
    def __init__(
        self,
        session_id: str,
        token: str,
        engine: TrainingSession,
        loop: asyncio.AbstractEventLoop,
        frame_max_parameters: int,
        on_change: Callable[[ManagedSession], None] | None = None,
        recording_budget_bytes: int = 4 * 1024 * 1024,
        max_batch_size: int = 1 << 30,
    ) -> None:
        self.id = session_id
        self.max_batch_size = max_batch_size  # the server's limit, held on every later change too
        self.token = token
        self.engine = engine
        self.loop = loop
        self.lock = threading.RLock()
        self.hub = Hub()
        self.ring = PointsRing()
        self.frames = FrameBuilder(engine, frame_max_parameters)
        self.on_change = on_change
        self.generation = 0
        self.playing = False
        self.play_options = PlayOptions()
        self.lockstep = False
        self.created = self.updated = time.time()
        self.last_activity = time.monotonic()
        self.deleted = False
        self._published_step = 0
        self._next_frame = 0.0
        self._captured_step = -(1 << 62)  # the step of play's last time-travel snapshot
        self._step_seconds = 1e-4  # running estimate of one untraced step
        self._speed_credit = 0.0
        self._last_slice = time.monotonic()
        self.last_stop_reason: str | None = None
        self.plays = 0  # how many times play started (the trainer's schedule is per play)
        self.revision = 0  # rises with every change and event: clients order REST replies and events by it
        self.parent: tuple[str, int] | None = None  # (session id, step) this one was forked from
        # classroom (server/classroom.py): the join code while presented, the presenter's view state
        self.join_code: str | None = None
        self.view: dict[str, Any] | None = None
        self.recorder = Recorder(budget_bytes=recording_budget_bytes)
        self.recorder.capture(engine, pin=True)

    # --- reading ---------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        with self.lock:
            e = self.engine
            d = e.data
            info: dict[str, Any] = jsonable(
                {
                    "id": self.id,
                    "generation": self.generation,
                    "step": e.step_count,
                    "epoch": e.epoch,
                    "playing": self.playing,
                    "lockstep": self.lockstep,
                    "play": self.play_options.model_dump(),
                    "config": e.config,
                    "architecture": e.network.describe(),
                    "data": {
                        "name": d.name,
                        "kind": d.kind,
                        "task": d.task,
                        "n_train": len(d.x_train),
                        "n_test": len(d.x_test),
                        "n_classes": d.n_classes,
                        "input_shape": list(d.input_shape),
                        "feature_names": d.feature_names,
                        "domain": list(d.domain) if d.domain else None,
                    },
                    "eval": e.history.evals.last(),
                    "divergence": None if e.divergence is None else e.divergence.to_dict(),
                    "stop_reason": self.last_stop_reason,
                    "viewers": len(self.hub.viewers),
                    "parameters": e.network.size,
                    "created": self.created,
                    "updated": self.updated,
                    "revision": self.revision,
                    "parent": None if self.parent is None else {"id": self.parent[0], "step": self.parent[1]},
                    "recorded": self.recorded_range(),
                }
            )
            return info

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    # --- changing (blocking; call from a worker thread) ------------------------

    def recorded_range(self) -> dict[str, int] | None:
        """The steps that can be revisited exactly (see engine/recording.py)."""
        first = self.recorder.first_step
        if first is None:
            return None
        return {"first": first, "last": self.engine.step_count, "snapshots": len(self.recorder.snapshots)}

    def _changed(self, event: str | None, **extra: Any) -> None:
        self.updated = time.time()
        self.revision += 1
        self.touch()
        if event is not None:
            self.broadcast(
                {
                    "type": "event",
                    "event": event,
                    "generation": self.generation,
                    "step": self.engine.step_count,
                    "revision": self.revision,
                    "playing": self.playing,
                    **extra,
                }
            )
        if self.on_change is not None:
            self.on_change(self)

    def step(self, n: int, batch_size: int | None = None) -> StepResult:
        """Run ``n`` steps now; viewers get a frame (every step's frame in lockstep).

        ``batch_size`` overrides the batch size for these steps only (``1`` steps one
        sample, the next in the epoch's order); it is pinned in the recording both
        ways, so time travel replays it exactly.
        """
        check_batch_size(batch_size, self.max_batch_size)
        with self.lock:
            if batch_size is None or batch_size == self.engine.batch_size:
                return self._step_locked(n)
            keep = self.engine.batch_size
            self.engine.batch_size = batch_size
            self.recorder.capture(self.engine, pin=True)
            try:
                return self._step_locked(n)
            finally:
                self.engine.batch_size = keep
                self.recorder.capture(self.engine, pin=True)

    def _step_locked(self, n: int) -> StepResult:
        with self.lock:
            parts: list[StepResult] = []
            if self.lockstep:
                for _ in range(n):
                    parts.append(self._step_recorded(1, "full"))
                    self.publish(parts[-1].summary, parts[-1].trace, lockstep=True)
                    if parts[-1].divergence is not None:
                        break
            else:
                if n > 1:
                    parts.append(self._step_recorded(n - 1, "off"))
                if not parts or parts[-1].divergence is None:
                    parts.append(self._step_recorded(1, "full"))
                self.publish(parts[-1].summary, parts[-1].trace)
            result = _merge(parts)
            self.recorder.capture(self.engine)
            if result.divergence is not None:
                self._on_divergence()
            self._changed(None)
            return result

    def _step_recorded(self, n: int, level: TraceLevel) -> StepResult:
        result = self.engine.step(n, level)
        self._record(result)
        return result

    def reset(self) -> None:
        with self.lock:
            self.engine.reset()
            self._new_generation()
            self.recorder.clear()
            self.recorder.capture(self.engine, pin=True)
            self.playing = False
            self._changed("reset")
            self.publish(None, None)

    def set_params(self, layers: list[dict[str, Any]]) -> None:
        with self.lock:
            self.engine.network.set_params(layers)
            self.engine.last_trace = None
            self._new_generation()
            self.recorder.clear()  # the new weights have no past to replay
            self.recorder.capture(self.engine, pin=True)
            self._changed("params")
            self.publish(None, None)

    def apply_changes(
        self, training: dict[str, Any] | None, play: PlayOptions | None, lockstep: bool | None
    ) -> None:
        # the limit at creation holds on every change too: past it, no rebuild of the config would work
        check_batch_size((training or {}).get("batch_size"), self.max_batch_size)
        with self.lock:
            if training:
                self.engine.apply_training_changes(training)
                self.recorder.capture(self.engine, pin=True)
            if play is not None:
                self.play_options = play
            if lockstep is not None:
                self.lockstep = lockstep
                if lockstep:
                    self.playing = False
            self._changed("config", session=self.info())

    def start(self, play: PlayOptions | None) -> None:
        with self.lock:
            if self.engine.divergence is not None:
                raise ValueError("the run diverged: call recover (with a smaller lr) or reset before playing")
            if self.lockstep:
                raise ValueError("the session is in lockstep mode: step it, or turn lockstep off to play")
            if play is not None:
                self.play_options = play
            self.playing = True
            self.plays += 1
            self.last_stop_reason = None
            self._speed_credit = 0.0
            self._last_slice = time.monotonic()
            self._changed("play", play=self.play_options.model_dump())

    def pause(self, reason: str = "paused") -> None:
        with self.lock:
            was = self.playing
            self.playing = False
            self.last_stop_reason = reason
            if was:
                self.recorder.capture(self.engine)
                self._changed("pause", reason=reason)
                self.publish(self.engine.last_summary, self.engine.last_trace)

    def recover(self, lr: float | None) -> None:
        with self.lock:
            restored_from = self.engine.recover(lr)
            self.recorder.capture(self.engine, pin=True)
            self._changed("recovered", session=self.info(), restored_from=restored_from)

    # --- free-running training (the trainer thread) -------------------------

    def run_slice(self, budget_seconds: float) -> float:
        """Train for up to ``budget_seconds``; returns seconds until this session wants to run again."""
        with self.lock:
            if not self.playing or self.deleted:
                return math.inf
            now = time.monotonic()
            speed = self.play_options.speed
            elapsed, self._last_slice = now - self._last_slice, now
            if speed is not None:
                self._speed_credit = min(self._speed_credit + elapsed * speed, max(speed * 0.25, 1.0))
                allowed = int(self._speed_credit)
                if allowed < 1:
                    return (1.0 - self._speed_credit) / speed
            else:
                allowed = 1 << 30
            # A frame falls due on a fixed beat of 1/fps. When the beat lands inside this slice the
            # slice ends on it, so frames leave on time instead of at the first slice boundary
            # after it (which made 60 fps come out as ~50). A beat already past (many sessions
            # take turns) gets its frame after half a slice: no training at all between frames
            # would starve such sessions, a whole slice made 20 sessions' rounds miss 30 fps.
            fps = self.hub.max_fps
            frame_at = self._next_frame if fps > 0 else math.inf
            deadline = now + budget_seconds
            frame_due = frame_at <= deadline
            if frame_due:
                deadline = frame_at if frame_at > now else now + budget_seconds / 2
            done = 0
            summary: StepSummary | None = None
            trace: StepTrace | None = None
            limit = self._steps_left()
            allowed = min(allowed, limit)
            # Untraced chunks until the slice is used up; then one traced step if a frame is
            # due — only the step that is shown pays for a trace. Small networks trace the
            # last step of every slice anyway (cheap), so after a pause /trace and /explain
            # show exactly the step the counter shows.
            trace_last = frame_due or self.engine.network.size <= self.frames.frame_max_parameters
            reserve = 1 if trace_last else 0
            while done < allowed - reserve:
                left = deadline - time.monotonic()
                if left <= 0 and done:
                    break
                chunk = max(1, min(allowed - reserve - done, int(left / self._step_seconds)))
                t0 = time.perf_counter()
                result = self._step_recorded(chunk, "off")
                done += result.steps_done
                if result.steps_done:
                    per = (time.perf_counter() - t0) / result.steps_done
                    self._step_seconds = 0.7 * self._step_seconds + 0.3 * per
                if result.divergence is not None:
                    break
            if trace_last and done < allowed and self.engine.divergence is None:
                result = self._step_recorded(1, "full")
                done += result.steps_done
                summary, trace = result.summary, result.trace
            if speed is not None:
                self._speed_credit -= done
            since = self.engine.step_count - self._captured_step  # < 0 after a reset
            if since < 0 or since * self._step_seconds >= REPLAY_SECONDS:
                self.recorder.capture(self.engine)
                self._captured_step = self.engine.step_count
            if self.engine.divergence is not None:
                self._on_divergence()
                return math.inf
            stop = self._stop_reason()
            if frame_due and (trace is not None or stop):
                started, cpu = time.monotonic(), time.thread_time()
                self.publish(summary, trace)
                cost = time.thread_time() - cpu  # this thread's own work: waits for the GIL do not count
                # The next beat follows this one (max_fps is read again: the last viewer may have
                # left meanwhile). Frames never take more than 1/FRAME_COST_SHARE of the time: when
                # building and handing them over is slow (a busy machine, a crowded event loop),
                # the frame rate drops instead of the training speed.
                period = 1.0 / max(self.hub.max_fps, 1.0)
                self._next_frame = max(frame_at + period, started + cost * FRAME_COST_SHARE, time.monotonic())
            if stop:
                self.pause(stop)
                return math.inf
            self.touch()
            return 0.0 if speed is None else max(0.0, (1.0 - self._speed_credit) / speed)

    def _steps_left(self) -> int:
        opts = self.play_options
        left = 1 << 30
        if opts.max_steps is not None:
            left = min(left, max(0, opts.max_steps - self.engine.step_count))
        if opts.max_epochs is not None:  # a slice must not run past the epoch it should stop at
            left = min(left, self.engine.steps_until_epoch(opts.max_epochs))
        return left

    def _stop_reason(self) -> str | None:
        opts, e = self.play_options, self.engine
        if opts.max_steps is not None and e.step_count >= opts.max_steps:
            return f"reached max_steps {opts.max_steps}"
        if opts.max_epochs is not None and e.epoch >= opts.max_epochs:
            return f"reached max_epochs {opts.max_epochs}"
        if opts.target_loss is not None:
            last = e.history.evals.last()
            if last is not None and last["train_loss"] <= opts.target_loss:
                return f"train loss {last['train_loss']:.4g} reached target {opts.target_loss:g}"
        return None

    def _on_divergence(self) -> None:
        self.playing = False
        div = self.engine.divergence
        assert div is not None
        self._changed("divergence", divergence=div.to_dict())
        self.publish(self.engine.last_summary, self.engine.last_trace)

    # --- frames ----------------------------------------------------------------

    def _record(self, result: StepResult) -> None:
        self.ring.extend(result.first_step, result.losses, result.lrs)

    def _new_generation(self) -> None:
        self.generation += 1
        self.ring.clear()
        self._published_step = self.engine.step_count

    def publish(self, summary: StepSummary | None, trace: StepTrace | None, lockstep: bool = False) -> None:
        """Encode the current state once per subscription key and hand it to the viewers.

        Takes the lock like every engine reader: heatmaps run the network's forward pass, which
        must not interleave with a training step on the trainer thread.
        """
        with self.lock:
            keys = self.hub.keys
            if not keys:
                self._published_step = self.engine.step_count
                return
            points = self.ring.since(self._published_step)
            self._published_step = self.engine.step_count
            e = self.engine
            header = {
                "session": self.id,
                "generation": self.generation,
                "step": e.step_count,
                "epoch": e.epoch,
                "playing": self.playing,
                "divergence": None if e.divergence is None else e.divergence.to_dict(),
            }
            encoded = self.frames.build(keys, header, points, summary, trace)
            first = float(points[0][0]) if len(points[0]) else math.inf
            frames = {k: EncodedFrame(v, self.generation, e.step_count, first) for k, v in encoded.items()}
            self.hub.drained.clear()
            self._to_loop(self.hub.deliver, frames, lockstep)

    def wait_until_sent(self, most_seconds: float) -> None:
        """Wait (GIL released) until the sockets have taken the last frame, at most ``most_seconds``.

        Only for a crowd: one or two sockets cost the event loop a switch interval or two, less
        than handing the GIL back and forth would.
        """
        if len(self.hub.viewers) >= CROWD:
            self.hub.drained.wait(most_seconds)

    def publish_latest(self) -> None:
        """A frame of the current state, e.g. for a viewer that just joined (read under the lock, so
        it never carries an older summary than a frame the trainer published meanwhile)."""
        with self.lock:
            self.publish(self.engine.last_summary, self.engine.last_trace)

    def broadcast(self, message: dict[str, Any]) -> None:
        self._to_loop(self.hub.broadcast, message)

    def _to_loop(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed at shutdown
            pass


def _merge(parts: list[StepResult]) -> StepResult:
    """One result for consecutive step calls: all their losses, the last one's trace."""
    last = parts[-1]
    if len(parts) == 1:
        return last
    return StepResult(
        parts[0].first_step,
        np.concatenate([p.losses for p in parts]),
        np.concatenate([p.lrs for p in parts]),
        last.summary,
        last.trace,
        last.divergence,
    )
