"""``benchmarks/stream.py`` runs every scenario end to end on a tiny load (speed is never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "benchmarks" / "stream.py"


def test_a_tiny_run_of_every_scenario_reports_frames_sizes_ages_and_the_classroom(tmp_path: Path) -> None:
    out_path = tmp_path / "stream.json"
    tiny = ["--seconds", "1.5", "--rounds", "1", "--viewers", "4", "--sessions", "2"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *tiny, "--json", str(out_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(out_path.read_text())
    one = rows["one session, 1 viewer, 60 fps + heatmaps"]
    assert one["viewers"] == 1 and one["fps_median"] > 0 and one["bytes_per_frame"] > 0
    assert one["engine_untraced_steps_per_s"] > 0 and len(one["round_ratios"]) == 1
    assert rows["one session, 4 viewers, 30 fps"]["viewers"] == 4
    assert rows["2 sessions × 1 viewer, 30 fps"]["sessions"] == 2
    for row in (one, rows["one session, 4 viewers, 30 fps"], rows["2 sessions × 1 viewer, 30 fps"]):
        assert row["age_p50_ms"] <= row["age_p99_ms"]
        assert row["steps_per_s_per_session"] > 0
    classroom = rows["classroom: presenter → 4 viewers"]
    assert classroom["viewers"] == 4 and classroom["actions"] > 0
    assert "training while streaming" in result.stdout
