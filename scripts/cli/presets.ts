import { PRESETS } from '../../engine/presets';
import type { Command } from './args';
import { parseArgs } from './args';

export const presetsCommand: Command = {
  name: 'presets',
  summary: 'list the model presets',
  flags: { json: { type: 'boolean', help: 'print JSON' } },
  async run(argv) {
    const f = parseArgs(argv, this.flags, 'presets');
    if (f.json) {
      console.log(JSON.stringify(PRESETS.map((p) => ({ name: p.name, title: p.title, description: p.description, citation: p.citation })), null, 2));
      return 0;
    }
    const w = Math.max(...PRESETS.map((p) => p.name.length));
    for (const p of PRESETS) console.log(`${p.name.padEnd(w)}  ${p.title} — ${p.citation}`);
    return 0;
  },
};
