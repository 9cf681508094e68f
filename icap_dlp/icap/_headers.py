"""Case-insensitive, order-preserving header lists (ICAP and encapsulated HTTP)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Headers:
    """An ordered multi-map of header fields; lookups ignore case, order and duplicates are kept."""

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)
        self._index: dict[str, list[str]] | None = None  # lower-cased name -> values, built on first lookup

    def _lookup(self) -> dict[str, list[str]]:
        index = self._index
        if index is None:
            index = {}
            for k, v in self._items:
                index.setdefault(k.lower(), []).append(v)
            self._index = index
        return index

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._lookup().get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return list(self._lookup().get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def set(self, name: str, value: str) -> None:
        """Replace every field called ``name`` by one with ``value`` (appended if absent)."""
        lname = name.lower()
        out: list[tuple[str, str]] = []
        done = False
        for k, v in self._items:
            if k.lower() == lname:
                if not done:
                    out.append((k, value))
                    done = True
            else:
                out.append((k, v))
        if not done:
            out.append((name, value))
        self._items = out
        self._index = None

    def remove(self, name: str) -> None:
        lname = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != lname]
        self._index = None

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))
        self._index = None

    def copy(self) -> Headers:
        return Headers(self._items)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def encode(self) -> bytes:
        return "".join([f"{k}: {v}\r\n" for k, v in self._items]).encode("latin-1", "replace")

    def tokens(self, name: str) -> list[str]:
        """Comma-separated tokens of every ``name`` field, lower-cased and stripped."""
        out: list[str] = []
        for v in self.get_all(name):
            out.extend(t.strip().lower() for t in v.split(",") if t.strip())
        return out
