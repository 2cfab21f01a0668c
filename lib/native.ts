/**
 * Loads the C++ addon with node-gyp-build, which takes a local cmake-js build
 * in `build/Release/` if there is one, else the matching prebuild from
 * `prebuilds/<platform>-<arch>/`. In an installed package the prebuild is what
 * runs: the install step (scripts/install.js) compiles, and so creates `build/`,
 * only when no prebuild loads. In a development checkout the fresh local build
 * wins over a stale prebuild. The addon's surface is typed family by family in
 * `lib/native/*.ts`; this file only composes them.
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
    /* c8 ignore next 2 -- only reachable on a broken install (.ci/pack-smoke checks it) */
    throw addonLoadError(cause);
  }
}

/**
 * One line a user can act on, for an addon that is not there (installed without running its
 * install script, or on a platform without a prebuild) or does not load (e.g. a prebuild needing
 * a newer glibc). node-gyp-build's own multi-line message and stack stay out of it: the error
 * is typically uncaught at `require('modeldiff')`, where Node prints every line of it.
 */
export function addonLoadError(cause: unknown): ModeldiffError {
  const target = `${process.platform}-${process.arch}`;
  const detail = String((cause as Error | undefined)?.message ?? cause).split('\n')[0];
  const what = /^No native build was found/.test(detail)
    ? `the modeldiff native addon is not built for ${target} (its install script did not run, or failed)`
    : `the modeldiff native addon for ${target} does not load (${detail})`;
  const error = new ModeldiffError(
    'ADDON_LOAD',
    `${what}: run "npm rebuild modeldiff" to build it (needs cmake and a C++17 compiler; in a clone of modeldiff: "npm run build:native")`,
  );
  error.stack = `${error.name}: ${error.message}`;
  return error;
}

/** The loaded addon (loaded once, on first import). */
export const native: Addon = load();

/** Which SIMD paths this machine supports and which one kernels use. */
export function capabilities() {
  return native.capabilities();
}
