"""Server settings: flags and ``BACKPROP_LAB_*`` environment variables, with documented limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


def _default_data_dir() -> Path:
    """The user's data folder: XDG on Linux, Application Support on macOS, LOCALAPPDATA on Windows."""
    import os
    import sys

    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "backprop-lab"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "backprop-lab"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "backprop-lab"


class Settings(BaseSettings):
    """Everything configurable. Each limit violation answers 4xx naming the limit and the value."""

    model_config = SettingsConfigDict(env_prefix="BACKPROP_LAB_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    allowed_origins: list[str] = Field(default_factory=list, description="extra websocket/CORS origins")
    data_dir: Path | None = Field(
        default_factory=_default_data_dir, description="None keeps sessions in memory only"
    )

    # limits
    max_sessions: int = Field(200, ge=1)
    max_layers: int = Field(32, ge=1)
    max_units: int = Field(1024, ge=1, description="units/filters in one layer")
    max_parameters: int = Field(2_000_000, ge=1)
    max_samples: int = Field(20_000, ge=1)
    max_steps_per_request: int = Field(10_000, ge=1)
    max_batch_size: int = Field(4096, ge=1)
    max_viewers_per_session: int = Field(500, ge=1)
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    max_ws_message_bytes: int = Field(64 * 1024, ge=256)
    max_predict_rows: int = Field(100_000, ge=1)
    session_ttl_seconds: float = Field(6 * 3600.0, gt=0, description="idle sessions are deleted after this")
    race_unwatched_seconds: float = Field(
        120.0, gt=0, description="a playing race nobody reads or watches pauses after this"
    )

    # streaming
    recording_budget_bytes: int = Field(
        4 * 1024 * 1024,
        ge=64 * 1024,
        description="memory for one session's time-travel snapshots (at most 512, thinned with age)",
    )
    frame_max_parameters: int = Field(
        20_000, ge=0, description="full tensors in frames up to this many parameters"
    )
    ws_send_timeout: float = Field(30.0, gt=0)
    ws_max_commands_per_second: float = Field(50.0, gt=0)
    lockstep_backlog: int = Field(256, ge=1)
    slice_seconds: float = Field(
        0.004, gt=0, description="longest uninterrupted training slice of one session"
    )

    # persistence
    checkpoint_every_steps: int = Field(5000, ge=1, description="checkpoint playing sessions every K steps")
    checkpoint_every_seconds: float = Field(10.0, gt=0, description="or T seconds (docs/persistence.md)")
