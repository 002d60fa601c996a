/**
 * Reading configurations from devices (running, startup, Junos candidate) and the change lines a
 * tool was given (plain lines or a rendered template), shared by the config_* tools.
 */
import { z } from 'zod';
import { ControlPlaneError } from '../../core/errors';
import { invalidArgument } from '../kit';
import { NetworkErrorCode } from './client';
import { applyIndented, applySetLines, configLines, diffIndented, diffSetLines, parseIndented, parseSetLines, sanitize } from './config-text';
import { renderTemplate, variablesSchema } from './render';
import type { NetworkService, Target } from './services';
import { ShellSession } from './session';

export type ConfigSource = 'running' | 'startup' | 'candidate';

/** The configuration text of a device (not sanitized: callers sanitize before output). */
export async function readConfig(network: NetworkService, target: Target, source: ConfigSource, format: 'text' | 'set', signal: AbortSignal): Promise<string> {
  const cc = target.platform.configCommands;
  if (cc.format === 'none') {
    throw new ControlPlaneError(NetworkErrorCode.unsupported, `${target.device.name}: ${target.platform.title} devices have no configuration to read here`);
  }
  if (source === 'candidate') {
    if (cc.candidate === undefined) {
      throw invalidArgument('source', `${target.platform.title} has no candidate configuration`, 'Use running or startup.');
    }
    return network.withSession(
      target.device.name,
      async (session) => {
        if (!(session instanceof ShellSession)) throw new ControlPlaneError(NetworkErrorCode.unsupported, 'no CLI');
        await session.toLevel('privileged', signal);
        // The shared candidate (what others have staged): enter, show, leave it as it was.
        const opts = { timeoutMs: target.device.timeoutSeconds * 1000, maxBytes: network.options.maxOutputBytes, signal, answers: target.platform.confirmPrompts };
        await session.run('configure', opts);
        const res = await session.run(format === 'set' ? `${cc.candidate} | display set` : cc.candidate ?? 'show', opts);
        await session.run(target.platform.config?.exit ?? 'exit', opts);
        if (res.error !== undefined) throw new ControlPlaneError(NetworkErrorCode.commandRejected, `${target.device.name}: ${res.error}`);
        return res.text;
      },
      { retryOnDrop: true, signal },
    );
  }
  let command: string | undefined;
  if (source === 'startup') {
    command = cc.startup;
    if (command === undefined) throw invalidArgument('source', `${target.platform.title} has no separate startup configuration (commits are persistent)`, 'Use running.');
  } else command = format === 'set' && cc.runningSet !== undefined ? cc.runningSet : cc.running;
  const res = await network.readCommand(target.device.name, command, { signal });
  if (res.error !== undefined) throw new ControlPlaneError(NetworkErrorCode.commandRejected, `${target.device.name} rejected "${command}": ${res.error}`);
  if (res.truncated) throw new ControlPlaneError(NetworkErrorCode.commandFailed, `${target.device.name}: the configuration is larger than the output cap (${network.options.maxOutputBytes} bytes)`);
  return res.text;
}

export const changeFields = {
  lines: z.string().max(200_000).optional().describe('Configuration lines, one per line, as typed in configuration mode (Junos: set/delete statements).'),
  template: z.string().max(200).optional().describe('A template file in the trusted templates folder (nunjucks, Jinja2 syntax), instead of lines.'),
  variables: variablesSchema.optional(),
};

/** The change as lines: `lines` as given, or `template` rendered with `variables`. */
export async function changeLines(network: NetworkService, input: { lines?: string | undefined; template?: string | undefined; variables?: z.infer<typeof variablesSchema> | undefined }): Promise<{ lines: string[]; source: string }> {
  if ((input.lines === undefined) === (input.template === undefined)) {
    throw invalidArgument('lines', 'give exactly one of lines or template', 'Send the configuration lines, or a template name with its variables.');
  }
  if (input.lines !== undefined) return { lines: configLines(input.lines), source: 'lines' };
  const text = await renderTemplate(network.options.templatesDir, input.template ?? '', input.variables ?? {});
  return { lines: configLines(text), source: `template ${input.template ?? ''}` };
}

/** The local diff of `lines` (merge) or `full` (replace) against the running configuration text. */
export function localDiff(target: Target, running: string, change: { lines?: string[]; full?: string }): { diff: string[]; note?: string } {
  const p = target.platform;
  if (p.configCommands.format === 'set') {
    const before = parseSetLines(running);
    if (change.full !== undefined) {
      const full = configLines(change.full);
      if (!full.every((l) => l.trim().startsWith('set '))) {
        throw invalidArgument('config', 'a full Junos configuration must be in set format', 'Send the output of "show configuration | display set".');
      }
      return { diff: diffSetLines(before, parseSetLines(full.join('\n'))) };
    }
    const { result, unsupported } = applySetLines(before, change.lines ?? []);
    return { diff: diffSetLines(before, result), ...(unsupported.length > 0 ? { note: `not previewed locally (only set/delete are): ${unsupported.join('; ')}` } : {}) };
  }
  const tree = parseIndented(p, running);
  const after = change.full !== undefined ? parseIndented(p, change.full) : applyIndented(tree, change.lines ?? [], p);
  return { diff: diffIndented(tree, after, p.id === 'cisco_nxos' ? '  ' : ' ') };
}

export function sanitizedDiff(target: Target, diff: readonly string[]): string[] {
  // The sign goes aside so that line-anchored secret patterns still match.
  return diff.map((l) => `${l.slice(0, 1)}${sanitize(target.platform, l.slice(1))}`);
}
