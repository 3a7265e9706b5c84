/** `npx tsx engine/miras/cli/main.ts <scan|check> ...` — the Miras subcommands outside scripts/miras.ts. */
import { MIRAS_CLI_COMMANDS, CliError } from './commands';
import { MirasValidationError } from '../validate';

const [name, ...rest] = process.argv.slice(2);
const cmd = MIRAS_CLI_COMMANDS.find((c) => c.name === name);
if (!cmd) {
  console.error(`usage:\n${MIRAS_CLI_COMMANDS.map((c) => `  ${c.usage}\n      ${c.summary}`).join('\n')}`);
  process.exit(2);
}
cmd.run(rest).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof CliError || e instanceof MirasValidationError) console.error(`miras ${name}: ${(e as Error).message}`);
    else console.error(e);
    process.exit(1);
  },
);
