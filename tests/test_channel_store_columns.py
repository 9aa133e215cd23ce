"""The store file read by the column gives what reading it row by row gives: the same offers, the
same rejections at the same lines with the same reasons, the same notes, the same catalog rows."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from unisono.catalog.publish import publish_stream
from unisono.catalog.tables import OfferRow, RejectionRow
from unisono.channels import store, store_columns
from unisono.domain.batch import OfferBatch
from unisono.domain.config import ProjectConfig, StoreOptions

FIXTURES = Path(__file__).parent / "fixtures" / "store"
CONFIG = ProjectConfig()
CUSTOM = ProjectConfig(store=StoreOptions(columns={
    "store": "Haus", "sku": "Artikel", "title": "Text", "price": "Brutto-VK",
    "promo_price": "Sonder-VK", "promo_from": "Sonder ab", "promo_to": "Sonder bis",
}))
NOV19 = datetime(2026, 11, 19, 6, tzinfo=timezone.utc)

# every kind of row a price export holds, good and bad, with blank lines and a trailing delimiter
MIXED = (
    "Filiale;Artikelnummer;EAN;Bezeichnung;VK-Preis;Aktionspreis;Aktion von;Aktion bis;Währung;Bestand;\n"
    "1001;100203;4006381333931;Wanderschuh  Alpin;99,99;79,99;20.11.2026;30.11.2026;;12;\n"
    "1001;100204;;Schlafsack;abc;;;;;;\n"
    "\n"
    "1001;;4006381333948;Zelt;199,00;;;;EUR;0;\n"
    "1002;100203;;Wanderschuh Alpin;99,99;0,00;;;;;\n"
    "1002;100205;;Kocher;1,299;;;;;;\n"
    "1001;100203;;Doppelt;89,99;;;;;;\n"
    ";;;;;;;;;;\n"
    "1002;100206;;Lampe;12,50;9,99;24.11.2026;20.11.2026;;;\n"
    "1002;100207;;Becher;4,50;;kaputt;;;;\n"
    "1003;100208;123;Messer;19,99;;;;;ja;\n"
    "1003;;123;Gabel;9,99;;;;;;\n"
    "1003;100209;;Topf;9,99 €;;;;;;\n"
    "1003;100210;;Pfanne;29,99;;;;XYZ;;\n"
    "1003;100211;;Kurz;5,00\n"
    "1003;100212;;Lang;5,00;;;;;;;zu viel\n"
    "1001;;4006381333948;Zelt doppelt;189,00;;;;;;\n"
    "1003;100213;;Stiefel;7,5;6;01.12.2026;;;nein;\n"
)


def write(tmp_path: Path, text: str, name: str = "prices.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def outcome(path: Path, columnar: bool, config: ProjectConfig = CONFIG):
    result = store.read(path, config, columnar=columnar)
    offers = OfferBatch.from_offers("store", path.name, result.offers).table.sort_by("line").to_pylist()
    return offers, sorted((r.source.line, r.reason) for r in result.rejections), result.notes


def test_a_mixed_file_reads_the_same_by_the_column_as_row_by_row(tmp_path):
    path = write(tmp_path, MIXED)
    columns, rows = outcome(path, True), outcome(path, False)
    assert columns == rows
    offers, rejections, _ = columns
    assert [o["line"] for o in offers] == [2, 5, 6, 7, 11, 12, 14, 19]
    assert (15, "currency 'XYZ' is not a currency code") in rejections  # three letters, but no ISO 4217 code
    assert (8, "duplicate row for store 1001 and sku 100203 (first at line 2)") in rejections
    assert (18, "duplicate row for store 1001 and EAN 04006381333948 (first at line 5)") in rejections


def test_the_columns_are_really_used_for_a_file_without_quoted_line_breaks(tmp_path):
    path = write(tmp_path, MIXED)
    items = list(store.stream(path, CONFIG, []))
    batches = [item for item in items if isinstance(item, OfferBatch)]
    assert batches and sum(len(b) for b in batches) >= 4
    withdrawn = [item for item in items if getattr(item, "withdraws_offer", False)]
    assert {r.source.line for r in withdrawn} == {8, 18}


def test_small_blocks_keep_lines_and_duplicates_right_across_block_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(store_columns, "BLOCK", 200)  # a few rows per block, invalid rows among them
    path = write(tmp_path, MIXED * 3)  # the header again mid-file: a row with a price 'VK-Preis'
    assert outcome(path, True) == outcome(path, False)


def test_titles_and_cells_are_trimmed_and_spaced_as_python_does_with_any_unicode_space(tmp_path):
    spaces = "\u00a0\u2007\u202f\u3000\x85\x0b\u2028"
    rows = "".join(f"1;A{i};{s}Wander{s}{s}schuh {s};{s}9,99{s}\n" for i, s in enumerate(spaces))
    path = write(tmp_path, "Filiale;SKU;Bezeichnung;Preis\n" + rows)
    assert outcome(path, True) == outcome(path, False)
    assert {o.title for o in store.read(path, CONFIG).offers} == {"Wander schuh"}


def test_duplicates_are_told_by_their_text_when_hashes_collide(tmp_path, monkeypatch):
    monkeypatch.setattr(store_columns, "_hash_keys", lambda keys: np.full(len(keys), 7, dtype=np.int64))  # all alike
    path = write(tmp_path, MIXED)
    assert outcome(path, True) == outcome(path, False)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".csv", ".txt")))
def test_every_fixture_reads_the_same_by_the_column_as_row_by_row(name):
    config = CUSTOM if name == "erp_export_custom.csv" else CONFIG
    assert outcome(FIXTURES / name, True, config) == outcome(FIXTURES / name, False, config)


def test_a_quoted_line_break_sends_the_file_down_the_row_path(tmp_path):
    path = write(tmp_path, 'Filiale;SKU;Bezeichnung;Preis\n1;A1;"zwei\nZeilen";9,99\n1;A2;x;5,00\n')
    assert not store_columns.one_line_records(path)
    assert not any(isinstance(i, OfferBatch) for i in store.stream(path, CONFIG, []))
    assert [o.source.line for o in store.read(path, CONFIG).offers] == [2, 4]


def test_quotes_without_line_breaks_stay_on_the_columns(tmp_path):
    path = write(tmp_path, 'Filiale;SKU;Bezeichnung;Preis\n1;A1;"Topf; 3-teilig";9,99\n1;A2;"""Spezial""";5,00\n',
                 encoding="cp1252")
    assert store_columns.one_line_records(path)
    assert outcome(path, True) == outcome(path, False)
    assert [o.title for o in store.read(path, CONFIG).offers] == ["Topf; 3-teilig", '"Spezial"']


cells = st.text(alphabet=st.sampled_from(list('ab1,.;" \t€-0\xa0')), max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(cells, min_size=1, max_size=7), max_size=12))
def test_any_rows_read_the_same_by_the_column_as_row_by_row(tmp_path_factory, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["Filiale", "SKU", "EAN", "Preis", "Aktionspreis", "Aktion bis"])
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("rows") / "random.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    assert outcome(path, True) == outcome(path, False)


def stored(engine) -> tuple[list, list]:
    o, r = OfferRow.__table__, RejectionRow.__table__
    with engine.connect() as c:
        offers = c.execute(select(*[col for col in o.c if col.name not in ("id", "publication_id")])
                           .order_by(o.c.source)).all()
        rejections = c.execute(select(r.c.line, r.c.reason).order_by(r.c.line)).all()
    return offers, rejections


def test_the_catalog_stores_the_same_rows_either_way(catalog, tmp_path):
    from unisono.catalog.db import open_catalog

    path = write(tmp_path, MIXED)
    other = open_catalog(f"sqlite:///{tmp_path / 'rows.db'}")
    for engine, columnar in ((catalog, True), (other, False)):
        notes: list[str] = []
        result = publish_stream(engine, "store", store.stream(path, CONFIG, notes, columnar=columnar), notes=notes,
                                source=str(path), sha256="x", published_at=NOV19)
        assert (result.offers, result.rejections, result.locations) == (8, 8, ["1001", "1002", "1003"])
    assert stored(catalog) == stored(other)
    other.dispose()


def test_a_stated_30_day_lowest_price_column_is_read_the_same_either_way(tmp_path):
    path = write(tmp_path, (
        "Filiale;Artikelnummer;VK-Preis;Aktionspreis;Aktion von;Aktion bis;Tiefstpreis (30 Tage)\n"
        "1001;100203;99,99;79,99;20.11.2026;30.11.2026;84,99\n"
        "1001;100204;19,99;;;;\n"
        "1001;100205;9,99;7,99;20.11.2026;30.11.2026;acht\n"
        "1001;100206;9,99;7,99;20.11.2026;30.11.2026;0,00\n"))
    columns, rows = outcome(path, True), outcome(path, False)
    assert columns == rows
    offers, rejections, _ = columns
    assert [(o["sku"], o["lowest_30d_cents"]) for o in offers] == [("100203", 8499), ("100204", None), ("100206", None)]
    assert rejections == [(4, "lowest price 'acht' is not a number")]


def test_a_wrong_gtin_check_digit_reads_the_same_by_the_column_as_row_by_row(tmp_path):
    # EAN only, wrong check digit: rejected, naming the digit; with an sku: an offer without the EAN (a note)
    path = write(tmp_path, "Filiale;Artikelnummer;EAN;Bezeichnung;Marke;VK-Preis\n1;;4006381333932;Stift;Stabilo;1,99\n"
                           "1;A2;4006381333932;Stift;Stabilo;1,99\n1;;4006381333931;Stift;Stabilo;1,99\n")
    columns, rows = outcome(path, True), outcome(path, False)
    assert columns == rows
    offers, rejections, notes = columns
    assert rejections == [(2, "EAN '4006381333932' is not a GTIN (its check digit is 2, not 1)")]
    assert [(o["sku"], o["gtin"], o["brand"]) for o in offers] == [("A2", None, "Stabilo"),
                                                                    (None, "04006381333931", "Stabilo")]
    assert any("not a GTIN (its length or check digit)" in n for n in notes)


def test_an_ean_that_lost_its_leading_zero_keys_its_row_by_the_column_as_row_by_row(tmp_path):
    """Spreadsheets drop a UPC's leading zero: "080432400432" arrives as 11 digits, still a GTIN."""
    path = tmp_path / "prices.csv"
    path.write_text("Filiale;EAN;VK-Preis\n1001;80432400432;1,99\n1001;80432400433;2,99\n", encoding="utf-8")
    for columnar in (True, False):
        result = store.read(path, ProjectConfig(), columnar=columnar)
        assert [o.gtin for o in result.offers] == ["00080432400432"]
        assert [r.reason for r in result.rejections] == [
            "EAN '80432400433' is not a GTIN (its check digit is 3, not 2)"]


def test_a_key_hashes_alike_whatever_the_other_keys_of_its_block():
    # the hash of a key must not depend on its neighbours: longer or non-ASCII keys take another hash
    from unisono.channels.store_cells import hashes

    key = "1001\x1fsku\x1f100203"
    alone = hashes(pa.array([key]))[0]
    assert hashes(pa.array(["x" * 90, key, "Käse"]))[1] == alone
    assert hashes(pa.array(["a", key, "b" * 40]).slice(1))[0] == alone
    assert len(set(hashes(pa.array([key, key + "4", "1002\x1fsku\x1f100203", key[:-1]])))) == 4


def test_a_duplicate_in_a_later_block_is_found_beside_long_and_non_ascii_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(store_columns, "BLOCK", 120)
    rows = ["1001;A1;9,99", f"1001;{'L' * 80};1,00", "1001;Käse;2,00", "1001;A2;3,00", "1001;A1;4,00",
            f"1001;{'L' * 80};5,00", "1002;Käse;6,00", "1001;Käse;7,00", "1001;A3;8,00"]
    path = write(tmp_path, "Filiale;SKU;Preis\n" + "\n".join(rows) + "\n")
    columns = outcome(path, True)
    assert columns == outcome(path, False)
    assert [line for line, reason in columns[1]] == [6, 7, 9]


@pytest.mark.parametrize("ean", ["4006381333931", "4006381333932", "80432400432", "12345670", "12345678",
                                 "2801954000000", "2801954000001", "0200000000001", "0400000000003", "0000002000007",
                                 "0000000000000", "40063813339310", "04006381333931", "4006381333931.0", "4006 3813 33931",
                                 "123456789012345", "١٢٣٤٥٦٧٠"])
def test_eans_are_checked_by_the_column_as_normalize_gtin_checks_them(tmp_path, ean):
    from unisono.channels.parsing import normalize_gtin

    path = write(tmp_path, f"Filiale;Artikelnummer;EAN;VK-Preis\n1;A1;{ean};1,99\n1;;{ean};2,99\n")
    columns = outcome(path, True)
    assert columns == outcome(path, False)
    assert columns[0][0]["gtin"] == normalize_gtin(ean)


def test_random_eans_keep_their_check_digit_verdict_by_the_column(tmp_path):
    import random

    from unisono.channels.parsing import normalize_gtin

    r = random.Random(8)
    eans = ["".join(r.choices("0123456789", k=r.randrange(7, 16))) for _ in range(3000)]  # lengths 7 to 15
    path = write(tmp_path, "Filiale;Artikelnummer;EAN;VK-Preis\n" + "".join(f"1;A{i};{e};1,99\n" for i, e in enumerate(eans)))
    offers = outcome(path, True)[0]
    assert [o["gtin"] for o in offers] == [normalize_gtin(e) for e in eans]
    assert 0 < sum(o["gtin"] is None for o in offers) < len(eans)


def test_titles_beside_non_ascii_letters_are_spaced_as_python_does(tmp_path):
    titles = ["Hütte – Alpin", "Jacke\u00a0–\u00a0rot", "20 °C", "Zelt  ° 2", "Käse\u2009\u2009Brot", "„Spezial“ …",
              "Ä\u3000Ö", "x\u200by", "Über ", "\u2013Strich\u2013"]
    path = write(tmp_path, "Filiale;SKU;Bezeichnung;Marke;Preis\n"
                 + "".join(f"1;A{i};{t};{t};9,99\n" for i, t in enumerate(titles)))
    columns = outcome(path, True)
    assert columns == outcome(path, False)
    assert [o["title"] for o in columns[0]] == [" ".join(t.split()) for t in titles]


AMOUNTS = ["12,99", "12,9", "7", "0,00", "1.299", "1.299,50", "999.999.999.999,99", "999999999999", "1000000000000",
           "12,99 €", "12,99€", "12,99 EUR", "12,99EUR", "12,99 eur", "€ 12,99", "12,99 CHF", "12,999", "12,990", "12,",
           ",69", "12.99", "-1,00", "12,99  €", "12,99\u00a0€", "0012,50", "1.2999,00", "12,99 € EUR", "120,-"]


@pytest.mark.parametrize("decimal_comma", [True, False])
def test_every_amount_shape_reads_the_same_by_the_column_as_row_by_row(tmp_path, decimal_comma):
    # the column reads the common shapes itself: a wrong rounding, a lost currency sign or a shifted
    # line would show against the row path; the project's currency is CHF, so a lost "€" shows too
    texts = AMOUNTS if decimal_comma else [a.translate(str.maketrans(",.", ".,")) for a in AMOUNTS]
    config = ProjectConfig(currency="CHF")
    delimiter = ";" if decimal_comma else "\t"
    rows = [delimiter.join(["1", f"A{i}", "9,99" if decimal_comma else "9.99", t, t, "20.11.2026", "30.11.2026"])
            for i, t in enumerate(texts)]
    rows += [delimiter.join(["1", f"B{i}", t, "", "", "", ""]) for i, t in enumerate(texts)]
    header = delimiter.join(["Filiale", "SKU", "Preis", "Aktionspreis", "Tiefstpreis", "Aktion von", "Aktion bis"])
    path = write(tmp_path, header + "\n" + "\n".join(rows) + "\n")
    columns = outcome(path, True, config)
    assert columns == outcome(path, False, config)
    by_sku = {o["sku"]: o for o in columns[0]}
    assert by_sku["B1"]["price_cents"] == 1290 and by_sku["B4"]["price_cents"] == 129900 and by_sku["B7"]["price_cents"] == 99999999999900
    assert [by_sku[f"B{i}"]["currency"] for i in (0, 9, 10, 11, 15)] == ["CHF", "EUR", "EUR", "EUR", "CHF"]
    assert by_sku["A9"]["sale_price_cents"] == 1299 and by_sku["A3"]["sale_price_cents"] is None
    assert by_sku["A5"]["lowest_30d_cents"] == 129950 and by_sku["A3"]["lowest_30d_cents"] is None
    assert (len(texts) + 2 + 8, "price '1000000000000' is out of range (unisono takes amounts below 1,000,000,000,000)") \
        in columns[1]


amount_texts = st.lists(st.sampled_from(["0", "1", "5", "9", "12", ",", ".", " ", "€", "EUR", "-"]), max_size=9).map("".join)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(amount_texts, min_size=1, max_size=15), st.booleans())
def test_any_amount_text_reads_the_same_by_the_column_as_row_by_row(tmp_path_factory, texts, comma):
    delimiter = ";" if comma else "\t"
    body = "".join(f"1{delimiter}A{i}{delimiter}{t}{delimiter}{t[::-1]}\n" for i, t in enumerate(texts))
    path = tmp_path_factory.mktemp("amounts") / "amounts.csv"
    path.write_text(f"Filiale{delimiter}SKU{delimiter}Preis{delimiter}Aktionspreis\n" + body, encoding="utf-8")
    assert outcome(path, True, ProjectConfig(currency="CHF")) == outcome(path, False, ProjectConfig(currency="CHF"))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])  # (UTF-16 is read row by row)
def test_a_duplicate_found_by_the_column_keeps_its_row_as_read_row_by_row(tmp_path, monkeypatch, encoding):
    monkeypatch.setattr(store_columns, "BLOCK", 200)  # the duplicate in a later block than its first row
    rows = "".join(f"1001;A{i};Mütze {i};{i},99\r\n" for i in range(40)) + "1001;A3;Mütze „drei“;3,49\r\n"
    path = tmp_path / "prices.csv"
    path.write_text("Filiale;Artikelnummer;Bezeichnung;VK-Preis\r\n" + rows, encoding=encoding)
    items = list(store.stream(path, CONFIG, []))
    assert any(isinstance(item, OfferBatch) for item in items)  # read by the column
    [duplicate] = [item for item in items if getattr(item, "withdraws_offer", False)]
    row_by_row = [r for r in store.read(path, CONFIG, columnar=False).rejections]
    assert [(r.source.line, r.reason, r.raw) for r in row_by_row] == \
        [(duplicate.source.line, duplicate.reason, duplicate.raw)] == \
        [(42, "duplicate row for store 1001 and sku A3 (first at line 5)", "1001;A3;Mütze „drei“;3,49")]


def test_a_dash_in_an_optional_column_is_no_promotion_and_the_row_keeps_its_price(tmp_path):
    path = write(tmp_path, "Filiale;Artikelnummer;VK-Preis;Aktionspreis;Aktion von;Aktion bis;Tiefstpreis 30 Tage\n"
                           "1001;A1;19,99;-;-;-;-\n1001;A2;29,99;–;;;\n1001;A3;39,99;34,99;20.11.2026;-;—\n"
                           "1001;A4;-;;;;\n")
    columns, rows = outcome(path, True), outcome(path, False)
    assert columns == rows
    offers, rejections, notes = columns
    assert [(o["sku"], o["price_cents"], o["sale_price_cents"], o["lowest_30d_cents"]) for o in offers] == \
        [("A1", 1999, None, None), ("A2", 2999, None, None), ("A3", 3999, 3499, None)]
    assert rejections == [(5, "price '-' is not a number")]  # the regular price is no optional column
    assert not any("promo dates" in note for note in notes)
