"""Mutation testing of the modules that guard people's notes, with mutmut (configured in pyproject.toml).

    python -m tests.mutation full            # every mutant (`make mutate`); writes tests/MUTATION.md
    python -m tests.mutation report          # rewrite tests/MUTATION.md from the last run's results
    python -m tests.mutation sample [--seed N] [--per-module K]   # CI: a fixed, seeded sample

Each mutant runs only the tests that reach it (mutmut's own per-function test selection). A mutant
counts as killed when a test fails or it times out (it hung the tests); a survivor either is listed
in tests/mutation/equivalents.toml with a one-line reason, or fails the run. Exit 1 when a module
is below THRESHOLD or a survivor is unexplained.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tests.mutation.sandbox import confined

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "tests" / "MUTATION.md"
EQUIVALENTS = Path(__file__).with_name("equivalents.toml")
THRESHOLD = 0.90
MUTMUT = [sys.executable, "-m", "mutmut"]

KILLED, SURVIVED, TIMEOUT, NO_TESTS, NOT_RUN = "killed", "survived", "timeout", "no tests", "not run"
STATUS_BY_EXIT_CODE = {
    1: KILLED,
    3: KILLED,
    -9: KILLED,
    -11: KILLED,
    0: SURVIVED,
    5: NO_TESTS,
    33: NO_TESTS,
    36: TIMEOUT,
    24: TIMEOUT,
    -24: TIMEOUT,
    152: TIMEOUT,
    255: TIMEOUT,
    None: NOT_RUN,
}
"""mutmut's exit codes (mutmut/stats.py); a crash of the test process (-9, -11) is a kill too."""


def critical_modules() -> list[str]:
    """The modules under mutation, as listed in pyproject.toml's [tool.mutmut] only_mutate."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["mutmut"]["only_mutate"]


def equivalents() -> dict[str, dict[str, str]]:
    """{module path: {mutant name without its module prefix: why it cannot change behaviour}}."""
    return tomllib.loads(EQUIVALENTS.read_text()) if EQUIVALENTS.exists() else {}


def module_prefix(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".") + "."


def results(path: str) -> dict[str, str]:
    """{mutant name: status} from mutmut's record of one module (empty before any run)."""
    meta = ROOT / "mutants" / (path + ".meta")
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: STATUS_BY_EXIT_CODE.get(code, SURVIVED) for name, code in codes.items()}


@dataclass
class ModuleScore:
    """How one module's mutants fared; `equivalent` survivors are left out of the score."""

    path: str
    counts: Counter = field(default_factory=Counter)
    equivalent: list[tuple[str, str]] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return sum(self.counts.values()) - self.counts[NOT_RUN] - len(self.equivalent)

    @property
    def score(self) -> float:
        return (self.counts[KILLED] + self.counts[TIMEOUT]) / self.scored if self.scored else 1.0

    @property
    def passes(self) -> bool:
        return self.score >= THRESHOLD


def score(path: str, statuses: dict[str, str], known: dict[str, str]) -> ModuleScore:
    prefix = module_prefix(path)
    result = ModuleScore(path)
    for name, status in sorted(statuses.items()):
        result.counts[status] += 1
        if status in (SURVIVED, NO_TESTS):
            short = name.removeprefix(prefix)
            if short in known:
                result.equivalent.append((short, known[short]))
            else:
                result.unexplained.append(short)
    return result


def scores(only: set[str] | None = None) -> list[ModuleScore]:
    known = equivalents()
    out = []
    for path in critical_modules():
        statuses = results(path)
        if only is not None:
            statuses = {name: status for name, status in statuses.items() if name in only}
        out.append(score(path, statuses, known.get(path, {})))
    return out


def table(module_scores: list[ModuleScore]) -> list[str]:
    lines = [
        "| module | mutants | killed | timed out | survived | no test reaches it | equivalent | score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in module_scores:
        c = m.counts
        lines.append(
            f"| `{m.path}` | {sum(c.values()) - c[NOT_RUN]} | {c[KILLED]} | {c[TIMEOUT]} | {c[SURVIVED]} | "
            f"{c[NO_TESTS]} | {len(m.equivalent)} | {m.score:.1%}{'' if m.passes else ' **below 90%**'} |"
        )
    return lines


def write_report(module_scores: list[ModuleScore], command: str, seconds: float | None) -> None:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    took = f", in {seconds / 60:.1f} min" if seconds is not None else ""
    lines = [
        "# Mutation testing",
        "",
        f"Written by `{command}` on {when}{took}, with mutmut "
        f"{_mutmut_version()}: each mutant ran only the tests that reach it, from the pool set in "
        "pyproject.toml's `[tool.mutmut]` : the tests aimed at these modules' behaviour.",
        "",
        "Score = (killed + timed out) / (mutants - equivalent). Target: at least 90% in every module. "
        "CI runs a fixed, seeded sample (`python -m tests.mutation sample`).",
        "",
    ]
    lines += table(module_scores)
    lines += [
        "",
        "## Equivalent mutants",
        "",
        "Survivors that cannot change what the device does, each with the reason "
        "(kept in `tests/mutation/equivalents.toml`).",
        "",
    ]
    for m in module_scores:
        for name, reason in m.equivalent:
            lines.append(f"- `{m.path}` `{name}`: {reason}")
    stale = stale_equivalents(module_scores)
    if stale:
        lines += [
            "",
            "## Listed as equivalent but no longer surviving",
            "",
            "These names in equivalents.toml were killed, or no longer exist; they can go from the list.",
            "",
        ]
        lines += [f"- `{path}` `{name}`" for path, name in stale]
    unexplained = [(m.path, name) for m in module_scores for name in m.unexplained]
    if unexplained:
        lines += ["", "## Survivors not yet explained", ""]
        lines += [f"- `{path}` `{name}`" for path, name in unexplained]
    REPORT.write_text("\n".join(lines) + "\n")


def stale_equivalents(module_scores: list[ModuleScore]) -> list[tuple[str, str]]:
    """Names listed as equivalent that did not survive this run (killed, or the code changed)."""
    known = equivalents()
    surviving = {(m.path, name) for m in module_scores for name, _ in m.equivalent}
    return [(path, name) for path, names in known.items() for name in names if (path, name) not in surviving]


def _mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def verdict(module_scores: list[ModuleScore]) -> int:
    for line in table(module_scores):
        print(line)
    failed = [m for m in module_scores if not m.passes]
    unexplained = sum(len(m.unexplained) for m in module_scores)
    for m in module_scores:
        for name in m.unexplained:
            print(f"survived: {m.path} {name}   (mutmut show {module_prefix(m.path)}{name})")
    if failed:
        print(f"mutation: {len(failed)} module(s) below {THRESHOLD:.0%}: " + ", ".join(m.path for m in failed))
    if unexplained:
        print(f"mutation: {unexplained} survivor(s) neither killed nor listed as equivalent")
    return 1 if failed or unexplained else 0


def generate() -> list[str]:
    """Write every mutant into mutants/ without running any (mutmut's own generation step); return their names."""
    os.chdir(ROOT)  # mutmut reads pyproject.toml from the working directory
    from mutmut import __main__ as mutmut

    os.makedirs("mutants", exist_ok=True)
    mutmut.copy_src_dir()
    mutmut.copy_also_copy_files()
    mutmut.setup_source_paths()
    mutmut.create_mutants(os.cpu_count() or 2)
    return sorted(name for path in critical_modules() for name in results(path))


def pick(names: list[str], seed: int, per_module: int) -> list[str]:
    """A fixed, seeded sample: up to `per_module` mutants of each module, known equivalents left out."""
    known = equivalents()
    rng = random.Random(seed)
    chosen = []
    for path in critical_modules():
        prefix = module_prefix(path)
        candidates = [n for n in names if n.startswith(prefix) and n.removeprefix(prefix) not in known.get(path, {})]
        chosen += sorted(rng.sample(candidates, min(per_module, len(candidates))))
    return chosen


def run_mutmut(*names: str) -> None:
    """Run mutmut confined (tests/mutation/sandbox.py), with the tests' temporary folders in memory where there is
    a tmpfs: the notes' tests fsync after every write, which is the point of them but makes thousands of runs slow
    on a real disk."""
    memory = Path("/dev/shm")
    tmp = Path(tempfile.mkdtemp(prefix="reflect-mutation-", dir=memory if memory.is_dir() else None))
    mutants = ROOT / "mutants"
    mutants.mkdir(exist_ok=True)
    try:
        # Most of a mutant's time is its tests waiting (threads, fsync), so more workers than cores pay.
        command = [*MUTMUT, "run", "--max-children", str(2 * (os.cpu_count() or 2) + 1), *names]
        subprocess.run(
            confined(command, writable=[mutants, tmp], cwd=ROOT),
            env={**os.environ, "TMPDIR": str(tmp)},
            check=True,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("full", help="run every mutant and write tests/MUTATION.md")
    sub.add_parser("report", help="write tests/MUTATION.md from the last run")
    sample = sub.add_parser("sample", help="run a fixed, seeded sample of the mutants (CI)")
    sample.add_argument("--seed", type=int, default=15)
    sample.add_argument("--per-module", type=int, default=40)
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.command == "full":
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # no result carried over from an older run
        run_mutmut()
        module_scores = scores()
        write_report(module_scores, "make mutate", time.monotonic() - started)
        return verdict(module_scores)
    if args.command == "report":
        module_scores = scores()
        write_report(module_scores, "python -m tests.mutation report", None)
        return verdict(module_scores)
    chosen = pick(generate(), args.seed, args.per_module)
    print(f"mutation sample: {len(chosen)} mutants, seed {args.seed}, up to {args.per_module} per module")
    run_mutmut(*chosen)
    code = verdict(scores(only=set(chosen)))
    print(f"mutation sample took {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
