"""Write tests/golden/*.bin and *.json: real frames and what they decode to.

    python scripts/make_golden_frames.py           # (re)write
    python scripts/make_golden_frames.py --check   # exit 1 if the server would now write other bytes

The Python tests check that the server's encoder still produces these bytes;
the node tests check that the page's decoder reads them as the .json says. So
both sides of the wire are held to the same sample frames.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from engine.session import TrainingSession  # noqa: E402
from server.framebuilder import FrameBuilder  # noqa: E402
from server.frames import decode_frame, encode_frame  # noqa: E402
from server.protocol import TENSORS  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"
FIXED_TIME = 1764400000.5


def _frames() -> dict[str, bytes]:
    session = TrainingSession(
        {
            "model": {
                "layers": [
                    {"type": "dense", "units": 3, "activation": "tanh"},
                    {"type": "dense", "units": 2, "activation": "softmax"},
                ],
                "loss": "cross_entropy",
            },
            "data": {"dataset": "blobs", "samples": 40, "classes": 2, "noise": 0.1},
            "training": {"optimizer": {"name": "sgd", "lr": 0.1}, "batch_size": 4},
            "seed": 11,
        }
    )
    first = session.step_count
    result = session.step(3, "full")
    points = (np.arange(first + 1, first + 4, dtype=np.float64), result.losses, result.lrs)
    builder = FrameBuilder(session, 20_000)
    header = {
        "session": "golden",
        "generation": 2,
        "step": session.step_count,
        "epoch": session.epoch,
        "playing": False,
        "divergence": None,
    }
    frames = {}
    for name, bits in (("frame_blobs", 32), ("frame_q8_blobs", 8)):  # heatmaps as float32, as q8 codes
        key = (TENSORS, 8, 4, bits)
        built = builder.build([key], header, points, result.summary, result.trace)[key]
        head, arrays = decode_frame(built)
        head["time"] = FIXED_TIME
        specs = head.pop("arrays")
        frames[name] = encode_frame(head, [(s["name"], arrays[s["name"]], s["dtype"]) for s in specs])
    points_msg = encode_frame(
        {"type": "points", "protocol": 1, "session": "golden", "generation": 2},
        [("points.step", points[0], "f8"), ("points.loss", points[1], "f8"), ("points.lr", points[2], "f8")],
    )
    return {**frames, "points_blobs": points_msg}


def _expected(message: bytes) -> dict[str, Any]:
    header, arrays = decode_frame(message)
    return {
        "header": {k: v for k, v in header.items() if k != "arrays"},
        "arrays": {
            name: {"shape": list(a.shape), "values": a.astype(np.float64).ravel().tolist()}
            for name, a in arrays.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    GOLDEN.mkdir(parents=True, exist_ok=True)
    status = 0
    for name, message in _frames().items():
        bin_path, json_path = GOLDEN / f"{name}.bin", GOLDEN / f"{name}.json"
        text = json.dumps(_expected(message), indent=1) + "\n"
        if args.check:
            if not bin_path.exists() or bin_path.read_bytes() != message or json_path.read_text() != text:
                print(f"{bin_path.name} differs from what the server writes now", file=sys.stderr)
                status = 1
        else:
            bin_path.write_bytes(message)
            json_path.write_text(text)
            print(f"wrote {bin_path} ({len(message)} bytes)")
    return status


if __name__ == "__main__":
    sys.exit(main())
