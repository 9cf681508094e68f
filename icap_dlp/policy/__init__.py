"""Policy language: schema, loader with line numbers, pure evaluator."""

from icap_dlp.policy._policy import (
    FAILURE_REASONS,
    CompiledRule,
    Decision,
    LoadedTest,
    Located,
    Policy,
    PolicyTexts,
    compile_policy,
    load_policy_docs,
    read_policy_texts,
)
from icap_dlp.policy._schema import GlobalSettings, Identity, Jwt, Operator, PolicyFile, json_schema

__all__ = [
    "FAILURE_REASONS",
    "CompiledRule",
    "Decision",
    "GlobalSettings",
    "Identity",
    "Jwt",
    "LoadedTest",
    "Located",
    "Operator",
    "Policy",
    "PolicyFile",
    "PolicyTexts",
    "compile_policy",
    "json_schema",
    "load_policy_docs",
    "read_policy_texts",
]
