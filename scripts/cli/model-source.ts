/** --preset NAME | --design FILE → ModelSpec. A design file is a ModelSpec JSON or the editor's design document. */
import { readFileSync } from 'node:fs';
import { ModelSpecSchema, type ModelSpec } from '../../engine/spec';
import { getPreset } from '../../engine/presets';
import { designToSpec } from '../../engine/design/lower';
import { parseDesign } from '../../engine/design/document';
import { CliError, type Flags } from './args';

export const MODEL_FLAGS = {
  preset: { type: 'string', help: 'preset name (see `presets`)' },
  design: { type: 'string', help: 'ModelSpec JSON or editor design document' },
  'd-model': { type: 'int', help: 'width for presets' },
  layers: { type: 'int', help: 'layer count for presets' },
} as const;

export function modelFrom(f: Flags, vocabSize: number, defaults: { dModel: number; layers: number }): { spec: ModelSpec; source: string } {
  if (f.preset && f.design) throw new CliError('give either --preset or --design, not both');
  if (f.preset) {
    let p;
    try {
      p = getPreset(String(f.preset));
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const dModel = (f['d-model'] as number | undefined) ?? defaults.dModel;
    const nLayers = (f.layers as number | undefined) ?? defaults.layers;
    return { spec: p.build({ vocabSize, dModel, nLayers }), source: `preset ${p.name} (d=${dModel}, ${nLayers} layers)` };
  }
  if (f.design) {
    const file = String(f.design);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CliError(`cannot read design ${file}: ${(e as Error).message}`);
    }
    const asSpec = ModelSpecSchema.safeParse(json);
    if (asSpec.success) return { spec: asSpec.data, source: `spec ${file}` };
    try {
      return { spec: designToSpec(parseDesign(json)), source: `design ${file}` };
    } catch (e) {
      const specIssues = asSpec.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new CliError(`${file} is neither a ModelSpec (${specIssues}) nor a valid design document (${(e as Error).message})`);
    }
  }
  throw new CliError('give --preset NAME or --design FILE');
}
