// The extension's wording and choices as pure functions: what a notification offers, how a
// server row reads in Restricted Mode or before VS Code connects, who decided, plurals, times.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alreadyDecidedText, describeDecider, humanTime, isDestructiveTool, missingSecret, noToolsText, notificationButtons, plural, serverRow } from '../../src/extension/wording';

describe('approval notification buttons', () => {
  it('offers Review only for a destructive call, however short', () => {
    assert.deepEqual(notificationButtons(true, true), ['Review']);
    assert.deepEqual(notificationButtons(true, false), ['Review']);
  });
  it('puts Review first (the primary button) and Approve last, only when the whole call fits', () => {
    assert.deepEqual(notificationButtons(false, true), ['Review', 'Reject', 'Approve']);
    assert.deepEqual(notificationButtons(false, false), ['Review', 'Reject']);
  });
  it('treats a tool without annotations as destructive', () => {
    assert.equal(isDestructiveTool(undefined), true);
    assert.equal(isDestructiveTool({}), true);
    assert.equal(isDestructiveTool({ readOnlyHint: true }), false);
    assert.equal(isDestructiveTool({ destructiveHint: false }), false);
    assert.equal(isDestructiveTool({ readOnlyHint: false, destructiveHint: true }), true);
  });
});

describe('who decided', () => {
  it('names the place, not the internal decider kind', () => {
    assert.equal(describeDecider('vscode-ui'), 'in VS Code');
    assert.equal(describeDecider('vscode-ui (notification)'), 'in VS Code (from a notification)');
    assert.equal(describeDecider('approver-credential (alice)'), 'with the approver credential (alice)');
    assert.equal(describeDecider('ui-session (bob@example.com)'), 'by bob@example.com (signed in at /ui)');
    assert.equal(describeDecider('system (caller-disconnected)'), 'by the control plane (caller-disconnected)');
    assert.equal(describeDecider(undefined), 'by nobody');
    assert.equal(describeDecider('something else'), 'by something else');
  });
  it('tells a stale button it did nothing, and who decided when', () => {
    const now = new Date(2026, 11, 6, 10, 0, 0).getTime();
    const text = alreadyDecidedText({ tool: 'reset', server: 'git', status: 'approved', decidedBy: 'vscode-ui', decidedAt: now - 5_000 }, 'Reject', now);
    assert.equal(text, 'reset on git was already approved in VS Code at today 09:59:55. Your Reject did nothing.');
    assert.match(alreadyDecidedText({ tool: 'reset', server: 'git', status: 'expired' }, 'Approve', now), /^reset on git expired\. Your Approve did nothing\.$/);
  });
});

describe('plural and time', () => {
  it('says 1 file, 2 files, 0 servers', () => {
    assert.equal(plural(1, 'file'), '1 file');
    assert.equal(plural(2, 'file'), '2 files');
    assert.equal(plural(0, 'server'), '0 servers');
    assert.equal(plural(3, 'entry', 'entries'), '3 entries');
  });
  it('shows local clock times, never raw ISO', () => {
    const now = new Date(2026, 11, 6, 10, 0, 0).getTime();
    assert.equal(humanTime(new Date(2026, 11, 6, 8, 5, 9).toISOString(), now), 'today 08:05:09');
    assert.equal(humanTime(new Date(2026, 11, 5, 23, 59, 1).getTime(), now), 'yesterday 23:59:01');
    assert.equal(humanTime(new Date(2026, 10, 30, 7, 3, 0).getTime(), now), '2026-11-30 07:03');
    assert.equal(humanTime('not a date', now), 'not a date');
  });
});

describe('server rows', () => {
  const base = { description: 'running · up 5s', sessions: 1, trusted: true };
  it('shows git running in an untrusted workspace as restricted, with how to trust', () => {
    const row = serverRow({ ...base, state: 'running', trusted: false, refusesWhenUntrusted: true });
    assert.match(row.description, /^restricted · refuses every call/);
    assert.deepEqual(row.flags, ['restricted']);
    assert.equal(row.hint?.action, 'trust');
    assert.equal(row.icon[0], 'shield');
  });
  it('shows a server blocked by trust as restricted, not a grey "stopped"', () => {
    const row = serverRow({ ...base, state: 'stopped', reason: 'the workspace is not trusted: servers configured by the workspace do not start', trusted: false });
    assert.match(row.description, /^restricted · does not start/);
    assert.equal(row.hint?.action, 'trust');
  });
  it('leaves a trusted running server with sessions as it is', () => {
    const row = serverRow({ ...base, state: 'running', refusesWhenUntrusted: true });
    assert.equal(row.description, 'running · up 5s');
    assert.deepEqual(row.flags, []);
    assert.equal(row.hint, undefined);
    assert.equal(row.icon[0], 'pass-filled');
  });
  it('says "VS Code not connected yet" with Connect for a running server without a session', () => {
    const row = serverRow({ ...base, state: 'running', sessions: 0 });
    assert.equal(row.description, 'running · up 5s · VS Code not connected yet');
    assert.deepEqual(row.flags, ['unconnected']);
    assert.equal(row.hint?.action, 'connect');
  });
  it('does not claim "not connected" for a stopped or failed server', () => {
    for (const state of ['stopped', 'failed', 'crash-looping', 'starting']) {
      const row = serverRow({ ...base, state, description: state, sessions: 0 });
      assert.equal(row.hint, undefined, state);
      assert.equal(row.description, state);
    }
    assert.equal(serverRow({ ...base, state: 'failed', description: 'failed', sessions: 0 }).icon[1], 'list.errorForeground');
  });
});

describe('failures keep their cause and next step', () => {
  it('finds the missing secret in the error the secret store raises', () => {
    assert.equal(missingSecret('secret "memory-api-token" is not set; set it with "MCP Control Plane: Set Secret" or `mcpcp secrets set memory-api-token`'), 'memory-api-token');
    assert.equal(missingSecret('spawn npx ENOENT'), undefined);
    assert.equal(missingSecret(undefined), undefined);
  });
  it('says why a server has no tools instead of "no tools yet"', () => {
    assert.equal(noToolsText('crash-looping', 'exited with code 1\nnpm ERR! 404'), 'crash-looping: exited with code 1');
    assert.equal(noToolsText('failed', undefined), 'failed to start');
    assert.equal(noToolsText('failed', 'x'.repeat(300)).length, 'failed to start: '.length + 160);
    assert.equal(noToolsText('starting', undefined), 'starting…');
    assert.equal(noToolsText('running', undefined), 'no tools yet');
  });
});
