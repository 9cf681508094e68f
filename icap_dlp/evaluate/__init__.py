"""Labelled accuracy benchmark: the corpus format, ``icap-dlp eval`` and the corpus generator.

A corpus is JSON Lines, one case per line (see :mod:`icap_dlp.evaluate._corpus`); a case is a body
as sent plus the values it holds, each typed: ``sensitive`` values must be gone from the decoded
output, ``lookalikes`` must survive. :func:`evaluate` runs the same inspection as the server
(``dlp.inspect_message``) and reports recall, precision and F1 per entity type and survival per
look-alike kind.
"""

from icap_dlp.evaluate._corpus import Case, Label, dump_cases, load_corpus
from icap_dlp.evaluate._eval import Report, evaluate, present, visible_text

__all__ = ["Case", "Label", "Report", "dump_cases", "evaluate", "load_corpus", "present", "visible_text"]
