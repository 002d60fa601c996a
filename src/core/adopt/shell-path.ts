import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter as hostDelimiter, isAbsolute, join } from 'node:path';

const START = '__MCPCP_PATH_START__';
const END = '__MCPCP_PATH_END__';

export interface LoginShellOptions {
  /** The user's shell; default `$SHELL`, else `/bin/sh`. */
  shell?: string;
  env?: NodeJS.ProcessEnv;
  /** Default 5 s: a slow rc file must not hold up the extension. */
  timeoutMs?: number;
  platform?: NodeJS.Platform;
}

/**
 * The PATH the user's login shell sets up (`$SHELL -ilc`), or undefined when it cannot be read
 * (Windows, no shell, timeout, non-zero exit). VS Code started from a desktop launcher has a
 * minimal PATH without the folders where `npx` and `uvx` live (nvm, Homebrew, ~/.local/bin);
 * this recovers them. Markers around the value skip whatever the rc files print.
 */
export async function readLoginShellPath(options: LoginShellOptions = {}): Promise<string | undefined> {
  if ((options.platform ?? process.platform) === 'win32') return undefined;
  const env = options.env ?? process.env;
  const shell = options.shell ?? env['SHELL'] ?? '/bin/sh';
  const script = `printf '%s%s%s' '${START}' "$PATH" '${END}'`;
  // bash, zsh and fish all take -i -l -c; -i makes zsh and bash read the rc files that set PATH.
  // Own process group (no controlling terminal), killed as a whole on timeout: a `sleep` in an rc
  // file would otherwise keep the pipe open after the shell itself is gone.
  return await new Promise<string | undefined>((resolve) => {
    let out = '';
    let done = false;
    const finish = (value: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(value);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(shell, ['-ilc', script], {
        env: { ...env, DISABLE_AUTO_UPDATE: 'true', ZSH_TMUX_AUTOSTARTED: 'true', ZSH_TMUX_AUTOSTART: 'false' },
        stdio: ['ignore', 'pipe', 'ignore'],
        detached: true,
        windowsHide: true,
      });
    } catch {
      return finish(undefined);
    }
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      finish(undefined);
    }, options.timeoutMs ?? 5_000);
    timer.unref();
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      if (out.length > 1024 * 1024) out = out.slice(-64 * 1024);
    });
    child.on('error', () => finish(undefined));
    child.on('close', () => {
      const start = out.lastIndexOf(START);
      const end = out.indexOf(END, start);
      if (start === -1 || end === -1) return finish(undefined);
      const value = out.slice(start + START.length, end).trim();
      finish(value === '' ? undefined : value);
    });
  });
}

/** Joins PATH values, first occurrence of each folder first, empty entries dropped. */
export function mergePathValues(values: ReadonlyArray<string | undefined>, delimiter = hostDelimiter): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const value of values) {
    for (const dir of (value ?? '').split(delimiter)) {
      if (dir === '' || seen.has(dir)) continue;
      seen.add(dir);
      out.push(dir);
    }
  }
  return out.join(delimiter);
}

/**
 * Reads the login shell's PATH once and merges it with the process's (the process's folders keep
 * precedence). Build one in the composition root and pass it where commands are resolved; `env()`
 * gives an environment with the merged PATH for children.
 */
export class ShellPath {
  private pending: Promise<string> | undefined;

  constructor(private readonly options: LoginShellOptions = {}) {}

  /** The merged PATH; the shell runs on the first call only. */
  path(): Promise<string> {
    const env = this.options.env ?? process.env;
    this.pending ??= readLoginShellPath(this.options).then((login) => mergePathValues([env['PATH'], login], this.options.platform === 'win32' ? ';' : hostDelimiter));
    return this.pending;
  }

  /** `env` with PATH replaced by the merged one. */
  async env(env: NodeJS.ProcessEnv = this.options.env ?? process.env): Promise<NodeJS.ProcessEnv> {
    return { ...env, PATH: await this.path() };
  }
}

/**
 * The file a command name runs, searched in `pathValue` as a shell would (with PATHEXT on
 * Windows); undefined when not found. An absolute or relative path is returned as is if it exists.
 */
export function findExecutable(command: string, pathValue: string, options: { platform?: NodeJS.Platform; pathExt?: string; cwd?: string } = {}): string | undefined {
  const platform = options.platform ?? process.platform;
  const windows = platform === 'win32';
  const exts = windows ? (options.pathExt ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean) : [''];
  const candidates = (base: string): string[] => (windows && /\.[A-Za-z0-9]+$/.test(base) ? [base] : exts.map((e) => base + e.toLowerCase()));
  if (command.includes('/') || (windows && command.includes('\\'))) {
    const base = isAbsolute(command) ? command : join(options.cwd ?? process.cwd(), command);
    return candidates(base).find((c) => isExecutable(c, windows));
  }
  for (const dir of pathValue.split(windows ? ';' : ':')) {
    if (!dir) continue;
    const hit = candidates(join(dir, command)).find((c) => isExecutable(c, windows));
    if (hit) return hit;
  }
  return undefined;
}

function isExecutable(file: string, windows: boolean): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    if (!windows) accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
