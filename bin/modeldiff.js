#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('../dist/cli/main.js');
} catch (error) {
  // The addon loads with the CLI's modules, before runCli can turn errors into one line.
  if (error && error.code === 'ADDON_LOAD') {
    process.stderr.write(`modeldiff: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
cli.runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
