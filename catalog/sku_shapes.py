"""Store SKUs written differently from the shop's: a price file that went through Excel lost its
leading zeros ("10016" for the shop's "00010016"), or a POS system writes them in another case
("ab-123" for "AB-123"). Such rows match no shop product: parity and presence compare nothing for
them, silently. After a store file is published, a sample of its SKUs is looked up in the shop in
force; when many match nothing as written but do with zeros or case aside, the user is told."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, String, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from unisono.catalog.matching import current_shop
from unisono.catalog.tables import OfferRow

SAMPLE = 2000  # SKUs looked at: enough to see a whole file's habit, cheap for a file of millions
SHARE = 0.01  # of the sample matching nothing as written (store-only articles aside), before a look


class without_leading_zeros(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """A text without its leading "0"s: ltrim(x, '0') on SQLite, PostgreSQL and DuckDB; Spark's
    two-argument ltrim takes the characters first (catalog/spark_dialect.py)."""

    type = String()
    inherit_cache = True


@compiles(without_leading_zeros)
def _ltrim(element, compiler, **kw):
    return f"ltrim({compiler.process(element.clauses, **kw)}, '0')"


def sku_shapes(conn: Connection, publication_id: int, at: datetime) -> list[str]:
    """Notes on the publication's SKUs that match the shop only with leading zeros or case aside."""
    o = OfferRow.__table__
    sample = conn.execute(select(o.c.sku).where(o.c.publication_id == publication_id, o.c.sku.is_not(None))
                          .distinct().limit(SAMPLE)).scalars().all()
    shops = sorted(set(current_shop(conn, at).values()))
    if not sample or not shops:
        return []
    in_shop = o.c.publication_id.in_(shops)
    known = set(conn.execute(select(o.c.sku).where(in_shop, o.c.sku.in_(sample))).scalars())
    unknown = [s for s in sample if s not in known]
    if len(unknown) < max(2, SHARE * len(sample)):
        return []
    shapes = {s.lstrip("0").casefold(): s for s in unknown}
    shaped = func.lower(without_leading_zeros(o.c.sku))
    found = conn.execute(select(o.c.sku, shaped).where(in_shop, shaped.in_(list(shapes))).limit(SAMPLE)).all()
    if not found:
        return []
    shop_sku, shape = found[0]
    return [f"{len(unknown):,} of {len(sample):,} SKUs looked at match no shop product as written, {len(found):,} "
            f"of them with leading zeros or case aside (e.g. {shapes[shape]!r} is the shop's {shop_sku!r}); rows "
            "that match no product are compared with nothing (Excel drops leading zeros: export SKUs as text)"]
