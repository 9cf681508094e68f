"""The audit drainer survives its sinks: ENOSPC, EIO, a failing spool, bugs; bounded memory."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from icap_dlp.audit import AuditLogger
from icap_dlp.audit._sinks import AuditHealth


def rec(i: int) -> dict[str, Any]:
    return {"schema": "icap-dlp.audit/1", "incident_id": f"inc{i}", "decision": "redact"}


class FlakySink:
    """Raises ``exc`` while ``broken`` is set; records what it took."""

    def __init__(self, name: str, exc: BaseException) -> None:
        self.name = name
        self.exc = exc
        self.broken = True
        self.got: list[str] = []

    async def write(self, lines: list[dict[str, Any]]) -> None:
        if self.broken:
            raise self.exc
        self.got.extend(str(r["incident_id"]) for r in lines)

    async def close(self) -> None:
        pass


def errors(sink: str, reason: str) -> float:
    return REGISTRY.get_sample_value("icap_dlp_audit_errors_total", {"sink": sink, "reason": reason}) or 0.0


async def until(cond: Any, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_sink_errors_spool_then_replay_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        sink = FlakySink("flaky-enospc", OSError(errno.ENOSPC, "No space left on device"))
        health: list[AuditHealth] = []
        log = AuditLogger([sink], spool_dir=tmp_path, on_health=health.append)
        log.start()
        before = errors("flaky-enospc", "ENOSPC")
        for i in range(10):
            log.emit(rec(i))
        await until(lambda: health and health[-1].degraded)
        assert health[-1].storing  # the spool holds them on disk
        await until(lambda: sum(len(p.read_text().splitlines()) for p in tmp_path.glob("*.spool.jsonl")) == 10)
        assert errors("flaky-enospc", "ENOSPC") > before
        for i in range(10, 15):
            log.emit(rec(i))  # behind the spooled ones
        sink.broken = False
        await until(lambda: len(sink.got) == 15)
        assert sink.got == [f"inc{i}" for i in range(15)]
        await until(lambda: not health[-1].degraded)
        assert not any(p.exists() for p in tmp_path.glob("*.spool.jsonl"))
        assert log._task is not None and not log._task.done()
        await log.close()

    asyncio.run(scenario())


def test_spool_failing_too_holds_records_in_memory_bounded(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = tmp_path / "spool"
        spool.write_text("not a directory")  # every spool write fails
        sink = FlakySink("flaky-eio", OSError(errno.EIO, "I/O error"))
        health: list[AuditHealth] = []
        log = AuditLogger([sink], spool_dir=spool, held_limit=5, on_health=health.append)
        log.start()
        for i in range(8):
            log.emit(rec(i))
        await until(lambda: health and not health[-1].storing)
        await until(lambda: log.dropped == 3)  # past the bound: dropped and counted, never unbounded
        assert errors("flaky-eio", "EIO") >= 1
        spool.unlink()  # the spool works again, then the sink
        sink.broken = False
        await until(lambda: len(sink.got) == 5)
        assert sink.got == [f"inc{i}" for i in range(5)]
        await until(lambda: health[-1] == AuditHealth(False, True))
        await log.close()

    asyncio.run(scenario())


def test_drainer_survives_a_sink_bug(tmp_path: Path) -> None:
    async def scenario() -> None:
        sink = FlakySink("buggy", RuntimeError("bug"))
        log = AuditLogger([sink], spool_dir=tmp_path)
        log.start()
        log.emit(rec(0))
        await until(lambda: errors("buggy", "RuntimeError") >= 1)
        sink.broken = False
        log.emit(rec(1))
        await until(lambda: sink.got == ["inc0", "inc1"])
        assert log._task is not None and not log._task.done()
        await log.close()

    asyncio.run(scenario())


class SlowSink:
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.got: list[str] = []
        self.name = "slow"

    async def write(self, lines: list[dict[str, Any]]) -> None:
        await self.gate.wait()
        self.got.extend(str(r["incident_id"]) for r in lines)

    async def close(self) -> None:
        pass


def test_block_mode_waits_with_a_deadline_and_stays_bounded(tmp_path: Path) -> None:
    async def scenario() -> None:
        sink = SlowSink()
        log = AuditLogger([sink], queue_size=1, backpressure="block", block_timeout=0.2, spool_dir=tmp_path)
        log.start()
        log.emit(rec(0))
        await until(lambda: log._busy)  # the drainer holds rec 0 in the stuck sink
        log.emit(rec(1))  # fills the queue
        log.emit(rec(2))  # waits for room
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await log.backpressure()
        waited = loop.time() - t0
        assert 0.15 <= waited < 5, waited  # waited for room, but not forever
        for i in range(3, 3 + log.overflow_limit + 10):
            log.emit(rec(i))
        await log.backpressure()
        assert len(log._overflow) <= log.overflow_limit and log.dropped > 0
        sink.gate.set()
        await until(lambda: sink.got[:3] == ["inc0", "inc1", "inc2"])
        await log.close()

    asyncio.run(scenario())
