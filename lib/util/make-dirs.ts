import fs from 'node:fs';
import path from 'node:path';

/**
 * mkdir -p, one level at a time. Node 20's `mkdirSync(dir, { recursive: true })`
 * loops forever where mkdir fails with ENOENT although the parent exists (e.g. a
 * folder under /proc); here that is an error like any other.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) {
    missing.push(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const m of missing.reverse()) {
    try {
      fs.mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
