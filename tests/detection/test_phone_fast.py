"""The phone validator's fast path for NANP national numbers gives libphonenumber's own verdict."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.detection import _validators as V


def _reference(value: str, region: str) -> V.Verdict:
    try:
        num = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return V.Verdict.INVALID
    return V.Verdict.VALID if phonenumbers.is_valid_number(num) else V.Verdict.INVALID


@settings(max_examples=600, deadline=None)
@given(area=st.integers(100, 999), exchange=st.integers(100, 999), line=st.integers(0, 9999),
       form=st.sampled_from(["({a}) {e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "{a}{e}{l}", "1-{a}-{e}-{l}",
                             "1 ({a}) {e} {l}", "{a} {e} {l}"]),
       region=st.sampled_from(["US", "CA"]))
def test_nanp_fast_path_agrees_with_libphonenumber(area: int, exchange: int, line: int, form: str,
                                                    region: str) -> None:
    value = form.format(a=area, e=exchange, l=f"{line:04d}")
    assert V.phone(value, region=region) is _reference(value, region), value
