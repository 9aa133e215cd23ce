"""A large file read in a second process (channels/ahead.py) gives what the adapter gives in this
one, in the same order: offers, rejections (duplicates withdrawing earlier offers), notes, errors;
and publishing through it stores the same catalog."""
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select

from unisono.api.project import Project
from unisono.catalog.tables import OfferRow, RejectionRow
from unisono.channels import ahead, stream
from unisono.demo.generator import generate
from unisono.domain.batch import OfferBatch
from unisono.domain.config import ProjectConfig
from unisono.domain.models import InputError

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = ProjectConfig()


def entries(items) -> list:
    """Batches as their rows, everything else as itself: comparable across processes."""
    return [("batch", e.table.to_pylist()) if isinstance(e, OfferBatch) else e for e in items]


@pytest.mark.parametrize("channel, file", [
    ("store", FIXTURES / "store" / "with_rejections.csv"),
    ("store", FIXTURES / "store" / "filialpreise_cp1252.csv"),
    ("shop", FIXTURES / "shop" / "rejections.xml"),
    ("shop", FIXTURES / "shop" / "feed.tsv"),
])
def test_a_second_process_yields_what_the_adapter_yields(channel, file):
    here_notes, there_notes = [], []
    here = entries(stream(channel, file, CONFIG, here_notes))
    there = entries(ahead.stream(channel, file, CONFIG, there_notes))
    assert there == here and there_notes == here_notes


def test_duplicate_rows_found_at_the_end_withdraw_offers_across_the_pipe(tmp_path):
    path = tmp_path / "prices.csv"
    rows = "".join(f"1001;A{i};{i},99\n" for i in range(2000)) + "1001;A7;1,00\n"
    path.write_text("Filiale;Artikelnummer;VK-Preis\n" + rows, encoding="utf-8")
    here, there = entries(stream("store", path, CONFIG, [])), entries(ahead.stream("store", path, CONFIG, []))
    assert there == here
    withdrawn = [e for e in there if not isinstance(e, tuple) and e.withdraws_offer]
    assert [(w.source.line, w.reason) for w in withdrawn] == [
        (2002, "duplicate row for store 1001 and sku A7 (first at line 9)")]


def test_an_unreadable_file_gives_the_adapters_error(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("Filiale;Artikelnummer;Bemerkung\n1001;A1;x\n", encoding="utf-8")
    with pytest.raises(InputError) as here:
        list(stream("store", path, CONFIG, []))
    with pytest.raises(InputError) as there:
        list(ahead.stream("store", path, CONFIG, []))
    assert str(there.value) == str(here.value)


def test_publishing_through_a_second_process_stores_the_same_catalog(tmp_path, monkeypatch):
    data = tmp_path / "data"
    generate(data, skus=600, stores=3, seed=11)

    def catalog(name: str) -> tuple[list, list]:
        project = Project.init(tmp_path / name)
        for channel, file in (("shop", "shop_feed.xml"), ("store", "store_prices.csv")):
            project.publish(channel, data / file)
        with project.engine.connect() as conn:
            o, r = OfferRow.__table__, RejectionRow.__table__
            offers = conn.execute(select(*[c for c in o.c if c.name != "id"]).order_by(o.c.id)).all()
            rejections = conn.execute(select(r.c.source, r.c.line, r.c.reason).order_by(r.c.id)).all()
        return offers, rejections

    one = catalog("here")
    monkeypatch.setattr(ahead, "AHEAD_FROM", 0)
    two = catalog("there")
    assert two == one and len(one[0]) > 600


@pytest.mark.parametrize("second_process", [False, True])
@pytest.mark.parametrize("how", ["renamed over", "written in place"])
def test_a_file_changed_while_it_is_published_is_refused_and_nothing_is_stored(
        tmp_path, monkeypatch, second_process, how):
    """An export job replacing the file mid-publish must not leave a publication made of two versions:
    the readers (and the hash) may each have seen another one."""
    if second_process:
        monkeypatch.setattr(ahead, "AHEAD_FROM", 0)
    path = tmp_path / "prices.csv"
    path.write_text("Filiale;Artikelnummer;VK-Preis\n" + "".join(f"1001;A{i};{i},99\n" for i in range(50)))
    project = Project.init(tmp_path / "p")

    def change(_result) -> None:  # called after each batch stored
        newer = "Filiale;Artikelnummer;VK-Preis\n1001;A1;5,00\n"
        if how == "renamed over":
            (tmp_path / "new.csv").write_text(newer)
            (tmp_path / "new.csv").replace(path)
        else:
            path.write_text(newer)

    with pytest.raises(InputError, match=r"prices.csv changed while it was published .*nothing was stored"):
        project.publish("store", path, progress=change)
    with project.engine.connect() as conn:
        assert conn.execute(select(OfferRow.__table__.c.id)).first() is None
    assert project.publish("store", path).offers == 1  # the complete new version, once it stands


def test_the_same_bytes_published_again_stop_the_reader_that_started_at_once(tmp_path, monkeypatch):
    """The second process starts reading while the file is hashed; a file stored already is not read,
    and its reader does not outlive the publish."""
    monkeypatch.setattr(ahead, "AHEAD_FROM", 0)
    started = []
    monkeypatch.setattr(ahead.stream, "__init__", _recording(ahead.stream.__init__, started))
    path = tmp_path / "prices.csv"  # more than a pipe holds: a reader nobody reads from waits forever
    path.write_text("Filiale;Artikelnummer;VK-Preis\n" + "".join(f"1001;A{i};{i},99\n" for i in range(20000)))
    project = Project.init(tmp_path / "p")
    assert not project.publish("store", path).duplicate
    again = project.publish("store", path)
    assert again.duplicate and again.offers == 0
    assert len(started) == 2 and all(reader.child.poll() is not None for reader in started)


def _recording(init, started: list):
    def recorded(self, *args, **kwargs):
        init(self, *args, **kwargs)
        started.append(self)
    return recorded
