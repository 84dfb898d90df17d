"""train.publish.export_onnx: the ONNX file gives what PyTorch gives (skipped without onnx / onnxruntime)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import save_tiny_pix2pix

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")


def test_exported_model_matches_pytorch(tmp_path):
    import torch

    from pix2pix_demo.hub import load_model
    from train.publish import export_onnx

    folder = save_tiny_pix2pix(tmp_path / "tiny", seed=3)
    path = export_onnx.main([str(folder)])
    assert path == folder / "model.onnx" and path.stat().st_size > 10_000
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["sketch"] and session.get_inputs()[0].shape == [1, 3, 64, 64]
    model = load_model(folder).float().eval()
    for seed in range(3):  # drawing-like inputs, and plain noise
        x = export_onnx.check_input(3, 64, seed=seed) if seed < 2 else torch.rand(1, 3, 64, 64) * 2 - 1
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(["image"], {"sketch": x.numpy()})[0]
        assert got.shape == expected.shape == (1, 3, 64, 64)
        assert np.abs(got - expected).max() < 1e-4
    assert expected.std() > 1e-3  # a real output, not a constant that would match anything


def test_other_sizes_and_bad_sizes(tmp_path):
    from train.publish import export_onnx

    folder = save_tiny_pix2pix(tmp_path / "tiny", seed=4)
    path = export_onnx.main([str(folder), "--size", "128", "--out", str(tmp_path / "big.onnx")])
    assert ort.InferenceSession(str(path)).get_inputs()[0].shape == [1, 3, 128, 128]
    with pytest.raises(SystemExit, match="multiple of 32"):
        export_onnx.main([str(folder), "--size", "100", "--out", str(tmp_path / "bad.onnx")])
