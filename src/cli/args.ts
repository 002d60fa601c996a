/** A parsed command line: positionals and `--flag[=value]` / `--flag value` options. */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

/**
 * Parses argv against the known flags of a command. `valued` flags take a value; others are
 * booleans. An unknown flag is an error naming the known ones.
 */
export function parseArgs(argv: string[], valued: readonly string[], booleans: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (valued.includes(name)) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else if (booleans.includes(name) && eq === -1) {
      flags.set(name, true);
    } else {
      const known = [...valued.map((v) => `--${v} <value>`), ...booleans.map((b) => `--${b}`)];
      throw new UsageError(`unknown option --${name}${known.length ? `; known: ${known.join(', ')}` : ''}`);
    }
  }
  return { positionals, flags };
}

export class UsageError extends Error {}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}
