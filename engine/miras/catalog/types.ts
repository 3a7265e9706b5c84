/**
 * The shape of one block-catalog entry. The catalog is the single source of truth for a Miras
 * option: the editor's palette and inspector forms, validation, cost, codegen, the float64
 * reference and docs/miras.md all read these entries.
 *
 * Parameters are zod objects whose fields carry `.meta({ help, unit })`, the same convention as
 * engine/design/grammar.ts, so `z.toJSONSchema(entry.params)` gives a form with defaults, ranges,
 * units and help text.
 */
import type { z } from 'zod';
import type { Axis } from '../../spec';

/** A declarative compatibility requirement: this entry only works with the listed kinds on `axis`. */
export interface Requirement {
  axis: Axis;
  kinds: readonly string[];
  /** Why the combination is ill-defined otherwise (shown on the node at fault). */
  why: string;
}

export interface CatalogEntry {
  axis: Axis;
  /** Stable id stored in ModelSpec (`{ kind, params }`). */
  kind: string;
  label: string;
  /** One line for the palette. */
  summary: string;
  /** Parameters with defaults, ranges, units and help. */
  params: z.ZodObject;
  /** The update rule / read-out, readable text in the fla layout (S ∈ R^{dk×dv}, o_t = S_tᵀ q_t). */
  math: string;
  /** The derivative the kernels and the backward need, as text. */
  derivative: string;
  /** Paper and equation. */
  citation: string;
  /** Models in the literature that use this choice. */
  usedBy: readonly string[];
  /** Scan input tensors this choice reads (fla layout), beyond q, k, v. */
  inputs: readonly string[];
  /** Choices on other axes this entry needs; validate.ts turns violations into structured errors. */
  requires: readonly Requirement[];
  /** Facts that depend on a [U] (unverified) paper detail and are therefore parameters. */
  unverified?: string;
}
