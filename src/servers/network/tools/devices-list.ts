import { z } from 'zod';
import { formatTable } from '../../kit';
import { defineNetworkTool, plural, READ_DEVICE } from '../define';
import type { Reachability } from '../services';

function ago(at: Date): string {
  const s = Math.max(0, Math.round((Date.now() - at.getTime()) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

function describe(r: Reachability | undefined): string {
  if (r === undefined) return 'not contacted yet';
  return r.state === 'reachable' ? `reachable (${ago(r.at)})` : `UNREACHABLE (${ago(r.at)}): ${r.error ?? ''}`;
}

export const devicesList = defineNetworkTool({
  name: 'devices_list',
  title: 'Devices: List',
  description:
    'Lists the devices of the inventory (name, address, platform, groups, tags) with their last known reachability. probe: true connects to each listed device now (within the fan-out limit) to refresh it. Filter by group, tag or platform.',
  input: z.object({
    group: z.string().optional().describe('Only devices in this group.'),
    tag: z.string().optional().describe('Only devices with this tag.'),
    platform: z.string().optional().describe('Only devices of this platform (cisco_ios, cisco_xe, cisco_nxos, juniper_junos, linux).'),
    probe: z.boolean().default(false).describe('Connect to each listed device now to check reachability (slower).'),
  }),
  annotations: READ_DEVICE,
  async handler(input, ctx) {
    const network = ctx.services.network;
    const inv = await network.inventory();
    const devices = inv.devices.filter(
      (d) =>
        (input.group === undefined || d.groups.includes(input.group)) &&
        (input.tag === undefined || d.tags.includes(input.tag)) &&
        (input.platform === undefined || d.platform === input.platform),
    );
    if (input.probe) {
      await Promise.all(
        devices.map((d) => network.withSession(d.name, async () => undefined, { retryOnDrop: true, signal: ctx.signal }).catch(() => undefined)),
      );
    }
    const rows = devices.map((d) => [d.name, `${d.host}:${d.port}`, d.platform, d.groups.join(',') || '-', d.tags.join(',') || '-', describe(network.reachability(d.name))]);
    const table = formatTable(
      [{ header: 'NAME' }, { header: 'ADDRESS' }, { header: 'PLATFORM' }, { header: 'GROUPS' }, { header: 'TAGS' }, { header: 'REACHABILITY', maxWidth: 160 }],
      rows,
    );
    const head = `${plural(devices.length, 'device')}${devices.length < inv.devices.length ? ` of ${inv.devices.length}` : ''} in ${inv.file}; groups: ${inv.groups.join(', ') || '(none)'}`;
    return {
      text: `${head}\n${table}`,
      structured: {
        devices: devices.map((d) => {
          const r = network.reachability(d.name);
          return {
            name: d.name,
            host: d.host,
            port: d.port,
            platform: d.platform,
            groups: [...d.groups],
            tags: [...d.tags],
            reachability: r === undefined ? 'unknown' : r.state,
            ...(r === undefined ? {} : { checkedAt: r.at.toISOString() }),
            ...(r?.error === undefined ? {} : { error: r.error }),
          };
        }),
      },
    };
  },
});
