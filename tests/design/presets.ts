/** Every preset the editor's gallery offers: the engine registry when present, else the Miras presets. */
import type { Preset } from '@/engine/spec';
import { MIRAS_PRESETS } from '@/engine/presets/miras';

export function allPresets(): Preset[] {
  return MIRAS_PRESETS;
}
