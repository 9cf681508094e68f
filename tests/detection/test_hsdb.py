"""The compiled-database cache, anchor errors at their YAML line, and ``scan``'s line numbers."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.detection import Engine, load_library
from icap_dlp.detection._cli import line_starts
from icap_dlp.detection._hsdb import CACHE_ENV, cache_dir, compile_database, database_key
from icap_dlp.errors import ConfigErrors

hyperscan = pytest.importorskip("hyperscan")
REPO = Path(__file__).resolve().parents[2]
EXPRS = [b"akia[a-z2-7]{16}", b"\\d{4}[ \\-]?\\d{4}", b"password"]
FLAGS = [hyperscan.HS_FLAG_CASELESS] * 3


def _matches(db: object, data: bytes) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    db.scan(data, match_event_handler=lambda i, s, e, f, c: out.append((i, e)))  # type: ignore[attr-defined]
    return out


def test_cached_database_is_stored_then_loaded(tmp_path: Path) -> None:
    data = b"key AKIAIOSFODNN7EXAMPLE card 4111 1111 password="
    fresh = compile_database(EXPRS, FLAGS, cache=tmp_path)
    files = list(tmp_path.glob("*.hsdb"))
    assert [f.name for f in files] == [database_key(EXPRS, FLAGS, hyperscan.HS_MODE_BLOCK) + ".hsdb"]
    assert files[0].stat().st_mode & 0o077 == 0
    before = files[0].stat().st_ino
    loaded = compile_database(EXPRS, FLAGS, cache=tmp_path)
    assert files[0].stat().st_ino == before  # read, not rewritten (a write replaces the file)
    assert _matches(loaded, data) == _matches(fresh, data) != []


def test_stale_corrupt_and_foreign_entries_are_rebuilt(tmp_path: Path) -> None:
    compile_database(EXPRS, FLAGS, cache=tmp_path)
    (path,) = tmp_path.glob("*.hsdb")
    # Another detector set: another key, the old entry is not read.
    compile_database(EXPRS[:2], FLAGS[:2], cache=tmp_path)
    assert len(list(tmp_path.glob("*.hsdb"))) == 2
    path.write_bytes(b"not a database" * 20)
    db = compile_database(EXPRS, FLAGS, cache=tmp_path)
    assert _matches(db, b"password") == [(2, 8)]
    assert path.read_bytes() != b"not a database" * 20  # replaced by a good one
    # A world-writable entry could have been planted: ignored and replaced.
    path.write_bytes(b"x" * 64)
    path.chmod(0o666)
    db = compile_database(EXPRS, FLAGS, cache=tmp_path)
    assert _matches(db, b"password") == [(2, 8)]
    assert path.stat().st_mode & 0o077 == 0


def test_absent_or_unwritable_cache_still_compiles(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory would be")
    db = compile_database(EXPRS, FLAGS, cache=blocker / "cache")
    assert _matches(db, b"password") == [(2, 8)]
    assert _matches(compile_database(EXPRS, FLAGS, cache=None), b"password") == [(2, 8)]


def test_cache_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.setenv(CACHE_ENV, "")
    assert cache_dir() is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "icap-dlp"


def test_database_key_depends_on_every_expression_flag_and_mode() -> None:
    base = database_key(EXPRS, FLAGS, hyperscan.HS_MODE_BLOCK)
    assert database_key(EXPRS, FLAGS, hyperscan.HS_MODE_BLOCK) == base
    assert database_key([*EXPRS[:2], b"passwd"], FLAGS, hyperscan.HS_MODE_BLOCK) != base
    assert database_key(EXPRS, [*FLAGS[:2], 0], hyperscan.HS_MODE_BLOCK) != base
    assert database_key(EXPRS, FLAGS, hyperscan.HS_MODE_STREAM) != base
    assert database_key([b"ab", b"c"], [0, 0], 1) != database_key([b"a", b"bc"], [0, 0], 1)


def test_engine_findings_same_with_a_cached_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = "card 4111 1111 1111 1111, AKIAIOSFODNN7EXAMPLE, bob@example.com, 010-1234-5678\n" * 20
    monkeypatch.setenv(CACHE_ENV, "")
    want = Engine(load_library()).scan(text)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    Engine(load_library()).scan(text)  # fills the cache
    assert len(list(tmp_path.glob("*.hsdb"))) == 2  # the library's anchors, the engine's prefilter
    assert Engine(load_library()).scan(text) == want


def test_invalid_anchor_named_at_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    f = tmp_path / "d.yaml"
    det = """  - id: {id}
    description: demo
    entity_type: DEMO
    category: pii
    anchor: '{anchor}'
    patterns:
      - regex: 'demo-\\d+'
    examples:
      match: ['demo-1']
      no_match: ['demo']
"""
    f.write_text("version: 1\ndetectors:\n" + det.format(id="good", anchor="demo-")
                 + det.format(id="bad", anchor="demo(-"))
    with pytest.raises(ConfigErrors) as exc:
        load_library([f])
    (err,) = exc.value.errors
    assert err.file == str(f) and err.line == 17 and err.field == "detectors[1].anchor"
    assert "invalid anchor" in str(err)


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("ab\n"), max_size=40), st.data())
def test_line_starts_give_the_line_and_column_of_every_offset(text: str, data: st.DataObject) -> None:
    import bisect

    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    starts = line_starts(text)
    line = bisect.bisect_right(starts, at)
    assert line == text.count("\n", 0, at) + 1
    assert at - starts[line - 1] == at - (text.rfind("\n", 0, at) + 1)


def test_scan_command_twice_with_a_cache(tmp_path: Path) -> None:
    """The second run reads the databases the first stored, and prints the same findings."""
    text = tmp_path / "in.txt"
    text.write_text("line one\nline two holds 4111 1111 1111 1111\n\nand bob@example.com on line four\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), CACHE_ENV: str(tmp_path / "cache")}
    outs = []
    for _ in range(2):
        r = subprocess.run([sys.executable, "-m", "icap_dlp", "scan", "--json", str(text)], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1]
    assert '"location": "2:16"' in outs[0] and '"location": "4:5"' in outs[0]
    assert len(list((tmp_path / "cache").glob("*.hsdb"))) == 2


def test_fast_window_results_are_remembered_and_never_trusted_blindly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv(CACHE_ENV, "")
    want = {(c.id, p.name): p.fast_window for c in load_library().compiled.values() for p in c.patterns}
    needs = {(c.id, p.name): p.needs for c in load_library().compiled.values() for p in c.patterns}
    assert any(needs.values())
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    load_library()
    (memo,) = tmp_path.glob("fast-window-*.json")
    distinct = {(p.regex, tuple(p.flags)) for d in load_library().detectors for p in d.patterns}
    # one fast_window and one required_literals entry per distinct pattern
    assert len(json.loads(memo.read_text())) == 2 * len(distinct)
    got = {(c.id, p.name): p.fast_window for c in load_library().compiled.values() for p in c.patterns}
    assert got == want
    assert {(c.id, p.name): p.needs for c in load_library().compiled.values() for p in c.patterns} == needs
    # A value out of range (or not a number) means "always with the timeout", never "never"; a
    # damaged gate entry is computed again (a wrong gate would skip a pattern that can match).
    memo.write_text(json.dumps({k: 10**9 if i % 2 else "x" for i, k in enumerate(json.loads(memo.read_text()))}))
    memo.chmod(0o600)
    assert all(p.fast_window == 0 for c in load_library().compiled.values() for p in c.patterns)
    assert {(c.id, p.name): p.needs for c in load_library().compiled.values() for p in c.patterns} == needs
    # World-writable: ignored, recomputed and replaced.
    memo.chmod(0o666)
    got = {(c.id, p.name): p.fast_window for c in load_library().compiled.values() for p in c.patterns}
    assert got == want and memo.stat().st_mode & 0o077 == 0


def _same(a: object, b: object) -> None:
    from icap_dlp.detection._engine import DetectorLibrary

    assert isinstance(a, DetectorLibrary) and isinstance(b, DetectorLibrary)
    assert a.fingerprint == b.fingerprint and a.files == b.files and a.detectors == b.detectors
    assert [(c.id, c.file, c.line, [(p.source, p.flags, p.fast_window) for p in c.patterns])
            for c in a.compiled.values()] == \
        [(c.id, c.file, c.line, [(p.source, p.flags, p.fast_window) for p in c.patterns])
         for c in b.compiled.values()]


def _counted(calls: list[str], real: Any, data: bytes, file: str) -> Any:
    calls.append(file)
    return real(data, file)


def test_parsed_detector_files_are_cached_and_never_trusted_blindly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import icap_dlp.detection._engine as E

    monkeypatch.setenv(CACHE_ENV, "")
    want = load_library()
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    _same(load_library(), want)  # parsed, validated and stored
    (entry,) = tmp_path.glob("detectors-*.pickle")
    assert entry.stat().st_mode & 0o077 == 0

    def no_parse(*_: object) -> None:
        raise AssertionError("parsed although cached")

    with monkeypatch.context() as m:
        m.setattr(E, "load_yaml_bytes", no_parse)
        _same(load_library(), want)  # from the cache: no YAML, no schema validation
    # Corrupt, foreign-writable or of another shape: parsed again, as without a cache.
    for damage in ("corrupt", "writable", "shape"):
        if damage == "corrupt":
            entry.write_bytes(b"\x80\x05not a pickle")
        elif damage == "writable":
            entry.chmod(0o666)
        else:
            import pickle

            entry.write_bytes(pickle.dumps([("not", "a", "parse")]))
        calls: list[str] = []
        with monkeypatch.context() as m:
            m.setattr(E, "load_yaml_bytes", functools.partial(_counted, calls, E.load_yaml_bytes))
            _same(load_library(), want)
        assert len(calls) == len(want.files), damage
        assert entry.stat().st_mode & 0o077 == 0  # replaced by a good entry of ours


def test_a_changed_detector_file_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    from tests.detection.test_library import GOOD as body

    f = tmp_path / "d.yaml"
    f.write_text(body)
    assert [f.detector_id for f in Engine(load_library([f])).scan("a demo-12")] == ["demo"]
    f.write_text(body.replace("demo-", "test-").replace("id: demo", "id: test"))
    assert [f.detector_id for f in Engine(load_library([f])).scan("a demo-12 test-3")] == ["test"]
    f.write_text(body.replace("category: pii", "category: [pii"))  # broken: never cached, always named
    for _ in range(2):
        with pytest.raises(ConfigErrors) as exc:
            load_library([f])
        assert "d.yaml:7:" in str(exc.value) and "starts at line 6" in str(exc.value)


def test_pattern_shapes_and_anchor_widths_are_remembered_and_never_trusted_blindly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from icap_dlp.detection._engine import anchor_width

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    lib = load_library()
    (memo,) = tmp_path.glob("regex-shape-*.json")
    want = {c.id: anchor_width(c.spec.anchor) if c.spec.anchor else None for c in lib.compiled.values()}
    assert {c.id: c.anchor_width for c in lib.compiled.values()} == want
    assert {c.id: c.anchor_width for c in load_library().compiled.values()} == want  # from the memo
    # Damaged entries (of the wrong type or shape) are recomputed. (A well-formed false entry could
    # only be written by this user, who can edit the detector files as well.)
    values = json.loads(memo.read_text())
    memo.write_text(json.dumps({k: ("x" if i % 3 == 0 else [None, "g"] if i % 3 == 1 else -7)
                                for i, k in enumerate(values)}))
    again = load_library()
    assert {c.id: c.anchor_width for c in again.compiled.values()} == want
    f = tmp_path / "d.yaml"
    f.write_text("version: 1\ndetectors:\n  - id: demo\n    description: d\n    entity_type: DEMO\n"
                 "    category: pii\n    patterns:\n      - regex: 'demo-(\\d+)'\n        group: 2\n"
                 "    examples:\n      match: ['demo-1']\n      no_match: ['demo']\n")
    for _ in range(2):  # the second time from the memo: still refused
        with pytest.raises(ConfigErrors, match="only 1 groups"):
            load_library([f])


def test_the_cache_keeps_the_most_recently_used_databases(tmp_path: Path) -> None:
    from icap_dlp.detection._hsdb import KEEP_DATABASES

    compile_database(EXPRS, FLAGS, cache=tmp_path)
    (used,) = tmp_path.glob("*.hsdb")
    os.utime(used, ns=(0, 0))  # the oldest of all ...
    fakes = []
    for i in range(1, KEEP_DATABASES + 1):
        fake = tmp_path / f"{i:064x}.hsdb"
        fake.write_bytes(b"x")
        os.utime(fake, ns=(i * 10**9, i * 10**9))
        fakes.append(fake)
    compile_database(EXPRS, FLAGS, cache=tmp_path)  # ... until read: now the most recently used
    compile_database(EXPRS[:1], FLAGS[:1], cache=tmp_path)  # a new entry: the cache is pruned
    left = set(tmp_path.glob("*.hsdb"))
    assert len(left) == KEEP_DATABASES
    assert used in left and not fakes[0].exists() and not fakes[1].exists() and fakes[2] in left


def test_yaml_keeps_dates_as_written_and_lines_without_pyyaml_at_import() -> None:
    """PyYAML is imported on the first parse only; the loader it builds reads a date as the string
    the author wrote and maps every value to its line."""
    code = ("import sys; import icap_dlp._yaml as Y; assert 'yaml' not in sys.modules; "
            "d = Y.load_yaml('a: 2026-11-27\\nb:\\n  - 1\\n  - x\\n', 'f'); "
            "assert d.data == {'a': '2026-11-27', 'b': [1, 'x']}, d.data; "
            "assert d.line_of(('b', 1)) == 4 and d.line_of(('a',)) == 1; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)},
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "ok", r.stderr


def test_a_warm_scan_imports_no_yaml_nor_ner_nor_phone_library(tmp_path: Path) -> None:
    """What a warm ``icap-dlp scan`` of a file without phone numbers leaves out of its start-up:
    PyYAML (the parsed files come from the cache), the NER adapter and spaCy, libphonenumber; and
    it compiles only the patterns the text needs."""
    text = tmp_path / "in.txt"
    text.write_text("mail bob@example.com\n")
    code = ("import sys, io, contextlib; from icap_dlp.cli import main; out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out): main(['scan', sys.argv[1]])\n"
            "print(sorted(m for m in ('yaml', 'icap_dlp.detection._ner', 'spacy', 'phonenumbers') "
            "if m in sys.modules)); print(out.getvalue().count('email'))")
    env = {**os.environ, "PYTHONPATH": str(REPO), CACHE_ENV: str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code, str(text)], env=env, capture_output=True, text=True,
                           timeout=120) for _ in range(2)]
    assert runs[0].returncode == 0 and runs[1].returncode == 0, runs[0].stderr + runs[1].stderr
    assert runs[0].stdout.split("\n")[:2] == ["['yaml']", "1"]  # cold: the files are parsed
    assert runs[1].stdout.split("\n")[:2] == ["[]", "1"]


def test_one_engine_scans_in_two_threads_at_once() -> None:
    """The server scans on its event loop and on its inspection thread at the same time (a large
    body beside small ones): Hyperscan's scratch space must not be shared by two scans in
    progress, or one of them fails (python-hyperscan: ScratchInUseError) and its message is
    answered by the failure policy instead of being inspected."""
    import random
    import threading

    engine = Engine(load_library())
    rng = random.Random(5)
    # dense digits: thousands of anchor hits, so each scan spends long in Python callbacks,
    # where the interpreter switches threads
    texts = [" ".join(str(rng.randrange(10**14, 10**15)) for _ in range(3000)) + f" mail u{k}@example.com"
             for k in range(2)]
    want = [engine.scan(t) for t in texts]
    errors: list[BaseException] = []
    got: list[list[list[object]]] = [[], []]

    def run(k: int) -> None:
        try:
            for _ in range(6):
                got[k].append(engine.scan(texts[k]))  # type: ignore[arg-type]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert all(g == [want[k]] * 6 for k, g in enumerate(got))
