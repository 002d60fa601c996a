import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { isProcessAlive, type AuditAppendResult, type AuditEvent } from '../audit';
import { ControlPlaneError, errorMessage } from '../errors';
import type { PendingEntry, PendingJournal } from './store';

/** Where orphaned approvals are reported: an `AuditLog`, or anything with its `append`. */
export interface AuditSink {
  append(event: AuditEvent): Promise<AuditAppendResult | unknown>;
}

const FILE_RE = /^approvals-pending-([A-Za-z0-9._-]+)-(\d+)\.json(?:\.claimed-(\d+))?$/;

const journalSchema = z.object({
  version: z.literal(1),
  instance: z.string(),
  pid: z.number().int(),
  entries: z.array(
    z.object({
      id: z.string(),
      kind: z.enum(['tool', 'resource', 'prompt']),
      server: z.string(),
      tool: z.string(),
      digest: z.string(),
      reason: z.string(),
      createdAt: z.number(),
      expiresAt: z.number(),
      callId: z.string().optional(),
      client: z.object({ name: z.string(), version: z.string().optional() }).optional(),
    }),
  ),
});

/** A pending approval found in the journal of a control plane that is gone. */
export interface OrphanedApproval extends PendingEntry {
  /** The instance and process that held it. */
  readonly instance: string;
  readonly pid: number;
}

export interface FilePendingJournalOptions {
  /** The data directory (global storage, or `~/.mcpcp`); owner-only. */
  readonly dir: string;
  /** This control plane's instance id (the audit instance id). */
  readonly instanceId: string;
  readonly pid?: number;
  readonly isProcessAlive?: (pid: number) => boolean;
}

/**
 * The pending-approvals journal of one control plane process:
 * `<dir>/approvals-pending-<instance>-<pid>.json`, replaced atomically (temp file, fsync, rename) on
 * every change of the pending set and removed when nothing is pending. It holds ids, digests and
 * who asked, never arguments or anything that could be executed.
 *
 * At start, before the first approval, call `recoverOrphans(audit)`: every journal left by a
 * process that is no longer alive is claimed (renamed, so two starting instances never both take
 * it), each of its entries is audited as `approval.decided` / `rejected` with the reason "control
 * plane restarted", and the journal is deleted. Those approvals can never run: approvals live in
 * memory only, and the new process has none of them.
 */
export class FilePendingJournal implements PendingJournal {
  readonly file: string;
  private readonly dir: string;
  private readonly instanceId: string;
  private readonly pid: number;
  private readonly isAlive: (pid: number) => boolean;

  constructor(options: FilePendingJournalOptions) {
    this.dir = options.dir;
    this.instanceId = options.instanceId;
    this.pid = options.pid ?? process.pid;
    this.isAlive = options.isProcessAlive ?? isProcessAlive;
    this.file = join(this.dir, `approvals-pending-${this.instanceId}-${this.pid}.json`);
  }

  write(entries: readonly PendingEntry[]): void {
    if (entries.length === 0) {
      rmSync(this.file, { force: true });
      return;
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify({ version: 1, instance: this.instanceId, pid: this.pid, entries }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }

  /**
   * Audits and removes the pending approvals of dead control planes (see the class comment).
   * Returns what was recovered. If auditing fails, the claimed journal is put back for the next
   * start and the error is thrown (`APPROVAL_RECOVERY_FAILED`).
   */
  async recoverOrphans(audit: AuditSink): Promise<OrphanedApproval[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const recovered: OrphanedApproval[] = [];
    for (const name of names.sort()) {
      const m = FILE_RE.exec(name);
      if (m === null) continue;
      const ownerPid = Number(m[2]);
      const claimerPid = m[3] !== undefined ? Number(m[3]) : undefined;
      if (claimerPid !== undefined ? claimerPid === this.pid || this.isAlive(claimerPid) : ownerPid === this.pid || this.isAlive(ownerPid)) continue;
      const original = join(this.dir, claimerPid === undefined ? name : name.slice(0, name.indexOf('.claimed-')));
      const claimed = `${original}.claimed-${this.pid}`;
      try {
        await rename(join(this.dir, name), claimed);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another instance took it
        throw err;
      }
      let orphans: OrphanedApproval[];
      let text: string;
      try {
        text = await readFile(claimed, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // taken over meanwhile
        throw err;
      }
      try {
        orphans = parseJournal(text);
      } catch (err) {
        // Unreadable journal: still a restart with unknown pending approvals; say so once.
        orphans = [];
        await auditOrThrow(audit, claimed, original, {
          type: 'approval.decided',
          decision: 'rejected',
          actor: { kind: 'system' },
          reason: `control plane restarted; its pending-approvals journal was unreadable (${errorMessage(err)}), so whatever was pending was rejected`,
          detail: { journal: name },
        });
      }
      for (const o of orphans) {
        await auditOrThrow(audit, claimed, original, {
          type: 'approval.decided',
          approvalId: o.id,
          ...(o.callId !== undefined ? { callId: o.callId } : {}),
          kind: o.kind,
          server: o.server,
          tool: o.tool,
          ...(o.client !== undefined ? { client: o.client } : {}),
          decision: 'rejected',
          actor: { kind: 'system' },
          reason: `control plane restarted: the approval was still pending when instance ${o.instance} (pid ${o.pid}) stopped, so it was rejected and will never run`,
          detail: { digest: o.digest, requestedAt: new Date(o.createdAt).toISOString(), instance: o.instance },
        });
      }
      await rm(claimed, { force: true });
      recovered.push(...orphans);
    }
    return recovered;
  }
}

function parseJournal(text: string): OrphanedApproval[] {
  const journal = journalSchema.parse(JSON.parse(text));
  return journal.entries.map((e) => ({ ...e, instance: journal.instance, pid: journal.pid }));
}

async function auditOrThrow(audit: AuditSink, claimed: string, original: string, event: AuditEvent): Promise<void> {
  try {
    await audit.append(event);
  } catch (err) {
    await rename(claimed, original).catch(() => undefined);
    throw new ControlPlaneError('APPROVAL_RECOVERY_FAILED', `cannot audit approvals left pending by a previous run: ${errorMessage(err)}`, { cause: err });
  }
}
