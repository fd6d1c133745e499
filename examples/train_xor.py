"""Train a small network on XOR through the API and print each layer's gradient norms as it learns.

    python examples/train_xor.py [http://127.0.0.1:8000]

Start the server first (``backprop-lab serve``). While this runs, open the printed URL to watch
the same session in a browser.
"""

from __future__ import annotations

import sys

from server.client import Client

CONFIG = {
    "model": {
        "input_shape": [2],
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": "bce",
    },
    "data": {"dataset": "xor", "samples": 400, "noise": 0.0, "train_fraction": 0.5},
    "training": {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}, "batch_size": 10},
    "seed": 1,
}
ROUNDS = 8
STEPS_PER_ROUND = 150


def main(url: str) -> int:
    with Client(url) as client:
        run = client.create(CONFIG)
        print(f"session {run.id}: watch it at {run.url}")
        try:
            print(f"{'step':>6} {'loss':>8}  gradient norm per layer")
            for _ in range(ROUNDS):
                run.step(STEPS_PER_ROUND)
                summary = run.trace()["summary"]  # the last step's trace summary
                norms = "  ".join(
                    f"L{k}: {layer['grad_norm']:.3e}" for k, layer in enumerate(summary["layers"])
                )
                print(f"{summary['step']:>6} {summary['loss']:>8.4f}  {norms}")
            final = run.info()["eval"]
            print(f"train accuracy {final['train_accuracy']:.3f}, test accuracy {final['test_accuracy']:.3f}")
        finally:
            run.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"))
