import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ECHO_MASK, EchoFilter } from '../../../src/core/redact/echo';

const SECRET = 'Sup3r-S3cret/Passw0rd+1234 é';

describe('EchoFilter', () => {
  const filter = new EchoFilter([SECRET, 'abc']);
  const masked = (text: string): boolean => filter.filterString(text).masked > 0;

  it('masks the raw value and keeps the rest', () => {
    assert.deepEqual(filter.filterString(`before ${SECRET} after`), { text: `before ${ECHO_MASK} after`, masked: 1 });
  });

  it('masks base64 and base64url at any alignment inside longer encoded text', () => {
    for (const prefix of ['', 'a', 'ab', 'abc', 'user:', 'Authorization: Basic ']) {
      for (const suffix of ['', 'x', '\n{"more":1}']) {
        const bytes = Buffer.from(`${prefix}${SECRET}${suffix}`);
        assert.ok(masked(bytes.toString('base64')), `base64 with ${JSON.stringify(prefix)}…${JSON.stringify(suffix)}`);
        assert.ok(masked(bytes.toString('base64url')), `base64url with ${JSON.stringify(prefix)}…${JSON.stringify(suffix)}`);
      }
    }
  });

  it('masks URL-encoded (either hex case, + for spaces) and JSON-escaped forms', () => {
    const uri = encodeURIComponent(SECRET);
    assert.ok(masked(`https://x/?q=${uri}`));
    assert.ok(masked(uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())));
    assert.ok(masked(uri.replace(/%20/g, '+')));
    assert.ok(masked(JSON.stringify({ s: `${SECRET}"` })));
    const quoted = new EchoFilter(['pa"ss\\word']);
    assert.equal(quoted.filterString(JSON.stringify('x pa"ss\\word y')).masked, 1);
  });

  it('ignores values too short to mask without wrecking output, and walks JSON values', () => {
    assert.equal(filter.filterString('abc abc').masked, 0);
    const value = { list: [SECRET, { [SECRET]: 1 }], n: 3, ok: true };
    const out = filter.filter(value);
    assert.equal(out.masked, 2);
    assert.deepEqual(out.value, { list: [ECHO_MASK, { [ECHO_MASK]: 1 }], n: 3, ok: true });
    assert.equal(filter.filter({ clean: 'text' }).value.clean, 'text');
    assert.equal(new EchoFilter([]).empty, true);
  });
});
