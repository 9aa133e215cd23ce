"""A shop feed's columns worked on at once rather than per item: the GTINs of a part of the feed
checked with numpy, its plain links and plain titles normalised by the column; per value (with the
parsing module's own functions) only the texts that are not plain."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from unisono.channels.parsing import normalize_gtin, normalize_url

_WEIGHTS = np.array([3, 1] * 6 + [3], dtype=np.int64)  # GS1: 3, 1, 3, … over the first 13 of 14 digits


def gtin_column(texts: Sequence[str | None]) -> tuple[pa.Array, int]:
    """normalize_gtin of every text, as a string column, and how many non-empty texts are not
    GTINs. ASCII digit strings of 8 to 14 (nearly every feed's) are checked together; every other
    non-empty text (spaces, ".0", other scripts' digits) goes through normalize_gtin itself."""
    texts = pa.array(texts, pa.string())
    plain = pc.fill_null(pc.match_substring_regex(texts, r"^[0-9]{8,14}$"), False)
    padded = pc.utf8_lpad(texts.filter(plain), 14, "0")
    result = pc.replace_with_mask(pa.nulls(len(texts), pa.string()), plain,
                                  pc.if_else(pa.array(_valid(padded)), padded, pa.scalar(None, pa.string())))
    given = pc.fill_null(pc.greater(pc.binary_length(texts), 0), False)
    others = pc.and_(given, pc.invert(plain))
    if pc.any(others).as_py():
        values = [normalize_gtin(t) for t in texts.filter(others).to_pylist()]
        result = pc.replace_with_mask(result, others, pa.array(values, pa.string()))
    return result, pc.sum(given, min_count=0).as_py() - (len(result) - result.null_count)


def _valid(padded: pa.Array) -> np.ndarray:
    """Whether each 14-digit string's check digit adds up, or it is a restricted-circulation
    number (parsing.restricted_circulation: its check digit is not judged)."""
    n = len(padded)
    if not n:
        return np.zeros(0, dtype=bool)
    _, offsets, data = padded.buffers()  # each value is 14 bytes: the values' bytes are one n x 14 block
    start = int(np.frombuffer(offsets, dtype=np.int32, count=1, offset=4 * padded.offset)[0])
    d = np.frombuffer(data, dtype=np.uint8, count=14 * n, offset=start).reshape(n, 14).astype(np.int64) - 48
    check = (10 - (d[:, :13] @ _WEIGHTS) % 10) % 10 == d[:, 13]
    restricted = ((d[:, 1] == 2) | ((d[:, 1] == 0) & ((d[:, 2] == 2) | (d[:, 2] == 4)))
                  | (~d[:, :6].any(axis=1) & ((d[:, 6] == 0) | (d[:, 6] == 2))))
    return check | restricted


# A plain link (parsing._PLAIN_URL), ASCII only: "https://www.shop.de/p/jacke-100001"; any other goes
# through normalize_url itself
_PLAIN_LINK = r"^[Hh][Tt][Tt][Pp][Ss]?://(?P<host>[A-Za-z0-9.-]+)(?P<path>/[\x21\x22\x24-\x3e\x40-\x7e]*)?$"


def url_column(texts: Sequence[str | None]) -> pa.Array:
    """normalize_url of every link as the fields hold it (stripped), as a string column."""
    texts = pa.array(texts, pa.string())
    parts = pc.extract_regex(texts, _PLAIN_LINK)
    host = pc.replace_substring_regex(pc.ascii_lower(parts.field("host")), r"^www\.", "")
    plain = pc.fill_null(pc.and_(pc.is_valid(parts), pc.greater(pc.binary_length(host), 0)), False)
    result = pc.if_else(plain, pc.binary_join_element_wise("https://", host, pc.utf8_rtrim(parts.field("path"), "/"), ""),
                        pa.scalar(None, pa.string()))
    others = pc.and_(pc.is_valid(texts), pc.invert(plain))
    if pc.any(others).as_py():
        values = [normalize_url(t) for t in texts.filter(others).to_pylist()]
        result = pc.replace_with_mask(result, others, pa.array(values, pa.string()))
    return result


# what str.split() splits at besides " " (tests/test_channel_shop.py holds it to str.isspace)
SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def title_column(texts: Sequence[str | None], human: Callable[[str | None], str | None]) -> pa.Array:
    """human() of every title, as a string column: a title without "&" whose words are one space
    apart is as it is; only the others (entities, line breaks, runs of spaces) go through human()."""
    texts = pa.array(texts, pa.string())
    as_is = pc.invert(pc.fill_null(pc.match_substring_regex(texts, f"&|  |^ | $|^$|[{SPACES}]"), True))
    others = pc.and_(pc.is_valid(texts), pc.invert(as_is))
    result = pc.if_else(as_is, texts, pa.scalar(None, pa.string()))
    if pc.any(others).as_py():
        values = [human(t) for t in texts.filter(others).to_pylist()]
        result = pc.replace_with_mask(result, others, pa.array(values, pa.string()))
    return result
