"""NER settings, apart from the NER adapter so that loading the engine does not import it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NerConfig:
    """How NER detectors run. ``model=None``: the first installed of ``_ner.DEFAULT_MODELS``."""

    model: str | None = None
    gate: bool = True
    context_chars: int = 32
    max_chars: int = 10_000  # per piece: also bounds how far one batch can overshoot the timeout
    batch_size: int = 64
    # Time budget of one call (one message, or one SSE event), in CPU seconds of the thread running
    # it (a busy event loop beside it does not eat the budget), checked between batches of at most
    # ``batch_chars`` characters; over it, InspectionError("timeout") and the failure policy answers.
    timeout: float = 2.0
    batch_chars: int = 20_000
