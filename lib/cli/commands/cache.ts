/**
 * `modeldiff cache info|prune|clear`: where the output cache lives, how big
 * it is against its cap, and trimming it by hand (prune: least recently used
 * entries down to the cap, and day-old temporary files; clear: everything).
 */
import type { Command } from 'commander';

import { defaultCacheDir } from '../../infer/cache';
import { cacheInfo, cacheMaxBytes, clearCache, pruneCache } from '../../infer/cache-budget';
import { toJson } from '../../util/json';
import { formatBytes } from '../../util/size';
import type { CliIo } from '../context';
import { sizeOption } from '../option-parsers';

interface CacheFlags {
  cacheDir?: string;
  cacheSize?: number;
  json?: boolean;
}

export function register(program: Command, io: CliIo): void {
  const cache = program.command('cache').description('show, prune or clear the output cache (default ~/.cache/modeldiff, or $MODELDIFF_CACHE_DIR)');
  const common = (cmd: Command): Command =>
    cmd
      .option('--cache-dir <DIR>', 'output cache folder (default ~/.cache/modeldiff, or $MODELDIFF_CACHE_DIR)')
      .option('--json', 'print one JSON document');
  const dirOf = (flags: CacheFlags) => flags.cacheDir ?? defaultCacheDir();

  common(cache.command('info').description('where the cache is, its entries and size against its cap'))
    .option('--cache-size <SIZE>', 'the cap to report against (default $MODELDIFF_CACHE_SIZE, else 10G)', sizeOption('--cache-size'))
    .action((flags: CacheFlags) => {
      const info = cacheInfo(dirOf(flags), { maxBytes: flags.cacheSize });
      if (flags.json) return io.stdout(toJson(info) + '\n');
      io.stdout(
        `cache folder: ${info.dir}\n` +
          `entries: ${info.entries}, ${formatBytes(info.bytes)} of a ${formatBytes(info.maxBytes)} cap (one entry at most ${formatBytes(info.entryMaxBytes)})\n` +
          (info.tempFiles ? `temporary files: ${info.tempFiles}, ${formatBytes(info.tempBytes)}\n` : ''),
      );
    });

  common(cache.command('prune').description('remove least recently used entries until the cache fits its cap, and day-old temporary files'))
    .option('--cache-size <SIZE>', 'the cap to prune to (default $MODELDIFF_CACHE_SIZE, else 10G)', sizeOption('--cache-size'))
    .action((flags: CacheFlags) => {
      const dir = dirOf(flags);
      const r = pruneCache(dir, cacheMaxBytes(flags.cacheSize));
      if (flags.json) return io.stdout(toJson({ dir, ...r }) + '\n');
      io.stdout(`removed ${r.removed} entr${r.removed === 1 ? 'y' : 'ies'} (${formatBytes(r.freedBytes)}); ${r.entries} left, ${formatBytes(r.bytes)} in ${dir}\n`);
    });

  common(cache.command('clear').description('remove every entry and temporary file from the cache folder'))
    .action((flags: CacheFlags) => {
      const dir = dirOf(flags);
      const r = clearCache(dir);
      if (flags.json) return io.stdout(toJson({ dir, ...r }) + '\n');
      io.stdout(`removed ${r.removed} file${r.removed === 1 ? '' : 's'} (${formatBytes(r.freedBytes)}) from ${dir}\n`);
    });
}
