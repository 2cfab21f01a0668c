/**
 * Library option fields to command-line flags. The library's messages name option fields
 * (ModeldiffError.option); only the CLI speaks of flags, and this is where it finds them.
 */

/** Fields whose flag is not the field name in kebab case. */
const FLAG_EXCEPTIONS: Readonly<Record<string, string>> = {
  metrics: '--metric',
  methods: '--method',
  executionProviders: '--execution-provider',
  cacheMaxBytes: '--cache-size',
  cacheEntryMaxBytes: '--cache-max',
};

/** The flag that sets library option `field` (batchSize → --batch-size). */
export function flagForOption(field: string): string {
  return FLAG_EXCEPTIONS[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
