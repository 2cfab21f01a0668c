/**
 * The inference options every command that runs models takes from the same
 * flags (--cache-dir, --no-cache, --cache-size, --cache-max, --execution-provider) and the same
 * surroundings (working folder, progress bar, warnings on stderr), in one place.
 */
import type { Command } from 'commander';

import { ModeldiffError } from '../errors';
import type { Progress } from '../infer/progress';
import type { CliIo } from './context';

export interface CacheFlags {
  cache: boolean;
  cacheDir?: string;
  cacheSize?: number;
  cacheMax?: number;
  executionProvider?: string[];
}

/** --execution-provider: comma-separated and repeatable, in order of preference. */
function providerList(v: string, prev: string[] = []): string[] {
  const names = v.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  if (names.length === 0) throw new ModeldiffError('USAGE', `--execution-provider must name a provider (e.g. cuda, cpu), got ${JSON.stringify(v)}`);
  return [...new Set([...prev, ...names])];
}

/** Adds --execution-provider (library: executionProviders) to a command that runs models. */
export function addExecutionProviderOption(cmd: Command): Command {
  return cmd.option('--execution-provider <NAMES>', 'onnxruntime execution providers in order of preference, comma-separated (default cpu; e.g. cuda,cpu)', providerList);
}

export function inferenceOptions(flags: CacheFlags, io: CliIo, progress: Progress) {
  return {
    cache: flags.cache,
    cacheDir: flags.cacheDir,
    cacheMaxBytes: flags.cacheSize,
    cacheEntryMaxBytes: flags.cacheMax,
    executionProviders: flags.executionProvider,
    cwd: io.cwd,
    onProgress: (done: number, total: number) => progress.update(done, total),
    onWarning: (w: string) => io.stderr(`modeldiff: warning: ${w}\n`),
  };
}
