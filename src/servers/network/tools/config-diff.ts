import { z } from 'zod';
import { invalidArgument, pageLines } from '../../kit';
import { changeFields, changeLines, localDiff, readConfig, sanitizedDiff } from '../config-read';
import { defineNetworkTool, deviceField, READ_DEVICE } from '../define';

export const configDiff = defineNetworkTool({
  name: 'config_diff',
  title: 'Config: Diff',
  description:
    'Shows what configuration lines (or a template, or a full configuration) would change on a device, computed locally against its running configuration without applying anything. Lines are merged the way the CLI does (sections, "no" removes, single-valued statements replace); config replaces the whole configuration. "+" added, "-" removed, " " section context. Secrets are removed.',
  input: z.object({
    device: deviceField(),
    ...changeFields,
    config: z.string().max(2_000_000).optional().describe('A complete configuration to compare with the running one (Junos: set format), instead of lines or template.'),
    offset: z.number().int().min(0).default(0).describe('First diff line to show (for the next page).'),
  }),
  annotations: READ_DEVICE,
  async handler(input, ctx) {
    const network = ctx.services.network;
    const target = await network.target(input.device);
    const given = [input.lines, input.template, input.config].filter((x) => x !== undefined).length;
    if (given !== 1) throw invalidArgument('lines', 'give exactly one of lines, template or config');
    const running = await readConfig(network, target, 'running', 'set', ctx.signal);
    const change = input.config !== undefined ? { full: input.config } : { lines: (await changeLines(network, input)).lines };
    const { diff, note } = localDiff(target, running, change);
    const shown = sanitizedDiff(target, diff);
    const changed = diff.filter((l) => l.startsWith('+') || l.startsWith('-')).length;
    if (changed === 0) return { text: `${target.device.name}: no change (the running configuration already has it).${note === undefined ? '' : `\n${note}`}`, structured: { device: target.device.name, changed: 0 } };
    const page = pageLines(shown, { offset: input.offset, budgetBytes: ctx.budgetBytes, more: (n) => `Call config_diff again with offset=${n}.` });
    return {
      text: `${target.device.name}: ${changed} line(s) would change (computed locally; the device has the last word when applying)${note === undefined ? '' : `\n${note}`}\n${page.text}`,
      structured: { device: target.device.name, changed, diff: page.text, ...(note === undefined ? {} : { note }) },
    };
  },
});
