// The person's browser in a native (VS Code) OIDC sign-in, with plain HTTP requests: it opens the
// authorization URL the client hands it (the fixture issuer's sign-in page), posts the page's form
// as `user`, and follows the issuer's redirect to the client's loopback listener.
export const NATIVE_CLIENT_ID = 'mcpcp-vscode';

export interface BrowserVisit {
  /** The authorization URL the client opened. */
  authorizeUrl: URL;
  /** What the loopback listener answered the redirect. */
  loopbackStatus: number;
  loopbackText: string;
}

/**
 * An `openBrowser` that signs `user` in. `tamper` may change the form before it is posted (a
 * wrong nonce or code challenge, as an attacker in the middle would), `redirect` the issuer's
 * redirect before it is followed. `visits` records each visit.
 */
export function browserSignsIn(user: string, options: { tamper?: (form: URLSearchParams) => void; redirect?: (location: URL) => void; visits?: BrowserVisit[] } = {}): (url: string) => Promise<unknown> {
  return async (url: string) => {
    const authorizeUrl = new URL(url);
    const page = await fetch(authorizeUrl, { redirect: 'manual' });
    const html = await page.text();
    if (page.status !== 200) throw new Error(`the issuer's sign-in page answered ${page.status}: ${html.slice(0, 300)}`);
    const form = new URLSearchParams();
    for (const k of ['client_id', 'redirect_uri', 'state', 'nonce', 'code_challenge', 'scope']) form.set(k, authorizeUrl.searchParams.get(k) ?? '');
    form.set('user', user);
    options.tamper?.(form);
    const back = await fetch(`${authorizeUrl.origin}${authorizeUrl.pathname}`, { method: 'POST', body: form, redirect: 'manual' });
    if (back.status !== 302) throw new Error(`the issuer answered ${back.status}: ${await back.text()}`);
    await back.text();
    const location = new URL(back.headers.get('location')!);
    options.redirect?.(location);
    const loopback = await fetch(location, { redirect: 'manual' });
    const visit = { authorizeUrl, loopbackStatus: loopback.status, loopbackText: await loopback.text() };
    options.visits?.push(visit);
    return true;
  };
}

/** A code for `user` issued to the native client with a redirect of the attacker's choosing (not followed). */
export async function codeFor(issuer: string, user: string, redirectUri: string, challenge = 'x'.repeat(43)): Promise<string> {
  const form = new URLSearchParams({ client_id: NATIVE_CLIENT_ID, redirect_uri: redirectUri, state: 'attacker', nonce: 'attacker', code_challenge: challenge, scope: 'openid', user });
  const back = await fetch(`${issuer}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  await back.text();
  return new URL(back.headers.get('location')!).searchParams.get('code')!;
}
