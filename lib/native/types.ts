/** Shapes shared by the addon's family surfaces (lib/native/*.ts). */

/**
 * One addon call as binding/binding.hpp exports it: `name(options)` runs on a worker thread and
 * returns a promise, `nameSync(options)` runs on the calling thread. Call it through
 * lib/native/call.ts, which maps its failures to ModeldiffError.
 */
export type AddonCall<Name extends string, Options, Result> = { [K in Name]: (options: Options) => Promise<Result> } & {
  [K in `${Name}Sync`]: (options: Options) => Result;
};

/** A float input as the kernels read it (row-major). */
export type RealArray = Float32Array | Float64Array;

/** Options every kernel call accepts. */
export interface KernelCallOptions {
  /** SIMD path: a name from capabilities().supported (checked before the call). */
  isa?: string;
  /** Worker threads, >= 1 (default: all hardware threads). */
  threads?: number;
}
