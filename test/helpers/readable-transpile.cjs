// Preloaded into every test process (package.json "tap"."node-arg"), before tsx.
//
// Test files and lib/ run through tsx (esbuild): it starts a test process in well under a
// second, where ts-node took several. But tsx asks esbuild to minify whitespace, which puts a
// whole module on a few lines, and the coverage report maps V8's ranges back line by line: every
// file would read as 100% covered. Keeping esbuild's line breaks restores real coverage. tsx's
// transform cache would hand back minified code from other runs, so it is off in test processes.
process.env.TSX_DISABLE_CACHE = '1';
// esbuild's exports are getters that cannot be reassigned, so the cached module's exports
// object is replaced by a copy whose transforms keep the line breaks; tsx imports it afterwards.
const esbuildPath = require.resolve('esbuild');
const esbuild = require(esbuildPath);
const keepLines = (options) => ({ ...options, minifyWhitespace: false, sourcesContent: true });
require.cache[esbuildPath].exports = {
  ...esbuild,
  transformSync: (input, options) => esbuild.transformSync(input, keepLines(options)),
  transform: (input, options) => esbuild.transform(input, keepLines(options)),
};
