import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { JsonValue } from '../canonical-json';
import { ControlPlaneError, errorMessage } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { adoptServers, movedSecretsHistory, plaintextSecrets, planAdoption, removalChange, renderPlan, type AdoptionPlan, type OwnServers } from './adopt';
import { plaintextSecretsOf, type AssessmentReport, type Finding, type Remediation } from './assess';
import { applyFileChange, valueAt, type ActionRecorder, type ChangeApprover, type FileChange } from './file-change';
import { isRecord, locationForFile, parseMcpConfig, type McpConfigLocation, type ParsedMcpConfig } from './mcp-config';
import type { HistoryScan, HistoryScanOptions } from './git-history';
import type { VersionResolver } from './package-version';
import { maskSecrets, unifiedDiff } from './unified-diff';

export type RemediationAction = 'remediation_move_secret' | 'remediation_pin_package' | 'remediation_add_timeout' | 'remediation_remove_duplicate' | 'remediation_adopt_server' | 'remediation_delete_backup';

/** A remediation computed against the file as it is now, ready for approval. */
export interface PreparedRemediation {
  finding: Finding;
  action: RemediationAction;
  file: string;
  /** The file as the report knows it (kind, scope, workspace folder). */
  location: McpConfigLocation;
  /** The approval's preview: a unified diff (two files for an adoption). Never holds a secret. */
  diff: string;
  /** One line for lists and notifications. */
  summary: string;
  /** For edits of one file. */
  change?: FileChange;
  /** For `adopt-server`. */
  adoption?: { plan: AdoptionPlan; parsed: ParsedMcpConfig };
  /** For `delete-backup`: the file and the digest its content must still have. */
  deletion?: { file: string; digest: string };
}

export interface RemediationContext {
  secrets: SecretStore;
  /** Needed to pin packages. */
  resolveVersion?: VersionResolver;
  /** Needed to adopt a server out of a Claude-style file. */
  ownServers?: OwnServers;
  /** PATH for showing what an adopted command resolves to. */
  pathValue?: string;
}

/**
 * Computes the exact edit a finding's remediation makes, from the file as it is now. Refuses
 * (`REMEDIATION_STALE`) when the value the finding saw has changed, and `REMEDIATION_UNAVAILABLE`
 * when it cannot be computed (no version resolvable, no own configuration to adopt into).
 */
export async function prepareRemediation(report: AssessmentReport, findingId: string, ctx: RemediationContext): Promise<PreparedRemediation> {
  const finding = report.findings.find((f) => f.id === findingId || (findingId.length >= 6 && f.id.startsWith(findingId)));
  if (!finding) throw new ControlPlaneError('FINDING_NOT_FOUND', `no finding ${findingId} in this report`);
  const r = finding.remediation;
  if (!r) throw new ControlPlaneError('REMEDIATION_UNAVAILABLE', `finding ${finding.id} (${finding.rule}) has no remediation`);
  const file = finding.location.file;
  const known = report.files.find((f) => f.path === file);
  if (r.kind === 'delete-backup') return prepareDeletion(finding, r);
  const text = await readFile(file, 'utf8');
  const location: McpConfigLocation = {
    path: file,
    kind: known?.kind ?? 'mcp-servers',
    scope: known?.scope ?? 'user',
    ...(known?.kind === 'vscode-workspace' ? { workspaceFolder: dirname(dirname(file)) } : known?.kind === 'claude-code' ? { workspaceFolder: dirname(file) } : {}),
  };
  const parsed = parseMcpConfig(text, location);
  if (parsed.problems.some((p) => p.position && !p.path)) throw new ControlPlaneError('REMEDIATION_STALE', `${file} does not parse any more; assess again`);
  const display = file.replace(/^\/+/, '');
  const makeChange = (after: string, extra: Partial<FileChange> = {}): FileChange => ({ file, before: text, after, diff: unifiedDiff(display, text, after), secrets: [], expect: [], forbid: [], ...extra });
  const base = { finding, file, location };

  switch (r.kind) {
    case 'move-secret': {
      const value = valueAt(parsed.syntax.parse(text).value, r.path);
      if (typeof value !== 'string' || createHash('sha256').update(value.slice(r.start, r.end)).digest('hex') !== r.valueDigest) {
        throw new ControlPlaneError('REMEDIATION_STALE', `${finding.location.pointer} in ${file} changed since the assessment; assess again`);
      }
      const secret = value.slice(r.start, r.end);
      let name = r.secretName;
      const existing = await ctx.secrets.get(name);
      if (existing !== undefined && existing !== secret) {
        const names = new Set(await ctx.secrets.list());
        for (let n = 2; names.has(name); n++) name = `${r.secretName}-${n}`;
      }
      const reference = r.reference === 'secret' ? `\${secret:${name}}` : `\${input:${name}}`;
      const replaced = value.slice(0, r.start) + reference + value.slice(r.end);
      let after = parsed.syntax.edit(text, r.path, replaced);
      if (r.reference === 'input' && !parsed.inputs.some((i) => i.id === name)) {
        const input = { type: 'promptString', id: name, description: `Secret of "${finding.server ?? 'server'}" (moved out of this file by MCP Control Plane)`, password: true };
        const inputs = isRecord(parsed.syntax.parse(after).value) ? (parsed.syntax.parse(after).value as Record<string, unknown>)['inputs'] : undefined;
        after = parsed.syntax.edit(after, Array.isArray(inputs) ? ['inputs', -1] : ['inputs'], Array.isArray(inputs) ? input : [input]);
      }
      const change = makeChange(after, { secrets: [{ name, value: secret }], expect: [{ path: r.path, value: replaced }], forbid: [secret] });
      change.diff = maskSecrets(change.diff, change.secrets);
      return { ...base, action: 'remediation_move_secret', summary: `Move the secret at ${finding.location.pointer} into the secret store as "${name}"`, change, diff: change.diff };
    }
    case 'pin-package': {
      const arg = valueAt(parsed.syntax.parse(text).value, r.path);
      if (arg !== r.arg) throw new ControlPlaneError('REMEDIATION_STALE', `${finding.location.pointer} in ${file} changed since the assessment; assess again`);
      if (!ctx.resolveVersion) throw new ControlPlaneError('REMEDIATION_UNAVAILABLE', 'no package version resolver configured');
      const version = await ctx.resolveVersion(r.ecosystem, r.package);
      if (!version) throw new ControlPlaneError('REMEDIATION_UNAVAILABLE', `cannot tell which version of ${r.package} is currently resolved; pin it by hand`);
      const pinned = `${r.prefix}${r.package}${r.ecosystem === 'npm' ? '@' : '=='}${version}`;
      const after = parsed.syntax.edit(text, r.path, pinned);
      return { ...base, action: 'remediation_pin_package', summary: `Pin ${r.package} to ${version}`, change: makeChange(after, { expect: [{ path: r.path, value: pinned }] }), diff: unifiedDiff(display, text, after) };
    }
    case 'add-timeout': {
      const entry = valueAt(parsed.syntax.parse(text).value, r.path);
      if (!isRecord(entry) || entry['timeoutMs'] !== undefined) throw new ControlPlaneError('REMEDIATION_STALE', `${finding.location.pointer} in ${file} changed since the assessment; assess again`);
      const path = [...r.path, 'timeoutMs'];
      const after = parsed.syntax.edit(text, path, r.timeoutMs);
      return { ...base, action: 'remediation_add_timeout', summary: `Add timeoutMs: ${r.timeoutMs} to "${finding.server}"`, change: makeChange(after, { expect: [{ path, value: r.timeoutMs }] }), diff: unifiedDiff(display, text, after) };
    }
    case 'remove-server': {
      if (!parsed.servers.some((s) => s.name === r.server)) throw new ControlPlaneError('REMEDIATION_STALE', `"${r.server}" is no longer in ${file}`);
      const change = removalChange(parsed, [r.server]);
      return { ...base, action: 'remediation_remove_duplicate', summary: `Remove "${r.server}" from ${basename(file)}`, change, diff: change.diff };
    }
    case 'adopt-server': {
      if (!ctx.ownServers) throw new ControlPlaneError('REMEDIATION_UNAVAILABLE', 'adopting needs the control plane\'s own configuration');
      const plan = planAdoption(parsed, { existing: await ctx.ownServers.read(), only: [r.server], move: true, editorRunsFile: false, secretNames: await ctx.secrets.list(), ...(ctx.pathValue ? { pathValue: ctx.pathValue } : {}) });
      if (plan.servers.length === 0) throw new ControlPlaneError('REMEDIATION_UNAVAILABLE', `"${r.server}" cannot be adopted: ${plan.skipped[0]?.reason ?? 'not found'}`);
      const removal = removalChange(parsed, [r.server], plaintextSecrets(plan));
      const added = plan.servers.map((s) => ({ [s.name]: s.config }));
      const addedText = JSON.stringify(Object.assign({}, ...added), null, 2).split('\n');
      const ownLabel = ctx.ownServers.label.replace(/^\/+/, '');
      const ownDiff = [`--- a/${ownLabel}`, `+++ b/${ownLabel}`, `@@ -0,0 +1,${addedText.length} @@`, ...addedText.map((l) => `+${l}`)].join('\n');
      return {
        ...base,
        action: 'remediation_adopt_server',
        summary: `Adopt "${r.server}" into the control plane and remove it from ${basename(file)}`,
        adoption: { plan, parsed },
        diff: `${removal.diff}${ownDiff}\n\n${renderPlan(plan).split('\n').map((l) => `# ${l}`).join('\n')}\n`,
      };
    }
  }
}

export interface ApplyRemediationDeps extends RemediationContext {
  /** Where backups go (`backupRoot(dataDir)`), outside the workspace. */
  backupDir: string;
  /** Scan the file's git history for the secret a fix moves out of it (`RemediationResult.history`). */
  gitHistory?: HistoryScanOptions;
  approver?: ChangeApprover;
  recorder?: ActionRecorder;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface RemediationResult {
  action: RemediationAction;
  file: string;
  backup?: string;
  approvalId?: string;
  secretNames: string[];
  /** Servers added to the control plane (adopt-server). */
  adopted?: string[];
  /** Whether the secret moved out of the file is in its git history (`gitHistory` set). */
  history?: HistoryScan;
}

/**
 * Asks for approval with the diff as preview, then applies: for a file edit through
 * `applyFileChange` (backup, secret stored first, atomic write, verification, rollback); for an
 * adoption through `adoptServers` with the move required (a failed move undoes the adoption).
 * Audited under the remediation's action name, with the finding id.
 */
export async function applyRemediation(prepared: PreparedRemediation, deps: ApplyRemediationDeps): Promise<RemediationResult> {
  const args = { findingId: prepared.finding.id, rule: prepared.finding.rule, file: prepared.file, pointer: prepared.finding.location.pointer, ...(prepared.finding.server ? { server: prepared.finding.server } : {}) };
  const reason = `${prepared.summary} (${prepared.finding.severity}: ${prepared.finding.message})`;
  if (prepared.change) {
    const applied = await applyFileChange(prepared.change, {
      action: prepared.action,
      reason,
      args,
      secrets: deps.secrets,
      backupDir: deps.backupDir,
      ...(deps.approver ? { approver: deps.approver } : {}),
      ...(deps.recorder ? { recorder: deps.recorder } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    });
    const moved = prepared.change.secrets;
    const history = deps.gitHistory && moved.length > 0 ? await movedSecretsHistory(prepared.location, moved, deps.gitHistory) : undefined;
    return { action: prepared.action, file: prepared.file, backup: applied.backup, ...(applied.approvalId ? { approvalId: applied.approvalId } : {}), secretNames: applied.secretNames, ...(history ? { history } : {}) };
  }
  if (prepared.deletion) return deleteBackup(prepared, args, reason, deps);
  const adoption = prepared.adoption!;
  let approvalId: string | undefined;
  if (deps.approver) {
    const decision = await deps.approver.requestInternalApproval({ action: prepared.action, args, previewText: prepared.diff, reason, ...(deps.signal ? { signal: deps.signal } : {}) });
    approvalId = decision.approvalId;
    if (!decision.approved) throw new ControlPlaneError('CHANGE_REJECTED', `${prepared.action} was not approved${decision.reason ? `: ${decision.reason}` : ''}`, { details: { approvalId } });
  }
  const result = await adoptServers(adoption.plan, adoption.parsed, {
    secrets: deps.secrets,
    servers: deps.ownServers!,
    backupDir: deps.backupDir,
    promptInput: async () => undefined,
    requireMove: true,
    ...(deps.recorder ? { recorder: deps.recorder } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.gitHistory ? { gitHistory: deps.gitHistory } : {}),
  });
  await deps.recorder?.recordAction({ action: prepared.action, outcome: 'ok', detail: { ...args, adopted: Object.keys(result.servers), secrets: result.secretNames, ...(result.moved ? { backup: result.moved.backup } : {}) }, ...(approvalId ? { approvalId } : {}) });
  return { action: prepared.action, file: prepared.file, ...(result.moved ? { backup: result.moved.backup } : {}), ...(approvalId ? { approvalId } : {}), secretNames: result.secretNames, adopted: Object.keys(result.servers), ...(result.history ? { history: result.history } : {}) };
}

/** An old backup's deletion: the preview is its whole content as removed lines, secrets masked. */
async function prepareDeletion(finding: Finding, r: Extract<Remediation, { kind: 'delete-backup' }>): Promise<PreparedRemediation> {
  const text = await readFile(r.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ControlPlaneError('REMEDIATION_STALE', `${r.file} cannot be read any more (${err.code ?? errorMessage(err)}); assess again`);
  });
  if (sha256(text) !== r.digest) throw new ControlPlaneError('REMEDIATION_STALE', `${r.file} changed since the assessment; assess again`);
  const location: McpConfigLocation = { path: r.file, kind: 'mcp-servers', scope: 'workspace' };
  const secrets = plaintextSecretsOf(text, locationForFile(r.file.replace(/\.mcpcp-backup-[^/\\]*$/, ''), text)).map((s, i) => ({ name: `plaintext-${i + 1}`, value: s.value }));
  const diff = maskSecrets(unifiedDiff(r.file.replace(/^\/+/, ''), text, ''), secrets);
  return { finding, file: r.file, location, action: 'remediation_delete_backup', summary: `Delete ${basename(r.file)}`, diff, deletion: { file: r.file, digest: r.digest } };
}

async function deleteBackup(prepared: PreparedRemediation, args: Record<string, JsonValue>, reason: string, deps: ApplyRemediationDeps): Promise<RemediationResult> {
  const { file, digest } = prepared.deletion!;
  let approvalId: string | undefined;
  if (deps.approver) {
    const decision = await deps.approver.requestInternalApproval({ action: prepared.action, args, previewText: prepared.diff, reason, ...(deps.signal ? { signal: deps.signal } : {}) });
    approvalId = decision.approvalId;
    if (!decision.approved) throw new ControlPlaneError('CHANGE_REJECTED', `${prepared.action} was not approved${decision.reason ? `: ${decision.reason}` : ''}`, { details: { approvalId } });
  }
  // What was approved is what is deleted: the content must still be the one shown.
  const now = await readFile(file, 'utf8').catch(() => undefined);
  if (now === undefined || sha256(now) !== digest) throw new ControlPlaneError('CHANGE_STALE', `${file} changed or went away since it was shown; assess again`);
  await rm(file);
  await deps.recorder?.recordAction({ action: prepared.action, outcome: 'ok', detail: { ...args }, ...(approvalId ? { approvalId } : {}) });
  return { action: prepared.action, file, ...(approvalId ? { approvalId } : {}), secretNames: [] };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
