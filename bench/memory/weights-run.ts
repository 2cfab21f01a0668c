/**
 * Child process of bench/weights-memory.bench.ts: runs `modeldiff weights A B --json <args>`
 * in-process (the CLI's own entry point) and prints the process's peak RSS in bytes and the
 * wall time of the run.
 *
 *   node --import tsx bench/memory/weights-run.ts A.onnx B.onnx --method aligned --tol 0.05
 */
import { runCli } from '../../lib/cli/main';

const [a, b, ...args] = process.argv.slice(2);
let out = '';
const start = performance.now();
runCli(['weights', a, b, '--json', ...args], {
  stdout: (s: string) => (out += s),
  stderr: (s: string) => process.stderr.write(s),
  isTTY: false,
  cwd: process.cwd(),
}).then((code) => {
  const seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ code, maxRssBytes: process.resourceUsage().maxRSS * 1024, seconds, outputBytes: out.length }));
});
