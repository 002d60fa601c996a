import type { ServerConfig } from '../config/schema';
import { packageArgument } from './assess';

const SECRET_REF = /\$\{secret:([^}]+)\}/;

/**
 * Servers known to read a secret from the environment instead of an argument: the flag (with its
 * value next or after `=`) and the variable. `mcp-remote` expands `${VAR}` in its own arguments.
 */
const ENV_FOR_FLAG: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  '@upstash/context7-mcp': { 'api-key': 'CONTEXT7_API_KEY' },
  '@sentry/mcp-server': { 'access-token': 'SENTRY_ACCESS_TOKEN' },
  '@supabase/mcp-server-supabase': { 'access-token': 'SUPABASE_ACCESS_TOKEN' },
};
const EXPANDS_ENV_IN_ARGS = new Set(['mcp-remote']);

/** Indexes of arguments that reference a secret (`${secret:…}`): visible to every local user in the process list. */
export function argSecretIndexes(args: readonly string[]): number[] {
  return args.flatMap((a, i) => (SECRET_REF.test(a) ? [i] : []));
}

/**
 * Moves `${secret:}` out of a server's arguments into its environment where the server reads it
 * there: a known flag becomes the server's own variable; `mcp-remote` gets `${MCPCP_ARG_SECRET_n}`
 * in the argument (it expands variables itself) and the secret in that variable. Returns the new
 * config and the indexes left in the arguments (those need `allowSecretInArgs`, a human's opt-in).
 */
export function moveArgSecretsToEnv(config: ServerConfig): { config: ServerConfig; moved: string[]; left: number[] } {
  const args = [...(config.args ?? [])];
  const env = { ...(config.env ?? {}) };
  const moved: string[] = [];
  const pkg = config.command !== undefined ? packageArgument({ command: config.command, args }) : undefined;
  const known = pkg ? ENV_FOR_FLAG[pkg.name] : undefined;
  const drop = new Set<number>();
  args.forEach((a, i) => {
    if (!SECRET_REF.test(a)) return;
    const eq = /^--([A-Za-z][\w.-]*)=(.*)$/.exec(a);
    const flag = eq?.[1] ?? /^--([A-Za-z][\w.-]*)$/.exec(args[i - 1] ?? '')?.[1];
    const variable = flag !== undefined ? known?.[flag] : undefined;
    if (variable !== undefined && env[variable] === undefined) {
      env[variable] = eq ? eq[2]! : a;
      if (eq) drop.add(i);
      else (drop.add(i), drop.add(i - 1));
      moved.push(`args[${i}] → env.${variable}`);
      return;
    }
    if (pkg && EXPANDS_ENV_IN_ARGS.has(pkg.name)) {
      let n = 1;
      while (env[`MCPCP_ARG_SECRET_${n}`] !== undefined) n++;
      const name = `MCPCP_ARG_SECRET_${n}`;
      const ref = SECRET_REF.exec(a)![0];
      env[name] = ref;
      args[i] = a.replace(ref, `\${${name}}`);
      moved.push(`args[${i}] → env.${name} (mcp-remote expands it)`);
    }
  });
  const newArgs = args.filter((_, i) => !drop.has(i));
  const out: ServerConfig = { ...config, args: newArgs, ...(Object.keys(env).length ? { env } : {}) };
  if (newArgs.length === 0) delete out.args;
  return { config: out, moved, left: argSecretIndexes(newArgs) };
}
