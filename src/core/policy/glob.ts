/**
 * Compiles a glob to an anchored, case-sensitive RegExp. `*` matches any run of characters
 * (including `/` and `.`, so `k8s://*` covers a whole URI), `?` one character, `[abc]`, `[a-z]` and
 * `[!abc]` a class, `{a,b}` alternatives (not nested), `\x` a literal `x`. Everything else is literal.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  let inBraces = false;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '\\' && i + 1 < glob.length) {
      out += escapeChar(glob[++i] ?? '');
    } else if (c === '*') {
      out += '[\\s\\S]*';
    } else if (c === '?') {
      out += '[\\s\\S]';
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      out += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else if (c === '{' && !inBraces && glob.indexOf('}', i) !== -1) {
      inBraces = true;
      out += '(?:';
    } else if (c === '}' && inBraces) {
      inBraces = false;
      out += ')';
    } else if (c === ',' && inBraces) {
      out += '|';
    } else {
      out += escapeChar(c);
    }
  }
  return new RegExp(`^${out}$`);
}

function escapeChar(c: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(c) ? `\\${c}` : c;
}
