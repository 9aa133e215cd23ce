"""The `unisono` command: a thin face over unisono.api.

Exit codes: 0 nothing at or above the fail level; 1 findings at or above it; 2 bad usage or bad
input, with a one-line message and never a traceback (UNISONO_DEBUG=1 shows it).
"""
from __future__ import annotations

import gc
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from unisono.cli.terminal import echo, show_log_lines, visible

# Everything else is imported inside the command that uses it: `unisono --help` and every
# `unisono COMMAND --help` load click and nothing of the catalog, the rules or pydantic
# (tests/test_cli.py keeps it so). The choices below are therefore spelled out here; the same
# test checks them against unisono.domain.models.CHANNELS and unisono.domain.findings.Severity.
CHANNELS = ("shop", "store", "newsletter")
SEVERITIES = ("info", "warning", "error", "blocker")

# The errors a user caused, shown as one line (module, class). Looked up in sys.modules when
# something fails: a module not imported yet cannot have raised its error.
USER_ERRORS = (
    ("unisono.domain.models", "InputError"),
    ("unisono.domain.config", "ConfigError"),
    ("unisono.catalog.db", "CatalogError"),
    ("unisono.rules.ruleset", "RuleError"),
    ("unisono.rules.rete.engine", "ReteEngineError"),
)


def _loaded_error(e: Exception, module: str, name: str) -> bool:
    cls = getattr(sys.modules.get(module), name, None)
    return isinstance(cls, type) and isinstance(e, cls)


class UnisonoError(click.ClickException):
    exit_code = 2

    def __init__(self, message: str):  # messages quote file content: nothing in it reaches the terminal raw
        super().__init__(visible(message))


MACHINE_OUTPUT = "unisono.machine_output"  # ctx.meta: the command was asked for --format json/csv/md on stdout


class Unisono(click.Group):
    """Turns every failure into one line and exit code 2; takes -q/-v after the command too."""

    EVERYWHERE = ("-q", "--quiet", "-v", "--verbose")  # the group's flags, as users also type them

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        """As click's, but a usage error is one line too ("Error: No such option '-x' (see `unisono
        check --help`)"), not click's usage, hint and blank line."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as e:  # plain `unisono`: its help, as click shows it
            e.show()
            sys.exit(e.exit_code)
        except click.UsageError as e:
            where = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
            click.echo(f"Error: {e.format_message()}{where}", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except click.Abort as e:
            if isinstance(e.__cause__, KeyboardInterrupt):  # ^C (click turns it into Abort): the shell's code
                click.echo("Interrupted.", err=True)  # (a publish is stored whole or not at all)
                sys.exit(130)
            click.echo("Aborted!", err=True)
            sys.exit(1)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """`unisono publish shop f.xml -q` as `unisono -q publish shop f.xml`: the flags are moved
        before the command, unless they are an option's value or come after `--`."""
        name = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        command = self.get_command(ctx, args[name]) if name is not None else None
        if command is None:
            return super().parse_args(ctx, args)
        takes_value = {o for p in command.params if isinstance(p, click.Option) and not p.is_flag
                       for o in p.opts + p.secondary_opts}
        hoisted, rest, i = [], args[:name + 1], name + 1
        while i < len(args):
            a = args[i]
            if a == "--":
                rest.extend(args[i:])
                break
            if a in self.EVERYWHERE:
                hoisted.append(a)
            else:
                rest.append(a)
                if a in takes_value and i + 1 < len(args):  # its value, whatever it looks like
                    rest.append(args[i + 1])
                    i += 1
                if a == "--format" and i < len(args) or a.startswith("--format="):
                    ctx.meta[MACHINE_OUTPUT] = args[i].split("=", 1)[-1] not in ("text", "table")
            i += 1
        return super().parse_args(ctx, rest[:name] + hoisted + rest[name:])

    def invoke(self, ctx: click.Context):
        show_log_lines()
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # `unisono report --format json | head`: the reader has what it wanted
            sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (nothing more to write)
            return None
        except Exception as e:
            if _interrupted(e):  # DuckDB stops a query on ^C with an error of its own
                raise KeyboardInterrupt from None
            if any(_loaded_error(e, module, name) for module, name in USER_ERRORS):
                rule_error = _loaded_error(e, "unisono.rules.ruleset", "RuleError")
                raise UnisonoError(" ".join(str(e).split("\n")) if not rule_error else str(e)) from None
            if os.environ.get("UNISONO_DEBUG"):
                raise
            if _loaded_error(e, "sqlalchemy.exc", "SQLAlchemyError"):
                from unisono.catalog.db import database_error

                raise UnisonoError(database_error(e)) from None
            # a bug: still no traceback for the user, but say how to see it
            raise UnisonoError(f"internal error: {type(e).__name__}: {e} (set UNISONO_DEBUG=1 for details)") from None
        finally:  # the catalog closed as the command ends: the next one in this process may open it otherwise
            if (db := sys.modules.get("unisono.catalog.db")) is not None:
                db.close_catalogs()


def _interrupted(e: BaseException | None) -> bool:
    """Whether `e`, or what it was raised from, is DuckDB's ^C: a RuntimeError "Query interrupted",
    wrapped by SQLAlchemy or by our one-line errors (publishing … failed)."""
    while e is not None:
        if isinstance(e, KeyboardInterrupt) or (isinstance(e, RuntimeError) and str(e).startswith("Query interrupted")):
            return True
        e = e.__cause__ or e.__context__ or getattr(e, "orig", None)
    return False


project_option = click.option(
    "--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), envvar="UNISONO_PROJECT",
    default=".", show_default=True, help="Project folder (or UNISONO_PROJECT).")
def _existing_catalog(ctx: click.Context, param: click.Parameter, url: str | None) -> str | None:
    """--db (or UNISONO_DB) naming a SQLite or DuckDB file, or a Spark lake (a folder with _manifest.json):
    only `publish` may start a new one there. Any other command would create an empty catalog and report
    it empty (a relative path is read from the current folder, unisono.yaml's from the project's: easy to
    mix up). An object store's lake (s3a://…) cannot be looked at from here: it passes."""
    if not url or ctx.command.name == "publish" or not url.startswith(("sqlite:", "duckdb:", "spark:")):
        return url
    from sqlalchemy.engine import make_url

    try:
        file = make_url(url).database
    except Exception:  # (not a URL: said where the catalog is opened)
        return url
    file = file.removeprefix("file:") if file else file  # SQLite's URI form (?mode=ro&uri=true)
    if not file or file == ":memory:":
        return url
    if url.startswith("spark:"):
        from unisono.catalog.db import object_store
        from unisono.catalog.spark_store import MANIFEST

        if object_store(file) or (Path(file) / MANIFEST).is_file():
            return url
        missing = "" if not Path(file).exists() else f" (the folder has no {MANIFEST})"
    elif Path(file).exists():
        return url
    else:
        missing = ""
    raise click.BadParameter(visible(f"no catalog at {Path(file).resolve()}{missing}: nothing was published there "
                                     "(a relative path on the command line or in UNISONO_DB is read from the "
                                     "current folder)"), ctx=ctx, param=param)


db_option = click.option("--db", envvar="UNISONO_DB", callback=_existing_catalog,
                         help="Database URL, e.g. postgresql+psycopg://… (or UNISONO_DB). "
                         "Default: the project's (unisono.yaml's database:).")


def instant(text: str | None, tz, what: str) -> datetime | None:
    """An instant from the command line: ISO 8601 with or without zone (without: the project's
    timezone), or a date (its start in the project's timezone), or "now"."""
    if text is None:
        return None
    if text.strip().lower() == "now":
        return datetime.now(timezone.utc)
    from unisono.channels.parsing import parse_instant

    try:
        return parse_instant(text, tz, what=what, clamp=False)
    except ValueError as e:
        raise UnisonoError(f"{e} (use e.g. 2026-11-24T12:00 or 24.11.2026)") from None


@click.group(cls=Unisono, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="unisono")
@click.option("-q", "--quiet", is_flag=True, envvar="UNISONO_QUIET",
              help="Print nothing but errors (on stderr) and what --format json/csv/md asks for: for cron and CI, "
                   "where the exit code speaks.")
@click.option("-v", "--verbose", is_flag=True, envvar="UNISONO_VERBOSE",
              help="Also say on stderr what each step took: reading and storing a file, the live offers, each rule.")
def cli(quiet: bool, verbose: bool) -> None:
    """unisono: do the shop, the stores and the newsletter tell customers the same thing?

    Publish each channel's files into a catalog, then check them against declarative rules:

    \b
      unisono init shop-project && cd shop-project
      unisono publish shop shop_feed.xml
      unisono publish store store_prices.csv
      unisono publish newsletter newsletter.html
      unisono check --at 2026-11-24T12:00
    """
    import logging  # the "unisono.timing" records go to stderr (show_log_lines) only when asked for

    logging.getLogger("unisono.timing").setLevel(logging.INFO if verbose else logging.WARNING)
    # waiting for another command's lock is talk: -q silences it (warnings and errors stay)
    logging.getLogger("unisono.waiting").setLevel(logging.ERROR if quiet else logging.WARNING)
    # standard output goes nowhere; errors (stderr) and the exit code stay. A machine format asked for
    # (`reconcile --format json > night.json` under UNISONO_QUIET=1) is the output, not talk: it stays.
    if quiet and not click.get_current_context().meta.get(MACHINE_OUTPUT):
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (for the process's life)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--timezone", "timezone_name", default="Europe/Berlin", show_default=True,
              help="IANA zone in which date-only values of channel files are read.")
@click.option("--currency", default="EUR", show_default=True, help="Currency of prices that carry none.")
@click.option("--db", "database", metavar="URL", default="duckdb", show_default=True,
              help="The catalog, written into unisono.yaml: duckdb for catalog.duckdb in the project folder, sqlite "
              "for unisono.db there, or a database URL (postgresql+psycopg://…).")
def init(directory: Path, timezone_name: str, currency: str, database: str) -> None:
    """Create a project in DIRECTORY: unisono.yaml and the default rules in rules/."""
    from unisono.api.project import Project

    project = Project.init(directory, timezone_name=timezone_name, currency=currency, database=database)
    echo(f"Created a unisono project in {project.path}: unisono.yaml, rules/default.yaml and its tests")
    echo("Next: unisono publish shop FEED, unisono publish store FILE, unisono publish newsletter HTML, unisono check")


# The common options also come from the environment (a CI job sets UNISONO_FAIL_ON=warning once).
fail_on_option = click.option("--fail-on", type=click.Choice(SEVERITIES), default="error", envvar="UNISONO_FAIL_ON",
                              show_default=True, show_envvar=True,
                              help="Exit 1 when a finding has this severity or higher.")
format_option = click.option("--format", "fmt", type=click.Choice(["table", "text", "json", "csv", "md"]),
                             default="table", envvar="UNISONO_FORMAT", show_default=True, show_envvar=True,
                             help="table (or text, as other commands call it) for people; json, csv or md for "
                                  "machines and merge requests.")
engine_option = click.option("--engine", type=click.Choice(["sql", "rete"]), default="sql", show_default=True,
                             envvar="UNISONO_ENGINE", show_envvar=True,
                             help="sql: set-based queries over the catalog; rete: durable_rules, per product.")


def window_arg(text: str | None, tz) -> tuple[datetime, datetime] | None:
    """START/END as an ISO 8601 interval; date-only ends cover their whole day."""
    if text is None:
        return None
    from unisono.channels.parsing import parse_interval

    try:
        return parse_interval(text, tz, what="--window", clamp=False)
    except ValueError as e:
        raise UnisonoError(f"{e} (use e.g. 2026-11-27/2026-11-30 or 2026-11-27T00:00/2026-11-28T12:00)") from None


@cli.group("rules")
def rules_group() -> None:
    """Validate, list, describe, test and preview rules."""


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--skus", type=click.IntRange(1, 5_000_000), default=1000, show_default=True, help="Products in the shop.")
@click.option("--stores", type=click.IntRange(0, 999), default=3, show_default=True, help="Stores in the price file.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same bytes.")
@click.option("--inconsistency-rate", type=click.FloatRange(0, 1),
              help="Planted inconsistencies per product (default: eight for small catalogs, 1 % for large ones).")
def generate(directory: Path, skus: int, stores: int, seed: int, inconsistency_rate: float | None) -> None:
    """Write a synthetic retailer in the real formats: shop_feed.xml, store_prices.csv,
    newsletter.html, and answer_key.json with the planted inconsistencies and the findings they
    cause. Deterministic for a seed: for tests, benchmarks and trying unisono at scale."""
    from unisono.cli.demo import replay_commands
    from unisono.demo.generator import generate as write_retailer

    directory.mkdir(parents=True, exist_ok=True)
    key = write_retailer(directory, skus=skus, stores=stores, seed=seed, inconsistency_rate=inconsistency_rate)
    echo(f"Wrote {skus} products, {stores} stores and a newsletter to {directory}: "
               f"{len(key.planted)} planted inconsistencies, {len(key.expected_findings)} expected findings "
               f"at {key.check_at.isoformat()} (answer_key.json).")
    echo("The files are dated: publish them as of their date and check at that instant, on any day:")
    for command in replay_commands(directory.resolve(), key.published_at.isoformat(), key.check_at.isoformat(),
                                   project=f"{directory.name}-project"):
        echo(f"  {command}")


@cli.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Build the demo project in this folder and keep it (default: a temporary folder).")
def demo(keep: Path | None) -> None:
    """Run the whole flow on Bergwelt Outdoor, a demo retailer shipped with unisono.

    A shop feed (300 products), a price file of three stores and a Black Friday newsletter, with a
    handful of planted inconsistencies: init, publish three times, check, report.
    """
    from unisono.cli.demo import run_demo
    from unisono.cli.text import console

    sys.exit(run_demo(console(), keep))


# Commands in modules of their own register themselves on `cli` (they import only click until run).
from unisono.cli import publications as _publications, runs as _runs, waivers as _waivers  # noqa: E402,F401


from unisono.cli import authoring, checking, explain_cmd, publish_cmd, report_cmd  # noqa: E402,F401  (they import this module)


def main() -> None:
    try:
        cli(prog_name="unisono")
    finally:
        # The interpreter's teardown would collect every object the command's imports made, several times
        # over (a tenth of a small check's CPU): frozen, they are simply freed with the process. atexit
        # handlers still run and objects not in cycles are still released; SQLite keeps what was committed.
        gc.freeze()


if __name__ == "__main__":  # `python -m unisono.cli.main`: the commands registered themselves on
    from unisono.cli.main import main as registered  # the module `unisono.cli.main`, not on `__main__`

    registered()
