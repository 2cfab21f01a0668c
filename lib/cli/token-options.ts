/**
 * The flags that say how a sequence output (rank ≥ 3) is read, shared by `compare`, `matrix`
 * and `study` so that they mean the same everywhere: the class axis and the mask
 * (library options classAxis, mask, maskFile; see lib/function/token-mask.ts).
 */
import { type Command, Option } from 'commander';

import { integer } from './option-parsers';

/** The flags' values as commander gives them. */
export interface TokenGridFlags {
  classAxis?: number;
  mask?: string;
  maskFile?: string;
}

/** Adds --class-axis, --mask and --mask-file to `cmd`. */
export function addTokenGridOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--class-axis <AXIS>', 'outputs of rank >= 3: the class axis, counted with axis 0 = batch (default: the last; negative counts from the end)').argParser(
        integer('--class-axis'),
      ),
    )
    .option('--mask <NAME>', 'sequence outputs: the probe input holding the 0/1 mask (default: attention_mask when given)')
    .option('--mask-file <FILE>', 'sequence outputs: a further 0/1 mask [n, sequence] (a one-array file, or the attention_mask of an .npz), combined with the probe mask (both must be 1)');
}

/** The library options the flags set (absent flags stay absent). */
export function tokenGridOptions(flags: TokenGridFlags): TokenGridFlags {
  return { classAxis: flags.classAxis, mask: flags.mask, maskFile: flags.maskFile };
}
