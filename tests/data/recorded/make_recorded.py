# ruff: noqa: E501 - the XML envelopes are kept on one line each, as the services send them
"""Regenerate the recorded arXiv / OAI-PMH / Hugging Face responses from real papers.

Run from the repository root: `python tests/data/recorded/make_recorded.py`. Papers (ids,
titles, abstracts, authors, categories) come from the committed fixtures in tests/data (written
by scripts/make_test_fixtures.py); the envelopes follow the real services' formats (arXiv API
Atom + opensearch, OAI-PMH 2.0 ListRecords, HF /api/daily_papers).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
DATA = HERE.parent


def _papers() -> list[dict]:
    papers = []
    with gzip.open(DATA / "arxiv" / "listings.jsonl.gz", "rt") as handle:
        for line in handle:
            paper = json.loads(line)
            if paper["categories"][0] == "cs.CL":
                papers.append(paper)
            if len(papers) == 24:
                return papers
    return papers


def _atom_entry(p: dict, updated: str, version: int) -> str:
    cats = "".join(
        f'\n    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>'
        for c in p["categories"]
    )
    authors = "".join(
        f"\n    <author>\n      <name>{escape(a)}</name>\n    </author>" for a in p["authors"]
    )
    pid = f"{p['id']}v{version}"
    extra = ""
    if version == 2:
        extra = (
            '\n    <arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">10.18653/v1/2025.acl-long.'
            f'{p["id"][-3:]}</arxiv:doi>\n    <link title="doi" href="http://dx.doi.org/10.18653/v1/'
            f'2025.acl-long.{p["id"][-3:]}" rel="related"/>'
            '\n    <arxiv:journal_ref xmlns:arxiv="http://arxiv.org/schemas/atom">Proceedings of ACL '
            "2025</arxiv:journal_ref>"
        )
    return f"""  <entry>
    <id>http://arxiv.org/abs/{pid}</id>
    <updated>{updated}T17:59:58Z</updated>
    <published>{p["listed"]}T17:59:58Z</published>
    <title>{escape(p["title"])}</title>
    <summary>  {escape(p["abstract"])}
</summary>{authors}
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">12 pages, 4 figures</arxiv:comment>{extra}
    <link href="http://arxiv.org/abs/{pid}" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{pid}" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{p["categories"][0]}" scheme="http://arxiv.org/schemas/atom"/>{cats}
  </entry>
"""


def _feed(query: str, entries: list[str], total: int, start: int, per_page: int) -> str:
    os_ns = 'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?{escape(query)}" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: {escape(query)}</title>
  <id>http://arxiv.org/api/Ssc1Ojx5mC3hVeYbcdCi2I1VZ0A</id>
  <updated>2025-03-20T00:00:00-04:00</updated>
  <opensearch:totalResults {os_ns}>{total}</opensearch:totalResults>
  <opensearch:startIndex {os_ns}>{start}</opensearch:startIndex>
  <opensearch:itemsPerPage {os_ns}>{per_page}</opensearch:itemsPerPage>
{"".join(entries)}</feed>
"""


def write_arxiv(papers: list[dict]) -> None:
    chosen = papers[:12]
    # Newest update first, as sortBy=lastUpdatedDate&sortOrder=descending returns them.
    days = [f"2025-03-{d:02d}" for d in (30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19)]
    for start in (0, 5, 10):
        entries = [
            _atom_entry(p, days[start + i], 2 if (start + i) % 4 == 0 else 1)
            for i, p in enumerate(chosen[start : start + 5])
        ]
        query = f"search_query=cat:cs.CL&start={start}&max_results=5"
        (HERE / f"arxiv_api_start{start}.xml").write_text(_feed(query, entries, 12, start, 5))
    empty = _feed("search_query=cat:cs.CL&start=12&max_results=5", [], 12, 12, 5)
    (HERE / "arxiv_api_empty.xml").write_text(empty)
    pair = [_atom_entry(p, "2025-03-21", 1) for p in papers[12:14]]
    ids = f"id_list={papers[12]['id']},{papers[13]['id']}"
    (HERE / "arxiv_api_ids.xml").write_text(_feed(ids, pair, 2, 0, 2))
    error = """  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.5678x</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.5678x</summary>
    <updated>2025-03-20T00:00:00-04:00</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_1234.5678x" rel="alternate" type="text/html"/>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>
"""
    (HERE / "arxiv_api_error.xml").write_text(_feed("id_list=1234.5678x", [error], 1, 0, 1))


def _arxiv_meta(p: dict) -> str:
    authors = "".join(_oai_author(a) for a in p["authors"])
    return f"""<arXiv xmlns="http://arxiv.org/OAI/arXiv/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://arxiv.org/OAI/arXiv/ http://arxiv.org/OAI/arXiv.xsd">
<id>{p["id"]}</id><created>{p["listed"]}</created><updated>2025-03-25</updated><authors>{authors}</authors><title>{escape(p["title"])}</title><categories>{" ".join(p["categories"])}</categories><comments>Accepted at ACL 2025</comments><license>http://creativecommons.org/licenses/by/4.0/</license><abstract>  {escape(p["abstract"])}
</abstract></arXiv>"""


def _oai_author(name: str) -> str:
    forenames, _, keyname = name.rpartition(" ")
    inner = f"<keyname>{escape(keyname)}</keyname>"
    if forenames:
        inner += f"<forenames>{escape(forenames)}</forenames>"
    return f"<author>{inner}</author>"


_SUBJECT = {
    "cs.CL": "Computer Science - Computation and Language",
    "cs.AI": "Computer Science - Artificial Intelligence",
    "cs.LG": "Computer Science - Machine Learning",
    "cs.CV": "Computer Science - Computer Vision and Pattern Recognition",
}


def _dc_meta(p: dict) -> str:
    creators = "".join(
        "<dc:creator>{}</dc:creator>".format(escape(", ".join(reversed(a.rsplit(" ", 1)))))
        for a in p["authors"]
    )
    subjects = "".join(f"<dc:subject>{_SUBJECT.get(c, c)}</dc:subject>" for c in p["categories"])
    return f"""<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd">
<dc:title>{escape(p["title"])}</dc:title>{creators}{subjects}<dc:description>  {escape(p["abstract"])}
</dc:description><dc:description>Comment: Accepted at ACL 2025</dc:description><dc:date>{p["listed"]}</dc:date><dc:date>2025-03-25</dc:date><dc:type>text</dc:type><dc:identifier>http://arxiv.org/abs/{p["id"]}</dc:identifier></oai_dc:dc>"""


def _oai_record(p: dict, meta: str, deleted: bool = False) -> str:
    status = ' status="deleted"' if deleted else ""
    header = (
        f"<header{status}>\n <identifier>oai:arXiv.org:{p['id']}</identifier>\n"
        f" <datestamp>2025-03-25</datestamp>\n <setSpec>cs</setSpec>\n</header>"
    )
    body = "" if deleted else f"\n<metadata>\n {meta}\n</metadata>"
    return f"<record>{header}{body}\n</record>\n"


def _oai(request: str, inner: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>2025-03-26T09:12:44Z</responseDate>
<request {request}>http://oaipmh.arxiv.org/oai</request>
{inner}
</OAI-PMH>
"""


def write_oai(papers: list[dict]) -> None:
    harvest = papers[12:22]  # 10 records (one deleted), 4 + 4 + 2 a page
    pages = [harvest[0:4], harvest[4:8], harvest[8:10]]
    tokens = ["7133620|1001", "7133620|2001", ""]
    for prefix, meta in (("arXiv", _arxiv_meta), ("oai_dc", _dc_meta)):
        for number, (page, token) in enumerate(zip(pages, tokens, strict=True), start=1):
            records = "".join(
                _oai_record(p, meta(p), deleted=(number == 2 and i == 1))
                for i, p in enumerate(page)
            )
            cursor = (number - 1) * 4
            rt = f'<resumptionToken cursor="{cursor}" completeListSize="10">{token}</resumptionToken>'
            request = f'verb="ListRecords" metadataPrefix="{prefix}" set="cs"'
            text = _oai(request, f"<ListRecords>\n{records}{rt}\n</ListRecords>")
            (HERE / f"oai_{prefix}_page{number}.xml").write_text(text)
    no_match = '<error code="noRecordsMatch">No records match the request</error>'
    (HERE / "oai_no_records.xml").write_text(_oai('verb="ListRecords"', no_match))
    bad = '<error code="badResumptionToken">Invalid or expired resumption token</error>'
    (HERE / "oai_bad_token.xml").write_text(_oai('verb="ListRecords"', bad))


def write_hf() -> None:
    sample = json.loads((DATA / "hf-daily-papers-sample.json").read_text())
    items = []
    for number, (pid, p) in enumerate(list(sample.items())[:6]):
        published = p["publication_date"].replace("Z", ".000Z")
        authors = [
            {"_id": f"65a{number:03d}{i:018x}", "name": name, "hidden": False}
            for i, name in enumerate(p["authors"])
        ]
        paper = {
            "id": pid,
            "authors": authors,
            "publishedAt": published,
            "submittedOnDailyAt": "2023-12-29T02:15:10.000Z",
            "title": p["title"],
            "summary": p["abstract"],
            "upvotes": p["upvotes"],
            "discussionId": f"658e{number:020x}",
        }
        items.append(
            {
                "paper": paper,
                "publishedAt": "2023-12-29T02:15:10.000Z",
                "title": p["title"],
                "summary": p["abstract"],
                "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{pid}.png",
                "numComments": number % 3,
                "submittedBy": {
                    "_id": "60f1abe7544c2adfd699860c",
                    "avatarUrl": "https://cdn-avatars.huggingface.co/v1/production/uploads/1674929746905-60f1abe7544c2adfd699860c.jpeg",
                    "isPro": False,
                    "fullname": "AK",
                    "name": "akhaliq",
                    "type": "user",
                },
                "isAuthorParticipating": False,
            }
        )
    (HERE / "hf_daily_2023-12-29.json").write_text(json.dumps(items, indent=2, ensure_ascii=False))


# Papers of 2024-01-11 in the HF sample, with the code and project links their pages give.
SIGNAL_DAY = "2024-01-12"
SIGNAL_LINKS = {
    "2401.06066": {
        "githubRepo": "https://github.com/deepseek-ai/DeepSeek-MoE",
        "githubStars": 1000,
    },
    "2401.06104": {
        "githubRepo": "https://github.com/schwartz-lab-NLP/TOVA",
        "githubStars": 80,
        "projectPage": "https://schwartz-lab-nlp.github.io/TOVA/",
    },
    "2401.06105": {
        "ai_summary": "PALP personalises text-to-image models on one prompt.",
        "ai_keywords": ["personalization", "text-to-image", "score distillation"],
    },
}


def write_hf_signal() -> None:
    """A Daily Papers day with what the worker imports: upvotes, submitter, GitHub repository
    and stars, project page, AI summary and keywords; and GitHub's answers for the repos."""
    sample = json.loads((DATA / "hf-daily-papers-sample.json").read_text())
    items = []
    for number, (pid, extra) in enumerate(SIGNAL_LINKS.items()):
        p = sample[pid]
        authors = [
            {"_id": f"65b{number:03d}{i:018x}", "name": n, "hidden": False}
            for i, n in enumerate(p["authors"])
        ]
        submitter = {
            "_id": "60f1abe7544c2adfd699860c",
            "fullname": "AK",
            "name": "akhaliq",
            "type": "user",
            "isPro": False,
        }
        paper = {
            "id": pid,
            "authors": authors,
            "publishedAt": p["publication_date"],
            "submittedOnDailyAt": f"{SIGNAL_DAY}T01:30:00.000Z",
            "title": p["title"],
            "summary": p["abstract"],
            "upvotes": p["upvotes"],
            "submittedOnDailyBy": submitter,
            **extra,
        }
        items.append(
            {
                "paper": paper,
                "publishedAt": f"{SIGNAL_DAY}T01:30:00.000Z",
                "title": p["title"],
                "summary": p["abstract"],
                "numComments": number,
                "submittedBy": submitter,
                "isAuthorParticipating": False,
            }
        )
    (HERE / f"hf_daily_{SIGNAL_DAY}.json").write_text(
        json.dumps(items, indent=2, ensure_ascii=False)
    )
    for full_name, stars in (("deepseek-ai/DeepSeek-MoE", 1840), ("schwartz-lab-NLP/TOVA", 95)):
        repo = {
            "id": 700000000 + stars,
            "name": full_name.split("/")[1],
            "full_name": full_name,
            "private": False,
            "html_url": f"https://github.com/{full_name}",
            "stargazers_count": stars,
            "watchers_count": stars,
            "forks_count": stars // 10,
        }
        name = full_name.split("/")[1].lower()
        (HERE / f"github_repo_{name}.json").write_text(json.dumps(repo, indent=2))


def main() -> None:
    papers = _papers()
    write_arxiv(papers)
    write_oai(papers)
    write_hf()
    write_hf_signal()


if __name__ == "__main__":
    main()
