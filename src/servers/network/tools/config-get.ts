import { z } from 'zod';
import { pageLines, type ToolReply } from '../../kit';
import type { Target } from '../services';
import { sanitize } from '../config-text';
import { readConfig } from '../config-read';
import { defineNetworkTool, deviceField, READ_DEVICE } from '../define';

export const configGet = defineNetworkTool({
  name: 'config_get',
  title: 'Config: Get',
  description:
    'Reads a device configuration: running (default), startup, or the Junos candidate. Secrets (passwords, keys, communities) are replaced with <removed>. Junos can return set lines (format: set). section narrows the output to top-level sections whose first line matches a regex. Long configurations are paged: call again with the offset given in the note.',
  input: z.object({
    device: deviceField(),
    source: z.enum(['running', 'startup', 'candidate']).default('running').describe('running, startup (Cisco), or candidate (Junos: the shared candidate, uncommitted changes included).'),
    format: z.enum(['text', 'set']).default('text').describe('Junos only: text (hierarchical) or set (one set statement per line).'),
    section: z.string().max(200).optional().describe('Regex on section header lines (e.g. "^interface Gi" or "^protocols"): only matching top-level sections are returned.'),
    offset: z.number().int().min(0).default(0).describe('First line to show (for the next page).'),
  }),
  annotations: READ_DEVICE,
  async handler(input, ctx) {
    const network = ctx.services.network;
    const target = await network.target(input.device);
    const raw = await readConfig(network, target, input.source, input.format, ctx.signal);
    return showConfig(target, raw, { ...input, budgetBytes: ctx.budgetBytes });
  },
});

/**
 * A configuration as config_get shows it (secrets removed, sections, paging). config_apply uses it
 * for the undo's "before", so the drift check (config_get) compares like with like.
 */
export function showConfig(target: Target, raw: string, input: { source: 'running' | 'startup' | 'candidate'; format: 'text' | 'set'; section?: string | undefined; offset: number; budgetBytes: number }): ToolReply {
  let lines = sanitize(target.platform, raw).split('\n');
  if (input.section !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(input.section);
    } catch (err) {
      return { text: `Invalid "section": ${(err as Error).message}` };
    }
    const out: string[] = [];
    let keep = false;
    for (const l of lines) {
      if (/^\S/.test(l) && !/^[!}]/.test(l)) keep = re.test(l) || re.test(l.replace(/^set /, ''));
      if (keep) out.push(l);
    }
    lines = out;
  }
  const page = pageLines(lines, { offset: input.offset, budgetBytes: input.budgetBytes, more: (n) => `Call config_get again with offset=${n}.` });
  const head = `${target.device.name} ${input.source} configuration (${target.platform.title}${input.format === 'set' ? ', set format' : ''}; secrets removed): ${page.totalLines} lines`;
  return { text: `${head}\n${page.text}`, structured: { device: target.device.name, source: input.source, config: page.text, totalLines: page.totalLines, ...(page.nextOffset === undefined ? {} : { nextOffset: page.nextOffset }) } };
}
