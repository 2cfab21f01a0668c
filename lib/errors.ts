/**
 * Typed errors. Every failure a user can cause surfaces as a ModeldiffError
 * whose `code` is stable (for programs) and whose message names the file,
 * tensor or argument at fault (for people). The CLI prints the message as one
 * line and exits with `exitCode`.
 */
export type ErrorCode =
  | 'USAGE' // bad command-line usage (exit 2); thrown by the CLI only, the library says INVALID_ARGUMENT
  | 'INVALID_ARGUMENT' // a library argument is out of its domain
  | 'SHAPE_MISMATCH' // two arrays or models whose shapes must agree do not
  | 'NON_FINITE' // NaN or Infinity where a finite number is required
  | 'INVALID_PROBS' // rows declared as probabilities are not on the simplex
  | 'FILE_NOT_FOUND'
  | 'FILE_EXISTS' // refusing to overwrite a user's file without the force option
  | 'BAD_NPY' // malformed, truncated or unsupported .npy / .npz
  | 'BAD_ONNX' // malformed ONNX model or one that onnxruntime rejects
  | 'BAD_DATA_FILE' // malformed .safetensors or TensorProto .pb data file, or a data file in no supported format
  | 'MODEL_INPUT' // probe data does not fit a model input (dtype, shape, name)
  | 'MODEL_OUTPUT' // model output missing, wrong shape, or not finite
  | 'UNSUPPORTED_GRAPH' // symmetry structure cannot be derived; names the node
  | 'ARCHITECTURE_MISMATCH' // two models differ in a layer; names it
  | 'UNCOUNTED_DIFFERENCE' // every weight distance is 0 but the models differ elsewhere (a scalar, an attribute); names it
  | 'UNSAFE_PATH' // e.g. ONNX external data leaving the model's folder
  | 'IO' // other file-system failures
  | 'ADDON_LOAD' // the native addon could not be loaded
  | 'INTERNAL'; // a bug: please report

export class ModeldiffError extends Error {
  readonly code: ErrorCode;
  /**
   * The option field the message is about, when one is (e.g. 'output'): programs can act on
   * it, and the CLI names its flag for it. The message itself never names a command-line flag.
   */
  readonly option?: string;
  /** The input at fault, when one is (e.g. a model's file name, or 'a' / 'b'). */
  readonly input?: string;
  /** The row (sample) of that input at fault, when one is (0-based). */
  readonly row?: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; option?: string; input?: string; row?: number }) {
    super(message, options);
    this.name = 'ModeldiffError';
    this.code = code;
    if (options?.option !== undefined) this.option = options.option;
    if (options?.input !== undefined) this.input = options.input;
    if (options?.row !== undefined) this.row = options.row;
  }

  /** Process exit status the CLI uses for this error: 2 for usage, else 1. */
  get exitCode(): number {
    return this.code === 'USAGE' ? 2 : 1;
  }
}

/** Throw a ModeldiffError unless `condition` holds; `option`: the option field at fault, if one is. */
export function check(condition: unknown, code: ErrorCode, message: string, option?: string): asserts condition {
  if (!condition) throw new ModeldiffError(code, message, option === undefined ? undefined : { option });
}
