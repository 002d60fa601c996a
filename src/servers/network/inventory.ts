/**
 * The device inventory (`.mcpcp/inventory.yaml`): devices, group defaults, named credentials and
 * jump hosts, validated with zod. A bad file is one error naming the file, line, column and field.
 * Credentials hold only `${secret:name}` references; the control plane passes each referenced
 * secret in the environment as `MCPCP_SECRET_<NAME>` (upper case, other characters as `_`), and a
 * value is read only when a connection needs it. The schema depends on nothing but zod, so the
 * control plane can read the same file with it (to know which secrets to pass).
 */
import { readFile, stat } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ControlPlaneError } from '../../core/errors';
import { NetworkErrorCode } from './client';
import { PLATFORM_IDS, type PlatformId } from './platforms';
import { secretEnvName } from '../../core/secrets/secret-store';

const SECRET_REF = /^\$\{secret:([A-Za-z0-9][A-Za-z0-9._-]{0,99})\}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const secretRef = z
  .string()
  .regex(SECRET_REF, 'must be a secret reference like "${secret:core-pass}" (never the value itself)')
  .describe('A reference to the secret store: "${secret:name}".');

const name = z.string().regex(NAME, 'letters, digits, ".", "_" and "-" (at most 63, starting with a letter or digit)');

export const credentialSchema = z
  .object({
    username: z.string().min(1).describe('Login name, plain or "${secret:name}".'),
    password: secretRef.optional(),
    enable: secretRef.optional().describe('Enable secret for platforms with a user level (IOS).'),
    privateKey: secretRef.optional().describe('OpenSSH private key, by reference.'),
    passphrase: secretRef.optional(),
    agent: z.boolean().optional().describe('Also try the SSH agent (SSH_AUTH_SOCK).'),
  })
  .strict()
  .refine((c) => c.password !== undefined || c.privateKey !== undefined || c.agent === true, {
    message: 'needs password, privateKey or agent: true',
  });

const shared = {
  platform: z.enum(PLATFORM_IDS).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  credential: name.optional(),
  jumpHost: name.optional(),
  tags: z.array(name).optional(),
  legacyAlgorithms: z.boolean().optional().describe('Offer old SSH algorithms (diffie-hellman-group1/14-sha1, CBC ciphers, ssh-dss).'),
  timeoutSeconds: z.number().int().min(1).max(3600).optional(),
};

export const groupSchema = z.object(shared).strict();

export const deviceSchema = z
  .object({
    name,
    host: z.string().min(1).max(253),
    groups: z.array(name).optional(),
    ...shared,
  })
  .strict();

export const jumpHostSchema = z
  .object({ host: z.string().min(1).max(253), port: z.number().int().min(1).max(65535).optional(), credential: name })
  .strict();

export const inventorySchema = z
  .object({
    version: z.literal(1).optional(),
    defaults: groupSchema.optional(),
    credentials: z.record(name, credentialSchema).optional(),
    jumpHosts: z.record(name, jumpHostSchema).optional(),
    groups: z.record(name, groupSchema).optional(),
    devices: z.array(deviceSchema),
  })
  .strict();

export type InventoryFile = z.infer<typeof inventorySchema>;
export type Credential = z.infer<typeof credentialSchema>;

/** A device with group and global defaults applied. */
export interface Device {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly platform: PlatformId;
  readonly groups: readonly string[];
  readonly tags: readonly string[];
  readonly credential: string;
  readonly jumpHost: string | undefined;
  readonly legacyAlgorithms: boolean;
  readonly timeoutSeconds: number;
}

export interface Inventory {
  readonly file: string;
  readonly devices: readonly Device[];
  readonly credentials: Readonly<Record<string, Credential>>;
  readonly jumpHosts: Readonly<Record<string, z.infer<typeof jumpHostSchema>>>;
  readonly groups: readonly string[];
}

// The control plane passes `${secret:core-pass}` as MCPCP_SECRET_CORE_PASS: one naming, its own.
export { secretEnvName };

/** Secret names referenced anywhere in the inventory (what the control plane must pass). */
export function secretReferences(inv: Pick<Inventory, 'credentials'>): string[] {
  const names = new Set<string>();
  for (const c of Object.values(inv.credentials)) {
    for (const v of [c.username, c.password, c.enable, c.privateKey, c.passphrase]) {
      const m = v === undefined ? null : SECRET_REF.exec(v);
      if (m?.[1] !== undefined) names.add(m[1]);
    }
  }
  return [...names].sort();
}

/** The value of a plain string or `${secret:name}` reference; throws SECRET_MISSING naming the secret, never a value. */
export function resolveSecret(value: string, env: Readonly<Record<string, string | undefined>>, device: string, field: string): string {
  const m = SECRET_REF.exec(value);
  if (m?.[1] === undefined) return value;
  const v = env[secretEnvName(m[1])];
  if (v === undefined || v === '') {
    throw new ControlPlaneError(NetworkErrorCode.secretMissing, `${device}: the secret "${m[1]}" (${field}) is not available to the server`, {
      details: {
        device,
        secret: m[1],
        hint: `Set the secret "${m[1]}" ("MCP Control Plane: Set Secret" in VS Code; headless \`mcpcp secrets set ${m[1]}\` or ${secretEnvName(m[1])}), then restart the network server: it receives secrets when it starts.`,
      },
    });
  }
  return v;
}

function invalid(file: string, line: number, column: number, field: string, message: string): ControlPlaneError {
  return new ControlPlaneError(NetworkErrorCode.inventory, `${file}:${line}:${column}: ${field === '' ? '' : `${field}: `}${message}`, {
    details: { file, line, column, field, hint: 'Fix the inventory file; the server reads it again on the next call.' },
  });
}

function positionOf(doc: Document, counter: LineCounter, path: readonly (string | number)[]): { line: number; col: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const sub = path.slice(0, depth);
    if (depth > 0) {
      const parent = doc.getIn(sub.slice(0, -1), true);
      const last = sub[sub.length - 1];
      if (isMap(parent)) {
        const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === last);
        const range = (pair?.key as { range?: [number, number, number] } | null)?.range;
        if (range !== undefined) return counter.linePos(range[0]);
      }
      if (isSeq(parent) && typeof last === 'number') {
        const range = (parent.items[last] as { range?: [number, number, number] } | undefined)?.range;
        if (range !== undefined) return counter.linePos(range[0]);
      }
    }
    const node = depth === 0 ? doc.contents : doc.getIn(sub, true);
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (range !== undefined) return counter.linePos(range[0]);
  }
  return { line: 1, col: 1 };
}

function fieldName(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Parses and validates inventory text; applies defaults and checks every reference. */
export function parseInventory(text: string, file: string): Inventory {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const pos = counter.linePos(yamlError.pos[0]);
    throw invalid(file, pos.line, pos.col, '', yamlError.message.split('\n')[0] ?? 'invalid YAML');
  }
  const result = inventorySchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = (issue?.path ?? []).map((p) => (typeof p === 'symbol' ? String(p) : p));
    let message = issue?.message ?? 'invalid';
    let at = path;
    if (issue?.code === 'unrecognized_keys') {
      message = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      at = [...path, issue.keys[0] ?? ''];
    }
    const pos = positionOf(doc, counter, at);
    if (issue?.code === 'invalid_value' && path[path.length - 1] === 'platform') message = `must be one of ${PLATFORM_IDS.join(', ')}`;
    throw invalid(file, pos.line, pos.col, fieldName(path), message);
  }
  const data = result.data;
  const at = (path: (string | number)[], message: string): never => {
    const pos = positionOf(doc, counter, path);
    throw invalid(file, pos.line, pos.col, fieldName(path), message);
  };
  const credentials = data.credentials ?? {};
  const jumpHosts = data.jumpHosts ?? {};
  const groups = data.groups ?? {};
  const defaults = data.defaults ?? {};
  for (const [jname, j] of Object.entries(jumpHosts)) {
    if (credentials[j.credential] === undefined) at(['jumpHosts', jname, 'credential'], `unknown credential "${j.credential}"`);
  }
  const seen = new Set<string>();
  const devices = data.devices.map((d, i): Device => {
    if (seen.has(d.name)) at(['devices', i, 'name'], `duplicate device name "${d.name}"`);
    seen.add(d.name);
    const memberOf = d.groups ?? [];
    memberOf.forEach((g, k) => {
      if (groups[g] === undefined) at(['devices', i, 'groups', k], `unknown group "${g}"`);
    });
    const layers = [d, ...memberOf.map((g) => groups[g] ?? {}), defaults];
    const pick = <K extends keyof typeof shared>(key: K): z.infer<(typeof shared)[K]> | undefined => {
      for (const layer of layers) {
        const v = (layer as Record<string, unknown>)[key];
        if (v !== undefined) return v as z.infer<(typeof shared)[K]>;
      }
      return undefined;
    };
    const platform = pick('platform') ?? at(['devices', i], `device "${d.name}" has no platform (set it on the device, a group or defaults)`);
    const credential = pick('credential') ?? at(['devices', i], `device "${d.name}" has no credential (set it on the device, a group or defaults)`);
    if (credentials[credential] === undefined) at(['devices', i, ...(d.credential === undefined ? [] : ['credential'])], `unknown credential "${credential}"`);
    const jump = pick('jumpHost');
    if (jump !== undefined && jumpHosts[jump] === undefined) at(['devices', i, ...(d.jumpHost === undefined ? [] : ['jumpHost'])], `unknown jump host "${jump}"`);
    const tags = [...new Set([...(defaults.tags ?? []), ...memberOf.flatMap((g) => groups[g]?.tags ?? []), ...(d.tags ?? [])])];
    return {
      name: d.name,
      host: d.host,
      port: pick('port') ?? 22,
      platform,
      groups: memberOf,
      tags,
      credential,
      jumpHost: jump,
      legacyAlgorithms: pick('legacyAlgorithms') ?? false,
      timeoutSeconds: pick('timeoutSeconds') ?? 30,
    };
  });
  return { file, devices, credentials, jumpHosts, groups: Object.keys(groups) };
}

/** Reads the inventory again whenever the file changes; undefined when there is none. */
export class InventoryFileWatcher {
  private cached: { mtimeMs: number; size: number; inventory: Inventory } | undefined;

  constructor(readonly file: string) {}

  async current(): Promise<Inventory> {
    let info;
    try {
      info = await stat(this.file);
    } catch {
      throw new ControlPlaneError(NetworkErrorCode.noInventory, `No device inventory at ${this.file}`, {
        details: { file: this.file, hint: 'Create the inventory file (devices, credentials by ${secret:...} reference) or set its path in the settings.' },
      });
    }
    if (this.cached !== undefined && this.cached.mtimeMs === info.mtimeMs && this.cached.size === info.size) return this.cached.inventory;
    const inventory = parseInventory(await readFile(this.file, 'utf8'), this.file);
    this.cached = { mtimeMs: info.mtimeMs, size: info.size, inventory };
    return inventory;
  }
}
