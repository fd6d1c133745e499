"""Check one weight's gradient from a live trace against central finite differences.

    python examples/check_gradient.py [URL]

Trains a few steps, pulls the last step's trace (its batch X, Y and ∂L/∂W) and the weights, then
recomputes ∂L/∂W[i, j] numerically: the loss of the same batch with W[i, j] ± ε, evaluated by the
server's forward pass (POST …/predict) with the loss formula written out below. Exits 1 when the
relative error exceeds 1e-6.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from server.client import Client, Run

LAYER, ROW, COL = 0, 1, 2  # the weight checked: W[1, 2] of layer 0
EPSILON = 1e-6
TOLERANCE = 1e-6
CONFIG = {
    "model": {
        "input_shape": [2],
        "layers": [
            {"type": "dense", "units": 5, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": "bce",
        "dtype": "float64",
    },
    "data": {"dataset": "circle", "samples": 200, "noise": 0.1},
    "training": {
        "optimizer": {"name": "sgd", "lr": 0.1},
        "batch_size": 16,
        "regularization": {"kind": "l2", "rate": 0.01},
    },
    "seed": 4,
}


def data_loss(loss: str, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> float:
    """The batch loss from the output layer's pre-activation ``z`` and activation ``a``."""
    if loss == "mse":  # mean of squared error over batch and outputs
        return float(np.mean((a - y) ** 2))
    if loss == "bce":  # sigmoid output; from the logits, stably: mean over elements
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    if loss == "cross_entropy":  # softmax output; targets one-hot or class indices; mean over rows
        if y.shape[-1] == 1 and z.shape[-1] > 1:
            y = np.eye(z.shape[-1])[y[..., 0].astype(int)]
        shifted = z - z.max(axis=-1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        return float(-np.mean(np.sum(y * log_softmax, axis=-1)))
    raise SystemExit(f"no formula for loss {loss!r}")


def penalty(regularization: dict[str, Any], layers: list[dict[str, np.ndarray]]) -> float:
    """l2: rate/2·Σw², l1: rate·Σ|w|, over weights (W…), not biases."""
    weights = [value for layer in layers for name, value in layer.items() if name.startswith("W")]
    rate = float(regularization["rate"])
    if regularization["kind"] == "l2":
        return 0.5 * rate * sum(float(np.sum(w * w)) for w in weights)
    if regularization["kind"] == "l1":
        return rate * sum(float(np.sum(np.abs(w))) for w in weights)
    return 0.0


def total_loss(
    run: Run, layers: list[dict[str, np.ndarray]], x: np.ndarray, y: np.ndarray, config: Any
) -> float:
    run.set_params(layers)
    output = run.predict(x)["layers"][-1]
    return data_loss(config["model"]["loss"], output["z"], output["a"], y) + penalty(
        config["training"]["regularization"], layers
    )


def main(url: str) -> int:
    with Client(url) as client:
        run = client.create(CONFIG)
        try:
            run.step(25)
            trace = run.trace()
            after = run.params()
            config = run.info()["config"]
            # the trace's gradient was taken at the weights *before* its step's update
            before = [
                {name: value - trace["layers"][k][f"update_{name}"] for name, value in layer.items()}
                for k, layer in enumerate(after)
            ]
            x, y = trace["X"], trace["Y"]
            analytic = float(trace["layers"][LAYER]["grad_W"][ROW, COL])
            losses = []
            for sign in (+1, -1):
                nudged = [{name: value.copy() for name, value in layer.items()} for layer in before]
                nudged[LAYER]["W"][ROW, COL] += sign * EPSILON
                losses.append(total_loss(run, nudged, x, y, config))
            numeric = (losses[0] - losses[1]) / (2 * EPSILON)
        finally:
            run.delete()
    error = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-12)
    print(f"step {trace['step']}, layer {LAYER}, W[{ROW}, {COL}], batch of {len(x)}")
    print(f"analytic  ∂L/∂W = {analytic:+.12e}")
    print(f"numeric   ∂L/∂W = {numeric:+.12e}  (central differences, ε = {EPSILON:g})")
    verdict = "ok" if error <= TOLERANCE else "TOO LARGE"
    print(f"relative error  = {error:.3e}  ({verdict}: tolerance {TOLERANCE:g})")
    return 0 if error <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"))
