import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ControlPlaneError } from '../errors';
import { Emitter, type Event } from '../events';

/** Secret names: letters, digits, dot, dash, underscore. */
export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Where credentials live: VS Code SecretStorage in the extension; environment variables and an
 * owner-only file headless. Values never go into settings, tool arguments, logs or audit records;
 * `list` gives names only.
 */
export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
  /** Names only, sorted. */
  list(): Promise<string[]>;
  readonly onDidChange: Event<string>;
}

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new ControlPlaneError('SECRET_NAME_INVALID', `secret name "${name}" is invalid: use letters, digits, ".", "-" and "_" (at most 128)`);
  }
}

/** The environment variable that overrides a secret headless: MCPCP_SECRET_<NAME, upper-cased, non-alphanumerics as _>. */
export function secretEnvName(name: string): string {
  return `MCPCP_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Headless store: `secrets.json` in the data directory (mode 0600, written atomically), with
 * `MCPCP_SECRET_<NAME>` environment variables taking precedence and never written to the file.
 */
export class FileSecretStore implements SecretStore {
  private readonly changed = new Emitter<string>();
  readonly onDidChange: Event<string> = this.changed.event;
  private readonly file: string;

  constructor(private readonly dataDir: string, private readonly env: NodeJS.ProcessEnv = process.env) {
    this.file = join(dataDir, 'secrets.json');
  }

  async get(name: string): Promise<string | undefined> {
    assertSecretName(name);
    const fromEnv = this.env[secretEnvName(name)];
    if (fromEnv !== undefined) return fromEnv;
    return (await this.read())[name];
  }

  async set(name: string, value: string): Promise<void> {
    assertSecretName(name);
    const all = await this.read();
    all[name] = value;
    await this.write(all);
    this.changed.fire(name);
  }

  async delete(name: string): Promise<void> {
    assertSecretName(name);
    const all = await this.read();
    if (!(name in all)) return;
    delete all[name];
    await this.write(all);
    this.changed.fire(name);
  }

  async list(): Promise<string[]> {
    const names = new Set(Object.keys(await this.read()));
    return [...names].sort();
  }

  private async read(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new ControlPlaneError('SECRETS_UNREADABLE', `cannot read ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
    } catch (err) {
      throw new ControlPlaneError('SECRETS_UNREADABLE', `${this.file} is not a JSON object of strings: ${(err as Error).message}`, { cause: err });
    }
  }

  private async write(all: Record<string, string>): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
  }
}

const REFERENCE = /\$\{(secret|env):([^}]+)\}/g;

/**
 * Expands `${secret:name}` and `${env:NAME}` in a configuration value. A missing secret is an error
 * naming it and how to set it; a missing environment variable expands to an empty string.
 * `onSecret` sees each secret value used (so the redactor can learn it).
 */
export async function expandReferences(
  value: string,
  sources: { secrets: SecretStore; env: NodeJS.ProcessEnv; onSecret?: (value: string) => void },
): Promise<string> {
  const parts: string[] = [];
  let last = 0;
  for (const match of value.matchAll(REFERENCE)) {
    parts.push(value.slice(last, match.index));
    const kind = match[1];
    const name = match[2] ?? '';
    if (kind === 'secret') {
      const secret = await sources.secrets.get(name);
      if (secret === undefined) {
        throw new ControlPlaneError('SECRET_MISSING', `secret "${name}" is not set; set it with "MCP Control Plane: Set Secret" or \`mcpcp secrets set ${name}\``, { details: { secret: name } });
      }
      sources.onSecret?.(secret);
      parts.push(secret);
    } else {
      parts.push(sources.env[name] ?? '');
    }
    last = match.index + match[0].length;
  }
  parts.push(value.slice(last));
  return parts.join('');
}
