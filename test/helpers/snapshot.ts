// Snapshot files under test/snapshots/: a change to what they hold must be a reviewed diff.
// UPDATE_SNAPSHOTS=1 rewrites them; otherwise a missing or different snapshot fails the test.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

const SNAPSHOT_DIR = join(__dirname, '..', 'snapshots');

/** Compares `value` (as stable, pretty JSON) with test/snapshots/<name>.json. */
export function matchSnapshot(name: string, value: unknown): void {
  const file = join(SNAPSHOT_DIR, `${name}.json`);
  const actual = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env['UPDATE_SNAPSHOTS'] === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `snapshot ${file} is missing: run the test with UPDATE_SNAPSHOTS=1 to create it, and review it`);
  const expected = readFileSync(file, 'utf8');
  assert.equal(actual, expected, `snapshot ${name} differs: review the change, then run with UPDATE_SNAPSHOTS=1 to accept it`);
}

/** Compares what a model sees of a server's tools with test/snapshots/<name>.json. */
export function matchCatalogueSnapshot(name: string, tools: readonly Tool[]): void {
  matchSnapshot(
    name,
    tools.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      annotations: t.annotations,
      _meta: t._meta,
      inputSchema: t.inputSchema,
      outputSchema: t.outputSchema,
    })),
  );
}
