"""Make an arXiv metadata snapshot (``arxiv-json``) of any size from the real daily corpus.

The 74,728 real papers in ``../shared/data/arxiv-daily-2025-2026.jsonl.gz`` are repeated until
the requested count is reached. Every copy gets a new, distinct, valid arXiv id (``YYMM.NNNNN``,
~28k papers a month from 1501 on, as arXiv's submission rate is today) and versions and dates
that fit that month, so the file looks like the real snapshot: one JSON object a line with
``id``, ``submitter``, ``authors`` (a string), ``title``, ``comments``, ``journal-ref``, ``doi``,
``report-no``, ``categories`` (space-separated), ``license``, ``abstract``, ``versions``,
``update_date`` and ``authors_parsed``. It streams: memory does not grow with ``--records``.

    .venv/bin/python bench/make_arxiv_snapshot.py --records 1000000
"""

from __future__ import annotations

import argparse
import gzip
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-daily-2025-2026.jsonl.gz"
PER_MONTH = 28_000
FIRST_MONTH = (2015, 1)  # five-digit sequence numbers start in 1501
LICENSES = (
    "http://creativecommons.org/licenses/by/4.0/",
    "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
    "http://creativecommons.org/licenses/by-nc-sa/4.0/",
    None,
)


def corpus_records(path: Path = CORPUS) -> Iterator[dict[str, Any]]:
    """The real papers, read again from the start each time the caller runs out."""
    while True:
        with gzip.open(path, "rb") as stream:
            for line in stream:
                yield orjson.loads(line)


def month_of(n: int) -> tuple[int, int]:
    index = FIRST_MONTH[0] * 12 + FIRST_MONTH[1] - 1 + n // PER_MONTH
    return index // 12, index % 12 + 1


def arxiv_id(n: int) -> str:
    year, month = month_of(n)
    return f"{year % 100:02d}{month:02d}.{n % PER_MONTH + 1:05d}"


def _rfc2822(moment: datetime) -> str:
    # The snapshot's spelling: "Mon, 2 Apr 2007 19:18:42 GMT" (day without a leading zero).
    return moment.strftime("%a, ") + str(moment.day) + moment.strftime(" %b %Y %H:%M:%S GMT")


def _versions(n: int, rng: random.Random) -> list[datetime]:
    year, month = month_of(n)
    first = datetime(year, month, 1, tzinfo=UTC) + timedelta(
        days=(n % PER_MONTH) * 28 / PER_MONTH, seconds=rng.randrange(86_400)
    )
    moments = [first]
    # About a third of arXiv papers have a v2, fewer a v3 and later.
    while len(moments) < 6 and rng.random() < (0.35 if len(moments) == 1 else 0.25):
        moments.append(
            moments[-1] + timedelta(days=rng.randrange(3, 200), seconds=rng.randrange(86_400))
        )
    return moments


def _wrapped(text: str, indent: str) -> str:
    # The snapshot keeps arXiv's ~80-column line breaks in titles and abstracts; ingest must
    # collapse them, so the benchmark pays for that too.
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) >= 78:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return indent + f"\n{indent}".join([*lines, line])


def _authors_parsed(name: str) -> list[str]:
    parts = name.rsplit(" ", 1)
    return [parts[-1], parts[0] if len(parts) == 2 else "", ""]


def snapshot_record(n: int, real: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    moments = _versions(n, rng)
    authors = real.get("authors") or []
    published_day: date = moments[0].date()
    has_journal = rng.random() < 0.15
    return {
        "id": arxiv_id(n),
        "submitter": authors[0] if authors else None,
        "authors": ", ".join(authors[:-1])
        + (" and " + authors[-1] if len(authors) > 1 else "".join(authors)),
        "title": _wrapped(real["title"], ""),
        "comments": f"{rng.randrange(6, 40)} pages, {rng.randrange(1, 12)} figures"
        if rng.random() < 0.6
        else None,
        "journal-ref": f"Proc. {published_day.year} Conf., {rng.randrange(1, 900)}"
        if has_journal
        else None,
        "doi": f"10.{rng.randrange(1000, 9999)}/{arxiv_id(n)}" if has_journal else None,
        "report-no": None,
        "categories": " ".join(real.get("categories") or []),
        "license": rng.choice(LICENSES),
        "abstract": _wrapped(real["abstract"], "  ") + "\n",
        "versions": [
            {"version": f"v{i + 1}", "created": _rfc2822(m)} for i, m in enumerate(moments)
        ],
        "update_date": moments[-1].date().isoformat(),
        "authors_parsed": [_authors_parsed(a) for a in authors],
    }


def write_snapshot(out: Path, records: int, seed: int = 2026) -> Path:
    """Write ``records`` snapshot lines to ``out`` (through a temporary name, so a killed run
    never leaves a short file that looks finished)."""
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(out.suffix + ".partial")
    with open(partial, "wb", buffering=1 << 20) as stream:
        for n, real in zip(range(records), corpus_records(), strict=False):
            stream.write(orjson.dumps(snapshot_record(n, real, rng)) + b"\n")
    partial.rename(out)
    return out


def ensure_snapshot(records: int, out_dir: Path) -> Path:
    path = out_dir / f"arxiv-{records}.jsonl"
    return path if path.exists() else write_snapshot(path, records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(__file__).parent / "out" / f"arxiv-{args.records}.jsonl"
    print(write_snapshot(out, args.records))


if __name__ == "__main__":
    main()
