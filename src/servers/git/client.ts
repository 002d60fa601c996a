// The only file that touches simple-git: it runs git and turns every library failure into our
// ControlPlaneError with a code a tool can branch on and a hint a model can act on.
import { vulnerabilityCheck } from '@simple-git/argv-parser';
import { GitError, GitPluginError, simpleGit, type SimpleGitProgressEvent, type SimpleGitOptions } from 'simple-git';
import { ControlPlaneError, errorMessage } from '../../core/errors';
import { KitErrorCode } from '../kit';

/** Codes of git failures, beside the kit's own (`INVALID_ARGUMENT`, `OUTSIDE_ROOTS`...). */
export const GitErrorCode = {
  notARepository: 'NOT_A_REPOSITORY',
  unknownRevision: 'UNKNOWN_REVISION',
  conflict: 'CONFLICT',
  localChanges: 'LOCAL_CHANGES',
  notFastForward: 'NOT_FAST_FORWARD',
  rejected: 'REJECTED',
  authFailed: 'AUTH_FAILED',
  remoteUnreachable: 'REMOTE_UNREACHABLE',
  identityMissing: 'IDENTITY_MISSING',
  nothingToCommit: 'NOTHING_TO_COMMIT',
  locked: 'LOCKED',
  alreadyExists: 'ALREADY_EXISTS',
  notMerged: 'NOT_MERGED',
  timeout: 'TIMEOUT',
  refused: 'REFUSED',
  unsafeConfig: 'UNSAFE_REPO_CONFIG',
  secretDetected: 'SECRET_DETECTED',
  gitMissing: 'GIT_NOT_FOUND',
  failed: 'GIT_FAILED',
} as const;

export interface GitRunOptions {
  readonly signal?: AbortSignal | undefined;
  /** Kill git when it prints nothing for this long. Default 60 s. */
  readonly idleTimeoutMs?: number;
  /** Added to the runner's base environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Exit codes that are not failures (e.g. 1 for `git config --get` with no match). */
  readonly okExitCodes?: readonly number[];
  /** Called with git's progress lines (fetch, pull, push, checkout add `--progress`). */
  readonly onProgress?: (event: { stage: string; percent: number }) => void;
}

/**
 * Variables kept from the server's environment: what git needs to find the user's config, keys,
 * identity, certificates and proxies. Not GIT_SSH_COMMAND, GIT_ASKPASS, GIT_EDITOR, GIT_CONFIG_*
 * and the like: they name programs or config files, and simple-git refuses them (set
 * core.sshCommand in the user's global config instead).
 */
const INHERITED_ENV = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR', 'TEMP', 'TMP', 'SYSTEMROOT', 'XDG_CONFIG_HOME',
  'SSH_AUTH_SOCK', 'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'GIT_SSL_CAINFO',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
] as const;

/**
 * The environment every git child gets: a minimal inherited set plus fixed settings. Never
 * prompts (no terminal, no credential UI), English messages (errors are classified on them),
 * literal pathspecs (a path argument is a path, never a glob or `:(magic)`).
 */
export function gitBaseEnv(from: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return {
    ...env,
    LC_ALL: 'C',
    LANGUAGE: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GCM_INTERACTIVE: 'never',
    GIT_LITERAL_PATHSPECS: '1',
  };
}

/** Carries git's exit code and output out of simple-git's error plugin. */
class GitExitError extends GitError {
  constructor(
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(undefined, (stderr || stdout).trim());
  }
}

/**
 * Runs git through simple-git. simple-git's own guard (`vulnerabilityCheck`) checks every argument
 * list with nothing allowed, so option-smuggling patterns it knows (`--upload-pack`, `-c core.*`,
 * `--template`...) are refused even if a bug upstream let one through. The environment is another
 * matter: the server itself sets command-scope config there (GIT_CONFIG_COUNT, see config-guard.ts)
 * to put back program-valued keys a repository sets, which simple-git would refuse as a whole.
 * Only the categories that this generated environment needs are enabled, and only for the
 * environment: the arguments are checked separately, with none enabled (docs/git.md).
 */
export class GitRunner {
  constructor(private readonly baseEnv: Readonly<Record<string, string>>) {}

  /** Runs `git <args>` in `cwd` and returns stdout. Failures are `ControlPlaneError`s. */
  async run(cwd: string, args: readonly string[], options: GitRunOptions = {}): Promise<string> {
    const ok = options.okExitCodes ?? [];
    const onProgress = options.onProgress;
    // simple-git's progress plugin appends --progress at the very end, after `--end-of-options`
    // and the refspecs, where git reads it as a name; put it right after the subcommand instead.
    const argv = onProgress !== undefined && !args.includes('--progress') ? [args[0] ?? '', '--progress', ...args.slice(1)] : [...args];
    const env = { ...this.baseEnv, ...options.env };
    const refused = vulnerabilityCheck(argv, {});
    if (refused.length > 0) {
      throw new ControlPlaneError(GitErrorCode.refused, `git ${args[0] ?? ''} was refused by the git library's safety guard: ${refused.map((v) => v.message).join('; ')}`);
    }
    const unsafe: Record<string, boolean> = {};
    for (const v of vulnerabilityCheck([], env)) unsafe[v.category] = true;
    try {
      const git = simpleGit({
        baseDir: cwd,
        maxConcurrentProcesses: 1,
        unsafe: unsafe as SimpleGitOptions['unsafe'],
        trimmed: false,
        timeout: { block: options.idleTimeoutMs ?? 60_000 },
        ...(options.signal === undefined ? {} : { abort: options.signal }),
        ...(onProgress === undefined
          ? {}
          : { progress: (e: SimpleGitProgressEvent) => onProgress({ stage: e.stage, percent: e.progress }) }),
        errors: (error, result) => {
          if (error instanceof GitPluginError) return error;
          if (result.exitCode === 0 || ok.includes(result.exitCode)) return undefined;
          return new GitExitError(
            result.exitCode,
            Buffer.concat(result.stdOut).toString('utf8'),
            Buffer.concat(result.stdErr).toString('utf8'),
          );
        },
      }).env(env);
      return await git.raw(argv);
    } catch (err) {
      throw mapGitError(err, args);
    }
  }
}

interface Classification {
  readonly code: string;
  readonly pattern: RegExp;
  readonly hint: string;
}

/** Git's messages, first match wins. Order matters: a rejected push also says "fetch first". */
const CLASSIFICATIONS: readonly Classification[] = [
  { code: GitErrorCode.notARepository, pattern: /not a git repository/i, hint: 'Pick a repository from repo_list.' },
  {
    code: GitErrorCode.identityMissing,
    pattern: /please tell me who you are|empty ident name|unable to auto-detect email/i,
    hint: 'Git has no author identity. The user must set user.name and user.email (git config); this server does not change configuration.',
  },
  {
    code: GitErrorCode.locked,
    pattern: /index\.lock|another git process seems to be running|cannot lock ref|unable to create '.*\.lock'/i,
    hint: 'Another git command is running in this repository. Wait a moment and retry.',
  },
  {
    code: GitErrorCode.rejected,
    pattern: /\[rejected\]|\[remote rejected\]|failed to push some refs|stale info/i,
    hint: 'The remote refused the update. Call fetch, then merge or pull the remote changes, and push again. A forced push is only possible with force: true where the server allows it.',
  },
  {
    code: GitErrorCode.authFailed,
    pattern: /authentication failed|could not read (username|password)|terminal prompts disabled|permission denied \(publickey|HTTP (401|403)|invalid credentials/i,
    hint: 'The remote needs credentials the server cannot ask for. The user must set up a credential helper or SSH key outside the agent.',
  },
  {
    code: GitErrorCode.remoteUnreachable,
    pattern: /could not resolve host|unable to access|connection (refused|timed out)|could not read from remote repository|does not appear to be a git repository|no such remote/i,
    hint: 'Check the remote name with remote_list and the network; the remote may be down.',
  },
  {
    code: GitErrorCode.localChanges,
    pattern: /would be overwritten|your local changes|untracked working tree files would be|please commit your changes or stash them/i,
    hint: 'Local changes are in the way. Commit them (add, commit), or save them with stash_push, then retry.',
  },
  {
    code: GitErrorCode.conflict,
    pattern: /\bCONFLICT\b|automatic merge failed|needs merge|you have unmerged paths|unmerged files|is unmerged/,
    hint: 'Resolve the conflicted files (edit them, then add), and commit; or abandon with reset mode "hard" (a backup is kept).',
  },
  {
    code: GitErrorCode.notFastForward,
    pattern: /not possible to fast-forward|cannot fast-forward|diverging branches|not a fast-forward/i,
    hint: 'The branches have diverged. Merge with mode "merge" (creates a merge commit) or ask the user how to integrate them.',
  },
  {
    code: GitErrorCode.alreadyExists,
    pattern: /already exists/i,
    hint: 'Pick another name, or use the existing one (branch_list / tag_list).',
  },
  {
    code: GitErrorCode.notMerged,
    pattern: /is not fully merged/i,
    hint: 'The branch has commits found nowhere else. Check with dryRun: true, then pass force: true (a backup ref is kept).',
  },
  {
    code: GitErrorCode.nothingToCommit,
    pattern: /nothing to commit|no changes added to commit|nothing added to commit/i,
    hint: 'Stage changes with add first (repo_status shows what changed).',
  },
  {
    code: GitErrorCode.unknownRevision,
    pattern: /unknown revision|bad revision|ambiguous argument|needed a single revision|not a valid (object|ref|branch|commit)|invalid object name|invalid reference|not something we can merge|couldn't find remote ref|not a commit|no such ref|does not exist|bad object|path '.*' (does not exist|exists on disk, but not in)|no stash entries found|is not a valid reference/i,
    hint: 'Check the name with branch_list, tag_list, log or stash_list.',
  },
];

const MAX_MESSAGE_CHARS = 1_500;

/** Maps anything simple-git throws to a `ControlPlaneError` (code, message from git, hint). */
export function mapGitError(err: unknown, args: readonly string[]): ControlPlaneError {
  if (err instanceof ControlPlaneError) return err;
  const command = `git ${args.find((a) => !a.startsWith('-')) ?? ''}`.trim();
  if (err instanceof GitPluginError) {
    if (err.plugin === 'timeout') {
      return new ControlPlaneError(GitErrorCode.timeout, `${command} stopped producing output and was stopped.`, {
        cause: err,
        details: { timedOut: true, hint: 'The repository or remote may be very large or unreachable; retry with a narrower request.' },
      });
    }
    if (err.plugin === 'abort') {
      return new ControlPlaneError(KitErrorCode.cancelled, `${command} was cancelled.`, { cause: err });
    }
    return new ControlPlaneError(GitErrorCode.refused, `${command} was refused by the git library's safety guard: ${err.message}`, {
      cause: err,
    });
  }
  if (err instanceof GitExitError) {
    // Both streams: push --porcelain and merge say what happened on stdout, git's verdict is on stderr.
    const text = ([err.stderr.trim(), err.stdout.trim()].filter((t) => t.length > 0).join('\n') || `exit code ${err.exitCode}`).slice(0, MAX_MESSAGE_CHARS);
    const match = CLASSIFICATIONS.find((c) => c.pattern.test(`${err.stderr}\n${err.stdout}`));
    return new ControlPlaneError(match?.code ?? GitErrorCode.failed, `${command} failed: ${text}`, {
      cause: err,
      details: {
        exitCode: err.exitCode,
        stdout: err.stdout,
        stderr: err.stderr,
        ...(match === undefined ? {} : { hint: match.hint }),
      },
    });
  }
  const message = errorMessage(err);
  if (/ENOENT|spawn git/i.test(message)) {
    return new ControlPlaneError(GitErrorCode.gitMissing, 'git is not installed or not on PATH for the git server.', { cause: err });
  }
  if (err instanceof GitError) {
    const match = CLASSIFICATIONS.find((c) => c.pattern.test(message));
    return new ControlPlaneError(match?.code ?? GitErrorCode.failed, `${command} failed: ${message.trim().slice(0, MAX_MESSAGE_CHARS)}`, {
      cause: err,
      details: match === undefined ? {} : { hint: match.hint },
    });
  }
  return new ControlPlaneError(GitErrorCode.failed, `${command} failed: ${message}`, { cause: err });
}
