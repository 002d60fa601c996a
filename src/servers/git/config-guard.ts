// What keeps a repository's own configuration from naming programs git would run. Git reads the
// repository's config (and whatever it includes) on every command and no variable turns that off;
// what git does offer is a higher scope: "command" config given in the environment
// (GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n), which wins over every file. So the
// server reads the config as git sees it (`git config --list --show-scope -z`, includes followed),
// and for every program-valued key that a repository-level scope sets, puts back the user's own
// global/system value at command scope, or a value that runs nothing when the user has none.
// docs/git.md lists the keys and why each neutral value is what it is.

/** One config entry as `git config --list --show-scope -z` prints it. */
export interface ConfigEntry {
  /** system, global, local, worktree, command... */
  readonly scope: string;
  /** As git prints it: section and variable lowercased, subsection as written. */
  readonly key: string;
  readonly value: string;
}

export function parseConfigList(out: string): ConfigEntry[] {
  const fields = out.split('\0');
  const entries: ConfigEntry[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const scope = fields[i] ?? '';
    const entry = fields[i + 1] ?? '';
    const newline = entry.indexOf('\n');
    entries.push({
      scope,
      key: newline === -1 ? entry : entry.slice(0, newline),
      value: newline === -1 ? '' : entry.slice(newline + 1),
    });
  }
  return entries;
}

/** The user's own scopes. Everything else (local, worktree, files included from them) is the repository's. */
export function isUserScope(scope: string): boolean {
  return scope === 'system' || scope === 'global';
}

/** Splits "a.b.c" into section, subsection (may contain dots) and variable, lowercasing the outer parts. */
function splitKey(key: string): { section: string; sub: string | undefined; name: string } {
  const first = key.indexOf('.');
  const last = key.lastIndexOf('.');
  if (first === -1) return { section: key.toLowerCase(), sub: undefined, name: '' };
  return {
    section: key.slice(0, first).toLowerCase(),
    sub: first === last ? undefined : key.slice(first + 1, last),
    name: key.slice(last + 1).toLowerCase(),
  };
}

function joinKey(section: string, sub: string | undefined, name: string): string {
  return sub === undefined ? `${section}.${name}` : `${section}.${sub}.${name}`;
}

/**
 * How a program-valued key is put back. `neutral` is the command-scope value used when the user's
 * own config has none: it runs nothing (or only the program git would run by default).
 * `list` keys are multi-valued: an empty value clears what came before, then the user's values
 * are added again. `siblings` are set as well, with their own neutral values, when the key is.
 */
interface KeyRule {
  readonly section: string;
  /** undefined: no subsection; '*': any subsection (the driver or remote name); otherwise exact. */
  readonly sub: '*' | undefined;
  readonly name: string;
  readonly neutral: string | ((sub: string | undefined) => string);
  readonly list?: boolean;
  readonly siblings?: Readonly<Record<string, string>>;
}

/**
 * Neutral text merge for a custom merge driver: git's own three-way merge through `git merge-file`,
 * which writes the result to %A and exits non-zero on conflicts, as the driver contract asks.
 */
export const NEUTRAL_MERGE_DRIVER = 'git merge-file --marker-size=%L %A %O %B';

/**
 * Every program-valued key of git-config(1) for git 2.39 that the tools can reach, plus git-lfs's
 * program keys (a repository-level value would be run by the user's own git-lfs filter).
 */
const RULES: readonly KeyRule[] = [
  { section: 'core', sub: undefined, name: 'fsmonitor', neutral: 'false' },
  { section: 'core', sub: undefined, name: 'sshcommand', neutral: 'ssh' },
  { section: 'core', sub: undefined, name: 'askpass', neutral: '' },
  { section: 'core', sub: undefined, name: 'pager', neutral: 'cat' },
  { section: 'core', sub: undefined, name: 'editor', neutral: ':' },
  { section: 'sequence', sub: undefined, name: 'editor', neutral: ':' },
  // An empty value would make git try to run "" when an alternate exists; this is git's default command.
  { section: 'core', sub: undefined, name: 'alternaterefscommand', neutral: 'f() { git --git-dir="$1" for-each-ref "--format=%(objectname)"; }; f' },
  { section: 'gpg', sub: undefined, name: 'program', neutral: 'gpg' },
  { section: 'gpg', sub: '*', name: 'program', neutral: (sub) => (sub?.toLowerCase() === 'x509' ? 'gpgsm' : sub?.toLowerCase() === 'ssh' ? 'ssh-keygen' : 'gpg') },
  { section: 'gpg', sub: '*', name: 'defaultkeycommand', neutral: '' },
  { section: 'log', sub: undefined, name: 'showsignature', neutral: 'false' },
  // git has no way to unset these; an empty command fails instead of running (tools pass --no-ext-diff).
  { section: 'diff', sub: undefined, name: 'external', neutral: '' },
  { section: 'diff', sub: '*', name: 'command', neutral: '' },
  { section: 'diff', sub: '*', name: 'textconv', neutral: 'cat' },
  { section: 'difftool', sub: '*', name: 'cmd', neutral: '' },
  { section: 'difftool', sub: '*', name: 'path', neutral: '' },
  { section: 'mergetool', sub: '*', name: 'cmd', neutral: '' },
  { section: 'mergetool', sub: '*', name: 'path', neutral: '' },
  { section: 'merge', sub: '*', name: 'driver', neutral: NEUTRAL_MERGE_DRIVER },
  // An empty clean/smudge means "no filter" that way; an empty process disables the driver's
  // clean and smudge too (convert.c), so only keys the repository set are touched. required
  // would then fail every checkout: it is put back as well.
  ...['clean', 'smudge', 'process'].map((name): KeyRule => ({ section: 'filter', sub: '*', name, neutral: '', siblings: { required: 'false' } })),
  { section: 'filter', sub: '*', name: 'required', neutral: 'false' },
  { section: 'credential', sub: undefined, name: 'helper', neutral: '', list: true },
  { section: 'credential', sub: '*', name: 'helper', neutral: '', list: true },
  // remote.<name>.uploadpack/receivepack are first-value-wins, so a later scope cannot put them
  // back: transport.ts refuses a remote whose repository config sets them.
  // A remote helper git-remote-<vcs>: empty makes git fail instead of running the named helper.
  { section: 'remote', sub: '*', name: 'vcs', neutral: '' },
  { section: 'submodule', sub: '*', name: 'update', neutral: 'checkout' },
  { section: 'protocol', sub: undefined, name: 'allow', neutral: 'user' },
  // Not programs, but they send the user's traffic and credentials through a host the repository
  // names, or accept any certificate: put back too (an empty proxy means none).
  { section: 'http', sub: undefined, name: 'proxy', neutral: '' },
  { section: 'http', sub: '*', name: 'proxy', neutral: '' },
  { section: 'remote', sub: '*', name: 'proxy', neutral: '' },
  { section: 'http', sub: undefined, name: 'sslverify', neutral: 'true' },
  { section: 'http', sub: '*', name: 'sslverify', neutral: 'true' },
  { section: 'lfs', sub: '*', name: 'path', neutral: '' },
  { section: 'lfs', sub: '*', name: 'clean', neutral: '' },
  { section: 'lfs', sub: '*', name: 'smudge', neutral: '' },
  { section: 'lfs', sub: undefined, name: 'standalonetransferagent', neutral: '' },
];

/** git's default policy per protocol when nothing configures it (transport.c). */
function defaultProtocolPolicy(protocol: string): string {
  if (['http', 'https', 'git', 'ssh'].includes(protocol.toLowerCase())) return 'always';
  if (['ext', 'fd'].includes(protocol.toLowerCase())) return 'never';
  return 'user';
}

/** Always set, whatever the config says: no `ext::` or `fd::` transport, no recursion into submodules (their config is not checked). */
const ALWAYS: readonly (readonly [string, string])[] = [
  ['protocol.ext.allow', 'never'],
  ['protocol.fd.allow', 'never'],
  ['submodule.recurse', 'false'],
  ['fetch.recurseSubmodules', 'false'],
  ['push.recurseSubmodules', 'no'],
  ['status.submoduleSummary', 'false'],
  ['diff.ignoreSubmodules', 'dirty'],
];

export interface Neutralised {
  /** Command-scope config, in order. */
  readonly overrides: readonly (readonly [string, string])[];
  /** Repository-level program-valued keys that were put back (for docs and tests). */
  readonly neutralisedKeys: readonly string[];
}

/**
 * The command-scope config that puts back every program-valued key a repository-level scope sets.
 * `hooksPath` is where hooks are looked up (an empty directory unless the user opted in).
 */
export function neutralise(entries: readonly ConfigEntry[], hooksPath: string): Neutralised {
  const overrides: [string, string][] = [];
  const done = new Set<string>();
  const neutralisedKeys: string[] = [];
  const userValues = (key: string): string[] =>
    entries.filter((e) => isUserScope(e.scope) && e.key.toLowerCase() === key.toLowerCase()).map((e) => e.value);
  const putBack = (key: string, rule: { neutral: string; list?: boolean | undefined }): void => {
    const id = key.toLowerCase();
    if (done.has(id)) return;
    done.add(id);
    const mine = userValues(key);
    if (rule.list === true) {
      overrides.push([key, '']);
      for (const v of mine) overrides.push([key, v]);
    } else {
      overrides.push([key, mine.length > 0 ? (mine[mine.length - 1] ?? rule.neutral) : rule.neutral]);
    }
  };
  let gitProxy = false;
  for (const entry of entries) {
    if (isUserScope(entry.scope)) continue;
    const { section, sub, name } = splitKey(entry.key);
    if (section === 'core' && sub === undefined && name === 'gitproxy') {
      gitProxy = true;
      continue;
    }
    if (section === 'protocol' && sub !== undefined && name === 'allow') {
      neutralisedKeys.push(entry.key);
      putBack(entry.key, { neutral: defaultProtocolPolicy(sub) });
      continue;
    }
    if (section === 'protocol' && sub === undefined && name === 'allow') {
      // Setting protocol.allow at all replaces git's per-protocol defaults: restore them explicitly.
      neutralisedKeys.push(entry.key);
      putBack(entry.key, { neutral: 'user' });
      if (userValues('protocol.allow').length === 0) {
        for (const p of ['http', 'https', 'git', 'ssh', 'file']) if (userValues(`protocol.${p}.allow`).length === 0) putBack(`protocol.${p}.allow`, { neutral: defaultProtocolPolicy(p) });
      }
      continue;
    }
    const rule = RULES.find((r) => r.section === section && r.name === name && (r.sub === undefined ? sub === undefined : sub !== undefined));
    if (rule === undefined) continue;
    neutralisedKeys.push(entry.key);
    putBack(entry.key, { neutral: typeof rule.neutral === 'string' ? rule.neutral : rule.neutral(sub), list: rule.list });
    for (const [sibling, neutral] of Object.entries(rule.siblings ?? {})) putBack(joinKey(section, sub, sibling), { neutral });
  }
  // core.gitProxy is first-match-wins, so a later scope cannot override it: close git:// instead.
  if (gitProxy) overrides.push(['protocol.git.allow', 'never']);
  for (const [key, value] of ALWAYS) if (!done.has(key.toLowerCase())) overrides.push([key, value]);
  // Always, so that a submodule's own config (or one the guard did not see) cannot name a monitor.
  putBack('core.fsmonitor', { neutral: 'false' });
  overrides.push(['core.hooksPath', hooksPath]);
  return { overrides, neutralisedKeys };
}

/** The environment variables that carry command-scope config to git and to every git it starts. */
export function configEnv(overrides: readonly (readonly [string, string])[]): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(overrides.length) };
  overrides.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** Repository-level url.<base>.insteadOf / pushInsteadOf rules (they rewrite where git connects). */
export interface RewriteRule {
  readonly base: string;
  readonly prefix: string;
  readonly push: boolean;
  readonly user: boolean;
}

export function rewriteRules(entries: readonly ConfigEntry[]): RewriteRule[] {
  const rules: RewriteRule[] = [];
  for (const e of entries) {
    const { section, sub, name } = splitKey(e.key);
    if (section !== 'url' || sub === undefined || (name !== 'insteadof' && name !== 'pushinsteadof')) continue;
    rules.push({ base: sub, prefix: e.value, push: name === 'pushinsteadof', user: isUserScope(e.scope) });
  }
  return rules;
}

/** git's alias_url: the longest matching prefix wins, the first one among equals. */
export function applyRewrite(url: string, rules: readonly RewriteRule[]): string {
  let best: RewriteRule | undefined;
  for (const r of rules) if (url.startsWith(r.prefix) && (best === undefined || best.prefix.length < r.prefix.length)) best = r;
  return best === undefined ? url : best.base + url.slice(best.prefix.length);
}
