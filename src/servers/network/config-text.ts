/**
 * Configuration text without a device: secrets sanitized with the platform's patterns, the
 * running configuration as a tree (Cisco, indented) or as `set` lines (Junos), the effect of
 * configuration lines applied to it the way the CLI applies them (sections, `no`, single-valued
 * statements that replace), and the diff between two configurations. Used for previews and
 * `config_diff`; the device stays the authority when a change is applied.
 */
import type { PlatformDefinition } from './platforms';
import { splitWords } from './command-policy';

const REMOVED = '<removed>';

/** Replaces secret values (passwords, keys, communities) with `<removed>`. */
export function sanitize(platform: PlatformDefinition, text: string): string {
  let out = text;
  for (const p of platform.secrets) {
    out = out.replace(new RegExp(`${p}(?:"[^"]*"|[^\\s;]+)`, 'gm'), `$1${REMOVED}`);
  }
  return out;
}

/** Configuration lines as given by a user or a template: trimmed of trailing space, comments and blanks dropped. */
export function configLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/\s+$/, ''))
    .filter((l) => l.trim() !== '' && !/^\s*!/.test(l) && !/^\s*#/.test(l));
}

// ---- Cisco: indented configuration ----

export interface ConfigNode {
  text: string;
  children: ConfigNode[];
}

/** Words that open a section on Cisco platforms (following lines belong to it). */
const SECTION_HEADERS = [
  'interface', 'router', 'line', 'vlan', 'archive', 'route-map', 'ip access-list', 'ipv6 access-list', 'class-map', 'policy-map',
  'vrf context', 'vrf definition', 'key chain', 'control-plane', 'address-family', 'ip vrf', 'crypto map', 'crypto isakmp policy',
  'track', 'object-group', 'monitor session', 'ip sla', 'template', 'aaa group server', 'tacacs server', 'radius server',
  'port-channel load-balance', 'spanning-tree mst configuration', 'snmp-server view',
];
/** Statements that are always global, even right after a section (a flat paste leaves the section). */
const GLOBAL_STARTS = [
  'hostname', 'ip route', 'ipv6 route', 'ip domain', 'ip name-server', 'ip ssh', 'ip http', 'ip scp', 'ip prefix-list', 'ip dhcp pool',
  'ip community-list', 'ip as-path', 'ip default-gateway', 'ip routing', 'ip cef', 'ntp', 'logging', 'snmp-server', 'username',
  'enable', 'service', 'banner', 'aaa', 'clock', 'boot', 'feature', 'spanning-tree mode', 'vtp', 'cdp run', 'lldp run', 'access-list',
  'errdisable', 'license', 'version', 'end', 'alias', 'system', 'copp', 'no ip domain',
];
const SINGLE_VALUED = [
  'hostname', 'description', 'ip address', 'mtu', 'speed', 'duplex', 'switchport mode', 'switchport access vlan', 'name', 'bandwidth',
  'ip domain name', 'ip domain-name', 'vrf member', 'vrf forwarding', 'encapsulation dot1Q', 'router-id', 'exec-timeout', 'ip mtu',
  'switchport trunk native vlan', 'channel-group', 'shutdown',
];

function startsWithAny(text: string, list: readonly string[]): boolean {
  return list.some((w) => text === w || text.startsWith(`${w} `));
}

function keyOf(text: string): string | undefined {
  const t = text.startsWith('no ') ? text.slice(3) : text;
  if (t === 'shutdown') return 'shutdown';
  const key = SINGLE_VALUED.find((k) => t === k || t.startsWith(`${k} `));
  if (key === 'ip address' && / secondary$/.test(t)) return undefined;
  return key;
}

/** Parses `show running-config` output into a tree (indentation), dropping headers and `!` lines. */
export function parseIndented(platform: PlatformDefinition, text: string): ConfigNode {
  const ignore = platform.configCommands.ignore.map((p) => new RegExp(p));
  const root: ConfigNode = { text: '', children: [] };
  const stack: { node: ConfigNode; indent: number }[] = [{ node: root, indent: -1 }];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, '');
    const t = line.trim();
    if (t === '' || t.startsWith('!') || t === 'end' || ignore.some((re) => re.test(t))) continue;
    const indent = line.length - line.trimStart().length;
    while (stack.length > 1 && (stack[stack.length - 1]?.indent ?? -1) >= indent) stack.pop();
    const node: ConfigNode = { text: t, children: [] };
    stack[stack.length - 1]?.node.children.push(node);
    stack.push({ node, indent });
  }
  return root;
}

function clone(n: ConfigNode): ConfigNode {
  return { text: n.text, children: n.children.map(clone) };
}

/**
 * Applies configuration lines to a copy of `running` as the Cisco CLI would: indentation or a
 * section header opens a section, a global statement or `exit` leaves it, `no X` removes,
 * single-valued statements replace their previous value.
 */
export function applyIndented(running: ConfigNode, lines: readonly string[], platform: PlatformDefinition): ConfigNode {
  const root = clone(running);
  const stack: { node: ConfigNode; indent: number }[] = [{ node: root, indent: -1 }];
  for (const raw of lines) {
    const indent = raw.length - raw.trimStart().length;
    const text = splitWords(raw.trim()).join(' ');
    if (text === 'end') {
      stack.splice(1);
      continue;
    }
    if (text === 'exit') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    if (indent > 0) {
      while (stack.length > 1 && (stack[stack.length - 1]?.indent ?? -1) >= indent) stack.pop();
    } else if (startsWithAny(text.replace(/^no /, ''), GLOBAL_STARTS) || startsWithAny(text.replace(/^no /, ''), SECTION_HEADERS.filter((h) => h !== 'address-family'))) {
      stack.splice(1);
    }
    const parent = stack[stack.length - 1]?.node ?? root;
    const bare = text.replace(/^(?:no|default) /, '');
    const isHeader = startsWithAny(bare, SECTION_HEADERS);
    if (text.startsWith('no ') || text.startsWith('default ')) {
      if (bare === 'shutdown') {
        parent.children = parent.children.filter((c) => c.text !== 'shutdown');
        if (platform.id === 'cisco_nxos' && text.startsWith('no ') && !parent.children.some((c) => c.text === 'no shutdown')) parent.children.push({ text: 'no shutdown', children: [] });
        continue;
      }
      const key = keyOf(bare);
      parent.children = parent.children.filter((c) => !(c.text === bare || c.text.startsWith(`${bare} `) || (key !== undefined && key === bare && keyOf(c.text) === key)));
      continue;
    }
    if (isHeader) {
      let node = parent.children.find((c) => c.text === text);
      if (node === undefined) {
        node = { text, children: [] };
        parent.children.push(node);
      }
      stack.push({ node, indent });
      continue;
    }
    if (parent.children.some((c) => c.text === text)) continue;
    const key = keyOf(text);
    const same = key === undefined ? -1 : parent.children.findIndex((c) => keyOf(c.text) === key);
    if (same >= 0) parent.children[same] = { text, children: [] };
    else parent.children.push({ text, children: [] });
  }
  return root;
}

/** Hierarchical diff: `+`/`-` lines with their section header as context (` `). */
export function diffIndented(before: ConfigNode, after: ConfigNode, indent = ' '): string[] {
  const out: string[] = [];
  const all = (n: ConfigNode, sign: string, depth: number): void => {
    out.push(`${sign}${indent.repeat(depth)}${n.text}`);
    for (const c of n.children) all(c, sign, depth + 1);
  };
  const walk = (a: ConfigNode, b: ConfigNode, depth: number, header: string | undefined): void => {
    const mark = out.length;
    for (const c of a.children) if (!b.children.some((x) => x.text === c.text)) all(c, '-', depth);
    for (const c of b.children) {
      const old = a.children.find((x) => x.text === c.text);
      if (old === undefined) all(c, '+', depth);
      else walk(old, c, depth + 1, c.text);
    }
    if (out.length > mark && header !== undefined) out.splice(mark, 0, ` ${indent.repeat(depth - 1)}${header}`);
  };
  walk(before, after, 0, undefined);
  return out;
}

// ---- Junos: set lines ----

/** `show configuration | display set` output as statements (without `set `). */
export function parseSetLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('set '))
    .map((l) => splitWords(l.slice(4)).join(' '));
}

const JUNOS_SINGLE = ['host-name', 'description', 'vlan-id', 'mtu', 'router-id', 'autonomous-system', 'domain-name', 'time-zone', 'location', 'contact'];

/** Applies `set`/`delete` lines to statements. Unknown verbs are returned as unsupported. */
export function applySetLines(statements: readonly string[], lines: readonly string[]): { result: string[]; unsupported: string[] } {
  const result = [...statements];
  const unsupported: string[] = [];
  for (const raw of lines) {
    const words = splitWords(raw.trim());
    const verb = words[0];
    const stmt = words.slice(1).join(' ');
    if (verb === 'set') {
      if (result.includes(stmt)) continue;
      const leaf = words[words.length - 2];
      if (leaf !== undefined && JUNOS_SINGLE.includes(leaf)) {
        const prefix = words.slice(1, -1).join(' ');
        for (let i = result.length - 1; i >= 0; i--) if (splitWords(result[i] ?? '').slice(0, -1).join(' ') === prefix) result.splice(i, 1);
      }
      result.push(stmt);
    } else if (verb === 'delete') {
      for (let i = result.length - 1; i >= 0; i--) {
        const s = result[i] ?? '';
        if (s === stmt || s.startsWith(`${stmt} `)) result.splice(i, 1);
      }
    } else unsupported.push(raw.trim());
  }
  return { result, unsupported };
}

export function diffSetLines(before: readonly string[], after: readonly string[]): string[] {
  const removed = before.filter((l) => !after.includes(l)).map((l) => `- set ${l}`);
  const added = after.filter((l) => !before.includes(l)).map((l) => `+ set ${l}`);
  return [...removed, ...added];
}
