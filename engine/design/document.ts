/**
 * The design document: what the editor saves, exports, autosaves and sends to the server.
 * It is the graph (nodes with positions and parameters, typed edges), not the ModelSpec;
 * designToSpec lowers it. Files carry `format` and `version` so older files migrate and
 * newer or foreign files get a clear error instead of a half-loaded canvas.
 */
import { z } from 'zod';

export const DESIGN_FORMAT = 'miras-studio/design';
/** Bump when the document shape changes, and add a step to MIGRATIONS. */
export const DESIGN_VERSION = 1;

const paramValue = z.union([z.number(), z.string(), z.boolean()]);

export const DesignNodeSchema = z.object({
  id: z.string().min(1),
  /** A grammar node type: a structure type (embedding, norm, …, stack) or an axis (memory, bias, retention, learner). */
  type: z.string().min(1),
  /** Position relative to the parent stack when `parent` is set, as React Flow stores it. */
  position: z.object({ x: z.number(), y: z.number() }),
  /** The stack ×N group this node sits in. */
  parent: z.string().nullable().default(null),
  /** Only stacks have a size. */
  size: z.object({ width: z.number().positive(), height: z.number().positive() }).optional(),
  /** Axis nodes: the catalog entry's id. */
  kind: z.string().optional(),
  /** Node parameters (structure params, or the catalog entry's params, or the Miras block options). */
  params: z.record(z.string(), paramValue).default({}),
});
export type DesignNode = z.infer<typeof DesignNodeSchema>;

export const DesignEdgeSchema = z.object({
  id: z.string().min(1),
  source: z.string().min(1),
  sourceHandle: z.string().nullable().default(null),
  target: z.string().min(1),
  targetHandle: z.string().nullable().default(null),
});
export type DesignEdge = z.infer<typeof DesignEdgeSchema>;

export const DesignDocSchema = z.object({
  format: z.literal(DESIGN_FORMAT),
  version: z.literal(DESIGN_VERSION),
  name: z.string().max(200).default('Untitled design'),
  /** The preset the design started from, if any. */
  preset: z.string().nullable().default(null),
  nodes: z.array(DesignNodeSchema),
  edges: z.array(DesignEdgeSchema),
  viewport: z.object({ x: z.number(), y: z.number(), zoom: z.number().positive() }).optional(),
});
export type DesignDoc = z.infer<typeof DesignDocSchema>;

export function emptyDesign(name = 'Untitled design'): DesignDoc {
  return { format: DESIGN_FORMAT, version: DESIGN_VERSION, name, preset: null, nodes: [], edges: [] };
}

/** A migration takes a parsed object of version `from` and returns one of version `from + 1`. */
export interface Migration {
  from: number;
  describe: string;
  migrate(doc: Record<string, unknown>): Record<string, unknown>;
}

/** Ordered steps from each older version to the next. Version 1 is the first released format. */
export const MIGRATIONS: Migration[] = [];

export class DesignFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DesignFileError';
  }
}

function describeZodIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 6)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Reads a design file's text or parsed JSON, migrating older versions. Throws DesignFileError with
 * a message a user can act on (not JSON, not a design, from a newer app, or which field is wrong).
 */
export function parseDesign(input: string | unknown, migrations: Migration[] = MIGRATIONS): DesignDoc {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      throw new DesignFileError(`This file is not valid JSON (${(e as Error).message}). A design file is the JSON that "Export" writes.`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DesignFileError('This file is not a Miras Studio design: expected a JSON object with "format" and "version".');
  }
  let obj = raw as Record<string, unknown>;
  if (obj.format !== DESIGN_FORMAT) {
    const hint = 'layers' in obj && 'dModel' in obj ? ' It looks like a ModelSpec; use "Import" on a design file, or load the spec through the CLI.' : '';
    throw new DesignFileError(
      `This file is not a Miras Studio design: "format" is ${JSON.stringify(obj.format) ?? 'missing'}, expected "${DESIGN_FORMAT}".${hint}`,
    );
  }
  const version = obj.version;
  const oldest = Math.min(DESIGN_VERSION, ...migrations.map((m) => m.from));
  if (typeof version !== 'number' || !Number.isInteger(version) || version < oldest) {
    throw new DesignFileError(`This design has an unknown schema version ${JSON.stringify(version) ?? '(missing)'}; this app reads versions ${oldest} to ${DESIGN_VERSION}.`);
  }
  if (version > DESIGN_VERSION) {
    throw new DesignFileError(
      `This design was saved by a newer Miras Studio (schema version ${version}); this app reads versions up to ${DESIGN_VERSION}. Update the app to open it.`,
    );
  }
  for (let v = version; v < DESIGN_VERSION; v++) {
    const step = migrations.find((m) => m.from === v);
    if (!step) throw new DesignFileError(`No migration from design schema version ${v} to ${v + 1}; this file cannot be read.`);
    obj = { ...step.migrate(obj), version: v + 1 };
  }
  const parsed = DesignDocSchema.safeParse(obj);
  if (!parsed.success) throw new DesignFileError(`This design file is malformed: ${describeZodIssues(parsed.error)}.`);
  const ids = new Set<string>();
  for (const n of parsed.data.nodes) {
    if (ids.has(n.id)) throw new DesignFileError(`This design file is malformed: node id "${n.id}" appears twice.`);
    ids.add(n.id);
  }
  for (const e of parsed.data.edges) {
    if (!ids.has(e.source) || !ids.has(e.target)) {
      throw new DesignFileError(`This design file is malformed: edge "${e.id}" refers to a node that does not exist.`);
    }
  }
  return parsed.data;
}

/** Stable JSON for export: what re-imports identically. */
export function serializeDesign(doc: DesignDoc): string {
  return JSON.stringify(DesignDocSchema.parse(doc), null, 2) + '\n';
}
