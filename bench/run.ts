/**
 * Benchmark dispatcher: `npm run bench` runs every `bench/*.bench.ts`;
 * `npm run bench -- <substring>` runs only the files whose name contains it.
 * Each bench file default-exports an async function that prints its table.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
    .sort();
  if (files.length === 0) throw new Error(`no bench/*.bench.ts matches "${filter}"`);
  for (const f of files) {
    console.log(`\n## ${f}\n`);
    const mod = (await import(path.join(__dirname, f))) as { default: () => Promise<void> };
    await mod.default();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
