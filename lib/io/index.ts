/**
 * `modeldiff/io`: the file codecs and tensor helpers the workflows read and write with.
 *
 * .npy, .npz, safetensors, ONNX TensorProto (.pb), ONNX models, `readArray`, which picks
 * the codec by file extension, and the probe readers the workflows take their `data` and
 * `labels` with (`loadProbe`, `openProbe` and `probeBatches` for streaming, `loadLabels`). Separate from the root export so the library's front page is
 * the workflows; both entries share one module instance.
 *
 * @module modeldiff/io
 */
export { readNpy, parseNpy, writeNpy, encodeNpy, type NpyArray, type NpyReadOptions } from './npy';
export { readNpz, parseNpz, writeNpz, encodeNpz } from './npz';
export { readSafetensors, parseSafetensors, writeSafetensors, encodeSafetensors } from './safetensors';
export { readTensorProto, parseTensorProto, encodeTensorProto, writeTensorProto } from './tensor-proto';
export { readOnnx, encodeOnnx, type OnnxModel, type OnnxSource } from './onnx';
export { readArray, readArrays, writeArray, arrayFileFormat, type ArrayFileFormat } from './array-file';
export { makeTensor, convertTensor, toFloat64, type Tensor, type DType, type TypedArray } from './tensor';
export {
  loadProbe,
  openProbe,
  loadLabels,
  probeBatches,
  autoBatchSize,
  type ProbeArray,
  type ProbeArraySource,
  type ProbeBatch,
  type ProbeData,
  type ProbeLayout,
  type ProbeSource,
  type ProbeStream,
} from './probe';
