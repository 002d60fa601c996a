import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { ControlPlaneError } from '../../core/errors';
import { invalidArgument, type RootsTracker, type WorkspaceRoot } from '../kit';
import { GitErrorCode, GitRunner, gitBaseEnv, type GitRunOptions } from './client';
import { configEnv, isUserScope, neutralise, parseConfigList, type ConfigEntry } from './config-guard';
import { isInside, Workspace, type RepoLocation } from './workspace';

/** A human's opt-in: these hooks of this repository run on the agent's calls. */
export interface HooksOptIn {
  /** Real path of the work tree's top level. */
  readonly repo: string;
  readonly hooks: readonly string[];
}

export interface GitServerOptions {
  /** False in an untrusted workspace: no repository is opened. */
  readonly trusted: boolean;
  /** Whether push may force (always as --force-with-lease). */
  readonly allowForcePush: boolean;
  /** Repositories whose named hooks run (from the consent store, MCPCP_GIT_HOOKS_ALLOW). Default: none. */
  readonly hooksAllow?: readonly HooksOptIn[];
}

type RunOptions = Pick<GitRunOptions, 'env' | 'okExitCodes' | 'onProgress' | 'idleTimeoutMs'> & {
  /** More command-scope config for this command, after the guard's (it wins). */
  readonly config?: readonly (readonly [string, string])[];
};

/** What the server computed from a repository's config: the environment every git call gets. */
export interface RepoGuard {
  /** Config as git sees it before the server's overrides. */
  readonly entries: readonly ConfigEntry[];
  /** The command-scope config the server sets. */
  readonly overrides: readonly (readonly [string, string])[];
  /** GIT_CONFIG_COUNT and friends. */
  readonly env: Readonly<Record<string, string>>;
  /** Program-valued keys the repository set and the server put back. */
  readonly neutralisedKeys: readonly string[];
  /** The (empty, or opted-in) hooks directory git uses. */
  readonly hooksPath: string;
}

/**
 * What the git tools share, one per server: the workspace (confinement), the git runner, the
 * per-repository write queue, the config guard cache and the server's own hooks directories.
 */
export class GitService {
  readonly workspace: Workspace;
  readonly runner: GitRunner;
  private readonly writeQueues = new Map<string, Promise<unknown>>();
  private readonly guards = new Map<string, { stamp: string; guard: RepoGuard }>();
  private hooksRoot: Promise<string> | undefined;
  private hooksRootPath: string | undefined;
  private readonly hookDirs = new Map<string, Promise<string>>();
  private readonly inheritedPath: string;
  private readonly paths = new Map<string, string>();
  private readonly userConfigFiles: readonly string[];
  /** What each push preview showed, by call arguments: the approved call must push the same. */
  readonly pushPreviews = new Map<string, { readonly shown: string; readonly at: number }>();

  constructor(
    roots: RootsTracker,
    readonly options: GitServerOptions,
    env: Readonly<Record<string, string | undefined>>,
  ) {
    this.workspace = new Workspace(roots, options.trusted);
    this.runner = new GitRunner(gitBaseEnv(env));
    this.inheritedPath = env['PATH'] ?? '';
    const home = env['HOME'];
    const xdg = env['XDG_CONFIG_HOME'] ?? (home === undefined ? undefined : join(home, '.config'));
    this.userConfigFiles = [
      '/etc/gitconfig',
      ...(home === undefined ? [] : [join(home, '.gitconfig')]),
      ...(xdg === undefined ? [] : [join(xdg, 'git', 'config')]),
    ];
  }

  /**
   * Opens the repository named by a tool's `repo` field, bound to the call's abort signal, after
   * checking that everything git will use (git dir, common dir, objects, alternates) is inside
   * the roots.
   */
  async open(repoArg: string | undefined, signal: AbortSignal): Promise<Repository> {
    const loc = await this.workspace.locate(repoArg);
    const roots = await this.workspace.allowedRoots();
    const [, path] = await Promise.all([this.workspace.checkConfinement(loc, roots), this.safePath(roots)]);
    return new Repository(loc, this, signal, path);
  }

  /** Runs `fn` after every earlier write to the same repository has finished. */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.writeQueues.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.writeQueues.set(key, tail);
    void tail.then(() => {
      if (this.writeQueues.get(key) === tail) this.writeQueues.delete(key);
    });
    return run;
  }

  /**
   * The config guard of a repository: reads its config as git sees it (includes followed) and
   * computes the command-scope overrides (config-guard.ts). Cached until one of the config files
   * changes; never cached when the repository's config includes other files.
   */
  async guard(loc: RepoLocation, signal: AbortSignal, path: string): Promise<RepoGuard> {
    const stamp = await configStamp(loc, this.userConfigFiles);
    const cached = this.guards.get(loc.gitDir);
    if (cached?.stamp === stamp) return cached.guard;
    const out = await this.runner.run(loc.toplevel, ['config', '--list', '--show-scope', '-z'], { signal, env: { ...repoEnv(loc, true), PATH: path } });
    const entries = parseConfigList(out);
    // Git runs inside submodules with their own config (status of a submodule, for one); the
    // command-scope overrides reach those processes too, so their program keys are put back as well.
    const submodules: ConfigEntry[] = [];
    const submoduleFiles = await submoduleConfigs(loc.commonDir);
    for (const file of submoduleFiles) {
      const sub = await this.runner.run(loc.toplevel, ['config', '--file', file, '--includes', '--list', '-z'], { signal, env: { ...repoEnv(loc, true), PATH: path } });
      for (const e of parseConfigList(sub.split('\0').flatMap((entry) => ['submodule', entry]).join('\0'))) submodules.push(e);
    }
    const hooksPath = await this.hooksDir(loc, entries);
    const { overrides, neutralisedKeys } = neutralise([...entries, ...submodules], hooksPath);
    const guard: RepoGuard = { entries, overrides, env: configEnv(overrides), neutralisedKeys, hooksPath };
    const includes = entries.some((e) => !isUserScope(e.scope) && /^include(if)?\./i.test(e.key));
    // Included files and submodules' configs are not in the stamp: such repositories are re-read every call.
    if (!includes && submoduleFiles.length === 0) this.guards.set(loc.gitDir, { stamp, guard });
    return guard;
  }

  /** Removes the server's hooks directories. Synchronous: a stdio server exits right after closing. */
  dispose(): void {
    const root = this.hooksRootPath;
    this.hooksRoot = undefined;
    this.hooksRootPath = undefined;
    this.hookDirs.clear();
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  }

  /**
   * Where git looks for hooks: an empty directory the server owns (outside every repository),
   * or, for a repository a human opted in, a directory of links to exactly the hooks named.
   */
  private async hooksDir(loc: RepoLocation, entries: readonly ConfigEntry[]): Promise<string> {
    this.hooksRoot ??= (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mcpcp-git-hooks-'));
      this.hooksRootPath = dir;
      await mkdir(join(dir, 'none'));
      return dir;
    })();
    const root = await this.hooksRoot;
    const optIn = (this.options.hooksAllow ?? []).find((o) => o.repo === loc.toplevel);
    if (optIn === undefined || optIn.hooks.length === 0) return join(root, 'none');
    const source = repoHooksSource(loc, entries);
    // One directory per (repository, hooks source, hooks): built once, so concurrent calls never race on it.
    const dir = join(root, createHash('sha256').update([loc.toplevel, source, ...optIn.hooks].join('\0')).digest('hex').slice(0, 16));
    let built = this.hookDirs.get(dir);
    if (built === undefined) {
      built = (async () => {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir);
        for (const hook of optIn.hooks) await symlink(join(source, hook), join(dir, hook));
        return dir;
      })();
      this.hookDirs.set(dir, built);
      built.catch(() => this.hookDirs.delete(dir));
    }
    return built;
  }

  /** PATH without entries inside the workspace roots (or relative ones): a repository cannot ship its own `git` or `ssh`. */
  private async safePath(roots: readonly WorkspaceRoot[]): Promise<string> {
    const key = roots.map((r) => r.path).join('\0');
    const cached = this.paths.get(key);
    if (cached !== undefined) return cached;
    const kept: string[] = [];
    for (const entry of this.inheritedPath.split(delimiter)) {
      if (entry === '' || !isAbsolute(entry)) continue;
      const real = await realpath(entry).catch(() => resolve(entry));
      if (roots.some((r) => isInside(real, r.path) || isInside(resolve(entry), r.path))) continue;
      kept.push(entry);
    }
    const path = kept.join(delimiter);
    this.paths.set(key, path);
    return path;
  }
}

/** Config files of the submodules' git directories (`<common dir>/modules/<name>/config`, nested ones too). */
async function submoduleConfigs(commonDir: string): Promise<string[]> {
  const found: string[] = [];
  let level = [join(commonDir, 'modules')];
  for (let depth = 0; depth < 6 && level.length > 0 && found.length < 200; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      if (entries.some((e) => e.name === 'config' && e.isFile()) && dir !== join(commonDir, 'modules')) found.push(join(dir, 'config'));
      for (const e of entries) if (e.isDirectory() && !['objects', 'refs', 'logs', 'hooks', 'info'].includes(e.name)) next.push(join(dir, e.name));
    }
    level = next;
  }
  return found;
}

/** The repository's own hooks directory: a repository-level core.hooksPath inside the repository, else <common dir>/hooks. */
function repoHooksSource(loc: RepoLocation, entries: readonly ConfigEntry[]): string {
  const set = entries.filter((e) => !isUserScope(e.scope) && e.key.toLowerCase() === 'core.hookspath').pop();
  if (set !== undefined && set.value !== '') {
    const dir = resolve(loc.toplevel, set.value);
    if (isInside(dir, loc.toplevel) || isInside(dir, loc.gitDir) || isInside(dir, loc.commonDir)) return dir;
  }
  return join(loc.commonDir, 'hooks');
}

/** Hook names git 2.39 runs (githooks(5)); an opt-in naming anything else is refused. */
export const GIT_HOOKS = new Set([
  'applypatch-msg', 'pre-applypatch', 'post-applypatch', 'pre-commit', 'pre-merge-commit', 'prepare-commit-msg',
  'commit-msg', 'post-commit', 'pre-rebase', 'post-checkout', 'post-merge', 'pre-push', 'pre-receive', 'update',
  'proc-receive', 'post-receive', 'post-update', 'reference-transaction', 'push-to-checkout', 'pre-auto-gc',
  'post-rewrite', 'sendemail-validate', 'fsmonitor-watchman', 'p4-changelist', 'p4-prepare-changelist',
  'p4-post-changelist', 'p4-pre-submit', 'post-index-change',
]);

/**
 * One repository for one tool call. Every git command runs with the repository's config guard
 * (program-valued keys put back, hooks from the server's directory), a PATH without workspace
 * entries and GIT_DIR/GIT_WORK_TREE pinned. `read` is for commands that change nothing: they run
 * without optional locks (status does not rewrite the index); `write` runs inside `exclusive`.
 */
export class Repository {
  private guarded: Promise<RepoGuard> | undefined;

  constructor(
    readonly loc: RepoLocation,
    readonly service: GitService,
    readonly signal: AbortSignal,
    private readonly searchPath: string,
  ) {}

  get path(): string {
    return this.loc.toplevel;
  }

  get options(): GitServerOptions {
    return this.service.options;
  }

  /** The repository's config guard (computed once per call). */
  guard(): Promise<RepoGuard> {
    this.guarded ??= this.service.guard(this.loc, this.signal, this.searchPath);
    return this.guarded;
  }

  async read(args: readonly string[], options: RunOptions = {}): Promise<string> {
    return this.run(args, options, true);
  }

  async write(args: readonly string[], options: RunOptions = {}): Promise<string> {
    return this.run(args, options, false);
  }

  private async run(args: readonly string[], options: RunOptions, readOnly: boolean): Promise<string> {
    const guard = await this.guard();
    return this.service.runner.run(this.loc.toplevel, args, {
      ...options,
      signal: this.signal,
      env: {
        ...repoEnv(this.loc, readOnly),
        PATH: this.searchPath,
        ...(options.config === undefined ? guard.env : configEnv([...guard.overrides, ...options.config])),
        ...options.env,
      },
    });
  }

  /** Runs a sequence of writes with no other write to this repository in between. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.service.exclusive(this.loc.commonDir, fn);
  }

  /** A model-given path as a repository-relative path (see Workspace.resolvePath). */
  resolvePath(input: string, field: string): Promise<string> {
    return this.service.workspace.resolvePath(this.loc, input, field);
  }

  async resolvePaths(inputs: readonly string[] | undefined, field: string): Promise<string[]> {
    const out: string[] = [];
    for (const [i, input] of (inputs ?? []).entries()) out.push(await this.resolvePath(input, `${field}[${i}]`));
    return out;
  }

  /** The full hash of the commit `rev` names, or a field-named error. */
  async resolveCommit(rev: string, field: string): Promise<string> {
    const [sha] = await this.resolveCommits([{ rev, field }]);
    if (sha === undefined) throw new Error('rev-parse returned nothing');
    return sha;
  }

  /**
   * Full hashes of several commits in one git call; an unknown one is reported by its field.
   * The revisions were validated by their schema (no leading '-'), and the trailing `--` makes
   * git read every argument before it as a revision, never as a path.
   */
  async resolveCommits(items: readonly { rev: string; field: string }[]): Promise<string[]> {
    if (items.length === 0) return [];
    let out: string;
    try {
      out = await this.read(['rev-parse', ...items.map((i) => `${i.rev}^{commit}`), '--']);
    } catch (err) {
      const text = err instanceof ControlPlaneError ? err.message : '';
      const bad = items.find((i) => text.includes(`'${i.rev}^{commit}'`)) ?? (items.length === 1 ? items[0] : undefined);
      if (bad === undefined) throw err;
      throw new ControlPlaneError(GitErrorCode.unknownRevision, `Invalid "${bad.field}": "${bad.rev}" does not name a commit in this repository.`, {
        cause: err,
        details: { field: bad.field, hint: 'Check the name with branch_list, tag_list or log.' },
      });
    }
    const shas = out.split('\n').filter((l) => /^[0-9a-f]{40,64}$/.test(l));
    if (shas.length !== items.length) throw new Error(`rev-parse returned ${shas.length} hashes for ${items.length} revisions`);
    return shas;
  }

  /**
   * The commit or object `rev` names, or undefined. Existence checks avoid `-q`: simple-git waits
   * 50 ms after a command that printed nothing, so a failing check should say so on stderr.
   */
  async revParse(rev: string): Promise<string | undefined> {
    const out = (await this.read(['rev-parse', '--verify', '--end-of-options', rev], { okExitCodes: [128] })).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : undefined;
  }

  /** A config value, or undefined when unset (`--default` makes git print a line either way). */
  async config(key: string): Promise<string | undefined> {
    const out = (await this.read(['config', '--default=', '--get', key])).replace(/\n$/, '');
    return out === '' ? undefined : out;
  }

  /** Whether commit `a` is an ancestor of (or equal to) commit `b`; both are full hashes. */
  async isAncestor(a: string, b: string): Promise<boolean> {
    return (await this.read(['rev-list', '--count', a, '--not', b, '--'])).trim() === '0';
  }

  /** HEAD's commit (undefined before the first commit) and branch (undefined when detached). */
  async head(): Promise<{ sha: string | undefined; branch: string | undefined }> {
    const [sha, branch] = await Promise.all([
      this.revParse('HEAD'),
      this.read(['symbolic-ref', '--short', 'HEAD'], { okExitCodes: [128] }).then((out) => out.trim()),
    ]);
    return { sha, branch: branch === '' ? undefined : branch };
  }

  /** The current branch, or an error naming `field` when HEAD is detached. */
  async currentBranch(field: string): Promise<string> {
    const { branch } = await this.head();
    if (branch === undefined) throw invalidArgument(field, 'HEAD is detached, so there is no current branch.', `Pass "${field}" explicitly, or switch to a branch first.`);
    return branch;
  }

  /** Checks a new branch or tag name with `git check-ref-format`. */
  async checkRefName(name: string, kind: 'branch' | 'tag', field: string): Promise<void> {
    const args = kind === 'branch' ? ['check-ref-format', '--branch', name] : ['check-ref-format', `refs/tags/${name}`];
    try {
      await this.read(args);
    } catch {
      throw invalidArgument(field, `"${name}" is not a valid ${kind} name for git.`, 'Use letters, digits, "-", "_", "/" and ".", as in feature/login-form.');
    }
  }

  /** Whether the remote is configured (remotes are names, never URLs, in these tools). */
  async requireRemote(name: string, field: string): Promise<void> {
    const remotes = (await this.read(['remote'])).split('\n').filter((r) => r.length > 0);
    if (!remotes.includes(name)) {
      throw invalidArgument(field, `"${name}" is not a configured remote.`, remotes.length > 0 ? `Configured remotes: ${remotes.join(', ')}.` : 'This repository has no remote.');
    }
  }
}

/**
 * Per-repository variables. GIT_DIR and GIT_WORK_TREE pin git to the repository we located and
 * checked: a `core.worktree` in the repository's config cannot move the work tree outside the
 * roots. Reads take no optional locks.
 */
function repoEnv(loc: RepoLocation, readOnly: boolean): Record<string, string> {
  return {
    GIT_DIR: loc.gitDir,
    GIT_WORK_TREE: loc.toplevel,
    GIT_CEILING_DIRECTORIES: dirname(loc.toplevel),
    ...(readOnly ? { GIT_OPTIONAL_LOCKS: '0' } : {}),
  };
}

async function configStamp(loc: RepoLocation, userFiles: readonly string[]): Promise<string> {
  const files = [join(loc.commonDir, 'config'), join(loc.gitDir, 'config.worktree'), join(loc.commonDir, 'modules'), ...userFiles];
  const stats = await Promise.all(files.map((file) => stat(file).catch(() => undefined)));
  return stats.map((s) => (s === undefined ? '-' : `${s.ino}:${s.size}:${s.mtimeMs}`)).join('|');
}
