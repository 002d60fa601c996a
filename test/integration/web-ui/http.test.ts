// The gateway's /ui over real loopback HTTP: sign-in with the approver credential, the session
// cookie and CSRF token, the client token refused, the CLI's credential API deciding a real
// destructive call, state over Server-Sent Events, headers, and the login throttle.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { connectClient, firstText, waitFor } from '../../helpers/fixture-plane';
import { cookiePair, startWebUiPlane, type WebUiPlane } from './web-ui-plane';

/** A raw request, so Host and Origin can be set freely. */
function raw(port: number, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('web UI at /ui over real HTTP', () => {
  let ui: WebUiPlane;
  let cookie: string;
  let csrf: string;
  const json = { 'content-type': 'application/json' };

  before(async () => {
    ui = await startWebUiPlane({ maxCredentialFailuresPerMinute: 4 });
  });
  after(async () => ui?.stop());

  it('GET /ui without a session is the sign-in page, with a nonce CSP and no inline script', async () => {
    const res = await fetch(`${ui.base}/ui`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    // same-origin, not no-referrer: that would make browsers send `Origin: null` on the UI's own POSTs.
    assert.equal(res.headers.get('referrer-policy'), 'same-origin');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.match(html, /<form method="post" action="\/ui\/login"/);
    assert.match(html, /type="password"/);
    assert.doesNotMatch(html, /<script/);
  });

  it('the client token grants nothing at /ui: API, events and sign-in refuse it', async () => {
    const bearer = { authorization: `Bearer ${ui.plane.gateway.token}` };
    for (const [path, method] of [['/ui/api/approvals', 'GET'], ['/ui/events', 'GET'], ['/ui/api/request', 'POST']] as const) {
      const res = await fetch(`${ui.base}${path}`, { method, headers: { ...bearer, ...json }, ...(method === 'POST' ? { body: JSON.stringify({ type: 'ready', view: 'dashboard' }) } : {}) });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.match(await res.text(), /a client token does not grant access to \/ui/);
    }
    const page = await (await fetch(`${ui.base}/ui`, { headers: bearer })).text();
    assert.match(page, /action="\/ui\/login"/, 'the client token does not open the dashboard');
    const login = await fetch(`${ui.base}/ui/login`, { method: 'POST', headers: json, body: JSON.stringify({ credential: ui.plane.gateway.token }) });
    assert.equal(login.status, 401);
    assert.equal(login.headers.get('set-cookie'), null);
    const header = await fetch(`${ui.base}/ui/api/approvals`, { headers: { 'x-approver-credential': ui.plane.gateway.token } });
    assert.equal(header.status, 401);
  });

  it('signing in with the approver credential gives a strict session cookie and a CSRF token', async () => {
    const res = await fetch(`${ui.base}/ui/login`, { method: 'POST', headers: json, body: JSON.stringify({ credential: ui.credential }) });
    assert.equal(res.status, 200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, new RegExp(`^mcpcp_ui_${ui.plane.gateway.listeningPort}=[A-Za-z0-9_-]{43};`));
    for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/ui', 'Max-Age=43200']) assert.ok(setCookie.includes(attr), `${attr} in ${setCookie}`);
    cookie = cookiePair(setCookie);
    csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
    assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
    const page = await fetch(`${ui.base}/ui?view=approvals`, { headers: { cookie } });
    const html = await page.text();
    assert.match(html, /<body data-host="web" data-view="approvals">/);
    assert.ok(html.includes(`<meta name="mcpcp-csrf" content="${csrf}">`));
    const nonce = /script-src 'nonce-([^']+)'/.exec(page.headers.get('content-security-policy') ?? '')?.[1];
    assert.ok(nonce !== undefined && html.includes(`<script nonce="${nonce}" src="/ui/assets/main.js"></script>`));
  });

  it('a form sign-in redirects to /ui; a wrong credential shows the form again with 401', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const ok = await fetch(`${ui.base}/ui/login`, { method: 'POST', headers: form, body: new URLSearchParams({ credential: ui.credential }).toString(), redirect: 'manual' });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/ui');
    assert.match(ok.headers.get('set-cookie') ?? '', /HttpOnly/);
    const bad = await fetch(`${ui.base}/ui/login`, { method: 'POST', headers: form, body: 'credential=mcpcp_appr_wrong' });
    assert.equal(bad.status, 401);
    assert.match(await bad.text(), /role="alert">wrong approver credential/);
  });

  it('state-changing requests need the session and its CSRF token, as JSON', async () => {
    const message = JSON.stringify({ type: 'request', id: 'w1', method: 'dashboard.setWindow', params: { windowMs: 900_000 } });
    const noToken = await fetch(`${ui.base}/ui/api/request`, { method: 'POST', headers: { ...json, cookie }, body: message });
    assert.equal(noToken.status, 403);
    const wrong = await fetch(`${ui.base}/ui/api/request`, { method: 'POST', headers: { ...json, cookie, 'x-csrf-token': csrf.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) }, body: message });
    assert.equal(wrong.status, 403);
    const form = await fetch(`${ui.base}/ui/api/request`, { method: 'POST', headers: { 'content-type': 'text/plain', cookie, 'x-csrf-token': csrf }, body: message });
    assert.equal(form.status, 415);
    const ok = await fetch(`${ui.base}/ui/api/request`, { method: 'POST', headers: { ...json, cookie, 'x-csrf-token': csrf }, body: message });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { type: 'response', id: 'w1', ok: true, result: { windowMs: 900_000 } });
    const invalid = await fetch(`${ui.base}/ui/api/request`, { method: 'POST', headers: { ...json, cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ type: 'request', id: 'x', method: 'server.kill', params: {} }) });
    assert.equal(invalid.status, 400);
  });

  it('a foreign Origin or Host never reaches /ui (the gateway refuses it first)', async () => {
    const port = ui.plane.gateway.listeningPort;
    const origin = await raw(port, '/ui/login', { ...json, origin: 'https://evil.example' }, 'POST', JSON.stringify({ credential: ui.credential }));
    assert.equal(origin.status, 403);
    const host = await raw(port, '/ui', { host: `evil.example:${port}` });
    assert.equal(host.status, 403);
  });

  it('state arrives over Server-Sent Events, and again when something changes', async () => {
    const controller = new AbortController();
    const res = await fetch(`${ui.base}/ui/events?view=dashboard&client=testclient01`, { headers: { cookie }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    const states: Array<{ servers: Array<{ name: string; state: string }>; pending: Array<{ tool: string }> }> = [];
    let buffer = '';
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += Buffer.from(value).toString('utf8');
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(event)?.[1];
          if (data !== undefined) states.push((JSON.parse(data) as { state: (typeof states)[number] }).state);
        }
      }
    })().catch(() => undefined);
    await waitFor(() => states.length > 0, 5_000, 'the first state');
    assert.deepEqual(states[0]!.servers.map((s) => [s.name, s.state]), [['fx', 'running']]);
    const client = await connectClient(ui.plane, 'fx');
    const call = client.callTool({ name: 'delete_thing', arguments: { name: 'sse' } });
    await waitFor(() => states.some((s) => s.pending.some((p) => p.tool === 'delete_thing')), 10_000, 'a pushed state with the pending approval');
    const approval = ui.plane.oversight!.store.list()[0]!;
    await ui.plane.oversight!.decide({ approvalId: approval.id, digest: approval.digest, approve: false, reason: 'not now' }, { kind: 'vscode-ui' });
    assert.equal((await call).isError, true);
    await waitFor(() => states.at(-1)!.pending.length === 0, 5_000, 'a pushed state without it');
    controller.abort();
    await pump;
    await client.close();
  });

  it('the CLI API: list and decide with X-Approver-Credential, bound to the digest, once', async () => {
    const headers = { 'x-approver-credential': ui.credential, 'x-approver-name': 'alice', ...json };
    const empty = (await (await fetch(`${ui.base}/ui/api/approvals`, { headers })).json()) as { approvals: unknown[] };
    assert.deepEqual(empty.approvals, []);
    const client = await connectClient(ui.plane, 'fx', { name: 'agent', version: '2.0' });
    const call = client.callTool({ name: 'delete_thing', arguments: { name: 'cli-thing' } });
    type Listed = { approvals: Array<{ id: string; tool: string; digest: string; preview: { text?: string }; client?: { name: string } }> };
    let listed: Listed = { approvals: [] };
    await waitFor(async () => {
      listed = (await (await fetch(`${ui.base}/ui/api/approvals`, { headers })).json()) as Listed;
      return listed.approvals.length === 1;
    }, 10_000, 'the pending approval in the API');
    const a = listed.approvals[0]!;
    assert.equal(a.tool, 'delete_thing');
    assert.equal(a.preview.text, 'would delete cli-thing');
    assert.equal(a.client?.name, 'agent');
    const url = `${ui.base}/ui/api/approvals/${encodeURIComponent(a.id)}`;
    const mismatch = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ approve: true, digest: '0'.repeat(64) }) });
    assert.equal(mismatch.status, 409);
    assert.equal(((await mismatch.json()) as { code: string }).code, 'APPROVAL_DIGEST_MISMATCH');
    const bad = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ approve: 'yes', digest: a.digest }) });
    assert.equal(bad.status, 400);
    const ok = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ approve: true, digest: a.digest, reason: 'ticket 42' }) });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: 'approved', decidedBy: 'approver-credential (alice)' }, 'the answer says who the decision was recorded as');
    assert.equal(firstText(await call), 'deleted cli-thing; deleted so far: cli-thing');
    const replay = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ approve: true, digest: a.digest }) });
    assert.equal(replay.status, 409);
    const unknown = await fetch(`${ui.base}/ui/api/approvals/nope`, { method: 'POST', headers, body: JSON.stringify({ approve: true, digest: a.digest }) });
    assert.equal(unknown.status, 404);
    const malformed = await fetch(`${ui.base}/ui/api/approvals/%E0%A4%A`, { method: 'POST', headers, body: JSON.stringify({ approve: true, digest: a.digest }) });
    assert.equal(malformed.status, 404);
    const history = ui.plane.oversight!.store.history().find((h) => h.id === a.id);
    assert.deepEqual(history?.decision?.by, { kind: 'approver-credential', name: 'alice' });
    assert.equal(history?.decision?.reason, 'ticket 42');
    await client.close();
  });

  it('serves the built bundle and nothing else under /ui/assets', async () => {
    const js = await fetch(`${ui.base}/ui/assets/main.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    const css = await fetch(`${ui.base}/ui/assets/main.css`);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    for (const path of ['/ui/assets/main.js.map', '/ui/assets/..%2F..%2Fpackage.json', '/ui/assets/approver-credential.json', '/ui/secret']) {
      assert.equal((await fetch(`${ui.base}${path}`)).status, 404, path);
    }
    assert.equal((await fetch(`${ui.base}/ui/login`)).status, 405);
  });

  it('signing out ends the session', async () => {
    const res = await fetch(`${ui.base}/ui/login`, { method: 'POST', headers: json, body: JSON.stringify({ credential: ui.credential }) });
    const session = cookiePair(res.headers.get('set-cookie'));
    const token = ((await res.json()) as { csrfToken: string }).csrfToken;
    const out = await fetch(`${ui.base}/ui/logout`, { method: 'POST', headers: { ...json, cookie: session, 'x-csrf-token': token } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal((await fetch(`${ui.base}/ui/api/approvals`, { headers: { cookie: session } })).status, 401);
  });

  it('wrong credentials slow the guesser; the right credential is never locked out', async () => {
    const attempt = (credential: string, signal?: AbortSignal) => fetch(`${ui.base}/ui/login`, { method: 'POST', headers: json, body: JSON.stringify({ credential }), ...(signal ? { signal } : {}) });
    // Earlier tests' wrong attempts leave the window first.
    ui.skew(61_000);
    for (let i = 0; i < 4; i++) assert.equal((await attempt(`mcpcp_appr_guess${i}`)).status, 401);
    // Beyond the free failures, each wrong answer is held.
    const started = Date.now();
    assert.equal((await attempt('mcpcp_appr_guess4')).status, 401);
    assert.ok(Date.now() - started >= 450, `held ${Date.now() - started} ms`);
    // A flood of wrong guesses in parallel: 16 held in line (their holds double, so they answer
    // seconds apart), the rest refused at once. Judged by order, not by the clock: the refusals
    // all come back while every held guess is still waiting.
    const flood = new AbortController();
    const settled: number[] = [];
    let wake: () => void = () => undefined;
    const guesses = Array.from({ length: 24 }, (_, i) =>
      attempt(`mcpcp_appr_flood${i}`, flood.signal)
        .then((r) => r.status)
        .catch(() => 0)
        .then((status) => {
          settled.push(status);
          wake();
          return status;
        }),
    );
    // The held answers come 1 s, 3 s, 7 s… after the flood starts; the refusals before the second.
    const refusals = (): number => settled.filter((status) => status === 429).length;
    const until = Date.now() + 60_000;
    while (refusals() < 8 && settled.length < 24 && Date.now() < until) await new Promise<void>((resolve) => (wake = resolve));
    assert.equal(refusals(), 8, `8 refused beyond 16 held: ${settled.join(',')}`);
    assert.ok(settled.length <= 9, `the refusals came back while the held guesses waited: ${settled.join(',')}`);
    // Meanwhile the right credential gets in, by sign-in and by header, while the held guesses wait.
    const heldAnswered = settled.length - 8;
    assert.equal((await attempt(ui.credential)).status, 200);
    const header = await fetch(`${ui.base}/ui/api/approvals`, { headers: { 'x-approver-credential': ui.credential } });
    assert.equal(header.status, 200);
    assert.ok(settled.length - 8 <= heldAnswered + 1, `the right credential was not held behind the wrong ones (${settled.join(',')})`);
    flood.abort();
    await Promise.all(guesses);
    ui.skew(61_000);
  });
});
