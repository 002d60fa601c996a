// The extension's per-tool controls and Add Server, as far as they are testable without VS Code:
// the menus' `when` clauses against the tree's context values, the modal's text naming the exact
// rule, and how a typed server becomes an adoption plan (command split without a shell, secrets
// moved to the store as references).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { planAdoption } from '../../src/core/adopt';
import { placeToolRule, policyRuleSchema } from '../../src/core/policy';
import { parsePair, proposedName, serverNameProblem, splitCommandLine, typedServerConfig } from '../../src/extension/add-server-input';
import { allowDialog, destructiveRefusal, notEffectiveText, tightenedText } from '../../src/extension/tool-rules-text';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  contributes: { menus: Record<string, Array<{ command: string; when?: string }>> };
};

/** The `viewItem =~ /…/` or `viewItem == x` test of a menu entry, as VS Code evaluates it. */
function menuShows(command: string, contextValue: string): boolean {
  return pkg.contributes.menus['view/item/context']!.filter((m) => m.command === command).some((m) => {
    const re = /viewItem =~ \/(.*)\/(?:\s|$)/.exec(m.when ?? '');
    if (re) return new RegExp(re[1]!).test(contextValue);
    const eq = /viewItem == (\S+)/.exec(m.when ?? '');
    return eq !== null && eq[1] === contextValue;
  });
}

describe('tool context menus', () => {
  it('offer "Always Allow" only on allowable tools, never on destructive ones', () => {
    assert.equal(menuShows('mcpControlPlane.tool.allow', 'tool.unannotated.allowable.default'), true);
    assert.equal(menuShows('mcpControlPlane.tool.allow', 'tool.readOnly.allowable.approval'), true);
    assert.equal(menuShows('mcpControlPlane.tool.allow', 'tool.readOnly.allowable.allowed'), false, 'already always allowed');
    assert.equal(menuShows('mcpControlPlane.tool.allow', 'tool.destructive.fixed.default'), false);
    assert.equal(menuShows('mcpControlPlane.tool.allow', 'tool.write.fixed.approval'), false);
  });
  it('offer "Always Require Approval" and "Disable Tool" on every tool, "Enable Tool" on disabled ones', () => {
    assert.equal(menuShows('mcpControlPlane.tool.requireApproval', 'tool.destructive.fixed.default'), true);
    assert.equal(menuShows('mcpControlPlane.tool.requireApproval', 'tool.readOnly.allowable.approval'), false, 'already asks');
    assert.equal(menuShows('mcpControlPlane.tool.disable', 'tool.destructive.fixed.default'), true);
    assert.equal(menuShows('mcpControlPlane.tool.disable', 'toolDisabled'), false);
    assert.equal(menuShows('mcpControlPlane.tool.enable', 'toolDisabled'), true);
  });
});

describe('what the per-tool commands say', () => {
  const ref = { server: 'memory', tool: 'create_entities', builtin: false };
  it('the modal names the exact rule, as settings.json shows it, and where it goes', () => {
    const user = [policyRuleSchema.parse({ server: 'memory', tool: 'delete_*', decision: 'deny' })];
    const placed = placeToolRule(user, ref, 'allow');
    const d = allowDialog(ref, placed);
    assert.equal(d.message, 'Always allow "create_entities" on memory?');
    assert.ok(d.detail.includes(JSON.stringify(placed.rule, null, 2)), d.detail);
    assert.match(d.detail, /as rule #2 of 2, after your deny rule \(they still win\):/);
    assert.match(d.detail, /Now: waits for approval by default\./);
    assert.equal(d.button, 'Always Allow');
  });
  it('says why nothing is written when a rule before it decides every call, and when the tool is destructive', () => {
    const placed = placeToolRule([policyRuleSchema.parse({ server: 'memory', decision: 'approve', id: 'memory-asks' })], ref, 'allow');
    assert.match(notEffectiveText(ref, placed), /^Nothing written: rule #1 \(approve, "memory-asks"\)/);
    assert.match(destructiveRefusal({ server: 'git', tool: 'push' }), /not offered for "push" on git.*Nothing was written/);
  });
  it('a tightening says what it wrote', () => {
    const placed = placeToolRule([], { server: 'git', tool: 'repo_status', builtin: true, annotations: { readOnlyHint: true } }, 'approve');
    assert.match(tightenedText({ server: 'git', tool: 'repo_status' }, placed), /now wait for your approval: wrote \{ "id": "always-approve git\/repo_status".* as rule #1 of 1 .*before: allowed by default/);
  });
});

describe('Add Server input', () => {
  it('splits a command line like a shell reads it, without expanding anything', () => {
    assert.deepEqual(splitCommandLine('npx -y @modelcontextprotocol/server-memory'), ['npx', '-y', '@modelcontextprotocol/server-memory']);
    assert.deepEqual(splitCommandLine(`node "/path with spaces/s.js" --name 'a b' x\\ y`), ['node', '/path with spaces/s.js', '--name', 'a b', 'x y']);
    assert.deepEqual(splitCommandLine('node s.js $HOME ~ *.js ; rm -rf / && echo `id`'), ['node', 's.js', '$HOME', '~', '*.js', ';', 'rm', '-rf', '/', '&&', 'echo', '`id`']);
    assert.deepEqual(splitCommandLine(`a "q\\"x" ''`), ['a', 'q"x', '']);
    assert.throws(() => splitCommandLine('node "open'), /double quote is not closed/);
    assert.throws(() => splitCommandLine("node 'open"), /single quote is not closed/);
  });
  it('validates names and proposes one from the package or host', () => {
    assert.equal(serverNameProblem('memory', ['git']), undefined);
    assert.match(serverNameProblem('git', ['git']) ?? '', /exists already/);
    assert.match(serverNameProblem('Bad Name', []) ?? '', /lower-case/);
    assert.equal(proposedName(['npx', '-y', '@modelcontextprotocol/server-memory@1.2.0'], undefined), 'server-memory');
    assert.equal(proposedName(['node', '/x/dist/test/fixtures/servers/well-behaved.js'], undefined), 'well-behaved');
    assert.equal(proposedName(undefined, 'https://mcp.example.com/mcp'), 'example');
  });
  it('reads NAME=value and Name: value', () => {
    assert.deepEqual(parsePair('API_TOKEN=a=b', 'env'), { key: 'API_TOKEN', value: 'a=b' });
    assert.equal(parsePair('not a pair', 'env'), undefined);
    assert.deepEqual(parsePair('Authorization: Bearer xyz', 'header'), { key: 'Authorization', value: 'Bearer xyz' });
  });
  it('a typed server goes through the adoption plan: the exact command line, and a token moved to the store as a reference', () => {
    const token = `ghp_${'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'.slice(0, 36)}`;
    const parsed = typedServerConfig({ name: 'memory', words: ['node', '/srv/memory server.js', '--flag'], env: { GITHUB_TOKEN: token, MODE: 'fast' } });
    const plan = planAdoption(parsed, { existing: {}, editorRunsFile: false, move: false, pathValue: process.env['PATH'] ?? '' });
    assert.equal(plan.servers.length, 1);
    const s = plan.servers[0]!;
    assert.equal(s.name, 'memory');
    assert.equal(s.config.command, 'node');
    assert.deepEqual(s.config.args, ['/srv/memory server.js', '--flag']);
    assert.equal(s.commandLine, "node '/srv/memory server.js' --flag");
    assert.equal(s.config.env?.['MODE'], 'fast');
    assert.match(s.config.env?.['GITHUB_TOKEN'] ?? '', /^\$\{secret:memory-github-token\}$/);
    assert.equal(s.secrets[0]?.value, token);
    assert.ok(!JSON.stringify(s.config).includes(token), 'the token is not in what settings get');
    const url = planAdoption(typedServerConfig({ name: 'remote', url: 'https://mcp.example.com/mcp', headers: { Authorization: `Bearer ${token}` } }), { existing: {}, editorRunsFile: false, move: false });
    assert.equal(url.servers[0]?.config.url, 'https://mcp.example.com/mcp');
    assert.match(url.servers[0]?.config.headers?.['Authorization'] ?? '', /^Bearer \$\{secret:remote-authorization\}$/);
  });
});
