"""The server's limit refusals, shared by creation (manager.py) and live changes (sessions.py)."""

from __future__ import annotations


class LimitError(ValueError):
    """A configured limit was exceeded; the message names the limit and the value (HTTP 413/429/422)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def check_batch_size(batch_size: object, limit: int) -> None:
    """Refuse a batch size over ``max_batch_size``, at creation and on every later change alike."""
    if isinstance(batch_size, int) and batch_size > limit:
        raise LimitError(f"batch_size = {batch_size} exceeds the limit max_batch_size = {limit}")
