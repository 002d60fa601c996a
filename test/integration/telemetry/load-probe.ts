// Child program for telemetry-off.test.ts: records every module Node loads (require and import
// alike, through module.registerHooks), runs a control plane with or without a telemetry
// endpoint, makes one call, and prints which @opentelemetry modules were loaded.
import { registerHooks } from 'node:module';

const loaded: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});

async function main(): Promise<void> {
  const endpoint = process.argv[2];
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const { configSchema } = await import('../../../src/core/config/schema');
  const { ControlPlane } = await import('../../../src/core/control-plane');
  const { FileSecretStore } = await import('../../../src/core/secrets/secret-store');
  const { REPO_ROOT, fixtureScript } = await import('../../helpers/fixture-plane');
  const stateDir = mkdtempSync(join(tmpdir(), 'mcpcp-probe-'));
  const plane = await ControlPlane.start({
    config: configSchema.parse({
      servers: { git: { enabled: false }, fx: { command: process.execPath, args: [fixtureScript('well-behaved')] } },
      ...(endpoint && endpoint !== 'off' ? { telemetry: { endpoint, exportIntervalMs: 200 } } : {}),
    }),
    host: { serversDir: join(REPO_ROOT, 'dist/servers'), nodePath: process.execPath, runAsNode: false, env: { PATH: process.env['PATH'] ?? '' }, secrets: new FileSecretStore(stateDir, {}), workspaceTrusted: true, defaultCwd: stateDir, rootPaths: [stateDir], stateDir },
    roots: () => [],
    stateDir,
    instancePrefix: 'probe',
    policyLayer: 'config',
  });
  const client = new Client({ name: 'probe', version: '1' });
  try {
    await plane.supervisor.get('fx')!.waitUntilServing(20_000);
    await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url('fx')), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
    const result = await client.callTool({ name: 'echo', arguments: { text: 'probe' } });
    const otel = loaded.filter((u) => u.includes('@opentelemetry') || u.includes('/core/telemetry/otel'));
    const cached = Object.keys(require.cache).filter((k) => k.includes('@opentelemetry'));
    process.stdout.write(`${JSON.stringify({ called: (result.content as Array<{ text: string }>)[0]?.text, loaded: otel.length, cached: cached.length, total: loaded.length, sample: otel.slice(0, 3) })}\n`);
  } finally {
    await client.close().catch(() => undefined);
    await plane.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
