"""A store file read in parts (what Spark's executors each read): store_parts.parts cuts it at line
breaks with each part's first line, store_parts.read_part reads one. Together the parts give what the
whole file gives (store.stream): the same offers and rejections with the same lines and reasons,
and the same notes; only duplicate rows are left to whoever reads all parts (api/spark_publish)."""
import random
from pathlib import Path

import pytest

from unisono.channels import store
from unisono.channels.store_parts import column_plan, part_notes, parts, read_part
from unisono.domain.batch import OfferBatch
from unisono.domain.config import ProjectConfig
from unisono.domain.models import Offer

CONFIG = ProjectConfig()
HEADER = "Filiale;Artikelnummer;EAN;Bezeichnung;VK-Preis;Aktionspreis;Aktion von;Aktion bis;Bestand"


def _messy(path: Path, rows: int = 600, newline: str = "\r\n", seed: int = 5) -> Path:
    """A cp1252 store export with what real ones have: rejections of each kind, rows the columns
    cannot take (another field count, a tenth of a cent), blank lines, zero promo prices, duplicates."""
    r = random.Random(seed)
    lines = [HEADER]
    for i in range(rows):
        fields = [str(1000 + i % 3), f"{200000 + i}", "", f"Wanderschuh Größe {i % 12 + 36}", f"{r.randint(5, 300)},99",
                  "", "", "", str(r.randint(0, 9))]
        roll = r.random()
        if roll < 0.05:
            fields[4] = "n/a"  # no price: a rejection
        elif roll < 0.08:
            fields += ["x", "y"]  # more fields than the header: a rejection
        elif roll < 0.10:
            lines.append("")  # a blank line: no row
        elif roll < 0.13:
            fields[1] = lines[r.randrange(1, len(lines))].split(";")[1] if len(lines) > 1 else fields[1]  # a duplicate
            fields[0] = lines[-1].split(";")[0] if len(lines) > 1 and lines[-1] else fields[0]
        elif roll < 0.15:
            fields[4] = "12,995"  # a tenth of a cent: the row path
        elif roll < 0.18:
            fields[5:8] = ["0,00", "01.11.2026", "30.11.2026"]  # promo price 0: a note
        elif roll < 0.22:
            fields[5:8] = [f"{r.randint(1, 4)},49", "01.11.2026", "30.11.2026"]
        lines.append(";".join(fields))
    path.write_bytes((newline.join(lines) + newline).encode("cp1252"))
    return path


def _items(items) -> tuple[list[dict], list[dict]]:
    offers, rejections = [], []
    for item in items:
        if isinstance(item, OfferBatch):
            offers += [o.model_dump() for o in item.offers()]
        elif isinstance(item, Offer):
            offers.append(item.model_dump())
        else:
            rejections.append(item.model_dump())
    by_line = lambda entry: entry["source"]["line"]  # noqa: E731
    return sorted(offers, key=by_line), sorted(rejections, key=by_line)


@pytest.mark.parametrize("size", [1, 97, 4096, 1 << 30])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_the_parts_of_a_file_read_one_by_one_give_what_the_whole_file_gives(tmp_path, size, newline):
    path = _messy(tmp_path / "filiale.csv", newline=newline)
    whole_notes: list[str] = []
    offers, rejections = _items(store.stream(path, CONFIG, whole_notes))
    duplicates = {r["source"]["line"] for r in rejections if r["withdraws_offer"]}
    assert duplicates and any(r["reason"].startswith("row has 11 fields") for r in rejections)  # the file has them

    notes: list[str] = []
    plan = column_plan(path, CONFIG, notes)
    pieces = parts(path, plan.first_line, size)
    read = [_items(read_part(plan, path, part)) for part in pieces]
    part_offers = sorted((o for o, _ in read for o in o), key=lambda o: o["source"]["line"])
    part_rejections = sorted((r for _, r in read for r in r), key=lambda r: r["source"]["line"])
    assert part_offers == offers  # the duplicates too: the parts leave them to their reader
    assert part_rejections == [r for r in rejections if not r["withdraws_offer"]]
    rows = len(part_offers) + len(part_rejections)
    layouts = [plan.layout]  # read_part counted into the plan's layout (one process here)
    assert notes + part_notes(plan, layouts, rows) == whole_notes
    assert any("promo price 0" in note for note in whole_notes)


def test_parts_cut_at_line_breaks_and_number_their_lines(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"Filiale;SKU;Preis\n" + b"".join(b"1;%d;1,00\n" % i for i in range(100)) + b"1;x;2,00")
    pieces = parts(path, 2, 50)
    data = path.read_bytes()
    assert pieces[0].start == len(b"Filiale;SKU;Preis\n") and pieces[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(pieces, pieces[1:]))
    for part in pieces:
        assert data[part.start - 1:part.start] == b"\n"  # each part begins a line
        assert data.count(b"\n", 0, part.start) + 1 == part.first_line
        assert part.lines == data.count(b"\n", part.start, part.end)
    assert sum(p.lines for p in pieces) == 100  # and the last line, without a break


def test_a_file_with_bare_carriage_returns_is_one_part(tmp_path):
    """An old Mac export ends its lines with CR alone, which pyarrow and Python count as line breaks
    but a cut at LF would not see: the file is read as one part, its lines counted right."""
    path = tmp_path / "mac.csv"
    path.write_bytes(b"Filiale;SKU;Preis\r" + b"".join(b"1;%d;1,00\r" % i for i in range(50)))
    pieces = parts(path, 2, 10)
    assert len(pieces) == 1 and pieces[0].lines == 50
    plan = column_plan(path, CONFIG, [])
    offers, _ = _items(read_part(plan, path, pieces[0]))
    assert [o["source"]["line"] for o in offers] == list(range(2, 52))
