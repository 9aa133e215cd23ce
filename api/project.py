"""A unisono project: a folder with unisono.yaml, rule files and (by default) the SQLite catalog.

    project = Project.open(Path("bergwelt"))
    project.publish("shop", Path("shop_feed.xml"))
    result = project.check(at=datetime(2026, 11, 24, 12, tzinfo=project.config.tz))
"""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from unisono.catalog.db import database_url, open_catalog
from unisono.catalog.live import live
from unisono.catalog.publish import PublishResult, file_sha256, publish
from unisono.catalog.runs import record_run
from unisono.catalog.state import build_live
from unisono.channels import adapter
from unisono.domain.config import CONFIG_FILE, ConfigError, ProjectConfig, load_config
from unisono.domain.findings import Finding, Severity
from unisono.domain.models import InputError
from unisono.rules import EvalContext, Rule, default_rules_path, load_rules, run_rules

CONFIG_TEMPLATE = """\
# unisono project configuration
timezone: {timezone}      # date-only values in channel files are read in this zone
currency: {currency}      # for prices that carry no currency
# database: postgresql+psycopg://user:password@host/unisono   # default: unisono.db in this folder
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
"""


@dataclass
class CheckResult:
    at: datetime
    findings: list[Finding]
    live_offers: dict[str, int]  # channel -> offers live at the instant
    ruleset_hash: str
    rules: int
    rule_titles: dict[str, str] = field(default_factory=dict)
    run_id: int | None = None

    def failing(self, fail_on: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity.rank >= fail_on.rank]

    def summary(self, fail_on: Severity) -> dict:
        by_sev = {s.value: 0 for s in Severity}
        by_rule: dict[str, int] = {}
        for f in self.findings:
            by_sev[f.severity.value] += 1
            by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
        return {
            "at": self.at.isoformat(), "findings": len(self.findings), "by_severity": by_sev,
            "by_rule": by_rule, "fail_on": fail_on.value, "failed": bool(self.failing(fail_on)),
            "live_offers": self.live_offers, "rules": self.rules, "ruleset": self.ruleset_hash,
            "run": self.run_id,
        }


class Project:
    def __init__(self, path: Path, config: ProjectConfig, db_url: str):
        self.path = path
        self.config = config
        self.db_url = db_url
        self._engine: Engine | None = None

    @classmethod
    def open(cls, path: Path, db: str | None = None) -> Project:
        if not path.is_dir():
            raise InputError(f"project folder {path} does not exist (create one with `unisono init {path}`)")
        config = load_config(path)
        return cls(path, config, database_url(path, config.database, db))

    @classmethod
    def init(cls, path: Path, *, timezone_name: str = "Europe/Berlin", currency: str = "EUR") -> Project:
        try:  # validate before anything is written
            ProjectConfig(timezone=timezone_name, currency=currency)
        except ValidationError as e:
            raise ConfigError(e.errors()[0]["msg"].removeprefix("Value error, ")) from None
        path.mkdir(parents=True, exist_ok=True)
        cfg = path / CONFIG_FILE
        if cfg.exists():
            raise InputError(f"{cfg} exists already: this folder is a unisono project")
        cfg.write_text(CONFIG_TEMPLATE.format(timezone=timezone_name, currency=currency), encoding="utf-8")
        (path / "rules").mkdir(exist_ok=True)
        shutil.copyfile(default_rules_path(), path / "rules" / "default.yaml")
        return cls.open(path)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_catalog(self.db_url)
        return self._engine

    def rule_paths(self) -> list[Path]:
        paths: list[Path] = []
        for entry in self.config.rules:
            p = self.path / entry
            if p.is_dir():
                paths += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            elif p.exists():
                paths.append(p)
            else:
                raise InputError(f"rule file or folder {p} does not exist (see `rules:` in {CONFIG_FILE})")
        if not paths:
            raise InputError(f"no rule files in {', '.join(self.config.rules)} (copy the defaults with `unisono init`)")
        return paths

    def publish(self, channel: str, file: Path, *, published_at: datetime | None = None,
                effective_from: datetime | None = None) -> PublishResult:
        if not file.is_file():
            raise InputError(f"{file}: no such file")
        read = adapter(channel)(file, self.config)
        return publish(self.engine, read, source=str(file), sha256=file_sha256(file),
                       published_at=published_at, effective_from=effective_from)

    def check(self, at: datetime | None = None, *, rule_files: list[Path] | None = None,
              record: bool = True) -> CheckResult:
        at = at or datetime.now(timezone.utc)
        rules = load_rules(rule_files or self.rule_paths())
        ruleset_hash = ruleset_digest(rules)
        with self.engine.begin() as conn:
            build_live(conn, at)
            counts = dict(conn.execute(select(live.c.channel, func.count()).group_by(live.c.channel)).all())
            findings = run_rules(conn, rules, EvalContext(at=at, tz=self.config.tz))
        if not counts:  # a gate that passes because nothing was checked would lie
            raise InputError(f"nothing to check: no offers are live at {at.astimezone(self.config.tz).isoformat()} "
                             "(publish channel files first, or check a later --at)")
        result = CheckResult(at=at, findings=findings, live_offers=counts, ruleset_hash=ruleset_hash, rules=len(rules),
                             rule_titles={r.id: r.title for r in rules})
        if record:
            result.run_id = record_run(self.engine, kind="check", at=at, engine_name="sql",
                                       ruleset_hash=ruleset_hash, findings=findings)
        return result


def ruleset_digest(rules: list[Rule]) -> str:
    h = hashlib.sha256()
    for r in rules:
        h.update(r.model_dump_json().encode())
    return h.hexdigest()[:16]
