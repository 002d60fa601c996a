// Effects of the network tools that change configuration (the kit's effect contract): the devices a
// call changes and their tags and groups, from the inventory the server has loaded (no connection).
import type { EffectContext, ToolEffect } from '../kit';
import type { NetworkServices } from './define';

/** `{type: network.config, device, tags, groups}` for the named devices (sorted, tags and groups merged). */
export async function deviceEffect(ctx: EffectContext<NetworkServices>, devices: readonly string[]): Promise<ToolEffect> {
  const targets = await Promise.all(devices.map((d, i) => ctx.services.network.target(d, devices.length === 1 ? 'device' : `devices[${i}]`)));
  const tags = new Set(targets.flatMap((t) => t.device.tags));
  const groups = new Set(targets.flatMap((t) => t.device.groups));
  return { type: 'network.config', device: targets.map((t) => t.device.name), tags: [...tags].sort(), groups: [...groups].sort() };
}
