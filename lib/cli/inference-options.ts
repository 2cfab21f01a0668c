/**
 * The inference options every command that runs models takes from the same
 * flags (--cache-dir, --no-cache, --cache-size, --cache-max) and the same surroundings (working folder,
 * progress bar, warnings on stderr), in one place.
 */
import type { Progress } from '../infer/progress';
import type { CliIo } from './context';

export interface CacheFlags {
  cache: boolean;
  cacheDir?: string;
  cacheSize?: number;
  cacheMax?: number;
}

export function inferenceOptions(flags: CacheFlags, io: CliIo, progress: Progress) {
  return {
    cache: flags.cache,
    cacheDir: flags.cacheDir,
    cacheMaxBytes: flags.cacheSize,
    cacheEntryMaxBytes: flags.cacheMax,
    cwd: io.cwd,
    onProgress: (done: number, total: number) => progress.update(done, total),
    onWarning: (w: string) => io.stderr(`modeldiff: warning: ${w}\n`),
  };
}
