// The built git server behind the real gateway and supervisor, as `npm start` serves it: tools
// appear with their annotations, repo_status reports the fixture workspace's real state (roots
// come from the host), and a destructive call is previewed with dryRun before it runs.
// Run `npm run build` first.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { gatewayConfigSchema, supervisorConfigSchema } from '../../../src/core/config/schema';
import { Gateway } from '../../../src/core/gateway/gateway';
import type { OversightStages } from '../../../src/core/gateway/pipeline';
import { Supervisor } from '../../../src/core/supervisor/supervisor';
import { waitFor } from '../../helpers/fixture-plane';
import { cleanup, git, makeRepo, tempDir, write } from '../../unit/git/fixture';

const SERVER = resolve(__dirname, '../../../dist/servers/git.js');

let ws: string;
let home: string;
let repo: string;
let gateway: Gateway;
let supervisor: Supervisor;
let client: Client;
const previews: { tool: string; text: string; fileDuringPreview: string }[] = [];

const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

before(async () => {
  assert.ok(existsSync(SERVER), `${SERVER} is missing: run \`npm run build\` first`);
  ws = tempDir();
  home = tempDir('mcpcp-home-');
  repo = makeRepo(join(ws, 'project'), [{ 'README.md': '# p\n', 'app.ts': 'v1\n' }]);
  write(repo, 'app.ts', 'v2 uncommitted\n');
  write(repo, 'notes.txt', 'n\n');

  const stages: OversightStages = {
    policy: async (call) =>
      call.annotations?.destructiveHint === true
        ? { decision: 'approve', reason: 'destructive', rule: { source: 'test' } }
        : { decision: 'allow', reason: 'not destructive', rule: { source: 'test' } },
    approve: async (call, _verdict, runPreview) => {
      const preview = await runPreview();
      previews.push({ tool: call.name, text: preview === undefined ? '(none)' : text(preview), fileDuringPreview: readFileSync(join(repo, 'app.ts'), 'utf8') });
      return { approved: true, reason: 'test approves' };
    },
    audit: () => undefined,
  };
  gateway = new Gateway({ config: gatewayConfigSchema.parse({}), roots: () => [{ uri: pathToFileURL(ws).href, name: 'ws' }], stages });
  supervisor = new Supervisor({ config: supervisorConfigSchema.parse({ healthIntervalMs: 60_000 }), hooks: gateway });
  gateway.attach(supervisor);
  await gateway.listen();
  await supervisor.apply([
    {
      name: 'git',
      builtin: true,
      fingerprint: 'git-test',
      resolveSpawn: async () => ({ command: process.execPath, args: [SERVER], env: { PATH: process.env['PATH'] ?? '', HOME: home } }),
    },
  ]);
  client = new Client({ name: 'gateway-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(gateway.url('git')), { requestInit: { headers: { Authorization: `Bearer ${gateway.token}` } } }),
  );
});

after(async () => {
  await client?.close();
  await supervisor?.stopAll();
  await gateway?.close();
  supervisor?.dispose();
  cleanup(ws, home);
});

describe('git server through the gateway', () => {
  it('lists the git tools, destructive ones annotated and previewable', async () => {
    let names: string[] = [];
    await waitFor(async () => {
      names = (await client.listTools()).tools.map((t) => t.name);
      return names.length > 0;
    }, 10_000, 'git tools');
    const { tools } = await client.listTools();
    assert.equal(tools.length, 31);
    for (const name of ['reset', 'clean', 'push', 'branch_delete']) {
      const t = tools.find((x) => x.name === name);
      assert.equal(t?.annotations?.destructiveHint, true, name);
      assert.equal(t?._meta?.['mcpcp/preview'], true, name);
    }
    assert.equal(tools.find((t) => t.name === 'repo_status')?.annotations?.readOnlyHint, true);
  });

  it('repo_status returns the real state of the workspace the host gave as roots', async () => {
    const r = CallToolResultSchema.parse(await client.callTool({ name: 'repo_status', arguments: {} }));
    assert.equal(r.isError, undefined, text(r));
    assert.equal(r.structuredContent?.['repository'], repo);
    assert.equal(r.structuredContent?.['branch'], 'main');
    assert.deepEqual(r.structuredContent?.['unstaged'], [{ path: 'app.ts', change: 'M' }]);
    assert.deepEqual(r.structuredContent?.['untracked'], ['notes.txt']);
  });

  it('previews a destructive call with dryRun (changing nothing) before running it', async () => {
    const r = CallToolResultSchema.parse(await client.callTool({ name: 'reset', arguments: { mode: 'hard' } }));
    assert.equal(r.isError, undefined, text(r));
    const preview = previews.find((p) => p.tool === 'reset');
    assert.ok(preview, 'the gateway ran the preview');
    assert.match(preview.text, /^Dry run: hard reset of main[\s\S]*Uncommitted changes discarded in 1 file:\n {2}app\.ts[\s\S]*Nothing was changed\.$/);
    assert.equal(preview.fileDuringPreview, 'v2 uncommitted\n', 'the preview changed nothing');
    assert.equal(readFileSync(join(repo, 'app.ts'), 'utf8'), 'v1\n');
    assert.match(text(r), /Backup kept: /);
    assert.match(git(repo, 'for-each-ref', 'refs/mcp-control-plane/backup/'), /reset/);
  });
});
