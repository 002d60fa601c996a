// `mcpcp assess` and `mcpcp adopt` as processes: JSON/Markdown reports and exit codes; adopt refuses
// piped confirmation and, confirmed on a terminal (a pty from util-linux `script`), writes the
// server into config.yaml, the token into the secrets file, removes the entry from .mcp.json and
// audits it.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import type { AssessmentReport } from '../../../src/core/adopt';
import { loadConfigFile } from '../../../src/core/config/load';
import { REPO_ROOT } from '../../helpers/fixture-plane';
import { serverBin } from './harness';

const ENTRY = join(__dirname, 'cli-entry.ts');
/** tsx by path: the commands run in temporary folders where `--import tsx` would not resolve. */
const TSX = pathToFileURL(join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const TOKEN = 'ghp_FAKEfakeFAKEfake0123456789cliTESTabcd';

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', TSX, ENTRY, ...args], { cwd, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(input ?? '');
  });
}

function project(): { dir: string; home: string; data: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-cli-project-'));
  const home = mkdtempSync(join(tmpdir(), 'mcpcp-cli-home-'));
  const data = join(home, '.mcpcp');
  writeFileSync(join(dir, '.mcp.json'), `${JSON.stringify({ mcpServers: { memory: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'], env: { MEMORY_API_TOKEN: TOKEN } } } }, null, 2)}\n`);
  return { dir, home, data, env: { PATH: process.env['PATH'] ?? '', HOME: home, SHELL: '/bin/sh', MCPCP_DATA_DIR: data } };
}

describe('mcpcp assess and adopt', () => {
  it('assess reports JSON and Markdown and exits 1 on a critical finding', async () => {
    const p = project();
    mkdirSync(join(p.home, '.config', 'Claude'), { recursive: true });
    writeFileSync(join(p.home, '.config', 'Claude', 'claude_desktop_config.json'), JSON.stringify({ mcpServers: { fs: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem@2026.8.31', '/tmp'] } } }));
    const json = await run(['assess', '--json'], p.dir, p.env);
    assert.equal(json.code, 1, json.stderr);
    const report = JSON.parse(json.stdout) as AssessmentReport;
    assert.deepEqual(report.files.filter((f) => f.status === 'ok').map((f) => f.kind).sort(), ['claude-code', 'claude-desktop']);
    assert.ok(report.findings.some((f) => f.rule === 'plaintext-secret' && f.severity === 'critical' && f.location.file === join(p.dir, '.mcp.json')));
    assert.ok(report.findings.some((f) => f.rule === 'unpinned-package' && f.server === 'memory'));
    assert.ok(!report.findings.some((f) => f.rule === 'unpinned-package' && f.server === 'fs'), 'a pinned package is fine');
    assert.ok(!json.stdout.includes(TOKEN));
    const md = await run(['assess', '--markdown', join(p.dir, '.mcp.json')], p.dir, p.env);
    assert.match(md.stdout, /^# MCP configuration assessment\n/);
    assert.match(md.stdout, /### Critical \(1\)/);
    const clean = mkdtempSync(join(tmpdir(), 'mcpcp-cli-clean-'));
    writeFileSync(join(clean, '.mcp.json'), JSON.stringify({ mcpServers: { ok: { command: 'node', args: ['x.js'] } } }));
    const text = await run(['assess', join(clean, '.mcp.json')], clean, p.env);
    assert.equal(text.code, 0, 'only a low finding (no timeout)');
    assert.match(text.stdout, /\[LOW\] missing-timeout/);
  });

  it('adopt refuses piped confirmation and adopts after a terminal confirmation', { skip: spawnSync('script', ['--version']).status !== 0 ? 'util-linux script is not installed' : false }, async () => {
    const p = project();
    const source = join(p.dir, '.mcp.json');
    const original = readFileSync(source, 'utf8');
    const piped = await run(['adopt', '.mcp.json'], p.dir, p.env, 'adopt\n');
    assert.equal(piped.code, 2);
    assert.match(piped.stderr, /needs an interactive confirmation on a terminal/);
    assert.match(piped.stdout, /memory: stdio\n {2}runs: npx -y @modelcontextprotocol\/server-memory/, 'the plan is shown first');
    assert.match(piped.stdout, /env MEMORY_API_TOKEN=\$\{secret:memory-api-token\}/);
    assert.equal(readFileSync(source, 'utf8'), original, 'nothing changed');

    // A pty: `script` runs the command on a terminal and types what we pipe into it.
    const cmd = [process.execPath, '--import', TSX, ENTRY, 'adopt', '.mcp.json'].map((a) => `'${a}'`).join(' ');
    const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: p.dir, env: p.env, input: 'adopt\n', encoding: 'utf8', timeout: 30_000 });
    assert.equal(tty.status, 0, `${tty.stdout}\n${tty.stderr}`);
    assert.match(tty.stdout, /Adopted into .*config\.yaml: memory/);
    assert.match(tty.stdout, /Secrets stored in .*secrets\.json: memory-api-token/);
    assert.ok(!readFileSync(source, 'utf8').includes(TOKEN), 'no token left in the file');
    const config = await loadConfigFile(join(p.dir, '.mcpcp', 'config.yaml'));
    assert.deepEqual(config.servers['memory'], { command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'], env: { MEMORY_API_TOKEN: '${secret:memory-api-token}' }, adoptedFrom: { file: source, name: 'memory' } });
    assert.equal((JSON.parse(readFileSync(join(p.data, 'secrets.json'), 'utf8')) as Record<string, string>)['memory-api-token'], TOKEN);
    assert.deepEqual(readdirSync(p.dir).filter((f) => f.includes('mcpcp-backup')), [], 'no backup in the project');
    const backups = readdirSync(join(p.data, 'adopt-backups'), { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.mcp.json.mcpcp-backup-'));
    assert.equal(backups.length, 1, 'the backup is in the data directory');
    const backup = readFileSync(join(p.data, 'adopt-backups', backups[0]!), 'utf8');
    assert.ok(!backup.includes(TOKEN) && backup.includes('${secret:memory-api-token}'), 'holding the reference, not the token');
    assert.match(tty.stdout, /backup \(secrets as references\): .*adopt-backups/);
    const audit = readdirSync(join(p.data, 'audit')).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(join(p.data, 'audit', f), 'utf8')).join('');
    assert.match(audit, /"adopt_servers"/);
    assert.match(audit, /"adopt_move_servers"/);
    assert.ok(!audit.includes(TOKEN));
    assert.ok(existsSync(serverBin('server-memory')));
  });

  it('assess --fix offers each fix with its diff and applies the confirmed ones', { skip: spawnSync('script', ['--version']).status !== 0 ? 'util-linux script is not installed' : false }, () => {
    const p = project();
    mkdirSync(join(p.dir, '.mcpcp'));
    const config = join(p.dir, '.mcpcp', 'config.yaml');
    writeFileSync(config, `servers:\n  git: { enabled: false }\n  tickets:\n    command: node\n    args: ["t.js"]\n    env:\n      TICKETS_TOKEN: "${TOKEN}"\n`);
    const cmd = [process.execPath, '--import', TSX, ENTRY, 'assess', '--fix', config].map((a) => `'${a}'`).join(' ');
    // Two fixes are offered (move the token, add a timeout): yes to both.
    const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: p.dir, env: p.env, input: 'y\ny\n', encoding: 'utf8', timeout: 30_000 });
    assert.match(tty.stdout, /\+      TICKETS_TOKEN: "\$\{secret:tickets-token\}"/, 'the diff is shown');
    assert.ok(!tty.stdout.includes(TOKEN), 'never the token, not even in the diff');
    const after = readFileSync(config, 'utf8');
    assert.ok(!after.includes(TOKEN));
    assert.match(after, /timeoutMs: 60000/);
    assert.equal((JSON.parse(readFileSync(join(p.data, 'secrets.json'), 'utf8')) as Record<string, string>)['tickets-token'], TOKEN);
    assert.deepEqual(readdirSync(join(p.dir, '.mcpcp')), ['config.yaml'], 'nothing new beside the file');
    assert.equal(readdirSync(join(p.data, 'adopt-backups'), { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('config.yaml.mcpcp-backup-')).length, 2, 'one backup per change, in the data directory');
  });
});
