import { z } from 'zod';
import { ControlPlaneError } from '../../../core/errors';
import { NetworkErrorCode } from '../client';
import { defineNetworkTool, deviceField, READ_DEVICE } from '../define';
import { simplifyJunosJson } from '../parse';
import type { NetworkService, Target } from '../services';
import { parseText } from '../textfsm/engine';

export interface Facts {
  device: string;
  platform: string;
  vendor: string;
  hostname: string;
  model: string;
  osVersion: string;
  uptime: string;
  serial: string;
}

async function read(network: NetworkService, target: Target, command: string, signal: AbortSignal): Promise<string> {
  const res = await network.readCommand(target.device.name, command, { signal });
  if (res.error !== undefined) throw new ControlPlaneError(NetworkErrorCode.commandRejected, `${target.device.name} rejected "${command}": ${res.error}`);
  return res.text;
}

function first(v: unknown): string {
  if (Array.isArray(v)) return first(v[0]);
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function dig(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (Array.isArray(cur)) cur = cur[0];
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  }
  return cur;
}

function textField(text: string, re: RegExp): string {
  return re.exec(text)?.[1]?.trim() ?? '';
}

/** The Chassis row's "Serial number" column of Junos `show chassis hardware` (columns found by the header). */
function chassisSerial(text: string): string {
  const lines = text.split('\n');
  const header = lines.find((l) => /^Item\s+.*Serial number/.test(l));
  const row = lines.find((l) => /^Chassis\s/.test(l));
  if (header === undefined || row === undefined) return '';
  return /^\S*/.exec(row.slice(header.indexOf('Serial number')))?.[0] ?? '';
}

/** Vendor, model, OS version, uptime, serial (and hostname) from the platform's own commands. */
export async function gatherFacts(network: NetworkService, target: Target, signal: AbortSignal): Promise<Facts> {
  const spec = target.platform.facts;
  const base = { device: target.device.name, platform: target.platform.id, vendor: target.platform.vendor };
  if (spec.kind === 'textfsm') {
    const text = await read(network, target, spec.command, signal);
    const template = network.templates.find(target.platform.templatePlatforms, spec.command);
    const row = template === undefined ? undefined : parseText(template, text)[0];
    const f = (k: keyof typeof spec.fields): string => first(spec.fields[k] === undefined ? undefined : row?.[spec.fields[k]]);
    return { ...base, hostname: f('hostname'), model: f('model'), osVersion: f('osVersion'), uptime: f('uptime'), serial: f('serial') };
  }
  if (spec.kind === 'junos-json') {
    // JSON when the device gives it; text (Junos before 14.2, or a session that refuses the pipe) otherwise.
    const json = async (cmd: string): Promise<unknown> => {
      const res = await network.readCommand(target.device.name, `${cmd} | display json`, { signal });
      if (res.error !== undefined) return undefined;
      try {
        return simplifyJunosJson(JSON.parse(res.text.slice(Math.max(0, res.text.indexOf('{')))));
      } catch {
        return undefined;
      }
    };
    const version = await json('show version');
    const versionText = version === undefined ? await read(network, target, 'show version', signal) : '';
    const chassis = await json('show chassis hardware');
    const chassisText = chassis === undefined ? await read(network, target, 'show chassis hardware', signal) : '';
    const uptime = await json('show system uptime');
    const uptimeText = uptime === undefined ? await read(network, target, 'show system uptime', signal) : '';
    return {
      ...base,
      hostname: version === undefined ? textField(versionText, /^Hostname:\s*(\S+)/m) : first(dig(version, 'software-information', 'host-name')),
      model: version === undefined ? textField(versionText, /^Model:\s*(\S+)/m) : first(dig(version, 'software-information', 'product-model')),
      // Older releases print no "Junos:" line, only package lines such as "JUNOS Base OS boot [12.3R12.4]".
      osVersion: version === undefined ? textField(versionText, /^Junos:\s*(\S+)/m) || textField(versionText, /^JUNOS\b[^[\n]*\[([^\]\s]+)\]/m) : first(dig(version, 'software-information', 'junos-version')),
      uptime:
        uptime === undefined
          ? textField(uptimeText, /\bup\s+(.+?),\s+\d+\s+users?,/).replace(/\s+/g, ' ')
          : first(dig(uptime, 'system-uptime-information', 'uptime-information', 'up-time')) || first(dig(uptime, 'system-uptime-information', 'system-booted-time', 'time-length')),
      serial: chassis === undefined ? chassisSerial(chassisText) : first(dig(chassis, 'chassis-inventory', 'chassis', 'serial-number')),
    };
  }
  const hostname = (await read(network, target, 'hostname', signal)).trim();
  const kernel = (await read(network, target, 'uname -srm', signal)).trim();
  const osRelease = await read(network, target, 'cat /etc/os-release', signal);
  const seconds = Number((await read(network, target, 'cat /proc/uptime', signal)).split(/\s+/)[0] ?? '0');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? kernel;
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return { ...base, hostname, model: kernel.split(' ').pop() ?? '', osVersion: `${pretty} (${kernel.split(' ').slice(0, 2).join(' ')})`, uptime: `${d} days, ${h} hours, ${m} minutes`, serial: '' };
}

export const deviceFacts = defineNetworkTool({
  name: 'device_facts',
  title: 'Device: Facts',
  description: 'Vendor, model, OS version, uptime, serial number and hostname of one device, read with the platform\'s own commands (show version; Junos JSON, or its text output where `| display json` is refused; Linux uname and os-release).',
  input: z.object({ device: deviceField() }),
  annotations: READ_DEVICE,
  async handler(input, ctx) {
    const network = ctx.services.network;
    const target = await network.target(input.device);
    const f = await gatherFacts(network, target, ctx.signal);
    const text = [
      `${f.device}: ${f.vendor} ${f.model || '(model unknown)'} (${target.platform.title})`,
      `hostname: ${f.hostname || '-'}`,
      `os version: ${f.osVersion || '-'}`,
      `uptime: ${f.uptime || '-'}`,
      `serial: ${f.serial || '-'}`,
    ].join('\n');
    return { text, structured: { ...f } };
  },
});
