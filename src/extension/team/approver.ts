// The approver's own sign-in from VS Code to a team control plane, and the approvals it gives
// access to. No `vscode` here (unit-testable). The MCP API key is never used on these paths: the
// service accepts only a /ui session, which this gets by an OIDC authorization code + PKCE sign-in
// of the person (RFC 8252 loopback redirect to 127.0.0.1; the service keeps the client secret and
// makes the token exchange; this client holds the sign-in cookie that binds state, nonce and verifier).
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

/** Decides one approval as the signed-in person (the service records them as the decider). */
export async function decideTeamApproval(origin: string, session: ApproverSession, approval: { id: string; digest: string }, approve: boolean, reason?: string): Promise<{ ok: true } | { ok: false; status: number; message: string }> {
  const res = await fetch(`${origin}/ui/api/approvals/${encodeURIComponent(approval.id)}`, {
    method: 'POST',
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ approve, digest: approval.digest, ...(reason ? { reason } : {}) }),
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  if (res.status === 200) {
    await res.body?.cancel();
    return { ok: true };
  }
  return { ok: false, status: res.status, message: await errorText(res) };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
