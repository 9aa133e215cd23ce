"""A shop feed's columns worked on at once rather than per item: the GTINs of a part of the feed
checked by the column, its plain links and plain titles normalised by the column; per value (with the
parsing module's own functions) only the texts that are not plain."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from unisono.channels.parsing import normalize_gtin, normalize_url
from unisono.channels.store_cells import gtins

def gtin_column(texts: Sequence[str | None]) -> tuple[pa.Array, int]:
    """normalize_gtin of every text, as a string column (by the column, as a store file's:
    store_cells.gtins), and how many non-empty texts are not GTINs."""
    texts = pc.fill_null(pa.array(texts, pa.string()), "")
    result = gtins(texts, normalize_gtin)
    given = pc.sum(pc.greater(pc.binary_length(texts), 0), min_count=0).as_py()
    return result, given - (len(result) - result.null_count)


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
