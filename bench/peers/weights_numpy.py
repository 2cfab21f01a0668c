"""The numpy + scipy peer of `modeldiff weights` for bench/weights-scale.bench.ts: the same
steps on a ReLU MLP of Gemm layers (W as out x in, transB = 1), as a numpy user would write them.

  raw        L2 distance over all initializers, relative to A's norm;
  canonical  each model scale-normalized (every hidden unit's incoming [W row, bias] to unit
             L2 norm, the factor pushed into the next layer), units sorted by outgoing L2
             norm (descending), then the same distance;
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
    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    layers = []
    for node in model.graph.node:
        if node.op_type == "Gemm":
            layers.append([inits[node.input[1]], inits[node.input[2]]])
    return inits, layers


def distance(pa, pb):
    d = sum(float(np.sum((x - y) ** 2)) for x, y in zip(pa, pb))
    n = sum(float(np.sum(x**2)) for x in pa)
    return np.sqrt(d), np.sqrt(d / n)


def params(layers):
    return [x for layer in layers for x in layer]


def normalize(layers):
    for i in range(len(layers) - 1):
        W, b = layers[i]
        norm = np.sqrt(np.sum(W**2, axis=1) + b**2)
        norm[norm == 0] = 1
        layers[i] = [W / norm[:, None], b / norm]
        layers[i + 1][0] = layers[i + 1][0] * norm[None, :]


def permute(layers, i, perm):
    """New unit j of hidden layer i = old unit perm[j]."""
    layers[i] = [layers[i][0][perm], layers[i][1][perm]]
    layers[i + 1][0] = layers[i + 1][0][:, perm]


def canonical_order(layers, i):
    return np.argsort(-np.linalg.norm(layers[i + 1][0], axis=0), kind="stable")


def canonicalize(layers):
    normalize(layers)
    for i in range(len(layers) - 1):
        permute(layers, i, canonical_order(layers, i))


def objective(la, lb):
    return sum(float(np.sum(x * y)) for x, y in zip(params(la), params(lb)))


def weight_matching(la, lb, tol, seed=0, max_sweeps=100):
    rng = np.random.default_rng(seed)
    hidden = list(range(len(la) - 1))
    values = [objective(la, lb)]
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        changed = False
        for i in rng.permutation(hidden):
            C = la[i][0] @ lb[i][0].T + np.outer(la[i][1], lb[i][1]) + la[i + 1][0].T @ lb[i + 1][0]
            current = float(np.trace(C))
            rows, cols = linear_sum_assignment(C, maximize=True)
            total = float(C[rows, cols].sum())
            if total - current > TOLERANCE * max(abs(current), abs(total)):
                permute(lb, i, cols)
                changed = True
        values.append(objective(la, lb))
        if not changed or len(hidden) == 1:
            break
        if tol > 0 and values[-1] - values[-2] <= tol * abs(values[-1]):
            break
    return sweeps


def main():
    method, a, b = sys.argv[1:4]
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    t0 = time.perf_counter()
    ia, la = load(a)
    ib, lb = load(b)
    sweeps = 0
    if method == "raw":
        names = sorted(ia)
        l2, rel = distance([ia[n] for n in names], [ib[n] for n in names])
    elif method == "canonical":
        canonicalize(la)
        canonicalize(lb)
        l2, rel = distance(params(la), params(lb))
    elif method == "aligned":
        normalize(la)
        normalize(lb)
        for i in range(len(la) - 1):
            # B's units where A's canonical order puts the units of the same rank.
            inv_a = np.argsort(canonical_order(la, i))
            permute(lb, i, canonical_order(lb, i)[inv_a])
        sweeps = weight_matching(la, lb, tol)
        l2, rel = distance(params(la), params(lb))
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "sweeps": sweeps, "l2": l2, "relative": rel, "maxRssBytes": rss}))


if __name__ == "__main__":
    main()
