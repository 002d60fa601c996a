import type { ApprovalChange, ApprovalStore } from '../approvals';
import type { Disposable, Event } from '../events';
import type { Supervisor } from '../supervisor/supervisor';
import type { ServerStatus } from '../supervisor/state';
import type { NotifyEvent } from './events';

/** Where operator events come from; each is optional so a host wires what it has. */
export interface NotifySources {
  supervisor?: Supervisor;
  approvals?: ApprovalStore;
  /** Fires the audit log's error when a write fails (once per failure period). */
  onAuditFailure?: Event<string>;
  /** Fires when a policy source changed; `problems` are read then. */
  onPolicyChange?: Event<unknown>;
  policyProblems?: () => string[];
}

interface Outage {
  since: number;
  alerted: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * Turns status changes into alerts with de-duplication: one outage is one alert and one recovery.
 * A crash followed by a quick restart is no alert unless the server is not running again within
 * `downAfterMs`; crash-looping and failed alert at once; later transitions of the same outage
 * (restarting, starting, crash-looping again) add nothing. A stop by hand ends an outage silently.
 */
export class ServerAlerts {
  private readonly outages = new Map<string, Outage>();

  constructor(private readonly publish: (event: NotifyEvent) => void, private readonly downAfterMs: number) {}

  update(status: ServerStatus, now = Date.now()): void {
    const kind = status.state.kind;
    const outage = this.outages.get(status.name);
    if (kind === 'running') {
      if (!outage) return;
      this.end(status.name);
      if (outage.alerted) this.publish({ type: 'server.recovered', server: status.name, downSince: outage.since, at: now });
      return;
    }
    if (kind === 'stopped') {
      this.end(status.name);
      return;
    }
    if (kind === 'crash-looping' || kind === 'failed' || kind === 'restarting') {
      const current = outage ?? { since: now, alerted: false };
      this.outages.set(status.name, current);
      if (current.alerted) return;
      if (kind === 'restarting') {
        if (!current.timer) {
          current.timer = setTimeout(() => {
            current.timer = undefined;
            const live = this.outages.get(status.name);
            if (live !== current || current.alerted) return;
            current.alerted = true;
            this.publish({ type: 'server.down', server: status.name, state: 'restarting', ...(status.lastError ? { error: status.lastError } : {}), at: Date.now() });
          }, this.downAfterMs);
          current.timer.unref();
        }
        return;
      }
      if (current.timer) clearTimeout(current.timer);
      current.timer = undefined;
      current.alerted = true;
      if (kind === 'crash-looping') {
        const crashes = status.state.kind === 'crash-looping' ? status.state.crashes : 0;
        this.publish({ type: 'server.crash-looping', server: status.name, crashes, ...(status.lastError ? { error: status.lastError } : {}), at: now });
      } else {
        this.publish({ type: 'server.down', server: status.name, state: 'failed', ...(status.lastError ? { error: status.lastError } : {}), at: now });
      }
    }
    // starting, unhealthy: part of an outage already counted, or not an outage yet.
  }

  private end(server: string): void {
    const outage = this.outages.get(server);
    if (outage?.timer) clearTimeout(outage.timer);
    this.outages.delete(server);
  }

  dispose(): void {
    for (const name of [...this.outages.keys()]) this.end(name);
  }
}

/** Subscribes the notifier to the control plane's event sources; dispose to unsubscribe. */
export function watchNotifySources(publish: (event: NotifyEvent) => void, sources: NotifySources, options: { downAfterMs: number }): Disposable {
  const subscriptions: Disposable[] = [];
  const alerts = new ServerAlerts(publish, options.downAfterMs);
  if (sources.supervisor) subscriptions.push(sources.supervisor.onDidChangeStatus((s) => alerts.update(s)));
  if (sources.approvals) subscriptions.push(sources.approvals.onDidChange((change) => approvalEvent(change, publish)));
  if (sources.onAuditFailure) subscriptions.push(sources.onAuditFailure((error) => publish({ type: 'audit.write-failed', error, at: Date.now() })));
  if (sources.onPolicyChange && sources.policyProblems) {
    const read = sources.policyProblems;
    let last = read().join('\n');
    subscriptions.push(
      sources.onPolicyChange(() => {
        const problems = read();
        const key = problems.join('\n');
        // The same problems reported again (another reload of the same broken file) are one alert.
        if (key !== last && problems.length > 0) publish({ type: 'policy.invalid', problems, at: Date.now() });
        last = key;
      }),
    );
  }
  return {
    dispose: () => {
      for (const s of subscriptions) s.dispose();
      alerts.dispose();
    },
  };
}

function approvalEvent(change: ApprovalChange, publish: (event: NotifyEvent) => void): void {
  const a = change.approval;
  const base = { approvalId: a.id, server: a.server, tool: a.tool, at: Date.now() };
  if (change.type === 'requested') {
    const preview = a.preview.status === 'ok' ? previewText(a.preview.result) : undefined;
    publish({ type: 'approval.pending', ...base, ...(a.client ? { requester: a.client.version ? `${a.client.name} ${a.client.version}` : a.client.name } : {}), reason: a.reason, expiresAt: a.expiresAt, args: a.displayArgs, ...(preview ? { preview } : {}) });
  } else if (change.type === 'expired') {
    publish({ type: 'approval.expired', ...base });
  } else if (change.type === 'decided' && a.decision) {
    const by = a.decision.by as { kind: string; name?: string };
    publish({ type: 'approval.decided', ...base, decision: a.decision.approved ? 'approved' : 'rejected', by: by.name ?? by.kind, ...(a.decision.reason ? { reason: a.decision.reason } : {}) });
  }
}

function previewText(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> } | null)?.content;
  if (Array.isArray(content)) return content.filter((c) => c.type === 'text' && typeof c.text === 'string').map((c) => c.text).join('\n');
  return JSON.stringify(result);
}
