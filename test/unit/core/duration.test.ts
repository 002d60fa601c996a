// Durations in human units: the parser, the schema's errors, the deprecated `…Ms` keys (accepted,
// the new key wins, a warning names the replacement) and what the settings editor gets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deprecatedDurations, durationSchema, formatDuration, parseDuration } from '../../../src/core/config/duration';
import { configWarnings } from '../../../src/core/config/load';
import { approvalsConfigSchema, configSchema, DURATION_GROUPS, gatewayConfigSchema, supervisorConfigSchema } from '../../../src/core/config/schema';
import { SETTINGS_ORDER, settingsContribution, settingsGroupKeys } from '../../../src/core/config/settings-contribution';

describe('durations', () => {
  it('parses the units people write, sums of them, and nothing else', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5s'), 1_500);
    for (const bad of ['', '5', '5 minutes', '5min', 'ms', '-5s', '5s ', ' 5s', '1e3ms', '5m 30s', 'Infinitys']) assert.equal(parseDuration(bad), undefined, bad);
  });

  it('formats milliseconds as the shortest exact text', () => {
    assert.deepEqual([600_000, 1_500, 90_000, 500, 86_400_000, 0].map(formatDuration), ['10m', '1500ms', '90s', '500ms', '1d', '0ms']);
    for (const ms of [1, 999, 1_000, 61_000, 3_600_000, 300_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
  });

  it('a wrong value says what to write', () => {
    const schema = durationSchema({ min: 1_000, max: 3_600_000 });
    const message = (v: unknown) => {
      const r = schema.safeParse(v);
      assert.equal(r.success, false, String(v));
      return r.error!.issues[0]!.message;
    };
    assert.equal(message('5 minutes'), '"5 minutes" is not a duration: use 250ms, 30s, 5m, 1h');
    assert.equal(message(300000), '300000 is not a duration: use 250ms, 30s, 5m, 1h');
    assert.equal(message('500ms'), '"500ms" is less than the minimum, 1s');
    assert.equal(message('2h'), '"2h" is more than the maximum, 1h');
    assert.equal(schema.parse('1m'), 60_000);
  });

  it('every duration group gives the engine milliseconds under the …Ms names, defaults unchanged', () => {
    const config = configSchema.parse({});
    assert.equal(config.gateway.callTimeoutMs, 600_000);
    assert.equal(config.gateway.sessionIdleMs, 1_800_000);
    assert.equal(config.supervisor.healthIntervalMs, 10_000);
    assert.equal(config.supervisor.backoffBaseMs, 500);
    assert.equal(config.approvals.expiryMs, 300_000);
    // Only the engine's names come out: no human-unit key lingers in the parsed configuration.
    for (const [group, table] of Object.entries(DURATION_GROUPS)) {
      for (const key of Object.keys(table)) assert.ok(!(key in (config as unknown as Record<string, Record<string, unknown>>)[group]!), `${group}.${key}`);
    }
  });

  it('the new key, the old key, both (the new one wins), neither', () => {
    assert.equal(gatewayConfigSchema.parse({ callTimeout: '2m' }).callTimeoutMs, 120_000);
    assert.equal(gatewayConfigSchema.parse({ callTimeoutMs: 45_000 }).callTimeoutMs, 45_000);
    assert.equal(gatewayConfigSchema.parse({ callTimeout: '2m', callTimeoutMs: 45_000 }).callTimeoutMs, 120_000);
    assert.equal(supervisorConfigSchema.parse({ healthIntervalMs: 60_000 }).healthIntervalMs, 60_000);
    assert.equal(approvalsConfigSchema.parse({ expiry: '1h' }).expiryMs, 3_600_000);
    // Inside an object setting too: telemetry.exportInterval.
    assert.equal(configSchema.parse({ telemetry: { exportInterval: '30s' } }).telemetry.exportIntervalMs, 30_000);
    assert.equal(configSchema.parse({ telemetry: { exportIntervalMs: 100 } }).telemetry.exportIntervalMs, 100);
    assert.equal(configSchema.parse({}).telemetry.exportIntervalMs, 5_000);
    // The old key keeps its bounds.
    assert.equal(approvalsConfigSchema.safeParse({ expiryMs: 5 }).success, false);
    assert.equal(approvalsConfigSchema.safeParse({ expiry: '2d' }).error?.issues[0]?.message, '"2d" is more than the maximum, 1d');
  });

  it('deprecated keys are reported with their replacement; both set: the warning says the new one wins', () => {
    const found = deprecatedDurations({ supervisor: { healthIntervalMs: 60_000 }, gateway: { callTimeout: '2m', callTimeoutMs: 45_000 }, approvals: { expiry: '1h' } }, DURATION_GROUPS, 'mcpControlPlane.');
    assert.deepEqual(found, [
      { path: ['gateway', 'callTimeoutMs'], message: 'mcpControlPlane.gateway.callTimeoutMs is deprecated and ignored: mcpControlPlane.gateway.callTimeout ("2m") is also set and wins; remove mcpControlPlane.gateway.callTimeoutMs' },
      { path: ['supervisor', 'healthIntervalMs'], message: 'mcpControlPlane.supervisor.healthIntervalMs is deprecated: write mcpControlPlane.supervisor.healthInterval: "1m" instead' },
    ]);
    assert.deepEqual(deprecatedDurations({ approvals: { expiry: '1h' } }, DURATION_GROUPS), []);
    assert.deepEqual(deprecatedDurations({ telemetry: { exportIntervalMs: 100 } }, DURATION_GROUPS).map((d) => d.message), ['telemetry.exportIntervalMs is deprecated: write telemetry.exportInterval: "100ms" instead']);
  });

  it('config.yaml warnings name file, line and column of the old key', () => {
    const text = 'servers: {}\nsupervisor:\n  healthIntervalMs: 60000\n';
    assert.deepEqual(configWarnings(text, 'config.yaml'), ['config.yaml:3:3: supervisor.healthIntervalMs is deprecated: write supervisor.healthInterval: "1m" instead']);
  });

  it('VS Code settings: human units with a text default and a pattern, the old keys deprecated, common settings first', () => {
    const props = settingsContribution().properties as Record<string, Record<string, unknown>>;
    const timeout = props['mcpControlPlane.gateway.callTimeout']!;
    assert.equal(timeout['type'], 'string');
    assert.equal(timeout['default'], '10m');
    assert.ok(new RegExp(String(timeout['pattern'])).test('90s') && !new RegExp(String(timeout['pattern'])).test('90 seconds'));
    assert.match(String(props['mcpControlPlane.gateway.callTimeoutMs']!['deprecationMessage']), /use mcpControlPlane\.gateway\.callTimeout/);
    // Every `…Ms` setting has a replacement and is deprecated.
    const ms = Object.keys(props).filter((k) => /Ms$/.test(k));
    assert.ok(ms.length >= 14);
    for (const k of ms) {
      assert.ok(props[k]!['deprecationMessage'], `${k} is not deprecated`);
      assert.ok(props[k.replace(/Ms$/, '')], `${k} has no replacement`);
    }
    // Order: servers and policy first, deprecated settings last, every setting ordered.
    const order = (k: string) => props[`mcpControlPlane.${k}`]!['order'] as number;
    assert.ok(order('servers') < order('policy.rules') && order('policy.rules') < order('gateway.port') && order('gateway.port') < order('gateway.maxBodyBytes'));
    for (const k of ms) assert.ok((props[k]!['order'] as number) > Math.max(...Object.keys(props).filter((p) => !ms.includes(p)).map((p) => props[p]!['order'] as number)), k);
    for (const name of SETTINGS_ORDER) assert.ok(props[`mcpControlPlane.${name}`], `SETTINGS_ORDER names ${name}, which is no setting`);
    assert.ok(settingsGroupKeys('gateway').includes('callTimeout') && settingsGroupKeys('gateway').includes('callTimeoutMs'));
    const telemetry = (props['mcpControlPlane.telemetry']!['properties'] as Record<string, Record<string, unknown>>);
    assert.equal(telemetry['exportInterval']!['default'], '5s');
    assert.match(String(telemetry['exportIntervalMs']!['deprecationMessage']), /use mcpControlPlane\.telemetry\.exportInterval/);
    assert.deepEqual(props['mcpControlPlane.telemetry']!['default'], {});
  });
});
