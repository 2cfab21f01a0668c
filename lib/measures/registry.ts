/**
 * The one registry of measures (docs/design.md). Every measure modeldiff
 * reports is declared once, with its name, view, range and properties; the CLI's `--metric`
 * choices and help, JSON keys, report labels and the property tests all read it. A new
 * measure is one entry here plus one kernel. Each view declares its measures in its own file
 * (function.ts, weights.ts, representations.ts, path.ts) and adds one import line below.
 */
import { ModeldiffError } from '../errors';
import { functionMeasures } from './function';
import { pathMeasures } from './path';
import { representationMeasures } from './representations';
import { weightMeasures } from './weights';

export type MeasureView = 'function' | 'weights' | 'representations' | 'path';

export interface MeasureInfo {
  /** Stable name: CLI `--metric` value and JSON key. Variants are explicit (js vs js-distance). */
  name: string;
  view: MeasureView;
  /** Closed range of possible values (Infinity where unbounded). */
  readonly range: readonly [number, number];
  /** Whether larger values mean "more similar" (kappa, CKA) rather than "more different". */
  largerIsSimilar: boolean;
  /** m(a, b) = m(b, a). */
  symmetric: boolean;
  /** Satisfies the triangle inequality and m(a, a) = 0 (a pseudometric: distinct inputs may give 0). */
  metric: boolean;
  /** Transformations of the inputs that leave the value unchanged. */
  readonly invariantTo: readonly string[];
  /** Units of the value, e.g. 'nats (bits with --bits)', 'probability', 'fraction of samples'. */
  units: string;
  /** One-line definition, shown in `--help` and the report. */
  description: string;
  /** Computed from a whole probe set rather than averaged over per-sample values (e.g. kappa). */
  setLevel?: boolean;
}

/** Every measure, all views. */
export const measures: MeasureInfo[] = [...functionMeasures, ...weightMeasures, ...representationMeasures, ...pathMeasures];

/** Look a measure up by name; an unknown name is an INVALID_ARGUMENT error listing the known ones. */
export function measureInfo(name: string): MeasureInfo {
  const m = measures.find((x) => x.name === name);
  if (!m) {
    throw new ModeldiffError(
      'INVALID_ARGUMENT',
      `unknown measure '${name}' (known: ${measures.map((x) => x.name).join(', ')})`,
    );
  }
  return m;
}

/** The measures of one view, in declaration order. */
export function measuresOf(view: MeasureView): MeasureInfo[] {
  return measures.filter((m) => m.view === view);
}
