"""`unisono publish`: channel files into the catalog, each its own publication."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from unisono.cli.main import CHANNELS, UnisonoError, cli, db_option, fail_on_option, instant, project_option
from unisono.cli.terminal import json_visible


@cli.command("publish")
@click.argument("channel", type=click.Choice(CHANNELS))
@click.argument("files", metavar="FILE...", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--published-at", help="When the channel published the file (default: now). For loading history.")
@click.option("--effective-from", help="When the file goes live (default: when published). For staged files.")
@click.option("--location", help="What the file does not say: the newsletter issue (default: the file name; "
              "publish a corrected issue under the same one), the store of a single-store file, the shop's country.")
@click.option("--check", "recheck", is_flag=True,
              help="Re-check at once the products this file touched (rete engine), as of when it goes live; "
              "exit 1 on a finding at or above --fail-on that no waiver covers.")
@fail_on_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@project_option
@db_option
def publish_cmd(channel: str, files: tuple[Path, ...], published_at: str | None, effective_from: str | None,
                location: str | None, recheck: bool, fail_on: str, fmt: str, project_dir: Path, db: str | None) -> None:
    """Read FILE as CHANNEL's publication and store it in the catalog, in one transaction.

    CHANNEL is shop (Google Merchant Center feed: XML or TSV; or its promotions feed), store (POS price export: CSV) or
    newsletter (the email's HTML). Every row becomes an offer or a rejection with file, line and
    reason. Publishing the same bytes again changes nothing. Several files (the night's store
    exports, one per store) are published one after the other, each its own publication, in one
    process; the first that fails stops the rest, those before it stay published.
    """
    from unisono.api.project import Project

    if len(files) > 1 and (recheck or location):
        raise UnisonoError(f"--{'check' if recheck else 'location'} takes one file; {len(files)} were given")
    project = Project.open(project_dir, db)
    tz = project.config.tz
    if len(files) > 1:
        return _publish_each(project, channel, files, instant(published_at, tz, "--published-at"),
                             instant(effective_from, tz, "--effective-from"), fmt)
    file = files[0]
    from unisono.cli.progress import PublishProgress

    rules = project.rules() if recheck else None  # a broken rule file stops the gate before the catalog changes
    quiet = click.get_current_context().find_root().params.get("quiet")
    with PublishProgress(file.name, enabled=None if fmt == "text" and not quiet else False) as progress:
        result = project.publish(channel, file, published_at=instant(published_at, tz, "--published-at"),
                                 effective_from=instant(effective_from, tz, "--effective-from"), location=location,
                                 progress=progress)
    # as of when the file goes live (now, unless it was dated or staged); the same bytes again (a retried
    # CI job) are the publication already there, and are checked as they were the first time
    checked_at = result.effective_from
    findings, waived = project.recheck(result.publication_id, checked_at, rules) if recheck else (None, [])
    from unisono.domain.findings import Severity

    failing = [f for f in findings or [] if f.severity.rank >= Severity(fail_on).rank]
    if fmt == "json":
        doc = result.as_json()
        if findings is not None:
            from unisono.reports.jsonfile import finding_json

            doc["checked_at"] = checked_at.isoformat()
            doc["findings"] = [finding_json(f) for f in findings]
            doc["waived"] = [finding_json(f) for f in waived]
        click.echo(json_visible(json.dumps(doc, ensure_ascii=False, indent=2)))
        sys.exit(1 if failing else 0)
    from unisono.cli.published import print_published

    print_published(result, file.name, tz, findings=findings, waived=waived, checked_at=checked_at, failing=failing,
                    fail_on=fail_on)
    if findings is not None:
        sys.exit(1 if failing else 0)


def _publish_each(project, channel: str, files: tuple[Path, ...], published_at, effective_from, fmt: str) -> None:
    """publish with several files: each its own publication, in the order given; on an error, what
    was published before it is said with the error."""
    from unisono.cli.published import print_published

    done = []
    for file in files:
        try:
            result = project.publish(channel, file, published_at=published_at, effective_from=effective_from)
        except click.ClickException:  # (a usage error: said as it is)
            raise
        except Exception as e:
            if done:
                e.args = (f"{e.args[0] if e.args else e} ({len(done)} of {len(files)} files published before it: "
                          f"{', '.join(f'{f.name} as #{r.publication_id}' for f, r in done)})", *e.args[1:])
            raise
        done.append((file, result))
        if fmt == "text":
            print_published(result, file.name, project.config.tz)
    if fmt == "json":
        click.echo(json_visible(json.dumps([r.as_json() for _, r in done], ensure_ascii=False, indent=2)))
