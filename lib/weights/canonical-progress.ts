/**
 * Progress of the canonical method, for a caller that draws it (the CLI's progress line on a
 * terminal): big models spend seconds to minutes per stage. Reported per model, per stage:
 * - 'read': the model file read and its network built (step 0 of 1 before, 1 of 1 after);
 * - 'normalize', 'sort': hidden group `step` of `steps` done (forward order);
 * - 'distance': tensor pair `step` of `steps` summed (the two models together, model '').
 */
export interface CanonicalProgress {
  /** The model's label (its file name), '' for the distance between both. */
  model: string;
  stage: 'read' | 'normalize' | 'sort' | 'distance';
  step: number;
  steps: number;
}

export type OnCanonicalProgress = (progress: CanonicalProgress) => void;

/** `onProgress` bound to one model and stage (a no-op when there is none). */
export function stageReporter(onProgress: OnCanonicalProgress | undefined, model: string, stage: CanonicalProgress['stage']): (step: number, steps: number) => void {
  return onProgress ? (step, steps) => onProgress({ model, stage, step, steps }) : () => {};
}
