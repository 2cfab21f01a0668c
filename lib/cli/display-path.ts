import path from 'node:path';

/**
 * How a model path is shown in text output: relative to the working folder
 * when it lies inside it (as the user most likely typed it), else absolute.
 * JSON output keeps absolute paths, which stay valid wherever it is read.
 */
export function displayPath(file: string, cwd: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
