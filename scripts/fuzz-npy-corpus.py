#!/usr/bin/env python3
"""numpy's verdicts on mutated .npy / .npz files, for modeldiff's reader fuzz tests.

Two modes:

  corpus (default): build small .npy and .npz files with numpy, mutate them
  with a fixed seed (bit flips, boundary bytes, truncation, appended bytes,
  overwritten length fields, hand-edited headers: duplicate keys, float shapes,
  leading zeros, empty elements, extra keys, unbalanced braces, huge headers),
  load every mutant with np.load(allow_pickle=False) and write the mutants
  with numpy's verdict to test/fixtures/fuzz/npy-corpus.json:
      {"format": "npy"|"npz", "mutation": ..., "b64": <bytes>,
       "numpy": {"ok": true, "arrays": {name: [dtype, shape, sha256]}}
              | {"ok": false, "error": "..."}}
  sha256 is over the array's bytes in C order, little-endian.

  judge DIR: write DIR/verdicts.json with the same verdicts for every *.npy /
  *.npz file in DIR (scripts/fuzz-readers.ts uses this for its long run).

Run (numpy only):
    python3 -m venv v && v/bin/pip install numpy
    v/bin/python scripts/fuzz-npy-corpus.py            # writes the committed corpus
    v/bin/python scripts/fuzz-npy-corpus.py judge DIR  # verdicts for DIR
"""
import base64
import hashlib
import io
import json
import os
import sys
import zipfile

import numpy as np

SEED = 17
PER_FORMAT = 300
OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "fuzz", "npy-corpus.json")


def verdict(data: bytes, fmt: str) -> dict:
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if fmt == "npy":
            if not isinstance(loaded, np.ndarray):
                return {"ok": False, "error": "not an .npy array"}
            arrays = {"": loaded}
        else:
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                return {"ok": False, "error": "not an .npz archive"}
            names = loaded.zip.namelist()
            if any(not n.endswith(".npy") for n in names):
                return {"ok": False, "error": "entry that is not .npy (numpy returns raw bytes)"}
            if len(set(names)) != len(names):
                return {"ok": False, "error": "duplicate entry names"}
            arrays = {k: loaded[k] for k in loaded.files}
        out = {}
        for name, a in arrays.items():
            le = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False)
            out[name] = [a.dtype.name, list(a.shape), hashlib.sha256(le.tobytes()).hexdigest()]
        return {"ok": True, "arrays": out}
    except Exception as e:  # numpy refuses the file: any exception is its "no"
        return {"ok": False, "error": f"{type(e).__name__}: {str(e)[:120]}"}


def npy_bytes(a: np.ndarray, version=None) -> bytes:
    f = io.BytesIO()
    if version is None:
        np.save(f, a)
    else:
        np.lib.format.write_array(f, a, version=version)
    return f.getvalue()


def hand_npy(header: str, data: bytes, major=1) -> bytes:
    hb = header.encode("latin1")
    hb += b" " * ((64 - (8 + (2 if major == 1 else 4) + len(hb) + 1) % 64) % 64) + b"\n"
    size = len(hb).to_bytes(2 if major == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([major, 0]) + size + hb + data


def npz_bytes(arrays: dict, compressed: bool) -> bytes:
    f = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(f, **arrays)
    return f.getvalue()


def bases(rng):
    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    i64 = np.array([[-(2**62), 5], [7, 2**40]], dtype=np.int64)
    npys = [
        ("f32", npy_bytes(f32)),
        ("f64-fortran", npy_bytes(np.asfortranarray(rng.standard_normal((2, 3))))),
        ("i64", npy_bytes(i64)),
        ("u8-1d", npy_bytes(np.arange(5, dtype=np.uint8))),
        ("be-f4", npy_bytes(np.arange(4, dtype=">f4"))),
        ("f16-v2", npy_bytes(np.array([1.5, -2.0], dtype=np.float16), version=(2, 0))),
        ("bool-v3", npy_bytes(np.array([True, False, True]), version=(3, 0))),
        ("scalar", npy_bytes(np.array(3.25))),
    ]
    npzs = [
        ("stored", npz_bytes({"a": f32, "b": i64}, False)),
        ("deflated", npz_bytes({"x": np.arange(6, dtype=np.int32).reshape(2, 3), "y": np.array([0.5, 1.5])}, True)),
    ]
    return npys, npzs


# Hand-edited headers (each once in the corpus, then mutated like the rest).
HEADERS = [
    "{'descr': '<f4', 'fortran_order': True, 'fortran_order': False, 'shape': (2, 3), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), 'shape': (2, 3), }",
    "{'descr': '<i4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
    "{'descr': \"<f4', 'shape': (6,), '\", 'fortran_order': False, }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3e0), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (06,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,,3), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1, }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), ",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (6L,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3,), }",
    "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}",
    "{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (True, 6), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (0x6,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }" + " " * 12000,
]


def mutate(rng, b: bytes, fmt: str) -> tuple:
    b = bytearray(b)
    op = int(rng.integers(0, 8))
    n = len(b)
    if op == 0:
        i = int(rng.integers(0, n))
        b[i] ^= 1 << int(rng.integers(0, 8))
        return bytes(b), f"flip byte {i}"
    if op == 1:
        i = int(rng.integers(0, n))
        b[i] = int(rng.choice([0, 0x7F, 0x80, 0xFF, 0x20, 0x2C, 0x29]))
        return bytes(b), f"set byte {i} to {b[i]}"
    if op == 2:
        i = int(rng.integers(0, n))
        return bytes(b[:i]), f"truncate to {i}"
    if op == 3:
        k = int(rng.integers(1, 9))
        return bytes(b) + bytes(rng.integers(0, 256, k, dtype=np.uint8)), f"append {k}"
    if op == 4:
        i = int(rng.integers(0, max(1, n - 4)))
        b[i : i + 4] = int(rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000])).to_bytes(4, "little")
        return bytes(b), f"length field at {i}"
    if op == 5 and fmt == "npy":
        # Edit a header character: the tokenizer must agree with numpy's literal_eval.
        end = min(n, 128)
        i = int(rng.integers(10, end))
        b[i] = ord(rng.choice(list("{}(),:'\" 0123456789.eLTF\n\t-_xa")))
        return bytes(b), f"header char {i} -> {chr(b[i])!r}"
    if op == 5:
        # Flip inside a zip structure near the end (central directory, end record).
        i = int(rng.integers(max(0, n - 140), n))
        b[i] ^= 1 << int(rng.integers(0, 8))
        return bytes(b), f"flip tail byte {i}"
    if op == 6:
        i = int(rng.integers(0, n))
        k = int(rng.integers(1, 16))
        return bytes(b[:i] + b[i + k :]), f"delete {k} at {i}"
    i = int(rng.integers(0, n))
    k = int(rng.integers(1, 16))
    return bytes(b[:i] + b[i : i + k] + b[i:]), f"duplicate {k} at {i}"


def make_corpus():
    rng = np.random.default_rng(SEED)
    npys, npzs = bases(rng)
    entries = []

    def add(fmt, mutation, data):
        entries.append({"format": fmt, "mutation": mutation, "b64": base64.b64encode(data).decode(), "numpy": verdict(data, fmt)})

    six = np.arange(6, dtype="<f4").tobytes()
    for i, h in enumerate(HEADERS):
        add("npy", f"header {i}", hand_npy(h, six, major=1 if len(h) < 60000 else 2))
        add("npy", f"header {i} v2", hand_npy(h, six, major=2))
    for name, b in npys + npzs:
        add("npy" if (name, b) in npys else "npz", f"{name} unmodified", b)
    # One entry's stored CRC flipped, and one local name changed: the two npz checks.
    for name, b in npzs:
        z = bytearray(b)
        cd = b.rfind(b"PK\x01\x02")
        z[cd + 16] ^= 0xFF
        add("npz", f"{name} central crc flipped", bytes(z))
        z = bytearray(b)
        z[30] ^= 0x01  # first byte of the first local name
        add("npz", f"{name} local name changed", bytes(z))
    pool_npy = [b for _, b in npys] + [hand_npy(h, six) for h in HEADERS[:3]]
    while sum(e["format"] == "npy" for e in entries) < PER_FORMAT:
        base = pool_npy[int(rng.integers(0, len(pool_npy)))]
        data, how = mutate(rng, base, "npy")
        add("npy", how, data)
    while sum(e["format"] == "npz" for e in entries) < PER_FORMAT:
        base = npzs[int(rng.integers(0, len(npzs)))][1]
        data, how = mutate(rng, base, "npz")
        add("npz", how, data)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(e, separators=(",", ":")) for e in entries) + "\n]\n")
    acc = sum(e["numpy"]["ok"] for e in entries)
    print(f"wrote {len(entries)} mutants ({acc} accepted by numpy) to {os.path.relpath(OUT)}")


def judge(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        fmt = name.rsplit(".", 1)[-1]
        if fmt in ("npy", "npz"):
            with open(os.path.join(folder, name), "rb") as f:
                out[name] = verdict(f.read(), fmt)
    with open(os.path.join(folder, "verdicts.json"), "w") as f:
        json.dump(out, f)
    print(f"judged {len(out)} files")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "judge":
        judge(sys.argv[2])
    else:
        make_corpus()
