"""Loading a policy (file or folder) and evaluating it: context + findings -> Decision.

Evaluation is pure. All matching rules are evaluated; the strictest action wins
(block > redact > monitor > allow) and the decision records every rule that contributed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from icap_dlp._yaml import YamlDoc, load_yaml, pydantic_errors
from icap_dlp.errors import ConfigError, ConfigErrors
from icap_dlp.model import Action, Finding, RequestContext
from icap_dlp.policy._conditions import (
    CompiledExceptions,
    Predicate,
    compile_condition,
    compile_exceptions,
)
from icap_dlp.policy._schema import (
    Condition,
    Failure,
    GlobalSettings,
    Operator,
    PolicyFile,
    PolicyTest,
    Redaction,
    Rule,
)

FAILURE_REASONS = ("oversize", "undecodable", "timeout", "internal")


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    file: str
    line: int | None
    when: Predicate
    detectors: frozenset[str] | None  # None: the rule has no detect block
    exceptions: CompiledExceptions
    redaction: Redaction | None

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def action(self) -> Action:
        return Action(self.rule.action)


@dataclass(frozen=True)
class _RulePlan:
    """What :meth:`Policy.evaluate` reads of an enabled rule, looked up once per policy version."""

    rule: CompiledRule
    min_score: float
    min_count: int
    per_detector: int | None
    total_asked: bool  # min_count applies (asked for, or no per-detector threshold)
    exempt: Callable[[str], bool] | None  # None: the rule exempts no value

    @classmethod
    def of(cls, r: CompiledRule) -> _RulePlan:
        det = r.rule.detect
        exc = r.exceptions
        exempt = exc.value_exempt if exc.values or exc.patterns else None
        if det is None:
            return cls(r, 0.0, 1, None, True, exempt)
        per = det.min_count_per_detector
        return cls(r, det.min_score, det.min_count, per, "min_count" in det.model_fields_set or per is None, exempt)


@dataclass
class Located:
    """A finding and the index of the text segment it was found in."""

    segment: int
    finding: Finding


@dataclass
class Decision:
    action: Action  # what is done (allow in monitor mode)
    intended: Action  # what the policy asks for
    mode: str
    rules: list[str] = field(default_factory=list)
    findings: list[Located] = field(default_factory=list)  # everything any triggered rule selected
    redactions: list[tuple[Located, Operator]] = field(default_factory=list)
    failure: str | None = None


@dataclass
class LoadedTest:
    test: PolicyTest
    file: str
    line: int | None


class Policy:
    """A compiled, immutable policy version. Swapped whole on reload."""

    def __init__(self, name: str, files: list[str], settings: GlobalSettings, rules: list[CompiledRule],
                 detector_ids: frozenset[str], detector_paths: list[str], content_hash: str,
                 tests: list[LoadedTest]) -> None:
        self.name = name
        self.files = files
        self.settings = settings
        self.rules = rules
        self.detector_ids = detector_ids
        self.detector_paths = detector_paths
        self.content_hash = content_hash
        self.tests = tests
        self._plans = [_RulePlan.of(r) for r in rules if r.rule.enabled]

    @property
    def version(self) -> str:
        return self.content_hash[:12]

    def operator_for(self, rule: CompiledRule, entity_type: str) -> Operator:
        """Rule's operator for the entity, else the rule's default, else the global ones."""
        if rule.redaction is not None:
            if entity_type in rule.redaction.entities:
                return rule.redaction.entities[entity_type]
            if "default" in rule.redaction.model_fields_set:
                return rule.redaction.default
        return self.global_operator(entity_type)

    def global_operator(self, entity_type: str) -> Operator:
        """The policy's own operator for the entity (``settings.redaction``), else its default."""
        glob = self.settings.redaction
        return glob.entities.get(entity_type, glob.default)

    def failure_mode(self, reason: str, ctx: RequestContext | None, default: str) -> str:
        """``open`` or ``closed`` for a failure: the strictest of matching rules, else global."""
        modes = []
        for r in self.rules:
            if r.rule.failure and (ctx is None or r.when(ctx, True)):
                m = getattr(r.rule.failure, reason, None)
                if m:
                    modes.append(m)
        if modes:
            return "closed" if "closed" in modes else "open"
        glob = getattr(self.settings.failure, reason, None)
        return glob or default

    def could_apply(self, ctx: RequestContext) -> bool:
        """From headers alone: might any rule act on this message's body?"""
        return any(r.rule.enabled and (r.detectors is not None or r.action is not Action.ALLOW)
                   and r.when(ctx, True) for r in self.rules)

    def evaluate(self, ctx: RequestContext, findings: Sequence[Sequence[Finding]],
                 values: Sequence[str], tally: Counter[str] | None = None) -> Decision:
        """``findings[i]`` are the findings in segment ``i`` whose text is ``values[i]``.

        ``tally`` carries counts across the messages of one stream (SSE events): a rule's
        ``min_count`` / ``min_count_per_detector`` then counts what it selected in earlier events
        too, so a dump split into many small events still trips it (on the event that reaches the
        threshold and every later event with a match: earlier events are already delivered).
        The tally is updated in place.
        """
        located = [Located(i, f) for i, fs in enumerate(findings) for f in fs]
        # The detectors that found anything: a rule selecting none of them selects nothing, so
        # its conditions are not even evaluated (most messages: every detect rule).
        present = {lf.finding.detector_id for lf in located}
        triggered: list[tuple[CompiledRule, list[Located]]] = []
        for plan in self._plans:
            r = plan.rule
            detectors = r.detectors
            if detectors is not None and detectors.isdisjoint(present):
                continue
            if not r.when(ctx, False) or r.exceptions.context(ctx):
                continue
            if detectors is None:
                triggered.append((r, []))
                continue
            min_score = plan.min_score
            sel = [lf for lf in located
                   if lf.finding.detector_id in detectors and lf.finding.score >= min_score]
            if plan.exempt is not None:
                exempt = plan.exempt
                sel = [lf for lf in sel if not exempt(values[lf.segment][lf.finding.start:lf.finding.end])]
            if not sel:
                continue
            per_detector = plan.per_detector
            before = 0
            if tally is not None or per_detector is not None:
                per = Counter(lf.finding.detector_id for lf in sel)
                if tally is not None:
                    before = tally[r.id]
                    tally[r.id] += len(sel)
                    for d, n in per.items():
                        per[d] += tally[f"{r.id}\0{d}"]
                        tally[f"{r.id}\0{d}"] += n
            hit = plan.total_asked and before + len(sel) >= plan.min_count
            if per_detector is not None:
                hit = hit or max(per.values()) >= per_detector
            if hit:
                triggered.append((r, sel))
        intended = Action.strictest([r.action for r, _ in triggered])
        decision = Decision(action=intended, intended=intended, mode=self.settings.mode)
        decision.rules = [r.id for r, _ in triggered]
        seen: set[tuple[int, int, int]] = set()
        for _r, sel in triggered:
            for lf in sel:
                key = (lf.segment, lf.finding.start, lf.finding.end)
                if key not in seen:
                    seen.add(key)
                    decision.findings.append(lf)
        if intended is Action.REDACT:
            done: set[tuple[int, int, int]] = set()
            for r, sel in triggered:
                if r.action is not Action.REDACT:
                    continue
                for lf in sel:
                    key = (lf.segment, lf.finding.start, lf.finding.end)
                    if key not in done:
                        done.add(key)
                        decision.redactions.append((lf, self.operator_for(r, lf.finding.entity_type)))
        if self.settings.mode == "monitor":
            decision.action = Action.ALLOW
        return decision


# -- loading ---------------------------------------------------------------------------------


def _policy_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise ConfigError("no *.yaml policy files in this folder", file=str(path))
        return files
    if not path.exists():
        raise ConfigError("no such file or folder", file=str(path))
    return [path]


PolicyTexts = dict[str, str]
"""A snapshot of a policy: file path -> its text, read once and shared by the master and workers."""


def read_policy_texts(path: str | Path) -> PolicyTexts:
    out: PolicyTexts = {}
    for p in _policy_files(Path(path)):
        try:
            out[str(p)] = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read: {exc}", file=str(p)) from exc
    return out


def load_policy_docs(path: str | Path, texts: PolicyTexts | None = None) -> list[tuple[YamlDoc, PolicyFile]]:
    out = []
    errors: list[ConfigError] = []
    texts = texts if texts is not None else read_policy_texts(path)
    for name, text in texts.items():
        doc = load_yaml(text, name)
        if not isinstance(doc.data, dict):
            errors.append(ConfigError("a policy file must be a mapping", file=doc.file, line=1))
            continue
        try:
            out.append((doc, PolicyFile.model_validate(doc.data)))
        except ValidationError as exc:
            errors.extend(pydantic_errors(doc, exc).errors)
    if errors:
        raise ConfigErrors(errors)
    return out


def compile_policy(path: str | Path, library_ids: frozenset[str], *,
                   library_lookup: dict[str, tuple[str, str]] | None = None,
                   library_hash: str = "", ner_ids: frozenset[str] = frozenset(),
                   texts: PolicyTexts | None = None) -> Policy:
    """Load and check a policy. ``library_lookup`` maps detector id -> (entity_type, category).

    Selecting by category never pulls in NER detectors (``ner_ids``): NER is costly, so a rule
    asks for it by detector id or entity type (PERSON, LOCATION ...).
    """
    texts = texts if texts is not None else read_policy_texts(path)
    docs = load_policy_docs(path, texts)
    lookup = library_lookup or {}
    errors: list[ConfigError] = []
    settings: GlobalSettings | None = None
    settings_file = ""
    rules: list[CompiledRule] = []
    seen_ids: dict[str, str] = {}
    tests: list[LoadedTest] = []
    detector_paths: list[str] = []
    hasher = hashlib.sha256(library_hash.encode())
    for doc, pf in docs:
        hasher.update(doc.file.encode() + b"\0" + texts[doc.file].encode())
        if pf.settings is not None:
            if settings is not None:
                errors.append(doc.error(("settings",), f"settings are already given in {settings_file}"))
            settings, settings_file = pf.settings, doc.file
        for d in pf.detectors:
            detector_paths.append(str((Path(doc.file).parent / d).resolve()))
        for i, rule in enumerate(pf.rules):
            path_ = ("rules", i)
            if rule.id in seen_ids:
                errors.append(doc.error((*path_, "id"),
                                        f"duplicate rule id {rule.id!r} (first in {seen_ids[rule.id]})"))
                continue
            seen_ids[rule.id] = doc.file
            try:
                rules.append(_compile_rule(rule, doc, path_, library_ids, lookup, ner_ids))
            except ConfigErrors as exc:
                errors.extend(exc.errors)
            except ConfigError as exc:
                errors.append(exc)
        for i, t in enumerate(pf.tests):
            tests.append(LoadedTest(t, doc.file, doc.line_of(("tests", i))))
    if errors:
        raise ConfigErrors(errors)
    ids: set[str] = set()
    for r in rules:
        if r.detectors and r.rule.enabled:
            ids |= r.detectors
    name = docs[0][1].name if len(docs) == 1 else ", ".join(pf.name for _, pf in docs)
    settings = settings or GlobalSettings()
    if settings.identity.required:
        if IDENTITY_RULE in seen_ids:
            raise ConfigError(f"rule id {IDENTITY_RULE!r} is reserved when identity.required is set",
                              file=seen_ids[IDENTITY_RULE])
        rules.append(identity_required_rule(settings, settings_file))
    return Policy(name, [d.file for d, _ in docs], settings, rules, frozenset(ids),
                  detector_paths, hasher.hexdigest(), tests)


IDENTITY_RULE = "identity-required"


def identity_required_rule(settings: GlobalSettings, file: str) -> CompiledRule:
    """``identity.required``: a request without a verified identity meets this built-in rule
    (``when: {authenticated: false}``, action ``identity.unauthenticated_action``), whatever the
    body holds; it shows in decisions and audit records under its id."""
    rule = Rule(id=IDENTITY_RULE, action=settings.identity.unauthenticated_action,
                description="identity.required: no verified identity",
                when=Condition(authenticated=False))
    return CompiledRule(rule, file, None, lambda ctx, partial: not ctx.authenticated, None,
                        CompiledExceptions(frozenset(), (), lambda ctx: False), None)


def _compile_rule(rule: Rule, doc: YamlDoc, path: tuple[str | int, ...], library_ids: frozenset[str],
                  lookup: dict[str, tuple[str, str]], ner_ids: frozenset[str] = frozenset()) -> CompiledRule:
    errors: list[ConfigError] = []
    detectors: frozenset[str] | None = None
    if rule.detect is not None:
        det = rule.detect
        chosen: set[str] = set()
        for j, d in enumerate(det.detectors or []):
            if d not in library_ids:
                errors.append(doc.error((*path, "detect", "detectors", j), f"unknown detector id {d!r}"))
            chosen.add(d)
        known_types = {t for t, _ in lookup.values()}
        known_cats = {c for _, c in lookup.values()}
        for j, t in enumerate(det.entity_types or []):
            if lookup and t not in known_types:
                errors.append(doc.error((*path, "detect", "entity_types", j), f"unknown entity type {t!r}"))
            chosen |= {i for i, (et, _) in lookup.items() if et == t}
        for j, c in enumerate(det.categories or []):
            if lookup and c not in known_cats:
                errors.append(doc.error((*path, "detect", "categories", j), f"unknown category {c!r}"))
            chosen |= {i for i, (_, cat) in lookup.items() if cat == c and i not in ner_ids}
        detectors = frozenset(chosen)
    if rule.action == "redact" and rule.detect is None:
        errors.append(doc.error((*path, "action"), "redact needs a detect block (what to redact)"))
    if errors:
        raise ConfigErrors(errors)
    return CompiledRule(
        rule=rule, file=doc.file, line=doc.line_of(path),
        when=compile_condition(rule.when, doc, (*path, "when")),
        detectors=detectors,
        exceptions=compile_exceptions(rule.exceptions, doc, (*path, "exceptions")),
        redaction=rule.redact,
    )


def merge_failure(base: Failure, override: Failure | None) -> Failure:
    if override is None:
        return base
    return Failure(**{k: getattr(override, k) or getattr(base, k) for k in FAILURE_REASONS})
