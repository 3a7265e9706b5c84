/** Learning-rate schedules: linear warmup, then constant, cosine or linear decay to minRatio·lr. */
export type ScheduleKind = 'constant' | 'cosine' | 'linear';

export interface ScheduleConfig {
  kind: ScheduleKind;
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final lr as a fraction of the peak (cosine/linear). */
  minRatio: number;
}

/** Learning rate for 0-based `step`. Warmup ramps (step+1)/warmup so step 0 already moves. */
export function learningRate(step: number, s: ScheduleConfig): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const p = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  const min = s.lr * s.minRatio;
  if (s.kind === 'linear') return s.lr - (s.lr - min) * p;
  return min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * p));
}
