"""Detector file schema (version 1). Strict: unknown keys are errors.

``schemas/detectors.schema.json`` is generated from these models
(``python -m icap_dlp.detection._schema > schemas/detectors.schema.json``); a test keeps it current.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from icap_dlp._yaml import published_schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Pattern(_Strict):
    name: str = "main"
    regex: str
    score: float | None = Field(None, ge=0, le=1, description="overrides the detector's base score")
    group: int | str = Field(0, description="regex group that holds the sensitive value")
    flags: list[Literal["ignorecase", "multiline", "dotall"]] = Field(default_factory=list)
    context_required: bool = Field(
        False, description="this pattern's matches count only with a context word near them or in their "
                           "structure label (JSON key, CSV header, key= label): for bare forms such as 9 digits")
    shorter_on_invalid: bool = Field(
        False, description="when the validator rejects a match, try it again without its last space-separated "
                           "part(s) (an IBAN followed by a currency code)")


class ValidatorRef(_Strict):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    unknown_score: float | None = Field(
        None, ge=0, le=1, description="score of a match the validator can neither confirm nor reject "
                                      "(default: the pattern's score)")


class Context(_Strict):
    words: list[str] = Field(min_length=1)
    window: int = Field(48, ge=1, le=512, description="characters before and after the value")
    boost: float = Field(0.2, ge=0, le=1)
    required: bool = Field(False, description="report only when a context word is near (or in the structure label)")


class Allow(_Strict):
    values: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)


class Examples(_Strict):
    match: list[str] = Field(min_length=1, description="texts the detector must find something in")
    no_match: list[str] = Field(min_length=1, description="texts it must find nothing in")


Severity = Literal["low", "medium", "high", "critical"]


class Detector(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str
    entity_type: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    category: str = Field(pattern=r"^[a-z][a-z-]*$")
    severity: Severity = "medium"
    kind: Literal["regex", "ner"] = "regex"
    ner_label: str | None = Field(None, description="spaCy label for kind: ner (PERSON, GPE, ORG, NORP ...)")
    keywords: list[str] = Field(default_factory=list, description="literal, case-insensitive prefilter")
    min_digits: int | None = Field(None, ge=1, le=32, description="prefilter: a run of this many digits")
    anchor: str | None = Field(
        None, description="a cheap regex (Hyperscan syntax, case-insensitive) every match must contain: "
                          "with Hyperscan installed the patterns only run in windows around its matches")
    anchor_window: int = Field(160, ge=8, le=4096, description="characters around an anchor match to scan")
    patterns: list[Pattern] = Field(default_factory=list)
    validator: ValidatorRef | None = None
    context: Context | None = None
    score: float = Field(0.6, ge=0, le=1)
    allow: Allow | None = None
    locales: list[str] = Field(default_factory=list)
    examples: Examples

    @field_validator("validator", mode="before")
    @classmethod
    def _short_validator(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _kind(self) -> Detector:
        if self.kind == "regex" and not self.patterns:
            raise ValueError("a regex detector needs at least one pattern")
        if self.kind == "ner" and not self.ner_label:
            raise ValueError("an ner detector needs ner_label")
        return self


class DetectorFile(_Strict):
    version: Literal[1]
    detectors: list[Detector] = Field(min_length=1)


def json_schema() -> dict[str, Any]:
    return published_schema(DetectorFile, "detectors", "icap-dlp detector file")


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
