/**
 * What JSON.parse hides in a safetensors header: a key given twice (the last
 * silently wins, so a file with two tensors of one name would read as one)
 * and how each shape dimension was written (2.0 and 2e0 parse as the integer
 * 2; the format's reference reader refuses them). A small scan over the
 * header text, run after JSON.parse has accepted it, so it may assume
 * well-formed JSON. Free-form `__metadata__` is not checked.
 */

export interface HeaderScan {
  /** The first key given twice in one object, and the tensor it belongs to (undefined at the top level). */
  duplicate?: { key: string; tensor?: string };
  /** Each tensor's shape dimensions as written in the text. */
  shapeTokens: Map<string, string[]>;
}

export function scanHeader(text: string): HeaderScan {
  let at = 0;
  const scan: HeaderScan = { shapeTokens: new Map() };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
  };
  const string = (): string => {
    const start = at++;
    while (text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
    at++;
    return JSON.parse(text.slice(start, at)) as string;
  };
  /** Skips one value; `path` is [tensor, field] while inside a tensor's entry. */
  const value = (path: string[]): void => {
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      const seen = new Set<string>();
      for (space(); text[at] !== '}'; space()) {
        if (text[at] === ',') at++;
        space();
        const key = string();
        if (seen.has(key) && !scan.duplicate && path[0] !== '__metadata__') scan.duplicate = { key, tensor: path[0] };
        seen.add(key);
        space();
        at++; // ':'
        value(path.length < 2 ? [...path, key] : path);
      }
      at++;
    } else if (c === '[') {
      at++;
      const shape: string[] | undefined = path.length === 2 && path[1] === 'shape' ? [] : undefined;
      for (space(); text[at] !== ']'; space()) {
        if (text[at] === ',') at++;
        space();
        const start = at;
        value(path);
        shape?.push(text.slice(start, at));
      }
      at++;
      if (shape) scan.shapeTokens.set(path[0], shape);
    } else if (c === '"') {
      string();
    } else {
      while (at < text.length && !',]} \t\n\r'.includes(text[at])) at++;
    }
  };
  value([]);
  return scan;
}
