/**
 * A person's sign-in to a team-mode `/ui` with plain HTTP requests (no browser): the gateway's
 * `/ui/auth/login` redirects to the issuer's authorization endpoint (code + PKCE S256); the test
 * OIDC issuer (test/fixtures/oidc-issuer) signs `user` in from its form; its redirect goes back to
 * the gateway's callback with the sign-in cookie, which answers with the session cookie. Then the
 * page's CSRF token is read. Works with any gateway URL: one replica of several included.
 *
 *   const alice = await signInToUi('http://127.0.0.1:4100', 'u-alice');
 *   await fetch(`${url}/ui/api/approvals/${id}`, { method: 'POST', headers: alice.headers(), body });
 */
export interface UiSignedIn {
  /** `mcpcp_ui=<session id>` */
  readonly cookie: string;
  readonly csrf: string;
  /** Headers of a JSON request in this session (cookie, CSRF token, content type). */
  headers(): Record<string, string>;
}

export async function signInToUi(baseUrl: string, user: string): Promise<UiSignedIn> {
  const start = await fetch(`${baseUrl}/ui/auth/login`, { redirect: 'manual' });
  await start.text();
  if (start.status !== 302) throw new Error(`sign-in start on ${baseUrl} answered ${start.status}`);
  const signinCookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const authorize = new URL(start.headers.get('location')!);
  if (authorize.searchParams.get('code_challenge_method') !== 'S256') throw new Error(`the sign-in did not ask for PKCE S256: ${authorize.href}`);
  // The issuer's sign-in form posts back what the authorization request carried, plus the user picked.
  const form = new URLSearchParams();
  for (const k of ['client_id', 'redirect_uri', 'state', 'nonce', 'code_challenge', 'scope']) form.set(k, authorize.searchParams.get(k) ?? '');
  form.set('user', user);
  const back = await fetch(`${authorize.origin}${authorize.pathname}`, { method: 'POST', body: form, redirect: 'manual' });
  if (back.status !== 302) throw new Error(`issuer answered ${back.status}: ${await back.text()}`);
  await back.text();
  const callback = await fetch(back.headers.get('location')!, { headers: { cookie: signinCookie }, redirect: 'manual' });
  const text = await callback.text();
  if (callback.status !== 200) throw new Error(`callback on ${baseUrl} answered ${callback.status}: ${text}`);
  const session = callback.headers.getSetCookie().find((c) => c.startsWith('mcpcp_ui='));
  if (session === undefined) throw new Error(`no session cookie from ${baseUrl}: ${text.slice(0, 300)}`);
  const cookie = session.split(';')[0]!;
  const page = await fetch(`${baseUrl}/ui`, { headers: { cookie } });
  const html = await page.text();
  const csrf = /name="mcpcp-csrf" content="([^"]+)"/.exec(html)?.[1];
  if (!csrf) throw new Error(`no CSRF token on ${baseUrl}/ui: ${html.slice(0, 400)}`);
  return { cookie, csrf, headers: () => ({ cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }) };
}
