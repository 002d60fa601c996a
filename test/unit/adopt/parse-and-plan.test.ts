import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  claudeDesktopConfigPath,
  editJsonc,
  defaultVsCodeUserDir,
  locationForFile,
  mcpConfigLocations,
  parseMcpConfig,
  planAdoption,
  readMcpConfig,
  renderPlan,
  secretNameFor,
  secretNameFrom,
  serverNameFrom,
} from '../../../src/core/adopt';
import { configSchema } from '../../../src/core/config/schema';
import { TOKENS, placeFixture, read, tempDir } from './helpers';

describe('reading MCP configurations', () => {
  it('reads VS Code mcp.json with comments and trailing commas: servers, types, inputs', async () => {
    const dir = tempDir();
    const path = placeFixture(dir, 'vscode-mcp.json', '.vscode/mcp.json');
    const parsed = (await readMcpConfig(locationForFile(path, read(path))))!;
    assert.equal(parsed.location.kind, 'vscode-workspace');
    assert.equal(parsed.location.workspaceFolder, dir);
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.servers.map((s) => [s.name, s.transport]), [['github', 'stdio'], ['msgraph', 'stdio'], ['docs', 'http'], ['billing', 'sse']]);
    assert.deepEqual(parsed.inputs, [{ id: 'graph-token', type: 'promptString', description: 'Microsoft Graph token', password: true }]);
    const github = parsed.servers[0]!;
    assert.deepEqual(github.path, ['servers', 'github']);
    assert.deepEqual(github.args, ['-y', '@modelcontextprotocol/server-github']);
    assert.equal(github.env['GITHUB_PERSONAL_ACCESS_TOKEN'], TOKENS.github);
    assert.equal(parsed.servers[2]!.headers['Authorization'], `Bearer ${TOKENS.docs}`);
  });

  it('reads Claude-style mcpServers (stdio with type inferred, http with type, seconds or ms timeouts)', () => {
    const text = JSON.stringify({ mcpServers: { a: { command: 'x', args: [1, true] }, b: { type: 'http', url: 'https://h/mcp' }, c: { url: 'https://h/sse', type: 'sse', timeout: 45 }, d: { command: 'y', timeout: 90_000, disabled: true } } });
    const parsed = parseMcpConfig(text, { path: '/p/.mcp.json', kind: 'claude-code', scope: 'workspace', workspaceFolder: '/p' });
    assert.deepEqual(parsed.servers.map((s) => [s.name, s.transport, s.timeoutMs, s.disabled]), [['a', 'stdio', undefined, false], ['b', 'http', undefined, false], ['c', 'sse', 45_000, false], ['d', 'stdio', 90_000, true]]);
    assert.deepEqual(parsed.servers[0]!.args, ['1', 'true']);
  });

  it('reports syntax errors and unreadable entries with line and column, and keeps what it can read', () => {
    const dir = tempDir();
    const path = placeFixture(dir, 'broken-mcp.json', 'broken/mcp.json');
    const parsed = parseMcpConfig(read(path), { path, kind: 'vscode-user', scope: 'user' });
    assert.ok(parsed.problems.length > 0);
    assert.equal(parsed.problems[0]!.message, 'CommaExpected');
    assert.deepEqual([parsed.problems[0]!.position!.line, parsed.problems[0]!.position!.column], [4, 5]);
    const bad = parseMcpConfig('{"servers": {"x": {"type": "websocket", "url": "ws://h"}, "y": 3}}', { path: '/u/mcp.json', kind: 'vscode-user', scope: 'user' });
    assert.deepEqual(bad.problems.map((p) => p.message), ['server "x": unknown type "websocket"', 'server "y" is not an object']);
  });

  it('reads our own config.yaml and settings.json (entries without command or url are built-in switches)', () => {
    const dir = tempDir();
    const yaml = placeFixture(dir, 'config.yaml', '.mcpcp/config.yaml');
    const own = parseMcpConfig(read(yaml), locationForFile(yaml, read(yaml)));
    assert.equal(own.location.kind, 'mcpcp-yaml');
    assert.deepEqual(own.servers.map((s) => [s.name, s.timeoutMs]), [['tickets', undefined], ['wiki', 30_000]]);
    const settings = placeFixture(dir, 'settings.json', 'User/settings.json');
    const fromSettings = parseMcpConfig(read(settings), locationForFile(settings, read(settings)));
    assert.equal(fromSettings.location.kind, 'mcpcp-settings');
    assert.deepEqual(fromSettings.servers[0]!.path, ['mcpControlPlane.servers', 'graph']);
  });

  it('knows where each program keeps its configuration, per platform', () => {
    assert.equal(defaultVsCodeUserDir({ home: '/home/u', platform: 'linux', env: {} }), '/home/u/.config/Code/User');
    assert.equal(defaultVsCodeUserDir({ home: '/home/u', platform: 'linux', env: { XDG_CONFIG_HOME: '/x' } }), '/x/Code/User');
    assert.equal(defaultVsCodeUserDir({ home: '/Users/u', platform: 'darwin', env: {} }), '/Users/u/Library/Application Support/Code/User');
    assert.equal(claudeDesktopConfigPath({ home: '/home/u', platform: 'linux', env: {} }), '/home/u/.config/Claude/claude_desktop_config.json');
    assert.equal(claudeDesktopConfigPath({ home: '/Users/u', platform: 'darwin', env: {} }), '/Users/u/Library/Application Support/Claude/claude_desktop_config.json');
    assert.match(claudeDesktopConfigPath({ home: 'C:\\Users\\u', platform: 'win32', env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' } }), /Roaming.Claude.claude_desktop_config\.json$/);
    const all = mcpConfigLocations({ workspaceFolders: ['/w'], home: '/home/u', platform: 'linux', env: {}, ownConfigFiles: ['/home/u/.config/Code/User/settings.json'] });
    assert.deepEqual(all.map((l) => [l.path, l.kind, l.scope]), [
      ['/w/.vscode/mcp.json', 'vscode-workspace', 'workspace'],
      ['/w/.mcp.json', 'claude-code', 'workspace'],
      ['/w/.mcpcp/config.yaml', 'mcpcp-yaml', 'workspace'],
      ['/home/u/.config/Code/User/mcp.json', 'vscode-user', 'user'],
      ['/home/u/.config/Claude/claude_desktop_config.json', 'claude-desktop', 'user'],
      ['/home/u/.config/Code/User/settings.json', 'mcpcp-settings', 'user'],
    ]);
  });
});

describe('planning an adoption', () => {
  it('moves plaintext secrets to references, resolves ${workspaceFolder}, turns inputs into secrets, keeps ${env:}', async () => {
    const dir = tempDir();
    const path = placeFixture(dir, 'vscode-mcp.json', '.vscode/mcp.json');
    const parsed = (await readMcpConfig(locationForFile(path, read(path))))!;
    const plan = planAdoption(parsed, { existing: {}, secretNames: [], pathValue: process.env['PATH'] ?? '' });
    assert.deepEqual(plan.servers.map((s) => s.name), ['github', 'msgraph', 'docs', 'billing']);
    assert.equal(plan.editorRunsFile, true);
    assert.equal(plan.move, true);

    const github = plan.servers[0]!;
    assert.deepEqual(github.config.env, { GITHUB_PERSONAL_ACCESS_TOKEN: '${secret:github-personal-access-token}', GITHUB_HOST: 'github.com' });
    assert.deepEqual(github.config.adoptedFrom, { file: path, name: 'github' });
    assert.equal(github.commandLine, 'npx -y @modelcontextprotocol/server-github');
    assert.deepEqual(github.secrets.map((s) => [s.name, s.kind, s.origin, s.detector, s.value]), [['github-personal-access-token', 'plaintext', 'env.GITHUB_PERSONAL_ACCESS_TOKEN', 'github-token', TOKENS.github]]);

    const graph = plan.servers[1]!;
    assert.deepEqual(graph.config.args, [`${dir}/tools/graph-mcp.js`, '--tenant', 'contoso']);
    assert.equal(graph.config.cwd, dir);
    assert.deepEqual(graph.config.env, { GRAPH_TOKEN: '${secret:msgraph-graph-token}', LOG_LEVEL: '${env:LOG_LEVEL}' });
    assert.equal(typeof graph.resolvedCommand, 'string', 'node is on PATH');
    assert.deepEqual(plan.prompts.map((p) => [p.input.id, p.secretNames]), [['graph-token', ['msgraph-graph-token']]]);

    const docs = plan.servers[2]!;
    assert.deepEqual(docs.config, { type: 'http', url: 'https://docs.example.com/mcp', headers: { Authorization: 'Bearer ${secret:docs-authorization}' }, adoptedFrom: { file: path, name: 'docs' } });
    assert.equal(plan.servers[3]!.config.type, 'sse');
    for (const s of plan.servers) assert.ok(configSchema.shape.servers.safeParse({ [s.name]: s.config }).success, s.name);

    const text = renderPlan(plan);
    assert.match(text, /github: stdio\n {2}runs: npx -y @modelcontextprotocol\/server-github/);
    assert.match(text, /env GITHUB_PERSONAL_ACCESS_TOKEN=\$\{secret:github-personal-access-token\}/);
    assert.match(text, /moves env.GITHUB_PERSONAL_ACCESS_TOKEN \(plain text, github-token\) into the secret store as github-personal-access-token/);
    assert.match(text, /input "graph-token" is asked once now and kept in the secret store as msgraph-graph-token/);
    assert.match(text, /connects to: https:\/\/docs.example.com\/mcp/);
    assert.match(text, /header Authorization: Bearer \$\{secret:docs-authorization\}/);
    assert.match(text, /removed from .*mcp.json \(a backup, with each moved secret as its reference, is kept in the control plane's data folder\)/);
    for (const token of [TOKENS.github, TOKENS.docs]) assert.ok(!text.includes(token), 'the plan never shows a secret');
  });

  it('never adopts twice: skips entries already adopted or configured with the same command, disables when VS Code keeps running them', () => {
    const path = '/w/.vscode/mcp.json';
    const text = JSON.stringify({ servers: { github: { command: 'npx', args: ['-y', 'gh'] }, memory: { command: 'node', args: ['m.js'] }, fresh: { command: 'node', args: ['f.js'] } } });
    const parsed = parseMcpConfig(text, { path, kind: 'vscode-workspace', scope: 'workspace', workspaceFolder: '/w' });
    const plan = planAdoption(parsed, {
      existing: { gh: { command: 'npx', args: ['-y', 'gh'], adoptedFrom: { file: path, name: 'github' } }, mem: { command: 'node', args: ['m.js'] } },
      move: false,
    });
    assert.deepEqual(plan.skipped, [
      { sourceName: 'github', reason: 'already adopted as "gh"' },
      { sourceName: 'memory', reason: 'already configured as "mem" (same command and arguments)' },
    ]);
    assert.equal(plan.servers.length, 1);
    assert.equal(plan.servers[0]!.config.enabled, false);
    assert.match(plan.servers[0]!.warnings[0]!, /VS Code runs it from/);
    assert.match(renderPlan(plan), /VS Code keeps running them from \/w\/.vscode\/mcp.json: they are adopted disabled/);
  });

  it('names servers and secrets validly and uniquely; refuses variables only VS Code knows', () => {
    assert.equal(serverNameFrom('GitHub MCP (work)'), 'github-mcp-work');
    assert.equal(serverNameFrom('42-tools'), 'mcp-42-tools');
    assert.equal(secretNameFrom('Docs-Authorization'), 'docs-authorization');
    // The server's name is said once, even when the key already holds it.
    assert.equal(secretNameFor('memory', 'MEMORY_API_TOKEN'), 'memory-api-token');
    assert.equal(secretNameFor('my-memory', 'MEMORY_TOKEN'), 'my-memory-token');
    assert.equal(secretNameFor('github', 'X_GITHUB_TOKEN'), 'x-github-token');
    assert.equal(secretNameFor('github-mcp', 'GITHUB_MCP_PAT'), 'github-mcp-pat');
    assert.equal(secretNameFor('docs', 'Authorization'), 'docs-authorization');
    assert.equal(secretNameFor('memory', 'memory-api-key'), 'memory-api-key', 'an input id that starts with the server');
    assert.equal(secretNameFor('datadog', 'DD_API_KEY'), 'datadog-dd-api-key', 'a part of a word is not a repetition');
    const text = JSON.stringify({ mcpServers: { Git: { command: 'g' }, x: { command: 'node', args: ['${command:pick}'] }, y: { command: 'node', env: { T: '${HOME_TOKEN:-abc}' } } } });
    const parsed = parseMcpConfig(text, { path: '/p/.mcp.json', kind: 'claude-code', scope: 'workspace', workspaceFolder: '/p' });
    const plan = planAdoption(parsed, { existing: {}, secretNames: [] });
    assert.deepEqual(plan.servers.map((s) => s.name), ['git-2', 'y'], '"git" is built in');
    assert.deepEqual(plan.skipped, [{ sourceName: 'x', reason: 'args[0] uses ${command:pick}, which only VS Code can resolve' }]);
    assert.deepEqual(plan.servers[1]!.config.env, { T: '${env:HOME_TOKEN}' });
    assert.match(plan.servers[1]!.warnings[0]!, /default of \$\{HOME_TOKEN:-abc\} is dropped/);
    assert.equal(plan.editorRunsFile, false);
  });

  it('finds secrets in args and URLs: --flag=value, a value after a secret flag, a URL password, token query parameters', () => {
    const text = JSON.stringify({ mcpServers: {
      cli: { command: 'tool', args: ['--api-key', 'abcdef0123456789', `--token=${'x'.repeat(3)}yz0123456789`, 'plain'] },
      remote: { type: 'http', url: 'https://u:pa55word-here@h.example.com/mcp?token=tok_0123456789&x=1' },
    } });
    const parsed = parseMcpConfig(text, { path: '/p/.mcp.json', kind: 'claude-code', scope: 'workspace', workspaceFolder: '/p' });
    const plan = planAdoption(parsed, { existing: {}, secretNames: ['cli-api-key'] });
    assert.deepEqual(plan.servers[0]!.config.args, ['--api-key', '${secret:cli-api-key-2}', '--token=${secret:cli-token}', 'plain']);
    assert.equal(plan.servers[1]!.config.url, 'https://u:${secret:remote-url-1}@h.example.com/mcp?token=${secret:remote-url-2}&x=1');
    assert.deepEqual(plan.servers[1]!.secrets.map((s) => s.value), ['pa55word-here', 'tok_0123456789']);
  });

  it('removes entries from JSONC with their comma, keeping everything else byte for byte', () => {
    const trailing = '{\n  // keep me\n  "servers": {\n    "a": { "x": 1 },\n    "b": {\n      "y": 2,\n    },\n  },\n}\n';
    assert.equal(editJsonc(trailing, ['servers', 'b'], undefined), '{\n  // keep me\n  "servers": {\n    "a": { "x": 1 },\n  },\n}\n');
    assert.equal(editJsonc(trailing, ['servers', 'a'], undefined), '{\n  // keep me\n  "servers": {\n    "b": {\n      "y": 2,\n    },\n  },\n}\n');
    assert.equal(editJsonc('{"servers": {"a": 1, "b": 2}}', ['servers', 'b'], undefined), '{"servers": {"a": 1 }}');
    assert.equal(editJsonc('{\n  "s": {\n    "a": 1, // keep\n    "b": 2 // about b\n  }\n}', ['s', 'b'], undefined), '{\n  "s": {\n    "a": 1 // keep\n  }\n}');
    assert.equal(editJsonc('{"s": {"only": 1,},}', ['s', 'only'], undefined), '{"s": {},}');
  });
});
