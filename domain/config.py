"""Project configuration (unisono.yaml): the timezone, the default currency, adapter options, Spark's settings."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from unisono.domain.claims import PAYMENT_METHODS, SERVICES
from unisono.domain.models import is_currency_code
from unisono.domain.yaml_limits import load_limited

CONFIG_FILE = "unisono.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("currency", check_fields=False)
    @classmethod
    def _iso_currency(cls, v: str | None) -> str | None:
        """A currency option is an ISO 4217 code ("eur" reads EUR): "EURO" or "€" would make every
        price a different currency from the channels' EUR."""
        if v is None:
            return v
        if not is_currency_code(v.strip()):
            raise ValueError(f"unknown currency {v!r} (an ISO 4217 code such as EUR, CHF or GBP)")
        return v.strip().upper()


class ShopOptions(_Strict):
    location: str = "online"  # what the feed's offers are keyed by inside the shop channel
    currency: str | None = None  # for feeds whose prices carry no currency; default: the project's


class StoreOptions(_Strict):
    # our field -> the header in the retailer's file, for layouts the built-in header names miss.
    # fields: store, sku, gtin, title, price, promo_price, promo_from, promo_to, currency, availability
    columns: dict[str, str] = Field(default_factory=dict)
    location: str | None = None  # for files without a store column: the store they belong to
    currency: str | None = None


class NewsletterTemplate(_Strict):
    """CSS selectors for a newsletter layout the heuristic gets wrong. All relative to `block`."""

    block: str
    link: str | None = "a[href]"
    title: str | None = None
    price: str | None = None
    reference_price: str | None = None
    discount: str | None = None
    sku: str | None = None


class NewsletterOptions(_Strict):
    location: str | None = None  # the issue name; default: the file name without extension
    currency: str | None = None
    # days an email that states no validity advertises its offers after it was sent (0: until the
    # location's next newsletter); an old issue published as history then stops being live
    valid_days: int = Field(14, ge=0, le=3660)
    template: NewsletterTemplate | None = None


class ClaimReferences(_Strict):
    """What the shop really does, for the claims the `claim` rule checks where no channel file says it.
    A reference left out makes the claims about it undecided, never guessed."""

    free_shipping_threshold: Decimal | None = None  # order value from which the shop ships free (0: always)
    currency: str | None = None  # of the threshold; default: the project's
    payment_methods: list[str] | None = None  # invoice, installments, paypal, klarna, credit_card, ...
    services: list[str] | None = None  # click_collect, free_returns, made_in_germany, ...
    # claim words -> category paths, for words that match no category of the feed by themselves
    scopes: dict[str, str | list[str]] = Field(default_factory=dict)

    @field_validator("payment_methods", "services")
    @classmethod
    def _known(cls, v: list[str] | None, info) -> list[str] | None:
        known = PAYMENT_METHODS if info.field_name == "payment_methods" else SERVICES
        for name in v or []:
            if name not in known:
                raise ValueError(f"unknown {info.field_name[:-1].replace('_', ' ')} {name!r} (known: {', '.join(known)})")
        return v


# what Spark takes as a master: local mode, a standalone cluster, YARN, Kubernetes (a typo stops here, with
# the config file's name, not in the middle of Spark's start)
_MASTER = re.compile(r"local(\[(\d+|\*)(,\s*\d+)?\])?|local-cluster\[\d+,\s*\d+,\s*\d+\]|yarn|(spark|k8s|mesos)://\S+")


class SparkOptions(_Strict):
    """Where a Spark catalog runs (`database: spark:///folder`, --db spark:///folder, or `lake:` here):
    the master, the lake's folder, and Spark's own settings, given to the SparkSession builder as they are."""

    master: str | None = None  # default local[2] (bound to 127.0.0.1); under spark-submit: its --master
    lake: str | None = None  # the catalog's folder (relative: from the project folder), instead of database:
    # spark.* keys; numbers and true/false are written as Spark reads them (8, true)
    options: dict[str, str] = Field(default_factory=dict)

    @field_validator("master")
    @classmethod
    def _known_master(cls, v: str | None) -> str | None:
        if v is not None and not _MASTER.fullmatch(v.strip()):
            raise ValueError(f"{v!r} is not a Spark master URL (local[2], local[*], spark://host:7077, yarn, "
                             "k8s://https://host:443)")
        return v.strip() if v else v

    @field_validator("lake")
    @classmethod
    def _a_path(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("an empty lake path (name the catalog's folder, e.g. lake)")
        return v

    @field_validator("options", mode="before")
    @classmethod
    def _spark_settings(cls, v):
        if not isinstance(v, dict):
            return v  # (pydantic says it is no mapping)
        settings = {}
        for key, value in v.items():
            if key == "spark.master":
                raise ValueError("spark.master is set by `master:` beside `options:`, not among them")
            if not isinstance(key, str) or not key.startswith("spark."):
                raise ValueError(f"{key!r} is not a Spark setting (their names begin with spark., e.g. "
                                 "spark.executor.memory)")
            if isinstance(value, bool):  # YAML's true/false, as Spark spells them
                value = str(value).lower()
            elif isinstance(value, (int, float, str)):
                value = str(value)
            else:
                raise ValueError(f"{key}: {'no value' if value is None else type(value).__name__ + ' ' + repr(value)}: "
                                 "a Spark setting is text, a number, true or false")
            settings[key] = value
        return settings

    def folder_url(self) -> str | None:
        """`lake:` as a catalog URL (spark:///lake: a relative path, read from the project folder later)."""
        return f"spark:///{self.lake}" if self.lake else None


class ProjectConfig(_Strict):
    timezone: str = "Europe/Berlin"
    currency: str = "EUR"
    database: str | None = None  # SQLAlchemy URL; default: sqlite file in the project folder
    rules: list[str] = Field(default_factory=lambda: ["rules"])  # files or folders, relative to the project
    shop: ShopOptions = Field(default_factory=ShopOptions)
    store: StoreOptions = Field(default_factory=StoreOptions)
    newsletter: NewsletterOptions = Field(default_factory=NewsletterOptions)
    claims: ClaimReferences = Field(default_factory=ClaimReferences)
    spark: SparkOptions = Field(default_factory=SparkOptions)  # for a catalog kept on Spark

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r} (use an IANA name such as Europe/Berlin)") from None
        return v

    @model_validator(mode="after")
    def _one_catalog(self) -> ProjectConfig:
        if self.spark.lake and self.database:
            raise ValueError(f"database ({self.database!r}) and spark.lake ({self.spark.lake!r}) both name the catalog: "
                             "keep one (database: spark:///folder is the same as spark.lake: folder)")
        return self

    @property
    def catalog(self) -> str | None:
        """The catalog's URL this file names: `database:`, or `spark.lake:` as a spark: URL."""
        return self.database or self.spark.folder_url()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ConfigError(Exception):
    pass


def load_config(project: Path) -> ProjectConfig:
    path = project / CONFIG_FILE
    if not path.exists():
        return ProjectConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:  # a config saved in a Windows code page, or no text at all
        line = path.read_bytes()[:e.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{e.object[e.start]:02x}); save it as UTF-8") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the file ({e.strerror or e})") from None
    try:
        data = load_limited(text) or {}
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise ConfigError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}".replace("\n", " ")) from None
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {where + ': ' if where else ''}{err['msg'].removeprefix('Value error, ')}") from None
