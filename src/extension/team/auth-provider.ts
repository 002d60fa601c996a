// VS Code's side of the OIDC sign-in to a team control plane: an AuthenticationProvider
// (`mcpcp-team`, shown in the Accounts menu) over ./oidc-client.ts. Tokens live only in
// SecretStorage, keyed by the team's origin; an access token about to end is renewed with the
// refresh token when asked for; sign-out forgets them and revokes the refresh token at the issuer.
import * as vscode from 'vscode';
import { ControlPlaneError, errorMessage } from '../../core/errors';
import { needsRefresh, OIDC_PROVIDER_ID, OIDC_PROVIDER_LABEL, oidcSessionSchema, oidcSessionSecretName, readSignInInfo, sessionPrincipal, TeamOidcClient, type OidcSession } from './oidc-client';

export interface TeamAuthProviderOptions {
  /** The team origin of the moment (the user's mcpControlPlane.team.url), undefined without one. */
  origin(): string | undefined;
  log(message: string): void;
  /** The stored session changed (signed in, renewed, signed out): the team client re-reads the service. */
  sessionChanged(origin: string): void;
}

export class TeamAuthProvider implements vscode.AuthenticationProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>();
  readonly onDidChangeSessions = this.changed.event;
  private readonly clients = new Map<string, TeamOidcClient>();
  /** One renewal at a time per origin (a refresh token is single-use at many issuers). */
  private readonly renewing = new Map<string, Promise<OidcSession | undefined>>();
  private readonly registration: vscode.Disposable;
  /** Why the last session of an origin ended, for the tree's row ("signed out", "sign-in expired"). */
  private readonly ended = new Map<string, string>();

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly options: TeamAuthProviderOptions,
  ) {
    this.registration = vscode.authentication.registerAuthenticationProvider(OIDC_PROVIDER_ID, OIDC_PROVIDER_LABEL, this, { supportsMultipleAccounts: false });
  }

  // ---- vscode.AuthenticationProvider ---------------------------------------------------------

  async getSessions(): Promise<vscode.AuthenticationSession[]> {
    const origin = this.options.origin();
    const session = origin ? await this.session(origin) : undefined;
    return session ? [toAuthenticationSession(session)] : [];
  }

  async createSession(): Promise<vscode.AuthenticationSession> {
    return toAuthenticationSession(await this.signIn());
  }

  async removeSession(): Promise<void> {
    const origin = this.options.origin();
    if (origin) await this.signOut(origin);
  }

  // ---- for the team client ------------------------------------------------------------------

  /** Whether a session (valid or not) is stored for `origin`. */
  async hasSession(origin: string): Promise<boolean> {
    return (await this.stored(origin)) !== undefined;
  }

  /** Why the last session of `origin` ended, if it did in this window. */
  endedReason(origin: string): string | undefined {
    return this.ended.get(origin);
  }

  /**
   * The session of `origin` with an access token valid for at least a minute: renewed with the
   * refresh token when needed. Undefined when signed out, or when the renewal was refused (the
   * session is then forgotten and the person told to sign in again). An unreachable issuer keeps
   * the session and returns it as it is (the service decides whether its token still counts).
   */
  async session(origin: string): Promise<OidcSession | undefined> {
    const stored = await this.stored(origin);
    if (!stored || !needsRefresh(stored)) return stored;
    const running = this.renewing.get(origin);
    if (running) return running;
    const renewal = this.renew(origin, stored).finally(() => this.renewing.delete(origin));
    this.renewing.set(origin, renewal);
    return renewal;
  }

  /**
   * "Team: Sign In…": the browser sign-in at the team's identity provider. `openBrowser` is
   * vscode.env.openExternal except in the extension's own tests.
   */
  async signIn(openBrowser: (url: string) => Promise<unknown> = (url) => Promise.resolve(vscode.env.openExternal(vscode.Uri.parse(url)))): Promise<OidcSession> {
    const origin = this.options.origin();
    if (!origin) throw new Error('no team control plane is configured (user setting mcpControlPlane.team.url)');
    const client = await this.client(origin);
    const session = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Signing in to ${new URL(origin).host} at ${new URL(client.info.issuer).host}: finish in your browser…`, cancellable: true },
      (_progress, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        return client.signIn({ openBrowser, signal: abort.signal }).finally(() => sub.dispose());
      },
    );
    const previous = await this.stored(origin);
    await this.secrets.store(oidcSessionSecretName(origin), JSON.stringify(session));
    this.ended.delete(origin);
    this.changed.fire({ added: [toAuthenticationSession(session)], removed: previous ? [toAuthenticationSession(previous)] : [], changed: [] });
    this.options.sessionChanged(origin);
    return session;
  }

  /** Sign-out: forgets the tokens of `origin` and revokes the refresh token at the issuer when it can. */
  async signOut(origin: string, reason = 'signed out'): Promise<void> {
    const stored = await this.stored(origin);
    await this.secrets.delete(oidcSessionSecretName(origin));
    if (!stored) return;
    this.ended.set(origin, reason);
    this.changed.fire({ added: [], removed: [toAuthenticationSession(stored)], changed: [] });
    this.options.log(`team ${new URL(origin).host}: ${stored.account.label} ${reason}`);
    this.options.sessionChanged(origin);
    const client = this.clients.get(origin) ?? new TeamOidcClient({ origin, resource: `${origin}/mcp`, issuer: stored.issuer, clientId: stored.clientId, scopes: stored.scopes }, this.options.log);
    const revoked = await client.revoke(stored);
    this.options.log(`team ${new URL(origin).host}: ${revoked ? 'the refresh token was revoked at the identity provider' : 'the identity provider offers no revocation; the tokens were forgotten here'}`);
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }

  private async renew(origin: string, stored: OidcSession): Promise<OidcSession | undefined> {
    try {
      const client = await this.client(origin);
      const renewed = await client.refresh(stored);
      // Signed out meanwhile: do not bring the session back.
      if ((await this.stored(origin))?.id !== stored.id) return undefined;
      await this.secrets.store(oidcSessionSecretName(origin), JSON.stringify(renewed));
      this.changed.fire({ added: [], removed: [], changed: [toAuthenticationSession(renewed)] });
      return renewed;
    } catch (err) {
      if (err instanceof ControlPlaneError && err.code === 'SIGN_IN_NEEDED') {
        await this.signOut(origin, 'sign-in ended');
        void vscode.window.showWarningMessage(`MCP Control Plane: ${err.message}`, 'Sign In…').then((c) => c && vscode.commands.executeCommand('mcpControlPlane.team.signIn'));
        return undefined;
      }
      this.options.log(`team ${new URL(origin).host}: the sign-in could not be renewed now (${errorMessage(err)}); the current token is used until the service refuses it`);
      return stored;
    }
  }

  private async client(origin: string): Promise<TeamOidcClient> {
    const known = this.clients.get(origin);
    if (known) return known;
    const client = new TeamOidcClient(await readSignInInfo(origin), this.options.log);
    this.clients.set(origin, client);
    return client;
  }

  private async stored(origin: string): Promise<OidcSession | undefined> {
    const text = await this.secrets.get(oidcSessionSecretName(origin));
    if (!text) return undefined;
    try {
      const parsed = oidcSessionSchema.parse(JSON.parse(text));
      return parsed.origin === origin ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
}

function toAuthenticationSession(session: OidcSession): vscode.AuthenticationSession {
  return { id: session.id, accessToken: session.accessToken, account: { id: sessionPrincipal(session), label: session.account.label }, scopes: session.scopes };
}
