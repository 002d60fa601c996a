import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseYamlWithSchema, defaultConfig } from '../../../src/core/config/load';
import { configSchema } from '../../../src/core/config/schema';
import { ControlPlaneError } from '../../../src/core/errors';
import { manifestContributions } from '../../../src/extension/manifest';
import { COMMANDS } from '../../../src/extension/commands';

function parseError(text: string): ControlPlaneError {
  try {
    parseYamlWithSchema(text, '/p/.mcpcp/config.yaml', configSchema);
  } catch (err) {
    assert.ok(err instanceof ControlPlaneError);
    return err;
  }
  throw new Error('expected an error');
}

describe('configuration schema', () => {
  it('the embedded default runs the built-in servers on a free loopback port with the documented limits', () => {
    const c = defaultConfig();
    assert.deepEqual(c.roots, ['.']);
    assert.equal(c.gateway.port, 0);
    assert.equal(c.supervisor.healthIntervalMs, 10_000);
    assert.equal(c.supervisor.backoffBaseMs, 500);
    assert.equal(c.supervisor.backoffCapMs, 30_000);
    assert.equal(c.supervisor.crashLoopThreshold, 5);
    assert.deepEqual(c.servers, {});
  });

  it('names the file, line, column and field of a schema violation', () => {
    const err = parseError('gateway:\n  port: 99999\n');
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.deepEqual(err.details, { file: '/p/.mcpcp/config.yaml', line: 2, column: 3, field: 'gateway.port' });
    assert.match(err.message, /^\/p\/\.mcpcp\/config\.yaml:2:3: gateway\.port: .*65535/);
  });

  it('rejects unknown fields (typos) instead of ignoring them', () => {
    // Reported at the unknown key's own line, not its parent's.
    const err = parseError('supervisor:\n  healthIntervalMS: 5\n');
    assert.match(err.message, /:2:3: supervisor: unknown field "healthIntervalMS"/);
    assert.deepEqual(err.details, { file: '/p/.mcpcp/config.yaml', line: 2, column: 3, field: 'supervisor' });
    assert.match(parseError('roots: ["."]\n\nservrs: {}\n').message, /:3:1: unknown field "servrs"/);
    assert.match(parseError('servers:\n  fx:\n    command: x\n    agrs: [y]\n').message, /:4:5: servers\.fx: unknown field "agrs"/);
  });

  it('reports YAML syntax errors with a position', () => {
    const err = parseError('servers:\n  fx: [unclosed\n');
    assert.match(err.message, /^\/p\/\.mcpcp\/config\.yaml:\d+:\d+: /);
  });

  it('rejects bad server names and duplicate keys', () => {
    assert.match(parseError('servers:\n  Bad_Name: { command: x }\n').message, /servers\.Bad_Name/);
    assert.match(parseError('servers:\n  a: { command: x }\n  a: { command: y }\n').message, /:3:\d+: .*[Dd]uplicate|unique/);
  });
});

describe('package.json stays generated from the code', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
    contributes: { configuration: unknown; commands: Array<{ command: string }>; menus: Record<string, Array<{ command: string }>> };
  };
  const generated = manifestContributions();
  it('contributes.configuration equals what the zod schema generates (npm run gen:manifest)', () => {
    assert.deepEqual(pkg.contributes.configuration, JSON.parse(JSON.stringify(generated.configuration)));
  });
  it('contributes.commands equals the command map', () => {
    assert.deepEqual(pkg.contributes.commands, generated.commands);
    assert.deepEqual(pkg.contributes.commands.map((c) => c.command).sort(), Object.values(COMMANDS).sort());
  });
  it('menus name only known commands', () => {
    const known = new Set<string>(Object.values(COMMANDS));
    for (const [menu, items] of Object.entries(pkg.contributes.menus)) {
      for (const item of items) assert.ok(known.has(item.command), `${menu}: ${item.command}`);
    }
  });
});
