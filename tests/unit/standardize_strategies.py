"""Hypothesis strategies shared by the standardization tests: the text that real exports contain."""

from __future__ import annotations

from hypothesis import strategies as st

THAI = "".join(chr(code) for code in range(0x0E01, 0x0E5C) if chr(code).isprintable())
PUNCTUATION = " .,-/+()@#:'\"\t\n\u00a0\u200b\x00"

#: Any Unicode text (surrogates excluded, as Python strings from decoded files never hold them),
#: text made of Thai, digits and separators, and long runs of either.
messy_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=THAI + "0123456789" + PUNCTUATION + "abcxyzABC", max_size=60),
    st.text(alphabet=st.sampled_from("0๐๑๒๓๔๕๖๗๘๙123456789+- ()"), max_size=30),
    st.text(max_size=3).map(lambda text: text * 2000),
)
