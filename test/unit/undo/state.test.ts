// Drift and the three-way difference: server-set fields never count as drift; an absent object is
// said once; text states compare line by line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drifted, stateOf, stateOfResult, threeWay } from '../../../src/core/undo/state';

const deployment = (replicas: number, rv: string, extra: Record<string, unknown> = {}): unknown => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', uid: `uid-${rv}`, resourceVersion: rv, generation: Number(rv), creationTimestamp: rv, managedFields: [{ manager: rv }], labels: { app: 'web' }, ...extra },
  spec: { replicas },
  status: { readyReplicas: Number(rv) },
});

describe('undo state comparison', () => {
  it('ignores what the API server sets (uid, resourceVersion, status, managedFields, generation, creationTimestamp)', () => {
    assert.equal(drifted(stateOf(deployment(3, '1')), stateOf(JSON.stringify(deployment(3, '9')))), false);
    assert.equal(drifted(stateOf(deployment(3, '1')), stateOf(deployment(4, '1'))), true);
    assert.equal(drifted(stateOf(deployment(3, '1')), stateOf(deployment(3, '1', { annotations: { note: 'x' } }))), true, 'annotations count');
  });

  it('shows the fields that differ, before | after | now, and an absent object once', () => {
    assert.deepEqual(threeWay(stateOf(deployment(3, '1')), stateOf(deployment(1, '2')), stateOf(deployment(2, '3'))), ['  field: before | after | now', '  spec.replicas: 3 | 1 | 2']);
    const absent = threeWay(stateOf(deployment(3, '1')), { kind: 'absent', text: 'deleted' }, stateOf(deployment(5, '3')));
    assert.deepEqual(absent, ['  field: before | after | now', '  (object): present | absent | present', '  spec.replicas: 3 | - | 5']);
  });

  it('a failed read is absent; text compares line by line', () => {
    const gone = stateOfResult({ content: [{ type: 'text', text: 'NotFound' }], isError: true });
    assert.equal(gone.kind, 'absent');
    assert.equal(drifted({ kind: 'absent', text: 'deleted' }, gone), false, 'still absent is no drift');
    const lines = threeWay(stateOf('set a 1\nset b 2'), stateOf('set a 1\nset b 3'), stateOf('set a 1\nset b 4'));
    assert.deepEqual(lines.slice(1), ['  [x--] set b 2', '  [-x-] set b 3', '  [--x] set b 4']);
  });
});
