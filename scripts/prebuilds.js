#!/usr/bin/env node
// Builds the prebuilt addons that `npm pack` ships in prebuilds/ (package.json "prepack"; by hand:
// `npm run prebuilds`). On a linux-x64 host: linux-x64 natively and linux-arm64 with the aarch64
// cross toolchain (apt-get install g++-aarch64-linux-gnu binutils-aarch64-linux-gnu); elsewhere:
// the host's platform and arch only. MODELDIFF_PREBUILD_ARCHS=x64,arm64 overrides the list.
//
// prebuildify names and strips each build (prebuilds/linux-arm64/modeldiff.glibc.node: the libc
// tag keeps node-gyp-build from offering a glibc build to musl, where the install compiles
// instead). Each arch builds in its own staging folder under build-prebuilds/ (incremental across
// runs), never in build/, which stays the developer's own build. The old prebuilds of the
// targets it builds are removed first, so those are never older than their sources.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
const archs = process.env.MODELDIFF_PREBUILD_ARCHS
  ? process.env.MODELDIFF_PREBUILD_ARCHS.split(',').map((a) => a.trim())
  : onLinuxX64
    ? ['x64', 'arm64']
    : [process.arch];

// Cross builds need the cross compiler (named in the toolchain file) and its strip.
const crossTools = { 'linux-arm64': [process.env.CXX_AARCH64 || 'aarch64-linux-gnu-g++', 'aarch64-linux-gnu-strip'] };

function onPath(command) {
  const dirs = (process.env.PATH || '').split(path.delimiter);
  return path.isAbsolute(command) ? fs.existsSync(command) : dirs.some((d) => d && fs.existsSync(path.join(d, command)));
}

// Other platforms' folders stay: .github/workflows/prebuilds.yml puts macOS and Windows builds
// there before packing on Linux.
for (const arch of archs) fs.rmSync(path.join(root, 'prebuilds', `${process.platform}-${arch}`), { recursive: true, force: true });

const prebuildify = require.resolve('prebuildify/bin.js');
for (const arch of archs) {
  const target = `${process.platform}-${arch}`;
  const cross = arch !== process.arch;
  const tools = cross ? crossTools[target] : [];
  if (!tools) {
    console.error(`prebuilds: cannot cross-build ${target} on a ${process.platform}-${process.arch} host`);
    process.exit(1);
  }
  const missing = tools.filter((t) => !onPath(t));
  if (missing.length > 0) {
    console.error(`prebuilds: ${missing.join(' and ')} not found: install the cross toolchain for ${target} (Debian/Ubuntu: apt-get install g++-aarch64-linux-gnu)`);
    process.exit(1);
  }
  const staging = path.join(root, 'build-prebuilds', target);
  fs.mkdirSync(staging, { recursive: true });
  const shim = path.join(__dirname, 'prebuild-shim.js');
  // prebuildify spawns --node-gyp without a shell, which runs the shim through its #! line; Windows
  // has none, so there it goes through cmd.exe with node named (untested: see the workflow).
  const nodeGyp = process.platform === 'win32' ? ['--node-gyp', `"${process.execPath}" "${shim}"`, '--shell', process.env.ComSpec || 'cmd.exe'] : ['--node-gyp', shim];
  const args = [prebuildify, '--napi', '--strip', '--arch', arch, '--name', 'modeldiff', ...nodeGyp, '--cwd', staging, '--out', root];
  if (process.platform === 'linux') args.push('--tag-libc');
  if (cross) args.push('--strip-bin', tools[1]);
  console.log(`prebuilds: building ${target}`);
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`prebuilds: building ${target} failed (output above)`);
    process.exit(1);
  }
}
for (const arch of archs) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${arch}`);
  for (const file of fs.readdirSync(dir)) {
    console.log(`prebuilds: ${path.relative(root, path.join(dir, file))} (${(fs.statSync(path.join(dir, file)).size / 1024).toFixed(0)} KiB)`);
  }
}
