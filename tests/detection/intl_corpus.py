"""A seeded generator of labelled international-identifier cases, and their measurement.

Valid numbers are built by :mod:`icap_dlp.evaluate._intl` from each issuer's algorithm (the check
digits computed by that module's own code, not by the validators under test), then embedded in HR,
payroll, CRM and health records (prose, ``key: value`` lines, JSON) with context words in the local language or English.
Look-alikes of the same shape and length are built beside them: the same number with a wrong check
character in the same context, and in neutral text dates, phone numbers and order or invoice
numbers of the same length.

    PYTHONPATH=. python3 -m tests.detection.intl_corpus [--per-type N] [--seed S]

prints, per entity type, recall in context (the value reported under its own type) and look-alike
survival (no finding of this issue's detectors on a look-alike). ``test_international.py`` holds
the floors (recall >= 0.95, survival >= 0.99).
"""
from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass

from icap_dlp.evaluate._intl import INTL_FILES, KINDS, NEUTRAL, same_length_decoys, wrong_check


@dataclass(frozen=True)
class Case:
    entity_type: str
    text: str
    value: str
    sensitive: bool  # True: must be found under entity_type; False: a look-alike that must survive
    kind: str  # "in-context", "wrong-check", "same-length"


def cases(per_type: int = 40, seed: int = 17) -> list[Case]:
    rng = random.Random(seed)
    out: list[Case] = []
    for k in KINDS:
        for i in range(per_type):
            v = k.make(rng)
            template = k.contexts[i % len(k.contexts)]
            out.append(Case(k.entity_type, template.format(v=v), v, True, "in-context"))
            if k.checked:
                bad = wrong_check(rng, v, k.check_at)
                out.append(Case(k.entity_type, template.format(v=bad), bad, False, "wrong-check"))
            for decoy in k.lookalikes or same_length_decoys(rng, v):
                out.append(Case(k.entity_type, rng.choice(NEUTRAL).format(v=decoy), decoy, False, "same-length"))
    return out


@dataclass
class Tally:
    found: int = 0
    positives: int = 0
    survived: int = 0
    lookalikes: int = 0
    wrong_type: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.positives if self.positives else 1.0

    @property
    def survival(self) -> float:
        return self.survived / self.lookalikes if self.lookalikes else 1.0


def measure(per_type: int = 40, seed: int = 17) -> dict[str, Tally]:
    """Scan every case with the whole built-in library (overlaps resolved, as the server does)."""
    from icap_dlp.detection import Engine, load_library

    lib = load_library()
    engine = Engine(lib, [d.id for d in lib.detectors if d.kind == "regex"])
    intl = {c.id for c in lib.compiled.values() if c.file.rsplit("/", 1)[-1] in INTL_FILES}
    tallies: dict[str, Tally] = {k.entity_type: Tally() for k in KINDS}
    for case in cases(per_type, seed):
        t = tallies[case.entity_type]
        at = case.text.index(case.value)
        span = (at, at + len(case.value))
        hits = [f for f in engine.scan(case.text) if f.start < span[1] and span[0] < f.end]
        if case.sensitive:
            t.positives += 1
            mine = [f for f in hits if f.entity_type == case.entity_type]
            t.found += bool(mine) and all(f.entity_type == case.entity_type for f in hits if f.detector_id in intl)
            t.wrong_type += any(f.entity_type != case.entity_type and f.detector_id in intl for f in hits)
        else:
            t.lookalikes += 1
            t.survived += not any(f.detector_id in intl for f in hits)
    return tallies


def table(tallies: dict[str, Tally]) -> str:
    rows = ["| entity type | in context | recall | look-alikes | survival |", "|---|---:|---:|---:|---:|"]
    for et, t in tallies.items():
        rows.append(f"| `{et}` | {t.positives} | {t.recall:.3f} | {t.lookalikes} | {t.survival:.3f} |")
    tot = Tally(sum(t.found for t in tallies.values()), sum(t.positives for t in tallies.values()),
                sum(t.survived for t in tallies.values()), sum(t.lookalikes for t in tallies.values()))
    rows.append(f"| all | {tot.positives} | {tot.recall:.3f} | {tot.lookalikes} | {tot.survival:.3f} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-type", type=int, default=40)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tallies = measure(args.per_type, args.seed)
    if args.json:
        print(json.dumps({et: {"recall": round(t.recall, 4), "survival": round(t.survival, 4),
                               "positives": t.positives, "lookalikes": t.lookalikes} for et, t in tallies.items()}))
    else:
        print(table(tallies))


if __name__ == "__main__":
    main()
