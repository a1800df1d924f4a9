"""Mutation testing of the core modules with cosmic-ray (`make mutation`; slow, not part of CI).

cosmic-ray rewrites source files in place while a mutant's tests run. So nothing here touches the
checkout: the tree is copied to `build/mutation/src` and mutated there. For each module in
`tools/mutation/modules.toml` this script times a clean run of the module's tests, writes a cosmic-ray
config, initialises a session (`build/mutation/<module>.sqlite`), skips what cannot be a real
difference, runs every remaining mutant and prints the kill rate. Survivors listed in
`tools/mutation/equivalent.toml` (judged equivalent, with a reason) are left out of the rate.

    python tools/mutation/run.py                       # every module, every mutant
    python tools/mutation/run.py --module store --sample 150
    python tools/mutation/run.py --report              # the last results again, nothing run
    python tools/mutation/run.py --survivors           # after adding tests: only the last survivors
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NOT_COPIED = (".git", ".venv", "build", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
              ".hypothesis", ".grimp_cache", ".import_linter_cache", "*.egg-info")
# Reproducible mutant runs: hypothesis draws the same examples every time, no cache between runs.
PYTEST_FLAGS = ["-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0"]


@dataclass
class Module:
    name: str
    path: str
    tests: list[str]
    deselect: list[str]

    @property
    def slug(self) -> str:
        return re.sub(r"\W+", "-", self.name).strip("-")


@dataclass
class Equivalent:
    module: str
    line: str
    operator: str
    reason: str

    def matches(self, module: str, source_line: str, operator: str) -> bool:
        return (
            module == self.module
            and source_line.strip() == self.line.strip()
            and re.fullmatch(self.operator, operator.split("/")[-1]) is not None
        )


def load_modules() -> tuple[dict[str, Any], list[Module]]:
    data = tomllib.loads((HERE / "modules.toml").read_text())
    modules = [
        Module(m["name"], m["path"], list(m["tests"]), list(m.get("deselect", []))) for m in data["module"]
    ]
    return data["defaults"], modules


def load_equivalents() -> list[Equivalent]:
    path = HERE / "equivalent.toml"
    if not path.exists():
        return []
    data = tomllib.loads(path.read_text())
    return [
        Equivalent(e["module"], e["line"], e.get("operator", ".*"), e["reason"])
        for e in data.get("equivalent", [])
    ]


def copy_tree(dest: Path) -> None:
    """A fresh copy of the checkout without caches or bytecode: a stale .pyc of the clean source, as
    new as a mutant's file, would be imported instead of the mutant."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)


def test_command(module: Module) -> list[str]:
    deselect = [arg for test in module.deselect for arg in ("--deselect", test)]
    return [sys.executable, "-m", "pytest", *PYTEST_FLAGS, *deselect, *module.tests]


def run_env() -> dict[str, str]:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def check_copy_is_imported(src: Path) -> None:
    """The copy's kit_py must win over the editable install of the checkout, or nothing is mutated."""
    found = subprocess.run(
        [sys.executable, "-c", "import kit_py; print(kit_py.__file__)"],
        cwd=src, env=run_env(), capture_output=True, text=True, check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(src.resolve()):
        sys.exit(f"mutation: the tests would import {found}, not the copy in {src}")


def clean_run_seconds(module: Module, src: Path) -> float:
    started = time.monotonic()
    result = subprocess.run(test_command(module), cwd=src, env=run_env(), capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"mutation: the tests of {module.name} fail without any mutation:\n{result.stdout[-3000:]}")
    return time.monotonic() - started


def write_config(module: Module, defaults: dict[str, Any], timeout: float, config: Path) -> None:
    def q(text: str) -> str:  # a TOML basic string
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    operators = ", ".join(q(pattern) for pattern in defaults.get("exclude-operators", []))
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {q(module.path)}\n"
        f"timeout = {timeout:.1f}\n"
        "excluded-modules = []\n"
        f"test-command = {q(shlex.join(test_command(module)))}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = [{operators}]\n"
    )


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where function annotations are. With `from __future__ import annotations` they are never
    evaluated, so a mutant inside one cannot change behaviour (cosmic-ray leaves variable annotations
    alone already)."""
    tree = ast.parse(source)
    if not any(
        isinstance(node, ast.ImportFrom) and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    ):
        return []
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
            for ann in [node.returns, *(x.annotation for x in params)]:
                if ann is not None:
                    end = (ann.end_lineno or ann.lineno, ann.end_col_offset or 0)
                    spans.append(((ann.lineno, ann.col_offset), end))
    return spans


def _place(mutation: Any) -> tuple[tuple[int, int], str, int]:
    return tuple(mutation.start_pos), mutation.operator_name, mutation.occurrence


def skip_mutants(session: Path, module: Module, src: Path, sample: int | None, seed: int) -> None:
    """Mark as skipped the mutants inside annotations and, with `sample`, all but `sample` others."""
    from cosmic_ray.work_db import use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans = annotation_spans((src / module.path).read_text())

    def in_annotation(start: tuple[int, int], end: tuple[int, int]) -> bool:
        return any(lo <= tuple(start) and tuple(end) <= hi for lo, hi in spans)

    with use_db(str(session)) as db:
        # A stable order (the database hands items out at random), so one seed samples the same mutants.
        pending = sorted(db.pending_work_items, key=lambda item: _place(item.mutations[0]))
        inert = [i.job_id for i in pending if in_annotation(i.mutations[0].start_pos, i.mutations[0].end_pos)]
        if inert:
            db.set_multiple_results(
                inert, WorkResult(WorkerOutcome.SKIPPED, output="inside an annotation (never evaluated)")
            )
        rest = [i.job_id for i in pending if i.job_id not in set(inert)]
        if sample is not None and sample < len(rest):
            kept = set(random.Random(seed).sample(rest, sample))
            left_out = [job for job in rest if job not in kept]
            db.set_multiple_results(left_out, WorkResult(WorkerOutcome.SKIPPED, output="not in the sample"))


def earlier_results(session: Path) -> dict[tuple[str, int, tuple[int, int]], Any]:
    """The last run's verdicts on every mutant it ran that did not survive, by operator, occurrence and
    place (skipped ones are skipped again, or run, by this run's own filters)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    if not session.exists():
        return {}
    with use_db(str(session), WorkDB.Mode.open) as db:
        return {
            (m.operator_name, m.occurrence, tuple(m.start_pos)): result
            for item, result in db.completed_work_items
            for m in item.mutations[:1]
            if result.test_outcome != TestOutcome.SURVIVED and result.worker_outcome != WorkerOutcome.SKIPPED
        }


def keep_earlier_results(session: Path, earlier: dict[tuple[str, int, tuple[int, int]], Any]) -> None:
    """`--survivors`: mutants judged before keep their result, so only the last survivors run again
    (a mutant whose line moved runs again too)."""
    from cosmic_ray.work_db import use_db

    with use_db(str(session)) as db:
        for item in db.pending_work_items:
            m = item.mutations[0]
            result = earlier.get((m.operator_name, m.occurrence, tuple(m.start_pos)))
            if result is not None:
                db.set_result(item.job_id, result)


def run_module(
    module: Module,
    defaults: dict[str, Any],
    work: Path,
    src: Path,
    sample: int | None,
    seed: int,
    survivors_only: bool = False,
) -> None:
    clean = clean_run_seconds(module, src)
    timeout = max(float(defaults["min-timeout"]), float(defaults["timeout-factor"]) * clean)
    config, session = work / f"{module.slug}.toml", work / f"{module.slug}.sqlite"
    earlier = earlier_results(session) if survivors_only else {}
    write_config(module, defaults, timeout, config)
    print(f"{module.name}: clean tests {clean:.1f} s; a mutant times out after {timeout:.0f} s", flush=True)
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "cosmic-ray", "init", config, session, "--force"], cwd=src, check=True)
    subprocess.run([bin_dir / "cr-filter-operators", session, config], cwd=src, check=True)
    skip_mutants(session, module, src, sample, seed)
    if survivors_only:
        keep_earlier_results(session, earlier)
    subprocess.run([bin_dir / "cosmic-ray", "exec", config, session], cwd=src, env=run_env(), check=True)


@dataclass
class Tally:
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    skipped: int = 0
    pending: int = 0

    @property
    def rate(self) -> float | None:
        judged = self.killed + self.survived
        return None if judged == 0 else 100.0 * self.killed / judged


def report(modules: list[Module], work: Path, src: Path, target: float) -> bool:
    """Print the kill rate per module and every survivor not judged equivalent; True when all reach
    `target` percent."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    equivalents = load_equivalents()
    ok = True
    lines: list[str] = []
    for module in modules:
        session = work / f"{module.slug}.sqlite"
        if not session.exists():
            continue
        source = (src / module.path).read_text().splitlines()
        tally, survivors = Tally(), []
        with use_db(str(session), WorkDB.Mode.open) as db:
            tally.pending = len(db.pending_work_items)
            for item, result in db.completed_work_items:
                mutation = item.mutations[0]
                if result.worker_outcome == WorkerOutcome.SKIPPED:
                    tally.skipped += 1
                elif result.test_outcome == TestOutcome.SURVIVED:
                    line = source[mutation.start_pos[0] - 1]
                    if any(e.matches(module.path, line, mutation.operator_name) for e in equivalents):
                        tally.equivalent += 1
                    else:
                        tally.survived += 1
                        survivors.append((mutation, result.diff or ""))
                else:  # killed, incompetent (the mutant cannot even be imported), a crash or a timeout
                    tally.killed += 1
        rate = tally.rate
        shown = "n/a" if rate is None else f"{rate:.1f}%"
        lines.append(
            f"{module.name:<24} {module.path:<30} killed {tally.killed:>4}  survived {tally.survived:>3}  "
            f"equivalent {tally.equivalent:>3}  skipped {tally.skipped:>4}  pending {tally.pending:>4}  "
            f"kill rate {shown}"
        )
        if rate is not None and rate < target:
            ok = False
        for mutation, diff in sorted(survivors, key=lambda s: (tuple(s[0].start_pos), s[0].operator_name)):
            changed = [d for d in diff.splitlines() if d[:1] in "+-" and d[:3] not in ("+++", "---")]
            operator = mutation.operator_name.split("/")[-1]
            print(f"  survived: {module.path}:{mutation.start_pos[0]} {operator}")
            for d in changed:
                print(f"      {d}")
    print("\n".join(["", *lines]))
    verdict = "met" if ok else "NOT met"
    print(f"\ntarget: {target:g}% of the non-equivalent mutants killed in every module: {verdict}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", help="a module name from modules.toml (repeatable)")
    parser.add_argument("--sample", type=int, help="run only this many mutants per module, chosen at random")
    parser.add_argument("--seed", type=int, default=0, help="random seed of --sample")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "mutation")
    parser.add_argument("--target", type=float, default=90.0, help="kill rate (%%) every module must reach")
    parser.add_argument("--report", action="store_true", help="only print the results of the last run")
    parser.add_argument(
        "--survivors", action="store_true", help="run again only what survived the last run (same --sample)"
    )
    args = parser.parse_args(argv)

    defaults, modules = load_modules()
    if args.module:
        unknown = set(args.module) - {m.name for m in modules}
        if unknown:
            parser.error(f"unknown module(s) {sorted(unknown)}; known: {[m.name for m in modules]}")
        modules = [m for m in modules if m.name in args.module]
    work = args.workdir.resolve()
    src = work / "src"
    if not args.report:
        work.mkdir(parents=True, exist_ok=True)
        copy_tree(src)
        check_copy_is_imported(src)
        for module in modules:
            run_module(module, defaults, work, src, args.sample, args.seed, args.survivors)
    return 0 if report(modules, work, src, args.target) else 1


if __name__ == "__main__":
    sys.exit(main())
