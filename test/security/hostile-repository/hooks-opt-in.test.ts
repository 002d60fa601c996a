// Hooks are off for the agent's calls unless a human opted the repository in, naming the hooks.
// The control plane passes the opt-ins in MCPCP_GIT_HOOKS_ALLOW; this drives the built server
// (dist/servers/git.js, `npm run build` first) over stdio with that variable set, as the
// supervisor starts it.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { BUILTIN_SERVERS } from '../../../src/core/builtin-servers';
import { parseHooksAllow } from '../../../src/servers/git';
import { cleanup, git, makeRepo, tempDir, write } from '../../unit/git/fixture';

const SERVER = resolve(__dirname, '../../../dist/servers/git.js');
const HOOKS = ['pre-commit', 'commit-msg', 'post-commit', 'post-checkout', 'reference-transaction'];

let base: string;
let ws: string;
let markers: string;

/** A repository whose hooks (in `dir` relative to the work tree, default .git/hooks) write markers named <repo>-<hook>. */
function repoWithHooks(name: string, hooksDir = '.git/hooks'): string {
  const repo = makeRepo(join(ws, name));
  mkdirSync(join(repo, hooksDir), { recursive: true });
  for (const hook of HOOKS) {
    writeFileSync(join(repo, hooksDir, hook), `#!/bin/sh\ntouch '${join(markers, `${name}-${hook}`)}'\n`);
    chmodSync(join(repo, hooksDir, hook), 0o755);
  }
  if (hooksDir !== '.git/hooks') git(repo, 'config', 'core.hooksPath', hooksDir);
  return repo;
}

async function withServer<T>(env: Record<string, string>, fn: (call: (tool: string, args: Record<string, unknown>) => Promise<{ isError: boolean; text: string }>) => Promise<T>): Promise<T> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER],
    env: { PATH: process.env['PATH'] ?? '', HOME: base, ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'hooks-test', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } } });
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: pathToFileURL(ws).href, name: 'ws' }] }));
  await client.connect(transport);
  try {
    return await fn(async (tool, args) => {
      const r = CallToolResultSchema.parse(await client.callTool({ name: tool, arguments: args }));
      return { isError: r.isError === true, text: r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n') };
    });
  } finally {
    await client.close();
  }
}

/** Stages a change and commits it through the server. */
async function commitThrough(call: (tool: string, args: Record<string, unknown>) => Promise<{ isError: boolean; text: string }>, repo: string, n: number): Promise<void> {
  write(repo, 'README.md', `change ${n}\n`);
  assert.equal((await call('add', { repo, paths: ['README.md'] })).isError, false);
  const r = await call('commit', { repo, message: `change ${n}` });
  assert.equal(r.isError, false, r.text);
  assert.equal((await call('switch', { repo, branch: `b${n}`, create: true })).isError, false);
}

const fired = () => readdirSync(markers).sort();

before(() => {
  assert.ok(existsSync(SERVER), `${SERVER} is missing: run \`npm run build\` first`);
  base = tempDir('mcpcp-hooks-');
  ws = join(base, 'ws');
  markers = join(base, 'markers');
  mkdirSync(markers, { recursive: true });
});
after(() => cleanup(base));

describe('hooks are off unless a human opted the repository in', () => {
  it('the control plane passes MCPCP_GIT_HOOKS_ALLOW through to the git server', () => {
    assert.ok(BUILTIN_SERVERS.find((s) => s.name === 'git')?.passEnv.includes('MCPCP_GIT_HOOKS_ALLOW'));
  });

  it('no variable, an empty one or a malformed one: no hook runs (and plain git would run them)', async () => {
    const repo = repoWithHooks('plain');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'plain git runs hooks');
    assert.ok(fired().includes('plain-pre-commit'), 'the hooks are live');
    for (const f of fired()) cleanup(join(markers, f));
    let n = 0;
    const envs: Record<string, string>[] = [{}, { MCPCP_GIT_HOOKS_ALLOW: '' }, { MCPCP_GIT_HOOKS_ALLOW: '[]' }, { MCPCP_GIT_HOOKS_ALLOW: '{not json' }, { MCPCP_GIT_HOOKS_ALLOW: JSON.stringify([{ repo, hooks: ['pre-commit', 'rm -rf /'] }]) }];
    for (const env of envs) {
      await withServer(env, (call) => commitThrough(call, repo, ++n));
    }
    assert.deepEqual(fired(), []);
  });

  it('runs exactly the named hooks of exactly the named repository', async () => {
    const mine = repoWithHooks('mine');
    const other = repoWithHooks('other');
    const husky = repoWithHooks('husky', '.husky');
    const env = {
      MCPCP_GIT_HOOKS_ALLOW: JSON.stringify([
        { repo: mine, hooks: ['pre-commit', 'commit-msg'] },
        { repo: husky, hooks: ['pre-commit'] },
      ]),
    };
    await withServer(env, async (call) => {
      await commitThrough(call, mine, 1);
      await commitThrough(call, other, 2);
      await commitThrough(call, husky, 3);
    });
    assert.deepEqual(fired(), ['husky-pre-commit', 'mine-commit-msg', 'mine-pre-commit']);
  });

  it('parses the opt-in strictly', () => {
    assert.deepEqual(parseHooksAllow(undefined), []);
    assert.deepEqual(parseHooksAllow('[{"repo":"relative/path","hooks":["pre-commit"]}]'), []);
    assert.deepEqual(parseHooksAllow('[{"repo":"/r","hooks":["../../bin/sh"]}]'), []);
    assert.deepEqual(parseHooksAllow('[{"repo":"/r","hooks":["pre-commit","pre-commit"]}]'), [{ repo: '/r', hooks: ['pre-commit'] }]);
  });
});
