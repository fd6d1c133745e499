"""The server's frame encoding is the one the golden samples (and so the page's decoder) expect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from server.frames import decode_frame, encode_frame

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
FILES = sorted(GOLDEN.glob("*.bin"))


def test_there_are_golden_frames_to_check() -> None:
    assert {p.stem for p in FILES} >= {"frame_blobs", "points_blobs"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_golden_frame_decodes_to_its_documented_values(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    header, arrays = decode_frame(path.read_bytes())
    assert {k: v for k, v in header.items() if k != "arrays"} == expected["header"]
    assert set(arrays) == set(expected["arrays"])
    for name, spec in expected["arrays"].items():
        assert list(arrays[name].shape) == spec["shape"]
        np.testing.assert_array_equal(arrays[name].astype(np.float64).ravel(), np.array(spec["values"]))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_encoding_the_decoded_frame_gives_the_same_bytes(path: Path) -> None:
    message = path.read_bytes()
    header, arrays = decode_frame(message)
    specs = header.pop("arrays")
    again = encode_frame(header, [(s["name"], arrays[s["name"]], s["dtype"]) for s in specs])
    assert again == message
    # every array starts 8-byte aligned after the header, as the browser's typed arrays need
    (length,) = np.frombuffer(message[:4], "<u4")
    assert (4 + int(length)) % 8 == 0
    assert all(s["offset"] % 8 == 0 for s in specs)


def test_a_real_session_still_builds_the_golden_frames_byte_for_byte() -> None:
    # The script trains a fixed session and builds its frames with the server's FrameBuilder:
    # a change there that the samples do not reflect would leave the page's decoder tests
    # checking frames the server no longer sends.
    script = ROOT / "scripts" / "make_golden_frames.py"
    command = [sys.executable, str(script), "--check"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
