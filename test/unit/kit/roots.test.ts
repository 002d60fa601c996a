import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { RootsTracker, silentLogger } from '../../../src/servers/kit';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'mcpcp-roots-')));
after(() => rmSync(dir, { recursive: true, force: true }));

async function pair(withRoots: boolean, answer: () => { uri: string; name?: string }[] | Promise<never>) {
  const server = new Server({ name: 's', version: '1' }, { capabilities: {} });
  const tracker = new RootsTracker(server, silentLogger);
  const client = new Client({ name: 'c', version: '1' }, { capabilities: withRoots ? { roots: { listChanged: true } } : {} });
  let asked = 0;
  if (withRoots) {
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      asked++;
      return { roots: await answer() };
    });
  }
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  await client.connect(a);
  return { tracker, client, asked: () => asked };
}

describe('RootsTracker', () => {
  it('is unsupported when the client has no roots capability', async () => {
    const { tracker } = await pair(false, () => []);
    assert.deepEqual(await tracker.current(), { kind: 'unsupported' });
  });

  it('keeps existing roots as real paths, drops missing ones, and caches', async () => {
    const link = join(dir, 'link');
    symlinkSync(dir, link);
    const { tracker, asked } = await pair(true, () => [
      { uri: pathToFileURL(link).href, name: 'via link' },
      { uri: pathToFileURL(join(dir, 'missing')).href },
    ]);
    const state = await tracker.current();
    assert.equal(state.kind, 'ready');
    assert.deepEqual(state.kind === 'ready' ? state.roots.map((r) => r.path) : [], [dir]);
    assert.equal(state.kind === 'ready' ? state.ignored.length : 0, 1);
    await tracker.current();
    assert.equal(asked(), 1, 'answers are cached');
  });

  it('asks again after roots/list_changed and tells listeners', async () => {
    let roots = [{ uri: pathToFileURL(dir).href }];
    const { tracker, client, asked } = await pair(true, () => roots);
    assert.equal((await tracker.current()).kind, 'ready');
    const changed = new Promise<number>((resolve) => tracker.onDidChange((s) => resolve(s.kind === 'ready' ? s.roots.length : -1)));
    roots = [];
    await client.sendRootsListChanged();
    assert.equal(await changed, 0);
    assert.equal(asked(), 2);
  });

  it('does not cache a failed answer', async () => {
    let fail = true;
    const { tracker } = await pair(true, () => (fail ? Promise.reject(new Error('nope')) : [{ uri: pathToFileURL(dir).href }]));
    assert.equal((await tracker.current()).kind, 'failed');
    fail = false;
    assert.equal((await tracker.current()).kind, 'ready');
  });
});
