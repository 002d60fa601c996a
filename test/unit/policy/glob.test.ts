import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGlob, globProblem } from '../../../src/core/policy';

describe('compileGlob', () => {
  const cases: readonly [glob: string, value: string, match: boolean][] = [
    ['pods_list', 'pods_list', true],
    ['pods_list', 'pods_listx', false],
    ['*_delete', 'pod_delete', true],
    ['*_delete', 'pod_delete_all', false],
    ['prod-*', 'prod-', true],
    ['prod-*', 'preprod-1', false],
    ['*', '', true],
    ['k8s://*/secrets/*', 'k8s://ctx/namespaces/a/secrets/b', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['r[0-9]', 'r7', true],
    ['r[0-9]', 'rx', false],
    ['r[!0-9]', 'rx', true],
    ['r[!0-9]', 'r1', false],
    ['[abc]*', 'cat', true],
    ['core-{a,b}', 'core-b', true],
    ['core-{a,b}', 'core-c', false],
    ['{dev,test}-{eu,us}', 'test-us', true],
    ['\\*literal', '*literal', true],
    ['\\*literal', 'xliteral', false],
    ['a.b', 'axb', false],
    ['(x)+', '(x)+', true],
    ['Prod-*', 'prod-1', false],
    ['é*', 'émoji 😀', true],
    ['?', '😀', true],
    ['*a*b*c', 'xxaxxbxxc', true],
    ['*a*b*c', 'xxaxxcxxb', false],
    ['[unclosed', '[unclosed', true],
  ];
  for (const [glob, value, match] of cases) {
    it(`${glob} ${match ? 'matches' : 'does not match'} ${JSON.stringify(value)}`, () => assert.equal(compileGlob(glob)(value), match));
  }

  it('takes linear time on hostile input (no backtracking blow-up)', () => {
    const match = compileGlob('*a*a*a*a*a*a*a*a*a*a*b');
    const value = 'a'.repeat(20_000);
    const started = performance.now();
    assert.equal(match(value), false);
    const ms = performance.now() - started;
    assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  });

  it('refuses globs that expand too far or are too long', () => {
    assert.match(globProblem('{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b}') ?? '', /more than 256/);
    assert.match(globProblem('x'.repeat(2000)) ?? '', /longer than/);
    assert.equal(globProblem('{a,b}-*'), undefined);
    assert.throws(() => compileGlob('x'.repeat(2000)), { code: 'POLICY_INVALID' });
  });
});
