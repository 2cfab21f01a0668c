#!/usr/bin/env python3
"""Write test/fixtures/arrays/: the same arrays as ONNX TensorProto (.pb) files,
made by the onnx package itself (numpy_helper.from_array for raw_data,
helper.make_tensor for the typed fields), as .safetensors files written here
straight from the format's specification, and as an .npz reference written by
numpy. The tests read each file with modeldiff and compare it with the .npz,
so the readers are checked against independent writers.

Run with Debian's python3 (apt-get install python3-onnx):
    /usr/bin/python3 scripts/make-array-fixtures.py
"""
import json
import os
import struct

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "arrays")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(7)

# Arrays with awkward values: negative zero, subnormal, extremes of each integer type,
# int64 beyond 2^53 (must stay exact), bool.
ARRAYS = {
    "f32": rng.standard_normal((4, 3)).astype(np.float32),
    "f64": np.array([[0.1, -0.0, 5e-324], [1e300, -2.5, 3.0]], dtype=np.float64),
    "f16": np.array([1.0, -2.5, 65504.0, 6e-8], dtype=np.float16),
    "i8": np.array([-128, 127, 0, -1], dtype=np.int8),
    "i16": np.array([-32768, 32767, 5], dtype=np.int16),
    "i32": np.array([[-2147483648, 2147483647], [7, -7]], dtype=np.int32),
    "i64": np.array([-(2**63), 2**63 - 1, 2**53 + 1, -(2**53) - 1], dtype=np.int64),
    "u8": np.array([0, 255, 17], dtype=np.uint8),
    "u16": np.array([0, 65535], dtype=np.uint16),
    "u32": np.array([0, 4294967295, 12345], dtype=np.uint32),
    "u64": np.array([0, 2**64 - 1, 2**53 + 1], dtype=np.uint64),
    "bool": np.array([True, False, True], dtype=np.bool_),
}

# bfloat16: values exactly representable, so the float32 reference is exact.
BF16_VALUES = np.array([1.0, -3.0, 0.15625, 3.3895313892515355e38], dtype=np.float32)

ONNX_TYPE = {
    np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE, np.float16: TensorProto.FLOAT16,
    np.int8: TensorProto.INT8, np.int16: TensorProto.INT16, np.int32: TensorProto.INT32,
    np.int64: TensorProto.INT64, np.uint8: TensorProto.UINT8, np.uint16: TensorProto.UINT16,
    np.uint32: TensorProto.UINT32, np.uint64: TensorProto.UINT64, np.bool_: TensorProto.BOOL,
}


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


# TensorProto with raw_data (what numpy_helper.from_array writes), and with the typed fields.
for key, a in ARRAYS.items():
    write(f"raw_{key}.pb", numpy_helper.from_array(a, name=key).SerializeToString())
    typed = helper.make_tensor(key, ONNX_TYPE[a.dtype.type], a.shape, a.flatten().tolist(), raw=False)
    write(f"typed_{key}.pb", typed.SerializeToString())
# bfloat16, both ways: helper.make_tensor rounds the floats to bfloat16 bit patterns.
write("typed_bf16.pb", helper.make_tensor("bf16", TensorProto.BFLOAT16, [4], BF16_VALUES.tolist()).SerializeToString())
bits = (BF16_VALUES.view(np.uint32) >> 16).astype(np.uint16)
write("raw_bf16.pb", helper.make_tensor("bf16", TensorProto.BFLOAT16, [4], bits.tobytes(), raw=True).SerializeToString())


def safetensors(arrays, dtypes):
    """The format as specified: u64 little-endian header size, JSON header, data section."""
    header, blobs, offset = {"__metadata__": {"format": "np"}}, [], 0
    for key in sorted(arrays):
        b = arrays[key].tobytes()
        header[key] = {"dtype": dtypes[key], "shape": list(arrays[key].shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


ST_CODE = {np.float32: "F32", np.float64: "F64", np.float16: "F16", np.int8: "I8", np.int16: "I16",
           np.int32: "I32", np.int64: "I64", np.uint8: "U8", np.uint16: "U16", np.uint32: "U32",
           np.uint64: "U64", np.bool_: "BOOL"}
st = dict(ARRAYS)
st_codes = {k: ST_CODE[a.dtype.type] for k, a in ARRAYS.items()}
st["bf16"] = bits
st_codes["bf16"] = "BF16"
write("all.safetensors", safetensors(st, st_codes))
write("single.safetensors", safetensors({"x": ARRAYS["f32"]}, {"x": "F32"}))

np.savez(os.path.join(OUT, "reference.npz"), **ARRAYS, bf16=BF16_VALUES)
print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT))
