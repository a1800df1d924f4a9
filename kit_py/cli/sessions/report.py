"""`kit sessions stats | verify | audit`: what was spent, whether files can be trusted, who did what."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py.cli.sessions.output import dollars, emit_json, parse_duration, progress_bar, resolve
from kit_py.errors import ExitCode

if TYPE_CHECKING:
    from kit_py.catalog.overview import Totals
    from kit_py.catalog.verify import FileReport


def _totals_json(totals: Totals) -> dict[str, Any]:
    return {
        "sessions": totals.sessions,
        "messages": totals.messages,
        "answers": totals.answers,
        "tokens": totals.tokens,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "cache_read_tokens": totals.cache_read_tokens,
        "cache_write_tokens": totals.cache_write_tokens,
        "cost_usd": dollars(totals.cost_usd),
    }


def stats_command(*, since: str | None, json_output: bool, root: Path) -> int:
    from kit_py.catalog.overview import usage_stats

    start = None if since is None else time.time() - parse_duration(since, "--since")
    with progress_bar() as progress:
        stats = usage_stats(root, start, progress=progress)
    if json_output:
        emit_json(
            {
                "since": stats.since,
                **_totals_json(stats.total),
                "by_model": [{"model": m, **_totals_json(t)} for m, t in sorted(stats.by_model.items())],
                "by_day": [{"day": d, **_totals_json(t)} for d, t in stats.by_day.items()],
            }
        )
        return 0
    from kit_py.repl.stats import format_cost, human_tokens

    def row(label: str, t: Totals) -> str:
        cost = format_cost(t.cost_usd) if t.cost_usd is not None else "-"
        return f"{label:<28} {t.sessions:>8} {t.messages:>9} {human_tokens(t.tokens):>8} {cost:>10}"

    scope = f"since {stats.since} (UTC)" if stats.since else "all time"
    print(f"{'sessions, ' + scope:<28} {'SESSIONS':>8} {'MESSAGES':>9} {'TOKENS':>8} {'COST':>10}")
    print(row("total", stats.total))
    if stats.by_model:
        print("\nby model")
        for model, totals in sorted(stats.by_model.items(), key=lambda kv: -(kv[1].cost_usd or 0)):
            print(row(model, totals))
    if stats.by_day:
        print("\nby day (UTC)")
        for day, totals in stats.by_day.items():
            print(row(day, totals))
    return 0


def _report_json(report: FileReport) -> dict[str, Any]:
    return {
        "id": report.session_id,
        "path": str(report.path),
        "ok": report.ok,
        "go_kit_readable": report.go_kit_readable,
        "size": report.size,
        "entries": report.entries,
        "chained": report.chained,
        "unchained": report.unchained,
        "state_hash": report.state_hash,
        "problems": [
            {"kind": p.kind, "line": p.line, "entry_id": p.entry_id, "message": p.message}
            for p in report.problems
        ],
    }


def verify_command(ref: str | None, *, all_dirs: bool, json_output: bool, root: Path) -> int:
    """Check one session, this directory's sessions, or (--all) every session; exit 12 on a problem."""
    from kit_py.catalog.listing import list_sessions
    from kit_py.catalog.verify import verify_file
    from kit_py.errors import UsageError
    from kit_py.session.cwd import logical_cwd

    if ref is not None and all_dirs:
        raise UsageError("give a session or --all, not both")
    cwd = logical_cwd()
    if ref is not None:
        paths = [resolve(ref, root, cwd).path]
    else:
        paths = [info.path for info in list_sessions(root, None if all_dirs else cwd, include_empty=True)]
    started = time.perf_counter()
    reports = [verify_file(path) for path in paths]
    seconds = time.perf_counter() - started
    bad = [r for r in reports if not r.ok]
    if json_output:
        emit_json(
            {
                "ok": not bad,
                "files": [_report_json(r) for r in reports],
                "summary": {
                    "files": len(reports),
                    "ok": len(reports) - len(bad),
                    "problems": sum(len(r.problems) for r in reports),
                    "entries": sum(r.entries for r in reports),
                    "unchained": sum(r.unchained for r in reports),
                    "bytes": sum(r.size for r in reports),
                    "seconds": round(seconds, 3),
                },
            }
        )
        return int(ExitCode.SESSION) if bad else 0
    for report in reports:
        if report.ok and ref is None:
            continue
        status = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        readable = "" if report.go_kit_readable else "; Go kit cannot read it"
        print(f"{report.path}: {status}{readable}")
        for problem in report.problems:
            print(f"  {problem.kind}: {problem.message}")
        if ref is not None:
            chain = f"{report.chained} chained, {report.unchained} unchained" + (
                " (written by Go kit)" if report.unchained else ""
            )
            print(f"  {report.entries} entries: {chain}; state {report.state_hash or '-'}")
    unchained = sum(r.unchained for r in reports)
    note = f"; {unchained} entries unchained (written by Go kit)" if unchained else ""
    size = sum(r.size for r in reports) / 1e6
    print(
        f"verified {len(reports)} session file(s), {size:.1f} MB in {seconds:.1f} s: "
        f"{len(reports) - len(bad)} ok, {len(bad)} with problems{note}",
        file=sys.stderr,
    )
    return int(ExitCode.SESSION) if bad else 0


def audit_command(*, json_output: bool, root: Path) -> int:
    from kit_py.catalog import read_audit

    records = read_audit(root)
    if json_output:
        emit_json({"records": [r.to_json() for r in records]})
        return 0
    if not records:
        print(
            "the audit log is empty (exports, shares, removals, restores and prunes are recorded)",
            file=sys.stderr,
        )
        return 0
    for r in records:
        details = "  ".join(f"{k}={v}" for k, v in r.details.items())
        print(f"{r.time}  {r.action:<8} {(r.session_id or '-')[:12]:<12}  {details}")
    return 0
