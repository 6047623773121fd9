"""One linear classifier per tag over paper embeddings, trained in milliseconds.

arxiv-sanity-lite fits an SVM over the whole corpus on every request; here a tag's classifier
is a class-balanced ridge regression of +1 (the tag's papers, 👍 feedback) against -1 (👎
feedback and a fixed background sample of recent papers) over the embeddings. It has a closed
form: one (dim × dim) solve, so training costs the same at 1M papers as at 1k, and a trained
model is cached until its training set changes (``fingerprint``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Ridge strength: with unit vectors and ~1k rows, this keeps weights smooth (tuned on the
# offline evaluation in bench/for_you_quality.py).
RIDGE = 1.0
BACKGROUND = 1000
# A 👎 weighs like this many background papers: the user said so explicitly.
DISLIKE_WEIGHT = 5.0

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TagModel:
    weights: npt.NDArray[np.float32]
    bias: float
    fingerprint: str


def fingerprint(model_version: int, positives: Sequence[int], negatives: Sequence[int]) -> str:
    """Identifies a training set: the classifier is retrained only when this changes."""
    settings = f"{RIDGE}|{BACKGROUND}|{DISLIKE_WEIGHT}"  # a retuned classifier is a new model
    text = f"{settings}|{model_version}|{sorted(positives)}|{sorted(negatives)}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def background_rows(
    pool_size: int, seed: str, exclude: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """A fixed (per tag) random sample of pool rows to stand for "not this tag"."""
    candidates = np.flatnonzero(~exclude)
    rng = np.random.default_rng(int.from_bytes(hashlib.blake2b(seed.encode()).digest()[:8]))
    take = min(BACKGROUND, len(candidates))
    return np.sort(rng.choice(candidates, size=take, replace=False)) if take else candidates


def train(positives: Matrix, dislikes: Matrix, background: Matrix, fp: str) -> TagModel:
    """Class-balanced ridge regression: positives and negatives each carry half the weight."""
    negatives = np.vstack([dislikes, background]) if len(dislikes) else background
    features = np.vstack([positives, negatives]).astype(np.float64)
    labels = np.concatenate([np.ones(len(positives)), -np.ones(len(negatives))])
    neg_weights = np.concatenate(
        [np.full(len(dislikes), DISLIKE_WEIGHT), np.ones(len(negatives) - len(dislikes))]
    )
    sample_weights = np.concatenate(
        [np.full(len(positives), neg_weights.sum() / max(len(positives), 1)), neg_weights]
    )
    sample_weights /= sample_weights.mean()
    # Centre on the weighted mean so the bias is not shrunk by the ridge.
    mean = np.average(features, axis=0, weights=sample_weights)
    centred = features - mean
    weighted = centred * sample_weights[:, None]
    gram = centred.T @ weighted + RIDGE * np.eye(features.shape[1])
    weights = np.linalg.solve(gram, weighted.T @ labels)
    bias = float(np.average(labels, weights=sample_weights) - mean @ weights)
    return TagModel(weights.astype(np.float32), bias, fp)


def scores(model: TagModel, vectors: Matrix) -> npt.NDArray[np.float32]:
    return vectors @ model.weights + np.float32(model.bias)
