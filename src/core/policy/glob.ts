import { ControlPlaneError } from '../errors';

/** A glob may expand (through `{a,b}` groups) into at most this many alternatives. */
const MAX_ALTERNATIVES = 256;
const MAX_GLOB_LENGTH = 1024;

type Token = { readonly t: 'star' } | { readonly t: 'any' } | { readonly t: 'char'; readonly c: string } | { readonly t: 'class'; readonly negated: boolean; readonly items: readonly (readonly [string, string])[] };

/**
 * Compiles a glob into a matcher. `*` matches any run of characters (including `/` and `.`, so
 * `k8s://*` covers a whole URI), `?` one character, `[abc]`, `[a-z]` and `[!abc]` a class, `{a,b}`
 * alternatives (not nested), `\x` a literal `x`. Matching is case-sensitive and anchored at both ends.
 *
 * No regular expression is involved: matching takes O(length × pattern) time whatever the input,
 * so a glob from an untrusted file cannot stall the gateway with catastrophic backtracking. Throws
 * `ControlPlaneError` `POLICY_INVALID` for a glob longer than 1024 characters or expanding into more
 * than 256 alternatives (`globProblem` says why beforehand).
 */
export function compileGlob(glob: string): (value: string) => boolean {
  const problem = globProblem(glob);
  if (problem !== undefined) throw new ControlPlaneError('POLICY_INVALID', `glob "${glob.slice(0, 80)}": ${problem}`);
  const alternatives = expandBraces(glob).map(tokenize);
  return (value) => {
    const chars = Array.from(value);
    return alternatives.some((tokens) => matchTokens(tokens, chars));
  };
}

/** Why a glob is refused, or undefined when it is fine. */
export function globProblem(glob: string): string | undefined {
  if (glob.length > MAX_GLOB_LENGTH) return `longer than ${MAX_GLOB_LENGTH} characters`;
  let count = 1;
  for (const group of glob.matchAll(/\{([^{}]*)\}/g)) {
    count *= (group[1] ?? '').split(',').length;
    if (count > MAX_ALTERNATIVES) return `expands into more than ${MAX_ALTERNATIVES} alternatives`;
  }
  return undefined;
}

function expandBraces(glob: string): string[] {
  const open = findUnescaped(glob, '{');
  if (open === -1) return [glob];
  const close = glob.indexOf('}', open);
  if (close === -1) return [glob];
  const head = glob.slice(0, open);
  const tails = expandBraces(glob.slice(close + 1));
  return glob
    .slice(open + 1, close)
    .split(',')
    .flatMap((option) => tails.map((tail) => `${head}${option}${tail}`));
}

function findUnescaped(text: string, char: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === char) return i;
  }
  return -1;
}

function tokenize(glob: string): Token[] {
  const chars = Array.from(glob);
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? '';
    if (c === '\\' && i + 1 < chars.length) {
      tokens.push({ t: 'char', c: chars[++i] ?? '' });
    } else if (c === '*') {
      if (tokens[tokens.length - 1]?.t !== 'star') tokens.push({ t: 'star' });
    } else if (c === '?') {
      tokens.push({ t: 'any' });
    } else if (c === '[') {
      const close = chars.indexOf(']', i + 2);
      if (close === -1) {
        tokens.push({ t: 'char', c });
        continue;
      }
      let body = chars.slice(i + 1, close);
      const negated = body[0] === '!';
      if (negated) body = body.slice(1);
      const items: (readonly [string, string])[] = [];
      for (let j = 0; j < body.length; j++) {
        const from = body[j] ?? '';
        if (body[j + 1] === '-' && j + 2 < body.length) {
          items.push([from, body[j + 2] ?? '']);
          j += 2;
        } else {
          items.push([from, from]);
        }
      }
      tokens.push({ t: 'class', negated, items });
      i = close;
    } else {
      tokens.push({ t: 'char', c });
    }
  }
  return tokens;
}

function matchOne(token: Token, c: string): boolean {
  switch (token.t) {
    case 'any':
      return true;
    case 'char':
      return token.c === c;
    case 'class':
      return token.items.some(([from, to]) => c >= from && c <= to) !== token.negated;
    case 'star':
      return false;
  }
}

/** Wildcard matching with single-star backtracking: linear in practice, O(n·m) at worst. */
function matchTokens(tokens: readonly Token[], chars: readonly string[]): boolean {
  let ti = 0;
  let si = 0;
  let starTi = -1;
  let starSi = 0;
  while (si < chars.length) {
    const token = tokens[ti];
    if (token !== undefined && token.t === 'star') {
      starTi = ti++;
      starSi = si;
    } else if (token !== undefined && matchOne(token, chars[si] ?? '')) {
      ti++;
      si++;
    } else if (starTi !== -1) {
      ti = starTi + 1;
      si = ++starSi;
    } else {
      return false;
    }
  }
  while (tokens[ti]?.t === 'star') ti++;
  return ti === tokens.length;
}
