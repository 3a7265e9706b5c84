/** Every preset the editor's gallery offers: the engine's registry. */
import type { Preset } from '@/engine/spec';
import { PRESETS } from '@/engine/presets';

export function allPresets(): readonly Preset[] {
  return PRESETS;
}
