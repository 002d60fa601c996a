/**
 * Structured output for `parse: true`: TextFSM rows for platforms with templates, the device's
 * own JSON for Junos (`| display json`, flattened from Junos' `[{"data": ...}]` wrapping).
 */
import { ControlPlaneError } from '../../core/errors';
import { formatTable } from '../kit';
import { NetworkErrorCode } from './client';
import type { CheckedCommand } from './command-policy';
import type { NetworkService, Target } from './services';
import { parseText, type Row } from './textfsm/engine';

/** Junos JSON without its wrapping: `[{"data": "x"}]` → "x", one-element lists unwrapped, attributes dropped. */
export function simplifyJunosJson(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(simplifyJunosJson);
    return items.length === 1 ? items[0] : items;
  }
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => k !== 'attributes');
    if (keys.length === 1 && keys[0] === 'data') return obj['data'];
    return Object.fromEntries(keys.map((k) => [k, simplifyJunosJson(obj[k])]));
  }
  return value;
}

export interface Parsed {
  readonly kind: 'rows' | 'json';
  readonly rows?: Row[];
  readonly json?: unknown;
}

/** What to send for `parse: true`, and how to read the answer; throws NO_PARSER when there is none. */
export async function parser(network: NetworkService, target: Target, checked: CheckedCommand): Promise<{ send: string; read: (text: string) => Parsed }> {
  const p = target.platform.parse;
  if (checked.pipes.length > 0) {
    throw new ControlPlaneError('INVALID_ARGUMENT', 'Invalid "parse": cannot be combined with "|" filters (parsers read the full output)', {
      details: { field: 'parse', hint: 'Drop the filter, or set parse to false.' },
    });
  }
  const command = [checked.resolved, ...checked.args].join(' ');
  if (p.kind === 'json-pipe') {
    return {
      send: `${checked.text}${p.suffix}`,
      read: (text) => {
        const start = text.indexOf('{');
        try {
          return { kind: 'json', json: simplifyJunosJson(JSON.parse(start < 0 ? text : text.slice(start))) };
        } catch {
          throw new ControlPlaneError(NetworkErrorCode.noParser, `${target.device.name} did not answer "${command}${p.suffix}" with JSON`, {
            details: { hint: 'This command may not support | display json; run it without parse.' },
          });
        }
      },
    };
  }
  if (p.kind === 'none') {
    throw new ControlPlaneError(NetworkErrorCode.noParser, `parse is not available for ${target.platform.title} devices`, { details: { field: 'parse', hint: 'Run the command with parse: false.' } });
  }
  const template = await network.template(target, command);
  if (template === undefined) {
    throw new ControlPlaneError(NetworkErrorCode.noParser, `No TextFSM template for "${command}" on ${target.platform.title}`, {
      details: {
        field: 'parse',
        hint: `Run it with parse: false, or point MCPCP_NTC_TEMPLATES_DIR at an ntc-templates folder. Built-in templates: show version, show ip interface brief, show interfaces, show vlan, show ip route, show cdp/lldp neighbors, show inventory.`,
      },
    });
  }
  return { send: checked.text, read: (text) => ({ kind: 'rows', rows: parseText(template, text) }) };
}

/** Rows as a compact table (List cells joined with commas). */
export function rowsTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '(no rows)';
  const headers = Object.keys(rows[0] ?? {});
  const cell = (v: Row[string] | undefined): string => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(',') : (v ?? ''));
  return formatTable(
    headers.map((h) => ({ header: h, maxWidth: 40 })),
    rows.map((r) => headers.map((h) => cell(r[h]))),
  );
}
