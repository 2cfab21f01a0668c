#!/usr/bin/env node
// npm runs this when modeldiff is installed (package.json "install"). It is silent when the
// native addon loads (the prebuild for this platform, or an existing local build). Otherwise it
// compiles the addon with cmake-js, saying so in one line and showing the compiler's output only
// if that fails; when cmake, a build tool or a C++ compiler is missing it says in one line what
// to install instead of letting cmake-js fail with a page of output. Plain CommonJS: it runs
// before anything is built.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const target = `${process.platform}-${process.arch}`;

/** Why the addon does not load, or undefined when it does. */
function loadError() {
  try {
    require('node-gyp-build')(root);
    return undefined;
  } catch (error) {
    return String(error && error.message ? error.message : error).split('\n')[0];
  }
}

function onPath(command) {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT || '.EXE;.CMD;.BAT').split(';') : [''];
  return (process.env.PATH || '').split(path.delimiter).some((dir) =>
    exts.some((ext) => {
      if (!dir) return false;
      try {
        fs.accessSync(path.join(dir, command + ext), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }),
  );
}

/** What cmake-js would need and cannot find, in words a user can act on. */
function missingTools() {
  const missing = [];
  if (!onPath('cmake')) missing.push('cmake');
  // Windows: cmake-js finds Visual Studio's compiler and generator itself.
  if (process.platform === 'win32') return missing;
  if (!onPath('make') && !onPath('ninja')) missing.push('make (or ninja)');
  const cxx = process.env.CXX ? process.env.CXX.trim().split(/\s+/)[0] : undefined;
  const compilers = cxx ? [cxx] : ['c++', 'g++', 'clang++'];
  if (!compilers.some((c) => (path.isAbsolute(c) ? fs.existsSync(c) : onPath(c)))) missing.push('a C++17 compiler');
  return missing;
}

const listed = (items) => (items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items.at(-1)}` : items[0]);

const installHint = {
  linux: 'Debian/Ubuntu: apt-get install cmake make g++; Fedora: dnf install cmake make gcc-c++; Alpine: apk add cmake make g++',
  darwin: 'xcode-select --install, then brew install cmake',
  win32: 'cmake and Visual Studio Build Tools with the "Desktop development with C++" workload',
};

const why = loadError();
if (why === undefined) process.exit(0);

const hasPrebuild = fs.existsSync(path.join(root, 'prebuilds', target));
const reason = hasPrebuild ? `the prebuilt addon for ${target} does not load here (${why})` : `no prebuilt addon for ${target}`;
const missing = missingTools();
if (missing.length > 0) {
  console.error(
    `modeldiff: ${reason}, and ${listed(missing)} ${missing.length > 1 ? 'are' : 'is'} missing to compile it: ` +
      `install ${installHint[process.platform] ?? 'cmake, make and a C++17 compiler'}, then run "npm rebuild modeldiff"`,
  );
  process.exit(1);
}

console.error(`modeldiff: ${reason}; compiling the native addon with cmake-js (a minute or two)`);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const build = spawnSync(process.execPath, [cmakeJs, 'compile', '--directory', root], {
  cwd: root,
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
  stdio: ['ignore', 'pipe', 'pipe'],
});
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
  console.error(`modeldiff: compiling the native addon failed (cmake-js output above)`);
  process.exit(1);
}
