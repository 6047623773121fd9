from sqlalchemy import Engine

from paperfeed.domain import PaperRecord
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.upsert import upsert_batch
from paperfeed.store.engine import write_transaction
from paperfeed.store.papers import count_papers, get_paper


def _prep(**kw: object) -> Prepared:
    item = prepare(PaperRecord(**kw))  # type: ignore[arg-type]
    assert isinstance(item, Prepared)
    return item


def test_title_only_record_takes_the_arxiv_id_when_arxiv_arrives(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        upsert_batch(conn, [_prep(title="Landmark  Attention", abstract="x y")])
    with write_transaction(engine) as conn:
        counts = upsert_batch(
            conn,
            [
                _prep(
                    id="arXiv:2305.16300v2", title="Landmark attention", abstract="", authors=["A"]
                )
            ],
        )
    assert (counts.inserted, counts.updated) == (0, 1)
    with engine.connect() as conn:
        assert count_papers(conn) == 1
        paper = get_paper(conn, "2305.16300")
    assert paper is not None
    assert paper.abstract == "x y"
    assert paper.authors == ["A"]
    assert [v.number for v in paper.versions] == [2]
