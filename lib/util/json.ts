/**
 * JSON output. JSON has no Infinity or NaN, but KL divergence is legitimately
 * +Infinity when a model gives zero probability to a class the other does not.
 * We write non-finite numbers as the strings "Infinity", "-Infinity", "NaN"
 * (documented in the README's JSON schema) rather than silently as null, and
 * typed arrays as plain arrays. Key order follows insertion order, so the same
 * result always serializes to the same bytes.
 */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, replacer, indent);
}

function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  return v;
}
