"""Bulk ingest benchmark: the arXiv metadata snapshot (``arxiv-json``), parse + store + lexical
index, on SQLite or PostgreSQL.

The input is made from the real corpus by ``bench/make_arxiv_snapshot.py`` into ``bench/out/``
(git-ignored) on first use. Each variant (write path x batch size) runs in a fresh process on a
fresh database, through the real pipeline (``run_ingest`` over a file source), so its peak RSS
is its own. Variants of one invocation run back to back on the same machine: compare them as
ratios, not with figures from another run.

    .venv/bin/python bench/ingest.py --records 1000000 --backend sqlite
    .venv/bin/python bench/ingest.py --records 1000000 --backend postgresql

The variant ``baseline`` is other code, checked out beside this one and measured by this same
benchmark: its child process finds ``paperfeed`` in ``--baseline-src`` first. The earliest
code it runs on is 28b1616, where this benchmark and the arXiv JSON parser came in:

    git worktree add /tmp/baseline 28b1616
    .venv/bin/python bench/ingest.py --records 100000 --baseline-src /tmp/baseline/src \
        --variant baseline current current+pipeline
    git worktree remove /tmp/baseline

Each result names the ``src`` folder it ran (``code``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench.*` importable
    sys.path.insert(0, str(ROOT))

from bench.make_arxiv_snapshot import ensure_snapshot  # noqa: E402

OUT = ROOT / "bench" / "out"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[2000])
    parser.add_argument(
        "--variant",
        nargs="+",
        default=["current"],
        help="WRITE_PATH[+PROPOSAL...]: write path `current` (the code as it is) or `baseline` "
        "(the code in --baseline-src); proposals for files this benchmark "
        "does not own (bench/proposals.py): pipeline, cache, mmap, normal, switch; switches "
        "of the current code: inprocess (no parser process), keepindexes (no bulk path). "
        "E.g. current+inprocess+keepindexes",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="the src folder of a git worktree of the code to compare with (variant baseline)",
    )
    parser.add_argument(
        "--reingest", action="store_true", help="also time a second, idempotent pass"
    )
    parser.add_argument("--parse-only", action="store_true", help="time the parser alone")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def command_line(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python bench/ingest.py", f"--records {args.records}"]
    parts += [f"--backend {args.backend}", "--batch-size " + " ".join(map(str, args.batch_size))]
    if args.baseline_src:
        parts.append(f"--baseline-src {args.baseline_src}")
    parts.append("--variant " + " ".join(args.variant))
    parts += ["--reingest"] * args.reingest + ["--parse-only"] * args.parse_only
    return " ".join(parts)


def run_variant(args: argparse.Namespace, path: Path, variant: str, batch: int) -> dict:
    """One measurement in a fresh interpreter (so peak RSS belongs to this variant alone)."""
    argv = [sys.executable, "-m", "bench.ingest_child", str(path), args.backend, variant]
    argv += [str(batch), str(int(args.reingest)), str(int(args.parse_only))]
    done = subprocess.run(
        argv, cwd=ROOT, env=child_env(args, variant), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"variant {variant}/{batch} failed")
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child_env(args: argparse.Namespace, variant: str) -> dict[str, str]:
    """The environment of a variant's process: the baseline's ``paperfeed`` first, if asked."""
    env = dict(os.environ)
    if variant.split("+")[0] != "baseline":
        return env
    if args.baseline_src is None or not (args.baseline_src / "paperfeed").is_dir():
        raise SystemExit(
            "variant baseline: give --baseline-src, the src folder of a worktree of the code "
            "to compare with (git worktree add /tmp/baseline 28b1616 -> /tmp/baseline/src)"
        )
    paths = [str(args.baseline_src.resolve()), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def describe(result: dict) -> str:
    rss = " ".join(f"{mib:.0f}" for mib in result["rss_samples_mib"])
    lines = [
        f"  {result['variant']} batch {result['batch_size']} ({result['code']}): "
        f"{result['records']:,} records in {result['seconds']:.1f} s = "
        f"{result['records_per_s']:,.0f} records/s; peak RSS {result['peak_rss_mib']:.0f} MiB",
        f"    CPU {result['cpu_us_per_record']:.0f} us/record (all threads); parser process "
        f"{result.get('child_cpu_us_per_record', 0):.0f} us/record, peak RSS "
        f"{result.get('peak_rss_children_mib', 0):.0f} MiB; load average at start "
        f"{result['load_average']:.1f}",
        f"    RSS along the run (MiB): {rss}",
        f"    stored: {result['papers']:,} papers; FTS 'attention' hits {result['fts_hits']:,}",
    ]
    if "reingest_seconds" in result:
        lines.append(
            f"    re-ingest (unchanged): {result['reingest_seconds']:.1f} s = "
            f"{result['reingest_records_per_s']:,.0f} records/s, counts {result['reingest_counts']}"
        )
    if "parse_records_per_s" in result:
        lines.append(f"    parse only: {result['parse_records_per_s']:,.0f} records/s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    path = ensure_snapshot(args.records, OUT)
    print(f"input: {path} ({path.stat().st_size / 2**20:,.0f} MiB)")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"reproduce: {command_line(args)}")
    started = time.strftime("%Y-%m-%d %H:%M")
    results = []
    for variant, batch in itertools.product(args.variant, args.batch_size):
        results.append(run_variant(args, path, variant, batch))
        print(describe(results[-1]), flush=True)
    first = results[0]["records_per_s"]
    for result in results[1:]:
        ratio = result["records_per_s"] / first
        print(f"  {result['variant']}/{result['batch_size']} vs the first: {ratio:.2f}x")
    print(json.dumps({"started": started, "command": command_line(args), "results": results}))


if __name__ == "__main__":
    main()
