import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { findBuiltin } from '../builtin-servers';
import { ControlPlaneError } from '../errors';
import { parseYamlWithSchema } from './load';
import { configSchema, type Config } from './schema';

/** What a workspace file may say: tighten policy, propose servers (and, in inventory.yaml, devices). */
const ALLOWED_TOP = new Set(['policy', 'servers', 'roots']);
const ALLOWED_POLICY = new Set(['rules', 'readOnlyMode']);
/** A workspace may switch a built-in server off or narrow its tools; nothing that runs code. */
const ALLOWED_BUILTIN = new Set(['enabled', 'tools']);
/**
 * Proposed servers: what runs and what it gets, its own call timeout and restart count (part of what
 * the human consents to), and the adoption bookkeeping `mcpcp adopt` writes here.
 */
const ALLOWED_PROPOSED = new Set(['enabled', 'type', 'command', 'args', 'cwd', 'env', 'envFile', 'passEnv', 'url', 'headers', 'tools', 'timeoutMs', 'retries', 'adoptedFrom']);
// `allowSecretInArgs` is not among them: for a proposal the opt-in is the human's, at consent.

const WHY = 'a workspace configuration (found in the current directory, not named with --config) may only tighten policy and propose servers; put it in a configuration you name with --config';

/**
 * Checks a configuration that came with the workspace against the allowlist: top-level `policy`
 * (rules and readOnlyMode, which only tighten), `servers` (proposals) and `roots` inside the
 * project folder. Any other key (dataDir, gateway, supervisor limits, approvals expiry…) is an error
 * naming it. Throws `ControlPlaneError` `CONFIG_NOT_ALLOWED`.
 */
export function checkWorkspaceConfig(raw: unknown, file: string, projectDir: string): void {
  if (raw === null || raw === undefined) return;
  if (typeof raw !== 'object' || Array.isArray(raw)) return;
  const fail = (key: string, why = WHY): never => {
    throw new ControlPlaneError('CONFIG_NOT_ALLOWED', `${file}: "${key}" is not allowed here: ${why}`, { details: { file, field: key } });
  };
  for (const [key, value] of Object.entries(raw)) {
    if (!ALLOWED_TOP.has(key)) fail(key);
    if (key === 'policy' && value && typeof value === 'object') {
      for (const k of Object.keys(value)) if (!ALLOWED_POLICY.has(k)) fail(`policy.${k}`);
    }
    if (key === 'servers' && value && typeof value === 'object') {
      for (const [name, entry] of Object.entries(value as Record<string, unknown>)) {
        if (!entry || typeof entry !== 'object') continue;
        const allowed = findBuiltin(name) ? ALLOWED_BUILTIN : ALLOWED_PROPOSED;
        for (const k of Object.keys(entry)) {
          if (!allowed.has(k)) fail(`servers.${name}.${k}`, findBuiltin(name) ? `a workspace may only switch the built-in server "${name}" off or narrow its tools (enabled, tools)` : WHY);
        }
      }
    }
    if (key === 'roots' && Array.isArray(value)) {
      const project = realpathSync(projectDir);
      for (const [i, r] of value.entries()) {
        if (typeof r !== 'string') continue;
        const abs = resolve(projectDir, r);
        const real = existsSync(abs) ? realpathSync(abs) : abs;
        if (real !== project && !real.startsWith(project.endsWith(sep) ? project : `${project}${sep}`)) {
          fail(`roots[${i}]`, `"${r}" is outside the project folder ${project}; a workspace configuration may only name folders inside it`);
        }
      }
    }
  }
}

/** Reads a configuration found in the working directory: allowlist first, then the schema. */
export async function loadWorkspaceConfigFile(file: string, projectDir: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ControlPlaneError('CONFIG_UNREADABLE', `cannot read configuration ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err, details: { file } });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    raw = undefined; // The schema parse below reports the syntax error with its position.
  }
  checkWorkspaceConfig(raw, file, projectDir);
  return parseYamlWithSchema(text, file, configSchema);
}
