import { watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { sha256Hex } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import { Emitter, type Event } from '../events';

/** File of the human's grants, in the data directory (headless) or global storage (VS Code). */
export const CONSENT_FILE = 'consent.json';
/** File where running instances list what waits for consent (shown by `mcpcp consent list`). */
export const PENDING_FILE = 'consent-pending.json';
/** Written by a human's `mcpcp policy reload`: running instances drop kept workspace rules. */
export const POLICY_RELOAD_FILE = 'policy-reload.json';

const serverGrantSchema = z.object({
  kind: z.literal('server'),
  id: z.string(),
  /** Real path of the proposing file, or `vscode-settings:<folder>`. */
  source: z.string(),
  name: z.string(),
  /** SHA-256 of the whole resolved spec (see `serverProposal`). */
  hash: z.string(),
  /** Secrets bound to this exact spec. */
  secrets: z.array(z.string()),
  /** The human opted in to `${secret:}` in arguments (visible in the process list). */
  argSecrets: z.boolean(),
  summary: z.array(z.string()),
  grantedAt: z.string(),
});

const deviceGrantSchema = z.object({
  kind: z.literal('device'),
  id: z.string(),
  source: z.string(),
  name: z.string(),
  /** SHA-256 of the destination (host:port, jump chain, user, credential shape). */
  hash: z.string(),
  /** Where the secrets go, in words: `admin@10.0.0.1:22 via bastion 10.0.0.9:22`. */
  destination: z.string(),
  secrets: z.array(z.string()),
  /** Host keys known when granted, by `host:port` (a different key later asks again). */
  hostKeys: z.record(z.string(), z.string()),
  summary: z.array(z.string()),
  grantedAt: z.string(),
});

const gitHooksGrantSchema = z.object({
  kind: z.literal('git-hooks'),
  id: z.string(),
  /** Real path of the repository's work tree. */
  repo: z.string(),
  hooks: z.array(z.string()),
  grantedAt: z.string(),
});

export const grantSchema = z.discriminatedUnion('kind', [serverGrantSchema, deviceGrantSchema, gitHooksGrantSchema]);
export type ConsentGrant = z.infer<typeof grantSchema>;
export type ServerGrant = z.infer<typeof serverGrantSchema>;
export type DeviceGrant = z.infer<typeof deviceGrantSchema>;
export type GitHooksGrant = z.infer<typeof gitHooksGrantSchema>;

/** Something proposed by a workspace file that waits for a human. */
export const proposalSchema = z.object({
  kind: z.enum(['server', 'device']),
  id: z.string(),
  source: z.string(),
  name: z.string(),
  hash: z.string(),
  secrets: z.array(z.string()),
  /** Secrets referenced in a server's arguments (granting them is an explicit opt-in). */
  argSecrets: z.array(z.string()),
  /** Set when the command runs code that came with the workspace, in words. */
  workspaceCode: z.string().optional(),
  destination: z.string().optional(),
  hostKeys: z.record(z.string(), z.string()).optional(),
  /** What the dialog shows, line by line. */
  summary: z.array(z.string()),
});
export type Proposal = z.infer<typeof proposalSchema>;

const consentFileSchema = z.object({ version: z.literal(1), grants: z.array(grantSchema) });
const pendingFileSchema = z.object({ version: z.literal(1), instances: z.record(z.string(), z.array(proposalSchema)) });

/** The id a proposal and its grant share: it changes whenever the proposal's hash changes. */
export function proposalId(kind: string, source: string, name: string, hash: string): string {
  return sha256Hex(`${kind}\0${source}\0${name}\0${hash}`).slice(0, 12);
}

/**
 * The one consent store: what a human allowed to run or to receive a secret. Grants are written
 * only by a human gesture (the `mcpcp consent` command after the approver credential and a typed
 * confirmation on a terminal; a modal dialog in VS Code), never through the gateway. The file is
 * owner-only in an owner-only folder. A grant matches only the exact proposal it was given for
 * (same source, name and hash), so any change to what runs or where a secret goes asks again.
 */
export class ConsentStore {
  private readonly changed = new Emitter<void>();
  private watcher: FSWatcher | undefined;
  /** Fires when the grants file changes (another process granted or revoked). */
  readonly onDidChange: Event<void> = this.changed.event;
  private readonly reloadRequested = new Emitter<string>();
  /** Fires with the request's time when a human asked (approver credential) to reload the workspace policy. */
  readonly onPolicyReload: Event<string> = this.reloadRequested.event;

  constructor(readonly dir: string) {}

  get file(): string {
    return join(this.dir, CONSENT_FILE);
  }

  async grants(): Promise<ConsentGrant[]> {
    const text = await readOptional(this.file);
    if (text === undefined) return [];
    try {
      return consentFileSchema.parse(JSON.parse(text)).grants;
    } catch (err) {
      throw new ControlPlaneError('CONSENT_STORE_INVALID', `${this.file} is damaged: ${errorMessage(err)}; fix or delete it (every proposal then asks again)`, { cause: err });
    }
  }

  /** The grant for exactly this proposal, if a human gave one. */
  async grantFor(p: Pick<Proposal, 'kind' | 'source' | 'name' | 'hash'>): Promise<ConsentGrant | undefined> {
    return (await this.grants()).find((g) => g.kind === p.kind && g.source === p.source && g.name === p.name && g.hash === p.hash);
  }

  /**
   * Records a grant. Only for a human gesture: the CLI after the credential and confirmation, the
   * VS Code modal dialog. A grant for the same source and name replaces the older one.
   */
  async grant(grant: ConsentGrant): Promise<void> {
    const grants = (await this.grants()).filter((g) =>
      g.kind === 'git-hooks' ? !(grant.kind === 'git-hooks' && g.repo === grant.repo) : !(g.kind === grant.kind && 'source' in grant && g.source === grant.source && g.name === grant.name),
    );
    await this.write([...grants, grantSchema.parse(grant)]);
  }

  /** Removes a grant by id (or id prefix); returns it, or undefined when none matched. */
  async revoke(id: string): Promise<ConsentGrant | undefined> {
    const grants = await this.grants();
    const found = grants.filter((g) => g.id.startsWith(id));
    if (found.length > 1) throw new ControlPlaneError('CONSENT_AMBIGUOUS', `"${id}" matches ${found.length} grants; give more of the id`);
    if (found.length === 0) return undefined;
    await this.write(grants.filter((g) => g !== found[0]));
    return found[0];
  }

  /** Proposals every running instance is waiting on. */
  async pending(): Promise<Array<Proposal & { instance: string }>> {
    const text = await readOptional(join(this.dir, PENDING_FILE));
    if (text === undefined) return [];
    try {
      const file = pendingFileSchema.parse(JSON.parse(text));
      const seen = new Set<string>();
      const out: Array<Proposal & { instance: string }> = [];
      for (const [instance, list] of Object.entries(file.instances)) {
        if (!isAlive(Number(instance))) continue;
        for (const p of list) if (!seen.has(p.id)) (seen.add(p.id), out.push({ ...p, instance }));
      }
      return out;
    } catch {
      return [];
    }
  }

  /** Publishes what this instance waits for (replacing its earlier list). */
  async setPending(instance: string, proposals: readonly Proposal[]): Promise<void> {
    const file = join(this.dir, PENDING_FILE);
    let current: z.infer<typeof pendingFileSchema> = { version: 1, instances: {} };
    try {
      current = pendingFileSchema.parse(JSON.parse((await readOptional(file)) ?? ''));
    } catch {
      // Missing or damaged: start over (it is only a published view).
    }
    for (const key of Object.keys(current.instances)) if (!isAlive(Number(key))) delete current.instances[key];
    if (proposals.length === 0) delete current.instances[instance];
    else current.instances[instance] = [...proposals];
    await writeOwnerOnly(this.dir, file, `${JSON.stringify(current, null, 1)}\n`);
  }

  /** Starts watching the grants file (the folder, since it may not exist yet). */
  watch(): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_e, name) => {
        if (name === null || name === CONSENT_FILE) this.changed.fire();
        if (name === POLICY_RELOAD_FILE) {
          void readOptional(join(this.dir, POLICY_RELOAD_FILE))
            .then((text) => text && this.reloadRequested.fire((JSON.parse(text) as { at: string }).at))
            .catch(() => undefined);
        }
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // No folder yet: nothing granted.
    }
  }

  /** Asks running instances to drop kept workspace rules. Only after a human gesture (CLI). */
  async requestPolicyReload(now = new Date()): Promise<void> {
    await writeOwnerOnly(this.dir, join(this.dir, POLICY_RELOAD_FILE), `${JSON.stringify({ at: now.toISOString() })}\n`);
  }

  dispose(): void {
    this.watcher?.close();
    this.changed.dispose();
    this.reloadRequested.dispose();
  }

  private async write(grants: ConsentGrant[]): Promise<void> {
    await writeOwnerOnly(this.dir, this.file, `${JSON.stringify({ version: 1, grants }, null, 1)}\n`);
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeOwnerOnly(dir: string, file: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
