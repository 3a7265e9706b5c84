/**
 * The `miras` command table. A command is a file in scripts/cli/ exporting a Command; add it here.
 * Helper B's Miras subcommands (scan) join through MIRAS_CLI_COMMANDS.
 */
import { MIRAS_CLI_COMMANDS } from '../../engine/miras/cli/commands';
import type { Command } from './args';
import { checkCommand } from './check';
import { presetsCommand } from './presets';
import { trainCommand } from './train';

const mirasExtra: Command[] = MIRAS_CLI_COMMANDS.filter((c) => c.name !== 'check').map((c) => ({
  name: c.name,
  summary: c.summary,
  usage: c.usage,
  flags: {},
  run: (argv: string[]) => c.run(argv),
}));

export const COMMANDS: Command[] = [presetsCommand, trainCommand, checkCommand, ...mirasExtra];
