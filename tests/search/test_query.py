from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from paperfeed.search.query import DateRange, parse_query


def test_plain_words_phrases_and_exclusions() -> None:
    parsed = parse_query('landmark "long context" -vision -"large model"')
    assert parsed.terms == ("landmark",)
    assert parsed.phrases == ("long context",)
    assert parsed.excluded == ("vision", "large model")


def test_fields() -> None:
    parsed = parse_query('author:"Yann LeCun" cat:cs.CL title:bert has:code year:2023..2025 x')
    assert parsed.authors == ("Yann LeCun",)
    assert parsed.categories == ("cs.CL",)
    assert parsed.title == ("bert",)
    assert parsed.has_code
    assert parsed.dates == DateRange(date(2023, 1, 1), date(2025, 12, 31))
    assert parsed.terms == ("x",)


def test_year_and_date_ranges() -> None:
    assert parse_query("year:2024").dates == DateRange(date(2024, 1, 1), date(2024, 12, 31))
    assert parse_query("year:2025..2023").dates == DateRange(date(2023, 1, 1), date(2025, 12, 31))
    assert parse_query("year:2023..").dates == DateRange(date(2023, 1, 1), None)
    span = parse_query("date:2025-01-01..2025-03-01").dates
    assert span == DateRange(date(2025, 1, 1), date(2025, 3, 1))
    assert parse_query("date:..2025-03-01").dates == DateRange(None, date(2025, 3, 1))


def test_arxiv_ids_and_urls() -> None:
    for raw in ("2401.12345", "arXiv:2401.12345v2", "https://arxiv.org/abs/2401.12345v3"):
        parsed = parse_query(raw)
        assert parsed.arxiv_ids == ("2401.12345",), raw
        assert not parsed.has_text
    assert parse_query("cs/0601001").arxiv_ids == ("cs/0601001",)


def test_bad_syntax_falls_back_to_text() -> None:
    assert parse_query('"unbalanced quote').terms == ("unbalanced", "quote")
    assert parse_query("foo:bar").terms == ("foo", "bar")  # unknown field
    assert parse_query("year:20x5").terms == ("year", "20x5")  # bad value
    assert parse_query("BERT: fine-tuning").terms == ("BERT", "fine", "tuning")
    assert parse_query("date:2025-13-45").dates is None
    empty = parse_query(':: - -- ""')
    assert not empty.has_text and not empty.has_filters


def test_text_for_dense_retrieval() -> None:
    assert parse_query('title:kv "cache eviction" long -x').text == "kv cache eviction long"


@given(st.text())
def test_any_string_parses(raw: str) -> None:
    parsed = parse_query(raw)
    assert parsed.raw == raw


@given(st.lists(st.sampled_from(['"', "-", ":", "author:", "year:", "..", "a", " ", "2401.1"])))
def test_any_mix_of_syntax_parses(pieces: list[str]) -> None:
    parse_query("".join(pieces))
