"""Race SGD, SGD with momentum and Adam on the same data from the same initial weights.

    python examples/race_optimizers.py [URL] [curves.csv]

Writes every step's training loss of the three runs to the CSV (a temporary file when no path is
given) and prints each one's final losses.
"""

from __future__ import annotations

import copy
import csv
import sys
import tempfile
from typing import Any

from server.client import Client, Run

BASE: dict[str, Any] = {
    "model": {
        "input_shape": [2],
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": "bce",
    },
    "data": {"dataset": "spiral", "samples": 400, "noise": 0.0, "train_fraction": 0.5},
    "training": {"batch_size": 10},
    "seed": 7,  # same seed: same data, same initial weights, same batch order
}
OPTIMIZERS = {
    "sgd": {"name": "sgd", "lr": 0.03},
    "momentum": {"name": "sgd", "lr": 0.03, "momentum": 0.9},
    "adam": {"name": "adam", "lr": 0.01},
}
STEPS = 1500
CHUNK = 500


def main(url: str, csv_path: str) -> int:
    with Client(url) as client:
        runs: dict[str, Run] = {}
        try:
            for name, optimizer in OPTIMIZERS.items():
                config = copy.deepcopy(BASE)
                config["training"]["optimizer"] = optimizer
                runs[name] = client.create(config)
            losses: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(STEPS // CHUNK):  # the three advance side by side
                for name, run in runs.items():
                    losses[name].extend(run.step(CHUNK)["losses"])
            with open(csv_path, "w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(["step", *runs])
                for k in range(STEPS):
                    writer.writerow([k + 1, *(repr(losses[name][k]) for name in runs)])
            print(f"loss curves of {STEPS} steps written to {csv_path}")
            for name, run in runs.items():
                final = run.info()["eval"]  # the last evaluation on the whole train and test sets
                tail = losses[name][-50:]
                print(
                    f"{name:>9}: last 50 steps' mean batch loss {sum(tail) / len(tail):.4f}, "
                    f"train loss {final['train_loss']:.4f}, test accuracy {final['test_accuracy']:.3f}"
                )
        finally:
            for run in runs.values():
                run.delete()
    return 0


if __name__ == "__main__":
    target = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkstemp(prefix="race-", suffix=".csv")[1]
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000", target))
