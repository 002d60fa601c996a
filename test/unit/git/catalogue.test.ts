// What the model sees of the git server: names, titles, descriptions, schemas, annotations and
// the preview flag. Any change is a reviewed diff of test/snapshots/git.json.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { matchCatalogueSnapshot } from '../../helpers/snapshot';
import { connect, type Harness } from './fixture';

let h: Harness;
let tools: Tool[];

/** One property of a JSON schema, as far as these tests read it. */
const Property = z.object({ type: z.string().optional(), description: z.string().optional() });

before(async () => {
  h = await connect([]);
  tools = (await h.client.listTools()).tools;
});
after(() => h.close());

describe('git tool catalogue', () => {
  it('matches the snapshot', () => {
    matchCatalogueSnapshot('git', tools);
  });

  it('names every tool in snake_case with a "Noun: Verb" title', () => {
    for (const t of tools) {
      assert.match(t.name, /^[a-z]+(_[a-z]+)*$/);
      assert.match(t.title ?? '', /^[A-Z][a-z]+: [A-Z][a-z]+$/);
    }
  });

  it('marks read-only tools read-only, and gives every destructive tool a preview with dryRun', () => {
    const readOnly = tools.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name);
    assert.deepEqual(readOnly, ['repo_list', 'repo_status', 'diff', 'log', 'show', 'blame', 'branch_list', 'tag_list', 'remote_list', 'stash_list', 'reflog', 'repo_state', 'backup_list']);
    const destructive = tools.filter((t) => t.annotations?.destructiveHint === true);
    assert.deepEqual(
      destructive.map((t) => t.name),
      ['restore', 'commit', 'branch_delete', 'switch', 'reset', 'stash_pop', 'push', 'clean', 'backup_restore', 'backup_rewind'],
    );
    for (const t of destructive) {
      assert.equal(t._meta?.['mcpcp/preview'], true, t.name);
      assert.equal(Property.parse(t.inputSchema.properties?.['dryRun']).type, 'boolean', t.name);
    }
    const network = tools.filter((t) => t.annotations?.openWorldHint === true).map((t) => t.name);
    assert.deepEqual(network, ['fetch', 'pull', 'push']);
  });

  it('describes every input field', () => {
    for (const t of tools) {
      for (const [field, schema] of Object.entries(t.inputSchema.properties ?? {})) {
        assert.ok(typeof Property.parse(schema).description === 'string', `${t.name}.${field}`);
      }
    }
  });
});
