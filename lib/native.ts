/**
 * Loads the C++ addon with node-gyp-build, which takes a local cmake-js build
 * in `build/Release/` if there is one, else the matching prebuild from
 * `prebuilds/<platform>-<arch>/`. In an installed package the prebuild is what
 * runs: the install step (`node-gyp-build-test || cmake-js compile`) compiles,
 * and so creates `build/`, only when no prebuild loads. In a development
 * checkout the fresh local build wins over a stale prebuild. The addon's
 * surface is typed family by family in `lib/native/*.ts`; this file only
 * composes them.
 */
import path from 'node:path';

import { ModeldiffError } from './errors';
import type { BootstrapAddon } from './native/bootstrap';
import type { CapabilitiesAddon } from './native/capabilities';
import type { DivergenceAddon } from './native/divergence';
import type { LinalgAddon } from './native/linalg';
import type { WeightsAddon } from './native/weights';

export type { Capabilities, Isa } from './native/capabilities';

/** Everything the addon exports. Each kernel family adds its interface here. */
export interface Addon extends CapabilitiesAddon, DivergenceAddon, WeightsAddon, LinalgAddon, BootstrapAddon {}

// Both lib/native.ts (tests, via tsx) and dist/native.js sit one level below the package root.
const packageRoot = path.join(__dirname, '..');

function load(): Addon {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(packageRoot) as Addon;
  } catch (cause) {
    /* c8 ignore next 6 -- only reachable on a broken install */
    throw new ModeldiffError(
      'ADDON_LOAD',
      `could not load the modeldiff native addon from ${packageRoot} ` +
        `(no prebuild for ${process.platform}-${process.arch} and no local build): ` +
        `run "npm run build:native" (needs cmake and a C++17 compiler). Cause: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** The loaded addon (loaded once, on first import). */
export const native: Addon = load();

/** Which SIMD paths this machine supports and which one kernels use. */
export function capabilities() {
  return native.capabilities();
}
