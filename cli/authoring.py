"""Commands for writing rules: `unisono rules test` (registered on the `rules` group of main.py)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from unisono.cli.main import engine_option, project_option, rules_group
from unisono.cli.terminal import echo

if TYPE_CHECKING:
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
    text = f"{e.rule} {e.sku}"
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
