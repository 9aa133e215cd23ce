"""Commands for writing rules, on the `rules` group of main.py: `rules validate`, `list` and `schema`,
`rules test` (the rules' tests) and `rules preview` (what a rule file would report on the catalog,
nothing stored)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from unisono.cli.main import db_option, engine_option, instant, project_option, rules_group, window_arg
from unisono.cli.terminal import echo, json_visible

if TYPE_CHECKING:
    from unisono.api.preview import Preview
    from unisono.api.rule_test_run import CaseResult
    from unisono.api.rule_tests import Expected
    from unisono.domain.findings import Finding


@rules_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@engine_option
@project_option
def rules_test(paths: tuple[Path, ...], engine: str, project_dir: Path) -> None:
    """Run rule tests: X.test.yaml files (default: those beside the project's rules).

    Each test gives a few offers per channel and location, an instant (at) or a window, and the
    findings it expects (or none); it runs in a catalog of its own through the same publish and
    check as the real commands. PASS or FAIL per test, with what differs. Exit 1 when a test
    fails, 2 when a test file is malformed (file:line: what is wrong).
    """
    from unisono.api.project import Project
    from unisono.api.rule_test_run import run_test_file
    from unisono.api.rule_tests import test_files
    from unisono.domain.config import CONFIG_FILE
    from unisono.domain.models import InputError

    project = Project.open(project_dir) if (project_dir / CONFIG_FILE).is_file() else None
    if not paths:
        if project is None:
            raise InputError(f"{project_dir} is not a unisono project: name the test files (unisono rules test FILE…)")
        paths = tuple(dict.fromkeys(p.parent for p in project.rule_paths()))
    files = test_files(list(paths))
    if not files:
        raise InputError(f"no rule tests (X.test.yaml) in {', '.join(map(str, paths))}")
    passed = failed = 0
    for file in files:
        report = run_test_file(file, project, engine=engine)
        echo(str(file))
        for case in report.cases:
            echo(f"  {'PASS' if case.passed else 'FAIL'}  {case.name} (line {case.line})")
            if not case.passed:
                for line in case_diff(case):
                    echo(f"        {line}")
            passed, failed = passed + case.passed, failed + (not case.passed)
    echo(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def case_diff(case: CaseResult) -> list[str]:
    """What a failing test expected and what the rules found: - expected, + found."""
    out = []
    for e in case.missing:
        out.append(f"- expected: {_expected(e)}")
    for e, f, what in case.near:
        out += [f"- expected: {_expected(e)}", *_found("+ found:    ", f), f"  differs:  {', '.join(what)}"]
    for f in case.unexpected:
        out += _found("+ found, not expected: ", f)
    if case.missing and not case.unexpected and not case.near:
        out.append("  (the rules found nothing else)")
    for f in case.waived:
        out += _found("  waived by the test: ", f)
    return out


def _expected(e: Expected) -> str:
    text = e.rule + (f" {e.sku}" if e.sku is not None else "")
    if e.locations is not None:
        text += f" at {', '.join(e.locations)}"
    if e.severity is not None:
        text += f" ({e.severity.value})"
    if e.values:
        text += " with " + ", ".join(f"{k} {v}" for k, v in e.values.items())
    return text


def _found(lead: str, f: Finding) -> list[str]:
    values = ", ".join(f"{k} {v}" for k, v in f.values.items())
    return [f"{lead}{f.rule} {f.sku} at {', '.join(f.locations)} ({f.severity.value}) with {values}",
            " " * len(lead) + f.message]


@rules_group.command("preview")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--at", "at_text", help="The instant to evaluate (default: now), e.g. 2026-11-24T12:00.")
@click.option("--window", "window_text", help="A window START/END instead, as for check.")
@click.option("--sample", type=click.IntRange(0, 1000), default=5, show_default=True,
              help="Findings shown per rule (those the rules in force do not report first).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@project_option
@db_option
def rules_preview(file: Path, at_text: str | None, window_text: str | None, sample: int, fmt: str,
                  project_dir: Path, db: str | None) -> None:
    """What the rules in FILE would report on the current catalog: findings per rule, a sample,
    and the difference against the rule of the same id in force (+added / −gone). Nothing is
    stored: no run, no finding. Exit 0 (a preview gates nothing; `check --rules FILE` does)."""
    if at_text and window_text:
        raise click.UsageError("--at and --window exclude each other")
    from unisono.api.preview import preview_rules
    from unisono.api.project import Project

    project = Project.open(project_dir, db, read_only=True)
    tz = project.config.tz
    result = preview_rules(project, file, at=instant(at_text, tz, "--at"), window=window_arg(window_text, tz))
    if fmt == "json":
        doc = {"file": str(file), "at": result.at.isoformat(), "added": result.added, "removed": result.removed,
               "rules": [r.as_json(sample) for r in result.rules]}
        click.echo(json_visible(json.dumps(doc, ensure_ascii=False, indent=2)))
        return
    for line in preview_lines(result, sample, tz):
        echo(line)


def preview_lines(p: Preview, sample: int, tz) -> list[str]:
    when = p.at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    if p.window_end is not None:
        when += f" to {p.window_end.astimezone(tz).strftime('%d.%m.%Y %H:%M')}"
    out = [f"{p.file} on the catalog at {when} (nothing stored)"]
    if p.same_file:
        out.append("  (this file is one of the project's rule files, so it is what is in force: "
                   "preview an edited copy to see a change)")
    for r in p.rules:
        n = len(r.findings)
        counts = f"{n} finding{'s' if n != 1 else ''}"
        counts += "".join(f", {k} {w}" for k, w in ((r.waived, "waived"), (r.undecided, "cannot judge")) if k)
        against = "new rule" if r.before is None else f"+{len(r.added)} / −{len(r.removed)} against the rule in force ({r.before})"
        out += ["", f"{r.id} ({r.kind}, {r.severity}): {counts}; {against}"]
        shown = (r.added + [f for f in r.findings if f not in r.added])[:sample]
        for f in shown:
            mark = "+ " if r.before is not None and f in r.added else "  "
            out.append(f"  {mark}{f.message}")
        if n > len(shown):
            out.append(f"  … and {n - len(shown)} more")
        for f in r.removed[:sample]:
            out.append(f"  − {f.message}")
        if len(r.removed) > sample:
            out.append(f"  … and {len(r.removed) - sample} more no longer reported")
    out += ["", f"In total: +{p.added} / −{p.removed} findings against the rules in force."]
    return out


@rules_group.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@project_option
def rules_validate(files: tuple[Path, ...], project_dir: Path) -> None:
    """Validate rule FILES (default: the project's). Every problem as file:line: what is wrong."""
    from unisono.api.project import Project
    from unisono.rules import validate

    paths = list(files) or Project.open(project_dir).rule_paths()
    problems = validate(paths)
    for p in problems:
        echo(p, err=True)
    if problems:
        sys.exit(2)
    echo(f"{len(paths)} rule file(s) valid: {', '.join(str(p) for p in paths)}")


@rules_group.command("list")
@project_option
def rules_list(project_dir: Path) -> None:
    """List the project's rules."""
    from rich.table import Table

    from unisono.api.project import Project
    from unisono.cli.text import console
    from unisono.rules import load_rules

    table = Table("id", "kind", "severity", "title", box=None, header_style="bold", pad_edge=False, collapse_padding=True)
    for r in load_rules(Project.open(project_dir).rule_paths()):
        table.add_row(r.id, r.kind, r.severity.value, r.title)
    console().print(table)


@rules_group.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of rule files (for editor completion and validation)."""
    from unisono.rules import rules_json_schema

    click.echo(json.dumps(rules_json_schema(), indent=2))
