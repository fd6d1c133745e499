"""``benchmarks/engine.py`` runs end to end and prints every row (speed itself is never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "benchmarks" / "engine.py"

ROWS = (
    "2-8-8-1 tanh, batch 10, trace off",
    "2-8-8-1 tanh, batch 10, trace summary",
    "2-8-8-1 tanh, batch 10, trace full",
    "2-8-8-1 tanh, batch 10, trace off, eval/epoch",
    "2-8-8-1 tanh, full batch 250, trace off",
    "2-8-8-1 tanh, full batch 250, trace summary",
    "2-8-8-1 tanh, full batch 250, trace full",
    "784-128-10 relu softmax-CE, batch 64, f32",
    "conv 3x3x8 on 8x8x1, batch 32, f32",
    "rnn tanh H16 T20, batch 16, f32",
    "lstm H32 T20, batch 16, f32",
)


def run(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_quick_run_prints_every_row_and_writes_them_as_json(tmp_path: Path) -> None:
    out_path = tmp_path / "bench.json"
    out = run("--quick", "--json", str(out_path))
    for label in ROWS:
        assert label in out, f"row {label!r} missing from:\n{out}"
    assert "OPENBLAS_CORETYPE:" in out and "OPENBLAS_L2_SIZE:" in out
    assert "steps/s" in out and "examples/s" in out
    rows = json.loads(out_path.read_text())["rows"]
    assert [r["label"] for r in rows] == list(ROWS)
    for r in rows:
        assert r["steps_per_s"]["min"] <= r["steps_per_s"]["median"] <= r["steps_per_s"]["max"]
        assert r["examples_per_s"]["median"] == pytest.approx(r["steps_per_s"]["median"] * r["batch"])
        assert ("cost_vs_untraced" in r) == (r["trace"] != "off")
    assert "the time of an untraced step" in out


def test_unset_openblas_env_reruns_itself_without_those_variables() -> None:
    env = {**os.environ, "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576"}
    out = run("--quick", "--only", "mlp_b10_off", "--unset-openblas-env", env=env)
    assert "re-executing without OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE" in out
    assert "OPENBLAS_CORETYPE: not set" in out and "OPENBLAS_L2_SIZE: not set" in out
    assert ROWS[0] in out


def test_reference_torch_prints_a_ratio_per_row_when_torch_is_installed() -> None:
    pytest.importorskip("torch")
    out = run("--quick", "--reference", "torch", "--only", "mlp_b10_off", "conv", "lstm")
    ratio_lines = [line for line in out.splitlines() if line.rstrip().endswith("×")]
    assert len(ratio_lines) == 3, out
