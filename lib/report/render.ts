/**
 * Vega-Lite → SVG in Node, no browser and no canvas: vega-lite compiles the
 * spec to Vega, vega's headless View renders SVG text. Both packages are
 * ESM-only, so they are loaded with a real dynamic import() from this
 * CommonJS package (tsconfig's module nodenext keeps import() as is).
 */
import { ModeldiffError } from '../errors';
import type { VlSpec } from './specs';

type VegaModule = typeof import('vega');
type VegaLiteModule = typeof import('vega-lite');

let loaded: Promise<{ vega: VegaModule; vl: VegaLiteModule }> | undefined;

function load(): Promise<{ vega: VegaModule; vl: VegaLiteModule }> {
  loaded ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => ({ vega, vl }));
  return loaded;
}

export async function renderSvg(spec: VlSpec, name = 'plot'): Promise<string> {
  const { vega, vl } = await load();
  try {
    const compiled = vl.compile(spec as unknown as Parameters<VegaLiteModule['compile']>[0]).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    return svg;
  } catch (cause) {
    throw new ModeldiffError('INTERNAL', `could not render plot ${name}: ${(cause as Error).message}`, { cause });
  }
}

/** Versions of the plotting libraries, for the report's provenance line. */
export async function plotLibraryVersions(): Promise<{ vega: string; vegaLite: string }> {
  const { vega, vl } = await load();
  return { vega: vega.version, vegaLite: vl.version };
}
