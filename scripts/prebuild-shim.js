#!/usr/bin/env node
// prebuildify 6 only knows how to call node-gyp. It is pointed here with
// `--node-gyp scripts/prebuild-shim.js`; we ignore node-gyp's arguments and
// build with cmake-js instead, which leaves build/Release/modeldiff.node where
// prebuildify expects it.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
execFileSync(process.execPath, [cmakeJs, 'rebuild'], { cwd: root, stdio: 'inherit' });
