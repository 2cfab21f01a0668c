/**
 * The bundled example zoo (examples/digits/, made by
 * scripts/make-example-zoo.py): where it is and what its manifest says.
 * Located from the package root, not the cwd, so `modeldiff demo` works from
 * an installed package (lib/demo/ in source, dist/demo/ when built: both two
 * levels below the root).
 */
import fs from 'node:fs';
import path from 'node:path';

import { ModeldiffError, check } from '../errors';

export interface ZooModel {
  file: string;
  architecture: string;
  seed: number;
  /** 'seed' | 'perturbed-retrained' | 'permuted-rescaled-copy' */
  role: string;
  /** Probe input file this model takes (probe_x.npy, or probe_x_img.npy for CNNs). */
  input: string;
  /** Accuracy on the probe set, computed by PyTorch when the zoo was made. */
  test_accuracy: number;
  /** The model this one was derived from (perturbed and permuted copies). */
  parent?: string;
}

export interface ZooManifest {
  dataset: string;
  licence: string;
  probe: { x: string; x_img: string; y: string; n: number; split: string };
  output: string;
  input_name: string;
  /** Saved logits files (PyTorch, on the probe set) → the model that produced them. */
  saved_outputs?: Record<string, string>;
  versions: Record<string, string | number>;
  models: ZooModel[];
}

export interface Zoo {
  dir: string;
  manifest: ZooManifest;
  /** Absolute path of a file in the zoo. */
  path(file: string): string;
}

/** The package root: the nearest folder above `from` whose package.json is modeldiff's. */
export function packageRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'modeldiff') return dir;
      } catch {
        // an unreadable package.json is not ours; keep looking upward
      }
    }
    if (path.dirname(dir) === dir) {
      throw new ModeldiffError('FILE_NOT_FOUND', `could not find the modeldiff package root above ${from}`);
    }
  }
}

/** Read and check the zoo's manifest.json; `dir` defaults to the bundled examples/digits. */
export function loadZoo(dir: string = path.join(packageRoot(), 'examples', 'digits')): Zoo {
  const file = path.join(dir, 'manifest.json');
  check(fs.existsSync(file), 'FILE_NOT_FOUND', `${file} not found: the example zoo is missing from this installation`);
  let manifest: ZooManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as ZooManifest;
  } catch (cause) {
    throw new ModeldiffError('IO', `${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  check(
    Array.isArray(manifest.models) && manifest.models.length > 0 && manifest.probe && typeof manifest.probe.x === 'string',
    'IO',
    `${file} lacks "models" or "probe": not a modeldiff zoo manifest`,
  );
  const zoo: Zoo = { dir, manifest, path: (f) => path.join(dir, f) };
  for (const f of [manifest.probe.x, manifest.probe.y, ...manifest.models.map((m) => m.file)]) {
    check(fs.existsSync(zoo.path(f)), 'FILE_NOT_FOUND', `${zoo.path(f)} (listed in ${file}) not found`);
  }
  return zoo;
}

/** The zoo's models with a given role (and architecture, when given). */
export function zooModels(zoo: Zoo, filter: { role?: string; architecture?: string }): ZooModel[] {
  return zoo.manifest.models.filter(
    (m) => (filter.role === undefined || m.role === filter.role) && (filter.architecture === undefined || m.architecture === filter.architecture),
  );
}

/** The one model with this role; the zoo is malformed if there is not exactly one. */
export function zooModelByRole(zoo: Zoo, role: string): ZooModel {
  const found = zooModels(zoo, { role });
  check(found.length === 1, 'IO', `${zoo.path('manifest.json')} lists ${found.length} models with role "${role}", expected 1`);
  return found[0];
}
