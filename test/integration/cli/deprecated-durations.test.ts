// A config.yaml with the old `…Ms` durations still starts `mcpcp serve`, which warns on stderr,
// naming the place and the new key; the values in force are the ones written (new key wins).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../helpers/fixture-plane';

const CLI = join(REPO_ROOT, 'dist/cli.js');

describe('mcpcp serve with deprecated duration keys', () => {
  it('starts, warns on stderr naming file, line and the new key, and says which key wins when both are set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpcp-durations-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, ['servers:', '  git: { enabled: false }', 'supervisor:', '  healthIntervalMs: 60000', 'approvals:', '  expiry: 2m', '  expiryMs: 600000', ''].join('\n'));
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', join(dir, 'data')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      // Serving: the gateway line comes after the configuration was loaded.
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stderr! }).on('line', (line) => line.includes('gateway on http://127.0.0.1:') && resolve());
        child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
      });
      assert.match(stderr, new RegExp(`config\\.yaml:4:3: supervisor\\.healthIntervalMs is deprecated: write supervisor\\.healthInterval: "1m" instead`));
      assert.match(stderr, /config\.yaml:7:3: approvals\.expiryMs is deprecated and ignored: approvals\.expiry \("2m"\) is also set and wins; remove approvals\.expiryMs/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
