// The running instance's side of the headless operations: `GET /status` (client token, read-only)
// and `POST /control/…` (approver credential only: start, stop, restart a server, reload the
// configuration). The CLI commands in ops-commands.ts are the other side.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyApproverCredential } from '../core/approvals';
import type { ControlPlane } from '../core/control-plane';
import { ControlPlaneError, errorMessage } from '../core/errors';
import type { RouteHandler } from '../core/gateway/gateway';
import type { AuditHealth } from '../core/audit';
import type { Proposal } from '../core/consent/store';
import type { Readiness } from '../core/gateway/gateway';
import type { LeftoverReport } from '../core/supervisor/instance-record';
import type { ServerStatus } from '../core/supervisor/state';
import { APPROVER_CREDENTIAL_HEADER, CredentialThrottle } from '../core/web-ui';

/** What `GET /status` answers; `mcpcp status` renders it and derives its exit code from it. */
export interface StatusBody {
  pid: number;
  port: number;
  servers: ServerStatus[];
  /** Configuration entries that could not become servers. */
  problems?: Array<{ server?: string; message: string }>;
  /** The audit log's health, when the instance reports it (`failing` makes the status degraded). */
  audit?: { state: 'ok' } | { state: 'failing'; since: number; refusedCount: number; lostRecords: number; lastError: string };
  /** Whether the instance takes calls now (as `/readyz`), when it reports it. */
  readiness?: { ready: boolean; reasons: readonly string[] };
  /** Proposals of the workspace that wait for a human's consent. */
  waiting?: Proposal[];
  /** Policy problems and rules kept from removed or loosened workspace files. */
  policy?: string[];
  /** What this start found and stopped of instances that ended without stopping their servers. */
  leftovers?: LeftoverReport[];
}

/** What a reload did: which servers it started, restarted and stopped, or why it changed nothing. */
export interface ReloadResult {
  file: string | undefined;
  added: string[];
  restarted: string[];
  removed: string[];
  unchanged: string[];
  /** Changes the reload did not apply, and why (they apply at the next start). */
  deferred?: string[];
}

export interface ControlRouteOptions {
  plane: () => ControlPlane;
  dataDir: string;
  /** Re-reads the configuration and applies it; throws (keeping the running configuration) when it is invalid. */
  reload: () => Promise<ReloadResult>;
  log: (message: string) => void;
}

const CONTROL_PREFIX = '/control/';
const ACTIONS = ['start', 'stop', 'restart'] as const;

/**
 * `POST /control/reload` and `POST /control/servers/NAME/{start|stop|restart}`. Only the approver
 * credential (header `X-Approver-Credential`) opens them: an MCP client's token is refused, so an
 * agent holding it cannot stop the servers that guard it. Wrong credentials are throttled.
 */
export function createControlRoute(options: ControlRouteOptions): RouteHandler {
  const throttle = new CredentialThrottle();
  return async (req, res, url) => {
    if (!url.pathname.startsWith(CONTROL_PREFIX)) return false;
    if (req.method !== 'POST') {
      send(res, 405, { error: 'use POST' }, { allow: 'POST' });
      return true;
    }
    req.resume();
    if (!(await authorised(req, res, options.dataDir, throttle, options.log))) return true;
    const rest = url.pathname.slice(CONTROL_PREFIX.length);
    try {
      if (rest === 'reload') {
        options.plane().oversight.configChanged('operator: reload (approver credential)', { action: 'reload' });
        const result = await options.reload();
        send(res, 200, result);
        return true;
      }
      if (rest.startsWith('undo/')) {
        await undoControl(options, rest.slice('undo/'.length), url, res);
        return true;
      }
      const match = /^servers\/([^/]+)\/([a-z]+)$/.exec(rest);
      const action = match?.[2] as (typeof ACTIONS)[number] | undefined;
      if (!match || !action || !ACTIONS.includes(action)) {
        send(res, 404, { error: `unknown control path ${url.pathname}; use /control/reload or /control/servers/NAME/{start|stop|restart}` });
        return true;
      }
      const name = decodeURIComponent(match[1]!);
      const server = options.plane().supervisor.get(name);
      if (!server) {
        const known = options.plane().supervisor.list().map((s) => s.name);
        send(res, 404, { error: `no server named "${name}"; known: ${known.join(', ') || 'none'}` });
        return true;
      }
      options.log(`${name}: ${action} requested with the approver credential`);
      // Audited before it happens: who (the approver credential) changed what.
      options.plane().oversight.configChanged(`operator: ${action} ${name} (approver credential)`, { action, server: name });
      if (action === 'start') server.start();
      else if (action === 'stop') await server.stop('stopped by the operator (mcpcp server stop)');
      else await server.restart();
      send(res, 200, { server: name, action, status: server.status });
    } catch (err) {
      // An invalid configuration file: nothing was applied; the running configuration stays.
      send(res, 400, { error: errorMessage(err) });
    }
    return true;
  };
}

/**
 * `POST /control/undo/calls/ID/{preview|run}` and `/control/undo/sessions/ID/{preview|run}`
 * (`?digest=` binds a run to the previewed plan). A run goes through the gateway's pipeline: it
 * answers once the undo was approved and ran, or was refused.
 */
async function undoControl(options: ControlRouteOptions, rest: string, url: URL, res: ServerResponse): Promise<void> {
  const match = /^(calls|sessions)\/([A-Za-z0-9-]{1,100})\/(preview|run)$/.exec(rest);
  if (!match) {
    send(res, 404, { error: `unknown undo path ${url.pathname}; use /control/undo/calls/ID/preview|run or /control/undo/sessions/ID/preview|run` });
    return;
  }
  const [, scope, id, action] = match as unknown as [string, 'calls' | 'sessions', string, 'preview' | 'run'];
  const undo = options.plane().undo;
  const digest = url.searchParams.get('digest') ?? undefined;
  try {
    if (scope === 'calls') {
      if (action === 'preview') send(res, 200, await undo.preview(id));
      else send(res, 200, await undo.run(id, digest !== undefined ? { digest } : {}));
    } else if (action === 'preview') send(res, 200, await undo.previewSession(id));
    else {
      if (digest === undefined) throw new ControlPlaneError('UNDO_PLAN_CHANGED', 'an undo session runs only the plan previewed: give ?digest= from its preview');
      send(res, 200, await undo.runSession(id, digest));
    }
  } catch (err) {
    const code = err instanceof ControlPlaneError ? err.code : '';
    send(res, code === 'UNDO_NOT_FOUND' ? 404 : code === 'UNDO_PLAN_CHANGED' ? 409 : 400, { error: errorMessage(err), ...(code ? { code } : {}) });
  }
}

async function authorised(req: IncomingMessage, res: ServerResponse, dataDir: string, throttle: CredentialThrottle, log: (m: string) => void): Promise<boolean> {
  const presented = req.headers[APPROVER_CREDENTIAL_HEADER];
  if (typeof presented !== 'string' || presented === '') {
    send(res, 401, { error: 'the approver credential is needed (header X-Approver-Credential); the client token of an MCP client does not work here' });
    return false;
  }
  let ok: boolean;
  try {
    ok = await verifyApproverCredential(dataDir, presented);
  } catch (err) {
    send(res, 503, { error: errorMessage(err) });
    return false;
  }
  if (!ok) {
    // A right credential always passes at once; a wrong one's answer is held (per source) or refused.
    log('control: a wrong approver credential was presented');
    const answer = await throttle.holdWrong(req.socket.remoteAddress ?? 'unknown', res);
    if ('refuseMs' in answer) {
      const seconds = Math.ceil(answer.refuseMs / 1000);
      send(res, 429, { error: `too many wrong approver credentials at once; try again in ${seconds} s` }, { 'retry-after': String(seconds) });
      return false;
    }
    send(res, 401, { error: 'wrong approver credential (the client token of an MCP client does not work here)' });
  }
  return ok;
}

/** `GET /status` with the client token: servers, configuration problems and audit health. */
export function createStatusRoute(body: () => StatusBody): RouteHandler {
  return (req, res, url) => {
    if (url.pathname !== '/status' || req.method !== 'GET') return false;
    send(res, 200, body());
    return true;
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}
