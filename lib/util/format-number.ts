/**
 * The one rule for numbers shown to people (CLI text, the demo's summary,
 * the report's cards, tables and captions): 4 significant digits with
 * trailing zeros trimmed, exponent form below 1e-3 and from 1e5 up, so tiny
 * distances stay visible and the same value reads the same everywhere.
 */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return Number(v.toPrecision(4)).toString();
  return v.toExponential(2);
}
