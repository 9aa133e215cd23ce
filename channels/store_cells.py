"""Store cells by the column, on the bytes of Arrow string arrays: what the row path does to each
cell (strip it, collapse its spaces, check an EAN's digit, read a price) done for a whole block
with numpy and pyarrow.compute. Each function answers exactly for the cells of the shapes it knows
and says which cells it leaves to the row path's Python parsers; none guesses.

A string array's cell i is bytes[offsets[i]:offsets[i + 1]] of its data buffer (UTF-8): a test on
every byte and a search of the offsets tell which cells hold a byte, without a Python object per cell.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_EMPTY = np.zeros(0, dtype=np.uint8)


def raw(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(data, offsets) of a string array without nulls."""
    wide = pa.types.is_large_string(array.type)
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32)[array.offset:array.offset + len(array) + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else _EMPTY
    return data, offsets


def lengths(array: pa.Array) -> np.ndarray:
    """Each cell's length in bytes."""
    return np.diff(raw(array)[1])


def cells_with(positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Which cells hold one of the byte positions (of the whole data buffer)."""
    hit = np.zeros(len(offsets) - 1, dtype=bool)
    if len(positions):
        hit[np.searchsorted(offsets, positions, side="right") - 1] = True
    return hit


def _segment(array: pa.Array) -> tuple[np.ndarray, int, np.ndarray]:
    data, offsets = raw(array)
    start = int(offsets[0]) if len(offsets) else 0
    return data[start:int(offsets[-1]) if len(offsets) else 0], start, offsets


def _whitespace_starts(b: np.ndarray) -> np.ndarray:
    """Positions in b where a character Python or RE2 calls whitespace may start, other than a lone
    ASCII space: the ASCII controls (\\t \\n \\v \\f \\r, \\x1c-\\x1f and the rest, to be safe), two
    spaces in a row, and the UTF-8 of U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
    U+202F, U+205F, U+3000 (Python's str.split() spaces; \\p{Z})."""
    found = [np.flatnonzero(b < 0x20), np.flatnonzero((b[:-1] == 0x20) & (b[1:] == 0x20))]
    lead = np.flatnonzero((b == 0xC2) | (b == 0xE1) | (b == 0xE2) | (b == 0xE3))
    if len(lead):
        padded = np.concatenate([b, np.zeros(2, dtype=np.uint8)])
        first, second, third = padded[lead], padded[lead + 1], padded[lead + 2]
        space = ((first == 0xC2) & ((second == 0x85) | (second == 0xA0))) \
            | ((first == 0xE1) & (second == 0x9A) & (third == 0x80)) \
            | ((first == 0xE2) & (second == 0x80) & (((third >= 0x80) & (third <= 0x8A)) | (third == 0xA8)
                                                     | (third == 0xA9) | (third == 0xAF))) \
            | ((first == 0xE2) & (second == 0x81) & (third == 0x9F)) \
            | ((first == 0xE3) & (second == 0x80) & (third == 0x80))
        found.append(lead[space])
    return np.concatenate(found)


def spaced(array: pa.Array, pattern: str) -> pa.Array:
    """pc.replace_substring_regex(array, pattern, " ") for a pattern of whitespace runs: only on the
    cells that hold whitespace other than single ASCII spaces (a regex over every title took a
    quarter of the read)."""
    b, start, offsets = _segment(array)
    odd = cells_with(_whitespace_starts(b) + start, offsets)
    if not odd.any():
        return array
    mask = pa.array(odd)
    return pc.replace_with_mask(array, mask, pc.replace_substring_regex(array.filter(mask), pattern, " "))


def stripped(array: pa.Array) -> pa.Array:
    """pc.utf8_trim_whitespace(array), spared for a column without a byte that could be part of
    whitespace (an ASCII control or space, or any non-ASCII byte): codes, numbers, dates."""
    b, _, _ = _segment(array)
    if len(b) and (b.min() <= 0x20 or b.max() >= 0x7F):
        return pc.utf8_trim_whitespace(array)
    return array


def gtins(column: pa.Array, normalize: Callable[[str], str | None]) -> pa.Array:
    """normalize_gtin() of a column: 8 to 14 ASCII digits are padded and their check digit judged by
    the column (parsing._checked()); any other non-empty text goes through normalize_gtin() itself."""
    b, start, offsets = _segment(column)
    size = np.diff(offsets)
    plain = (size >= 8) & (size <= 14) & ~cells_with(np.flatnonzero((b < 0x30) | (b > 0x39)) + start, offsets)
    padded = pc.utf8_lpad(column, 14, "0")
    valid = np.zeros(len(column), dtype=bool)
    if plain.any():
        digits, _, _ = _segment(padded.filter(pa.array(plain)))
        digits = digits.reshape(-1, 14) - np.uint8(0x30)
        valid[plain] = _check_digit_holds(digits)
    values = pc.if_else(pa.array(valid), padded, pa.scalar(None, pa.string()))
    other = ~plain & (size > 0)
    if other.any():  # each distinct text once
        encoded = column.filter(pa.array(other)).dictionary_encode()
        normalized = pa.array([normalize(t) for t in encoded.dictionary.to_pylist()], pa.string())
        values = pc.replace_with_mask(values, pa.array(other), normalized.take(encoded.indices))
    return values


_WEIGHTS = np.array([3, 1] * 6 + [3], dtype=np.uint16)  # GS1: 3, 1, 3, … from the left


def _check_digit_holds(d: np.ndarray) -> np.ndarray:
    """Per row of 14 digits (uint8): whether its last digit is the GS1 check digit of the others, or
    it is a restricted-circulation number, whose check digit is not judged (parsing.restricted_circulation())."""
    total = d[:, :13].astype(np.uint16) @ _WEIGHTS
    holds = (10 - total % 10) % 10 == d[:, 13]
    restricted = (d[:, 1] == 2) | ((d[:, 1] == 0) & ((d[:, 2] == 2) | (d[:, 2] == 4))) \
        | (~d[:, :6].any(axis=1) & ((d[:, 6] == 0) | (d[:, 6] == 2)))
    return holds | restricted


# Each key's bytes, padded to a multiple of 8 (Arrow pads the column), read as 64-bit words and mixed
# (splitmix64's finaliser after each word): equal keys, equal hashes; the rare equal hashes of
# different keys are told apart by their text afterwards
_PAD_UP_TO = 64  # longer keys and non-ASCII ones, rare, are hashed by a slower polynomial over their bytes


def _mixed(h: np.ndarray) -> np.ndarray:
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def hashes(keys: pa.Array) -> np.ndarray:
    """A 64-bit hash of each key (a string array without nulls), as int64: a function of the key's
    text alone, whatever the other keys of the array."""
    size = lengths(keys)
    h = np.zeros(len(keys), dtype=np.uint64)
    short = (size <= _PAD_UP_TO) & pc.string_is_ascii(keys).to_numpy(zero_copy_only=False)  # padding counts characters
    if not short.all():
        h[~short] = _polynomial(keys.filter(pa.array(~short))).view(np.uint64)
        keys, size = keys.filter(pa.array(short)), size[short]
    if len(keys):
        width = -(-int(size.max()) // 8) * 8 or 8
        b, _, _ = _segment(pc.utf8_rpad(keys, width, "\x00"))  # ("a" and "a\0" alike: told apart by their text)
        words = b.reshape(len(keys), width).view(np.uint64)
        mixed = size.astype(np.uint64)
        for i in range(words.shape[1]):  # only the words a key has: the same hash in a block of longer keys
            mixed = np.where(size > 8 * i, _mixed(mixed ^ words[:, i]), mixed)
        h[short] = mixed
    return h.view(np.int64)


_MULTIPLIER = np.uint64(0x100000001B3)
_powers = np.ones(1, dtype=np.uint64)


def _polynomial(keys: pa.Array) -> np.ndarray:
    """sum of (byte + 1) * M^position (mod 2^64) per key, mixed."""
    global _powers
    b, start, offsets = _segment(keys)
    size = np.diff(offsets)
    if int(size.max()) > len(_powers):
        _powers = np.cumprod(np.full(int(size.max()), _MULTIPLIER, dtype=np.uint64))  # M, M², … (mod 2^64)
    position = np.arange(len(b), dtype=np.int64) - np.repeat(offsets[:-1] - start, size)
    sums = np.concatenate([np.zeros(1, dtype=np.uint64),
                           np.cumsum((b.astype(np.uint64) + np.uint64(1)) * _powers[position], dtype=np.uint64)])
    relative = (offsets - start).astype(np.int64)
    return _mixed(sums[relative[1:]] - sums[relative[:-1]] + size.astype(np.uint64)).view(np.int64)


# The amounts nearly every price list writes, read by the column as store._money() reads them: at
# most 12 integer digits (or 1.299.000 with thousands marks), at most two decimals, no sign, "€" or
# "EUR" after it or nothing. Anything else is left to _money().
_AMOUNTS = {
    True: r"^(?P<whole>[0-9]{1,12}|[0-9]{1,3}(?:\.[0-9]{3}){1,3})(?:,(?P<fraction>[0-9]{1,2}))?(?P<sign> ?(?:€|EUR))?$",
    False: r"^(?P<whole>[0-9]{1,12}|[0-9]{1,3}(?:,[0-9]{3}){1,3})(?:\.(?P<fraction>[0-9]{1,2}))?(?P<sign> ?(?:€|EUR))?$",
}


def amounts(texts: pa.Array, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cents, whether "€"/"EUR" follows, whether the text has one of the common shapes) per text."""
    n = len(texts)
    known = pc.fill_null(pc.match_substring_regex(texts, _AMOUNTS[decimal_comma]), False).to_numpy(zero_copy_only=False)
    cents, euro = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    if known.any():
        parts = pc.extract_regex(texts.filter(pa.array(known)), _AMOUNTS[decimal_comma])
        whole = pc.replace_substring(parts.field(0), "." if decimal_comma else ",", "")
        fraction = pc.utf8_rpad(parts.field(1), 2, "0")
        cents[known] = pc.add(pc.multiply(pc.cast(whole, pa.int64()), 100), pc.cast(fraction, pa.int64())).to_numpy()
        euro[known] = (lengths(parts.field(2)) > 0)
    return cents, euro, known
