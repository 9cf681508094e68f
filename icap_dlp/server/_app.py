"""Per-worker application state: settings, services, the inspector, counters."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from icap_dlp import metrics
from icap_dlp.config import Settings
from icap_dlp.icap import Limits, Method, ServiceCapabilities
from icap_dlp.seam import Inspector

T = TypeVar("T")


class AuditBackpressure(Protocol):
    async def backpressure(self) -> None: ...


@dataclass
class Stats:
    connections: int = 0
    rejected_connections: int = 0
    protocol_errors: int = 0
    timeouts: int = 0
    oversize: int = 0
    internal_errors: int = 0


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_request_line=settings.max_request_line,
        max_icap_header_bytes=settings.max_icap_header_bytes,
        max_http_header_bytes=settings.max_http_header_bytes,
        max_chunk_size_line=settings.max_chunk_size_line,
    )


def services_from(settings: Settings, transfer_ignore: tuple[str, ...] = ()) -> dict[str, ServiceCapabilities]:
    """The default services: RESPMOD, REQMOD, and an alias that accepts both."""

    def caps(name: str, methods: tuple[Method, ...], what: str) -> ServiceCapabilities:
        return ServiceCapabilities(
            name=name, methods=methods, description=f"icap-dlp {what} data-loss prevention",
            preview=settings.preview_size, allow_204=True, options_ttl=settings.options_ttl,
            max_connections=settings.max_connections, transfer_preview=("*",),
            transfer_ignore=transfer_ignore,
        )

    both = (Method.REQMOD, Method.RESPMOD)
    return {
        settings.respmod_service: caps(settings.respmod_service, (Method.RESPMOD,), "response"),
        settings.reqmod_service: caps(settings.reqmod_service, (Method.REQMOD,), "request"),
        settings.alias_service: caps(settings.alias_service, both, "request and response"),
    }


class Application:
    """What a connection needs; one per worker process. ``inspector`` may be swapped on reload."""

    def __init__(self, settings: Settings, inspector: Inspector,
                 services: dict[str, ServiceCapabilities] | None = None) -> None:
        self.settings = settings
        self.limits = limits_from(settings)
        self.services = services or services_from(settings)
        self.inspector = inspector
        self.stats = Stats()
        self.stopping = False
        self.audit: AuditBackpressure | None = None  # the worker's audit logger, when auditing
        self._inspection_thread: ThreadPoolExecutor | None = None
        self._trim_pending = False

    async def after_transaction(self) -> None:
        """Called by a connection after each answer, before it reads the next request: with
        ``--audit-backpressure block`` a full audit queue holds the connection here (bounded)."""
        if self.audit is not None:
            await self.audit.backpressure()

    async def inspect(self, heavy: bool, fn: Callable[..., T], *args: object) -> T:
        """Run an inspection step: on the event loop, or when ``heavy`` (NER: up to its time
        budget of CPU per message; a large body, see ``Transaction.offload``) on this worker's one
        inspection thread, so the loop keeps serving its other connections. One thread: NER work is
        serialised, spaCy's pipeline is never shared between threads, and the worker's memory stays
        one model's worth. The regex engine may run on both threads at once (a small body on the
        loop beside a large one): its Hyperscan scratch space is per thread."""
        if not heavy:
            return fn(*args)
        if self._inspection_thread is None:
            self._inspection_thread = ThreadPoolExecutor(1, thread_name_prefix="icap-dlp-inspect")
        metrics.INSPECTION_QUEUE.inc()
        try:
            out, cpu = await asyncio.get_running_loop().run_in_executor(self._inspection_thread, _timed, fn, *args)
        finally:
            metrics.INSPECTION_QUEUE.dec()
        if cpu >= _TRIM_AFTER:
            self._trim_pending = True
        return out

    def transaction_done(self) -> None:
        """Called by a connection when a transaction is over and its objects are dropped: after
        a long inspection (a large body), collect its cyclic garbage and hand the C heap's free
        pages back to the system, on the inspection thread behind whatever it is doing.
        Inspecting a large body allocates about a million small objects (segments, findings, a
        parse tree), and what a cycle holds waits for the next full collection while glibc keeps
        freed heap mapped: after fourteen hostile 4 MiB bodies a worker held 128 MB, 101-106 MB
        with this and the fixed mmap threshold (:func:`tune_heap`)."""
        if self._trim_pending and self._inspection_thread is not None and _TRIM is not None:
            self._trim_pending = False
            try:
                self._inspection_thread.submit(_release_memory)
            except RuntimeError:  # the worker is stopping: the thread no longer takes work
                pass

    def close(self) -> None:
        if self._inspection_thread is not None:
            self._inspection_thread.shutdown(wait=False, cancel_futures=True)

    @property
    def istag(self) -> str:
        return self.inspector.istag


def _glibc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc's, not musl's or macOS's
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):  # not glibc: nothing to tune or trim with
        return None
    return libc


_LIBC = _glibc()
_TRIM: Callable[[int], int] | None = _LIBC.malloc_trim if _LIBC is not None else None
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def tune_heap() -> None:
    """Blocks of 256 KiB and more (bodies, decoded texts, batches) straight from mmap, and back
    to the system when freed. glibc's default threshold rises after a large block is freed (up
    to 32 MiB), after which every later large body is carved from the heap and leaves it
    fragmented. Called once per worker; nothing to do without glibc."""
    if _LIBC is not None:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, 256 * 1024)


def _release_memory() -> None:
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)


def _timed(fn: Callable[..., T], *args: object) -> tuple[T, float]:
    """``fn(*args)`` and the CPU seconds this thread spent in it, with no full collection meanwhile.

    A large body's inspection keeps about a million small objects alive until it ends (segments,
    slots, findings), and each time those grow by a quarter of the heap the collector walks all
    of it: half of the time of a 4 MiB NDJSON export (16-17 s against 9 s without). Young
    collections go on; the full one comes after the step (``transaction_done``) or at the
    collector's next turn. The thresholds are the process's, so the loop's own full collections
    wait too, for at most the step's time budget."""
    start = time.thread_time()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, _NO_FULL_COLLECTION)
    try:
        out = fn(*args)
    finally:
        gc.set_threshold(young, middle, old)
    return out, time.thread_time() - start


_NO_FULL_COLLECTION = 1 << 30  # a third threshold no count of middle-generation collections reaches


# A step that held the CPU this long allocated enough to be worth a collection and a trim (tens
# of milliseconds against at least this; not after ordinary NER messages).
_TRIM_AFTER = 0.25
