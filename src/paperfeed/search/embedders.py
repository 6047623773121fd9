"""Which embedder runs: PyTorch on a GPU, OpenVINO bfloat16 or ONNX Runtime int8 on the CPU.

The choice sits above the three implementations (``embed`` for ONNX and the pieces they
share, ``embed_openvino``, ``embed_gpu``) so that none of them imports another's chooser.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from paperfeed.config import get_settings
from paperfeed.search import embed_openvino
from paperfeed.search.embed import OnnxEmbedder, model_folder

if TYPE_CHECKING:
    from paperfeed.config import Settings
    from paperfeed.search.types import Embedder


def torch_cuda_available() -> bool:
    """Whether PyTorch is installed and sees a CUDA device (torch is optional)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def get_embedder(settings: Settings | None = None) -> Embedder:
    """The configured model: on a GPU when PyTorch and CUDA are present and allowed, else on
    the CPU with OpenVINO in bfloat16 where it is installed and the CPU computes bfloat16
    natively, else with ONNX Runtime (int8).

    ``settings.embedding_device`` is ``auto`` (default), ``cpu``, ``openvino`` or ``cuda``.
    """
    settings = settings or get_settings()
    device = str(getattr(settings, "embedding_device", "auto")).lower()
    window = getattr(settings, "embedding_document_tokens", None)
    return _embedder(settings.embedding_model, device, window)


@lru_cache(maxsize=4)
def _embedder(model: str, device: str, window: int | None = None) -> Embedder:
    """``window``: the wordpieces of a document the CPU embedders read (the GPU reads the
    model's own length: it is fast enough for the whole text)."""
    folder = model_folder(model)
    if device == "cuda" or (device == "auto" and torch_cuda_available()):
        # Imported only here: it needs PyTorch, an optional dependency.
        from paperfeed.search.embed_gpu import TorchEmbedder

        return TorchEmbedder.for_folder(folder, name=model)
    if device == "openvino":
        return embed_openvino.OpenVinoEmbedder(folder, name=model, window=window)
    if device == "auto" and embed_openvino.openvino_bf16_available():
        return embed_openvino.OpenVinoEmbedder(folder, name=model, fallback=True, window=window)
    return OnnxEmbedder(folder, name=model, window=window)
