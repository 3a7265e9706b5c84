/**
 * `npm run miras -- <command> [flags]`: presets, train, check (and the Miras scan tools).
 * Each command lives in scripts/cli/<command>.ts; `npm run miras -- <command> --help` lists its flags.
 */
import { COMMANDS } from './cli/index';
import { CliError, usage } from './cli/args';

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd || name === 'help' || name === '--help') {
    console.log('usage: npm run miras -- <command> [flags]\n\ncommands:');
    for (const c of COMMANDS) console.log(`  ${c.name.padEnd(10)} ${c.summary}`);
    console.log('\n`npm run miras -- <command> --help` lists a command\'s flags.');
    return name && name !== 'help' && name !== '--help' ? 2 : 0;
  }
  if (rest.includes('--help')) {
    console.log(`npm run miras -- ${cmd.usage ?? `${cmd.name} [flags]`}\n  ${cmd.summary}\n\n${usage(cmd.flags)}`);
    return 0;
  }
  return cmd.run(rest);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    // Usage errors (ours, and the Miras subcommands' own CliError / MirasValidationError) print as one line.
    if (e instanceof CliError || (e instanceof Error && /^(CliError|MirasValidationError)$/.test(e.constructor.name))) console.error(`miras: ${e.message}`);
    // Other errors carry their own sentence (which kernel, which step, which tensor); MIRAS_DEBUG=1 adds the stack.
    else console.error(`miras: ${e instanceof Error ? (process.env.MIRAS_DEBUG ? (e.stack ?? e.message) : e.message) : String(e)}`);
    process.exit(1);
  },
);
