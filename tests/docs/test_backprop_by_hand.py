"""docs/backprop-by-hand.md is what the engine computes, and what the chain rule says by hand."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_document_agrees_with_a_fresh_run_of_the_engine() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/make_backprop_by_hand.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_documented_numbers_match_plain_math_done_by_hand() -> None:
    text = (ROOT / "docs" / "backprop-by-hand.md").read_text()
    x, y, lr = 0.5, 1.0, 0.5
    h0, h1 = math.tanh(x * 0.4 + 0.1), math.tanh(x * -0.6)
    z_out = h0 * 0.7 + h1 * -0.3 + 0.05
    y_hat = 1 / (1 + math.exp(-z_out))
    loss = -math.log(y_hat)
    d_out = y_hat - y
    d_h0 = (1 - h0 * h0) * 0.7 * d_out
    grad_w1_00 = x * d_h0
    new_w2_00 = 0.7 - lr * h0 * d_out
    for value in (h0, z_out, y_hat, loss, d_out, d_h0, grad_w1_00, new_w2_00):
        assert f"{value:.6g}" in text, value
