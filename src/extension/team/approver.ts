// The approver's own sign-in from VS Code to a team control plane, and the approvals it gives
// access to. No `vscode` here (unit-testable). The MCP API key is never used on these paths: the
// service accepts only a /ui session, which this gets by an OIDC authorization code + PKCE sign-in
// of the person (RFC 8252 loopback redirect to 127.0.0.1; the service keeps the client secret and
// makes the token exchange; this client holds the sign-in cookie that binds state, nonce and verifier).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { approvalViewSchema, type ApprovalView } from '../../protocol/ui';

/** A signed-in approver session: the cookie (name=value) and its CSRF token. Kept in SecretStorage. */
export interface ApproverSession {
  cookie: string;
  csrfToken: string;
  name: string;
  roles: string[];
}

export const approverSessionSchema = z.object({ cookie: z.string().min(1).max(512), csrfToken: z.string().min(1).max(256), name: z.string().max(256), roles: z.array(z.string().max(32)).max(8) });

/** SecretStorage key of the approver session for one team origin. */
export function approverSessionSecretName(origin: string): string {
  return `mcpControlPlane.team.approverSession:${origin}`;
}

/** The `name=value` pairs of Set-Cookie headers. */
function cookiePairs(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0) out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return out;
}

async function errorText(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: string };
    if (typeof body.error === 'string') return body.error;
  } catch {
    // HTML or text: the page's error line if there is one
  }
  const line = /id="error"[^>]*>([^<]+)</.exec(text)?.[1] ?? /<p[^>]*>([^<]+)</.exec(text)?.[1] ?? text.slice(0, 200);
  return `${res.status} ${line.trim()}`;
}

/**
 * Signs the person in to the team's /ui as themselves: starts the service's sign-in with a
 * loopback redirect on 127.0.0.1, hands the issuer's URL to `openBrowser` (the person signs in
 * there), receives the code on the loopback listener, and finishes at the service with the
 * sign-in cookie. Resolves with the session; rejects with what went wrong (or after `timeoutMs`).
 */
export async function signInApprover(origin: string, openBrowser: (url: string) => Promise<unknown>, { timeoutMs = 300_000 } = {}): Promise<ApproverSession> {
  let server: Server | undefined;
  // The browser's page is written before the listener closes.
  let responded: Promise<unknown> = Promise.resolve();
  try {
    let deliver: (search: string) => void = () => undefined;
    const arrived = new Promise<string>((resolve) => (deliver = resolve));
    let answer: (html: string) => void = () => undefined;
    const answered = new Promise<string>((resolve) => (answer = resolve));
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/callback' || (!url.searchParams.has('code') && !url.searchParams.has('error'))) {
        res.writeHead(404).end();
        return;
      }
      deliver(url.search);
      responded = new Promise((resolve) => res.once('close', resolve));
      void answered.then((html) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(`<!doctype html><html><head><title>MCP Control Plane</title></head><body><p>${html}</p></body></html>`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(0, '127.0.0.1', () => resolve());
    });
    const redirect = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const start = await fetch(`${origin}/ui/auth/login?view=approvals&loopback=${encodeURIComponent(redirect)}`, { redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    const location = start.headers.get('location');
    if (start.status !== 302 || !location) throw new Error(`the team control plane did not start a sign-in: ${await errorText(start)}`);
    await start.body?.cancel();
    const signInCookie = [...cookiePairs(start)].map(([k, v]) => `${k}=${v}`).join('; ');
    if (!signInCookie) throw new Error('the team control plane set no sign-in cookie');
    await openBrowser(location);
    const search = await Promise.race([arrived, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no sign-in came back within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs).unref())]);
    try {
      const finish = await fetch(`${origin}/ui/auth/native${search}`, { headers: { cookie: signInCookie, accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(20_000) });
      if (finish.status !== 200 || !/json/.test(finish.headers.get('content-type') ?? '')) throw new Error(`sign-in refused: ${await errorText(finish)}`);
      const body = (await finish.json()) as { signedIn?: string; roles?: string[]; csrfToken?: string };
      const session = [...cookiePairs(finish)].find(([, v]) => v !== '');
      if (!session || !body.csrfToken) throw new Error('the team control plane returned no session');
      answer(`Signed in to MCP Control Plane as ${escapeHtml(body.signedIn ?? '?')}. You can close this tab and return to VS Code.`);
      return approverSessionSchema.parse({ cookie: `${session[0]}=${session[1]}`, csrfToken: body.csrfToken, name: body.signedIn ?? '', roles: body.roles ?? [] });
    } catch (err) {
      answer(`Sign-in failed: ${escapeHtml(err instanceof Error ? err.message : String(err))}. Return to VS Code and try again.`);
      throw err;
    }
  } finally {
    await Promise.race([responded, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    server?.close();
    server?.closeAllConnections();
  }
}

export type ApprovalsRead = { kind: 'ok'; pending: ApprovalView[] } | { kind: 'signed-out'; message: string } | { kind: 'error'; message: string };

/** The team's pending approvals, read with the approver session (never with an API key). */
export async function listTeamApprovals(origin: string, session: ApproverSession): Promise<ApprovalsRead> {
  let res: Response;
  try {
    res = await fetch(`${origin}/ui/api/approvals`, { headers: { cookie: session.cookie, accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  if (res.status === 401) return { kind: 'signed-out', message: await errorText(res) };
  if (res.status !== 200) return { kind: 'error', message: await errorText(res) };
  const body = (await res.json()) as { approvals?: unknown[] };
  const pending = (body.approvals ?? []).flatMap((a) => {
    const parsed = approvalViewSchema.safeParse(a);
    return parsed.success && parsed.data.status === 'pending' ? [parsed.data] : [];
  });
  return { kind: 'ok', pending };
}

export type TeamDecision =
  | { ok: true; status: ApprovalView['status']; note?: string; decidedBy?: string }
  | { ok: false; status: number; code?: string; message: string };

/** Decides one approval as the signed-in person (the service records them as the decider and answers with it). */
export async function decideTeamApproval(origin: string, session: ApproverSession, approval: { id: string; digest: string }, approve: boolean, reason?: string): Promise<TeamDecision> {
  let res: Response;
  try {
    res = await fetch(`${origin}/ui/api/approvals/${encodeURIComponent(approval.id)}`, {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ approve, digest: approval.digest, ...(reason ? { reason } : {}) }),
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    return { ok: false, status: 0, message: err instanceof Error ? err.message : String(err) };
  }
  const text = await res.text();
  let body: { status?: unknown; note?: unknown; decidedBy?: unknown; error?: unknown; code?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: the status line says enough
  }
  if (res.status === 200 && (body.status === 'pending' || body.status === 'approved' || body.status === 'rejected' || body.status === 'expired')) {
    return { ok: true, status: body.status, ...(typeof body.note === 'string' ? { note: body.note } : {}), ...(typeof body.decidedBy === 'string' ? { decidedBy: body.decidedBy } : {}) };
  }
  const message = typeof body.error === 'string' ? body.error : `${res.status} ${/<p[^>]*>([^<]+)</.exec(text)?.[1] ?? text.slice(0, 200)}`.trim();
  return { ok: false, status: res.status, ...(typeof body.code === 'string' ? { code: body.code } : {}), message };
}

/**
 * What a refused decision means for the person at the card, in plain words (the service's own
 * message follows where it helps). `signedOut`: the session is gone; sign in again.
 */
export function describeTeamRefusal(refusal: { status: number; code?: string; message: string }): { text: string; signedOut: boolean } {
  const said = refusal.message.replace(/\s+/g, ' ').trim().slice(0, 300);
  if (refusal.status === 401) return { text: 'Your approver session ended: sign in again as approver, then decide.', signedOut: true };
  if (refusal.code === 'APPROVAL_SELF_DECISION') return { text: 'You asked for this call yourself: nobody decides their own request, so another approver must decide it.', signedOut: false };
  if (refusal.code === 'APPROVAL_ALREADY_APPROVED') return { text: 'You already approved this call: it needs another approver too.', signedOut: false };
  if (refusal.code === 'APPROVAL_NOT_PENDING') return { text: `Someone else decided it first, or it expired: ${said}`, signedOut: false };
  if (refusal.code === 'APPROVAL_DIGEST_MISMATCH') return { text: 'The call changed since this card was shown: nothing was recorded; look at it again.', signedOut: false };
  if (refusal.code === 'APPROVAL_NOT_FOUND' || refusal.status === 404) return { text: 'The team control plane no longer has this approval (decided, expired or ended).', signedOut: false };
  if (refusal.status === 409) return { text: `Already decided: ${said}`, signedOut: false };
  if (refusal.status === 403) return { text: `The team control plane refused your decision: ${said}`, signedOut: false };
  if (refusal.status === 0) return { text: `The team control plane cannot be reached: ${said}`, signedOut: false };
  return { text: `The team control plane did not record it (${refusal.status}): ${said}`, signedOut: false };
}

/** What a watch of the team's pending approvals reports. */
export type WatchEvent = { kind: 'pending'; pending: ApprovalView[] } | { kind: 'signed-out'; message: string } | { kind: 'error'; message: string };

/**
 * Follows the team's pending approvals with the approver session: the service's `/ui/events`
 * stream (Server-Sent Events: the state on every change, and at least every few seconds). When the
 * stream cannot be opened or breaks, the list endpoint is read once and the stream is tried again
 * after `retryMs`. A refused session (401, or the stream's `expired` event) ends the watch with
 * `signed-out`. `stop()` closes everything; nothing is read after it.
 */
export function watchTeamApprovals(origin: string, session: ApproverSession, report: (event: WatchEvent) => void, { retryMs = 3_000 } = {}): { stop(): void } {
  let stopped = false;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  const clientId = randomBytes(12).toString('base64url');
  const emit = (event: WatchEvent): void => {
    if (!stopped) report(event);
  };
  const end = (message: string): void => {
    emit({ kind: 'signed-out', message });
    stop();
  };
  const retry = async (why: string): Promise<void> => {
    if (stopped) return;
    // The stream broke or was refused: the list says whether the session still holds.
    const read = await listTeamApprovals(origin, session);
    if (stopped) return;
    if (read.kind === 'signed-out') return end(read.message);
    emit(read.kind === 'ok' ? { kind: 'pending', pending: read.pending } : { kind: 'error', message: `${why}; ${read.message}` });
    timer = setTimeout(() => void connect(), retryMs);
    timer.unref?.();
  };
  const connect = async (): Promise<void> => {
    if (stopped) return;
    controller = new AbortController();
    let res: Response;
    try {
      res = await fetch(`${origin}/ui/events?view=approvals&client=${clientId}`, { headers: { cookie: session.cookie, accept: 'text/event-stream' }, redirect: 'manual', signal: controller.signal });
    } catch (err) {
      return retry(`the event stream cannot be opened: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.status === 401) {
      await res.body?.cancel().catch(() => undefined);
      return end(await errorText(res).catch(() => 'signed out'));
    }
    if (res.status !== 200 || !res.body || !/event-stream/.test(res.headers.get('content-type') ?? '')) {
      const why = await errorText(res).catch(() => String(res.status));
      return retry(`the event stream was refused: ${why}`);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || stopped) break;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1]?.trim();
          if (event === 'expired') return end('the approver session expired');
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
          if (data === '') continue;
          const pending = pendingOfState(data);
          if (pending) emit({ kind: 'pending', pending });
        }
        // A stream that never ends a block is not the service's: give up on it.
        if (buffer.length > 8 * 1024 * 1024) throw new Error('an event larger than 8 MiB');
      }
    } catch (err) {
      if (stopped) return;
      return retry(`the event stream broke: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      reader.cancel().catch(() => undefined);
    }
    if (!stopped) return retry('the event stream ended');
  };
  const stop = (): void => {
    stopped = true;
    clearTimeout(timer);
    controller?.abort();
  };
  void connect();
  return { stop };
}

/** The pending approvals of one `state` message of the stream (undefined: not a state message). */
function pendingOfState(data: string): ApprovalView[] | undefined {
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null || (message as { type?: unknown }).type !== 'state') return undefined;
  const list = (message as { state?: { pending?: unknown } }).state?.pending;
  if (!Array.isArray(list)) return undefined;
  return list.flatMap((a) => {
    const parsed = approvalViewSchema.safeParse(a);
    return parsed.success && parsed.data.status === 'pending' ? [parsed.data] : [];
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
