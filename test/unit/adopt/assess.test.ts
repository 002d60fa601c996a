import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assessLocations,
  buildReport,
  mcpConfigLocations,
  packageArgument,
  parseMcpConfig,
  renderAssessmentHtml,
  reportToJson,
  reportToMarkdown,
  reportToText,
  type AssessmentReport,
  type Finding,
} from '../../../src/core/adopt';
import { TOKENS, placeFixture, tempDir } from './helpers';

/** A workspace and a home folder holding every fixture where its program looks for it. */
function fixtureMachine(): { workspace: string; home: string; files: Record<'vscode' | 'claudeCode' | 'own' | 'desktop' | 'settings', string> } {
  const root = tempDir();
  const workspace = `${root}/project`;
  const home = `${root}/home`;
  const files = {
    vscode: placeFixture(workspace, 'vscode-mcp.json', '.vscode/mcp.json'),
    claudeCode: placeFixture(workspace, 'claude-code.mcp.json', '.mcp.json'),
    own: placeFixture(workspace, 'config.yaml', '.mcpcp/config.yaml'),
    desktop: placeFixture(home, 'claude_desktop_config.json', '.config/Claude/claude_desktop_config.json'),
    settings: placeFixture(home, 'settings.json', '.config/Code/User/settings.json'),
  };
  return { workspace, home, files };
}

async function assessMachine(extra: Parameters<typeof assessLocations>[1] = {}): Promise<{ report: AssessmentReport; files: ReturnType<typeof fixtureMachine>['files'] }> {
  const m = fixtureMachine();
  const locations = mcpConfigLocations({ workspaceFolders: [m.workspace], home: m.home, platform: 'linux', env: {}, ownConfigFiles: [m.files.settings] });
  return { report: await assessLocations(locations, { now: () => new Date('2025-05-01T10:00:00Z'), ...extra }), files: m.files };
}

function find(report: AssessmentReport, rule: Finding['rule'], server: string): Finding[] {
  return report.findings.filter((f) => f.rule === rule && f.server === server);
}

describe('assessment', () => {
  it('finds every planted plaintext secret, with severity, line, column and pointer, never the value', async () => {
    const { report, files } = await assessMachine();
    const secrets = report.findings.filter((f) => f.rule === 'plaintext-secret');
    const by = (server: string): Finding => {
      const list = secrets.filter((f) => f.server === server);
      assert.equal(list.length, 1, `one secret finding for ${server}: ${JSON.stringify(list)}`);
      return list[0]!;
    };
    const github = by('github');
    assert.equal(github.severity, 'critical', 'a GitHub token is recognised by its format');
    assert.deepEqual(github.location, { file: files.vscode, line: 12, column: 16, pointer: '/servers/github/env/GITHUB_PERSONAL_ACCESS_TOKEN' });
    assert.equal(github.remediation?.kind, 'move-secret');
    assert.equal(by('docs').location.pointer, '/servers/docs/headers/Authorization');
    assert.equal(by('docs').severity, 'high');
    assert.equal(by('slack').severity, 'critical');
    assert.equal(by('slack').remediation?.kind, 'adopt-server', 'a Claude file cannot reference the secret store: the fix is adopting the server');
    assert.equal(by('dns').location.pointer, '/mcpServers/dns/env/DNS_API_KEY');
    assert.equal(by('notion').location.pointer, '/mcpServers/notion/url');
    assert.equal(by('remote').location.pointer, '/mcpServers/remote/args/1');
    assert.equal(by('tickets').location.file, files.own);
    assert.deepEqual([by('tickets').location.line, by('tickets').location.column], [10, 7]);
    assert.equal(by('graph').location.file, files.settings);
    assert.equal(secrets.length, 8);
    for (const f of ['msgraph', 'billing', 'filesystem', 'confluence', 'billing-bridge']) assert.equal(find(report, 'plaintext-secret', f).length, 0, f);
    const json = reportToJson(report);
    for (const token of Object.values(TOKENS)) {
      assert.ok(!json.includes(token), `the report never holds ${token.slice(0, 6)}…`);
      assert.ok(!reportToMarkdown(report).includes(token));
    }
  });

  it('finds unpinned packages (npx, @latest, uvx, docker without tag) and leaves pinned ones alone', async () => {
    const { report } = await assessMachine();
    const unpinned = report.findings.filter((f) => f.rule === 'unpinned-package').map((f) => [f.server, f.location.pointer, f.remediation?.kind]);
    assert.deepEqual(unpinned.sort(), [
      ['confluence', '/mcpServers/confluence/args/5', undefined],
      ['dns', '/mcpServers/dns/args/0', 'pin-package'],
      ['github', '/servers/github/args/1', 'pin-package'],
      ['slack', '/mcpServers/slack/args/1', 'pin-package'],
    ]);
    assert.deepEqual(packageArgument({ command: 'npx', args: ['-y', '--package=@a/b', 'b-cli'] }), { ecosystem: 'npm', index: 1, spec: '@a/b', prefix: '--package=', name: '@a/b', pinned: false });
    assert.equal(packageArgument({ command: 'npx', args: ['-y', '@a/b@1.2.3', '--flag'] })?.pinned, true);
    assert.equal(packageArgument({ command: 'npx', args: ['pkg@^1.2.0'] })?.pinned, false);
    assert.equal(packageArgument({ command: 'npx.cmd', args: ['-y', 'pkg@2.0.0-beta.1'] })?.pinned, true);
    assert.equal(packageArgument({ command: 'pnpm', args: ['dlx', 'pkg'] })?.name, 'pkg');
    assert.equal(packageArgument({ command: 'uvx', args: ['--from', 'mcp-x==1.0.2', 'mcp-x'] })?.pinned, true);
    assert.equal(packageArgument({ command: 'uvx', args: ['mcp-x>=1.0'] })?.pinned, false);
    assert.equal(packageArgument({ command: 'docker', args: ['run', '-i', '--rm', 'img@sha256:abc'] })?.pinned, true);
    assert.equal(packageArgument({ command: 'npx', args: ['./local/server.js'] }), undefined);
    assert.equal(packageArgument({ command: 'node', args: ['x'] }), undefined);
  });

  it('finds plain-HTTP remote URLs, bridges on all interfaces, missing timeouts, untrusted workspace servers', async () => {
    const { report, files } = await assessMachine({ workspaceTrusted: false });
    assert.deepEqual(report.findings.filter((f) => f.rule === 'insecure-url').map((f) => [f.server, f.severity, f.location.pointer]), [['billing', 'high', '/servers/billing/url']]);
    const bridge = find(report, 'bridge-all-interfaces', 'billing-bridge');
    assert.equal(bridge.length, 1);
    assert.equal(bridge[0]!.location.pointer, '/mcpServers/billing-bridge/args/7');
    assert.match(bridge[0]!.message, /--host 0\.0\.0\.0/);
    const timeouts = report.findings.filter((f) => f.rule === 'missing-timeout');
    assert.equal(find(report, 'missing-timeout', 'wiki').length, 0, 'wiki has timeoutMs');
    assert.equal(find(report, 'missing-timeout', 'confluence').length, 0, 'confluence has a timeout');
    assert.equal(find(report, 'missing-timeout', 'tickets')[0]!.remediation?.kind, 'add-timeout', 'our own file can take one');
    assert.equal(find(report, 'missing-timeout', 'graph')[0]!.remediation?.kind, 'add-timeout');
    assert.equal(find(report, 'missing-timeout', 'github')[0]!.remediation, undefined, 'a foreign file gets no field it does not know');
    assert.ok(timeouts.every((f) => f.severity === 'low'));
    const untrusted = report.findings.filter((f) => f.rule === 'untrusted-workspace').map((f) => f.location.file);
    assert.ok(untrusted.length >= 9);
    assert.ok(untrusted.every((f) => f === files.vscode || f === files.claudeCode || f === files.own));
    assert.equal((await assessMachine()).report.findings.filter((f) => f.rule === 'untrusted-workspace').length, 0);
  });

  it('counts tools over enabled servers against the limit and finds duplicate tool names', () => {
    const tools = [
      { server: 'git', tools: ['status', 'log', 'search'] },
      { server: 'github', tools: Array.from({ length: 100 }, (_, i) => (i === 0 ? 'search' : `gh_${i}`)) },
      { server: 'jira', tools: 20 },
    ];
    const report = buildReport([], [], { tools, toolLimit: 128 });
    assert.equal(report.toolTotal, 123);
    const budget = report.findings.filter((f) => f.rule === 'tool-budget');
    assert.deepEqual(budget.map((f) => f.severity), ['low'], 'a warning before the limit is exceeded');
    assert.match(budget[0]!.message, /123 of at most 128/);
    const dup = report.findings.filter((f) => f.rule === 'duplicate-tool-name');
    assert.equal(dup.length, 1);
    assert.match(dup[0]!.message, /"search" is offered by "git" and "github"/);
    const over = buildReport([], [], { tools: [...tools, { server: 'more', tools: 6 }] });
    assert.equal(over.findings.find((f) => f.rule === 'tool-budget')?.severity, 'high');
  });

  it('finds a server adopted but still in its source file, and invalid files', async () => {
    const dir = tempDir();
    const path = placeFixture(dir, 'broken-mcp.json', '.vscode/mcp.json');
    const good = `${dir}/.mcp.json`;
    const text = JSON.stringify({ mcpServers: { memory: { command: 'node', args: ['m.js'] } } }, null, 2);
    const report = buildReport([
      parseMcpConfig(text, { path: good, kind: 'claude-code', scope: 'workspace', workspaceFolder: dir }),
      parseMcpConfig((await import('node:fs')).readFileSync(path, 'utf8'), { path, kind: 'vscode-workspace', scope: 'workspace', workspaceFolder: dir }),
    ], [], { ownServers: { memory: { command: 'node', args: ['m.js'], adoptedFrom: { file: good, name: 'memory' } } } });
    const dup = report.findings.find((f) => f.rule === 'duplicate-server')!;
    assert.equal(dup.severity, 'medium');
    assert.deepEqual(dup.remediation, { kind: 'remove-server', title: 'Remove "memory" from .mcp.json (the control plane runs it)', path: ['mcpServers', 'memory'], server: 'memory' });
    const invalid = report.findings.filter((f) => f.rule === 'config-invalid');
    assert.ok(invalid.length >= 1);
    assert.equal(invalid[0]!.location.line, 4);
  });

  it('exports JSON and Markdown, prints text, and renders a script-free HTML page with escaped text', async () => {
    const { report } = await assessMachine();
    const parsed = JSON.parse(reportToJson(report)) as AssessmentReport;
    assert.equal(parsed.findings.length, report.findings.length);
    assert.equal(parsed.generatedAt, '2025-05-01T10:00:00.000Z');
    const md = reportToMarkdown(report);
    assert.match(md, /^# MCP configuration assessment/);
    assert.match(md, /### Critical \(\d+\)/);
    assert.match(md, /- \*\*plaintext-secret\*\* Plaintext secret in env.GITHUB\\_PERSONAL\\_ACCESS\\_TOKEN/);
    assert.match(reportToText(report), /\[CRITICAL\] plaintext-secret/);
    const hostile = { ...report, findings: [{ ...report.findings[0]!, message: '<img src=x onerror=alert(1)>' }] };
    const html = renderAssessmentHtml(hostile, { nonce: 'abc123', commands: { exportJson: 'a.json', exportMarkdown: 'a.md', rerun: 'a.rerun', reveal: 'a.reveal', remediate: 'a.fix' } });
    assert.match(html, /content="default-src 'none'; style-src 'nonce-abc123'"/);
    assert.ok(!/<script/i.test(html), 'no script at all');
    assert.ok(!html.includes('<img src=x'), 'text is escaped');
    assert.match(html, /href="command:a\.fix\?%5B%22[0-9a-f]{12}%22%5D"/);
    assert.match(html, /href="command:a\.json\?%5B%5D"/);
  });
});
