import { z } from 'zod';
import { pageLines } from '../../kit';
import { ControlPlaneError } from '../../../core/errors';
import { NetworkErrorCode } from '../client';
import { sanitize } from '../config-text';
import { defineNetworkTool, deviceField, READ_DEVICE, timeoutField } from '../define';
import { parser, rowsTable } from '../parse';
import type { NetworkService, Target } from '../services';

export const commandField = z
  .string()
  .min(1)
  .max(512)
  .describe(
    'One read-only command, e.g. "show ip interface brief" (abbreviations like "sh ip int br" are resolved). Configuration commands, newlines, ";" and output redirection are refused; "|" filters the platform allows (include, exclude, begin, section, count; Junos match, except, display) are accepted.',
  );

export const parseField = z
  .boolean()
  .default(false)
  .describe('Return structured rows instead of text: TextFSM templates on Cisco (show version, show ip interface brief, show interfaces, show vlan, show ip route, show cdp/lldp neighbors, show inventory), the device JSON on Junos. Not with "|" filters.');

export interface CommandOutcome {
  readonly device: string;
  readonly command: string;
  readonly text: string;
  readonly truncated: boolean;
  readonly rows?: unknown[];
  readonly json?: unknown;
}

/** Checks, runs and (optionally) parses one read-only command; throws COMMAND_REJECTED when the device refuses it. */
export async function runReadOnly(network: NetworkService, target: Target, command: string, opts: { parse: boolean; timeoutSeconds?: number | undefined; signal: AbortSignal }): Promise<CommandOutcome> {
  const checked = network.check(target, command);
  const p = opts.parse ? await parser(network, target, checked) : undefined;
  const send = p?.send ?? checked.text;
  const res = await network.readCommand(target.device.name, send, { timeoutMs: opts.timeoutSeconds === undefined ? undefined : opts.timeoutSeconds * 1000, signal: opts.signal });
  const text = sanitize(target.platform, res.text);
  if (res.error !== undefined) {
    // The parser may have added a pipe (Junos `| display json`) that older releases lack.
    const added = send.startsWith(checked.text) ? send.slice(checked.text.length).trim() : '';
    const hint =
      added === ''
        ? 'Check the command syntax for this platform; abbreviations must be unique.'
        : `If the command is right, this device does not accept "${added}" for it (Junos before 14.2 has no | display json): run it with parse: false.`;
    throw new ControlPlaneError(NetworkErrorCode.commandRejected, `${target.device.name} rejected "${send}":\n${res.error}`, { details: { device: target.device.name, hint } });
  }
  const parsed = p?.read(res.text);
  return { device: target.device.name, command: send, text, truncated: res.truncated, ...(parsed?.rows === undefined ? {} : { rows: parsed.rows }), ...(parsed?.json === undefined ? {} : { json: parsed.json }) };
}

export const deviceCommand = defineNetworkTool({
  name: 'device_command',
  title: 'Device: Command',
  description:
    'Runs one read-only command on one device over SSH and returns its output (secrets sanitized). The command is checked first against the platform\'s read-only list: abbreviations are resolved, configuration commands, newlines and separators are refused. parse: true returns structured rows. Long output is paged: call again with the offset given in the note.',
  input: z.object({
    device: deviceField(),
    command: commandField,
    parse: parseField,
    timeoutSeconds: timeoutField,
    offset: z.number().int().min(0).default(0).describe('First output line to show (for the next page of a long output).'),
  }),
  annotations: READ_DEVICE,
  async handler(input, ctx) {
    const network = ctx.services.network;
    const target = await network.target(input.device);
    const out = await runReadOnly(network, target, input.command, { parse: input.parse, timeoutSeconds: input.timeoutSeconds, signal: ctx.signal });
    const head = `${out.device} (${target.platform.title}) > ${out.command}`;
    const capNote = out.truncated ? `\n[truncated by the device output cap of ${network.options.maxOutputBytes} bytes: narrow the command, e.g. with a filter.]` : '';
    if (out.rows !== undefined) {
      const table = rowsTable(out.rows as never);
      const page = pageLines(table.split('\n'), { offset: input.offset, budgetBytes: ctx.budgetBytes, more: (n) => `Call device_command again with offset=${n}.` });
      const rows = out.rows.slice(0, 500);
      return {
        text: `${head}\n${out.rows.length} rows\n${page.text}${capNote}`,
        structured: { device: out.device, command: out.command, rows, ...(rows.length < out.rows.length ? { rowsOmitted: out.rows.length - rows.length } : {}) },
      };
    }
    if (out.json !== undefined) {
      const json = JSON.stringify(out.json, null, 1);
      const page = pageLines(json.split('\n'), { offset: input.offset, budgetBytes: ctx.budgetBytes, more: (n) => `Call device_command again with offset=${n}.` });
      return { text: `${head}\n${page.text}${capNote}`, structured: { device: out.device, command: out.command, json: out.json as Record<string, unknown> } };
    }
    const page = pageLines(out.text.split('\n'), { offset: input.offset, budgetBytes: ctx.budgetBytes, more: (n) => `Call device_command again with offset=${n}.` });
    // VS Code hands the model only the structured result when there is one: it carries the output.
    return { text: `${head}\n${page.text}${capNote}`, structured: { device: out.device, command: out.command, output: `${page.text}${capNote}`, totalLines: page.totalLines, ...(page.nextOffset === undefined ? {} : { nextOffset: page.nextOffset }) } };
  },
});
