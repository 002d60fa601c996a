import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkWorkspaceConfig } from '../../../src/core/config/workspace';
import { ConsentStore } from '../../../src/core/consent/store';
import { gitHooksGrant } from '../../../src/core/consent/git-hooks';
import { onlyTightens } from '../../../src/core/oversight/policy-source';
import type { PolicyFile } from '../../../src/core/policy';

const deny = (tool: string): PolicyFile['rules'][number] => ({ tool, decision: 'deny' });
const allow = (tool: string): PolicyFile['rules'][number] => ({ tool, decision: 'allow' });

describe('workspace policy: what counts as only tightening', () => {
  it('adding deny/approve rules anywhere tightens; removing, changing, adding an allow or dropping read-only mode does not', () => {
    const before: PolicyFile = { rules: [deny('a'), allow('b')] };
    assert.equal(onlyTightens(before, { rules: [deny('a'), allow('b')] }), true);
    assert.equal(onlyTightens(before, { rules: [deny('x'), deny('a'), allow('b'), { tool: 'y', decision: 'approve' }] }), true);
    assert.equal(onlyTightens(before, { rules: [deny('a'), allow('b')], readOnlyMode: true }), true);
    assert.equal(onlyTightens(before, { rules: [allow('b')] }), false, 'a rule removed');
    assert.equal(onlyTightens(before, { rules: [allow('a'), deny('a'), allow('b')] }), false, 'an allow added before a deny');
    assert.equal(onlyTightens(before, { rules: [allow('b'), deny('a')] }), false, 'reordered');
    assert.equal(onlyTightens(before, { rules: [{ tool: 'a', decision: 'approve' }, allow('b')] }), false, 'deny weakened to approve');
    assert.equal(onlyTightens({ rules: [], readOnlyMode: true }, { rules: [] }), false, 'read-only mode switched off');
  });
});

describe('workspace configuration allowlist', () => {
  const project = mkdtempSync(join(tmpdir(), 'mcpcp-allow-'));
  mkdirSync(join(project, 'sub'));
  it('accepts policy, proposed servers, built-ins switched off and roots inside the project', () => {
    checkWorkspaceConfig({ policy: { rules: [], readOnlyMode: true }, servers: { git: { enabled: false, tools: { exclude: ['push'] } }, x: { command: 'node', args: ['a'], env: {}, envFile: '.env', cwd: 'sub', passEnv: [], url: undefined, tools: {} } }, roots: ['.', 'sub'] }, 'f', project);
  });
  it('names every other key', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ dataDir: 'x' }, /"dataDir"/],
      [{ gateway: {} }, /"gateway"/],
      [{ network: { trustedInventory: 'x' } }, /"network"/],
      // Team mode (identities, roles, self-approval, listen address) is the operator's alone.
      [{ team: { publicUrl: 'https://x.example.com', allowSelfApproval: true } }, /"team"/],
      [{ storage: { postgres: { url: '${secret:db}' } } }, /"storage"/],
      [{ policy: { rules: [], extra: 1 } }, /"policy\.extra"/],
      [{ servers: { kubernetes: { passEnv: ['X'] } } }, /"servers\.kubernetes\.passEnv"/],
      [{ servers: { x: { command: 'node', allowSecretInArgs: true } } }, /"servers\.x\.allowSecretInArgs"/],
      [{ servers: { git: { retries: 3 } } }, /"servers\.git\.retries"/],
      [{ roots: ['/tmp'] }, /"roots\[0\]"/],
      [{ roots: ['sub/../..'] }, /"roots\[0\]"/],
    ];
    for (const [raw, key] of bad) assert.throws(() => checkWorkspaceConfig(raw, 'f', project), (err: Error) => key.test(err.message), JSON.stringify(raw));
  });
});

describe('consent store', () => {
  it('is owner-only, replaces a grant for the same source and name, and revokes by id prefix', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'mcpcp-store-')), 'data');
    const store = new ConsentStore(dir);
    const g = { kind: 'server' as const, id: 'aaaa11112222', source: '/w/.mcpcp/config.yaml', name: 's', hash: 'h1', secrets: ['k'], argSecrets: false, summary: [], grantedAt: 'now' };
    await store.grant(g);
    assert.equal(statSync(store.file).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    await store.grant({ ...g, id: 'bbbb11112222', hash: 'h2' });
    assert.deepEqual((await store.grants()).map((x) => ('hash' in x ? x.hash : x.kind)), ['h2']);
    assert.equal(await store.grantFor({ kind: 'server', source: g.source, name: 's', hash: 'h1' }), undefined, 'an old hash matches nothing');
    await store.grant(gitHooksGrant(dir, ['pre-push', 'pre-commit']));
    assert.deepEqual((await store.grants()).find((x) => x.kind === 'git-hooks'), { ...gitHooksGrant(dir, ['pre-commit', 'pre-push']), grantedAt: (await store.grants()).find((x) => x.kind === 'git-hooks')!.grantedAt });
    const revoked = await store.revoke('bbbb');
    assert.equal(revoked && 'name' in revoked ? revoked.name : undefined, 's');
    assert.equal((await store.grants()).length, 1);
  });
});
