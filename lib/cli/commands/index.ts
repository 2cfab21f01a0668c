/** Every subcommand, in the order `modeldiff --help` lists them. */
import type { Command } from 'commander';

import type { CliIo } from '../context';
import { register as compare } from './compare';
import { register as divergence } from './divergence';
import { register as outputs } from './outputs';
import { register as barrier } from './barrier';
import { register as cka } from './cka';
import { register as weights } from './weights';
import { register as matrix } from './matrix';
import { register as study } from './study';
import { register as demo } from './demo';
import { register as cache } from './cache';

export type RegisterCommand = (program: Command, io: CliIo) => void;

export const commands: RegisterCommand[] = [compare, divergence, outputs, weights, cka, barrier, matrix, study, demo, cache];
