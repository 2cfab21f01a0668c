#!/usr/bin/env node
// prebuildify 6 only knows how to call node-gyp. scripts/prebuilds.js points it here with
// `--node-gyp scripts/prebuild-shim.js`; we ignore node-gyp's arguments and build with cmake-js
// instead. prebuildify runs us in a staging folder (our cwd) and takes the addon from
// <cwd>/build/Release/, so the developer's own build/ is never overwritten. PREBUILD_ARCH
// (set by prebuildify from --arch) other than the host's selects a CMake toolchain file from
// scripts/prebuild-toolchains/.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const arch = process.env.PREBUILD_ARCH || process.arch;
const args = [cmakeJs, 'compile', '--directory', root, '--out', path.join(process.cwd(), 'build'), '--arch', arch];
if (arch !== process.arch) {
  const toolchain = path.join(__dirname, 'prebuild-toolchains', `${process.platform}-${arch}.cmake`);
  if (!fs.existsSync(toolchain)) {
    console.error(`prebuild-shim: no toolchain file for ${process.platform}-${arch} on a ${process.arch} host (${toolchain})`);
    process.exit(1);
  }
  args.push(`--CDCMAKE_TOOLCHAIN_FILE=${toolchain}`);
}
execFileSync(process.execPath, args, { stdio: 'inherit' });
