// Test fixtures for the git server: real repositories made with real git in temp dirs, and a
// real MCP client (in-memory transport) that answers roots/list with the roots a test chooses.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, ListRootsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { silentLogger } from '../../../src/servers/kit';
import { createGitServer } from '../../../src/servers/git';
import type { GitServerOptions } from '../../../src/servers/git';

/** Environment for the fixture's own git calls: no user or system config, fixed identity and dates. */
const FIXTURE_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Ada Tester',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada Tester',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
  LC_ALL: 'C',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: FIXTURE_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A fresh temp directory (real path), removed by `cleanup`. */
export function tempDir(prefix = 'mcpcp-git-'): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

export function write(root: string, rel: string, content: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
}

/**
 * A repository at `dir` on branch main with a local identity (the server inherits no global
 * config in tests) and the given files committed, one commit per entry of `commits`.
 */
export function makeRepo(dir: string, commits: Record<string, string>[] = [{ 'README.md': '# demo\n' }]): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Ada Tester');
  git(dir, 'config', 'user.email', 'ada@example.com');
  commits.forEach((files, i) => {
    for (const [rel, content] of Object.entries(files)) write(dir, rel, content);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', `commit ${i + 1}`);
  });
  return dir;
}

/** A bare repository to serve as a remote, with `repo` pushed to it as origin. */
export function makeRemote(parent: string, repo: string): string {
  const bare = join(parent, 'remote.git');
  git(parent, 'init', '-q', '--bare', '-b', 'main', bare);
  git(repo, 'remote', 'add', 'origin', bare);
  git(repo, 'push', '-q', '-u', 'origin', 'main');
  return bare;
}

export interface ToolCall {
  readonly text: string;
  readonly isError: boolean;
  readonly structured: Record<string, unknown> | undefined;
  readonly raw: CallToolResult;
}

export interface Harness {
  readonly client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<ToolCall>;
  /** Replaces the roots the client reports and notifies the server. */
  setRoots(paths: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects a real MCP client to a git server over the in-memory transport. `roots: undefined`
 * makes a client without the roots capability.
 */
export async function connect(
  roots: readonly string[] | undefined,
  options: Partial<GitServerOptions> & { home?: string; budgetBytes?: number; path?: string } = {},
): Promise<Harness> {
  let current = roots ?? [];
  const home = options.home ?? tempDir('mcpcp-home-');
  const server = createGitServer({
    log: silentLogger,
    env: { PATH: options.path ?? process.env['PATH'], HOME: home, TMPDIR: tmpdir() },
    options: { trusted: options.trusted ?? true, allowForcePush: options.allowForcePush ?? false, ...(options.hooksAllow === undefined ? {} : { hooksAllow: options.hooksAllow }) },
    ...(options.budgetBytes === undefined ? {} : { budgetBytes: options.budgetBytes }),
  });
  const client = new Client({ name: 'test', version: '1.0.0' }, { capabilities: roots === undefined ? {} : { roots: { listChanged: true } } });
  if (roots !== undefined) {
    client.setRequestHandler(ListRootsRequestSchema, () => ({
      roots: current.map((p) => ({ uri: pathToFileURL(p).href, name: p.split('/').pop() ?? p })),
    }));
  }
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    client,
    async call(name, args = {}) {
      const raw = CallToolResultSchema.parse(await client.callTool({ name, arguments: args }));
      const text = raw.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
      return { text, isError: raw.isError === true, structured: raw.structuredContent, raw };
    },
    async setRoots(paths) {
      current = paths;
      await client.sendRootsListChanged();
      // Let the server see the notification before the next call.
      await new Promise((r) => setTimeout(r, 10));
    },
    async close() {
      await client.close();
      await server.close();
      if (options.home === undefined) rmSync(home, { recursive: true, force: true });
    },
  };
}

export function cleanup(...dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
