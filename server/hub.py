"""The event-loop side of streaming: one :class:`Hub` per session, one :class:`Viewer` per socket.

The training thread hands finished frames to the hub with
``loop.call_soon_threadsafe``; the hub gives each viewer the frame for its
subscription key. A viewer keeps only the *latest* frame (lockstep: a bounded
backlog) and wakes its own sender task; a slow socket therefore never holds
up the session or another viewer, and never grows memory beyond one frame.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from server.frames import encode_frame
from server.points import PointsRing
from server.protocol import PROTOCOL_VERSION, Subscription, SubscriptionKey, jsonable

__all__ = ["EncodedFrame", "Hub", "Viewer"]

MAX_TEXT_BACKLOG = 64
MAX_CATCH_UP_KEPT = 64  # shared catch-up messages kept before the cache starts anew


@dataclass(frozen=True)
class EncodedFrame:
    data: bytes
    generation: int
    step: int
    first_point: float  # step number of the frame's first loss point (inf when it has none)


def encode_text(message: dict[str, Any]) -> str:
    return json.dumps(jsonable(message), separators=(",", ":"))


class Viewer:
    """One socket's mailbox: the latest frame, a lockstep backlog, pending text messages."""

    def __init__(self, subscription: Subscription, backlog: int) -> None:
        self.subscription = subscription
        self.wake = asyncio.Event()
        self.latest: EncodedFrame | None = None
        self.backlog: deque[EncodedFrame] = deque(maxlen=backlog)
        self.dropped = 0
        self.texts: deque[str] = deque(maxlen=MAX_TEXT_BACKLOG)
        self.generation = -1
        self.last_point = 0.0  # the client holds every loss point up to this step
        self.closed = False
        self.close_code: int | None = None  # set when the server ends this socket (e.g. 1000 on delete)
        self.close_reason = ""
        self.authorized = False
        self.next_frame = 0.0  # loop time of this socket's next frame slot (its fps)
        self.sending = False  # a send is under way (a stalled client stays here until its timeout)
        self.owed = False  # holds a frame due now that the trainer waits to see handed over

    def offer(self, frame: EncodedFrame, lockstep: bool) -> None:
        if lockstep:
            if len(self.backlog) == self.backlog.maxlen:
                self.dropped += 1
            self.backlog.append(frame)
        else:
            self.latest = frame
        self.wake.set()

    def end(self, code: int, reason: str = "") -> None:
        """Ask the sender to close the socket with ``code`` once the pending texts are out."""
        self.close_code = code
        self.close_reason = reason
        self.wake.set()

    def say(self, message: dict[str, Any]) -> None:
        self.say_text(encode_text(message))

    def say_text(self, text: str) -> None:
        """Queue an already encoded text message (a broadcast encodes once for every viewer)."""
        self.texts.append(text)
        self.wake.set()

    @property
    def has_frames(self) -> bool:
        return self.latest is not None or bool(self.backlog)

    def take_texts(self) -> list[str]:
        """Pending text messages (acks, errors, events), oldest first: they never wait for a frame slot."""
        out = list(self.texts)
        self.texts.clear()
        return out

    def take_frames(
        self, ring: PointsRing, session_id: str, shared: dict[tuple[int, float, float], bytes] | None = None
    ) -> list[bytes]:
        """The frames due to this socket now, in order, each preceded by any catch-up points it needs.

        ``shared`` (the hub's :attr:`Hub.catch_up`) lets viewers that skipped the same frames share
        one encoded catch-up message instead of encoding one each.
        """
        out: list[bytes] = []
        frames = list(self.backlog)
        self.backlog.clear()
        if self.latest is not None:
            frames.append(self.latest)
            self.latest = None
        for frame in frames:
            if frame.generation != self.generation:
                self.generation = frame.generation
                self.last_point = frame.first_point - 1 if frame.first_point != float("inf") else frame.step
            elif frame.first_point != float("inf") and frame.first_point > self.last_point + 1:
                key = (frame.generation, self.last_point, frame.first_point)
                catch_up = shared.get(key) if shared is not None else None
                if catch_up is None:
                    catch_up = self._points(ring, session_id, frame)
                    if shared is not None and catch_up is not None:
                        shared[key] = catch_up
                if catch_up is not None:
                    out.append(catch_up)
            out.append(frame.data)
            if frame.step > self.last_point:
                self.last_point = frame.step
        return out

    def _points(self, ring: PointsRing, session_id: str, frame: EncodedFrame) -> bytes | None:
        steps, losses, lrs = ring.since(self.last_point)
        keep = steps < frame.first_point
        if not keep.any():
            return None
        header = {
            "type": "points",
            "protocol": PROTOCOL_VERSION,
            "session": session_id,
            "generation": frame.generation,
        }
        return encode_frame(
            header,
            [
                ("points.step", steps[keep], "f8"),
                ("points.loss", losses[keep], "f8"),
                ("points.lr", lrs[keep], "f8"),
            ],
        )


class Hub:
    """The viewers of one session (touched only on the event loop)."""

    def __init__(self) -> None:
        self.viewers: set[Viewer] = set()
        # read by the training thread: replaced whole, never mutated
        self.keys: frozenset[SubscriptionKey] = frozenset()
        self.max_fps = 0.0
        self.lockstep_wanted = False
        # catch-up points messages of the latest delivery, by (generation, last point held, first
        # point of the frame): 200 viewers that skipped the same frames share one encoding
        self.catch_up: dict[tuple[int, float, float], bytes] = {}
        # Set when every frame due now has been handed to its socket. The trainer waits on it
        # (briefly) after publishing: a training thread that holds the GIL makes the event loop
        # wait up to a switch interval (5 ms) after every socket write, so 200 sends competing
        # with training took ~1 s a frame; sent while training waits, they take ~10 ms.
        self.drained = threading.Event()
        self.drained.set()
        self._owed = 0

    def refresh(self) -> None:
        live = [v for v in self.viewers if not v.closed]
        self.keys = frozenset(v.subscription.key for v in live)
        self.max_fps = max((v.subscription.fps for v in live), default=0.0)

    def add(self, viewer: Viewer) -> None:
        self.viewers.add(viewer)
        self.refresh()

    def remove(self, viewer: Viewer) -> None:
        viewer.closed = True
        viewer.wake.set()
        self.viewers.discard(viewer)
        self.handed_over(viewer)
        self.refresh()

    def deliver(self, frames: dict[SubscriptionKey, EncodedFrame], lockstep: bool) -> None:
        if len(self.catch_up) > MAX_CATCH_UP_KEPT:
            self.catch_up.clear()
        now = asyncio.get_running_loop().time()
        for viewer in self.viewers:
            frame = frames.get(viewer.subscription.key)
            if frame is not None:
                viewer.offer(frame, lockstep)
                # owed only by sockets that will send it now: not one waiting for its fps slot,
                # and not one stuck in a send to a client that stopped reading
                if not viewer.owed and not viewer.sending and now >= viewer.next_frame:
                    viewer.owed = True
                    self._owed += 1
        if self._owed == 0:
            self.drained.set()

    def handed_over(self, viewer: Viewer) -> None:
        """``viewer``'s sender has taken its frames (or the socket is gone)."""
        if viewer.owed:
            viewer.owed = False
            self._owed -= 1
            if self._owed <= 0:
                self._owed = 0
                self.drained.set()

    def broadcast(self, message: dict[str, Any]) -> None:
        text = encode_text(message)
        for viewer in self.viewers:
            viewer.say_text(text)

    def close_all(self, code: int) -> None:
        """Ask every sender to close its socket with ``code`` after what is queued."""
        for viewer in self.viewers:
            viewer.end(code)
