/**
 * Numbers and tables in the command line's text output: every command formats through these,
 * so a style is chosen by name here and not re-written per command. (JSON output prints
 * numbers whole; the HTML report and the demo's summary use lib/util/format-number.ts, which
 * `formatNumber` re-exports.)
 */
export { formatNumber } from '../util/format-number';

/** How `significant` writes a number. */
export interface SignificantStyle {
  /** Significant digits inside [from, below). */
  digits: number;
  /** Plain digits for |v| in [from, below); exponent form outside it. */
  from: number;
  below: number;
  /** Digits after the point in exponent form. */
  expDigits: number;
  /** Drop trailing zeros of the plain form (0.5000 → 0.5). */
  trim?: boolean;
  /** What NaN reads as (default "NaN"). */
  nan?: string;
}

/** `v` in `style`; 0 is "0", ±Infinity as JavaScript writes them. */
export function significant(v: number, style: SignificantStyle): string {
  if (Number.isNaN(v)) return style.nan ?? 'NaN';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < style.from || a >= style.below) return v.toExponential(style.expDigits);
  const s = v.toPrecision(style.digits);
  return style.trim ? s.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') : s;
}

/** Summary tables (compare): 4 significant digits, trailing zeros dropped, "n/a" for NaN. */
export const summaryNumber = (v: number): string => significant(v, { digits: 4, from: 1e-3, below: 1e5, expDigits: 3, trim: true, nan: 'n/a' });

/** Divergence summaries: 6 significant digits, exponent form below 1e-4 and from 1e6. */
export const divergenceNumber = (v: number): string => significant(v, { digits: 6, from: 1e-4, below: 1e6, expDigits: 4 });

/** Weight distances: 6 significant digits, exponent form below 1e-3 and from 1e5. */
export const distanceNumber = (v: number): string => significant(v, { digits: 6, from: 1e-3, below: 1e5, expDigits: 3 });

/** `decimals` digits after the point; non-finite values as JavaScript writes them. */
export function fixed(v: number, decimals: number): string {
  return Number.isFinite(v) ? v.toFixed(decimals) : String(v);
}

/** Distance matrices: 4 decimals inside [1e-3, 1e4), exponent form (3 digits) outside. */
export function matrixNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? v.toFixed(4) : v.toExponential(3);
}

/** A fraction as a percentage with one decimal (0.1234 → "12.3%"). */
export function percent(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

/**
 * Rows as aligned columns: the first column left-aligned, the others right-aligned, columns
 * two spaces apart, each line prefixed by `indent` and without trailing spaces.
 */
export function alignedRows(rows: string[][], indent = ''): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => (indent + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).trimEnd());
}

/** Cells left-aligned in columns of the given widths, one space apart; a cell past `widths` is not padded. */
export function leftColumns(cells: string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]) : c)).join(' ');
}

/** A matching objective on the live progress line: 8 significant digits, so small gains show. */
export const objectiveNumber = (v: number): string => v.toPrecision(8);
