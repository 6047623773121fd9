import re

from hypothesis import given
from hypothesis import strategies as st

from paperfeed.search.snippets import TermMatcher, make_snippet, word_starts

_WORD = re.compile(r"[^\W_]+")  # the definition of a word that word_starts vectorises


def test_stems_are_marked() -> None:
    matcher = TermMatcher(["models", "training"])
    snippet = make_snippet(matcher, "Modeling Trained Models", "We train a model.")
    assert snippet.title_text == "**Modeling** **Trained** **Models**"
    assert snippet.text == "We **train** a **model**."


def test_html_is_escaped_with_marks() -> None:
    matcher = TermMatcher(["script"])
    snippet = make_snippet(matcher, "<script>alert(1)</script>", "a & b < script")
    assert snippet.title_html == "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;"
    assert snippet.html == "a &amp; b &lt; <mark>script</mark>"


def test_window_moves_to_the_matches() -> None:
    abstract = " ".join(["filler"] * 100 + ["attention", "sinks"] + ["tail"] * 100)
    snippet = make_snippet(TermMatcher(["sinks"]), "T", abstract, window=20)
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    assert "**sinks**" in snippet.text
    assert len(snippet.text.split()) <= 21


def test_no_words_no_marks() -> None:
    snippet = make_snippet(TermMatcher([]), "A title", "An abstract.")
    assert snippet.title_text == "A title"
    assert snippet.html == "An abstract."


@given(st.text())
def test_word_starts_agree_with_the_regex(text: str) -> None:
    assert word_starts(text) == [m.start() for m in _WORD.finditer(text)]


def test_word_starts_on_mixed_scripts() -> None:
    text = "état-of_the-art 日本語 x\U0001f600y ٣٤"
    assert word_starts(text) == [m.start() for m in _WORD.finditer(text)]
