/**
 * Rendering and checking the kustomize manifests of deploy/: `kubectl kustomize` (the real
 * kubectl), the upstream JSON schemas of every kind (kubernetes-models), and the invariants the
 * deployment relies on (probes, security context, secrets by reference only, selectors that match).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export const KUBECTL = process.env['KUBECTL'] ?? '/usr/bin/kubectl';
export const kubectlSkip = existsSync(KUBECTL) ? false : `no kubectl at ${KUBECTL}`;
export const DEPLOY_DIR = join(__dirname, '..', '..', '..', 'deploy');
export const OVERLAYS = ['dev', 'production', 'kubernetes-writes', 'network'] as const;

// Rendered Kubernetes objects are untyped YAML; the checks below read them field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = Record<string, any>;

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const home = mkdtempSync(join(tmpdir(), 'kubectl-home-'));

/** Runs the real kubectl with a private HOME (no user kubeconfig, no cache shared with others). */
export function kubectl(args: readonly string[], options: { input?: string; kubeconfig?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      [...args],
      { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, KUBECONFIG: options.kubeconfig ?? join(home, 'none') }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** `kubectl kustomize DIR`: the rendered YAML and its objects. Throws with kubectl's message on failure. */
export async function render(dir: string): Promise<{ yaml: string; objects: K8sObject[] }> {
  const run = await kubectl(['kustomize', dir]);
  if (run.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${run.stderr}`);
  const objects = parseAllDocuments(run.stdout).map((d) => d.toJS() as K8sObject).filter((o) => o !== null);
  return { yaml: run.stdout, objects };
}

/**
 * Validates each object against the upstream OpenAPI schema of its kind (kubernetes-models).
 * Returns one line per invalid object ("Deployment mcpcp: data/spec/replicas must be integer");
 * an unknown kind is a problem too, so nothing passes unchecked.
 */
export async function schemaProblems(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const obj of objects) {
    const where = `${obj['kind']} ${obj['metadata']?.name}`;
    let model: { new (data: K8sObject): { validate(): void } } | undefined;
    try {
      const mod = (await import(`kubernetes-models/${obj['apiVersion']}/${obj['kind']}`)) as Record<string, { new (data: K8sObject): { validate(): void } }>;
      model = mod[obj['kind']];
    } catch {
      model = undefined;
    }
    if (!model) {
      problems.push(`${where}: no upstream schema for ${obj['apiVersion']} ${obj['kind']}`);
      continue;
    }
    try {
      new model(obj).validate();
    } catch (err) {
      problems.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}

const SECRETISH = /(secret|password|passwd|token|credential|private|api[-_]?key|audit[-_]?key|dsn|url)/i;

/**
 * Where a secret value would sit in plain text: a Secret object (its data comes from outside
 * kustomize), an environment variable with a secret-like name and a literal `value`, a database
 * URL with a password, or a `${secret:}`-shaped config key holding a literal.
 */
export function literalSecrets(objects: readonly K8sObject[]): string[] {
  const found: string[] = [];
  for (const obj of objects) {
    const where = `${obj['kind']} ${obj['metadata']?.name}`;
    if (obj['kind'] === 'Secret') found.push(`${where}: a Secret in the manifests (create it outside them; docs/deploy.md)`);
    for (const c of [...(obj['spec']?.template?.spec?.containers ?? []), ...(obj['spec']?.template?.spec?.initContainers ?? [])]) {
      for (const e of c.env ?? []) {
        if (e.value !== undefined && SECRETISH.test(e.name)) found.push(`${where}: env ${e.name} has a literal value`);
      }
    }
    if (obj['kind'] === 'ConfigMap') {
      for (const [key, text] of Object.entries<string>(obj['data'] ?? {})) {
        if (/[a-z]+:\/\/[^/\s:@]+:[^/\s@]+@/i.test(text)) found.push(`${where}: ${key} holds a URL with a password`);
        if (!key.endsWith('.yaml')) continue;
        walk(parseYaml(text), '', (path, value) => {
          const leaf = path.split('.').pop() ?? '';
          if (typeof value === 'string' && /(secret|password|token|url|key)$/i.test(leaf) && !/^\$\{secret:[^}]+\}$/.test(value) && !/^https?:\/\/[^@]*$/.test(value) && !/^\//.test(value)) {
            found.push(`${where}: ${key} ${path.slice(1)} is a literal, not a \${secret:name} reference`);
          }
        });
      }
    }
  }
  return found;
}

export function walk(value: unknown, path: string, visit: (path: string, value: unknown) => void): void {
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, visit);
  else visit(path, value);
}

export function one(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o['kind'] === kind && (name === undefined || o['metadata']?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** Whether a matchLabels selector selects these labels. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}
