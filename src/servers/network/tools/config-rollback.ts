import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { invalidArgument, pageLines } from '../../kit';
import { applyChange, junosRollbackDiff, listBackups, plannedCommands, rollbackDevice, safetyNote } from '../apply';
import { NetworkErrorCode } from '../client';
import { localDiff, readConfig, sanitizedDiff } from '../config-read';
import { sanitize } from '../config-text';
import { defineNetworkTool, deviceField, type NetworkServices } from '../define';
import type { NetworkService, Target } from '../services';
import { deviceEffect } from '../effects';
import { configFormat, restorePlan } from '../restore';
import type { ToolContext, ToolReply } from '../../kit';
import { configUndo, priorConfig } from './undo';

async function backupContent(network: NetworkService, target: Target, name: string, signal: AbortSignal): Promise<string> {
  const c = target.platform.commit;
  if (c.kind !== 'archive-replace' && c.kind !== 'checkpoint') return '';
  const url = c.kind === 'archive-replace' ? `${c.backupUrl.split(':')[0]}:${name}` : name;
  const command = c.show.replace('{url}', url).replace('{name}', name);
  const res = await network.readCommand(target.device.name, command, { signal });
  if (res.error !== undefined) throw new ControlPlaneError(NetworkErrorCode.commandRejected, `${target.device.name}: "${command}" failed: ${res.error}`);
  return res.text;
}

export const configRollback = defineNetworkTool({
  name: 'config_rollback',
  title: 'Config: Rollback',
  description:
    'Restores an earlier configuration of one device. Junos: rollback N (1 = the configuration before the last commit) and commit. IOS/IOS-XE: configure replace from a backup config_apply saved on flash. NX-OS: rollback to a checkpoint config_apply made. Without backup, the newest one made by this server is used. dryRun: true shows what would change, changing nothing.',
  input: z.object({
    device: deviceField(),
    rollback: z.number().int().min(1).max(49).optional().describe('Junos: which rollback to restore (default 1).'),
    backup: z
      .string()
      .regex(/^mcpcp-[\w.-]+$/, 'a backup or checkpoint name made by this server (mcpcp-...)')
      .optional()
      .describe('IOS/NX-OS: the backup file or checkpoint to restore (default: the newest mcpcp-... one).'),
    configuration: z
      .string()
      .min(1)
      .max(2_000_000)
      .optional()
      .describe('A whole configuration to restore, as config_get shows it (Junos: set format). The server sends the lines that turn the running configuration into it, with the same safety as config_apply. Lines whose secret config_get removed are left as they are. Used by undo; excludes rollback and backup.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  preview: true,
  effect: (input, ctx) => deviceEffect(ctx, [input.device]),
  async handler(input, ctx) {
    const network = ctx.services.network;
    const target = await network.target(input.device);
    const c = target.platform.commit;
    if (c.kind === 'none') throw new ControlPlaneError(NetworkErrorCode.unsupported, c.reason);
    if (input.configuration !== undefined) {
      if (input.rollback !== undefined || input.backup !== undefined) throw invalidArgument('configuration', 'give configuration, or rollback/backup, not both');
      return restoreConfiguration(network, target, input.configuration, ctx);
    }
    if (c.kind === 'commit-confirmed') {
      if (input.backup !== undefined) throw invalidArgument('backup', 'Junos restores by rollback number', 'Use rollback (1 = before the last commit).');
      const n = input.rollback ?? 1;
      if (ctx.dryRun) {
        const diff = await junosRollbackDiff(network, target, n, ctx.signal);
        const page = pageLines(sanitize(target.platform, diff || '(no difference)').split('\n'), { budgetBytes: ctx.budgetBytes, more: () => 'Use config_get to see the whole configuration.' });
        return { text: `Dry run: rollback ${n} on ${target.device.name} would change (device diff, show | compare):\n${page.text}\nNothing was committed.`, structured: { dryRun: true, device: target.device.name, rollback: n, diff: page.text } };
      }
      const prior = await priorConfig(network, target, ctx.budgetBytes, ctx.signal);
      const r = await rollbackDevice(network, target, { n }, { comment: `mcpcp config_rollback ${n}`, signal: ctx.signal });
      if (!r.ok) throw new ControlPlaneError(NetworkErrorCode.configFailed, `${target.device.name}: rollback ${n} failed: ${r.output}\ncommands: ${r.steps.join(' ; ')}`);
      return {
        text: `${target.device.name}: rolled back to rollback ${n} and committed.\n${sanitize(target.platform, r.output)}`,
        structured: { device: target.device.name, rollback: n, output: sanitize(target.platform, r.output) },
        undo: configUndo(target, prior, `restore the configuration ${target.device.name} had before rollback ${n}`),
      };
    }
    if (input.rollback !== undefined) throw invalidArgument('rollback', `${target.platform.title} restores a backup, not a rollback number`, 'Use backup (or nothing: the newest).');
    const backups = await listBackups(network, target, ctx.signal);
    const name = input.backup ?? backups[backups.length - 1];
    if (name === undefined) {
      throw new ControlPlaneError(NetworkErrorCode.configFailed, `${target.device.name} has no backup made by this server`, { details: { hint: 'config_apply saves one before each change.' } });
    }
    if (!backups.includes(name)) throw invalidArgument('backup', `no backup "${name}" on ${target.device.name}`, `Backups: ${backups.join(', ') || '(none)'}.`);
    if (ctx.dryRun) {
      const [content, running] = await Promise.all([backupContent(network, target, name, ctx.signal), readConfig(network, target, 'running', 'text', ctx.signal)]);
      const { diff } = localDiff(target, running, { full: content });
      const shown = sanitizedDiff(target, diff);
      const page = pageLines(shown.length === 0 ? ['(no difference)'] : shown, { budgetBytes: ctx.budgetBytes, more: () => 'Use config_get to see the whole configuration.' });
      return { text: `Dry run: restoring ${name} on ${target.device.name} would change (computed locally):\n${page.text}\nNothing was sent. Backups: ${backups.join(', ')}`, structured: { dryRun: true, device: target.device.name, backup: name, backups, diff: page.text } };
    }
    const prior = await priorConfig(network, target, ctx.budgetBytes, ctx.signal);
    const r = await rollbackDevice(network, target, { backup: name }, { comment: 'mcpcp config_rollback', signal: ctx.signal });
    if (!r.ok) throw new ControlPlaneError(NetworkErrorCode.configFailed, `${target.device.name}: restoring ${name} failed: ${r.output}`);
    return {
      text: `${target.device.name}: restored ${name}.\n${r.output}`,
      structured: { device: target.device.name, backup: name, output: r.output },
      undo: configUndo(target, prior, `restore the configuration ${target.device.name} had before ${name} was restored`),
    };
  },
});

/**
 * Makes the running configuration `given` again. An undo's handle carries the configuration with
 * its secrets (`ctx.undoState.configuration`, from the gateway only); used when it is the one
 * `given` shows with secrets removed.
 */
async function restoreConfiguration(network: NetworkService, target: Target, given: string, ctx: ToolContext<NetworkServices>): Promise<ToolReply> {
  const full = ctx.undoState?.['configuration'];
  const wanted = typeof full === 'string' && sanitize(target.platform, full) === given ? full : given;
  const running = await readConfig(network, target, 'running', configFormat(target), ctx.signal);
  const plan = restorePlan(target, running, wanted);
  const skipped = plan.skipped.length > 0 ? `\nNot restored (their secrets were removed from the configuration given): ${plan.skipped.map((l) => sanitize(target.platform, l)).join('; ')}` : '';
  if (plan.lines.length === 0) return { text: `${target.device.name}: the running configuration already matches; nothing to send.${skipped}`, ...(ctx.dryRun ? {} : { undo: { undoable: false, reason: 'nothing changed: the running configuration already matched' } }) };
  const minutes = network.options.confirmMinutes;
  const comment = 'mcpcp config_rollback (restore)';
  if (ctx.dryRun) {
    const commands = plannedCommands(target.platform, plan.lines, minutes, comment).map((l) => sanitize(target.platform, l));
    return { text: `Dry run: restoring the configuration of ${target.device.name} sends ${plan.lines.length} line(s):\nsafety: ${safetyNote(target.platform, minutes)}\n${commands.map((l) => `  ${l}`).join('\n')}${skipped}\nNothing was sent.` };
  }
  const prior = await priorConfig(network, target, ctx.budgetBytes, ctx.signal);
  const r = await applyChange(network, target, plan.lines, { minutes, comment, postCheck: {}, signal: ctx.signal });
  if (r.status !== 'applied' && r.status !== 'unchanged') {
    throw new ControlPlaneError(NetworkErrorCode.configFailed, sanitize(target.platform, `${target.device.name}: restoring the configuration failed (${r.status}): ${r.error ?? r.failedLine?.error ?? ''}`));
  }
  return {
    text: `${target.device.name}: configuration restored (${r.applied} line(s) sent${r.backup === undefined ? '' : `; backup ${r.backup}`}).${skipped}`,
    undo: r.status === 'applied' ? configUndo(target, prior, `restore the configuration ${target.device.name} had before this restore`) : { undoable: false, reason: 'nothing changed: the running configuration already matched' },
  };
}
