'use client';
/** The engine's preset registry as the gallery shows it. */
import { PRESETS } from '@/engine/presets';
import type { Preset } from '@/engine/spec';
import { specToDesign } from '@/engine/design/raise';
import type { DesignDoc } from '@/engine/design/document';
import { AXES, type ModelSpec } from '@/engine/spec';
import { axisEntry } from '@/engine/design/catalog';

/** Every preset the gallery offers, in the registry's order. */
export const GALLERY_PRESETS: readonly Preset[] = PRESETS;

/** The size presets load at: small enough to train in a browser tab. */
export const PRESET_SIZE = { vocabSize: 256, dModel: 128, nLayers: 2 };

export function presetDesign(p: Preset): DesignDoc {
  return specToDesign(p.build(PRESET_SIZE), { name: p.title, preset: p.name });
}

export function galleryPresets(): { preset: Preset; axes: string[]; error: string | null }[] {
  return GALLERY_PRESETS.map((preset) => {
    try {
      return { preset, axes: presetChoices(preset.build(PRESET_SIZE)), error: null };
    } catch (e) {
      return { preset, axes: [], error: (e as Error).message };
    }
  });
}

/** One line per distinct mixer: its four Miras choices by catalog label. */
export function presetChoices(spec: ModelSpec): string[] {
  const kinds = new Set<string>();
  for (const l of spec.layers) {
    if (l.mixer.type === 'attention') kinds.add(l.mixer.window ? `sliding-window attention (${l.mixer.window})` : 'softmax attention');
    else {
      const m = l.mixer;
      kinds.add(AXES.map((a) => axisEntry(a, m[a].kind)?.label ?? m[a].kind).join(' · '));
    }
  }
  return [...kinds];
}

