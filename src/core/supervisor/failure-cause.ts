/**
 * A cause recognised in a child's last stderr lines: a sentence with the fix, and whether
 * restarting could help. The lines themselves stay in the server's log.
 */
export interface FailureCause {
  /** Stable code for callers that branch (`PACKAGE_NOT_FOUND`). */
  code: string;
  /** "npm package foo could not be found (npm 404); check …". */
  message: string;
  /** True when the same command fails the same way every time: no point restarting it. */
  permanent: boolean;
}

/**
 * Recognises the failures whose raw output hides their cause. Today: `npx`/`npm exec` of a
 * package the registry does not have (npm's E404, printed as eight `npm error` lines ending in a
 * log path), which would otherwise be reported as its last three lines.
 */
export function knownFailureCause(stderrLines: readonly string[]): FailureCause | undefined {
  const text = stderrLines.join('\n');
  if (/^npm (?:error|ERR!) code E404\b/m.test(text) || /^npm (?:error|ERR!) 404\b/m.test(text)) {
    const name = npmPackageFrom404(text);
    return {
      code: 'PACKAGE_NOT_FOUND',
      message: `npm package ${name ?? '(unnamed)'} could not be found (npm 404): check the package name in the server's command and arguments${registryHint(text)}`,
      permanent: true,
    };
  }
  return undefined;
}

/** The package name from npm's 404 lines: `'<spec>@<range>' could not be found` / `is not in this registry`, else the GET URL. */
function npmPackageFrom404(text: string): string | undefined {
  const quoted = /npm (?:error|ERR!) 404 {1,2}(?:The requested resource )?'((?:@[^/'\s]+\/)?[^@'\s]+)(?:@[^']*)?'/.exec(text);
  if (quoted) return quoted[1];
  const url = /npm (?:error|ERR!) 404 Not Found - GET (\S+)/.exec(text);
  if (!url) return undefined;
  try {
    const path = new URL(url[1]!).pathname.replace(/^\/+/, '');
    return decodeURIComponent(path.split('/-/')[0]!) || undefined;
  } catch {
    return undefined;
  }
}

/** When the registry is not npm's own, it may be a private one: say which, without credentials. */
function registryHint(text: string): string {
  const url = /npm (?:error|ERR!) 404 Not Found - GET (\S+)/.exec(text)?.[1];
  if (!url) return '';
  try {
    const u = new URL(url);
    if (u.hostname === 'registry.npmjs.org') return '';
    return ` (asked ${u.protocol}//${u.host}; for a private package, check that registry and its token in .npmrc)`;
  } catch {
    return '';
  }
}
