import { existsSync, realpathSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { canonicalJson, sha256Hex } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import { parseInventory, type Credential, type Inventory } from '../../servers/network/inventory';
import { ConsentStore, proposalId, type DeviceGrant, type Proposal } from './store';

/** The user's own inventory in the data directory (headless) or global storage (VS Code): trusted. */
export const TRUSTED_INVENTORY_FILE = 'inventory.yaml';
/** What the network server reads: trusted devices plus the workspace devices a human bound secrets to. */
export const EFFECTIVE_INVENTORY_FILE = 'network-inventory.effective.json';
/** Pseudo-secret naming the SSH agent: using it is a credential too. */
export const SSH_AGENT = 'ssh-agent';

export interface DeviceHost {
  env: NodeJS.ProcessEnv;
  rootPaths: readonly string[];
  stateDir: string;
  /** A trusted inventory the user named (VS Code application-scope setting). */
  trustedInventory?: string | undefined;
}

export interface PreparedInventory {
  /** The file the network server reads (owner-only, in the state folder); undefined without any source. */
  file: string | undefined;
  /** Folder of templates: next to the first source file. */
  templatesDir: string | undefined;
  /** Workspace devices waiting for a human to bind their secrets to their destination. */
  waiting: Proposal[];
  /** Workspace inventory files that could not be read (their devices are left out). */
  problems: string[];
}

/** Trusted inventory files: MCPCP_NETWORK_INVENTORY (the operator's), else the data directory's and the setting's. */
export function trustedInventories(host: DeviceHost): string[] {
  const configured = host.env['MCPCP_NETWORK_INVENTORY'];
  if (configured) return existsSync(configured) ? [configured] : [];
  return [join(host.stateDir, TRUSTED_INVENTORY_FILE), ...(host.trustedInventory ? [host.trustedInventory] : [])].filter((f) => existsSync(f));
}

/** Workspace inventory files (`.mcpcp/inventory.yaml` of each root): proposals. */
export function workspaceInventories(host: DeviceHost): string[] {
  if (host.env['MCPCP_NETWORK_INVENTORY']) return [];
  return host.rootPaths.map((r) => join(r, '.mcpcp', 'inventory.yaml')).filter((f) => existsSync(f));
}

/**
 * Builds the inventory the network server gets: every device of the trusted inventories, and each
 * workspace device whose secrets a human bound to its destination (a device grant for the exact
 * host:port, user, jump-host chain and credential shape, and the host keys known at the time). The
 * rest wait for consent. The file is written owner-only into the state folder, so the workspace
 * cannot change what the server reads afterwards; it references only the secrets of the devices in it.
 */
export async function prepareNetworkInventory(host: DeviceHost, store = new ConsentStore(host.stateDir)): Promise<PreparedInventory> {
  const trusted = trustedInventories(host);
  const workspace = workspaceInventories(host);
  if (trusted.length === 0 && workspace.length === 0) return { file: undefined, templatesDir: undefined, waiting: [], problems: [] };
  const out = { devices: [] as Record<string, unknown>[], credentials: {} as Record<string, Credential>, jumpHosts: {} as Record<string, { host: string; port?: number; credential: string }>, groups: {} as Record<string, object> };
  const names = new Set<string>();
  const problems: string[] = [];
  const waiting: Proposal[] = [];
  const knownHosts = await readKnownHosts(join(host.stateDir, 'known_hosts'));
  const add = (inv: Inventory, deviceName: string, prefix: string): void => {
    const d = inv.devices.find((x) => x.name === deviceName)!;
    const credName = (n: string): string => (prefix && out.credentials[n] !== undefined && out.credentials[n] !== inv.credentials[n] ? `${prefix}${n}` : n);
    const cred = credName(d.credential);
    out.credentials[cred] = inv.credentials[d.credential]!;
    let jump: string | undefined;
    if (d.jumpHost !== undefined) {
      const j = inv.jumpHosts[d.jumpHost]!;
      const jc = credName(j.credential);
      out.credentials[jc] = inv.credentials[j.credential]!;
      jump = prefix && out.jumpHosts[d.jumpHost] !== undefined && out.jumpHosts[d.jumpHost] !== j ? `${prefix}${d.jumpHost}` : d.jumpHost;
      out.jumpHosts[jump] = { ...j, credential: jc };
    }
    for (const g of d.groups) out.groups[g] = {};
    names.add(d.name);
    out.devices.push({
      name: d.name, host: d.host, port: d.port, platform: d.platform, credential: cred,
      ...(jump ? { jumpHost: jump } : {}),
      ...(d.groups.length ? { groups: d.groups } : {}),
      ...(d.tags.length ? { tags: d.tags } : {}),
      legacyAlgorithms: d.legacyAlgorithms, timeoutSeconds: d.timeoutSeconds,
    });
  };
  for (const file of trusted) {
    const inv = parseInventory(await readFile(file, 'utf8'), file);
    for (const d of inv.devices) if (!names.has(d.name)) add(inv, d.name, '');
  }
  const grants = (await store.grants()).filter((g): g is DeviceGrant => g.kind === 'device');
  for (const file of workspace) {
    let inv: Inventory;
    let source: string;
    try {
      source = realpathSync(file);
      inv = parseInventory(await readFile(file, 'utf8'), file);
    } catch (err) {
      problems.push(`${file}: ${errorMessage(err)}`);
      continue;
    }
    for (const d of inv.devices) {
      if (names.has(d.name)) {
        problems.push(`${file}: device "${d.name}" is also in the trusted inventory; the trusted one is used`);
        continue;
      }
      const proposal = deviceProposal(inv, d.name, source, knownHosts);
      const grant = grants.find((g) => g.source === source && g.name === d.name && g.hash === proposal.hash);
      const keyChanged = grant !== undefined && Object.entries(grant.hostKeys).some(([hp, key]) => knownHosts.get(hp) !== undefined && knownHosts.get(hp) !== key);
      if (grant && !keyChanged) add(inv, d.name, 'ws-');
      else waiting.push(keyChanged ? { ...proposal, summary: [...proposal.summary, 'The host key on record changed since consent was given.'] } : proposal);
    }
  }
  const target = join(host.stateDir, EFFECTIVE_INVENTORY_FILE);
  await mkdir(host.stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ version: 1, ...out }, null, 1)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, target);
  const first = trusted[0] ?? workspace[0]!;
  return { file: target, templatesDir: join(dirname(first), 'templates'), waiting, problems };
}

/**
 * A workspace device as a proposal: where its secrets would go (host:port, user, the jump-host
 * chain) and which secrets (the SSH agent counts as one). The hash covers the destination and the
 * credential's shape, so a changed host, port, jump host, user or secret name asks again.
 */
export function deviceProposal(inv: Inventory, deviceName: string, source: string, knownHosts: ReadonlyMap<string, string> = new Map()): Proposal {
  const d = inv.devices.find((x) => x.name === deviceName);
  if (!d) throw new ControlPlaneError('DEVICE_UNKNOWN', `no device "${deviceName}" in ${inv.file}`);
  const cred = inv.credentials[d.credential]!;
  const j = d.jumpHost !== undefined ? inv.jumpHosts[d.jumpHost] : undefined;
  const jc = j ? inv.credentials[j.credential] : undefined;
  const shape = (c: Credential | undefined): object | null =>
    c ? { username: c.username, password: c.password ?? null, enable: c.enable ?? null, privateKey: c.privateKey ?? null, passphrase: c.passphrase ?? null, agent: c.agent === true } : null;
  const hop = j ? { host: j.host, port: j.port ?? 22, credential: shape(jc) } : null;
  const hash = sha256Hex(canonicalJson({ host: d.host, port: d.port, credential: shape(cred), jump: hop, legacyAlgorithms: d.legacyAlgorithms }));
  const refs = (c: Credential | undefined): string[] =>
    c ? [c.username, c.password, c.enable, c.privateKey, c.passphrase].flatMap((v) => (v ? [...v.matchAll(/\$\{secret:([^}]+)\}/g)].map((m) => m[1]!) : [])).concat(c.agent ? [SSH_AGENT] : []) : [];
  const ownSecrets = refs(cred);
  const jumpSecrets = refs(jc);
  const secrets = [...new Set([...ownSecrets, ...jumpSecrets])].sort();
  const destination = `${userOf(cred)}@${d.host}:${d.port}${j ? ` via jump host ${userOf(jc)}@${j.host}:${j.port ?? 22}` : ''}`;
  const hostKeys: Record<string, string> = {};
  for (const hp of [`${d.host}:${d.port}`, ...(j ? [`${j.host}:${j.port ?? 22}`] : [])]) {
    const k = knownHosts.get(hp);
    if (k !== undefined) hostKeys[hp] = k;
  }
  const summary = [
    `Device "${d.name}", proposed by ${source}`,
    `connects to: ${destination}`,
    ...ownSecrets.map((s) => `secret "${s}" → ${d.host}:${d.port}${j ? ` (through ${j.host}:${j.port ?? 22})` : ''}`),
    ...jumpSecrets.map((s) => `secret "${s}" → jump host ${j!.host}:${j!.port ?? 22}`),
    ...Object.entries(hostKeys).map(([hp, k]) => `host key of ${hp} on record: ${k.split(' ')[0]}`),
  ];
  return { kind: 'device', id: proposalId('device', source, d.name, hash), source, name: d.name, hash, secrets, argSecrets: [], destination, hostKeys, summary };
}

function userOf(c: Credential | undefined): string {
  if (!c) return '?';
  return c.username.startsWith('${secret:') ? '(secret user)' : c.username;
}

/** known_hosts entries by `host:port` (`type key`). */
async function readKnownHosts(file: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return map;
  }
  for (const line of text.split('\n')) {
    const [hosts = '', type = '', key = ''] = line.trim().split(/\s+/);
    if (!hosts || hosts.startsWith('#')) continue;
    for (const h of hosts.split(',')) {
      const m = /^\[(.+)\]:(\d+)$/.exec(h);
      map.set(m ? `${m[1]}:${m[2]}` : `${h}:22`, `${type} ${key}`);
    }
  }
  return map;
}
