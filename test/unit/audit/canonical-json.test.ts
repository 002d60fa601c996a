import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, sha256Hex } from '../../../src/core/canonical-json';

describe('canonicalJson', () => {
  const cases: readonly [name: string, value: unknown, expected: string][] = [
    ['sorts keys at every depth', { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }, '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}'],
    ['sorts by UTF-16 code units', { é: 1, z: 2, Z: 3, '10': 4, '9': 5 }, '{"10":4,"9":5,"Z":3,"z":2,"é":1}'],
    ['omits undefined members', { a: undefined, b: 1 }, '{"b":1}'],
    ['numbers in shortest form', [1.0, 0.1, 1e21, -0, 5e-7], '[1,0.1,1e+21,0,5e-7]'],
    ['escapes strings like JSON.stringify', ['"\\\n\u0001', 'é', '\ud83d\ude00'], '["\\"\\\\\\n\\u0001","é","😀"]'],
    ['null-prototype objects', Object.assign(Object.create(null) as object, { b: 2, a: 1 }), '{"a":1,"b":2}'],
  ];
  for (const [name, value, expected] of cases) it(name, () => assert.equal(canonicalJson(value), expected));

  it('gives the same text for the same value whatever the key order', () => {
    assert.equal(canonicalJson({ x: 1, y: [1, 2], z: { b: 1, a: 2 } }), canonicalJson({ z: { a: 2, b: 1 }, y: [1, 2], x: 1 }));
  });

  const invalid: readonly [name: string, value: unknown][] = [
    ['NaN', { a: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['bigint', { a: 1n }],
    ['function', { a: () => 1 }],
    ['undefined in an array', [undefined]],
    ['top-level undefined', undefined],
    ['Date', { d: new Date(0) }],
    ['Map', new Map()],
  ];
  for (const [name, value] of invalid) {
    it(`refuses ${name}`, () => assert.throws(() => canonicalJson(value), { code: 'CANONICAL_JSON_INVALID' }));
  }

  it('refuses cycles and hostile nesting without overflowing the stack', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), { code: 'CANONICAL_JSON_INVALID' });
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = [deep];
    assert.throws(() => canonicalJson(deep), { code: 'CANONICAL_JSON_INVALID' });
  });

  it('hashes with SHA-256', () => {
    assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
