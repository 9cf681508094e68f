"""Policy language: schema, loader with line numbers, pure evaluator."""

from icap_dlp.policy._policy import (
    FAILURE_REASONS,
    CompiledRule,
    Decision,
    LoadedTest,
    Located,
    Policy,
    compile_policy,
    load_policy_docs,
)
from icap_dlp.policy._schema import GlobalSettings, Operator, PolicyFile, json_schema

__all__ = [
    "FAILURE_REASONS",
    "CompiledRule",
    "Decision",
    "GlobalSettings",
    "LoadedTest",
    "Located",
    "Operator",
    "Policy",
    "PolicyFile",
    "compile_policy",
    "json_schema",
    "load_policy_docs",
]
