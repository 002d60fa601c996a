import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settingsContribution, SETTINGS_SECTION } from '../../../src/core/config/settings-contribution';
import { notificationsConfigSchema, ServerAlerts, type NotifyEvent } from '../../../src/core/notify';

describe('notification configuration', () => {
  it('a channel URL in plain text is refused with what to do instead', () => {
    const r = notificationsConfigSchema.safeParse({ channels: { ops: { type: 'teams', url: 'https://prod.example/workflows/abc?sig=xyz' } } });
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /secret reference, `\$\{secret:name\}`/);
    assert.deepEqual(r.error!.issues[0]!.path, ['channels', 'ops', 'url']);
  });

  it('a webhook needs a signing secret; teams and slack take none', () => {
    const hook = notificationsConfigSchema.safeParse({ channels: { h: { type: 'webhook', url: '${secret:h}' } } });
    assert.match(hook.error!.issues[0]!.message, /needs `signingSecret`/);
    const teams = notificationsConfigSchema.safeParse({ channels: { t: { type: 'teams', url: '${secret:t}', signingSecret: '${secret:k}' } } });
    assert.match(teams.error!.issues[0]!.message, /not signed/);
  });

  it('defaults: queue of 1,000 events, all events, no arguments', () => {
    const c = notificationsConfigSchema.parse({ channels: { t: { type: 'slack', url: '${secret:t}' } } });
    assert.equal(c.queueSize, 1000);
    assert.equal(c.channels['t']!.events, undefined);
    assert.equal(c.channels['t']!.includeArguments, false);
  });

  it('the VS Code setting is application-scoped (a workspace value is ignored by VS Code)', () => {
    const setting = settingsContribution().properties[`${SETTINGS_SECTION}.notifications`] as { scope: string };
    assert.equal(setting.scope, 'application');
  });
});

describe('server alert de-duplication', () => {
  const status = (kind: string, extra: Record<string, unknown> = {}) => ({ name: 's', builtin: false, restarts: 0, toolCount: 0, state: { kind, ...extra } }) as never;

  it('failed → restarting → crash-looping → running is one down alert and one recovery', () => {
    const events: NotifyEvent[] = [];
    const alerts = new ServerAlerts((e) => events.push(e), 60_000);
    alerts.update(status('running', { startedAt: 1, toolCount: 0 }));
    alerts.update(status('failed', { error: 'x', code: 'SPAWN_FAILED' }));
    alerts.update(status('restarting', { attempt: 1, delayMs: 1, nextStartAt: 1 }));
    alerts.update(status('starting', { since: 1 }));
    alerts.update(status('crash-looping', { crashes: 5, since: 1 }));
    alerts.update(status('running', { startedAt: 2, toolCount: 0 }));
    alerts.update(status('running', { startedAt: 2, toolCount: 0 }));
    alerts.dispose();
    assert.deepEqual(events.map((e) => e.type), ['server.down', 'server.recovered']);
  });

  it('restarting longer than downAfterMs alerts once as down', async () => {
    const events: NotifyEvent[] = [];
    const alerts = new ServerAlerts((e) => events.push(e), 30);
    alerts.update(status('restarting', { attempt: 1, delayMs: 1, nextStartAt: 1 }));
    alerts.update(status('starting', { since: 1 }));
    alerts.update(status('restarting', { attempt: 2, delayMs: 1, nextStartAt: 1 }));
    await new Promise((r) => setTimeout(r, 80));
    alerts.update(status('crash-looping', { crashes: 5, since: 1 }));
    alerts.dispose();
    assert.deepEqual(events.map((e) => e.type), ['server.down']);
  });
});
