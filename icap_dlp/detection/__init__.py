"""Detection: detector files, validators, the regex engine and the NER adapter (text in, findings out)."""

from icap_dlp.detection._engine import (
    BUILTIN_DIR,
    CompiledDetector,
    DetectorLibrary,
    Engine,
    load_library,
    redos_risk,
    validated,
)
from icap_dlp.detection._engine import _resolve_overlaps as resolve_overlaps
from icap_dlp.detection._ner_config import NerConfig
from icap_dlp.detection._schema import Detector, DetectorFile, json_schema
from icap_dlp.detection._validators import REGISTRY as VALIDATORS
from icap_dlp.detection._validators import Verdict

__all__ = [
    "BUILTIN_DIR",
    "VALIDATORS",
    "CompiledDetector",
    "Detector",
    "DetectorFile",
    "DetectorLibrary",
    "Engine",
    "NerConfig",
    "Verdict",
    "json_schema",
    "load_library",
    "redos_risk",
    "resolve_overlaps",
    "validated",
]
