/**
 * Task generators: seeded, deterministic in (seed, split, step). One registry (`TASKS`) drives
 * the CLI, the training panel and docs/tasks.md.
 *
 *   const task = createTask('mqar', { kvPairs: 8 }, 0);
 *   const { inputs, targets } = task.batch(16, 64, 'train', step); // [16, 64] row-major, -1 = no loss
 */
import { z } from 'zod';
import { MQAR_INFO, createMqar } from './mqar';
import { SELECTIVE_COPY_INFO, createSelectiveCopy } from './selective-copy';
import { INDUCTION_INFO, createInduction } from './induction';
import { PARITY_INFO, createParity } from './parity';
import { MOD_ARITH_INFO, createModArith } from './mod-arith';
import { TEXT_INFO, createText } from './text';
import { TASK_NAMES, type Task, type TaskInfo, type TaskName } from './types';

export { TASK_NAMES, IGNORE } from './types';
export type { Task, TaskBatch, TaskInfo, TaskName, Split } from './types';
export type { TextTask } from './text';

/** Task metadata, in the order the UI lists them. */
export const TASKS: Record<TaskName, TaskInfo> = {
  mqar: MQAR_INFO,
  'selective-copy': SELECTIVE_COPY_INFO,
  induction: INDUCTION_INFO,
  parity: PARITY_INFO,
  'mod-arith': MOD_ARITH_INFO,
  text: TEXT_INFO,
};

export function isTaskName(name: string): name is TaskName {
  return (TASK_NAMES as readonly string[]).includes(name);
}

/** Default settings of a task (its schema's defaults). */
export function defaultSettings(name: TaskName): Record<string, unknown> {
  return TASKS[name].settings.parse({}) as Record<string, unknown>;
}

/** Validate settings for a task; throws an Error naming each bad field. */
export function parseTaskSettings(name: TaskName, settings: object = {}): Record<string, unknown> {
  const r = TASKS[name].settings.safeParse(settings);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('; ');
    throw new Error(`invalid settings for task "${name}": ${why}`);
  }
  return r.data as Record<string, unknown>;
}

export function createTask(name: TaskName | string, settings: object = {}, seed = 0): Task {
  if (!isTaskName(name)) throw new Error(`unknown task "${name}"; available: ${TASK_NAMES.join(', ')}`);
  if (!Number.isInteger(seed)) throw new Error(`task seed must be an integer, got ${seed}`);
  const s = parseTaskSettings(name, settings) as never;
  switch (name) {
    case 'mqar': return createMqar(s, seed) as unknown as Task;
    case 'selective-copy': return createSelectiveCopy(s, seed) as unknown as Task;
    case 'induction': return createInduction(s, seed) as unknown as Task;
    case 'parity': return createParity(s, seed) as unknown as Task;
    case 'mod-arith': return createModArith(s, seed) as unknown as Task;
    case 'text': return createText(s, seed) as unknown as Task;
  }
}

/** JSON Schema of a task's settings (for forms and docs). */
export function settingsJsonSchema(name: TaskName) {
  return z.toJSONSchema(TASKS[name].settings, { io: 'input' });
}
