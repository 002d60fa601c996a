import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { invalidArgument } from '../../kit';
import { NetworkErrorCode } from '../client';
import { readConfig, sanitizedDiff } from '../config-read';
import { diffIndented, parseIndented } from '../config-text';
import { defineNetworkTool, plural } from '../define';
import { ShellSession } from '../session';
import { deviceEffect } from '../effects';

/** Said before approval (dry run) and recorded with the call. */
const SAVE_IRREVERSIBLE = 'the startup configuration it replaces (the one a reload would boot) is not kept: an undo restores running configurations only';

export const configSave = defineNetworkTool({
  name: 'config_save',
  title: 'Config: Save',
  description:
    'Saves the running configuration as the startup configuration (copy running-config startup-config) on Cisco devices, so it survives a reload. Junos needs nothing (commits are persistent). dryRun: true shows, per device, what the startup configuration would gain and lose.',
  input: z.object({ devices: z.array(z.string().min(1)).min(1).max(50).describe('Devices to save.') }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  preview: true,
  effect: (input, ctx) => deviceEffect(ctx, input.devices),
  async handler(input, ctx) {
    const network = ctx.services.network;
    const targets = await Promise.all(input.devices.map((d, i) => network.target(d, `devices[${i}]`)));
    if (new Set(input.devices).size !== input.devices.length) throw invalidArgument('devices', 'a device is listed twice');
    const out: string[] = [];
    const results: Record<string, unknown>[] = [];
    for (const t of targets) {
      const save = t.platform.configCommands.save;
      if (save === undefined) {
        if (t.platform.configCommands.format === 'none') throw new ControlPlaneError(NetworkErrorCode.unsupported, `${t.device.name}: ${t.platform.title} devices have no configuration to save`);
        out.push(`== ${t.device.name}: nothing to do (${t.platform.title} commits are persistent)`);
        results.push({ device: t.device.name, saved: false, reason: 'persistent' });
        continue;
      }
      if (ctx.dryRun) {
        const [running, startup] = await Promise.all([readConfig(network, t, 'running', 'text', ctx.signal), readConfig(network, t, 'startup', 'text', ctx.signal)]);
        const diff = sanitizedDiff(t, diffIndented(parseIndented(t.platform, startup), parseIndented(t.platform, running), t.platform.id === 'cisco_nxos' ? '  ' : ' '));
        const changed = diff.filter((l) => /^[+-]/.test(l)).length;
        out.push(`== ${t.device.name}: would run "${save.command}"; startup would change by ${plural(changed, 'line')}`, ...diff.slice(0, 200));
        results.push({ device: t.device.name, command: save.command, changed });
        continue;
      }
      const res = await network.withSession(
        t.device.name,
        async (s) => {
          if (!(s instanceof ShellSession)) throw new ControlPlaneError(NetworkErrorCode.unsupported, 'no CLI');
          await s.toLevel('privileged', ctx.signal);
          return s.run(save.command, { timeoutMs: Math.max(60_000, t.device.timeoutSeconds * 1000), maxBytes: 64_000, answers: t.platform.confirmPrompts, signal: ctx.signal });
        },
        { retryOnDrop: false, signal: ctx.signal },
      );
      if (res.error !== undefined || !new RegExp(save.success).test(res.text)) {
        throw new ControlPlaneError(NetworkErrorCode.commandFailed, `${t.device.name}: "${save.command}" did not succeed: ${res.error ?? res.text.trim()}`, {
          details: { hint: `Saved before it: ${results.filter((r) => r['saved'] === true).map((r) => String(r['device'])).join(', ') || 'none'}.` },
        });
      }
      out.push(`== ${t.device.name}: saved (${res.text.trim().split('\n').pop() ?? ''})`);
      results.push({ device: t.device.name, saved: true });
    }
    return {
      text: `${ctx.dryRun ? 'Dry run: nothing was saved.\n' : ''}${out.join('\n')}`,
      structured: { ...(ctx.dryRun ? { dryRun: true } : {}), devices: results },
      // What a device boots with: an undo restores running configurations, never an overwritten startup one.
      ...(ctx.dryRun ? { irreversible: [SAVE_IRREVERSIBLE] } : { undo: { undoable: false, reason: SAVE_IRREVERSIBLE } }),
    };
  },
});
