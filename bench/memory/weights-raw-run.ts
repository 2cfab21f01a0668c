/**
 * Child process of bench/weights-memory.bench.ts: runs `modeldiff weights A B --method raw`
 * in-process (the CLI's own entry point) and prints the process's peak RSS in bytes.
 */
import { runCli } from '../../lib/cli/main';

const [a, b] = process.argv.slice(2);
let out = '';
runCli(['weights', a, b, '--method', 'raw', '--json'], {
  stdout: (s: string) => (out += s),
  stderr: (s: string) => process.stderr.write(s),
  isTTY: false,
  cwd: process.cwd(),
}).then((code) => {
  console.log(JSON.stringify({ code, maxRssBytes: process.resourceUsage().maxRSS * 1024, outputBytes: out.length }));
});
