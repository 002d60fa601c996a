import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalSummary, displayArgs, fold, formatDisplayArgs, hasHidden, secretPaths, visible } from '../../../src/core/display';
import { Redactor } from '../../../src/core/redact';

describe('visible: untrusted text made visible, never interpreted', () => {
  const cases: readonly [name: string, input: string, expected: string][] = [
    ['ESC sequences (clear screen, cursor home)', 'a\u001b[2J\u001b[Hb', 'a\\x1b[2J\\x1b[Hb'],
    ['other C0 controls, BEL, NUL, backspace', 'x\u0007\u0000\u0008y', 'x\\x07\\x00\\x08y'],
    ['CR, tab and newline (single line)', 'a\rb\tc\nd', 'a\\rb\\tc\\nd'],
    ['DEL and C1 (8-bit CSI, NEL)', 'a\u007f\u009b2J\u0085', 'a\\x7f\\x9b2J\\x85'],
    ['bidi overrides and embeddings', '\u202Aa\u202Bb\u202Cc\u202Dd\u202Ee', '<U+202A>a<U+202B>b<U+202C>c<U+202D>d<U+202E>e'],
    ['bidi isolates', '\u2066a\u2067b\u2068c\u2069', '<U+2066>a<U+2067>b<U+2068>c<U+2069>'],
    ['zero-width characters', 'a\u200Bb\u200Cc\u200Dd\u200Ee\u200Ff\u2060g\uFEFFh', 'a<U+200B>b<U+200C>c<U+200D>d<U+200E>e<U+200F>f<U+2060>g<U+FEFF>h'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a<U+2028>b<U+2029>c'],
    ['ALM, soft hyphen, Hangul filler, variation selector, tag', 'a\u061Cb\u00ADc\u3164d\uFE0Fe\u{E0041}', 'a<U+061C>b<U+00AD>c<U+3164>d<U+FE0F>e<U+E0041>'],
    ['non-ASCII spaces', 'a\u00A0b\u2003c\u3000d', 'a<U+00A0>b<U+2003>c<U+3000>d'],
    ['lone surrogate', 'a\uD800b', 'a<U+D800>b'],
    ['padding runs of spaces', `amend${' '.repeat(200)}x`, 'amend<200 spaces>x'],
    ['a backslash cannot fake an escape', 'a\\x1b', 'a\\\\x1b'],
    ['combining-mark floods beyond 4', 'e\u0301\u0301\u0301\u0301\u0301\u0301', 'e\u0301\u0301\u0301\u0301<U+0301><U+0301>'],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.equal(visible(input), expected));

  it('leaves ordinary text, accents and other scripts alone', () => {
    for (const text of ['git commit -m "fix: typo"', 'Grüße, naïve café', '日本語のテキスト', 'e\u0301 (one accent)', 'emoji 🎉 ok', 'four  spaces    ok']) {
      assert.equal(visible(text), text);
      assert.equal(hasHidden(text), false, text);
    }
  });

  it('keeps line breaks in multiline mode only', () => {
    assert.equal(visible('a\nb\r\n', { multiline: true }), 'a\nb\\r\n');
    assert.equal(visible(`        indented code\n${' '.repeat(300)}x`, { multiline: true }), '        indented code\n<300 spaces>x');
    assert.equal(hasHidden('a\nb'), false);
    assert.equal(hasHidden('a\u202Eb'), true);
  });

  it('folds long lines with a continuation marker', () => {
    assert.deepEqual(fold('abcdefghij', 4), ['abcd', '↪ ef', '↪ gh', '↪ ij']);
    assert.deepEqual(fold('abc', 4), ['abc']);
  });
});

describe('displayArgs: the order a human reads, nothing decisive below free text', () => {
  it('puts decisive flags first, then other scalars, short strings, and long text last', () => {
    const rows = displayArgs({ message: 'x'.repeat(500), path: 'a.txt', count: 2, amend: true, nested: { force: true, note: 'n' } });
    assert.deepEqual(rows.map((r) => r.path), ['amend', 'nested.force', 'count', 'path', 'nested.note', 'message']);
    assert.deepEqual(rows.map((r) => r.group), ['flag', 'flag', 'flag', 'short', 'short', 'text']);
    assert.ok(rows[5]!.lines.length > 1 && rows[5]!.lines.slice(1).every((l) => l.startsWith('↪ ')));
  });

  it('shows each line of a multi-line value separately, quotes escaped, marked inside the value', () => {
    const lines = formatDisplayArgs({ message: 'fix\nx: "y"\n  amend: false', amend: true }, { indent: '  ' });
    assert.deepEqual(lines, ['  amend: true', '  message: "fix', '    │ x: \\"y\\"', '    │   amend: false"']);
  });

  it('marks values that look like secrets, showing them', () => {
    const redactor = new Redactor();
    const args = { name: 'AKIAIOSFODNN7EXAMPLE', branch: 'feature', auth: { password: 'hunter' }, note: 'the password: owned by ops' };
    const paths = secretPaths(args, redactor);
    assert.deepEqual(paths, ['name', 'auth.password']);
    const lines = formatDisplayArgs(args, { secretPaths: paths });
    assert.ok(lines.includes('name: "AKIAIOSFODNN7EXAMPLE"   ⚠ looks like a secret'), lines.join('\n'));
    assert.ok(lines.includes('auth.password: "hunter"   ⚠ looks like a secret'));
    assert.ok(lines.includes('branch: "feature"'));
    assert.ok(lines.includes('note: "the password: owned by ops"'));
  });

  it('says when there are no arguments', () => {
    assert.deepEqual(formatDisplayArgs({}), ['(no arguments)']);
  });
});

describe('approvalSummary: the one-line notification', () => {
  it('shows every argument, flags first, everything visible, and is complete when it fits', () => {
    const s = approvalSummary({ tool: 'commit', server: 'git', reason: 'Commits need a human.', client: { name: 'copilot\u001b[2J' }, args: { message: 'fix \u202Etypo', amend: true } });
    assert.equal(s.complete, true);
    assert.equal(s.text, 'Approval needed: commit on git, asked by copilot\\x1b[2J. Commits need a human. Arguments: amend: true; message: "fix <U+202E>typo"');
  });

  it('is incomplete (no approving from it) when an argument has several lines or the whole does not fit', () => {
    const multi = approvalSummary({ tool: 'commit', server: 'git', reason: 'r', args: { message: 'a\nb', amend: true } });
    assert.equal(multi.complete, false);
    assert.match(multi.text, /Arguments: amend: true; message: "a ⏎ b" \(a value has several lines: open Review/);
    const long = approvalSummary({ tool: 'commit', server: 'git', reason: 'r', args: { amend: true, message: 'x'.repeat(1000) } });
    assert.equal(long.complete, false);
    assert.ok(long.text.length < 500);
    assert.match(long.text, /amend: true/);
  });

  it('marks secret-looking values', () => {
    const s = approvalSummary({ tool: 'branch_delete', server: 'git', reason: 'r', args: { name: 'AKIAIOSFODNN7EXAMPLE' }, secretPaths: ['name'] });
    assert.match(s.text, /name: "AKIAIOSFODNN7EXAMPLE" \(⚠ looks like a secret\)/);
  });
});
