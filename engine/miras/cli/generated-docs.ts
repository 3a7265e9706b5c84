/** The generated documentation files, by repository path → content (shared by the writer and the test). */
import { renderCatalogDoc, renderPresetDoc } from '../docs';
import { MIRAS_PRESETS, MIRAS_PRESET_NOTES } from '../../presets/miras';

export function generatedDocs(): Record<string, string> {
  const files: Record<string, string> = { 'docs/miras.md': renderCatalogDoc() };
  for (const p of MIRAS_PRESETS) {
    const notes = MIRAS_PRESET_NOTES[p.name];
    if (!notes) throw new Error(`preset ${p.name} has no MIRAS_PRESET_NOTES entry`);
    files[`docs/presets/${p.name}.md`] = renderPresetDoc(p, notes);
  }
  return files;
}
