import { lstat, readFile, readdir, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ControlPlaneError } from '../../core/errors';
import { KitErrorCode, invalidArgument, type RootsTracker, type WorkspaceRoot } from '../kit';
import { GitErrorCode } from './client';

/** Where a repository is. All paths are real (symlinks resolved). */
export interface RepoLocation {
  /** The workspace root that contains the repository. */
  readonly root: string;
  /** The work tree's top level: git runs here. */
  readonly toplevel: string;
  /** The repository's git directory (`.git`, or the target of a `.git` file). */
  readonly gitDir: string;
  /** Shared git directory (differs from gitDir in linked worktrees). */
  readonly commonDir: string;
}

/** True when `child` is `parent` or below it (both real, absolute). */
export function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Directories never searched for repositories: dependencies and build output. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'out', 'build', 'target', 'vendor', '__pycache__']);
const DISCOVERY_DEPTH = 3;
const DISCOVERY_MAX_DIRS = 4_000;

/**
 * The confinement boundary: which repositories exist for the server, and whether a path given by
 * the model stays inside one. Roots come from the client (`roots/list`); with none, or in an
 * untrusted workspace, nothing is open. Repository discovery never looks above a root.
 */
export class Workspace {
  constructor(
    private readonly roots: RootsTracker,
    private readonly trusted: boolean,
  ) {}

  /** The roots repositories may live in. Throws with a clear reason when there are none. */
  async allowedRoots(): Promise<readonly WorkspaceRoot[]> {
    if (!this.trusted) {
      throw new ControlPlaneError(
        KitErrorCode.untrusted,
        'The workspace is not trusted, so the git server opens no repository: a repository\'s own configuration can run programs.',
        { details: { hint: 'The user can trust the workspace in VS Code (Workspaces: Manage Workspace Trust); git tools then work.' } },
      );
    }
    const state = await this.roots.current();
    if (state.kind === 'unsupported') {
      throw new ControlPlaneError(KitErrorCode.noRoots, 'No repository is available: the client shares no workspace roots (it has no roots capability).', {
        details: { hint: 'Open a folder in VS Code, or configure roots for the control plane; the git server only works inside them.' },
      });
    }
    if (state.kind === 'failed') {
      throw new ControlPlaneError(KitErrorCode.noRoots, `No repository is available: the client did not list its workspace roots (${state.reason}).`, {
        details: { hint: 'Retry; if it persists, the control plane is not answering roots/list.' },
      });
    }
    if (state.roots.length === 0) {
      throw new ControlPlaneError(KitErrorCode.noRoots, 'No repository is available: no workspace folder is open.', {
        details: { hint: 'Open a folder in VS Code (or configure roots headless); the git server only works inside workspace roots.' },
      });
    }
    return state.roots;
  }

  /**
   * Every repository under the roots: each root itself when it is a work tree's top level, and
   * directories up to three levels below it holding a `.git` (dependencies and dot-folders are
   * skipped). `outer` lists roots that sit inside a repository starting above them: those
   * repositories are not offered, because their work tree reaches outside the roots.
   */
  async discover(): Promise<{ repositories: RepoLocation[]; outer: { root: string; toplevel: string }[] }> {
    const roots = await this.allowedRoots();
    const repositories: RepoLocation[] = [];
    const outer: { root: string; toplevel: string }[] = [];
    for (const root of roots) {
      const found = await this.scan(root.path);
      for (const loc of found) {
        if (repositories.some((r) => r.toplevel === loc.toplevel)) continue;
        // A repository whose git data lives outside the roots is not offered (open refuses it with the reason).
        if (await this.checkConfinement(loc, roots).then(() => true, () => false)) repositories.push(loc);
      }
      if (!found.some((r) => r.toplevel === root.path)) {
        const above = await findGitAbove(root.path);
        if (above !== undefined) outer.push({ root: root.path, toplevel: above });
      }
    }
    return { repositories, outer };
  }

  /**
   * The repository named by `repoArg` (absolute, or relative to a root; any directory inside the
   * work tree), or the only repository when omitted. The real path must stay inside a root, and
   * the repository's top level too.
   */
  async locate(repoArg: string | undefined): Promise<RepoLocation> {
    const roots = await this.allowedRoots();
    if (repoArg === undefined) return this.onlyRepository(roots);
    const candidates = isAbsolute(repoArg) ? [repoArg] : roots.map((r) => join(r.path, repoArg));
    let real: string | undefined;
    for (const candidate of candidates) {
      real = await realpath(candidate).catch(() => undefined);
      if (real !== undefined) break;
    }
    if (real === undefined) {
      throw invalidArgument('repo', `"${repoArg}" does not exist.`, `Pass a repository listed by repo_list. ${describeRoots(roots)}`);
    }
    const root = roots.find((r) => isInside(real, r.path));
    if (root === undefined) {
      throw outsideRoots('repo', `"${repoArg}" resolves to ${real}, which is outside the workspace roots.`, roots);
    }
    const start = (await lstat(real)).isDirectory() ? real : dirname(real);
    for (let dir = start; isInside(dir, root.path); dir = dirname(dir)) {
      const loc = await repositoryAt(dir, root.path);
      if (loc !== undefined) return loc;
      if (dir === root.path) break;
    }
    const above = await findGitAbove(root.path);
    throw new ControlPlaneError(GitErrorCode.notARepository, `"${repoArg}" is not inside a git repository within the workspace root ${root.path}.`, {
      details: {
        field: 'repo',
        hint:
          above === undefined
            ? 'Pick a repository from repo_list.'
            : `The enclosing repository ${above} starts above the workspace root, so it is not offered: its work tree reaches outside the root. Open ${above} itself as the workspace folder to use it.`,
      },
    });
  }

  /**
   * A path inside the repository given by the model, as a repository-relative path for git
   * (after `--`). Resolved with realpath as far as it exists (symlinks included); refused when it
   * leaves the work tree or points into the git directory.
   */
  async resolvePath(loc: RepoLocation, input: string, field: string): Promise<string> {
    const absolute = resolve(loc.toplevel, input);
    if (!isInside(absolute, loc.toplevel)) {
      throw outsideRepo(field, `"${input}" is outside the repository ${loc.toplevel}.`, loc);
    }
    // Resolve the longest existing prefix, so a symlink anywhere on the way is followed.
    let existing = absolute;
    const rest: string[] = [];
    for (;;) {
      const real = await realpath(existing).catch(() => undefined);
      if (real !== undefined) {
        existing = real;
        break;
      }
      rest.unshift(basename(existing));
      existing = dirname(existing);
    }
    const real = rest.length === 0 ? existing : join(existing, ...rest);
    if (!isInside(real, loc.toplevel)) {
      throw outsideRepo(field, `"${input}" resolves through a symbolic link to ${real}, outside the repository ${loc.toplevel}.`, loc);
    }
    const rel = relative(loc.toplevel, real);
    if (rel.split(sep).some((part) => part.toLowerCase() === '.git') || isInside(real, loc.gitDir)) {
      throw invalidArgument(field, `"${input}" points into the git directory.`, 'Git metadata is not a path these tools act on.');
    }
    return rel === '' ? '.' : rel.split(sep).join('/');
  }

  /**
   * Refuses a repository git would read from outside the roots: a `.git` file or `commondir`
   * pointing elsewhere, an objects directory that is a link out, or alternates (followed
   * transitively, as git does) outside. Git would read objects, config and refs there.
   */
  async checkConfinement(loc: RepoLocation, roots: readonly WorkspaceRoot[]): Promise<void> {
    const inRoots = (p: string) => roots.some((r) => isInside(p, r.path));
    const refuse = (what: string, where: string) =>
      outsideRoots('repo', `the repository ${loc.toplevel} uses ${what} at ${where}, which is outside the workspace roots.`, roots);
    if (!inRoots(loc.gitDir)) throw refuse('a git directory (named by its .git file)', loc.gitDir);
    if (!inRoots(loc.commonDir)) throw refuse('a common git directory (named by its commondir file)', loc.commonDir);
    const objects = await realpath(join(loc.commonDir, 'objects')).catch(() => join(loc.commonDir, 'objects'));
    if (!inRoots(objects)) throw refuse('an object store', objects);
    const seen = new Set<string>([objects]);
    let pending = [objects];
    for (let depth = 0; depth < 6 && pending.length > 0; depth++) {
      const next: string[] = [];
      for (const dir of pending) {
        for (const alt of await readAlternates(dir)) {
          if (!inRoots(alt)) throw refuse('alternate objects (objects/info/alternates)', alt);
          if (!seen.has(alt)) {
            seen.add(alt);
            next.push(alt);
          }
        }
      }
      pending = next;
    }
  }

  private async onlyRepository(roots: readonly WorkspaceRoot[]): Promise<RepoLocation> {
    // Fast path: a single root that is itself a repository (the common VS Code case).
    if (roots.length === 1 && roots[0] !== undefined) {
      const loc = await repositoryAt(roots[0].path, roots[0].path);
      if (loc !== undefined) return loc;
    }
    const { repositories, outer } = await this.discover();
    if (repositories.length === 1 && repositories[0] !== undefined) return repositories[0];
    if (repositories.length === 0) {
      const why =
        outer.length > 0
          ? ` ${outer.map((o) => `The root ${o.root} is inside the repository ${o.toplevel}, which starts above it and is not offered.`).join(' ')}`
          : '';
      throw new ControlPlaneError(GitErrorCode.notARepository, `No git repository was found in the workspace roots.${why}`, {
        details: { hint: `${describeRoots(roots)} Repositories are searched in each root and up to three levels below.` },
      });
    }
    throw invalidArgument(
      'repo',
      `the workspace holds ${repositories.length} repositories, so "repo" is required.`,
      `Pass one of: ${repositories.map((r) => r.toplevel).join(', ')}.`,
    );
  }

  private async scan(rootPath: string): Promise<RepoLocation[]> {
    const found: RepoLocation[] = [];
    let level = [rootPath];
    let visited = 0;
    for (let depth = 0; depth <= DISCOVERY_DEPTH && level.length > 0; depth++) {
      const next: string[] = [];
      for (const dir of level) {
        if (++visited > DISCOVERY_MAX_DIRS) return found;
        const loc = await repositoryAt(dir, rootPath);
        if (loc !== undefined) found.push(loc);
        if (depth === DISCOVERY_DEPTH) continue;
        const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
        for (const entry of entries) {
          if (entry.isDirectory() && !entry.name.startsWith('.') && !SKIPPED_DIRS.has(entry.name)) next.push(join(dir, entry.name));
        }
      }
      level = next.sort();
    }
    return found;
  }
}

/** The repository whose top level is `dir` (a real path), if `dir` holds a `.git`. */
async function repositoryAt(dir: string, root: string): Promise<RepoLocation | undefined> {
  const dotGit = join(dir, '.git');
  const stat = await lstat(dotGit).catch(() => undefined);
  if (stat === undefined) return undefined;
  let gitDir: string;
  if (stat.isDirectory()) {
    gitDir = dotGit;
  } else if (stat.isFile()) {
    // Linked worktrees and submodules: ".git" is a file naming the git directory.
    const text = await readFile(dotGit, 'utf8').catch(() => '');
    const match = /^gitdir:\s*(.+?)\s*$/m.exec(text);
    if (match?.[1] === undefined) return undefined;
    const target = await realpath(resolve(dir, match[1])).catch(() => undefined);
    if (target === undefined) return undefined;
    gitDir = target;
  } else {
    return undefined;
  }
  const common = await readFile(join(gitDir, 'commondir'), 'utf8').catch(() => undefined);
  const commonDir = common === undefined ? gitDir : await realpath(resolve(gitDir, common.trim())).catch(() => gitDir);
  return { root, toplevel: dir, gitDir, commonDir };
}

/** The top level of a repository enclosing `dir` from above, for messages only (nothing is opened). */
async function findGitAbove(dir: string): Promise<string | undefined> {
  for (let up = dirname(dir); up !== dirname(up); up = dirname(up)) {
    if ((await lstat(join(up, '.git')).catch(() => undefined)) !== undefined) return up;
  }
  return undefined;
}

function describeRoots(roots: readonly WorkspaceRoot[]): string {
  return `Allowed roots: ${roots.map((r) => r.path).join(', ')}.`;
}

function outsideRoots(field: string, problem: string, roots: readonly WorkspaceRoot[]): ControlPlaneError {
  return new ControlPlaneError(KitErrorCode.outsideRoots, `Invalid "${field}": ${problem}`, {
    details: { field, hint: `Repositories are confined to the workspace roots. ${describeRoots(roots)}` },
  });
}

function outsideRepo(field: string, problem: string, loc: RepoLocation): ControlPlaneError {
  return new ControlPlaneError(KitErrorCode.outsideRoots, `Invalid "${field}": ${problem}`, {
    details: {
      field,
      hint: `Paths must stay inside the repository ${loc.toplevel} (workspace root ${loc.root}): give them relative to its top level.`,
    },
  });
}

/** The object directories listed in `<objects>/info/alternates`, as real paths (git's own rules: one per line, # comments, relative to the objects directory). */
async function readAlternates(objects: string): Promise<string[]> {
  const text = await readFile(join(objects, 'info', 'alternates'), 'utf8').catch(() => '');
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('"')) line = unquoteC(line);
    const abs = resolve(objects, line);
    out.push(await realpath(abs).catch(() => abs));
  }
  return out;
}

/** git's C-style quoting of a path ("a\tb"), enough to know where it points. */
function unquoteC(quoted: string): string {
  const body = quoted.slice(1, quoted.endsWith('"') ? -1 : undefined);
  return body.replace(/\\([0-7]{3}|.)/g, (_, c: string) => {
    if (/^[0-7]{3}$/.test(c)) return String.fromCharCode(parseInt(c, 8));
    return ({ n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' } as Record<string, string>)[c] ?? c;
  });
}
