"""End to end: `arxiv:`, `oai:`, `hf-daily:` and URL sources into both backends, via run_ingest."""

from __future__ import annotations

import importlib.util
from datetime import date

import pytest
from sqlalchemy import Engine

from paperfeed.config import get_settings
from paperfeed.ingest.formats import IngestError
from paperfeed.ingest.net import arxiv_api
from paperfeed.ingest.net.arxiv_client import ArxivError
from paperfeed.ingest.resolve import resolve_source
from paperfeed.ingest.service import IngestReport, run_ingest
from tests.net.conftest import Reply, Server, recorded

IDS = ("2503.14755", "2503.14797")


def arxiv_routes(server: Server) -> None:
    def api(query: dict[str, str]) -> Reply:
        if "id_list" in query:
            known = set(query["id_list"].split(","))
            return recorded("arxiv_api_ids.xml" if known <= set(IDS) else "arxiv_api_empty.xml")
        start = int(query.get("start", "0"))
        return recorded(f"arxiv_api_start{start}.xml" if start < 12 else "arxiv_api_empty.xml")

    server.route("/api/query", api)


def oai_routes(server: Server, fail_on_token: str | None = None) -> None:
    pages = {"7133620|1001": 2, "7133620|2001": 3}

    def oai(query: dict[str, str]) -> Reply:
        token = query.get("resumptionToken")
        if token is not None and token == fail_on_token:
            return Reply(400, b"killed")
        if token is not None and token not in pages:
            return recorded("oai_bad_token.xml")
        prefix = query.get("metadataPrefix", "arXiv")
        return recorded(f"oai_{prefix}_page{pages.get(token or '', 1)}.xml")

    server.route("/oai", oai)


def ingest(engine: Engine, spec: str, **kwargs: object) -> IngestReport:
    source = resolve_source(spec, get_settings(), **kwargs)  # type: ignore[arg-type]
    return run_ingest(engine, source, batch_size=3)


def assert_idempotent(engine: Engine, spec: str, expected: int, **kwargs: object) -> None:
    first = ingest(engine, spec, **kwargs)
    assert (first.read, first.counts.inserted, first.errors) == (expected, expected, [])
    again = ingest(engine, spec, **kwargs)
    assert (again.counts.inserted, again.counts.updated) == (0, 0)
    assert again.counts.unchanged == expected


def test_arxiv_query_pages_into_the_store(
    engine: Engine, net_env: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arxiv_api, "PAGE_SIZE", 5)
    arxiv_routes(net_env)
    assert_idempotent(engine, "arxiv:cat:cs.CL", 12)
    starts = [seen.query["start"] for seen in net_env.seen[:3]]
    assert starts == ["0", "5", "10"]
    first = net_env.seen[0].query
    assert (first["search_query"], first["max_results"]) == ("cat:cs.CL", "5")
    assert (first["sortBy"], first["sortOrder"]) == ("lastUpdatedDate", "descending")


def test_arxiv_since_stops_at_older_records(
    engine: Engine, net_env: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arxiv_api, "PAGE_SIZE", 5)
    arxiv_routes(net_env)
    report = ingest(engine, "arxiv:cat:cs.CL", since=date(2025, 3, 27))
    assert report.read == 4  # updated 03-30, 29, 28, 27
    assert len(net_env.seen) == 1


def test_arxiv_id_list(engine: Engine, net_env: Server) -> None:
    arxiv_routes(net_env)
    assert_idempotent(engine, f"arxiv:id:{IDS[0]},{IDS[1]}", 2)
    assert net_env.seen[0].query["id_list"] == ",".join(IDS)


def test_fetch_arxiv_records_by_id(net_env: Server) -> None:
    arxiv_routes(net_env)
    found = arxiv_api.fetch_arxiv_records([f"arXiv:{IDS[1]}", IDS[0]], get_settings())
    assert [r.id for r in found] == [f"{IDS[1]}v1", f"{IDS[0]}v1"]  # in the order asked
    with pytest.raises(IngestError, match=r"arXiv has no paper with id 2401\.99999"):
        arxiv_api.fetch_arxiv_records(["2401.99999"], get_settings())
    with pytest.raises(IngestError, match=r"not an arXiv id: 'nonsense'"):
        arxiv_api.fetch_arxiv_records(["nonsense"], get_settings())


@pytest.mark.parametrize("prefix", ["arXiv", "oai_dc"])
def test_oai_harvest_follows_resumption_tokens(
    engine: Engine, net_env: Server, prefix: str
) -> None:
    oai_routes(net_env)
    spec = (
        "oai:cs" if prefix == "arXiv" else "oai:cs?prefix=oai_dc&from=2025-03-01&until=2025-03-31"
    )
    assert_idempotent(engine, spec, 9)
    first, second, third = (seen.query for seen in net_env.seen[:3])
    assert first["verb"] == "ListRecords" and first["set"] == "cs"
    assert first["metadataPrefix"] == prefix
    assert second == {"verb": "ListRecords", "resumptionToken": "7133620|1001"}
    assert third == {"verb": "ListRecords", "resumptionToken": "7133620|2001"}


def test_oai_since_is_the_from_argument(engine: Engine, net_env: Server) -> None:
    oai_routes(net_env)
    ingest(engine, "oai:cs", since=date(2025, 3, 20))
    assert net_env.seen[0].query["from"] == "2025-03-20"


def test_killed_oai_harvest_resumes_from_its_token(engine: Engine, net_env: Server) -> None:
    oai_routes(net_env, fail_on_token="7133620|2001")
    with pytest.raises(ArxivError, match=r"HTTP 400"):
        ingest(engine, "oai:cs")
    net_env.seen.clear()
    oai_routes(net_env)
    report = ingest(engine, "oai:cs")
    # 6 records were committed (batches of 3) under the token of page 2: the harvest goes on
    # from there, never from page 1, and skips what page 2 already gave.
    tokens = [seen.query.get("resumptionToken") for seen in net_env.seen]
    assert tokens == ["7133620|1001", "7133620|2001"]
    assert report.counts.inserted == 3 and report.read == 9
    assert ingest(engine, "oai:cs").counts.unchanged == 9


def test_hf_daily(engine: Engine, net_env: Server) -> None:
    def daily(query: dict[str, str]) -> Reply:
        assert query["date"] == "2023-12-29"
        return recorded("hf_daily_2023-12-29.json") if query["p"] == "0" else Reply(200, b"[]")

    net_env.route("/api/daily_papers", daily)
    assert_idempotent(engine, "hf-daily:2023-12-29", 6)


def test_hf_daily_rejects_a_bad_day(net_env: Server) -> None:
    with pytest.raises(IngestError, match=r"YYYY-MM-DD"):
        resolve_source("hf-daily:yesterday", get_settings())


def test_url_source_with_a_format(engine: Engine, net_env: Server) -> None:
    net_env.route("/feed.xml", lambda q: recorded("arxiv_api_start5.xml"))
    assert_idempotent(engine, f"{net_env.url}/feed.xml", 5, fmt="arxiv-atom")


@pytest.mark.skipif(
    importlib.util.find_spec("paperfeed.ingest.formats.detect") is None,
    reason="format detection not written yet",
)
def test_url_source_detects_the_format(engine: Engine, net_env: Server) -> None:
    net_env.route("/listing", lambda q: recorded("oai_arXiv_page1.xml"))
    assert ingest(engine, f"{net_env.url}/listing").read == 4


def test_url_source_refuses_private_addresses_by_default(server: Server) -> None:
    server.route("/feed.xml", lambda q: recorded("arxiv_api_start5.xml"))
    with pytest.raises(IngestError, match=r"PAPERFEED_ALLOW_PRIVATE_URLS"):
        resolve_source(f"{server.url}/feed.xml", get_settings())
    assert server.seen == []


def test_url_source_http_error(net_env: Server) -> None:
    with pytest.raises(IngestError, match=r"HTTP 404"):
        resolve_source(f"{net_env.url}/missing", get_settings())
