/**
 * Child process of bench/weights-scale.bench.ts: one `modeldiff weights A B --method M --json`
 * run in-process (the CLI's own entry point), timed from the call (model reading included, Node
 * and module start-up not), and its process's peak RSS.
 *
 *   node --import tsx bench/scale/weights-run.ts a.onnx b.onnx aligned 1e-4
 */
import { runCli } from '../../lib/cli/main';

const [a, b, method, tol] = process.argv.slice(2);
let out = '';
let err = '';
const t0 = performance.now();
runCli(['weights', a, b, '--method', method, '--json', '--tol', tol], {
  stdout: (s: string) => (out += s),
  stderr: (s: string) => (err += s),
  isTTY: false,
  cwd: process.cwd(),
}).then((code) => {
  const seconds = (performance.now() - t0) / 1000;
  const r = code === 0 ? JSON.parse(out) : {};
  const summary = r[method] as { relative: number } | undefined;
  console.log(JSON.stringify({ code, err, seconds, relative: summary?.relative, sweeps: r.alignment?.iterations ?? 0, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
});
