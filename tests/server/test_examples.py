"""The scripts in examples/ run against the live server and print what they promise."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 120


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / name), *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )


def session_ids(server_url: str) -> set[str]:
    return {s["id"] for s in httpx.get(f"{server_url}/api/sessions").json()["sessions"]}


def test_train_xor_learns_and_prints_every_layers_gradient_norm(server_url: str) -> None:
    before = session_ids(server_url)
    result = run_example("train_xor.py", server_url)
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^\s*(\d+)\s+([\d.]+)\s+L0: ([\d.e+-]+)\s+L1: ([\d.e+-]+)\s*$", result.stdout, re.M)
    assert len(rows) == 8, result.stdout
    assert [int(r[0]) for r in rows] == list(range(150, 1201, 150))
    assert all(float(r[2]) > 0 and float(r[3]) > 0 for r in rows)
    accuracy = re.search(r"train accuracy ([\d.]+)", result.stdout)
    assert accuracy is not None and float(accuracy.group(1)) >= 0.9, result.stdout
    assert f"{server_url}/?session=" in result.stdout  # how to watch it in a browser
    assert session_ids(server_url) == before  # it cleans up after itself


def test_race_optimizers_writes_three_loss_curves_and_prints_final_losses(
    server_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "curves.csv"
    result = run_example("race_optimizers.py", server_url, str(target))
    assert result.returncode == 0, result.stderr
    with open(target, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step", "sgd", "momentum", "adam"]
    assert len(rows) == 1 + 1500
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 1501))
    # same seed: same initial weights and first batch, so every run's first loss is the same number
    assert rows[1][1] == rows[1][2] == rows[1][3]
    curves = {name: [float(r[k]) for r in rows[1:]] for k, name in enumerate(rows[0]) if k}
    assert curves["sgd"] != curves["adam"]
    for name in ("sgd", "momentum", "adam"):
        line = re.search(
            rf"^\s*{name}: last 50 steps' mean batch loss ([\d.]+), train loss ([\d.]+)", result.stdout, re.M
        )
        assert line is not None, result.stdout
        assert abs(float(line.group(1)) - sum(curves[name][-50:]) / 50) < 1e-4  # printed to 4 places


def test_race_optimizers_without_a_path_writes_a_temporary_file(server_url: str) -> None:
    result = run_example("race_optimizers.py", server_url)
    assert result.returncode == 0, result.stderr
    match = re.search(r"written to (\S+)", result.stdout)
    assert match is not None
    path = Path(match.group(1))
    try:
        assert path.is_file() and path.read_text().startswith("step,sgd,momentum,adam")
    finally:
        path.unlink(missing_ok=True)


def test_check_gradient_agrees_with_finite_differences_and_exits_0(server_url: str) -> None:
    result = run_example("check_gradient.py", server_url)
    assert result.returncode == 0, result.stdout + result.stderr
    analytic = re.search(r"analytic\s+∂L/∂W = ([-+\d.e]+)", result.stdout)
    numeric = re.search(r"numeric\s+∂L/∂W = ([-+\d.e]+)", result.stdout)
    error = re.search(r"relative error\s+= ([\d.e+-]+)", result.stdout)
    assert analytic and numeric and error, result.stdout
    assert float(analytic.group(1)) != 0
    assert float(error.group(1)) <= 1e-6
    assert abs(float(analytic.group(1)) - float(numeric.group(1))) <= 1e-6 * abs(float(analytic.group(1)))


def test_an_example_pointed_at_no_server_fails_with_a_nonzero_exit(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = run_example("check_gradient.py", url)
    assert result.returncode != 0
