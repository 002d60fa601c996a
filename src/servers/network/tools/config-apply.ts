import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { invalidArgument } from '../../kit';
import { NetworkErrorCode } from '../client';
import { applyChange, plannedCommands, preflight, safetyNote, type ApplyReport } from '../apply';
import { changeFields, changeLines, localDiff, readConfig, sanitizedDiff } from '../config-read';
import { sanitize } from '../config-text';
import { CHANGE_DEVICE, defineNetworkTool, plural } from '../define';
import { deviceEffect } from '../effects';
import { configFormat } from '../restore';
import { configUndo, priorConfig } from './undo';
import type { UndoHandle } from '../../../core/undo/handle';

function reportText(r: ApplyReport): string {
  const lines = [`== ${r.device}: ${r.status.toUpperCase()} (${r.applied}/${r.total} lines applied${r.backup === undefined ? '' : `; backup ${r.backup}`})`];
  if (r.failedLine !== undefined) lines.push(`stopped at line ${r.failedLine.index}: ${r.failedLine.line.trim()}`, `device said: ${r.failedLine.error.replace(/\n/g, ' | ')}`);
  if (r.error !== undefined) lines.push(r.error);
  if (r.deviceDiff !== undefined && r.deviceDiff !== '') lines.push('device diff (show | compare):', r.deviceDiff);
  lines.push('commands sent:', ...r.steps.map((s) => `  ${s}`));
  return lines.join('\n');
}

export const configApply = defineNetworkTool({
  name: 'config_apply',
  title: 'Config: Apply',
  description:
    'Changes the configuration of one or more devices (applied one after another; stops at the first failure). Give plain lines or a template from the trusted templates folder with variables. dryRun: true returns, per device, the exact commands that would be sent and the diff, changing nothing. Applies safely: Junos commit confirmed then a post-check then the confirming commit; IOS/IOS-XE a backup on flash and a revert timer; NX-OS a checkpoint. A line the device rejects stops the change and rolls it back; the report lists the lines applied and what the device said.',
  input: z.object({
    devices: z.array(z.string().min(1)).min(1).max(50).describe('Devices to change, in order.'),
    ...changeFields,
    confirmMinutes: z.number().int().min(1).max(60).optional().describe('Minutes of commit confirmed / the IOS revert timer before the device undoes an unconfirmed change (default 5).'),
    postCheck: z
      .object({
        command: z.string().max(512).optional().describe('A read-only command run over a new connection after the change (default: show version / show system uptime).'),
        expect: z.string().max(200).optional().describe('Regex its output must match for the change to be confirmed.'),
      })
      .optional()
      .describe('Check run after the change before it is confirmed; failing it rolls the change back.'),
    comment: z.string().max(100).regex(/^[^"\x00-\x1f]*$/, 'no double quotes or control characters').optional().describe('Commit comment (Junos).'),
  }),
  annotations: CHANGE_DEVICE,
  preview: true,
  effect: (input, ctx) => deviceEffect(ctx, input.devices),
  async handler(input, ctx) {
    const network = ctx.services.network;
    const targets = await Promise.all(input.devices.map((d, i) => network.target(d, `devices[${i}]`)));
    if (new Set(input.devices).size !== input.devices.length) throw invalidArgument('devices', 'a device is listed twice');
    const { lines, source } = await changeLines(network, input);
    for (const t of targets) preflight(t.platform, lines);
    const minutes = input.confirmMinutes ?? network.options.confirmMinutes;
    const comment = input.comment ?? 'mcpcp config_apply';
    if (ctx.dryRun) {
      const sections: string[] = [];
      const structured: Record<string, unknown>[] = [];
      for (const t of targets) {
        const running = await readConfig(network, t, 'running', 'set', ctx.signal);
        const { diff, note } = localDiff(t, running, { lines });
        const shown = sanitizedDiff(t, diff);
        const commands = plannedCommands(t.platform, lines, minutes, comment).map((c) => sanitize(t.platform, c));
        sections.push(
          [
            `== ${t.device.name} (${t.platform.title}): ${diff.filter((l) => /^[+-]/.test(l)).length} line(s) would change`,
            `safety: ${safetyNote(t.platform, minutes)}`,
            'commands, in order:',
            ...commands.map((c) => `  ${c}`),
            'diff (computed locally):',
            ...(shown.length === 0 ? ['  (no change)'] : shown),
            ...(note === undefined ? [] : [note]),
          ].join('\n'),
        );
        structured.push({ device: t.device.name, commands, diff: shown });
      }
      return {
        text: `Dry run: ${plural(lines.length, 'line')} from ${source} on ${plural(targets.length, 'device')}. Nothing was sent.\n${sections.join('\n')}`,
        structured: { dryRun: true, devices: structured },
      };
    }
    // Undo (one device): its full prior configuration, kept encrypted by the control plane, and
    // how config_get shows it (secrets removed) for the three-way difference.
    const prior = targets.length === 1 ? await priorConfig(network, targets[0]!, ctx.budgetBytes, ctx.signal) : undefined;
    const reports: ApplyReport[] = [];
    for (const [i, t] of targets.entries()) {
      await ctx.progress(i, targets.length, `applying on ${t.device.name}`);
      const r = await applyChange(network, t, lines, { minutes, comment, postCheck: input.postCheck ?? {}, signal: ctx.signal });
      reports.push(r);
      if (r.status !== 'applied' && r.status !== 'unchanged') break;
    }
    const skipped = targets.slice(reports.length).map((t) => t.device.name);
    const ok = reports.every((r) => r.status === 'applied' || r.status === 'unchanged') && skipped.length === 0;
    const text = [
      ok ? `Applied on ${plural(reports.length, 'device')}.` : `FAILED: stopped at ${reports[reports.length - 1]?.device ?? '?'}${skipped.length > 0 ? `; not attempted: ${skipped.join(', ')}` : ''}.`,
      ...reports.map((r) => sanitize(targets.find((t) => t.device.name === r.device)?.platform ?? targets[0]!.platform, reportText(r))),
    ].join('\n');
    const structured = {
      ok,
      devices: reports.map((r) => ({ device: r.device, status: r.status, applied: r.applied, total: r.total, ...(r.failedLine === undefined ? {} : { failedLine: r.failedLine }), ...(r.error === undefined ? {} : { error: r.error }), ...(r.backup === undefined ? {} : { backup: r.backup }) })),
      skipped,
    };
    // A failed change is a failed call (isError); the kit has no structured error result, so the report is the message.
    if (!ok) throw new ControlPlaneError(NetworkErrorCode.configFailed, text, { details: { structured } });
    const device = targets[0]!;
    const undo: UndoHandle =
      prior === undefined
        ? { undoable: false, reason: `${targets.length} devices were changed in one call; undo is kept for a change of one device` }
        : reports[0]?.status !== 'applied'
          ? { undoable: false, reason: 'nothing changed: the running configuration already had these lines' }
          : configUndo(device, prior, `restore the configuration ${device.device.name} had before the change`);
    return { text, structured, undo };
  },
});
