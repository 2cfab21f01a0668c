#!/usr/bin/python3
"""Train and export the example model zoo in examples/digits/.

Run with Debian's PyTorch and scikit-learn (no PyPI needed):

    apt-get install -y python3-torch python3-sklearn
    /usr/bin/python3 scripts/make-example-zoo.py [--out examples/digits]

Data: scikit-learn's bundled copy of the UCI optdigits test set
(load_digits(): 1797 8x8 images, 10 classes, pixel values 0..16; no
download). Pixels are scaled to 0..1 (divided by 16) *before* the
model: the ONNX models expect the scaled values, and probe_x.npy holds
them already scaled.

Every model's ONNX output is the raw logits (no softmax) of shape
[n, 10]; the input is named `x` (float32) with a dynamic batch axis.
MLPs take x as [n, 64]; CNNs take x as [n, 1, 8, 8] (probe_x_img.npy
holds the same probe images in that shape). logits_mlp_relu_seed{0,1}.npy
are two models' PyTorch logits on the probe set (float32 [n, 10]), the
input of `modeldiff divergence`.

Everything is seeded: the same torch/sklearn versions reproduce the same
files bit for bit on the same CPU (training runs single-threaded with
deterministic algorithms).
"""

import argparse
import json
import os
import sys

import numpy as np
import sklearn
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SPLIT_SEED = 0  # train/probe split
PROBE_FRACTION = 0.25
EPOCHS = 60
BATCH = 32
LR = 1e-3
OPSET = 13

# The "did it come back?" experiment: perturb the seed-0 MLP with Gaussian
# noise (std = PERTURB_SCALE x each tensor's own std) and retrain briefly.
PERTURB_PARENT_SEED = 0
PERTURB_SCALE = 0.5
PERTURB_NOISE_SEED = 1000
RETRAIN_EPOCHS = 5

# The exact copy: permute and positively rescale the hidden units of the
# seed-1 MLP (same function, very different raw weights).
PERMUTE_PARENT_SEED = 1
PERMUTE_SEED = 2000
RESCALE_RANGE = (0.25, 4.0)  # log-uniform factors c > 0


def mlp(act):
    return nn.Sequential(
        nn.Linear(64, 64), act(),
        nn.Linear(64, 64), act(),
        nn.Linear(64, 10),
    )


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 8 * 8, 10),
    )


def train(model, x, y, seed, epochs, lr):
    """Mini-batch Adam on cross-entropy; shuffling from a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    return model


@torch.no_grad()
def accuracy(model, x, y):
    return float((model(x).argmax(1) == y).float().mean())


@torch.no_grad()
def perturb(model, scale, seed):
    gen = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.add_(torch.randn(p.shape, generator=gen) * (scale * p.std()))
    return model


@torch.no_grad()
def permute_and_rescale(src, seed):
    """Same function, different weights: for each hidden layer, reorder its
    units (rows of W and b, and the next layer's columns) and scale each
    unit's incoming weights and bias by c > 0 and its outgoing weights by
    1/c (exact for ReLU, which is positively homogeneous)."""
    dst = mlp(nn.ReLU)
    dst.load_state_dict(src.state_dict())
    gen = torch.Generator().manual_seed(seed)
    lo, hi = np.log(RESCALE_RANGE[0]), np.log(RESCALE_RANGE[1])
    linears = [m for m in dst if isinstance(m, nn.Linear)]
    for layer, nxt in zip(linears[:-1], linears[1:]):
        n = layer.out_features
        perm = torch.randperm(n, generator=gen)
        c = torch.exp(lo + (hi - lo) * torch.rand(n, generator=gen))
        layer.weight.copy_(layer.weight[perm] * c[:, None])
        layer.bias.copy_(layer.bias[perm] * c)
        nxt.weight.copy_(nxt.weight[:, perm] / c[None, :])
    return dst


def export(model, example, path):
    torch.onnx.export(
        model, example, path,
        input_names=['x'], output_names=['logits'],
        dynamic_axes={'x': {0: 'n'}, 'logits': {0: 'n'}},
        opset_version=OPSET, do_constant_folding=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'examples', 'digits'))
    out = os.path.abspath(ap.parse_args().out)
    os.makedirs(out, exist_ok=True)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    digits = load_digits()
    x_all = (digits.data / 16.0).astype(np.float32)
    y_all = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x_all, y_all, test_size=PROBE_FRACTION, random_state=SPLIT_SEED, stratify=y_all)
    np.save(os.path.join(out, 'probe_x.npy'), x_te)
    np.save(os.path.join(out, 'probe_x_img.npy'), x_te.reshape(-1, 1, 8, 8))
    np.save(os.path.join(out, 'probe_y.npy'), y_te)

    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    xe, ye = torch.from_numpy(x_te), torch.from_numpy(y_te)
    img = lambda t: t.reshape(-1, 1, 8, 8)  # noqa: E731

    models = []

    def emit(name, model, arch, seed, role, image=False, **extra):
        xin = img(xe) if image else xe
        export(model, xin[:1], os.path.join(out, name))
        acc = accuracy(model, xin, ye)
        models.append(dict(file=name, architecture=arch, seed=seed, role=role,
                           input='probe_x_img.npy' if image else 'probe_x.npy',
                           test_accuracy=round(acc, 6), **extra))
        print(f'{name:28s} {role:20s} acc={acc:.4f}', file=sys.stderr)

    relu = {}
    for seed in range(8):
        torch.manual_seed(seed)
        relu[seed] = train(mlp(nn.ReLU), xt, yt, seed, EPOCHS, LR)
        emit(f'mlp_relu_seed{seed}.onnx', relu[seed], 'mlp-relu-64-64', seed, 'seed')

    # Saved outputs, for `modeldiff divergence` (which compares output arrays,
    # not models): PyTorch's logits of two seeds on the probe set.
    saved_outputs = {}
    for seed in range(2):
        name = f'logits_mlp_relu_seed{seed}.npy'
        with torch.no_grad():
            np.save(os.path.join(out, name), relu[seed](xe).numpy().astype(np.float32))
        saved_outputs[name] = f'mlp_relu_seed{seed}.onnx'

    torch.manual_seed(PERTURB_NOISE_SEED)
    pert = mlp(nn.ReLU)
    pert.load_state_dict(relu[PERTURB_PARENT_SEED].state_dict())
    perturb(pert, PERTURB_SCALE, PERTURB_NOISE_SEED)
    acc_noisy = accuracy(pert, xe, ye)
    train(pert, xt, yt, PERTURB_NOISE_SEED, RETRAIN_EPOCHS, LR)
    emit(f'mlp_relu_seed{PERTURB_PARENT_SEED}_perturbed.onnx', pert, 'mlp-relu-64-64',
         PERTURB_PARENT_SEED, 'perturbed-retrained', parent=f'mlp_relu_seed{PERTURB_PARENT_SEED}.onnx',
         noise_scale=PERTURB_SCALE, noise_seed=PERTURB_NOISE_SEED, retrain_epochs=RETRAIN_EPOCHS,
         accuracy_after_noise=round(acc_noisy, 6))

    perm = permute_and_rescale(relu[PERMUTE_PARENT_SEED], PERMUTE_SEED)
    emit(f'mlp_relu_seed{PERMUTE_PARENT_SEED}_permuted.onnx', perm, 'mlp-relu-64-64',
         PERMUTE_PARENT_SEED, 'permuted-rescaled-copy', parent=f'mlp_relu_seed{PERMUTE_PARENT_SEED}.onnx',
         permutation_seed=PERMUTE_SEED, rescale_range=list(RESCALE_RANGE))

    for seed in range(2):
        torch.manual_seed(seed)
        m = train(mlp(nn.Tanh), xt, yt, seed, EPOCHS, LR)
        emit(f'mlp_tanh_seed{seed}.onnx', m, 'mlp-tanh-64-64', seed, 'seed')

    for seed in range(2):
        torch.manual_seed(seed)
        m = train(cnn(), img(xt), yt, seed, EPOCHS, LR)
        emit(f'cnn_seed{seed}.onnx', m, 'cnn-conv8-conv8', seed, 'seed', image=True)

    manifest = dict(
        dataset='scikit-learn load_digits (UCI optdigits test set), pixels / 16',
        licence='CC BY 4.0 (UCI Machine Learning Repository, Optical Recognition of Handwritten Digits)',
        probe=dict(x='probe_x.npy', x_img='probe_x_img.npy', y='probe_y.npy', n=int(len(y_te)),
                   split=f'sklearn train_test_split(test_size={PROBE_FRACTION}, random_state={SPLIT_SEED}, stratify=y)'),
        output='logits', input_name='x',
        saved_outputs=saved_outputs,
        training=dict(optimizer='Adam', lr=LR, epochs=EPOCHS, batch=BATCH, loss='cross-entropy'),
        versions=dict(torch=torch.__version__, sklearn=sklearn.__version__, numpy=np.__version__,
                      python=sys.version.split()[0], opset=OPSET),
        models=models,
    )
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
