import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const SRC = join(__dirname, '../../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);

describe('architecture boundaries', () => {
  it('only src/extension imports vscode', () => {
    const offenders = ['core', 'servers', 'cli', 'protocol']
      .flatMap((d) => {
        try {
          return files(join(SRC, d));
        } catch {
          return [];
        }
      })
      .filter((f) => importsOf(f).includes('vscode'))
      .map((f) => relative(SRC, f));
    assert.deepEqual(offenders, []);
  });

  it('servers import neither the extension nor the gateway', () => {
    let serverFiles: string[] = [];
    try {
      serverFiles = files(join(SRC, 'servers'));
    } catch {
      // No servers yet.
    }
    const offenders = serverFiles.filter((f) => importsOf(f).some((i) => /(^|\/)extension(\/|$)|core\/gateway/.test(i))).map((f) => relative(SRC, f));
    assert.deepEqual(offenders, []);
  });

  it('index.ts files export names explicitly (no export *)', () => {
    const offenders = files(SRC).filter((f) => f.endsWith('index.ts') && /export\s+\*/.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f));
    assert.deepEqual(offenders, []);
  });

  it('the boundary scan itself catches a vscode import', () => {
    assert.deepEqual(importsOf('/dev/null').length, 0);
    const sample = "import * as vscode from 'vscode';\nconst x = require(\"vscode\");";
    const found = [...sample.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
    assert.deepEqual(found, ['vscode', 'vscode']);
  });
});
