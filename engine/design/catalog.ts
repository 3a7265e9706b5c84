/**
 * The design layer's view of the Miras catalog (engine/miras/catalog): the only place the
 * editor's grammar, lowering and forms touch it, so a new catalog entry reaches the palette,
 * inspector, validation and costs with no UI code.
 */
import { z } from 'zod';
import { AXES, type Axis, type MirasMixer, type Params } from '../spec';
import { BlockParamsSchema, CATALOG, catalogEntry, type CatalogEntry } from '../miras/catalog';
import { validateMixer as validateMirasMixer } from '../miras/validate';
import { mixerCost } from '../miras/cost';
import type { NodeCost } from './cost';

export type { CatalogEntry };

export function axisEntries(axis: Axis): readonly CatalogEntry[] {
  return CATALOG[axis];
}

export function axisEntry(axis: Axis, kind: string): CatalogEntry | undefined {
  return catalogEntry(axis, kind);
}

const EMPTY = z.object({});
export function axisParamsSchema(axis: Axis, kind: string): z.ZodObject {
  return catalogEntry(axis, kind)?.params.strict() ?? EMPTY;
}

/** Block options minus the short-conv size, which the Short conv node carries. */
const BLOCK_ON_NODE = BlockParamsSchema.omit({ convSize: true }).strict();
export function blockParamsSchema(): z.ZodObject {
  return BLOCK_ON_NODE;
}

const SHAPE_KEYS = ['heads', 'headDimK', 'headDimV'] as const;

/** Splits a Miras node's params into its shape (heads, head dims) and its block options. */
export function splitMirasParams<T extends Record<string, unknown>>(p: T): { shape: Record<string, unknown>; block: Record<string, number | string | boolean> } {
  const shape: Record<string, unknown> = {};
  const block: Record<string, number | string | boolean> = {};
  for (const [k, v] of Object.entries(p)) {
    if ((SHAPE_KEYS as readonly string[]).includes(k)) shape[k] = v;
    else block[k] = v as number | string | boolean;
  }
  return { shape, block };
}

export function shortConvToBlock(kernelSize: number): Params {
  return { convSize: kernelSize };
}

/** A spec's block options → the Short conv node's kernel size (0 = none) and the rest. */
export function shortConvFromBlock(block: Params): { kernelSize: number; rest: Params } {
  const { convSize, ...rest } = block;
  const k = typeof convSize === 'number' ? convSize : (BlockParamsSchema.shape.convSize.parse(undefined) as number);
  return { kernelSize: k, rest };
}

export interface MixerProblem {
  /** The axis whose node is at fault, when the catalog can tell. */
  axis?: Axis;
  message: string;
}

/** Validity of a Miras combination (engine/miras/validate), as located problems. */
export function validateMixer(mixer: MirasMixer): MixerProblem[] {
  return validateMirasMixer(mixer).map((p) => ({
    ...((AXES as readonly string[]).includes(p.axis) ? { axis: p.axis as Axis } : {}),
    message: `${p.message} Fix: ${p.fix}`,
  }));
}

export function mirasMixerCost(mixer: MirasMixer, dModel: number, T: number): NodeCost {
  const c = mixerCost(mixer, dModel, T);
  return { params: c.params.total, stateFloatsPerHead: c.stateFloatsPerHead, flopsPerToken: c.flopsPerToken.total };
}
