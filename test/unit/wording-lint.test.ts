// What users read, checked in the source: no "server(s)", no "1 files" (a count before a plural
// noun goes through plural()), no "is failed" (a state in a sentence goes through statePhrase), no
// raw ISO timestamps in the extension and its webviews.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { plural, utcStamp } from '../../src/core/display/words';
import { statePhrase, type ServerStateKind } from '../../src/core/supervisor/state';

const ROOT = join(__dirname, '../..');
/** Where user-facing text is written. */
const DIRS = ['src/extension', 'media/src', 'src/core/adopt', 'src/core/supervisor', 'src/core/notify', 'src/cli'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** The text of string and template literals (template expressions removed), with their line. */
export function literals(source: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let i = 0;
  let line = 1;
  const stack: Array<{ kind: 'template'; text: string; start: number } | { kind: 'expr'; depth: number }> = [];
  const top = () => stack[stack.length - 1];
  while (i < source.length) {
    const c = source[i]!;
    const t = top();
    if (c === '\n') line++;
    if (t?.kind === 'template') {
      if (c === '\\') {
        t.text += source[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === '`') {
        out.push({ line: t.start, text: t.text });
        stack.pop();
        i++;
        continue;
      }
      if (c === '$' && source[i + 1] === '{') {
        t.text += '\u0000';
        stack.push({ kind: 'expr', depth: 0 });
        i += 2;
        continue;
      }
      t.text += c;
      i++;
      continue;
    }
    // Code (top level or inside a template expression).
    if (c === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      line += (source.slice(i, end === -1 ? source.length : end).match(/\n/g) ?? []).length;
      i = end === -1 ? source.length : end + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      while (j < source.length && source[j] !== c && source[j] !== '\n') {
        if (source[j] === '\\') j++;
        text += source[j] ?? '';
        j++;
      }
      out.push({ line, text });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      stack.push({ kind: 'template', text: '', start: line });
      i++;
      continue;
    }
    if (t?.kind === 'expr') {
      if (c === '{') t.depth++;
      if (c === '}') {
        if (t.depth === 0) {
          stack.pop();
          i++;
          continue;
        }
        t.depth--;
      }
    }
    i++;
  }
  return out;
}

const PLURAL_NOUNS = 'files|servers|tools|rules|records|calls|secrets|findings|approvals|crashes|restarts|sessions|entries|requests|commits|objects|lines|times|items|devices|bytes|tests';

function scan(): { optionalPlurals: string[]; countPlurals: string[]; stateSentences: string[]; isoTimes: string[] } {
  const found = { optionalPlurals: [] as string[], countPlurals: [] as string[], stateSentences: [] as string[], isoTimes: [] as string[] };
  for (const dir of DIRS) {
    for (const file of files(join(ROOT, dir))) {
      const source = readFileSync(file, 'utf8');
      const rel = relative(ROOT, file);
      for (const l of literals(source)) {
        if (/[A-Za-z]\(s\)/.test(l.text)) found.optionalPlurals.push(`${rel}:${l.line}: ${l.text.trim()}`);
      }
      source.split('\n').forEach((text, n) => {
        const where = `${rel}:${n + 1}: ${text.trim()}`;
        if (new RegExp(`\\$\\{[^{}]+\\} (?:${PLURAL_NOUNS})\\b`).test(text)) found.countPlurals.push(where);
        if (/\bis \$\{[^{}]*(?:\.kind|\.state)\b[^{}]*\}/.test(text)) found.stateSentences.push(where);
        if ((rel.startsWith('src/extension') || rel.startsWith('media/src') || rel.endsWith('report-html.ts')) && /toISOString\(\)/.test(text) && !/grantedAt:/.test(text)) found.isoTimes.push(where);
      });
    }
  }
  return found;
}

describe('user-facing wording', () => {
  it('the checks catch what they look for (a planted sample)', () => {
    const sample = "const a = `Adopt ${n} server(s)`; const b = 'rule(s)'; fire(s); // comment(s)\nconst c = `x ${f(`${n} file(s)`)} y`;";
    assert.deepEqual(literals(sample).filter((l) => /[A-Za-z]\(s\)/.test(l.text)).map((l) => l.text), ['Adopt \u0000 server(s)', 'rule(s)', '\u0000 file(s)']);
    assert.ok(new RegExp(`\\$\\{[^{}]+\\} (?:${PLURAL_NOUNS})\\b`).test('`${count} files`'));
    assert.ok(/\bis \$\{[^{}]*(?:\.kind|\.state)\b[^{}]*\}/.test('`${s.name} is ${s.state.kind}`'));
  });

  it('no "server(s)"-style optional plurals', () => {
    assert.deepEqual(scan().optionalPlurals, []);
  });

  it('no count before a plural noun without plural() ("1 files")', () => {
    assert.deepEqual(scan().countPlurals, []);
    assert.equal(plural(1, 'file'), '1 file');
    assert.equal(plural(2, 'call was', 'calls were'), '2 calls were');
  });

  it('no state spliced into a sentence ("is failed"): statePhrase reads right for every state', () => {
    assert.deepEqual(scan().stateSentences, []);
    const kinds: ServerStateKind[] = ['stopped', 'starting', 'running', 'unhealthy', 'restarting', 'crash-looping', 'failed'];
    assert.deepEqual(kinds.map(statePhrase), ['is stopped', 'is still starting', 'is running', 'is unhealthy (not answering pings)', 'is restarting', 'is crash-looping', 'has failed']);
  });

  it('no raw ISO timestamps in the extension, its webviews and the assessment page', () => {
    assert.deepEqual(scan().isoTimes, []);
    assert.equal(utcStamp('2026-12-06T14:02:07.123Z'), '2026-12-06 14:02 UTC');
  });
});
