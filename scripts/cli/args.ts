/** Flag parsing for the `miras` CLI: --name value, --name=value, and boolean --flag. Unknown flags are errors. */
export class CliError extends Error {}

export type FlagSpec = Record<string, { type: 'string' | 'number' | 'int' | 'boolean'; help: string; default?: string | number | boolean }>;
export type Flags = Record<string, string | number | boolean | undefined>;

export function parseArgs(argv: string[], spec: FlagSpec, command: string): Flags {
  const out: Flags = {};
  for (const [k, v] of Object.entries(spec)) if (v.default !== undefined) out[k] = v.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new CliError(`${command}: unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (!s) throw new CliError(`${command}: unknown option --${name} (options: ${Object.keys(spec).map((k) => `--${k}`).join(', ')})`);
    if (s.type === 'boolean') {
      out[name] = eq < 0 ? true : a.slice(eq + 1) !== 'false';
      continue;
    }
    const raw = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--'))) throw new CliError(`${command}: --${name} needs a value`);
    if (s.type === 'string') out[name] = raw;
    else {
      const n = Number(raw);
      if (!Number.isFinite(n) || (s.type === 'int' && !Number.isInteger(n))) throw new CliError(`${command}: --${name} must be ${s.type === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
      out[name] = n;
    }
  }
  return out;
}

export function usage(spec: FlagSpec): string {
  return Object.entries(spec)
    .map(([k, v]) => `    --${k}${v.type === 'boolean' ? '' : ` <${v.type}>`}`.padEnd(28) + v.help + (v.default !== undefined ? ` (default ${v.default})` : ''))
    .join('\n');
}

export interface Command {
  name: string;
  summary: string;
  flags: FlagSpec;
  /** Free-form usage line for commands that parse their own flags. */
  usage?: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}
