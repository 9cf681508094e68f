"""Context from a text's own structure: the label a value sits under.

A value's label counts as context like a word beside it (DESIGN: "context is structure"):
``phone=305.787.7211`` in a log line, ``305.787.7211`` in the ``phone`` column of a CSV or a
Markdown table, or in the ``<td>`` under ``<th>Phone</th>`` of an HTML table, scores like
``phone 305.787.7211``. Labels come from the text alone (JSON key paths come from the body model,
with the segment):

- ``key:`` / ``key=`` / ``key =>`` right before the value on its line (YAML, INI, ``.env``, logs,
  ``key=value`` pairs anywhere on a line);
- the header of the value's column in a delimited block (``,``, tab, ``;``, ``|``): the first line
  of the run of lines with as many delimiters as the value's line, if it does not look like data;
- HTML: the ``<th>`` of the value's column (or a ``<th>`` before it in its own row), the last
  ``<label>`` or ``<dt>`` shortly before it.

Everything is bounded: a line is looked at over its last 4 KiB, a label over 200 characters, and
the per-line work (the header of a delimited block) is computed once per text and line.
"""

from __future__ import annotations

import re

_MAX_LINE = 4096
_NEAR = 200
# `key:` `key=` `key =>` at the start of a line (the key may hold spaces: `Phone number:`), with an
# optional list marker, `export` or quote.
_LINE_KEY = re.compile(
    r"""^[ \t]*(?:[-*#>][ \t]*)?(?:export[ \t]+)?["']?([^\W\d][\w .\-/]{0,48}?)["']?[ \t]*(?:=>|[:=])[ \t]*["']?$""")
# `key=value` pairs in the middle of a line (logs): the key is one token.
_PAIR_KEY = re.compile(r"""(?<![\w.\-])([^\W\d][\w.\-]{0,48})["']?[ \t]*(?:=>|[:=])[ \t]*["']?$""")
_DELIMS = (",", "\t", ";", "|")
_DIGITS3 = re.compile(r"\d{3}")
_TAG = re.compile(r"<[^>]*>")
_TH = re.compile(r"<th\b[^>]*>(.*?)</th\s*>", re.IGNORECASE | re.DOTALL)
_CELL = re.compile(r"<t[dh]\b", re.IGNORECASE)
_LABEL = re.compile(r"<(label|dt)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)


class TextStructure:
    """Labels of one text, computed on first use and kept for the text's other values; ``key`` is
    the JSON key the whole text sits under (it labels every value in it)."""

    __slots__ = ("_first", "_html", "key", "text")

    def __init__(self, text: str, key: str = "") -> None:
        self.text = text
        self.key = key
        self._first: dict[tuple[int, str], int] = {}  # (line start, delimiter) -> start of its run
        self._html: bool | None = None

    def label(self, start: int, end: int) -> str:
        """The lower-cased labels of the value at [start, end), NUL-separated ('' if none)."""
        text = self.text
        floor = start - _MAX_LINE if start > _MAX_LINE else 0
        nl = text.rfind("\n", floor, start)
        line_start = nl + 1 if nl >= 0 else (0 if floor == 0 else -1)
        out = [self.key] if self.key else []
        prefix = text[max(line_start, start - 80):start]
        m = _LINE_KEY.match(prefix) if line_start >= 0 and start - line_start <= 80 else None
        m = m or _PAIR_KEY.search(prefix)
        if m:
            out.append(m.group(1))
        if line_start >= 0:
            header = self._column_header(line_start, start)
            if header:
                out.append(header)
        if self._html is None:
            self._html = "<td" in text or "<th" in text or "<label" in text or "<dt" in text
        if self._html:
            out.extend(self._html_labels(start))
        return "\0".join(out).lower()

    def _column_header(self, line_start: int, start: int) -> str | None:
        text = self.text
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        if line_end - line_start > _MAX_LINE:
            return None
        line = text[line_start:line_end]
        delim = max(_DELIMS, key=line.count)
        count = line.count(delim)
        if count == 0:
            return None
        header_line = self._header_line(line_start, line, delim, count)
        if header_line is None:
            return None
        col = text.count(delim, line_start, start)
        cells = header_line.split(delim)
        if col >= len(cells):
            return None
        cell = cells[col].strip().strip("\"'`*").strip()
        return cell or None

    def _header_line(self, line_start: int, line: str, delim: str, count: int) -> str | None:
        """The first line of the run of lines (ending with this one) that hold ``count`` delimiters,
        if it is not this line and does not look like data (no cell with 3 digits in a row)."""
        first = self._first_of_run(line_start, delim, count)
        if first == line_start:
            return None
        text = self.text
        end = text.find("\n", first)
        candidate = text[first:end if end >= 0 else len(text)]
        return candidate if candidate.strip() and not _DIGITS3.search(candidate) else None

    def _first_of_run(self, line_start: int, delim: str, count: int) -> int:
        """Start of the first line of the run; every line walked is remembered, so a text's lines
        are walked once per delimiter whatever the number of values in them."""
        known = self._first.get((line_start, delim))
        if known is not None:
            return known
        text = self.text
        visited = [line_start]
        first = line_start
        while first > 0:
            prev_end = first - 1
            prev_start = text.rfind("\n", max(0, prev_end - _MAX_LINE), prev_end) + 1
            if prev_start == 0 and prev_end > _MAX_LINE:
                break
            if text.count(delim, prev_start, prev_end) != count:
                break
            known = self._first.get((prev_start, delim))
            if known is not None:
                first = known
                break
            first = prev_start
            visited.append(first)
        for ls in visited:
            self._first[(ls, delim)] = first
        return first

    def _html_labels(self, start: int) -> list[str]:
        text = self.text
        out = []
        near = text[max(0, start - _NEAR):start]
        labels = list(_LABEL.finditer(near))
        if labels:
            out.append(_TAG.sub(" ", labels[-1].group(2)).strip())
        row = text.rfind("<tr", max(0, start - _MAX_LINE), start)
        if row < 0 or text.find("</tr", row, start) >= 0:
            return out
        before = text[row:start]
        ths = _TH.findall(before)
        if ths:  # a row-wise header: <tr><th>Phone</th><td>...</td></tr>
            out.append(_TAG.sub(" ", ths[-1]).strip())
            return out
        col = len(_CELL.findall(before)) - 1
        table = text.rfind("<table", max(0, row - 4 * _MAX_LINE), row)
        head = text[table if table >= row - 4 * _MAX_LINE else max(0, row - 4 * _MAX_LINE):row]
        first_row = head.find("<tr")
        if first_row < 0 or col < 0:
            return out
        row_end = head.find("</tr", first_row)
        cells = _TH.findall(head[first_row:row_end if row_end >= 0 else len(head)])
        if col < len(cells):
            out.append(_TAG.sub(" ", cells[col]).strip())
        return out

