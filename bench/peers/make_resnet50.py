"""A ResNet-50 (torchvision's, random weights from a seed, BatchNorm statistics randomized so
folding them is not the identity) exported to ONNX, for bench/weights-scale.bench.ts. The file
(~100 MB) goes where the benchmark says, never into the repository.

  python3 -m venv v && v/bin/pip install torch torchvision onnx
  v/bin/python bench/peers/make_resnet50.py out.onnx SEED
"""
import sys

sys.path.insert(0, "scripts/fixtures")
from torch_env import torch, torchvision  # noqa: E402  (works around a torch/torchvision wheel mismatch)


def main():
    out, seed = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(seed)
    model = torchvision.models.resnet50(weights=None)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    torch.onnx.export(model, (x,), out, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=17, dynamo=False)


if __name__ == "__main__":
    main()
