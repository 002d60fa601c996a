import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { JsonValue } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { backupSource, writeBackup } from './backups';
import type { JsonPath } from './jsonc';
import { syntaxFor } from './syntax';

/**
 * Asks a human to approve a change of the control plane's own making. `Oversight` implements it:
 * the request shows in the approvals UI with `previewText` (a diff) as the preview.
 */
export interface ChangeApprover {
  requestInternalApproval(input: { action: string; args: Record<string, JsonValue>; previewText: string; reason: string; signal?: AbortSignal }): Promise<{ approved: boolean; reason: string; approvalId: string }>;
}

/** Writes an audit record for an action of the control plane itself. `Oversight` implements it. */
export interface ActionRecorder {
  recordAction(event: { action: string; outcome: 'ok' | 'error'; detail?: Record<string, unknown>; error?: string; approvalId?: string }): Promise<void>;
}

/** One proposed edit of one file, with what must hold afterwards. */
export interface FileChange {
  file: string;
  /** The file's text the change was computed from; applying refuses if the file changed since. */
  before: string;
  after: string;
  /** Unified diff of before → after (the approval's preview). Never holds a moved secret. */
  diff: string;
  /** Secrets to put in the store as part of the change (values never shown or audited). */
  secrets: Array<{ name: string; value: string }>;
  /** Values that must read back at these paths after the write. */
  expect: Array<{ path: JsonPath; value: unknown }>;
  /** Strings that must not appear in the file afterwards (the moved secrets). */
  forbid: string[];
  /** Secrets the change moves out of the file that are stored by someone else (an adoption): the backup holds their references. */
  moved?: Array<{ name: string; value: string }>;
}

export interface ApplyDeps {
  /** The audit action name (`remediation_move_secret`, `adopt_move_servers`…). */
  action: string;
  /** Why, for the approver. */
  reason: string;
  /** Shown with the approval and audited (no secret values). */
  args: Record<string, JsonValue>;
  secrets?: SecretStore;
  /** Where the backup goes: `backupRoot(dataDir)`, outside the workspace. */
  backupDir: string;
  /** Without one, the caller has already obtained consent (a modal, a terminal confirmation). */
  approver?: ChangeApprover;
  recorder?: ActionRecorder;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface AppliedChange {
  file: string;
  backup: string;
  approvalId?: string;
  secretNames: string[];
}

/**
 * Applies a change after approval, as one unit:
 * 1. refuses if the file no longer holds `before` (checked before asking and again after);
 * 2. asks the approver (the approvals UI with the diff) unless consent came another way;
 * 3. writes a backup of the old text to `backupDir` (owner-only; each secret the change moves is
 *    replaced there by its `${secret:name}` reference, so no copy of it stays behind);
 * 4. stores the secrets, remembering what each name held;
 * 5. writes the new text atomically (temp file in the same folder, fsync, rename), keeping the mode;
 * 6. reads it back: it must parse, equal `after`, hold `expect`, lack `forbid`, and each secret must
 *    read back from the store as stored (an environment override would shadow it);
 * any failure after step 3 restores the file's old text and the secrets as they were, and
 * throws `CHANGE_FAILED` (rolled back). Success and failure are audited with file, backup and
 * secret names, never values. A rejection throws `CHANGE_REJECTED`.
 */
export async function applyFileChange(change: FileChange, deps: ApplyDeps): Promise<AppliedChange> {
  await assertUnchanged(change);
  let approvalId: string | undefined;
  if (deps.approver) {
    const decision = await deps.approver.requestInternalApproval({ action: deps.action, args: deps.args, previewText: change.diff, reason: deps.reason, ...(deps.signal ? { signal: deps.signal } : {}) });
    approvalId = decision.approvalId;
    if (!decision.approved) {
      throw new ControlPlaneError('CHANGE_REJECTED', `${deps.action} on ${change.file} was not approved${decision.reason ? `: ${decision.reason}` : ''}`, { details: { approvalId } });
    }
    await assertUnchanged(change);
  }
  if (change.secrets.length > 0 && !deps.secrets) throw new ControlPlaneError('CHANGE_FAILED', `${deps.action}: no secret store to move secrets into`);
  // The file's text is `change.before` (checked above); the backup holds it with every moved
  // secret as its reference, in the data directory.
  const backup = await writeBackup(deps.backupDir, change.file, change.before, (deps.now ?? (() => new Date()))(), [...change.secrets, ...(change.moved ?? [])]);
  const previous = new Map<string, string | undefined>();
  const audit = { file: change.file, backup, secrets: change.secrets.map((s) => s.name), ...deps.args };
  try {
    for (const s of change.secrets) {
      previous.set(s.name, await storedValue(deps.secrets!, s.name));
      await deps.secrets!.set(s.name, s.value);
    }
    await writeAtomic(change.file, change.after);
    await verify(change, deps.secrets);
  } catch (err) {
    const rollback = await rollBack(change.file, change.before, previous, deps.secrets);
    await deps.recorder?.recordAction({ action: deps.action, outcome: 'error', error: errorMessage(err), detail: { ...audit, rolledBack: rollback.ok, ...(rollback.error ? { rollbackError: rollback.error } : {}) }, ...(approvalId ? { approvalId } : {}) }).catch(() => undefined);
    throw new ControlPlaneError('CHANGE_FAILED', `${deps.action} on ${change.file} failed and was ${rollback.ok ? 'rolled back' : `NOT fully rolled back (${rollback.error}); the backup is ${backup}`}: ${errorMessage(err)}`, { cause: err, details: { file: change.file, backup, rolledBack: rollback.ok } });
  }
  await deps.recorder?.recordAction({ action: deps.action, outcome: 'ok', detail: audit, ...(approvalId ? { approvalId } : {}) });
  return { file: change.file, backup, ...(approvalId ? { approvalId } : {}), secretNames: change.secrets.map((s) => s.name) };
}

/**
 * Puts a backup back in place of its file (atomically). The current text is itself backed up
 * first, so a restore can be undone; returns that backup's path. A backup holds `${secret:name}`
 * references where the change moved a secret into the store, not the secret itself.
 */
export async function restoreBackup(backup: string, options: { recorder?: ActionRecorder; now?: () => Date } = {}): Promise<string> {
  const file = await backupSource(backup);
  const text = await readFile(backup, 'utf8');
  let undo = '';
  try {
    const current = await readFile(file, 'utf8');
    undo = await writeBackup(dirname(dirname(backup)), file, current, (options.now ?? (() => new Date()))());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    undo = '';
  }
  await writeAtomic(file, text);
  await options.recorder?.recordAction({ action: 'remediation_restore_backup', outcome: 'ok', detail: { file, backup, ...(undo ? { undoBackup: undo } : {}) } });
  return undo;
}

/** Writes through a temp file in the same folder, fsync'd, renamed over the target; keeps its mode. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  let mode = 0o644;
  try {
    mode = (await stat(file)).mode & 0o777;
  } catch {
    // A new file.
  }
  const tmp = join(dirname(file), `.${basename(file)}.mcpcp-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function assertUnchanged(change: FileChange): Promise<void> {
  let now: string;
  try {
    now = await readFile(change.file, 'utf8');
  } catch (err) {
    throw new ControlPlaneError('CHANGE_STALE', `${change.file} cannot be read any more: ${errorMessage(err)}`, { cause: err });
  }
  if (now !== change.before) throw new ControlPlaneError('CHANGE_STALE', `${change.file} changed since the change was proposed; assess again`);
}

async function verify(change: FileChange, secrets: SecretStore | undefined): Promise<void> {
  const text = await readFile(change.file, 'utf8');
  if (text !== change.after) throw new Error('the file does not read back as written');
  const parsed = syntaxFor(change.file).parse(text);
  if (parsed.errors.length > 0) throw new Error(`the new text does not parse: ${parsed.errors[0]!.message} at ${parsed.errors[0]!.position.line}:${parsed.errors[0]!.position.column}`);
  for (const e of change.expect) {
    const actual = valueAt(parsed.value, e.path);
    if (JSON.stringify(actual) !== JSON.stringify(e.value)) throw new Error(`after the edit ${e.path.join('.')} is ${JSON.stringify(actual)}, not ${JSON.stringify(e.value)}`);
  }
  for (const f of change.forbid) if (f && text.includes(f)) throw new Error('the secret is still in the file');
  for (const s of change.secrets) {
    if ((await secrets!.get(s.name)) !== s.value) throw new Error(`secret "${s.name}" does not read back from the store as stored (is it overridden, e.g. by an environment variable?)`);
  }
}

async function rollBack(file: string, before: string, previous: Map<string, string | undefined>, secrets: SecretStore | undefined): Promise<{ ok: boolean; error?: string }> {
  const errors: string[] = [];
  try {
    await writeAtomic(file, before);
  } catch (err) {
    errors.push(`file: ${errorMessage(err)}`);
  }
  for (const [name, value] of previous) {
    try {
      if (value === undefined) await secrets!.delete(name);
      else await secrets!.set(name, value);
    } catch (err) {
      errors.push(`secret ${name}: ${errorMessage(err)}`);
    }
  }
  return errors.length ? { ok: false, error: errors.join('; ') } : { ok: true };
}

/**
 * What the store itself holds under a name, for a rollback: `get` may answer from an override
 * (`MCPCP_SECRET_<NAME>` headless) that must not be written back into the store.
 */
export async function storedValue(secrets: SecretStore, name: string): Promise<string | undefined> {
  return (await secrets.list()).includes(name) ? secrets.get(name) : undefined;
}

/** The value at a path of a parsed document. */
export function valueAt(value: unknown, path: JsonPath): unknown {
  let cur = value;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

