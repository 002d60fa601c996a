/**
 * What `device_command` may send: read-only commands only, checked before anything reaches a
 * device. In order: length; newlines and control characters; the platform's forbidden characters
 * (command separators, redirections); `|` filters against the platform's allow and deny lists;
 * then the words against the platform's read-only grammar, resolving abbreviations the way the
 * device would (`sh run` is `show running-config`), refusing ambiguous ones, naming words that
 * change the device or the session (`conf t`, `reload`, `terminal length`), and finally the
 * deny rules on the resolved command. What is sent is the resolved command, so the device never
 * sees an abbreviation it might read differently.
 */
import { ControlPlaneError } from '../../core/errors';
import { NetworkErrorCode } from './client';
import type { PlatformDefinition } from './platforms';

export const MAX_COMMAND_LENGTH = 512;

export interface CheckedCommand {
  /** Keywords in full, single spaces (`show ip interface brief`). */
  readonly resolved: string;
  readonly args: readonly string[];
  /** `|` filters, resolved (`include Gi0/1`). */
  readonly pipes: readonly string[];
  /** What is sent: resolved words, arguments and filters. */
  readonly text: string;
}

interface Node {
  readonly children: Map<string, Node>;
  run: boolean;
  args: boolean;
}

const trees = new WeakMap<PlatformDefinition, Node>();

function grammar(platform: PlatformDefinition): Node {
  let root = trees.get(platform);
  if (root !== undefined) return root;
  root = { children: new Map(), run: false, args: false };
  for (const rule of platform.commands.allow) {
    let node = root;
    for (const word of rule.split(' ')) {
      if (word === '*') {
        node.args = true;
        continue;
      }
      let next = node.children.get(word);
      if (next === undefined) {
        next = { children: new Map(), run: false, args: false };
        node.children.set(word, next);
      }
      node = next;
    }
    node.run = true;
  }
  trees.set(platform, root);
  return root;
}

function refuse(command: string, problem: string, hint: string): ControlPlaneError {
  return new ControlPlaneError(NetworkErrorCode.notAllowed, `Command refused: ${problem}`, { details: { field: 'command', command, hint } });
}

/** Words, keeping "double-quoted strings" together. */
export function splitWords(text: string): string[] {
  return text.match(/"[^"]*"|\S+/g) ?? [];
}

/** Splits on `|` outside double quotes. */
function splitPipes(text: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === '|' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

function resolveWord(word: string, candidates: readonly string[], abbreviations: boolean): { match?: string; ambiguous?: string[] } {
  const w = word.toLowerCase();
  if (candidates.includes(w)) return { match: w };
  if (!abbreviations) return {};
  const hits = candidates.filter((c) => c.startsWith(w));
  if (hits.length === 1) return { match: hits[0] as string };
  if (hits.length > 1) return { ambiguous: hits };
  return {};
}

/** Checks a read-only command for a platform; throws COMMAND_NOT_ALLOWED saying what to change. */
export function checkCommand(platform: PlatformDefinition, command: string): CheckedCommand {
  const cmds = platform.commands;
  if (command.length > MAX_COMMAND_LENGTH) {
    throw refuse(command.slice(0, 40), `longer than ${MAX_COMMAND_LENGTH} characters`, 'Send one short command per call.');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(command)) {
    const what = /[\r\n]/.test(command) ? 'a newline' : 'a control character';
    throw refuse(command, `it contains ${what}; only one command per call, on one line`, 'Use device_command once per command, or device_command_many for several devices.');
  }
  const bad = [...command].find((ch) => cmds.forbidden.includes(ch));
  if (bad !== undefined) {
    throw refuse(command, `the character "${bad}" is not allowed on ${platform.title} (command separators, redirections and escapes are refused)`, 'Send a single read-only command without separators.');
  }
  const [main = '', ...pipeParts] = splitPipes(command);
  const pipes: string[] = [];
  if (pipeParts.length > 0) {
    if (cmds.pipes === undefined) throw refuse(command, `"|" is not allowed on ${platform.title}`, 'Send the command without a pipe; the output is returned in full (within the output cap).');
    if (pipeParts.length > 3) throw refuse(command, 'more than 3 "|" filters', 'Use at most 3 filters.');
    for (const part of pipeParts) {
      const [word = '', ...rest] = splitWords(part.trim());
      if (word === '') throw refuse(command, 'an empty "|" filter', 'Remove the trailing "|".');
      const known = [...cmds.pipes.allow, ...cmds.pipes.deny];
      const r = resolveWord(word, known, cmds.abbreviations);
      if (r.ambiguous !== undefined) throw refuse(command, `the filter "${word}" is ambiguous (${r.ambiguous.join(', ')})`, 'Spell the filter out.');
      if (r.match === undefined) throw refuse(command, `unknown filter "| ${word}"`, `Filters allowed on ${platform.title}: ${cmds.pipes.allow.join(', ')}.`);
      if (cmds.pipes.deny.includes(r.match)) {
        throw refuse(command, `the filter "| ${r.match}" writes files or sends output elsewhere`, `Filters allowed on ${platform.title}: ${cmds.pipes.allow.join(', ')}.`);
      }
      pipes.push([r.match, ...rest].join(' '));
    }
  }
  const words = splitWords(main.trim());
  if (words.length === 0) throw refuse(command, 'it is empty', 'Send a read-only command such as "show version".');
  let node = grammar(platform);
  const resolved: string[] = [];
  let args: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    const children = [...node.children.keys()];
    const candidates = i === 0 ? [...new Set([...children, ...cmds.denyWords])] : children;
    const r = resolveWord(word, candidates, cmds.abbreviations);
    if (r.ambiguous !== undefined) {
      if (node.args && i > 0) {
        args = words.slice(i);
        break;
      }
      throw refuse(command, `"${word}" is ambiguous here (${r.ambiguous.slice(0, 8).join(', ')})`, 'Type more of the keyword.');
    }
    if (r.match === undefined || (i === 0 && !node.children.has(r.match))) {
      if (i === 0 && r.match !== undefined) {
        throw refuse(
          command,
          `"${r.match}" changes the device or the session, which device_command never does`,
          r.match === 'configure' || r.match === 'edit' || r.match === 'set' || r.match === 'load' || r.match === 'commit'
            ? 'Configuration changes go through config_apply (with a preview and a safe apply).'
            : 'Only read-only commands (show, display, ping-like diagnostics) are accepted.',
        );
      }
      if (node.args && i > 0) {
        args = words.slice(i);
        break;
      }
      const next = children.slice(0, 12).join(', ');
      throw refuse(
        command,
        i === 0 ? `"${word}" is not a read-only command on ${platform.title}` : `"${resolved.join(' ')} ${word}" is not an allowed read-only command on ${platform.title}`,
        next === '' ? 'Only read-only commands are accepted.' : `After "${resolved.join(' ') || '(start)'}" the allowed words are: ${next}${children.length > 12 ? ', ...' : ''}.`,
      );
    }
    resolved.push(r.match);
    node = node.children.get(r.match) as Node;
  }
  if (!node.run && args.length === 0) {
    throw refuse(command, `"${resolved.join(' ')}" is incomplete`, `Continue with one of: ${[...node.children.keys()].slice(0, 12).join(', ')}.`);
  }
  if (cmds.argPattern !== undefined) {
    const re = new RegExp(cmds.argPattern);
    const badArg = args.find((a) => !re.test(a));
    if (badArg !== undefined) throw refuse(command, `the argument "${badArg}" has characters that are not allowed`, 'Arguments may use letters, digits and . _ / : = , @ % + -.');
  }
  const resolvedText = [...resolved, ...args].join(' ');
  for (const rule of cmds.deny) {
    if (new RegExp(rule.pattern).test(resolvedText)) throw refuse(command, `"${resolvedText}" ${rule.reason}`, 'Use another read-only command.');
  }
  return { resolved: resolved.join(' '), args, pipes, text: [resolvedText, ...pipes].join(' | ') };
}
