// The native boundary's one naming convention, on the TypeScript side: a function that runs a
// kernel on the calling thread (callNativeSync) is named `…Sync`, and one that runs it on a
// worker thread (callNative) is not. The addon side (every call exported as name and nameSync)
// is test/native-boundary.test.ts.
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';
import ts from 'typescript';

const LIB = path.join(__dirname, '..', 'lib');
/** The wrappers themselves. */
const CALL = path.join(LIB, 'native', 'call.ts');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && p !== CALL ? [p] : [];
  });
}

/** "file:line: name calls callNativeSync" for every named function whose own body breaks the convention. */
function misnamed(file: string, text = fs.readFileSync(file, 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const where = (node: ts.Node) => `${path.basename(file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node, fn: string | undefined): void => {
    let inside = fn;
    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) inside = node.name.getText(source);
    else if (ts.isVariableDeclaration(node) && node.initializer && (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))) {
      inside = node.name.getText(source);
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && inside !== undefined) {
      const callee = node.expression.text;
      if (callee === 'callNativeSync' && !inside.endsWith('Sync')) found.push(`${where(node)}: ${inside} calls callNativeSync`);
      if (callee === 'callNative' && inside.endsWith('Sync')) found.push(`${where(node)}: ${inside} calls callNative`);
    }
    ts.forEachChild(node, (child) => visit(child, inside));
  };
  visit(source, undefined);
  return found;
}

t.test('calling-thread kernel wrappers are named …Sync, worker-thread ones are not', async (t) => {
  const files = tsFiles(LIB);
  const calling = files.filter((f) => /\bcallNative(Sync)?\(/.test(fs.readFileSync(f, 'utf8')));
  t.ok(calling.length >= 4, `${calling.length} files call the addon`);
  t.same(calling.flatMap((f) => misnamed(f)), []);
});

t.test('the scan finds what it looks for (it can fail)', async (t) => {
  const text = [
    "function normalizeScale() { return callNativeSync('normalizeScale', {}); }",
    "const sortKeysSync = async () => callNative('sortKeys', {});",
    "export function fixSignSync() { return callNativeSync('fixSign', {}); }",
    "export async function bootstrap() { return callNative('bootstrap', {}); }",
  ].join('\n');
  t.same(misnamed('x.ts', text), ['x.ts:1: normalizeScale calls callNativeSync', 'x.ts:2: sortKeysSync calls callNative']);
});
