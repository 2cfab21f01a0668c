import t from 'tap';

import { addonLoadError, capabilities } from '../lib/native';

t.test('capabilities reports the ISA actually selected', async (t) => {
  const caps = capabilities();
  t.ok(caps.supported.includes('scalar'), 'scalar is always supported');
  t.ok(caps.supported.includes(caps.isa), 'the active ISA is one the CPU supports');
  t.ok(caps.threads >= 1);
  t.equal(caps.napiVersion, 8);
  if (process.arch === 'x64') t.notOk(caps.supported.includes('neon'));
  if (process.arch === 'arm64') t.ok(caps.supported.includes('neon'));
});

// What node-gyp-build throws, as of node-gyp-build 4.8, when neither build/ nor a prebuild exists.
const notBuilt = new Error(
  'No native build was found for platform=linux arch=x64 runtime=node abi=115 uv=1 libc=glibc node=20.20.2\n' +
    '    attempted loading from: /p/node_modules/modeldiff and package: modeldiff\n',
);

t.test('a missing addon is one line suggesting npm rebuild, without the stack', async (t) => {
  const error = addonLoadError(notBuilt);
  t.equal(error.code, 'ADDON_LOAD');
  t.notMatch(error.message, /\n/);
  t.match(error.message, `is not built for ${process.platform}-${process.arch}`);
  t.match(error.message, '"npm rebuild modeldiff"');
  t.notMatch(error.message, /attempted loading/, "node-gyp-build's second line stays out");
  t.equal(error.stack, `ModeldiffError: ${error.message}`);
  t.equal(error.cause, undefined, 'no cause for Node to print under an uncaught error');
});

t.test('an addon that fails to load keeps the loader first line', async (t) => {
  const dlopen = new Error("/p/modeldiff.glibc.node: /lib/libstdc++.so.6: version `GLIBCXX_3.4.29' not found\nmore");
  const error = addonLoadError(dlopen);
  t.match(error.message, `for ${process.platform}-${process.arch} does not load (/p/modeldiff.glibc.node: /lib/libstdc++.so.6: version \`GLIBCXX_3.4.29' not found)`);
  t.notMatch(error.message, /\n/);
  t.match(error.message, '"npm rebuild modeldiff"');
});
