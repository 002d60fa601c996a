import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { invalidArgument, pageLines } from '../../kit';
import { junosRollbackDiff, listBackups, rollbackDevice } from '../apply';
import { NetworkErrorCode } from '../client';
import { localDiff, readConfig, sanitizedDiff } from '../config-read';
import { sanitize } from '../config-text';
import { defineNetworkTool, deviceField } from '../define';
import type { NetworkService, Target } from '../services';
import { deviceEffect } from '../effects';

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
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  preview: true,
  effect: (input, ctx) => deviceEffect(ctx, [input.device]),
  async handler(input, ctx) {
    const network = ctx.services.network;
    const target = await network.target(input.device);
    const c = target.platform.commit;
    if (c.kind === 'none') throw new ControlPlaneError(NetworkErrorCode.unsupported, c.reason);
    if (c.kind === 'commit-confirmed') {
      if (input.backup !== undefined) throw invalidArgument('backup', 'Junos restores by rollback number', 'Use rollback (1 = before the last commit).');
      const n = input.rollback ?? 1;
      if (ctx.dryRun) {
        const diff = await junosRollbackDiff(network, target, n, ctx.signal);
        const page = pageLines(sanitize(target.platform, diff || '(no difference)').split('\n'), { budgetBytes: ctx.budgetBytes, more: () => 'Use config_get to see the whole configuration.' });
        return { text: `Dry run: rollback ${n} on ${target.device.name} would change (device diff, show | compare):\n${page.text}\nNothing was committed.`, structured: { dryRun: true, device: target.device.name, rollback: n, diff: page.text } };
      }
      const r = await rollbackDevice(network, target, { n }, { comment: `mcpcp config_rollback ${n}`, signal: ctx.signal });
      if (!r.ok) throw new ControlPlaneError(NetworkErrorCode.configFailed, `${target.device.name}: rollback ${n} failed: ${r.output}\ncommands: ${r.steps.join(' ; ')}`);
      return { text: `${target.device.name}: rolled back to rollback ${n} and committed.\n${sanitize(target.platform, r.output)}`, structured: { device: target.device.name, rollback: n, output: sanitize(target.platform, r.output) } };
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
    const r = await rollbackDevice(network, target, { backup: name }, { comment: 'mcpcp config_rollback', signal: ctx.signal });
    if (!r.ok) throw new ControlPlaneError(NetworkErrorCode.configFailed, `${target.device.name}: restoring ${name} failed: ${r.output}`);
    return { text: `${target.device.name}: restored ${name}.\n${r.output}`, structured: { device: target.device.name, backup: name, output: r.output } };
  },
});
