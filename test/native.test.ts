import t from 'tap';

import { capabilities } from '../lib/native';

t.test('capabilities reports the ISA actually selected', async (t) => {
  const caps = capabilities();
  t.ok(caps.supported.includes('scalar'), 'scalar is always supported');
  t.ok(caps.supported.includes(caps.isa), 'the active ISA is one the CPU supports');
  t.ok(caps.threads >= 1);
  t.equal(caps.napiVersion, 8);
  if (process.arch === 'x64') t.notOk(caps.supported.includes('neon'));
  if (process.arch === 'arm64') t.ok(caps.supported.includes('neon'));
});
