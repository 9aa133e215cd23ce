"""Store SKUs that match the shop only with leading zeros or case aside are said at publish."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from click.testing import CliRunner

from unisono.catalog.publish import publish
from unisono.catalog.sku_shapes import sku_shapes
from unisono.cli.main import cli
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


def test_publish_store_says_it_in_a_note(tmp_path):
    def run(*args: str):
        return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(tmp_path / "p")}, catch_exceptions=False)

    run("init", str(tmp_path / "p"))
    items = "".join(f"<item><g:id>{sku}</g:id><g:title>T</g:title><g:price>79.00 EUR</g:price></item>"
                    for sku in ("00010016", "00010017"))
    (tmp_path / "f.xml").write_text(f'<rss xmlns:g="http://base.google.com/ns/1.0"><channel>{items}</channel></rss>',
                                    encoding="utf-8")
    (tmp_path / "s.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1001;10016;89,00\n1001;10017;59,00\n",
                                    encoding="utf-8")
    assert run("publish", "shop", str(tmp_path / "f.xml"), "--published-at", "2026-11-19").exit_code == 0
    store = run("publish", "store", str(tmp_path / "s.csv"), "--published-at", "2026-11-19")
    assert store.exit_code == 0 and "e.g. '10016' is the shop's '00010016'" in " ".join(store.output.split())
