"""A store file published into a Spark catalog: read in parts by Spark's executors, in parallel.

The driver reads only what the header and the first rows tell (store_parts.column_plan) and cuts the file
into parts of whole lines (store_parts.parts, one pass counting line breaks). Each part is a Spark
task that runs the store adapter's own column reader on its bytes (store_parts.read_part: the same cell
parsers, the same offers, the same rejections with the same reasons and lines) and writes its offers
as a Parquet file of the offer table into the publication's folder, numbered by their line. What a
task cannot write as columns (offers of the row path, rejections) comes back to the driver, which
stores it as on one machine. Duplicate rows (a second offer for a store and sku) span parts, so they
are found afterwards, from the 64-bit key hashes each task returns (8 bytes an offer): only offers
whose hash repeats are read back, compared by their text, rejected as one machine words them, and
taken out of the files that hold them.

The executors run unisono's own Python: it must be installed where they run (in local mode, the
driver's interpreter; on a cluster, see the README's "Running on a cluster").
"""
from __future__ import annotations

import os
import uuid
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from unisono.catalog.offer_stream import batch_table
from unisono.catalog.publish import attributed, pc_value_counts
from unisono.catalog.spark_store import ROW_GROUP, arrow_schema, shaped
from unisono.catalog.tables import OfferRow
from unisono.channels import store, store_parts
from unisono.channels.store_cells import hashes
from unisono.channels.store_columns import duplicate_reason, offer_keys, raw_lines
from unisono.channels.store_parts import ColumnPlan, Part, parts
from unisono.domain.batch import ExecutorRead, OfferBatch, Written
from unisono.domain.config import ProjectConfig
from unisono.domain.models import InputError, Offer, Rejection, SourceRef

PART_BYTES = 32 << 20  # ~230,000 rows of a typical store export: a task of a few seconds


def executor_read(path: Path, config: ProjectConfig, notes: list[str]) -> ExecutorRead | None:
    """The file as read by Spark's executors, or None when it must be read whole on the driver
    (quoted line breaks, UTF-16, a very wide file: store.stream)."""
    path = path.absolute()  # an executor works in a folder of its own; (not resolved: offers name the file as given)
    said: list[str] = []  # (the driver's own read says them again)
    plan = store_parts.column_plan(path, config, said)
    if plan is None:
        return None
    notes.extend(said)
    pieces = parts(path, plan.first_line, PART_BYTES)
    lines = sum(p.lines for p in pieces) + 1
    return ExecutorRead(lines=lines, run=partial(_run, plan, path, pieces, notes))


def _run(plan: ColumnPlan, path: Path, pieces: list[Part], notes: list[str], folder: str, pub_id: int,
         first_id: int) -> Written:
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    tasks = [(plan, str(path), part, folder, pub_id, first_id, i) for i, part in enumerate(pieces)]
    done = spark.sparkContext.parallelize(tasks, len(tasks)).map(_read_part).collect() if tasks else []
    if failed := next((d["error"] for d in done if d["error"]), None):
        raise InputError(failed)
    rest = [entry for d in done for entry in d["rest"]]
    duplicates = _duplicates(spark, done, [e for e in rest if isinstance(e, Offer)], plan, path, first_id)
    if duplicates:  # taken out of what the tasks wrote, file by file: the rest stays as it was written
        lines = {r.source.line for r in duplicates}
        rest = [e for e in rest if not (isinstance(e, Offer) and e.source.line in lines)]
        for d in done:
            _withdraw(d, {first_id + line - plan.first_line for line in lines})
        rest += duplicates
    notes.extend(store_parts.part_notes(plan, [d["layout"] for d in done], sum(d["rows"] for d in done)))
    per_location: Counter = Counter()
    for d in done:
        per_location.update(d["per_location"])
    return Written(files=sum(d["file"] is not None for d in done), offers=sum(d["offers"] for d in done),
                   attributed=sum(d["attributed"] for d in done), per_location=dict(per_location), rest=rest)


def _read_part(task: tuple) -> dict:
    """On an executor: one part read and its offers written as one Parquet file of the offer table
    (under a temporary name, renamed when complete: a task Spark runs again replaces it whole)."""
    plan, path, part, folder, pub_id, first_id, index = task
    schema = arrow_schema(OfferRow.__table__)
    out = {"file": None, "offers": 0, "attributed": 0, "per_location": Counter(), "rest": [], "rows": 0,
           "layout": plan.layout, "error": None}
    reader = store_parts.part_reader(plan, part)
    final = Path(folder) / f"exec-{index:05d}.parquet"
    temporary = _hidden(final)
    writer = None
    try:
        for item in store_parts.read_part(plan, Path(path), part, reader):
            if not isinstance(item, OfferBatch):
                out["rest"].append(item)
                out["rows"] += 1
                continue
            table = batch_table(pub_id, item)
            ids = pc.add(item.table["line"], pa.scalar(first_id - plan.first_line, pa.int64()))
            writer = writer or pq.ParquetWriter(str(temporary), schema)
            writer.write_table(shaped(table.append_column("id", ids), schema), row_group_size=ROW_GROUP)
            out["per_location"].update(dict(zip(*pc_value_counts(item.table["location"]))))
            out["offers"] += len(item)
            out["rows"] += len(item)
            out["attributed"] += attributed(item.table)
    except InputError as e:
        out["error"] = str(e)
    except OSError as e:  # on a cluster: a file on the driver's disk only
        out["error"] = (f"{Path(path).name}: an executor could not read it at {path} ({e.strerror or e}): on a "
                        "cluster the channel file and the lake must be in a folder every executor sees at the same path")
    finally:
        if writer is not None:
            writer.close()
    out["hashes"], out["lines"] = reader.key_hashes()  # of every offer read, for the duplicates
    if writer is not None and out["error"] is None:
        os.replace(temporary, final)
        out["file"] = str(final)
    else:
        temporary.unlink(missing_ok=True)
    return out


def _withdraw(done: dict, ids: set[int]) -> None:
    """The offers of these ids taken out of a part's file (rewritten, then renamed over it) and its counts."""
    if done["file"] is None:
        return
    table = pq.read_table(done["file"])
    gone = pc.is_in(table["id"], pa.array(sorted(ids), pa.int64()))
    if not pc.any(gone).as_py():
        return
    removed = table.filter(gone)
    done["offers"] -= removed.num_rows
    done["attributed"] -= attributed(removed)
    done["per_location"].subtract(dict(zip(*pc_value_counts(removed["location"]))))
    temporary = _hidden(Path(done["file"]))
    pq.write_table(table.filter(pc.invert(gone)), temporary, row_group_size=ROW_GROUP)
    os.replace(temporary, done["file"])


def _hidden(file: Path) -> Path:
    """Where a file is written before it is renamed into place (Spark skips names starting with a dot)."""
    return file.with_name(f".{file.stem}-{uuid.uuid4().hex[:8]}{file.suffix}")


def _duplicates(spark, done: list[dict], offers: list[Offer], plan: ColumnPlan,
                path: Path, first_id: int) -> list[Rejection]:
    """A second offer for the same store and sku (or EAN, without a sku), anywhere in the file, as
    store.stream rejects it: the first stays, each later one is a rejection. The parts' 64-bit key
    hashes show which offers may share a key; only those are read back (by id, joined) and compared
    by their text (a shuffle of every key instead took 9 s at 5M offers)."""
    from pyspark.sql import functions as F

    rest = OfferBatch.from_offers(store.CHANNEL, plan.layout.name, offers).table  # (the row path's offers)
    none = np.zeros(0, dtype=np.int64)
    hashed = np.concatenate([none, *(d["hashes"] for d in done), *([hashes(offer_keys(rest))] if offers else [])])
    lines = np.concatenate([none, *(d["lines"] for d in done), *([rest["line"].to_numpy()] if offers else [])])
    ordered = np.sort(hashed)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return []
    wanted = lines[np.isin(hashed, repeated)]
    columns = rest.select(["location", "sku", "gtin", "line"])
    candidates = [columns.filter(pc.is_in(rest["line"], pa.array(wanted)))]
    if files := [f"file://{d['file']}" for d in done if d["file"]]:
        shift = first_id - plan.first_line  # id = line + shift
        ids = spark.createDataFrame(pa.table({"id": wanted + shift}))
        written = spark.read.parquet(*files).join(ids, "id") \
            .select("location", "sku", "gtin", (F.col("id") - shift).alias("line")).toArrow()
        candidates.append(written.cast(columns.schema))
    candidates = pa.concat_tables(candidates)
    first: dict[str, int] = {}
    found = []
    for key, number in sorted(zip(offer_keys(candidates).to_pylist(), candidates["line"].to_pylist()),
                              key=lambda pair: pair[1]):
        if first.setdefault(key, number) != number:
            found.append((number, key))
    raw = raw_lines(path, plan.encoding, {number for number, _ in found}) if found else {}
    return [Rejection(channel=store.CHANNEL, source=SourceRef(file=plan.layout.name, line=number),
                      reason=duplicate_reason(*key.split("\x1f"), first[key]), raw=raw.get(number))
            for number, key in found]
