// A real gateway + supervisor with the fixture server `fx` (well-behaved: `delete_thing` is
// destructive with a preview), the real oversight stages (policy, approvals, audit), an approver
// credential in the state directory, and the web UI route at /ui.
import { join } from 'node:path';
import { ensureApproverCredential } from '../../../src/core/approvals';
import { createWebUiRoute, type WebUiOptions, type WebUiRoute } from '../../../src/core/web-ui';
import { REPO_ROOT, startPlane, type TestPlane } from '../../helpers/fixture-plane';

export interface WebUiPlane {
  plane: TestPlane;
  route: WebUiRoute;
  /** The approver credential (as `mcpcp serve` shows it once). */
  credential: string;
  base: string;
  /** Moves the route's clock (login throttle, sessions). */
  skew(ms: number): void;
  stop(): Promise<void>;
}

export async function startWebUiPlane(options: Partial<Pick<WebUiOptions, 'maxCredentialFailuresPerMinute' | 'sessionIdleMs'>> = {}): Promise<WebUiPlane> {
  const plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: {} });
  const oversight = plane.oversight!;
  const stateDir = plane.stateDir!;
  const ensured = await ensureApproverCredential(stateDir);
  if (!ensured.created) throw new Error(`${stateDir} already had an approver credential`);
  let offset = 0;
  const route = createWebUiRoute({
    backend: oversight,
    dataDir: stateDir,
    assetsDir: join(REPO_ROOT, 'dist/media'),
    now: () => Date.now() + offset,
    ...options,
  });
  plane.gateway.addPublicRoutes([route.handle]);
  await plane.supervisor.get('fx')!.waitUntilServing(10_000);
  return {
    plane,
    route,
    credential: ensured.credential,
    base: `http://127.0.0.1:${plane.gateway.listeningPort}`,
    skew: (ms) => (offset += ms),
    stop: async () => {
      route.dispose();
      await plane.stop();
    },
  };
}

/** The `name=value` of a Set-Cookie header. */
export function cookiePair(setCookie: string | null): string {
  const pair = setCookie?.split(';')[0];
  if (pair === undefined || !pair.includes('=')) throw new Error(`no cookie in ${setCookie}`);
  return pair;
}
