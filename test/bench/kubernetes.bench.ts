// Kubernetes listing at scale: an API emulator holding 5,000 pods in 50 namespaces; resources_list
// of all pods (first page, and every page through the continue tokens) through a real MCP client;
// output bytes per pod as table and as YAML; the raw API list a naive server would hand over; and
// kubectl listing the same pods against the same emulator in the same run.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { percentile } from '../../src/core/metrics/metrics';
import { silentLogger } from '../../src/servers/kit';
import { createKubernetesServer } from '../../src/servers/kubernetes';
import { addBulkPods, EMULATOR_CA, startEmulator, writeKubeconfig } from '../fixtures/k8s-emulator/index';

const NAMESPACES = 50;
const PER_NAMESPACE = 100;
const PODS = NAMESPACES * PER_NAMESPACE;
const KUBECTL = process.env['KUBECTL'] ?? '/usr/bin/kubectl';

async function call(client: Client, args: Record<string, unknown>): Promise<string> {
  const r = CallToolResultSchema.parse(await client.callTool({ name: 'resources_list', arguments: args }, undefined, { timeout: 300_000 }));
  const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  if (r.isError) throw new Error(text);
  return text;
}

const tokenOf = (text: string): string | undefined => text.match(/continue: "([^"]+)"/)?.[1];

/** Every page of a listing: pages, bytes, pods shown, wall time. */
async function paginate(client: Client, args: Record<string, unknown>, count: (text: string) => number, maxPods = Infinity): Promise<{ pages: number; bytes: number; pods: number; ms: number }> {
  let token: string | undefined;
  let pages = 0;
  let bytes = 0;
  let pods = 0;
  const t0 = performance.now();
  do {
    const text = await call(client, { ...args, ...(token ? { continue: token } : {}) });
    pages++;
    bytes += Buffer.byteLength(text);
    pods += count(text);
    token = tokenOf(text);
  } while (token && pods < maxPods);
  return { pages, bytes, pods, ms: performance.now() - t0 };
}

function kubectl(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; bytes: number; lines: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(KUBECTL, args, { env, maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`));
      else resolve({ ms: performance.now() - t0, bytes: Buffer.byteLength(stdout), lines: stdout.split('\n').filter(Boolean).length });
    });
  });
}

/** Bytes of GET /api/v1/pods (all pods, one response), as a pass-through server would relay it. */
function rawList(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`${url}/api/v1/pods`, { ca: EMULATOR_CA, headers: { authorization: 'Bearer admin-token' } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function run(): Promise<string> {
  const emulator = await startEmulator({ seed: 'base' });
  const seedStart = performance.now();
  addBulkPods(emulator, NAMESPACES, PER_NAMESPACE);
  const seedMs = performance.now() - seedStart;
  const kubeconfig = writeKubeconfig([{ name: 'bench', emulator }]);
  const home = mkdtempSync(join(tmpdir(), 'k8s-bench-'));
  const server = createKubernetesServer({ log: silentLogger, env: { HOME: home, KUBECONFIG: kubeconfig }, options: { contexts: undefined, namespaces: undefined, readOnly: false } });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await Promise.all([server.connect(b), client.connect(a)]);
  const podRows = (text: string): number => text.split('\n').filter((l) => l.startsWith('bench-')).length;
  const yamlDocs = (text: string): number => (text.match(/^kind: Pod$/gm) ?? []).length;
  try {
    const all = { resource: 'pods', allNamespaces: true };
    // Warm-up: discovery, connections, JIT.
    await call(client, all);
    const firstTimes: number[] = [];
    let first = '';
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      first = await call(client, all);
      firstTimes.push(performance.now() - t0);
    }
    const firstRows = podRows(first);
    const table = await paginate(client, all, podRows);
    const yaml = await paginate(client, { ...all, output: 'yaml' }, yamlDocs, 500);
    const names = await paginate(client, { ...all, output: 'name' }, (t) => (t.match(/^bench-\d+\s+pod\/\S+$/gm) ?? []).length);

    // What a server that hands the API list to the model would send.
    const rawTimes: number[] = [];
    let rawBytes = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      rawBytes = await rawList(emulator.url);
      rawTimes.push(performance.now() - t0);
    }

    let kubectlRows: string[] = [];
    if (existsSync(KUBECTL)) {
      const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, KUBECONFIG: kubeconfig };
      const cache = `--cache-dir=${join(home, 'kube-cache')}`;
      await kubectl([cache, 'get', 'ns'], env);
      const podRequests = (): number => emulator.requests.filter((q) => q.path === '/api/v1/pods').length;
      let before = podRequests();
      const kTable = await kubectl([cache, 'get', 'pods', '-A'], env);
      const tableRequests = podRequests() - before;
      before = podRequests();
      const kYaml = await kubectl([cache, 'get', 'pods', '-A', '-o', 'yaml'], env);
      const yamlRequests = podRequests() - before;
      kubectlRows = [
        `| kubectl get pods -A (table, chunks of 500) | ${fmt(kTable.ms)} | ${fmt(kTable.lines - 1)} | ${tableRequests} | ${fmt(kTable.bytes)} | ${fmt(kTable.bytes / PODS, 1)} |`,
        `| kubectl get pods -A -o yaml | ${fmt(kYaml.ms)} | ${fmt(PODS)} | ${yamlRequests} | ${fmt(kYaml.bytes)} | ${fmt(kYaml.bytes / PODS, 1)} |`,
      ];
    } else {
      kubectlRows = [`| kubectl (not found at ${KUBECTL}) | – | – | – | – | – |`];
    }

    const lines = [
      '## Kubernetes: listing 5,000 pods',
      '',
      `API emulator (HTTPS on 127.0.0.1) holding ${fmt(PODS)} running pods in ${NAMESPACES} namespaces (seeded in ${fmt(seedMs)} ms); resources_list through a real MCP client (in-memory transport), default budget 16 KB (~4k tokens) per call. kubectl runs against the same emulator in the same run.`,
      '',
      '| listing | time ms | pods | tool calls / API list requests | output bytes | bytes per pod |',
      '|---|---:|---:|---:|---:|---:|',
      `| resources_list, first page (table; median of 7) | ${fmt(percentile(firstTimes, 50))} | ${fmt(firstRows)} | 1 | ${fmt(Buffer.byteLength(first))} | ${fmt(Buffer.byteLength(first) / firstRows, 1)} |`,
      `| resources_list, every page (table) | ${fmt(table.ms)} | ${fmt(table.pods)} | ${table.pages} | ${fmt(table.bytes)} | ${fmt(table.bytes / table.pods, 1)} |`,
      `| resources_list, output name, every page | ${fmt(names.ms)} | ${fmt(names.pods)} | ${names.pages} | ${fmt(names.bytes)} | ${fmt(names.bytes / names.pods, 1)} |`,
      `| resources_list, output yaml (first ${fmt(yaml.pods)} pods) | ${fmt(yaml.ms)} | ${fmt(yaml.pods)} | ${yaml.pages} | ${fmt(yaml.bytes)} | ${fmt(yaml.bytes / yaml.pods, 1)} |`,
      ...kubectlRows,
      `| raw API list (JSON with managedFields), what a pass-through server returns | ${fmt(percentile(rawTimes, 50))} | ${fmt(PODS)} | 1 | ${fmt(rawBytes)} | ${fmt(rawBytes / PODS, 1)} |`,
      '',
      `The pass-through list would be about ${fmt(rawBytes / 4 / 1000)}k tokens in one result; resources_list stays under 16 KB per call and says how many pods are left and how to continue. Per pod, the table costs ${fmt(table.bytes / table.pods / 4, 0)} tokens and YAML ${fmt(yaml.bytes / yaml.pods / 4, 0)}.`,
    ];
    return lines.join('\n');
  } finally {
    await client.close();
    await server.close();
    await emulator.close();
  }
}
