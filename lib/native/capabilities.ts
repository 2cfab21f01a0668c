/** SIMD instruction sets a kernel can run on. */
export type Isa = 'scalar' | 'avx2' | 'avx512' | 'neon';

export interface Capabilities {
  /** The ISA kernels use by default (best supported, or MODELDIFF_ISA if set and supported). */
  isa: Isa;
  /** Every ISA this CPU and build can run, scalar first, best last. */
  supported: Isa[];
  /** Hardware threads the kernels may use. */
  threads: number;
  /** Node-API version the addon was built against. */
  napiVersion: number;
}

export interface CapabilitiesAddon {
  capabilities(): Capabilities;
}
