"""Export a pix2pix generator to ONNX, and check it against PyTorch.

    python -m train.publish.export_onnx weights/NAME [--out PATH] [--size 256] [--opset 18] [--no-check]

Writes one self-contained `.onnx` file (default `weights/NAME/model.onnx`) holding the generator
in evaluation mode (batch norm with running statistics, no dropout: the app's "Variation 0"):

    input  "sketch": float32 [1, C, S, S], the line drawing in [-1, 1] (white = 1), S = --size
    output "image":  float32 [1, 3, S, S], the picture in [-1, 1]

S defaults to the model's training resolution (256) and must be a multiple of
2**num_downsamplings; drawings of another size or aspect are fitted and padded first, exactly as
`pix2pix_demo.imaging.fit_and_pad` does for the PyTorch pipeline. After writing, the file is run
with onnxruntime (when installed) on a drawing-like input and compared with PyTorch; a difference
above --tolerance is an error. Needs `pip install onnx onnxscript` (and onnxruntime for the check).

    import numpy as np, onnxruntime as ort
    session = ort.InferenceSession("weights/edges2cats/model.onnx")
    image = session.run(None, {"sketch": sketch_array})[0]     # sketch_array: [1, 3, 256, 256] in [-1, 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a pix2pix model folder (weights/NAME) or a Hub repo id")
    p.add_argument("--out", default=None, help="the .onnx file to write (default: MODEL_FOLDER/model.onnx)")
    p.add_argument("--size", type=int, default=None, help="input side in pixels (default: the model's resolution)")
    p.add_argument("--opset", type=int, default=18)
    p.add_argument("--tolerance", type=float, default=1e-3, help="largest allowed |ONNX - PyTorch| in [-1, 1] units")
    p.add_argument("--no-check", action="store_true", help="do not run the exported file with onnxruntime")
    return p


def check_input(channels: int, size: int, seed: int = 0):
    """A drawing-like test input: white paper with a few dark strokes, in [-1, 1]."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.ones(1, channels, size, size)
    for _ in range(12):
        row, col = torch.randint(0, size - 8, (2,), generator=generator).tolist()
        length = int(torch.randint(8, size // 2, (1,), generator=generator))
        if torch.rand(1, generator=generator) < 0.5:
            x[:, :, row:row + 2, col:col + length] = -1.0
        else:
            x[:, :, row:row + length, col:col + 2] = -1.0
    return x


def export(model_ref: str, out: str | Path | None = None, size: int | None = None, opset: int = 18) -> tuple[Path, object]:
    """Write the ONNX file; return (its path, the PyTorch model in float32 eval mode)."""
    import torch

    from pix2pix_demo.hub import load_model
    from pix2pix_demo.models import UNetGenerator

    model = load_model(model_ref, device="cpu")
    if not isinstance(model, UNetGenerator):
        raise SystemExit(f"{model_ref}: only pix2pix generators can be exported (this is a {type(model).__name__}).")
    model = model.float().eval()
    size = int(size or (getattr(model, "metadata", {}) or {}).get("resolution", 256))
    multiple = model.config.multiple
    if size <= 0 or size % multiple:
        raise SystemExit(f"--size must be a positive multiple of {multiple} for this model, got {size}.")
    if out is None:
        folder = Path(model_ref)
        if not folder.is_dir():
            raise SystemExit("Give --out for a model that is not a local folder.")
        out = folder / "model.onnx"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = check_input(model.config.in_channels, size)
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(model, (example,), str(out), input_names=["sketch"], output_names=["image"],
                          opset_version=opset, dynamo=True, external_data=False, verbose=False)
    return out, model


def compare(path: Path, model, seed: int = 1) -> float:
    """Largest |ONNX Runtime - PyTorch| on a drawing-like input (needs onnxruntime)."""
    import numpy as np
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape
    x = check_input(model.config.in_channels, int(shape[-1]), seed=seed)
    onnx_out = session.run(["image"], {"sketch": x.numpy()})[0]
    with torch.no_grad():
        torch_out = model(x).numpy()
    return float(np.abs(onnx_out - torch_out).max())


def main(argv=None) -> Path:
    args = get_args_parser().parse_args(argv)
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise SystemExit(f"ONNX export needs the {error.name!r} package: pip install onnx onnxscript onnxruntime") from None
    path, model = export(args.model, args.out, args.size, args.opset)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if not args.no_check:
        try:
            difference = compare(path, model)
        except ImportError:
            print("onnxruntime is not installed: the file was not checked (pip install onnxruntime)")
            return path
        print(f"max |ONNX Runtime - PyTorch| = {difference:.2e} (tolerance {args.tolerance:g})")
        if difference > args.tolerance:
            raise SystemExit(f"The exported model differs from PyTorch by {difference:.2e} > {args.tolerance:g}.")
    return path


if __name__ == "__main__":
    main(sys.argv[1:])
