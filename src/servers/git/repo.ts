import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ControlPlaneError } from '../../core/errors';
import { invalidArgument, type RootsTracker } from '../kit';
import { GitErrorCode, GitRunner, gitBaseEnv, type GitRunOptions } from './client';
import { Workspace, type RepoLocation } from './workspace';

export interface GitServerOptions {
  /** False in an untrusted workspace: no repository is opened. */
  readonly trusted: boolean;
  /** Whether push may force (always as --force-with-lease). */
  readonly allowForcePush: boolean;
}

type RunOptions = Pick<GitRunOptions, 'env' | 'okExitCodes' | 'onProgress' | 'idleTimeoutMs'>;

/** Config values git treats as booleans; any other core.fsmonitor value names a program. */
const GIT_BOOLEANS = new Set(['', 'true', 'false', 'yes', 'no', 'on', 'off', '1', '0']);

/**
 * What the git tools share, one per server: the workspace (confinement), the git runner, the
 * per-repository write queue and the config-check cache.
 */
export class GitService {
  readonly workspace: Workspace;
  readonly runner: GitRunner;
  private readonly writeQueues = new Map<string, Promise<unknown>>();
  private readonly configChecks = new Map<string, string>();

  constructor(
    roots: RootsTracker,
    readonly options: GitServerOptions,
    env: Readonly<Record<string, string | undefined>>,
  ) {
    this.workspace = new Workspace(roots, options.trusted);
    this.runner = new GitRunner(gitBaseEnv(env));
  }

  /** Opens the repository named by a tool's `repo` field, bound to the call's abort signal. */
  async open(repoArg: string | undefined, signal: AbortSignal): Promise<Repository> {
    return new Repository(await this.workspace.locate(repoArg), this, signal);
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
   * Refuses read-only work in a repository whose own config (local or worktree scope) names an
   * fsmonitor program: git would run it on status and diff. simple-git rightly refuses
   * `-c core.fsmonitor=...` overrides, so the server checks instead of overriding. The answer is
   * cached until the repository's config files change (never when they include other files).
   */
  async checkReadOnlyConfig(loc: RepoLocation, signal: AbortSignal): Promise<void> {
    const stamp = await configStamp(loc);
    if (this.configChecks.get(loc.gitDir) === stamp) return;
    const out = await this.runner.run(loc.toplevel, ['config', '--list', '--show-scope', '-z'], { signal, env: repoEnv(loc, true) });
    const fields = out.split('\0');
    let includes = false;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const scope = fields[i] ?? '';
      const entry = fields[i + 1] ?? '';
      const newline = entry.indexOf('\n');
      const key = (newline === -1 ? entry : entry.slice(0, newline)).toLowerCase();
      const value = newline === -1 ? '' : entry.slice(newline + 1);
      const repoScope = scope === 'local' || scope === 'worktree';
      // Only the repository's own includes defeat the cache: the user's global ones do not matter here.
      if (repoScope && (key.startsWith('include.') || key.startsWith('includeif.'))) includes = true;
      if (key === 'core.fsmonitor' && repoScope && !GIT_BOOLEANS.has(value.trim().toLowerCase())) {
        throw new ControlPlaneError(
          GitErrorCode.unsafeConfig,
          `This repository's config sets core.fsmonitor to a program (${value}), which git would run on read-only commands. The git server does not run programs named by a repository's config for read-only tools.`,
          { details: { hint: 'The user can remove it (git config --unset core.fsmonitor) or use the built-in monitor (core.fsmonitor=true).' } },
        );
      }
    }
    if (!includes) this.configChecks.set(loc.gitDir, stamp);
  }
}

/**
 * One repository for one tool call. `read` is for commands that change nothing: they run without
 * optional locks (status does not rewrite the index, so no index hook fires) after the config
 * check above; callers add `--no-ext-diff --no-textconv` where a diff is produced. `write` runs
 * with the user's configuration as is (hooks included) inside `exclusive`.
 */
export class Repository {
  private configChecked: Promise<void> | undefined;

  constructor(
    readonly loc: RepoLocation,
    private readonly service: GitService,
    readonly signal: AbortSignal,
  ) {}

  get path(): string {
    return this.loc.toplevel;
  }

  get options(): GitServerOptions {
    return this.service.options;
  }

  async read(args: readonly string[], options: RunOptions = {}): Promise<string> {
    this.configChecked ??= this.service.checkReadOnlyConfig(this.loc, this.signal);
    await this.configChecked;
    return this.service.runner.run(this.loc.toplevel, args, {
      ...options,
      signal: this.signal,
      env: { ...repoEnv(this.loc, true), ...options.env },
    });
  }

  async write(args: readonly string[], options: RunOptions = {}): Promise<string> {
    return this.service.runner.run(this.loc.toplevel, args, {
      ...options,
      signal: this.signal,
      env: { ...repoEnv(this.loc, false), ...options.env },
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

async function configStamp(loc: RepoLocation): Promise<string> {
  const parts: string[] = [];
  for (const file of [join(loc.commonDir, 'config'), join(loc.gitDir, 'config.worktree')]) {
    const s = await stat(file).catch(() => undefined);
    parts.push(s === undefined ? '-' : `${s.ino}:${s.size}:${s.mtimeMs}`);
  }
  return parts.join('|');
}
