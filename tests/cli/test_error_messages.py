"""Errors say what is wrong: unfetched URL schemes, malformed arXiv ids, a missing eval folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import Result

from tests.net.conftest import Server
from tests.test_cli import run, said


@pytest.mark.parametrize(
    ("source", "scheme"), [("ftp://host/x", "ftp"), ("FTP://host/x.jsonl", "ftp")]
)
def test_ingest_of_another_url_scheme_says_only_http_is_fetched(
    store: Result, source: str, scheme: str
) -> None:
    result = run("ingest", source)
    assert result.exit_code == 1, result.output
    assert said(result) == (f"error: {source}: only http(s) URLs are fetched, not {scheme}:// ones")


def test_ingest_of_a_file_url_says_to_give_the_path(store: Result, tmp_path: Path) -> None:
    feed = tmp_path / "papers.jsonl"
    feed.write_text('{"title": "A", "abstract": "b"}\n', encoding="utf-8")
    result = run("ingest", f"file://{feed}")
    assert result.exit_code == 1, result.output
    assert "only http(s) URLs are fetched; give a local file as its path" in said(result)
    assert "no such file" not in said(result)
    assert run("ingest", str(feed)).exit_code == 0


def test_a_path_with_a_colon_is_still_a_path(store: Result, tmp_path: Path) -> None:
    feed = tmp_path / "notes:v2.jsonl"
    feed.write_text('{"title": "A", "abstract": "b"}\n', encoding="utf-8")
    result = run("ingest", str(feed))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("source", "bad"),
    [("arxiv:id:notanid", "notanid"), ("arxiv:id:2401.12345, 99/nope", "99/nope")],
)
def test_a_malformed_arxiv_id_is_named_without_asking_arxiv(
    store: Result, net_env: Server, source: str, bad: str
) -> None:
    result = run("ingest", source)
    assert result.exit_code == 1, result.output
    assert f"{bad!r} is not an arXiv id" in said(result)
    assert net_env.seen == []


def test_an_empty_arxiv_id_list_is_refused(store: Result, net_env: Server) -> None:
    result = run("ingest", "arxiv:id:")
    assert result.exit_code == 1, result.output
    assert "give one or more arXiv ids" in said(result)
    assert net_env.seen == []


def test_eval_of_a_missing_folder_says_it_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dataset"
    result = run("eval", str(missing))
    assert result.exit_code == 1, result.output
    assert f"{missing}: the folder does not exist" in said(result)
    assert "split" not in said(result)


def test_eval_of_a_folder_without_qrels_says_it_is_not_a_dataset(tmp_path: Path) -> None:
    result = run("eval", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert f"{tmp_path}: not a BEIR-format dataset (it has no qrels folder)" in said(result)


def test_eval_of_an_unknown_split_lists_the_splits_there(tmp_path: Path) -> None:
    (tmp_path / "qrels").mkdir()
    for split in ("test", "train"):
        (tmp_path / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n")
    result = run("eval", str(tmp_path), "--split", "dev")
    assert result.exit_code == 1, result.output
    assert "no dev.tsv for split 'dev' (splits: test, train)" in said(result)
