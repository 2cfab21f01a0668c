/**
 * lib/io/file-read.ts: the one errno → ModeldiffError mapping and the positioned reads the
 * .npy, ONNX and output-cache readers share.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { ModeldiffError } from '../lib/errors';
import { openModel } from '../lib/infer/session';
import { fileError, readAt, readExactly } from '../lib/io/file-read';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-file-read-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

t.test('fileError: ENOENT is FILE_NOT_FOUND, anything else IO, in the reader\'s words when it has them', async (t) => {
  const words = { missing: 'no such file', folder: 'is a folder, not a data file' };
  t.match(fileError(errno('ENOENT', 'ENOENT: no such file or directory'), 'a.npy', words), { code: 'FILE_NOT_FOUND', message: 'a.npy: no such file' });
  t.match(fileError(errno('ENOENT', 'ENOENT: no such file or directory'), 'a.npy'), { code: 'FILE_NOT_FOUND', message: 'a.npy: ENOENT: no such file or directory' });
  t.match(fileError(errno('EISDIR', 'EISDIR: illegal operation on a directory'), 'd', words), { code: 'IO', message: 'd: is a folder, not a data file' });
  t.match(fileError(errno('EISDIR', 'EISDIR: illegal operation on a directory'), 'd'), { code: 'IO', message: 'd: EISDIR: illegal operation on a directory' });
  const emfile = errno('EMFILE', 'EMFILE: too many open files');
  const e = fileError(emfile, 'a.npy', words);
  t.match(e, { code: 'IO', message: 'a.npy: EMFILE: too many open files' });
  t.equal(e.cause, emfile, 'the system error is kept as the cause');
  const mapped = new ModeldiffError('BAD_NPY', 'a.npy: bad magic');
  t.equal(fileError(mapped, 'other'), mapped, 'an error already mapped passes through');
});

t.test('readAt reads up to the end of the file; readExactly refuses a file that ends early', async (t) => {
  const file = path.join(tmp, 'bytes.bin');
  fs.writeFileSync(file, Uint8Array.from({ length: 10 }, (_, i) => i));
  const fd = fs.openSync(file, 'r');
  t.teardown(() => fs.closeSync(fd));
  const four = new Uint8Array(4);
  t.equal(readAt(fd, four, 3), 4);
  t.same(Array.from(four), [3, 4, 5, 6]);
  const past = new Uint8Array(6);
  t.equal(readAt(fd, past, 7), 3, 'three bytes left after position 7');
  t.same(Array.from(past.subarray(0, 3)), [7, 8, 9]);
  readExactly(fd, four, 6, 'bytes.bin');
  t.same(Array.from(four), [6, 7, 8, 9]);
  t.throws(() => readExactly(fd, past, 7, 'bytes.bin'), { code: 'IO', message: 'bytes.bin: the file shrank while it was being read' });
  const dirFd = fs.openSync(tmp, 'r');
  t.teardown(() => fs.closeSync(dirFd));
  t.throws(() => readExactly(dirFd, four, 0, 'folder', { folder: 'is a folder, not a data file' }), { code: 'IO', message: 'folder: is a folder, not a data file' });
});

t.test('openModel words a missing model and a folder through the same mapping', async (t) => {
  await t.rejects(openModel(path.join(tmp, 'nope.onnx')), { code: 'FILE_NOT_FOUND', message: /nope\.onnx: no such ONNX model file$/ });
  await t.rejects(openModel(tmp), { code: 'IO', message: /: is a folder, not an ONNX model file$/ });
});
