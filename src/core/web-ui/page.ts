import { randomBytes } from 'node:crypto';
import type { UiView } from '../../protocol/ui';

/** A fresh CSP nonce (128 random bits) for one page. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/** Escapes text for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * CSP of a VS Code webview: nothing but the built UI (`cspSource` is `webview.cspSource`), scripts
 * only with this page's nonce, no inline script or style, no network.
 */
export function webviewCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * CSP of the gateway's /ui pages (sent as a header): scripts and styles only with this page's
 * nonce, requests only to the gateway itself, never framed.
 */
export function webCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export interface UiPageOptions {
  readonly host: 'vscode' | 'web';
  readonly view: UiView;
  readonly title: string;
  readonly nonce: string;
  readonly scriptUrl: string;
  readonly styleUrl: string;
  /** The CSP as a meta tag (webviews have no response headers); the web host sends a header instead. */
  readonly cspMeta?: string;
  /** The session's CSRF token (web host): the UI sends it back in `X-CSRF-Token`. */
  readonly csrfToken?: string;
}

/**
 * The one page both hosts serve: an empty `#app` the bundle renders into. The host and view ride on
 * `<body data-host data-view>`, the CSRF token on a meta tag; there is no inline script.
 */
export function renderUiPage(o: UiPageOptions): string {
  const meta = [
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    o.cspMeta !== undefined ? `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(o.cspMeta)}">` : '',
    o.csrfToken !== undefined ? `<meta name="mcpcp-csrf" content="${escapeHtml(o.csrfToken)}">` : '',
    o.host === 'web' ? '<meta name="color-scheme" content="light dark">' : '',
  ].filter((l) => l !== '');
  return `<!doctype html>
<html lang="en">
<head>
${meta.join('\n')}
<title>${escapeHtml(o.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(o.styleUrl)}" nonce="${escapeHtml(o.nonce)}">
</head>
<body data-host="${o.host}" data-view="${o.view}">
<div id="app" class="app"><p class="loading">Loading…</p></div>
<script nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(o.scriptUrl)}"></script>
</body>
</html>
`;
}

export interface LoginPageOptions {
  readonly nonce: string;
  readonly styleUrl: string;
  /** Shown as an alert above the form. */
  readonly error?: string;
}

/** A sign-in page of /ui: no script, the stylesheet under the page's nonce, `main` as given. */
function loginShell(o: LoginPageOptions, main: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign in · MCP Control Plane</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(o.styleUrl)}" nonce="${escapeHtml(o.nonce)}">
</head>
<body data-host="web" data-view="login">
<main class="login">
<h1>MCP Control Plane</h1>
${main}
</main>
</body>
</html>
`;
}

function loginError(o: LoginPageOptions): string {
  return o.error !== undefined ? `<p class="login-error" role="alert">${escapeHtml(o.error)}</p>` : '';
}

/** The sign-in page of /ui: a plain form (no script) that posts the approver credential. */
export function renderLoginPage(o: LoginPageOptions): string {
  return loginShell(
    o,
    `<p>Approvals and the dashboard need the <strong>approver credential</strong> that <code>mcpcp serve</code> printed at its first start.
The client token of an MCP client does not work here.</p>
${loginError(o)}
<form method="post" action="/ui/login" class="login-form">
<label for="credential">Approver credential</label>
<input id="credential" name="credential" type="password" autocomplete="current-password" required spellcheck="false" autofocus>
<button type="submit">Sign in</button>
</form>`,
  );
}

/** Team mode's sign-in page: people sign in at the identity provider (OIDC code + PKCE). */
export function renderTeamLoginPage(o: LoginPageOptions): string {
  return loginShell(
    o,
    `<p>Sign in with your organisation's account to see the dashboard and decide approvals.
An API key or an MCP client's access token does not work here.</p>
${loginError(o)}
<p><a class="sign-in" id="sign-in" href="/ui/auth/login">Sign in</a></p>`,
  );
}
