// A real control plane for adoption tests: headless-style, configured by a config.yaml that the
// adoption edits, re-applied after each edit as `mcpcp serve` and the extension do.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { yamlOwnServers, type OwnServers } from '../../../src/core/adopt';
import { loadConfigFile } from '../../../src/core/config/load';
import { ControlPlane } from '../../../src/core/control-plane';
import { FileSecretStore } from '../../../src/core/secrets/secret-store';
import { REPO_ROOT } from '../../helpers/fixture-plane';

/** The bin file of an installed third-party server package, run with `node`. */
export function serverBin(pkg: 'server-everything' | 'server-filesystem' | 'server-memory'): string {
  const dir = join(REPO_ROOT, 'node_modules', '@modelcontextprotocol', pkg);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return resolve(dir, Object.values(manifest.bin)[0]!);
}

export interface AdoptPlane {
  plane: ControlPlane;
  project: string;
  dataDir: string;
  configFile: string;
  secrets: FileSecretStore;
  /** Our servers in config.yaml; every update re-applies the configuration to the running plane. */
  own: OwnServers;
  connect(server: string, capabilities?: ClientCapabilities): Promise<Client>;
  auditText(): string;
  stop(): Promise<void>;
}

export async function startAdoptPlane(options: { rules?: unknown[]; roots?: string[] } = {}): Promise<AdoptPlane> {
  const project = mkdtempSync(join(tmpdir(), 'mcpcp-adopt-project-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'mcpcp-adopt-data-'));
  const configFile = join(project, '.mcpcp', 'config.yaml');
  const yaml = yamlOwnServers(configFile);
  await yaml.update({ git: { enabled: false } });
  if (options.rules) writeFileSync(configFile, `${readFileSync(configFile, 'utf8')}policy:\n  rules: ${JSON.stringify(options.rules)}\n`);
  const secrets = new FileSecretStore(dataDir, {});
  const roots = options.roots ?? [project];
  const plane = await ControlPlane.start({
    config: await loadConfigFile(configFile),
    host: {
      serversDir: join(REPO_ROOT, 'dist/servers'),
      nodePath: process.execPath,
      runAsNode: false,
      env: { PATH: process.env['PATH'] ?? '', HOME: dataDir },
      secrets,
      workspaceTrusted: true,
      defaultCwd: project,
      rootPaths: roots,
      stateDir: dataDir,
    },
    roots: () => roots.map((r) => ({ uri: pathToFileURL(r).href, name: r.split('/').pop() ?? r })),
    stateDir: dataDir,
    instancePrefix: 'adopt-test',
    policyLayer: 'config',
  });
  const own: OwnServers = {
    label: configFile,
    read: () => yaml.read(),
    update: async (entries) => {
      await yaml.update(entries);
      await plane.applyConfig(await loadConfigFile(configFile));
      // Servers adopted from a file inside the workspace are proposals: the adopt gesture these tests
      // play (VS Code's modal over the exact commands) is the human's consent to them.
      await plane.grantProposals(Object.keys(entries).filter((n) => entries[n] !== undefined));
    },
  };
  const clients: Client[] = [];
  return {
    plane,
    project,
    dataDir,
    configFile,
    secrets,
    own,
    async connect(server, capabilities = {}) {
      const client = new Client({ name: 'agent', version: '1' }, { capabilities });
      await client.connect(new StreamableHTTPClientTransport(new URL(plane.gateway.url(server)), { requestInit: { headers: { Authorization: `Bearer ${plane.gateway.token}` } } }));
      clients.push(client);
      return client;
    },
    auditText() {
      const dir = join(dataDir, 'audit');
      return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await plane.stop();
    },
  };
}
