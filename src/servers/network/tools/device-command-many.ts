import { z } from 'zod';
import { byteLength, cutToBytes, invalidArgument, truncationNote } from '../../kit';
import { errorMessage } from '../../../core/errors';
import { defineNetworkTool, plural, READ_DEVICE, timeoutField } from '../define';
import { rowsTable } from '../parse';
import { commandField, parseField, runReadOnly } from './device-command';

interface Result {
  device: string;
  ok: boolean;
  ms: number;
  text?: string;
  rows?: unknown[];
  json?: unknown;
  error?: string;
}

export const deviceCommandMany = defineNetworkTool({
  name: 'device_command_many',
  title: 'Devices: Command',
  description:
    'Runs the same read-only command on several devices at once (by name, group or tag; the union), within the server\'s fan-out limit, and returns one result per device: its output or its error. Same checks as device_command, per device platform. Outputs are cut to share the budget; run device_command on one device for its full output.',
  input: z.object({
    devices: z.array(z.string().min(1)).max(1000).optional().describe('Device names.'),
    groups: z.array(z.string().min(1)).max(100).optional().describe('Inventory groups: all their devices.'),
    tags: z.array(z.string().min(1)).max(100).optional().describe('Tags: all devices carrying one of them.'),
    command: commandField,
    parse: parseField,
    timeoutSeconds: timeoutField,
  }),
  annotations: READ_DEVICE,
  outputKind: 'command',
  async handler(input, ctx) {
    const network = ctx.services.network;
    if ((input.devices?.length ?? 0) + (input.groups?.length ?? 0) + (input.tags?.length ?? 0) === 0) {
      throw invalidArgument('devices', 'no device selected', 'Give devices, groups or tags.');
    }
    const targets = await network.select({ devices: input.devices, groups: input.groups, tags: input.tags });
    if (targets.length === 0) throw invalidArgument('groups', 'the selection matches no device', 'devices_list shows groups and tags.');
    let done = 0;
    const results: Result[] = await Promise.all(
      targets.map(async (t): Promise<Result> => {
        const start = Date.now();
        try {
          const out = await runReadOnly(network, t, input.command, { parse: input.parse, timeoutSeconds: input.timeoutSeconds, signal: ctx.signal });
          return { device: t.device.name, ok: true, ms: Date.now() - start, text: out.text, ...(out.rows === undefined ? {} : { rows: out.rows }), ...(out.json === undefined ? {} : { json: out.json }) };
        } catch (err) {
          return { device: t.device.name, ok: false, ms: Date.now() - start, error: errorMessage(err) };
        } finally {
          done++;
          void ctx.progress(done, targets.length, t.device.name);
        }
      }),
    );
    const failed = results.filter((r) => !r.ok).length;
    const share = Math.max(300, Math.floor(ctx.budgetBytes / results.length) - 80);
    const bodies = new Map<string, string>();
    const sections = results.map((r) => {
      const head = `== ${r.device}: ${r.ok ? 'ok' : 'FAILED'} (${r.ms} ms)`;
      let body = r.ok ? (r.rows !== undefined ? rowsTable(r.rows as never) : r.json !== undefined ? JSON.stringify(r.json) : (r.text ?? '')) : (r.error ?? '');
      if (byteLength(body) > share) {
        const total = byteLength(body);
        body = `${cutToBytes(body, share)}\n${truncationNote(`${share} of ${total} bytes`, `${total - share} bytes`, `Run device_command on ${r.device} for the full output.`)}`;
      }
      bodies.set(r.device, body);
      return `${head}\n${body}`;
    });
    const head = `${input.command} on ${plural(results.length, 'device')}: ${results.length - failed} ok, ${failed} failed`;
    return {
      text: `${head}\n${sections.join('\n')}`,
      structured: {
        command: input.command,
        results: results.map((r) => ({
          device: r.device,
          ok: r.ok,
          ms: r.ms,
          ...(r.error === undefined ? {} : { error: r.error }),
          ...(r.rows === undefined ? {} : { rows: r.rows.slice(0, 200) }),
          ...(r.json === undefined ? {} : { json: r.json }),
          // The text a model would otherwise miss (VS Code shows only the structured result).
          ...(r.ok && r.rows === undefined && r.json === undefined ? { output: bodies.get(r.device) ?? '' } : {}),
        })),
      },
    };
  },
});
