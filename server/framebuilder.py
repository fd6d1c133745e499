"""Turn a session's latest step into encoded frames, once per distinct subscription.

Runs on the training thread (never on the event loop): heatmaps are computed
once per frame at each resolution some client asked for, and each distinct
subscription key is encoded once, however many clients share it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.datasets import apply_features
from engine.network import Network
from engine.session import TrainingSession
from engine.trace import StepSummary, StepTrace
from server.frames import QUANTIZED, encode_frame
from server.protocol import PROTOCOL_VERSION, SubscriptionKey, jsonable

__all__ = ["FrameBuilder"]

# Trace arrays of the backward pass besides delta: sent with the "deltas" tensors.
_BACKWARD_EXTRAS = frozenset({"dh", "dc", "grad_W_h_per_step", "grad_W_h_step_norm"})
Arrays = list[tuple[str, NDArray[Any], str | None]]


class FrameBuilder:
    """Builds the frames of one session; caches the input grids per heatmap resolution."""

    def __init__(self, engine: TrainingSession, frame_max_parameters: int) -> None:
        self.engine = engine
        self.frame_max_parameters = frame_max_parameters
        self._grids: dict[int, NDArray[Any]] = {}
        self._twin: Network | None = None  # a float32 copy of the network, for heatmaps
        self._twin_of: Network | None = None

    def _predict32(self, grid: NDArray[Any]) -> list[dict[str, NDArray[Any]]]:
        """The network's forward pass over ``grid`` in float32.

        Heatmaps are drawn (and sent) as float32 or 8-bit codes anyway; computed in float32 the
        100×100 pass takes ~2.5× less time (tanh on float32 is vectorised). A float64 network is
        mirrored by a float32 twin whose parameters are one cast-copy of ``theta`` away.
        """
        net = self.engine.network
        if net.dtype == np.float32:
            return net.predict(grid)
        if self._twin_of is not net:  # first use, or the session rebuilt its network
            self._twin = Network(net.input_shape, net.layer_specs, net.loss.name, "float32")
            self._twin_of = net
        assert self._twin is not None
        np.copyto(self._twin.theta, net.theta, casting="same_kind")
        return self._twin.predict(grid)

    def _grid(self, res: int) -> NDArray[Any] | None:
        """Network inputs for a res×res grid over the plane: row 0 is the top (x2 high)."""
        data = self.engine.data
        points_2d = (
            data.points_train is not None and data.points_train.ndim == 2 and data.points_train.shape[1] == 2
        )
        if data.domain is None or not points_2d:
            return None
        # Plane data, and inline points drawn on the plane: features default to (x1, x2).
        features = list(data.feature_names or ["x1", "x2"])
        if self.engine.network.input_shape != (len(features),):
            return None
        grid = self._grids.get(res)
        if grid is None:
            lo, hi = data.domain
            xs = np.linspace(lo, hi, res)
            x1, x2 = np.meshgrid(xs, xs[::-1])
            points = np.stack([x1.ravel(), x2.ravel()], axis=1)
            grid = self._grids[res] = apply_features(points, features).astype(np.float32)
        return grid

    def _heatmaps(self, output_res: int, node_res: int, bits: int) -> Arrays:
        arrays: Arrays = []
        code = QUANTIZED if bits == 8 else "f4"
        if output_res:
            grid = self._grid(output_res)
            if grid is not None:
                out = self._predict32(grid)[-1]["a"]
                arrays.append(("heat.output", out[:, 0].reshape(output_res, output_res), code))
                if out.shape[1] > 1:
                    arrays.append(
                        ("heat.output_class", out.argmax(axis=1).reshape(output_res, output_res), "u1")
                    )
        if node_res:
            grid = self._grid(node_res)
            if grid is not None:
                r = node_res
                arrays.append(("heat.input", grid.T.reshape(-1, r, r), code))
                for k, values in enumerate(self._predict32(grid)):
                    a = values["a"]
                    arrays.append((f"heat.L{k}", a.reshape(r * r, -1).T.reshape(-1, r, r), code))
        return arrays

    def _tensors(self, tensors: tuple[str, ...], trace: StepTrace | None) -> Arrays:
        engine = self.engine
        if engine.network.size > self.frame_max_parameters:
            return []
        arrays: Arrays = []
        if "params" in tensors:
            for k, layer in enumerate(engine.network.layers):
                for name, value in layer.params.items():
                    arrays.append((f"L{k}.{name}", value, "f4"))
        if trace is None:
            return arrays
        wanted_prefix = [p for t, p in (("grads", "grad_"), ("updates", "update_")) if t in tensors]
        for k, layer_arrays in enumerate(trace.layers):
            for name, value in layer_arrays.items():
                if any(name.startswith(p) for p in wanted_prefix):
                    arrays.append((f"L{k}.{name}", value, "f4"))
                elif name == "delta" or name in _BACKWARD_EXTRAS:
                    if "deltas" in tensors:
                        arrays.append((f"L{k}.{name}", value, "i4" if value.dtype.kind in "iu" else "f4"))
                elif "activations" in tensors:
                    # z, a and the layer's own extras (conv input maps, pooling argmax, h_t, gates)
                    arrays.append((f"L{k}.{name}", value, "i4" if value.dtype.kind in "iu" else "f4"))
        if "activations" in tensors:
            arrays.append(("batch.X", trace.X, "f4"))
            arrays.append(("batch.indices", trace.indices, "i4"))
        return arrays

    def build(
        self,
        keys: Iterable[SubscriptionKey],
        header: dict[str, Any],
        points: tuple[NDArray[Any], NDArray[Any], NDArray[Any]],
        summary: StepSummary | None,
        trace: StepTrace | None,
    ) -> dict[SubscriptionKey, bytes]:
        """One encoded frame per key. ``header`` holds session id, generation, step, playing…"""
        steps, losses, lrs = points
        base_header = {
            "type": "frame",
            "protocol": PROTOCOL_VERSION,
            **header,
            "time": time.time(),
            "summary": None if summary is None else jsonable(summary.to_dict()),
            "eval": jsonable(self.engine.history.evals.last()),
        }
        point_arrays: Arrays = [
            ("points.step", steps, "f8"),
            ("points.loss", losses, "f8"),
            ("points.lr", lrs, "f8"),
        ]
        heat_cache: dict[tuple[int, int, int], Arrays] = {}
        tensor_cache: dict[tuple[str, ...], Arrays] = {}
        frames: dict[SubscriptionKey, bytes] = {}
        for key in keys:
            tensors, output_res, node_res, bits = key
            heat_key = (output_res, node_res, bits)
            if heat_key not in heat_cache:
                heat_cache[heat_key] = self._heatmaps(output_res, node_res, bits)
            if tensors not in tensor_cache:
                tensor_cache[tensors] = self._tensors(tensors, trace)
            arrays = point_arrays + tensor_cache[tensors] + heat_cache[heat_key]
            frames[key] = encode_frame(base_header, arrays)
        return frames
