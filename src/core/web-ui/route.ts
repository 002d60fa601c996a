import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import { verifyApproverCredential } from '../approvals/approver-credential';
import { ControlPlaneError, errorMessage } from '../errors';
import type { RouteHandler } from '../gateway/gateway';
import { readBody } from '../gateway/http-util';
import type { UiBackend, UiDecider } from '../oversight/ui-backend';
import { uiToHostSchema, viewSchema, type HostToUi } from '../../protocol/ui';
import { newNonce, renderLoginPage, renderTeamLoginPage, renderUiPage, webCsp } from './page';
import { decisionErrorStatus, handleUiRequest } from './requests';
import { CredentialThrottle, UiSessions, memorySessionStore, secretEquals, type UiSession, type UiSessionStore } from './sessions';
import { decidingPrincipal, type DeciderResult } from '../team/decider';
import { isLoopbackRedirect, type PendingSignIn, type UiSignIn } from '../team/ui-sign-in';
import { StateFeed, type StateSubscription } from './state-feed';

export interface WebUiOptions {
  /** What the UI reads and does. A getter is called on first use, so the route can be built before the engine. */
  readonly backend: UiBackend | (() => UiBackend);
  /** The headless data directory holding `approver-credential.json`. */
  readonly dataDir: string;
  /** The built UI (`dist/media`: main.js, main.css). */
  readonly assetsDir: string;
  readonly now?: () => number;
  /** Session idle timeout (default 30 min) and absolute lifetime (default 12 h). */
  readonly sessionIdleMs?: number;
  readonly sessionMaxAgeMs?: number;
  /** Wrong credentials per minute before attempts are refused (default 10). */
  readonly maxCredentialFailuresPerMinute?: number;
  /** Statistics window of a new UI instance. Default one hour. */
  readonly defaultWindowMs?: number;
  /** Interval of the keep-alive comments on event streams. Default 15 s. */
  readonly keepAliveMs?: number;
  readonly log?: (message: string) => void;
  /**
   * Team mode (docs/team.md): people sign in with OIDC (authorization code + PKCE) and decide as
   * themselves; the approver credential is not accepted. `sessions` defaults to memory (PostgreSQL
   * when the deployment has one, so replicas share sign-ins); `secureCookies` when publicUrl is https.
   */
  readonly team?: { readonly signIn?: UiSignIn; readonly secureCookies: boolean; readonly sessions?: UiSessionStore };
  /** The client's address, X-Forwarded-For applied only from trusted proxies (the throttle's source). Default: the socket peer. */
  readonly clientAddress?: (req: IncomingMessage) => string;
}

/** The gateway route serving `/ui`, and how to stop it. */
export interface WebUiRoute {
  /** Give it to the gateway as a public route (it does its own authentication). */
  readonly handle: RouteHandler;
  /** Ends every event stream and stops the state feed. Sessions end with the process. */
  dispose(): void;
}

/** Header by which the CLI (or a script) presents the approver credential instead of a session. */
export const APPROVER_CREDENTIAL_HEADER = 'x-approver-credential';
/** Optional header naming the person behind a credential request (recorded as the decider's name). */
export const APPROVER_NAME_HEADER = 'x-approver-name';
export const CSRF_HEADER = 'x-csrf-token';
/** Ties a request to the event stream of the same UI instance (for `dashboard.setWindow`). */
export const UI_CLIENT_HEADER = 'x-ui-client';

const MAX_BODY_BYTES = 64 * 1024;
const NOT_SIGNED_IN = 'not signed in: sign in at /ui with the approver credential, or send X-Approver-Credential (a client token does not grant access to /ui)';
const MAX_STREAMS_PER_SESSION = 8;
const ASSETS: Readonly<Record<string, string>> = { 'main.js': 'text/javascript; charset=utf-8', 'main.css': 'text/css; charset=utf-8' };
const clientIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);
const windowSchema = z.coerce.number().int().min(60_000).max(24 * 3_600_000);
const decisionBodySchema = z.strictObject({ approve: z.boolean(), digest: z.string().min(1).max(128), reason: z.string().max(500).optional() });
const loginBodySchema = z.object({ credential: z.string() });
const approverNameSchema = z.string().regex(/^[\w .@-]{1,64}$/);

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Not `no-referrer`: with it, browsers send `Origin: null` on same-origin POSTs (Fetch spec), which
  // the gateway's Origin check refuses. `same-origin` gives no other origin a referrer either.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface Stream {
  readonly sessionId: string;
  readonly clientId: string;
  readonly sub: StateSubscription;
  readonly res: ServerResponse;
  close(reason?: 'expired'): void;
}

/** Who a request authenticated as: a browser session, or the approver credential in a header. */
interface Authed {
  readonly by: UiDecider;
  readonly session?: UiSession;
}

/**
 * The gateway's web UI at `/ui`: the dashboard and approvals bundle for headless use, plus a small
 * JSON API for `mcpcp approvals`.
 *
 * Authentication is its own (the route runs after the gateway's Host/Origin checks and before its
 * bearer-token check, and the client token grants nothing here):
 * - `GET /ui` shows the sign-in form unless the `mcpcp_ui_<port>` cookie names a live session;
 *   `POST /ui/login` with the approver credential (form or JSON) starts one: cookie HttpOnly,
 *   SameSite=Strict, Path=/ui, 256-bit random id, idle and absolute expiry; a CSRF token rides on
 *   the page and must come back in `X-CSRF-Token` on every state-changing request;
 * - `X-Approver-Credential: <credential>` authenticates a single API request without a session
 *   (`GET /ui/api/approvals`, `POST /ui/api/approvals/<id>`);
 * - wrong credentials slow their sender (sign-in and header alike); a right one is never refused.
 * Pages carry a nonce CSP without inline script, `X-Frame-Options: DENY` and `Referrer-Policy:
 * same-origin`. State reaches the browser over Server-Sent Events (`GET /ui/events`).
 */
export function createWebUiRoute(options: WebUiOptions): WebUiRoute {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => undefined);
  const defaultWindowMs = options.defaultWindowMs ?? 3_600_000;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const team = options.team;
  const sessions: UiSessionStore =
    team?.sessions ??
    memorySessionStore(
      new UiSessions({
        now,
        ...(options.sessionIdleMs !== undefined ? { idleMs: options.sessionIdleMs } : {}),
        ...(options.sessionMaxAgeMs !== undefined ? { maxAgeMs: options.sessionMaxAgeMs } : {}),
      }),
    );
  const secure = team?.secureCookies === true ? '; Secure' : '';
  const clientAddress = options.clientAddress ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown');
  // Team mode: one public origin, replicas behind it: the cookie's name must not depend on a port.
  const sessionCookie = (req: IncomingMessage): string => (team ? 'mcpcp_ui' : cookieName(req));
  const throttle = new CredentialThrottle({ now, ...(options.maxCredentialFailuresPerMinute !== undefined ? { maxFailures: options.maxCredentialFailuresPerMinute } : {}) });
  const feed = new StateFeed(options.backend, { onError: (err) => log(`web UI: state failed: ${errorMessage(err)}`) });
  const backend = (): UiBackend => feed.backend;
  const streams = new Set<Stream>();

  /**
   * Checks a presented credential; a right one passes at once, always. The answer to a wrong one is
   * held by the throttle (per source) or refused with 429; sends the refusal itself and returns false.
   */
  const checkCredential = async (req: IncomingMessage, res: ServerResponse, presented: string, form: boolean): Promise<boolean> => {
    let ok: boolean;
    try {
      ok = await verifyApproverCredential(options.dataDir, presented);
    } catch (err) {
      // Missing, insecure or damaged credential file: say so; it is the operator's to fix.
      refuse(res, 503, errorMessage(err), form);
      return false;
    }
    if (ok) return true;
    log('web UI: a wrong approver credential was presented');
    const answer = await throttle.holdWrong(clientAddress(req), res);
    if ('refuseMs' in answer) {
      const seconds = Math.ceil(answer.refuseMs / 1000);
      refuse(res, 429, `too many wrong approver credentials at once; try again in ${seconds} s`, form, { 'retry-after': String(seconds) });
      return false;
    }
    refuse(res, 401, 'wrong approver credential (the client token of an MCP client does not work here)', form);
    return false;
  };

  const refuse = (res: ServerResponse, status: number, message: string, form: boolean, headers: Record<string, string> = {}): void => {
    if (form) sendLoginPage(res, status, message, headers);
    else sendJson(res, status, { error: message }, headers);
  };

  const authenticate = async (req: IncomingMessage, res: ServerResponse, mutating: boolean): Promise<Authed | undefined> => {
    const credential = header(req, APPROVER_CREDENTIAL_HEADER);
    if (credential !== undefined && team) {
      // Team mode has people, not a shared secret: whatever is presented here is refused.
      const refused = decidingPrincipal({ kind: 'approver-credential' }, 'team') as Extract<DeciderResult, { ok: false }>;
      sendJson(res, refused.status, { error: refused.message });
      return undefined;
    }
    if (credential !== undefined) {
      if (!(await checkCredential(req, res, credential, false))) return undefined;
      const name = approverNameSchema.safeParse(header(req, APPROVER_NAME_HEADER));
      return { by: { kind: 'approver-credential', name: name.success ? name.data : 'api' } };
    }
    const session = await sessions.get(cookie(req, sessionCookie(req)));
    if (session === undefined) {
      sendJson(res, 401, { error: team ? 'not signed in: sign in at /ui (an API key or an MCP access token does not grant access to /ui)' : NOT_SIGNED_IN });
      return undefined;
    }
    if (mutating && !secretEquals(header(req, CSRF_HEADER), session.csrfToken)) {
      sendJson(res, 403, { error: 'missing or wrong X-CSRF-Token' });
      return undefined;
    }
    if (session.principal) return { by: { kind: 'ui-session', name: session.principal.name, principal: session.principal }, session };
    return { by: { kind: 'approver-credential', name: 'web-ui' }, session };
  };

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const json = isJson(req);
    let text: string;
    try {
      text = (await readBody(req, MAX_BODY_BYTES)).toString('utf8');
    } catch (err) {
      return refuse(res, 413, errorMessage(err), !json, { connection: 'close' });
    }
    let presented: string | undefined;
    if (json) {
      try {
        const body = loginBodySchema.safeParse(JSON.parse(text));
        presented = body.success ? body.data.credential : undefined;
      } catch {
        presented = undefined;
      }
    } else {
      presented = new URLSearchParams(text).get('credential') ?? undefined;
    }
    if (presented === undefined || presented.length === 0 || presented.length > 512) {
      return refuse(res, 400, 'enter the approver credential', !json);
    }
    if (!(await checkCredential(req, res, presented.trim(), !json))) return;
    const session = await sessions.create();
    log('web UI: signed in with the approver credential');
    const setCookie = `${sessionCookie(req)}=${session.id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${sessions.maxAgeSeconds}${secure}`;
    if (json) return sendJson(res, 200, { ok: true, csrfToken: session.csrfToken }, { 'set-cookie': setCookie });
    res.writeHead(303, { ...SECURITY_HEADERS, location: '/ui', 'set-cookie': setCookie, 'content-length': '0' });
    res.end();
  };

  const logout = async (req: IncomingMessage, res: ServerResponse, session: UiSession): Promise<void> => {
    await sessions.delete(session.id);
    for (const s of [...streams]) if (s.sessionId === session.id) s.close('expired');
    res.writeHead(204, { ...SECURITY_HEADERS, 'set-cookie': `${sessionCookie(req)}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0${secure}` });
    res.end();
  };

  /** Team mode: sends the browser to the issuer, keeping state, nonce and PKCE verifier in a short-lived HttpOnly cookie. */
  const signInStart = async (res: ServerResponse, url: URL): Promise<void> => {
    const { signIn } = team!;
    if (signIn === undefined) return sendTeamLoginPage(res, 503, 'sign-in is not configured: the operator sets team.oidc.clientId (and clientSecret) in the configuration');
    const view = viewSchema.safeParse(url.searchParams.get('view') ?? 'dashboard');
    const loopback = url.searchParams.get('loopback') ?? undefined;
    if (loopback !== undefined && !isLoopbackRedirect(loopback)) return sendTeamLoginPage(res, 400, 'loopback must be http://127.0.0.1:<port>/<path> (a native client on this machine)');
    let started;
    try {
      // `loopback`: a native client (VS Code) receives the code on 127.0.0.1 and finishes itself.
      started = await signIn.start(view.success ? `/ui?view=${view.data}` : '/ui', loopback);
    } catch (err) {
      log(`web UI: sign-in cannot start: ${errorMessage(err)}`);
      return sendTeamLoginPage(res, 503, `the identity provider cannot be reached now: ${errorMessage(err)}`);
    }
    const value = Buffer.from(JSON.stringify(started.pending)).toString('base64url');
    // Lax: the callback is a top-level navigation coming back from the issuer's site.
    res.writeHead(302, { ...SECURITY_HEADERS, location: started.url, 'set-cookie': `${SIGN_IN_COOKIE}=${value}; Path=/ui; HttpOnly; SameSite=Lax; Max-Age=600${secure}`, 'content-length': '0' });
    res.end();
  };

  /** Team mode: the issuer's redirect back; exchanges the code, starts a session for the person. */
  const signInFinish = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const clear = `${SIGN_IN_COOKIE}=; Path=/ui; HttpOnly; SameSite=Lax; Max-Age=0${secure}`;
    const pending = parsePending(cookie(req, SIGN_IN_COOKIE));
    if (pending === undefined) return sendTeamLoginPage(res, 400, 'this sign-in was not started here or took too long; sign in again', { 'set-cookie': clear });
    let principal;
    try {
      if (!team?.signIn) throw new Error('sign-in is not configured (team.oidc.clientId)');
      principal = await team.signIn.finish(url.search, pending);
    } catch (err) {
      log(`web UI: a sign-in failed from ${clientAddress(req)}: ${errorMessage(err)}`);
      return sendTeamLoginPage(res, 401, `sign-in failed: ${errorMessage(err)}`, { 'set-cookie': clear });
    }
    if (principal.roles.length === 0) {
      log(`web UI: ${principal.name} signed in without any role; refused`);
      return sendTeamLoginPage(res, 403, `${principal.name} has no role here (viewer, operator, approver or admin); ask an admin`, { 'set-cookie': clear });
    }
    const session = await sessions.create(principal);
    log(`web UI: ${principal.name} (${principal.roles.join(', ')}) signed in from ${clientAddress(req)}${pending.redirectUri ? ' (native client)' : ''}`);
    if (pending.redirectUri !== undefined) {
      // A native client holding the sign-in cookie finishes here: the session cookie and CSRF token as JSON.
      return sendJson(res, 200, { signedIn: principal.name, roles: principal.roles, csrfToken: session.csrfToken }, { 'set-cookie': [clear, `${sessionCookie(req)}=${session.id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${sessions.maxAgeSeconds}${secure}`] });
    }
    // The session cookie is SameSite=Strict: a page (not a redirect) takes the browser on to /ui, so
    // that the first request carrying it is a same-site one.
    const nonce = newNonce();
    const target = pending.returnTo.startsWith('/ui') ? pending.returnTo : '/ui';
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${escapeAttr(target)}"><title>Signed in · MCP Control Plane</title></head><body><p>Signed in as ${escapeAttr(principal.name)}. <a href="${escapeAttr(target)}">Continue</a></p></body></html>`;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-security-policy': webCsp(nonce),
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(Buffer.byteLength(html)),
      'set-cookie': [clear, `${sessionCookie(req)}=${session.id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${sessions.maxAgeSeconds}${secure}`],
    });
    res.end(html);
  };

  /** Who decides, or the refusal already sent: team mode only a signed-in approver, loopback the approver credential. */
  const decider = (res: ServerResponse, auth: Authed): UiDecider | undefined => {
    const result = auth.by.principal
      ? decidingPrincipal({ kind: 'ui-session', principal: auth.by.principal }, team ? 'team' : 'loopback')
      : decidingPrincipal({ kind: 'approver-credential', ...(auth.by.name ? { name: auth.by.name } : {}) }, team ? 'team' : 'loopback');
    if (!result.ok) {
      sendJson(res, result.status, { error: result.message });
      return undefined;
    }
    return auth.by;
  };

  const page = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const session = await sessions.get(cookie(req, sessionCookie(req)));
    if (session === undefined) return team ? sendTeamLoginPage(res, 200) : sendLoginPage(res, 200);
    const view = viewSchema.safeParse(url.searchParams.get('view') ?? 'dashboard');
    const nonce = newNonce();
    const html = renderUiPage({
      host: 'web',
      view: view.success ? view.data : 'dashboard',
      title: 'MCP Control Plane',
      nonce,
      scriptUrl: '/ui/assets/main.js',
      styleUrl: '/ui/assets/main.css',
      csrfToken: session.csrfToken,
    });
    sendHtml(res, 200, html, nonce);
  };

  const asset = async (res: ServerResponse, name: string): Promise<void> => {
    const type = ASSETS[name];
    if (type === undefined) return sendJson(res, 404, { error: 'not found' });
    let body: Buffer;
    try {
      body = await readFile(join(options.assetsDir, name));
    } catch {
      return sendJson(res, 500, { error: `the UI bundle is missing (${name} in ${options.assetsDir}): run npm run build` });
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'cache-control': 'no-cache', 'content-type': type, 'content-length': String(body.length) });
    res.end(body);
  };

  const events = (req: IncomingMessage, res: ServerResponse, url: URL, session: UiSession): void => {
    if ([...streams].filter((s) => s.sessionId === session.id).length >= MAX_STREAMS_PER_SESSION) {
      return sendJson(res, 429, { error: `at most ${MAX_STREAMS_PER_SESSION} open UI pages per session` });
    }
    const clientParam = clientIdSchema.safeParse(url.searchParams.get('client'));
    const clientId = clientParam.success ? clientParam.data : randomBytes(12).toString('base64url');
    const windowParam = windowSchema.safeParse(url.searchParams.get('window') ?? undefined);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    res.write('retry: 3000\n\n');
    let closed = false;
    const write = (text: string): void => {
      if (!closed) res.write(text);
    };
    const sub = feed.subscribe(windowParam.success ? windowParam.data : defaultWindowMs, (state) => {
      const message: HostToUi = { type: 'state', state };
      // Checked per push (a memory store answers at once, so pushes keep their order).
      void sessions.isAlive(session.id).then(
        (alive) => (alive ? write(`data: ${JSON.stringify(message)}\n\n`) : stream.close('expired')),
        () => undefined,
      );
    });
    const keepAlive = setInterval(() => {
      void sessions.isAlive(session.id).then(
        (alive) => (alive ? write(': keep-alive\n\n') : stream.close('expired')),
        () => undefined,
      );
    }, keepAliveMs);
    keepAlive.unref();
    const stream: Stream = {
      sessionId: session.id,
      clientId,
      sub,
      res,
      close: (reason) => {
        if (closed) return;
        if (reason === 'expired') res.write('event: expired\ndata: {}\n\n');
        closed = true;
        clearInterval(keepAlive);
        sub.dispose();
        streams.delete(stream);
        res.end();
      },
    };
    streams.add(stream);
    res.on('close', () => stream.close());
    sub.refresh();
  };

  const apiRequest = async (req: IncomingMessage, res: ServerResponse, auth: Authed): Promise<void> => {
    const body = await readJson(req, res);
    if (body === undefined) return;
    const parsed = uiToHostSchema.safeParse(body.value);
    if (!parsed.success) return sendJson(res, 400, { error: `invalid message: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
    const message = parsed.data;
    if (message.type === 'ready') {
      const state: HostToUi = { type: 'state', state: await backend().state(defaultWindowMs) };
      return sendJson(res, 200, state);
    }
    const clientId = header(req, UI_CLIENT_HEADER);
    if (message.method === 'approval.decide' && decider(res, auth) === undefined) return;
    const response = await handleUiRequest(message, {
      backend: backend(),
      by: auth.by,
      setWindow: (windowMs) => {
        for (const s of streams) if (s.sessionId === auth.session?.id && s.clientId === clientId) s.sub.setWindow(windowMs);
      },
    });
    sendJson(res, 200, response);
  };

  const listApprovals = async (res: ServerResponse): Promise<void> => {
    const state = await backend().state(defaultWindowMs);
    sendJson(res, 200, { approvals: state.pending, history: state.history });
  };

  const decideApproval = async (req: IncomingMessage, res: ServerResponse, approvalId: string, auth: Authed): Promise<void> => {
    const body = await readJson(req, res);
    if (body === undefined) return;
    const parsed = decisionBodySchema.safeParse(body.value);
    if (!parsed.success) return sendJson(res, 400, { error: 'expected {"approve": true|false, "digest": "<the approval\'s digest>", "reason"?: "…"}' });
    const { approve, digest, reason } = parsed.data;
    if (decider(res, auth) === undefined) return;
    try {
      const result = await backend().decide({ approvalId, digest, approve, ...(reason !== undefined ? { reason } : {}) }, auth.by);
      sendJson(res, 200, result);
    } catch (err) {
      sendJson(res, decisionErrorStatus(err), { error: errorMessage(err), ...(err instanceof ControlPlaneError ? { code: err.code } : {}) });
    }
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/ui' || path === '/ui/') {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET');
      return page(req, res, url);
    }
    if (path === '/ui/login') {
      if (method !== 'POST') return notAllowed(res, 'POST');
      if (team) return sendTeamLoginPage(res, 403, 'this control plane signs people in with the identity provider, not with a credential');
      return login(req, res);
    }
    if (team && path === '/ui/auth/login') {
      if (method !== 'GET') return notAllowed(res, 'GET');
      return signInStart(res, url);
    }
    // `/ui/auth/native`: where a native client (which does not know `redirectPath`) finishes.
    if (team?.signIn && (path === team.signIn.callbackPath || path === '/ui/auth/native')) {
      if (method !== 'GET') return notAllowed(res, 'GET');
      return signInFinish(req, res, url);
    }
    const assetMatch = /^\/ui\/assets\/([^/]+)$/.exec(path);
    if (assetMatch) {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET');
      return asset(res, assetMatch[1]!);
    }
    if (path === '/ui/logout') {
      if (method !== 'POST') return notAllowed(res, 'POST');
      const auth = await authenticate(req, res, true);
      if (auth?.session) await logout(req, res, auth.session);
      else if (auth) sendJson(res, 400, { error: 'no session to sign out of' });
      return;
    }
    if (path === '/ui/events') {
      if (method !== 'GET') return notAllowed(res, 'GET');
      const session = await sessions.get(cookie(req, sessionCookie(req)));
      if (session === undefined) return sendJson(res, 401, { error: NOT_SIGNED_IN });
      return events(req, res, url, session);
    }
    if (path === '/ui/api/request') {
      if (method !== 'POST') return notAllowed(res, 'POST');
      const auth = await authenticate(req, res, true);
      if (auth) await apiRequest(req, res, auth);
      return;
    }
    if (path === '/ui/api/approvals') {
      if (method !== 'GET') return notAllowed(res, 'GET');
      const auth = await authenticate(req, res, false);
      if (auth) await listApprovals(res);
      return;
    }
    const decideMatch = /^\/ui\/api\/approvals\/([^/]+)$/.exec(path);
    if (decideMatch) {
      if (method !== 'POST') return notAllowed(res, 'POST');
      let approvalId: string;
      try {
        approvalId = decodeURIComponent(decideMatch[1]!);
      } catch {
        return sendJson(res, 404, { error: 'not found' });
      }
      const auth = await authenticate(req, res, true);
      if (auth) await decideApproval(req, res, approvalId, auth);
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  };

  const handle: RouteHandler = async (req, res, url) => {
    if (url.pathname !== '/ui' && !url.pathname.startsWith('/ui/')) return false;
    try {
      await dispatch(req, res, url);
    } catch (err) {
      log(`web UI: ${req.method ?? ''} ${url.pathname} failed: ${errorMessage(err)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    }
    return true;
  };

  return {
    handle,
    dispose: () => {
      for (const s of [...streams]) s.close();
      feed.dispose();
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function isJson(req: IncomingMessage): boolean {
  return /^application\/json\b/i.test(header(req, 'content-type') ?? '');
}

/** The session cookie's name carries the port: cookies are per host, not per port, and two gateways may run. */
function cookieName(req: IncomingMessage): string {
  const port = /:(\d+)$/.exec(req.headers.host ?? '')?.[1];
  return port !== undefined ? `mcpcp_ui_${port}` : 'mcpcp_ui';
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Reads a JSON body (415 unless `application/json`, which a cross-site form cannot send); sends the error itself. */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<{ value: unknown } | undefined> {
  if (!isJson(req)) {
    sendJson(res, 415, { error: 'send Content-Type: application/json' });
    return undefined;
  }
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_BODY_BYTES);
  } catch (err) {
    sendJson(res, 413, { error: errorMessage(err) }, { connection: 'close' });
    return undefined;
  }
  try {
    return { value: JSON.parse(raw.toString('utf8')) as unknown };
  } catch {
    sendJson(res, 400, { error: 'the body is not valid JSON' });
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function sendHtml(res: ServerResponse, status: number, html: string, nonce: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-security-policy': webCsp(nonce),
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(html)),
    ...headers,
  });
  res.end(html);
}

function sendLoginPage(res: ServerResponse, status: number, error?: string, headers: Record<string, string> = {}): void {
  const nonce = newNonce();
  sendHtml(res, status, renderLoginPage({ nonce, styleUrl: '/ui/assets/main.css', ...(error !== undefined ? { error } : {}) }), nonce, headers);
}

/** Team mode's sign-in page: a link to the identity provider. */
function sendTeamLoginPage(res: ServerResponse, status: number, error?: string, headers: Record<string, string | string[]> = {}): void {
  const nonce = newNonce();
  sendHtml(res, status, renderTeamLoginPage({ nonce, styleUrl: '/ui/assets/main.css', ...(error !== undefined ? { error } : {}) }), nonce, headers);
}

/** The cookie holding state, nonce and PKCE verifier between the redirect to the issuer and the callback. */
const SIGN_IN_COOKIE = 'mcpcp_signin';
const pendingSchema = z.strictObject({ state: z.string().min(16).max(256), nonce: z.string().min(16).max(256), verifier: z.string().min(43).max(128), returnTo: z.string().max(200), redirectUri: z.string().refine(isLoopbackRedirect).optional() });

function parsePending(value: string | undefined): PendingSignIn | undefined {
  if (value === undefined || value.length > 2048) return undefined;
  try {
    const parsed = pendingSchema.safeParse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function escapeAttr(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function notAllowed(res: ServerResponse, allow: string): void {
  sendJson(res, 405, { error: `method not allowed; use ${allow}` }, { allow });
}
