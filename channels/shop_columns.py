"""A shop feed's columns worked on at once rather than per item: the GTINs of a part of the feed
checked with numpy (normalize_gtin's rules, per value only for the texts that are not plain digits)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from unisono.channels.parsing import normalize_gtin

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
