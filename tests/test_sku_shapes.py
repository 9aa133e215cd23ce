"""Store SKUs that match the shop only with leading zeros or case aside are said at publish."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from unisono.catalog.publish import publish
from unisono.catalog.sku_shapes import sku_shapes
from unisono.domain.models import ChannelRead, Offer, SourceRef

NOV19 = datetime(2026, 11, 19, 6, tzinfo=timezone.utc)


def _offers(channel: str, skus: list[str]) -> ChannelRead:
    location = "online" if channel == "shop" else "1001"
    return ChannelRead(channel=channel, source=channel, offers=[
        Offer(channel=channel, location=location, sku=sku, currency="EUR", price=Decimal("9.99"),
              source=SourceRef(file=channel, line=i + 2)) for i, sku in enumerate(skus)])


def test_skus_excel_stripped_of_zeros_or_in_another_case_are_said_on_every_backend(catalog):
    publish(catalog, _offers("shop", ["00010016", "00010017", "AB-123", "555"]), source="feed", sha256="f",
            published_at=NOV19)
    stripped = publish(catalog, _offers("store", ["10016", "10017", "ab-123", "555"]), source="s", sha256="s",
                       published_at=NOV19)
    with catalog.connect() as conn:
        [note] = sku_shapes(conn, stripped.publication_id, NOV19)
        assert note.startswith("3 of 4 SKUs looked at match no shop product as written, 3 of them with leading zeros")
        exact = publish(catalog, _offers("store", ["00010016", "AB-123", "555", "999"]), source="t", sha256="t",
                        published_at=NOV19)
        # one store-only article (999) is no pattern, and the rest match as written: nothing to say
        assert sku_shapes(conn, exact.publication_id, NOV19) == []
