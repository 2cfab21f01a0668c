"""The numpy + scipy peer of `modeldiff weights` for bench/weights-scale.bench.ts: the same
steps, as a numpy user would write them, on a ReLU MLP of Gemm layers (W as out x in,
transB = 1) and on torchvision's ResNet-50 with BatchNorm folded (a hand-written permutation
spec, as Git Re-Basin has per architecture; see resnet_groups).

  raw        L2 distance over all initializers, relative to A's norm;
  canonical  each model scale-normalized (every hidden unit's incoming [W row, bias] to unit
             L2 norm — for a residual stream, the rows of its producers that read earlier
             groups — the factor divided out of every producer and pushed into every consumer),
             units sorted by outgoing L2 norm (descending), then the same distance over the
             layers;
  aligned    both normalized, B's units started in A's canonical order, then weight matching
             (Git Re-Basin): sweeps over the hidden layers in a seeded random order, each
             layer's similarity W_A W_B^T + b_A b_B^T + W'_A^T W'_B, a new assignment from
             scipy.optimize.linear_sum_assignment(maximize=True) kept only if it gains more
             than float32 noise; stops at a fixed point or when a sweep gains <= tol of the
             objective.

Run (one method per process, so the peak RSS is the method's own):
  python3 -m venv v && v/bin/pip install numpy scipy onnx
  v/bin/python bench/peers/weights_numpy.py aligned a.onnx b.onnx [tol]
Prints one JSON line: seconds (load + method), sweeps, l2, relative, maxRssBytes.
"""
import json
import resource
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
from scipy.optimize import linear_sum_assignment

TOLERANCE = 4 * 2.0**-23  # an improvement below this fraction of the objective is float32 noise


def load(path):
    """The model's initializers (float64) and its unit groups, each a dict with 'producers':
    [(weight, bias)] whose rows are the units and 'consumers': [weight] whose axis 1 are."""
    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    spec = resnet_groups if any(n.op_type == "Conv" for n in model.graph.node) else mlp_groups
    return inits, spec(model.graph)


def mlp_groups(graph):
    """A chain of Gemm layers: hidden layer i is written by Gemm i and read by Gemm i + 1."""
    gemms = [n for n in graph.node if n.op_type == "Gemm"]
    return [{"producers": [(a.input[1], a.input[2])], "consumers": [b.input[1]]} for a, b in zip(gemms, gemms[1:])]


def resnet_groups(graph):
    """torchvision's ResNet-50 (Bottleneck blocks, BatchNorm folded into the convolutions), the
    permutation spec a Git Re-Basin user writes by hand, keyed by torchvision's module paths
    in the node names: the stem's channels; per block its conv1 and conv2 channels; per stage
    one residual stream written by the first block's downsample conv and every block's conv3,
    read by the next blocks' conv1, the next stage's first conv1 and downsample, or the fc.
    Groups are listed in forward order (the order scale normalization must visit them)."""
    convs = {}
    for n in graph.node:
        if n.op_type in ("Conv", "Gemm"):
            parts = n.output[0].split("/")
            # /layer1/layer1.0/conv1/Conv_output_0 -> layer1.0.conv1; /conv1/... -> conv1;
            # /layer1/layer1.0/downsample/downsample.0/... -> layer1.0.downsample
            if n.op_type == "Gemm":
                key = "fc"
            elif parts[1].startswith("layer"):
                key = f"{parts[2]}.{parts[3]}"
            else:
                key = parts[1]
            convs[key] = (n.input[1], n.input[2] if len(n.input) > 2 else None)
    stages = sorted({k.split(".")[0] for k in convs if k.startswith("layer")})
    blocks = {s: sorted({int(k.split(".")[1]) for k in convs if k.startswith(s + ".")}) for s in stages}
    w = lambda key: convs[key][0]  # noqa: E731
    groups = [{"producers": [convs["conv1"]], "consumers": [w(f"{stages[0]}.0.conv1"), w(f"{stages[0]}.0.downsample")]}]
    for si, s in enumerate(stages):
        readers = [w(f"{s}.{b}.conv1") for b in blocks[s][1:]]
        readers += [w(f"{stages[si + 1]}.0.conv1"), w(f"{stages[si + 1]}.0.downsample")] if si + 1 < len(stages) else [w("fc")]
        stream = {
            "producers": [convs[f"{s}.0.downsample"]] + [convs[f"{s}.{b}.conv3"] for b in blocks[s]],
            "consumers": readers,
            # Its scale from the producers that read earlier groups only (the downsample conv
            # and the first block's conv3): a norm over all of them would depend on the later
            # blocks' own scales.
            "upstream": 2,
        }
        for b in blocks[s]:
            p = f"{s}.{b}"
            groups.append({"producers": [convs[f"{p}.conv1"]], "consumers": [w(f"{p}.conv2")]})
            groups.append({"producers": [convs[f"{p}.conv2"]], "consumers": [w(f"{p}.conv3")]})
            if b == blocks[s][0]:
                groups.append(stream)  # forward order: the stream is first written by block 0
    return groups


def distance(pa, pb):
    """L2 and relative distance, ‖a−b‖ / sqrt(‖a‖·‖b‖) as modeldiff defines it."""
    d = sum(float(np.sum((x - y) ** 2)) for x, y in zip(pa, pb))
    na = sum(float(np.sum(x**2)) for x in pa)
    nb = sum(float(np.sum(y**2)) for y in pb)
    return np.sqrt(d), np.sqrt(d) / np.sqrt(np.sqrt(na) * np.sqrt(nb))


def params(inits, groups):
    """Every float weight and bias of the model (what raw counts), in a fixed order."""
    return [inits[n] for n in sorted(inits) if inits[n].ndim >= 1]


def rows(inits, wname, bname):
    """A producer's units as rows: [out, in·kh·kw (+ bias)]."""
    W = inits[wname].reshape(inits[wname].shape[0], -1)
    return np.concatenate([W, inits[bname][:, None]], axis=1) if bname else W


def columns(inits, wname):
    """A consumer's input units as rows: [in, out·kh·kw] (Gemm's W is out x in, transB = 1)."""
    W = inits[wname]
    return np.moveaxis(W, 1, 0).reshape(W.shape[1], -1)


def normalize(inits, groups):
    """Each unit's incoming rows (weights and bias) from its upstream producers to unit L2 norm,
    group by group in forward order, the factor divided out of every producer and pushed into
    every consumer."""
    for g in groups:
        upstream = g["producers"][: g.get("upstream", 1)]
        norm = np.sqrt(sum(np.sum(rows(inits, *p) ** 2, axis=1) for p in upstream))
        norm[norm == 0] = 1
        for wname, bname in g["producers"]:
            shape = (-1,) + (1,) * (inits[wname].ndim - 1)
            inits[wname] = inits[wname] / norm.reshape(shape)
            if bname:
                inits[bname] = inits[bname] / norm
        for wname in g["consumers"]:
            shape = (1, -1) + (1,) * (inits[wname].ndim - 2)
            inits[wname] = inits[wname] * norm.reshape(shape)


def permute(inits, g, perm):
    """New unit j of group g = old unit perm[j]."""
    for wname, bname in g["producers"]:
        inits[wname] = inits[wname][perm]
        if bname:
            inits[bname] = inits[bname][perm]
    for wname in g["consumers"]:
        inits[wname] = inits[wname][:, perm]


def canonical_order(inits, g):
    outgoing = sum(np.sum(columns(inits, w) ** 2, axis=1) for w in g["consumers"])
    return np.argsort(-np.sqrt(outgoing), kind="stable")


def canonicalize(inits, groups):
    normalize(inits, groups)
    for g in groups:
        permute(inits, g, canonical_order(inits, g))


def objective(ia, ib, groups):
    return sum(float(np.sum(x * y)) for x, y in zip(params(ia, groups), params(ib, groups)))


def similarity(ia, ib, g):
    C = sum(rows(ia, *p) @ rows(ib, *p).T for p in g["producers"])
    return C + sum(columns(ia, w) @ columns(ib, w).T for w in g["consumers"])


def weight_matching(ia, ib, groups, tol, seed=0, max_sweeps=100):
    rng = np.random.default_rng(seed)
    values = [objective(ia, ib, groups)]
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        changed = False
        for i in rng.permutation(len(groups)):
            C = similarity(ia, ib, groups[i])
            current = float(np.trace(C))
            r, cols = linear_sum_assignment(C, maximize=True)
            total = float(C[r, cols].sum())
            if total - current > TOLERANCE * max(abs(current), abs(total)):
                permute(ib, groups[i], cols)
                changed = True
        values.append(objective(ia, ib, groups))
        if not changed or len(groups) == 1:
            break
        if tol > 0 and values[-1] - values[-2] <= tol * abs(values[-1]):
            break
    return sweeps


def main():
    method, a, b = sys.argv[1:4]
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    t0 = time.perf_counter()
    ia, groups = load(a)
    ib, _ = load(b)
    sweeps = 0
    if method == "raw":
        names = sorted(ia)
        l2, rel = distance([ia[n] for n in names], [ib[n] for n in names])
    elif method == "canonical":
        canonicalize(ia, groups)
        canonicalize(ib, groups)
        l2, rel = distance(params(ia, groups), params(ib, groups))
    elif method == "aligned":
        normalize(ia, groups)
        normalize(ib, groups)
        for g in groups:
            # B's units where A's canonical order puts the units of the same rank.
            inv_a = np.argsort(canonical_order(ia, g))
            permute(ib, g, canonical_order(ib, g)[inv_a])
        sweeps = weight_matching(ia, ib, groups, tol)
        l2, rel = distance(params(ia, groups), params(ib, groups))
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "sweeps": sweeps, "l2": l2, "relative": rel, "maxRssBytes": rss}))


if __name__ == "__main__":
    main()
