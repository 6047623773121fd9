"""BERT WordPiece token ids fast: ``FastWordPiece`` gives exactly the ids of HF's tokenizer,
~6x faster a process on arXiv abstracts, for bulk embedding (``embed_gpu``).

HF's Rust tokenizer spends ~450 us an abstract in its normaliser and pre-tokeniser, keeping
per-byte alignments that embedding never reads. For printable-ASCII text (98% of arXiv
abstracts) those steps are ``lower()``, spaces around punctuation (numpy, a batch at once) and
``bytes.split``; each distinct word goes once through HF's own WordPiece model and is
remembered, and a batch's ids are gathered with numpy. Anything else goes to HF unchanged.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

# Printable ASCII plus tab/newline/return: what the fast path below handles. Other control
# characters (removed by BERT's normaliser) and non-ASCII text (accents, CJK) go to HF.
_ODD = re.compile(r"[^\t\n\r -~]")
BOUNDARY = "\x01"  # joins a batch's texts: a control character, so in no text it handles
# Bytes that BERT's pre-tokeniser isolates: in ASCII every printable non-alphanumeric.
_PUNCT = np.zeros(256, dtype=bool)
_PUNCT[[c for c in range(33, 127) if not chr(c).isalnum()]] = True
_PUNCT[ord(BOUNDARY)] = True
CACHE_WORDS = 2_000_000  # distinct words remembered per process (~250 MB), then start over


def ragged_arange(counts: np.ndarray) -> np.ndarray:
    """``0..count-1`` for each count, end to end: each item's place within its group."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


class PieceTable:
    """Word id -> its WordPiece ids, as growable arrays that numpy can gather from."""

    def __init__(self) -> None:
        self.start = np.zeros(1 << 16, dtype=np.int64)
        self.count = np.zeros(1 << 16, dtype=np.int64)
        self.flat = np.zeros(1 << 17, dtype=np.int32)
        self.words = 0
        self.used = 0

    def add(self, pieces: Sequence[int]) -> int:
        if self.words == len(self.start):
            self.start = np.concatenate([self.start, np.zeros_like(self.start)])
            self.count = np.concatenate([self.count, np.zeros_like(self.count)])
        while self.used + len(pieces) > len(self.flat):
            self.flat = np.concatenate([self.flat, np.zeros_like(self.flat)])
        self.start[self.words], self.count[self.words] = self.used, len(pieces)
        self.flat[self.used : self.used + len(pieces)] = pieces
        self.used += len(pieces)
        self.words += 1
        return self.words - 1


class FastWordPiece:
    """The ids of a BERT WordPiece ``tokenizers.Tokenizer`` (lowercasing normaliser, BERT
    pre-tokeniser, ``[CLS] text [SEP]``, right truncation), 5-7x faster on arXiv abstracts.

    HF's Rust tokenizer spends ~450 us on an abstract, nearly all in the normaliser and
    pre-tokeniser, which keep per-byte alignments that embedding never reads (skipping the
    offsets saves ~10%, turning truncation off nothing). For printable-ASCII text (98% of
    arXiv abstracts) those two steps are ``lower()``, spaces around punctuation (numpy, a
    whole batch at once) and ``bytes.split``; WordPiece of a word depends on the word alone,
    so each distinct word is run once through HF's own WordPiece model and remembered, and a
    batch's ids are gathered from that table with numpy. Texts holding anything else, or a
    special token's text ("[MASK]" is matched before normalising), go to HF unchanged, as does
    everything when the tokenizer is not of this shape. ``tests/search/test_embed_gpu.py``
    checks the ids are equal.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.hf = tokenizer
        self.cls, self.sep = 101, 102
        self.specials = [t.content for t in tokenizer.get_added_tokens_decoder().values()]
        # _odd looks for special tokens only in texts with a "[" (cheap to rule out).
        bracketed = all(s.startswith("[") for s in self.specials)
        self.fast = bracketed and self._plain_bert(json.loads(tokenizer.to_str()))
        trunc = tokenizer.truncation
        self.room = None if trunc is None else int(trunc["max_length"]) - 2  # [CLS], [SEP]
        self._reset()

    def _plain_bert(self, spec: dict[str, Any]) -> bool:
        """Whether the tokenizer is the BERT pipeline that the fast path reproduces."""
        norm, pre = spec.get("normalizer") or {}, spec.get("pre_tokenizer") or {}
        model, post = spec.get("model") or {}, spec.get("post_processor") or {}
        trunc = spec.get("truncation")
        single = [next(iter(step.values())) for step in post.get("single", [])]
        ok = (
            norm.get("type") == "BertNormalizer"
            and norm.get("lowercase") is True
            and pre.get("type") == "BertPreTokenizer"
            and model.get("type") == "WordPiece"
            and post.get("type") == "TemplateProcessing"
            and [s["id"] for s in single] == ["[CLS]", "A", "[SEP]"]
            and spec.get("padding") is None
            and (trunc is None or trunc["direction"] == "Right")
        )
        if ok:
            special = post["special_tokens"]
            self.cls, self.sep = int(special["[CLS]"]["ids"][0]), int(special["[SEP]"]["ids"][0])
        return ok

    def _reset(self) -> None:
        self.table = PieceTable()
        self.index = {BOUNDARY.encode(): self.table.add(())}  # word id 0: no pieces
        if self.fast:
            # A word that is itself in the vocabulary is one piece (longest match first).
            for word, i in self.hf.get_vocab(with_added_tokens=False).items():
                if not word.startswith("##"):
                    self.index[word.encode()] = self.table.add((i,))

    def _odd(self, text: str) -> bool:
        """Whether HF must tokenise ``text`` (the fast path would not give its ids)."""
        if not text.isascii() or _ODD.search(text):
            return True
        if "[" not in text:
            return False
        lowered = text.lower()
        return any(s in text or s.lower() in lowered for s in self.specials)

    def _word_ids(self, words: list[bytes]) -> np.ndarray:
        index = self.index
        ids = np.fromiter(map(index.get, words, itertools.repeat(-1)), np.int64, len(words))
        for k in np.flatnonzero(ids < 0).tolist():
            word = words[k]
            if word not in index:  # the same new word may come twice in a batch
                pieces = [t.id for t in self.hf.model.tokenize(word.decode())]
                index[word] = self.table.add(pieces)
            ids[k] = index[word]
        return ids

    def _plain(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``tokenise`` for texts that ``_odd`` passed, the whole batch in a few numpy steps."""
        if len(self.index) > CACHE_WORDS:
            self._reset()
        raw = np.frombuffer(BOUNDARY.join(texts).lower().encode("ascii"), dtype=np.uint8)
        # A space either side of each punctuation byte, then bytes.split makes the words.
        punct = np.flatnonzero(_PUNCT[raw])
        spaced = np.insert(raw, np.concatenate([punct, punct + 1]), ord(" "))
        words = self._word_ids(spaced.tobytes().split())
        bound = words == 0
        text_of_word = np.cumsum(bound)[~bound]
        words = words[~bound]
        counts = self.table.count[words]
        pieces = self.table.flat[np.repeat(self.table.start[words], counts) + ragged_arange(counts)]
        text_of_piece = np.repeat(text_of_word, counts)  # ascending
        per_text = np.bincount(text_of_piece, minlength=len(texts))
        place = ragged_arange(per_text)
        if self.room is not None:
            keep = place < self.room
            pieces, text_of_piece, place = pieces[keep], text_of_piece[keep], place[keep]
            per_text = np.minimum(per_text, self.room)
        lengths = per_text + 2
        starts = np.cumsum(lengths) - lengths
        flat = np.empty(int(lengths.sum()), dtype=np.int32)
        flat[starts] = self.cls
        flat[starts + lengths - 1] = self.sep
        flat[starts[text_of_piece] + 1 + place] = pieces
        return flat, lengths

    def tokenise(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids end to end (int32) and lengths, exactly as HF's ``encode_batch``."""
        if not self.fast:
            return _hf_tokenise(self.hf, texts)
        odd = np.fromiter(map(self._odd, texts), dtype=bool, count=len(texts))
        if not odd.any():
            return self._plain(texts)
        parts = [np.flatnonzero(~odd), np.flatnonzero(odd)]
        plain = self._plain([texts[i] for i in parts[0].tolist()])
        other = _hf_tokenise(self.hf, [texts[i] for i in parts[1].tolist()])
        lengths = np.empty(len(texts), dtype=np.int64)
        for rows, (_, part_lengths) in zip(parts, (plain, other), strict=True):
            lengths[rows] = part_lengths
        starts = np.cumsum(lengths) - lengths
        flat = np.empty(int(lengths.sum()), dtype=np.int32)
        for rows, (part, part_lengths) in zip(parts, (plain, other), strict=True):
            flat[np.repeat(starts[rows], part_lengths) + ragged_arange(part_lengths)] = part
        return flat, lengths


def _hf_tokenise(tokenizer: Any, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    # encode_batch_fast (tokenizers >= 0.20) skips the offsets: ~10% less work, same ids.
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    rows = [e.ids for e in encode(list(texts))]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter(
        itertools.chain.from_iterable(rows), dtype=np.int32, count=int(lengths.sum())
    )
    return flat, lengths


def tokenise(tokenizer: Any, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of all texts end to end (int32) and each text's length. ``tokenizer`` is a
    ``FastWordPiece`` or a plain ``tokenizers.Tokenizer``."""
    if isinstance(tokenizer, FastWordPiece):
        return tokenizer.tokenise(texts)
    return _hf_tokenise(tokenizer, texts)
