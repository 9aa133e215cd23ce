"""A unisono project: a folder with unisono.yaml, rule files and (by default) the SQLite catalog.

    project = Project.open(Path("bergwelt"))
    project.publish("shop", Path("shop_feed.xml"))
    result = project.check(at=datetime(2026, 11, 24, 12, tzinfo=project.config.tz))
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
import weakref
from contextlib import closing
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import Engine, func, make_url, select
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from unisono.catalog.db import ReadOnlyCatalog, database_url, driver_hint, log, open_catalog, shown_url
from unisono.catalog.live import live_narrow  # counts and keys: the narrow table, without the view's joins
from unisono.catalog.tables import RejectionRow
from unisono.catalog.runs import store_run
from unisono.catalog.spool import FindingSpool
from unisono.catalog.timeline import change_points
from unisono.catalog.waivers import list_waivers, waiver_for
from unisono.api.results import CheckResult, merge_pieces
from unisono.catalog.state import build_live
from unisono.domain.config import CONFIG_FILE, ConfigError, ProjectConfig, load_config
from unisono.domain.findings import Finding, RuleInfo, location_label
from unisono.domain.models import InputError

timing = logging.getLogger("unisono.timing")  # what each step took, shown by `unisono --verbose`
SCHEMA_FILE = "unisono-rules.schema.json"  # beside the rules, named by their modeline

if TYPE_CHECKING:  # the rules (pydantic models, sqlglot) are imported where they are used: publish needs none,
    from collections.abc import Callable

    from unisono.catalog.publish import PublishResult  # and a check needs no pyarrow (publishing's columns)
    from unisono.rules import Rule

CONFIG_TEMPLATE = """\
# unisono project configuration
timezone: {timezone}      # date-only values in channel files are read in this zone
currency: {currency}      # for prices that carry no currency
# the catalog (relative paths: from this folder); e.g. sqlite:///unisono.db, postgresql+psycopg://user:pw@host/db
database: {database}
rules: [rules]             # rule files or folders, relative to this file

shop:
  location: online         # the shop's location name in findings ("shop:online")

store:
  # For price files whose headers unisono does not recognise, map our fields to your headers:
  # columns: {{store: Markt, sku: Art, price: Preis_VK, promo_price: Preis_Aktion,
  #            promo_from: Start, promo_to: Ende}}
  columns: {{}}

# For newsletter layouts the product-block heuristic gets wrong, CSS selectors relative to each block:
# newsletter:
#   template: {{block: "td.product", link: "a.product-link", title: "h3", price: ".price",
#               reference_price: ".old-price", discount: ".badge"}}
newsletter: {{}}

# What the newsletter's words ("Versandkostenfrei ab 49 €", "Kauf auf Rechnung") are checked against
# where no channel file says it (the claim rules); a reference left out makes its claims undecided:
# claims:
#   free_shipping_threshold: 50          # the shop feed's free_shipping_threshold / g:shipping wins
#   payment_methods: [paypal, invoice]   # invoice, installments, paypal, klarna, credit_card, ...
#   services: [click_collect, free_returns]
#   scopes: {{Winterware: "Bekleidung > Jacken"}}   # claim words that match no category path

# For a catalog on Spark (database: spark:///lake above, or lake: here), where Spark runs and its settings:
# spark:
#   master: local[4]                     # default local[2]; spark://host:7077, yarn, k8s://...
#   options: {{spark.driver.memory: 4g}}   # spark.* settings, given to the SparkSession builder
"""


class Project:
    def __init__(self, path: Path, config: ProjectConfig, db_url: str, read_only: bool = False):
        self.path = path
        self.config = config
        self.db_url = db_url
        self.read_only = read_only  # only read the catalog (open_catalog): commands that write nothing
        self._engine: Engine | None = None

    @classmethod
    def open(cls, path: Path, db: str | None = None, *, read_only: bool = False) -> Project:
        if not path.is_dir():
            raise InputError(f"project folder {path} does not exist (create one with `unisono init {path}`)")
        if not (path / CONFIG_FILE).is_file():  # never a catalog left behind in a folder that is no project
            raise InputError(f"{path} is not a unisono project: it has no {CONFIG_FILE} "
                             f"(create one with `unisono init {path}`, or name the project with --project)")
        config = load_config(path)
        return cls(path, config, database_url(path, config.catalog, db), read_only)

    @classmethod
    def init(cls, path: Path, *, timezone_name: str = "Europe/Berlin", currency: str = "EUR",
             database: str = "duckdb") -> Project:
        """A new project in `path`. `database`: a catalog URL written into unisono.yaml; "duckdb" (the
        default) a DuckDB file in the project folder, "sqlite" a SQLite file there."""
        from unisono.rules import default_rules_path, rules_json_schema

        database = {"duckdb": "duckdb:///catalog.duckdb", "sqlite": "sqlite:///unisono.db"}.get(database, database)
        try:  # validate before anything is written
            currency = ProjectConfig(timezone=timezone_name, currency=currency, database=database).currency
            make_url(database).get_dialect()  # its driver installed: not a project only `init` can open
        except ValidationError as e:
            raise ConfigError(e.errors()[0]["msg"].removeprefix("Value error, ")) from None
        except (ImportError, NoSuchModuleError):
            raise ConfigError(f"--db {shown_url(database)!r}: its database driver is not installed"
                              f"{driver_hint(database)}") from None
        except ArgumentError:
            raise ConfigError(f"--db {shown_url(database)!r} is not a database URL "
                              "(e.g. duckdb:///catalog.duckdb, postgresql+psycopg://user@host/db)") from None
        path.mkdir(parents=True, exist_ok=True)
        cfg = path / CONFIG_FILE
        if cfg.exists():
            raise InputError(f"{cfg} exists already: this folder is a unisono project")
        # a JSON string is a YAML string: any URL, quoted and escaped
        text = CONFIG_TEMPLATE.format(timezone=timezone_name, currency=currency, database=json.dumps(database))
        cfg.write_text(text, encoding="utf-8")
        rules = path / "rules"
        rules.mkdir(exist_ok=True)
        # editors that read the modeline (VS Code's YAML extension, yaml-language-server) complete rules
        (rules / SCHEMA_FILE).write_text(json.dumps(rules_json_schema(), indent=2) + "\n", encoding="utf-8")
        (rules / "default.yaml").write_text(f"# yaml-language-server: $schema={SCHEMA_FILE}\n"
                                            + default_rules_path().read_text(encoding="utf-8"), encoding="utf-8")
        # the default rules' tests beside them (`unisono rules test`): an example to follow when a rule changes
        (rules / "default.test.yaml").write_text(default_rules_path().with_suffix(".test.yaml").read_text(encoding="utf-8"),
                                                 encoding="utf-8")
        return cls.open(path)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_catalog(self.db_url, self.config.spark, read_only=self.read_only)
            # its connections closed when the project is dropped, or at the latest when the process exits
            # (the CLI exits without collecting: cli/main.py), so SQLite checkpoints and removes its WAL
            weakref.finalize(self, self._engine.dispose)
        return self._engine

    def rules(self) -> list[Rule]:
        """The project's rules (its rule files, loaded and checked): an InputError names a bad file."""
        from unisono.rules import load_rules

        return load_rules(self.rule_paths())

    def rule_paths(self) -> list[Path]:
        from unisono.rules.ruleset import TEST_SUFFIXES

        paths: list[Path] = []
        for entry in self.config.rules:
            p = self.path / entry
            if p.is_dir():
                # X.test.yaml beside X.yaml holds the rules' tests (`unisono rules test`), not rules
                paths += sorted(q for q in [*p.glob("*.yaml"), *p.glob("*.yml")] if not q.name.endswith(TEST_SUFFIXES))
            elif p.exists():
                paths.append(p)
            else:
                raise InputError(f"rule file or folder {p} does not exist (see `rules:` in {CONFIG_FILE})")
        if not paths:
            raise InputError(f"no rule files in {', '.join(self.config.rules)} (copy the defaults with `unisono init`)")
        return paths

    def publish(self, channel: str, file: Path, *, published_at: datetime | None = None,
                effective_from: datetime | None = None, location: str | None = None,
                progress: Callable[[PublishResult], None] | None = None) -> PublishResult:
        """Publish one channel file. `location` names what the file does not: the newsletter issue
        (default: the file name, so a corrected issue must keep its name or its location), the
        store of a single-store file, the shop's country. `progress(result)`: the counts so far,
        after each chunk written."""
        from unisono.catalog.publish import file_sha256, publish_stream
        from unisono.channels import ahead, shop_promotions, stream  # (not at the top: a check reads no channel file)

        if not file.is_file():
            raise InputError(f"{file}: {'not a regular file' if file.exists() else 'no such file'}")
        config = self.config
        notes: list[str] = []
        if location and channel == "store":
            from unisono.channels.store_headers import own_store_column

            # the file names its stores: the same bytes are the same publication, whatever --location says
            if column := own_store_column(file, config):
                notes.append(f"--location {location} does not apply: {file.name} names each row's store "
                             f"(column {column!r})")
                location = None
        if location:
            options = getattr(config, channel).model_copy(update={"location": location})
            config = config.model_copy(update={channel: options})
        after = None
        if channel == "newsletter":  # offers whose link names no shop product: matched by image and title
            from unisono.catalog.matching import match_newsletter as after
        elif channel == "shop":  # and again once the shop lists what an earlier newsletter showed
            from unisono.catalog.matching import rematch_newsletters as after
        elif channel == "store":  # SKUs that lost their leading zeros in Excel match nothing: said
            from unisono.catalog.sku_shapes import sku_shapes as after
        try:
            now = datetime.now(timezone.utc)
            when = published_at or now  # (undated, publish_stream dates it itself)
            if published_at is not None and effective_from is None and published_at > now + timedelta(hours=1):
                notes.append(f"{file.name} is dated {published_at.astimezone(config.tz):%d.%m.%Y %H:%M} "
                             "(--published-at), in the future: until then, checks read the channel's previous "
                             "files (--effective-from stages a file on purpose)")
            if effective_from is not None and effective_from < when:  # said, since it rewrites the past
                notes.append(f"{file.name} goes live {effective_from.astimezone(config.tz):%d.%m.%Y %H:%M}, before it "
                             f"was published ({when.astimezone(config.tz):%d.%m.%Y %H:%M}): the catalog's "
                             "history now shows its prices as live since then (--effective-from)")
            started = time.perf_counter()
            identity = _identity(file)  # before anything reads it: the hash, the readers, the helpers
            if channel == "shop" and shop_promotions.looks_like(file):  # the shop's Merchant Promotions feed
                entries = shop_promotions.stream(file, config, notes)
            elif channel == "store" and self.engine.dialect.name == "spark" and \
                    (on_executors := _executor_read(file, config, notes)):  # read by Spark's executors
                entries = (entry for entry in [on_executors])
            elif channel != "newsletter" and ahead.worth_it(file):  # large: read by a second process, from now
                entries = ahead.stream(channel, file, config, notes)
            else:
                entries = stream(channel, file, config, notes, when)
            with closing(entries):  # (the same bytes stored already: nothing is read)
                result = publish_stream(self.engine, channel, _unchanged(file, identity, entries),
                                        notes=notes, source=str(file), sha256=file_sha256(file),
                                        published_at=published_at, effective_from=effective_from,
                                        progress=progress, after=after, location=location)
            timing.info("read and stored %s: %d offers, %d rejections in %.2f s", file.name, result.offers,
                        result.rejections, time.perf_counter() - started)
            return result
        except InputError as e:
            from unisono.api.file_kinds import wrong_channel_hint

            hint = wrong_channel_hint(channel, file)
            raise InputError(f"{e}; {hint}" if hint else str(e)) from None

    def withdraw(self, publication_id: int):
        """Remove a publication made by mistake with all it brought (catalog/publications.py)."""
        from unisono.catalog.publications import withdraw_publication

        withdrawn = withdraw_publication(self.engine, publication_id)
        if withdrawn is None:
            raise InputError(f"no publication #{publication_id} (`unisono publications` lists them)")
        return withdrawn

    def check(self, at: datetime | None = None, *, window: tuple[datetime, datetime] | None = None,
              rule_files: list[Path] | None = None, rules: list[Rule] | None = None, engine: str = "sql",
              record: bool = True, kind: str = "check") -> CheckResult:
        """Evaluate the rules as of an instant, or over a window cut at every change point. The
        findings go to a spool as the rules find them (catalog/spool.py), from there into the run's
        table and to the outputs: the result's findings, waived and undecided are read from it."""
        from unisono.reports.jsonfile import finding_line
        from unisono.rules import load_rules

        rules = rules if rules is not None else load_rules(rule_files or self.rule_paths())
        at = (window[0] if window else at) or datetime.now(timezone.utc)
        spool = FindingSpool(render=finding_line)  # (JSON output then writes the lines as they were made)
        if kind == "reconcile":  # new or open: by the fingerprints of the runs it is compared with
            from unisono.catalog.runs import baseline_runs, iter_fingerprints

            baseline = baseline_runs(self.engine, "reconcile", at)
            spool.set_baseline(iter_fingerprints(self.engine, baseline))
        waivers = list_waivers(self.engine)
        with self.engine.begin() as conn:
            cuts = [window[0], *self._cuts(conn, rules, *window), window[1]] if window else [at, None]
            cuts = [t.astimezone(self.config.tz) if t else t for t in cuts]  # intervals read in local time
            pieces, live_offers = [], {}
            for start, end in zip(cuts, cuts[1:]):
                started = time.perf_counter()
                n = build_live(conn, start)
                timing.info("live offers as of %s: %d in %.2f s", start.isoformat(), n, time.perf_counter() - started)
                for channel, n in conn.execute(select(live_narrow.c.channel, func.count()).group_by(live_narrow.c.channel)
                                               .order_by(live_narrow.c.channel)):  # (DuckDB groups in no order)
                    live_offers[channel] = max(n, live_offers.get(channel, 0))
                found = self._run_rules(conn, rules, start, engine)
                if window:
                    pieces.append((start, end, list(found)))
                else:  # an instant: each finding to the spool as it comes
                    for part, f in _parts(found, waivers, start):
                        spool.add(part, f)
            rejected = conn.execute(select(func.count()).select_from(RejectionRow.__table__).where(
                RejectionRow.__table__.c.publication_id.in_(select(live_narrow.c.publication_id).distinct()))).scalar_one()
        if not live_offers:  # a gate that passes because nothing was checked would lie
            local = lambda t: f"{t.astimezone(self.config.tz):%d.%m.%Y %H:%M %Z}"  # noqa: E731
            when = f"between {local(cuts[0])} and {local(cuts[-1])}" if window else f"at {local(at)}"
            raise InputError(f"nothing to check: no offers are live {when} "
                             "(publish channel files first, or check a later instant)")
        if window:
            _merge_into(spool, pieces, waivers)
        if kind == "reconcile":  # resolved: found by the last runs, neither found nor waived now
            from unisono.catalog.runs import run_findings

            ran = {r.id for r in rules}  # a rule removed or not run (--rule) fixed nothing
            spool.add_resolved(lambda fingerprints: (f for f in run_findings(self.engine, baseline, fingerprints)
                                                     if f.rule in ran))
        result = CheckResult(kind=kind, at=at, window_end=window[1] if window else None,
                             findings=spool.view("findings"), waived=spool.view("waived"),
                             undecided=spool.view("undecided"), live_offers=live_offers,
                             ruleset_hash=ruleset_digest(rules), rule_titles={r.id: r.title for r in rules},
                             pieces=len(pieces) or 1, rejected_rows=rejected,
                             rules=[RuleInfo(id=r.id, title=r.title, kind=r.kind, severity=r.severity) for r in rules])
        if record:
            try:
                result.run_id = store_run(self.engine, kind=kind, at=at, window_end=result.window_end,
                                          engine_name=engine, ruleset_hash=result.ruleset_hash,
                                          counts=spool.run_counts(), rows=spool.stored_rows(), rules=result.rules)
            except ReadOnlyCatalog as e:  # a check still gates (a reconcile exists to be recorded: it fails)
                if kind == "reconcile":
                    raise
                log.warning("warning: the run was not recorded: %s", e)
        return result

    def recheck(self, publication_id: int, at: datetime | None = None,
                rules: list[Rule] | None = None) -> tuple[list[Finding], list[Finding]]:
        """Live re-check after a publish: the findings, as of `at` (default now), for the products
        that publication touched, through the rete engine (only those keys are matched), and the
        claims that name one of them or one of its locations ("20 % auf alle Schuhe" not granted in a
        store whose file this was); and apart from them those a waiver in force then covers."""
        from unisono.rules import EvalContext, run_rules
        from unisono.rules.rete import recheck_keys

        at = at or datetime.now(timezone.utc)
        rules = self.rules() if rules is None else rules
        ctx = EvalContext(at=at, tz=self.config.tz, config=self.config)
        with self.engine.begin() as conn:
            build_live(conn, at)
            mine = live_narrow.c.publication_id == publication_id
            keys = set(conn.execute(select(live_narrow.c.key).where(mine).distinct()).scalars())
            places = {location_label(c, loc) for c, loc in conn.execute(
                select(live_narrow.c.channel, live_narrow.c.location).where(mine).distinct())}
            found = recheck_keys(conn, [r for r in rules if r.kind != "claim"], ctx, keys)
            claims = [r for r in rules if r.kind == "claim"]
            found += [f for f in (run_rules(conn, claims, ctx) if claims else [])
                      if not keys.isdisjoint(f.products) or not places.isdisjoint(f.locations)]
        in_force = [w for w in list_waivers(self.engine) if w.until is None or w.until > at]
        findings, waived = [], []
        for f in found:
            if not f.judged:
                continue
            if (w := waiver_for(f, in_force)):
                f.extra["waiver"] = f"#{w.id}: {w.reason}"
                waived.append(f)
            else:
                findings.append(f)
        return findings, waived

    def reconcile(self, at: datetime | None = None, *, engine: str = "sql") -> CheckResult:
        """Check what is live, store the run, and mark each finding new, open or resolved
        against the previous reconcile run (by fingerprint: rule, product, locations)."""
        return self.check(at, engine=engine, kind="reconcile")

    def _cuts(self, conn, rules: list[Rule], start: datetime, end: datetime) -> list[datetime]:
        """Where the window is cut: the catalog's change points, waivers expiring, and the bounds of
        promotion rules (a campaign starts and ends whether or not a channel's prices change then)."""
        points = set(change_points(conn, start, end))
        points |= {w.until for w in list_waivers(self.engine) if w.until and start < w.until < end}
        for rule in rules:
            if hasattr(rule, "window_bounds"):
                points |= {t for t in rule.window_bounds(self.config.tz) if start < t < end}
        return sorted(points)

    def _run_rules(self, conn, rules: list[Rule], at: datetime, engine: str) -> Iterable[Finding]:
        from unisono.rules.evaluate import EvalContext, each_finding

        ctx = EvalContext(at=at, tz=self.config.tz, config=self.config)
        if engine == "rete":
            from unisono.rules.rete.engine import run_rules_rete

            return run_rules_rete(conn, rules, ctx)
        if engine != "sql":
            raise InputError(f"unknown engine {engine!r} (sql or rete)")
        return each_finding(conn, rules, ctx)

    def waive(self, rule: str, sku: str, *, reason: str, location: str | None = None,
              until: datetime | None = None, force: bool = False) -> int:
        """Accept findings of `rule` for `sku` (at `location`) until `until`; a rule or location the
        catalog does not know, or an expiry already past, is refused unless `force` (api/waivers.py)."""
        from unisono.api import waivers

        return waivers.waive(self, rule, sku, reason=reason, location=location, until=until,
                             until_text=until.isoformat() if until else "", force=force)


def _parts(found: Iterable[Finding], waivers: list, at: datetime) -> Iterator[tuple[str, Finding]]:
    """Each finding with the part of the result it belongs to: undecided (the rule could not judge),
    waived (a waiver in force at `at` covers it, and says so in the finding), or findings."""
    in_force = [w for w in waivers if w.until is None or w.until > at]
    for f in found:
        if not f.judged:
            yield "undecided", f
        elif (w := waiver_for(f, in_force)):
            f.extra["waiver"] = f"#{w.id}: {w.reason}"
            yield "waived", f
        else:
            yield "findings", f


def _merge_into(spool: FindingSpool, pieces: list[tuple[datetime, datetime, list[Finding]]], waivers: list) -> None:
    """A window's findings, each piece's split apart before merging (so a waiver expiring inside the
    window, a cut point, leaves the rest of the interval failing), merged over adjacent pieces. (A
    window's findings are held while merged: the spool sorts them.)"""
    split: dict[str, list] = {"findings": [], "waived": [], "undecided": []}
    for start, end, found in pieces:
        parts: dict[str, list[Finding]] = {name: [] for name in split}
        for part, f in _parts(found, waivers, start):
            parts[part].append(f)
        for name, fs in parts.items():
            split[name].append((start, end, fs))
    for name, name_pieces in split.items():
        spool.add_all(name, merge_pieces(name_pieces))


def ruleset_digest(rules: list[Rule]) -> str:
    h = hashlib.sha256()
    for r in rules:
        h.update(r.model_dump_json().encode())
    return h.hexdigest()[:16]


def _identity(file: Path) -> tuple[int, int, int, int]:
    """What tells one version of a file from another: its inode (a new file renamed over it), size
    and modification time (written in place)."""
    st = file.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _executor_read(file: Path, config, notes: list[str]):
    from unisono.api.spark_publish import executor_read

    return executor_read(file, config, notes)


def _unchanged(file: Path, identity: tuple, entries: Iterable) -> Iterator:
    """`entries`, then a check that the file is still the version it was when publishing began:
    the hash and every reading process (a large file is read by several, each opening it by name)
    must have seen the same bytes. Raised before the commit, so the catalog stays as it was."""
    yield from entries
    try:
        same = _identity(file) == identity
    except OSError:
        same = False
    if not same:
        raise InputError(f"{file} changed while it was published (replaced or written to): nothing was "
                         "stored; publish it again once the file is complete")
