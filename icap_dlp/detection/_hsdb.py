"""Hyperscan databases compiled once per machine: a serialised cache on disk.

Compiling the prefilter database of the built-in library costs about a third of a second, paid by
every ``icap-dlp scan`` and every server worker at start and reload. A compiled database is
stored under a key made of everything that shapes it: the expressions and their flags (so the
selected detectors' anchors, keywords and digit gates: their fingerprint), the Hyperscan version
and the CPU platform (architecture and the CPU feature flags Hyperscan specialises for). A changed
detector, another Hyperscan or another CPU gives another key: a stale entry is never read, and a
missing, unreadable or corrupt one is rebuilt.

The cache directory is ``$ICAP_DLP_CACHE_DIR`` (empty: no cache), else
``$XDG_CACHE_HOME/icap-dlp`` or ``~/.cache/icap-dlp``. It may be absent or read-only (a container's
root file system, a service user without a home): then databases are compiled as before and
nothing is written. A compiled database decides what gets inspected, so only files owned by this
user in a directory no one else can write are loaded: a database planted by another user is
ignored (and replaced when the directory is ours).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("icap_dlp.detection")

CACHE_ENV = "ICAP_DLP_CACHE_DIR"
_SUFFIX = ".hsdb"
KEEP_DATABASES = 64  # compiled databases kept (about 0.4 MB each for the built-in library)


def cache_dir() -> Path | None:
    """Where compiled databases are kept, or None when caching is switched off."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return Path(env) if env else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "icap-dlp"


@functools.cache
def platform_tag() -> str:
    """The Hyperscan version and the CPU it specialises a database for."""
    import hyperscan

    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    flags = " ".join(sorted(line.split(":", 1)[1].split()))
                    break
    except OSError:
        pass
    version = getattr(hyperscan, "__version__", "?")
    return f"hyperscan {version}; {os.uname().machine}; {hashlib.sha256(flags.encode()).hexdigest()}"


def database_key(expressions: Sequence[bytes], flags: Sequence[int], mode: int) -> str:
    h = hashlib.sha256(platform_tag().encode())
    h.update(b"\0mode %d\0" % mode)
    for e, f in zip(expressions, flags, strict=True):
        h.update(b"%d:%d:" % (f, len(e)) + e)
    return h.hexdigest()


def _trusted(fd: int, directory: Path) -> bool:
    """The file and its directory belong to us and nobody else may write them."""
    uid = os.geteuid()
    st = os.fstat(fd)
    if st.st_uid != uid or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    dst = os.stat(directory)
    return dst.st_uid == uid and not dst.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read_trusted(path: Path) -> bytes | None:
    """The content of a cache file, or None when it is missing, unreadable or not trusted (not
    ours, or in a directory others may write: it could have been planted)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not _trusted(fd, path.parent):
            log.warning("ignoring a cached file not owned by this user", extra={"fields": {"path": str(path)}})
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read()
    except OSError:
        return None
    else:
        with contextlib.suppress(OSError):  # used now: pruned last (a read-only directory: no matter)
            os.utime(fd)
        return data
    finally:
        os.close(fd)


def prune(directory: Path, pattern: str, keep: int) -> None:
    """Keep the ``keep`` most recently used cache files matching ``pattern`` in ``directory``
    (each read marks its file used): detector sets come and go (every edit of a detector file
    makes new entries), and the cache must not grow without bound."""
    try:
        entries = sorted(((p.stat().st_mtime_ns, p) for p in directory.glob(pattern)), reverse=True)
    except OSError:
        return
    for _, old in entries[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


def write_private(path: Path, data: bytes, keep: int | None = None) -> None:
    """Store a cache file atomically, readable by this user only; a directory that is read-only,
    full or not ours only means nothing is cached. ``keep``: then :func:`prune` the files of the
    same kind (same name prefix and suffix) to that many."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        log.debug("not cached", extra={"fields": {"path": str(path), "error": str(exc)}})
        return
    if keep is not None:
        prune(path.parent, path.name.split("-", 1)[0] + "-*" + path.suffix if "-" in path.name else "*" + path.suffix,
              keep)


def _load(path: Path, mode: int) -> Any:
    import hyperscan

    data = read_trusted(path)
    if data is None:
        return None
    try:
        db = hyperscan.loadb(data, mode)
        db.scratch = hyperscan.Scratch(db)
    except hyperscan.error:
        log.info("rebuilding a corrupt compiled detector database", extra={"fields": {"path": str(path)}})
        return None
    return db


def compile_database(expressions: Sequence[bytes], flags: Sequence[int], *, mode: int | None = None,
                     cache: Path | bool | None = True) -> Any:
    """A block-mode Hyperscan database of ``expressions`` (ids 0..n-1), from the cache when it holds
    one for this key, else compiled (and stored). ``cache``: True for :func:`cache_dir`, a
    directory, or None/False for none. Raises ``hyperscan.error`` for an invalid expression."""
    import hyperscan

    mode = hyperscan.HS_MODE_BLOCK if mode is None else mode
    where = cache_dir() if cache is True else (cache or None)
    path = where / (database_key(expressions, flags, mode) + _SUFFIX) if isinstance(where, Path) else None
    if path is not None:
        db = _load(path, mode)
        if db is not None:
            return db
    db = hyperscan.Database(mode=mode)
    db.compile(expressions=list(expressions), ids=list(range(len(expressions))), elements=len(expressions),
               flags=list(flags))
    if path is not None:  # read-only, full, not ours: the compiled database still serves
        write_private(path, hyperscan.dumpb(db), keep=KEEP_DATABASES)
    return db


class JsonMemo:
    """Results of a pure, slow computation at load time (e.g. the static ReDoS bound of each
    pattern), remembered in one JSON file per ``version`` in the same cache directory and under the
    same rules: read only when trusted, rewritten atomically when new entries were computed, and
    nothing at all when the directory is absent or read-only."""

    def __init__(self, name: str, version: str, cache: Path | bool | None = True) -> None:
        where = cache_dir() if cache is True else (cache or None)
        digest = hashlib.sha256(version.encode()).hexdigest()[:32]
        self.path = where / f"{name}-{digest}.json" if isinstance(where, Path) else None
        self.values: dict[str, Any] = {}
        self.dirty = False
        if self.path is not None:
            self.values = self._read(self.path)

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        import json

        raw = read_trusted(path)
        try:
            data = json.loads(raw) if raw is not None else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        try:
            return self.values[key]
        except KeyError:
            value = self.values[key] = compute()
            self.dirty = True
            return value

    def save(self) -> None:
        import json

        if not self.dirty or self.path is None:
            return
        self.dirty = False
        write_private(self.path, json.dumps(self.values, separators=(",", ":")).encode())
