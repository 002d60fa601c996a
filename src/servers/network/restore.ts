// Restoring a whole earlier configuration (an undo of config_apply, docs/undo.md): the commands
// that turn the running configuration into it, computed from the two texts, then applied with the
// platform's safe commit strategy like any change.
import { parseIndented, parseSetLines, type ConfigNode } from './config-text';
import type { Target } from './services';

/** What secret removal leaves in a configuration (config-text `sanitize`). */
const REMOVED = '<removed>';

export interface RestorePlan {
  /** Configuration lines, in order, that make the running configuration the target one. */
  readonly lines: string[];
  /** Lines that could not be restored because their secret was removed from the text given. */
  readonly skipped: string[];
}

/** The configuration format config_get and the restore use for this platform. */
export function configFormat(target: Target): 'set' | 'text' {
  return target.platform.configCommands.format === 'set' ? 'set' : 'text';
}

/** The lines that turn `running` into `wanted` (both as the device prints them). */
export function restorePlan(target: Target, running: string, wanted: string): RestorePlan {
  const skipped: string[] = [];
  const keep = (line: string): boolean => {
    if (!line.includes(REMOVED)) return true;
    skipped.push(line.trim());
    return false;
  };
  if (configFormat(target) === 'set') {
    const now = parseSetLines(running);
    const then = parseSetLines(wanted);
    const lines = [...now.filter((l) => !then.includes(l)).map((l) => `delete ${l}`), ...then.filter((l) => !now.includes(l)).map((l) => `set ${l}`)];
    return { lines: lines.filter(keep), skipped };
  }
  const lines: string[] = [];
  // Each change is sent with its full section path: a statement that opens a section (or a
  // global one) leaves the section before it, so no `exit` is needed and none can leave config mode.
  const walk = (now: ConfigNode, then: ConfigNode, path: string[]): void => {
    for (const c of now.children) {
      if (!then.children.some((x) => x.text === c.text) && keep(c.text)) lines.push(...path, negate(c.text));
    }
    for (const c of then.children) {
      const old = now.children.find((x) => x.text === c.text);
      if (old === undefined) addAll(c, path);
      else walk(old, c, [...path, c.text]);
    }
  };
  const addAll = (node: ConfigNode, path: string[]): void => {
    if (!keep(node.text)) return;
    if (node.children.length === 0) lines.push(...path, node.text);
    else for (const c of node.children) addAll(c, [...path, node.text]);
  };
  walk(parseIndented(target.platform, running), parseIndented(target.platform, wanted), []);
  return { lines, skipped };
}

function negate(text: string): string {
  return text.startsWith('no ') ? text.slice(3) : `no ${text}`;
}
