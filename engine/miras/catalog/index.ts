/**
 * The Miras block catalog: one entry per option on each of the four axes, plus the block-level
 * schema. Everything that needs to know what a Miras option is reads it from here.
 *
 *   CATALOG[axis]            → entries of that axis, in palette order
 *   catalogEntry(axis, kind) → one entry (undefined if unknown)
 *   resolveCombo(mixer)      → the mixer's four choices and block options with defaults applied
 */
import { z } from 'zod';
import { AXES, AXIS_LABEL, type Axis, type AxisChoice, type MirasMixer, type Params } from '../../spec';
import type { CatalogEntry } from './types';
import { MEMORY } from './memory';
import { BIAS } from './bias';
import { RETENTION } from './retention';
import { LEARNER } from './learner';
import { BlockParamsSchema, type BlockParams } from './block';

export type { CatalogEntry, Requirement } from './types';
export { BlockParamsSchema, type BlockParams } from './block';

export const CATALOG: Record<Axis, readonly CatalogEntry[]> = {
  memory: MEMORY,
  bias: BIAS,
  retention: RETENTION,
  learner: LEARNER,
};

export function catalogEntry(axis: Axis, kind: string): CatalogEntry | undefined {
  return CATALOG[axis].find((e) => e.kind === kind);
}

export function kindsOf(axis: Axis): string[] {
  return CATALOG[axis].map((e) => e.kind);
}

/** The default parameters of an entry (every field has a default). */
export function defaultParams(axis: Axis, kind: string): Params {
  const entry = catalogEntry(axis, kind);
  if (!entry) throw new Error(unknownKindMessage(axis, kind));
  return entry.params.parse({}) as Params;
}

export function unknownKindMessage(axis: Axis, kind: string): string {
  return `Unknown ${AXIS_LABEL[axis]} "${kind}". Choose one of: ${kindsOf(axis).join(', ')}.`;
}

/** A choice on each axis with its parameters resolved (defaults filled in, validated). */
export interface ResolvedChoice {
  kind: string;
  params: Record<string, number | string | boolean>;
}

/**
 * A Miras combination as the scan sees it: the four axis choices with defaults applied and the
 * block options. This is the `combo` argument of the reference and of the kernel generators.
 */
export interface Combo {
  memory: ResolvedChoice;
  bias: ResolvedChoice;
  retention: ResolvedChoice;
  learner: ResolvedChoice;
  block: BlockParams;
}

export class ComboParseError extends Error {
  constructor(
    readonly axis: Axis | 'block',
    message: string,
  ) {
    super(message);
    this.name = 'ComboParseError';
  }
}

function zodMessage(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(params)'}: ${i.message}`).join('; ');
}

export function resolveChoice(axis: Axis, choice: AxisChoice | { kind: string; params?: Params }): ResolvedChoice {
  const entry = catalogEntry(axis, choice.kind);
  if (!entry) throw new ComboParseError(axis, unknownKindMessage(axis, choice.kind));
  const parsed = entry.params.strict().safeParse(choice.params ?? {});
  if (!parsed.success) throw new ComboParseError(axis, `${entry.label}: ${zodMessage(parsed.error)}`);
  return { kind: entry.kind, params: parsed.data as ResolvedChoice['params'] };
}

export function resolveBlock(block: Params | undefined): BlockParams {
  const parsed = BlockParamsSchema.strict().safeParse(block ?? {});
  if (!parsed.success) throw new ComboParseError('block', `Block options: ${zodMessage(parsed.error)}`);
  return parsed.data;
}

/** Input accepted by resolveCombo: a Miras mixer from ModelSpec or a bare combo JSON (the CLI's --combo file). */
export interface ComboInput {
  memory: { kind: string; params?: Params };
  bias: { kind: string; params?: Params };
  retention: { kind: string; params?: Params };
  learner: { kind: string; params?: Params };
  block?: Params;
}

/** Resolve defaults and parse every parameter; throws ComboParseError naming the axis at fault. */
export function resolveCombo(mixer: ComboInput | MirasMixer): Combo {
  const out = {} as Combo;
  for (const axis of AXES) out[axis] = resolveChoice(axis, mixer[axis]);
  out.block = resolveBlock(mixer.block);
  return out;
}

/** The whole catalog as plain JSON (params as JSON Schema): what the editor and docs generator read. */
export function catalogJson() {
  const entry = (e: CatalogEntry) => ({
    axis: e.axis,
    kind: e.kind,
    label: e.label,
    summary: e.summary,
    params: z.toJSONSchema(e.params, { io: 'input' }),
    defaults: e.params.parse({}),
    math: e.math,
    derivative: e.derivative,
    citation: e.citation,
    usedBy: e.usedBy,
    inputs: e.inputs,
    requires: e.requires,
    unverified: e.unverified ?? null,
  });
  return {
    axes: Object.fromEntries(AXES.map((a) => [a, CATALOG[a].map(entry)])),
    block: { params: z.toJSONSchema(BlockParamsSchema, { io: 'input' }), defaults: BlockParamsSchema.parse({}) },
  };
}
