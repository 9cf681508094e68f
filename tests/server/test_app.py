"""The worker's application state: the inspection thread and the collector around its steps."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from icap_dlp.config import load_settings
from icap_dlp.server._app import Application


def _allocate(n: int) -> int:
    keep = [[i] for i in range(n)]  # containers that stay alive until the step ends, as a parse tree does
    return len(keep)


def test_a_heavy_step_runs_without_full_collections_and_restores_the_thresholds() -> None:
    app = Application(load_settings(), inspector=object())  # type: ignore[arg-type]
    full: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    gc.collect()
    n = len(gc.get_objects()) // 2 + 200_000  # past a quarter of the heap: a full collection is due
    before = gc.get_threshold()
    gc.callbacks.append(count)
    try:
        assert asyncio.run(app.inspect(True, _allocate, n)) == n
        during = len(full)
        after = gc.get_threshold()
        full.clear()
        _allocate(n)  # the same allocations outside a heavy step: the collector does walk the heap
        outside = len(full)
    finally:
        gc.callbacks.remove(count)
        app.close()
    assert during == 0, f"{during} full collections during the heavy step"
    assert outside > 0, "no full collection outside the step either: this test proves nothing"
    assert after == before


def test_a_heavy_step_that_raises_restores_the_thresholds() -> None:
    app = Application(load_settings(), inspector=object())  # type: ignore[arg-type]
    before = gc.get_threshold()

    def fail() -> None:
        raise ValueError("inspection failed")

    try:
        with pytest.raises(ValueError, match="inspection failed"):
            asyncio.run(app.inspect(True, fail))
    finally:
        app.close()
    assert gc.get_threshold() == before
