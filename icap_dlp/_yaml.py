"""YAML loading that remembers where every value came from.

``load_yaml(text, file)`` returns a :class:`YamlDoc`: the plain Python data (dicts, lists, scalars)
plus a map from a path such as ``("detectors", 3, "patterns", 0)`` to its 1-based line. Validation
errors from pydantic or jsonschema carry such paths, so ``doc.line_of(path)`` turns them into
``file:line`` messages for policy authors.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icap_dlp.errors import ConfigError, ConfigErrors

if TYPE_CHECKING:
    import yaml

PathKey = tuple[str | int, ...]


@dataclass
class YamlDoc:
    data: Any
    file: str
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of the deepest known prefix of ``path`` (so a missing key points at its parent)."""
        p = tuple(path)
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p[:-1]

    def error(self, path: Sequence[str | int], message: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line_of(path), field=dotted(path))


def dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@functools.cache
def _loader() -> Any:
    """SafeLoader without implicit timestamps (a date stays the string the author wrote), on
    libyaml's parser (PyYAML built with it, as the wheels are): it composes nodes about 7x faster,
    and its nodes carry the same marks, so every value keeps its line. Built (and PyYAML imported)
    on the first parse: a start-up that finds its files parsed in a cache never needs it."""
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolvers = {k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
                 for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    return type("_Loader", (base,), {"__doc__": _loader.__doc__, "yaml_implicit_resolvers": resolvers})


def _walk(node: yaml.Node, loader: Any, path: PathKey, lines: dict[PathKey, int], file: str) -> Any:
    import yaml

    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if not isinstance(key, str | int | bool | float) or isinstance(key, bool):
                raise ConfigError(
                    "mapping keys must be strings", file=file, line=knode.start_mark.line + 1,
                    field=dotted(path),
                )
            key = str(key)
            if key in out:
                raise ConfigError(
                    f"duplicate key {key!r}", file=file, line=knode.start_mark.line + 1,
                    field=dotted((*path, key)),
                )
            out[key] = _walk(vnode, loader, (*path, key), lines, file)
            lines[(*path, key)] = knode.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(n, loader, (*path, i), lines, file) for i, n in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml(text: str, file: str) -> YamlDoc:
    """Parse one YAML document; syntax errors become :class:`ConfigError` with file and line."""
    import yaml

    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        lines: dict[PathKey, int] = {}
        data = None if node is None else _walk(node, loader, (), lines, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        msg = f"invalid YAML: {exc.problem or exc}"
        if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
            msg += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        raise ConfigError(msg, file=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from exc
    finally:
        loader.dispose()
    return YamlDoc(data=data, file=file, lines=lines)


def load_yaml_file(path: str | Path) -> YamlDoc:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(p)) from exc
    return load_yaml_bytes(data, str(p))


def load_yaml_bytes(data: bytes, file: str) -> YamlDoc:
    """:func:`load_yaml` of a file's bytes (already read), which must be UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc}", file=file) from exc
    return load_yaml(text, file)


def pydantic_errors(doc: YamlDoc, exc: Any, prefix: Sequence[str | int] = ()) -> ConfigErrors:
    """Turn a ``pydantic.ValidationError`` (or a list of its error dicts) into ConfigErrors that
    name file, line and field."""
    errors: list[ConfigError] = []
    for err in exc if isinstance(exc, list) else exc.errors(include_url=False):
        loc = [*prefix, *[p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]]
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not in the schema)"
        errors.append(doc.error(loc, msg))
    return ConfigErrors(errors)


def published_schema(model: Any, name: str, title: str) -> dict[str, Any]:
    """The JSON Schema published under ``schemas/`` for a strict pydantic model."""
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://icap-dlp.dev/schemas/{name}.schema.json"
    schema["title"] = title
    return schema
