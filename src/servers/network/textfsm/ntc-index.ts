/**
 * An ntc-templates folder: its `index` file (clitable format) maps platform and command to
 * template files. Matching follows clitable: rows in file order, each column a regex matched at the
 * start of the attribute, `[[...]]` in a command meaning an optional completion (`sh[[ow]]`
 * matches `sh`, `sho`, `show`). A row naming several templates (`a.textfsm:b.textfsm`) uses the
 * first; that is a documented limit.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ControlPlaneError } from '../../../core/errors';
import { compileTemplate, type CompiledTemplate } from './template';

interface IndexRow {
  readonly templates: readonly string[];
  readonly platform: RegExp;
  readonly command: RegExp;
  readonly line: number;
}

export const NtcErrorCode = { index: 'NTC_INDEX' } as const;

/** `sh[[ow]]` → `sh(o(w)?)?`: each character of the completion optional in turn. */
export function expandCompletion(pattern: string): string {
  return pattern.replace(/\[\[(.+?)\]\]/g, (_m, word: string) => {
    let out = '';
    for (const ch of [...word].reverse()) out = `(${escapeChar(ch)}${out})?`;
    return out;
  });
}

function escapeChar(ch: string): string {
  return /[\\^$.*+?()[\]{}|]/.test(ch) ? `\\${ch}` : ch;
}

/** A loaded index; templates are compiled on first use and kept. */
export class NtcTemplates {
  private readonly cache = new Map<string, Promise<CompiledTemplate>>();

  private constructor(
    readonly folder: string,
    private readonly rows: readonly IndexRow[],
  ) {}

  static async load(folder: string): Promise<NtcTemplates> {
    const file = join(folder, 'index');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ControlPlaneError(NtcErrorCode.index, `ntc-templates index not readable: ${file}`, { cause: err, details: { file } });
    }
    return new NtcTemplates(folder, parseIndex(text, file));
  }

  /** The template for `command` on any of `platforms` (tried in order), or undefined. */
  async find(platforms: readonly string[], command: string): Promise<CompiledTemplate | undefined> {
    for (const platform of platforms) {
      const row = this.rows.find((r) => matchesAtStart(r.platform, platform) && matchesAtStart(r.command, command));
      if (row === undefined) continue;
      const name = row.templates[0] ?? '';
      let compiled = this.cache.get(name);
      if (compiled === undefined) {
        compiled = readFile(join(this.folder, name), 'utf8').then((t) => compileTemplate(t, name));
        this.cache.set(name, compiled);
      }
      return compiled;
    }
    return undefined;
  }
}

function matchesAtStart(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  return re.test(text);
}

export function parseIndex(text: string, file: string): IndexRow[] {
  const rows: IndexRow[] = [];
  let header: string[] | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const cells = line.split(/\s*,\s*/);
    if (header === undefined) {
      header = cells;
      for (const need of ['Template', 'Platform', 'Command']) {
        if (!header.includes(need)) throw indexError(file, i + 1, `header lacks the "${need}" column`);
      }
      return;
    }
    const cell = (name: string): string => cells[header!.indexOf(name)] ?? '';
    try {
      rows.push({
        templates: cell('Template').split(':'),
        platform: new RegExp(cell('Platform'), 'y'),
        command: new RegExp(expandCompletion(cell('Command')), 'y'),
        line: i + 1,
      });
    } catch (err) {
      throw indexError(file, i + 1, (err as Error).message);
    }
  });
  return rows;
}

function indexError(file: string, line: number, problem: string): ControlPlaneError {
  return new ControlPlaneError(NtcErrorCode.index, `${file}:${line}: ${problem}`, { details: { file, line } });
}
