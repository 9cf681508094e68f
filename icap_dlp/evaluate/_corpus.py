"""The labelled corpus format (JSON Lines, one case per line).

```json
{"id": "crm-json-0003", "template": "crm-json", "split": "tuning", "direction": "respmod",
 "content_type": "application/json", "content_encoding": "gzip",
 "body_b64": "H4sI...",                       # or "body": "..." (UTF-8) when there is no encoding
 "sensitive": [{"type": "PHONE_NUMBER", "value": "305.787.7211"}],
 "lookalikes": [{"type": "order-number", "value": "123456782"}]}
```

Labels are values, not offsets: a sensitive value counts as removed when it no longer appears in
the decoded output (the body's text and every string of its JSON, SSE events included); a
look-alike counts as destroyed when it no longer appears. A value that should not be judged in a
case is simply not labelled.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from icap_dlp.errors import ConfigError


@dataclass(frozen=True)
class Label:
    type: str  # an entity type for sensitive values (PHONE_NUMBER), a kind for look-alikes (uuid)
    value: str


@dataclass(frozen=True)
class Case:
    id: str
    body: bytes
    content_type: str = "application/json"
    content_encoding: str | None = None
    direction: str = "respmod"
    template: str = ""
    split: str = ""
    sensitive: tuple[Label, ...] = ()
    lookalikes: tuple[Label, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "template": self.template, "split": self.split,
                                  "direction": self.direction, "content_type": self.content_type}
        if self.content_encoding:
            out["content_encoding"] = self.content_encoding
            out["body_b64"] = base64.b64encode(self.body).decode()
        else:
            out["body"] = self.body.decode("utf-8")
        out["sensitive"] = [{"type": x.type, "value": x.value} for x in self.sensitive]
        out["lookalikes"] = [{"type": x.type, "value": x.value} for x in self.lookalikes]
        return out


def _labels(obj: object, where: str) -> tuple[Label, ...]:
    if obj is None:
        return ()
    if not isinstance(obj, list):
        raise ValueError(f"{where}: a list of {{type, value}}")
    out = []
    for i, x in enumerate(obj):
        if not isinstance(x, dict) or not isinstance(x.get("type"), str) or not isinstance(x.get("value"), str) \
                or not x["value"]:
            raise ValueError(f"{where}[{i}]: needs a string 'type' and a non-empty string 'value'")
        out.append(Label(x["type"], x["value"]))
    return tuple(out)


def parse_case(obj: object) -> Case:
    if not isinstance(obj, dict):
        raise ValueError("a case is a JSON object")
    unknown = set(obj) - {"id", "template", "split", "direction", "content_type", "content_encoding", "body",
                          "body_b64", "sensitive", "lookalikes", "note"}
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}")
    if ("body" in obj) == ("body_b64" in obj):
        raise ValueError("exactly one of 'body' and 'body_b64'")
    body = obj["body"].encode() if "body" in obj else base64.b64decode(obj["body_b64"], validate=True)
    direction = obj.get("direction", "respmod")
    if direction not in ("respmod", "reqmod"):
        raise ValueError("direction: respmod or reqmod")
    return Case(id=str(obj.get("id", "")), body=body, content_type=obj.get("content_type", "application/json"),
                content_encoding=obj.get("content_encoding"), direction=direction,
                template=str(obj.get("template", "")), split=str(obj.get("split", "")),
                sensitive=_labels(obj.get("sensitive"), "sensitive"),
                lookalikes=_labels(obj.get("lookalikes"), "lookalikes"))


def load_corpus(path: str | Path) -> list[Case]:
    """Every ``*.jsonl`` case of a file or a folder; errors name the file and line."""
    p = Path(path)
    files = sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise ConfigError("no such corpus file or folder (JSON Lines, *.jsonl)", file=str(p))
    cases = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                cases.append(parse_case(json.loads(line)))
            except (ValueError, TypeError, KeyError) as exc:
                raise ConfigError(str(exc), file=str(f), line=n) from exc
    return cases


def dump_cases(cases: Iterable[Case], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for c in cases:
            out.write(json.dumps(c.to_json(), ensure_ascii=False) + "\n")
