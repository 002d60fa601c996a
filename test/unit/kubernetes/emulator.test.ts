// The API emulator's own semantics that kubectl does not reach: server-side apply field sets and
// conflicts, strategic merge, selectors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonPatch, strategicMergePatch } from '../../fixtures/k8s-emulator/patch';
import { parseLabelSelector } from '../../fixtures/k8s-emulator/selectors';
import { fieldSet, recordUpdate, serverSideApply, toFieldsV1 } from '../../fixtures/k8s-emulator/ssa';

const deploy = (replicas: number, image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'nginx', image, ports: [{ containerPort: 80 }] }] } } },
});

describe('emulator server-side apply', () => {
  it('owns fields as FieldsV1 with keyed list items and atomic selectors', () => {
    const tree = toFieldsV1(fieldSet(deploy(3, 'nginx:1'), { skipStatus: true }));
    assert.deepEqual(tree, {
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } } },
      },
    });
  });

  it('conflicts with another manager on changed values, shares equal ones, and removes fields an applier drops', () => {
    const live: Record<string, any> = deploy(3, 'nginx:1');
    recordUpdate({ before: undefined, after: live, manager: 'kubectl-client-side-apply', apiVersion: 'apps/v1', skipStatus: true });
    assert.throws(() => serverSideApply({ live, applied: deploy(4, 'nginx:1'), manager: 'me', force: false, apiVersion: 'apps/v1', skipStatus: true }), (err: Error & { code?: number }) => {
      assert.equal(err.code, 409);
      assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
      return true;
    });
    const shared = serverSideApply({ live, applied: deploy(3, 'nginx:1'), manager: 'me', force: false, apiVersion: 'apps/v1', skipStatus: true });
    assert.deepEqual(shared.metadata.managedFields.map((m: { manager: string }) => m.manager), ['me', 'kubectl-client-side-apply']);
    const forced = serverSideApply({ live: shared, applied: deploy(5, 'nginx:2'), manager: 'me', force: true, apiVersion: 'apps/v1', skipStatus: true });
    assert.equal(forced.spec.replicas, 5);
    const theirs = forced.metadata.managedFields.find((m: { manager: string }) => m.manager === 'kubectl-client-side-apply');
    assert.equal(theirs.fieldsV1['f:spec']['f:replicas'], undefined);
    const labelled: Record<string, any> = { ...deploy(5, 'nginx:2'), metadata: { name: 'web', namespace: 'shop', labels: { tier: 'front' } } };
    const withLabel = serverSideApply({ live: forced, applied: labelled, manager: 'me', force: false, apiVersion: 'apps/v1', skipStatus: true });
    assert.deepEqual(withLabel.metadata.labels, { tier: 'front' });
    const dropped = serverSideApply({ live: withLabel, applied: deploy(5, 'nginx:2'), manager: 'me', force: false, apiVersion: 'apps/v1', skipStatus: true });
    assert.equal(dropped.metadata.labels?.tier, undefined);
  });
});

describe('emulator patches and selectors', () => {
  it('merges containers by name, honours $patch: delete, and applies JSON patches', () => {
    const base = { spec: { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '2' }] } };
    assert.deepEqual(strategicMergePatch(base, { spec: { containers: [{ name: 'b', image: '3' }] } }), { spec: { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '3' }] } });
    assert.deepEqual(strategicMergePatch(base, { spec: { containers: [{ name: 'a', $patch: 'delete' }] } }), { spec: { containers: [{ name: 'b', image: '2' }] } });
    assert.deepEqual(jsonPatch({ a: [1] }, [{ op: 'add', path: '/a/-', value: 2 }, { op: 'replace', path: '/a/0', value: 0 }]), { a: [0, 2] });
    assert.throws(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), /test failed/);
  });

  it('parses label selectors as labels.Parse does', () => {
    const s = parseLabelSelector('app=web,tier in (front,edge),!canary,env!=prod');
    assert.equal(s({ app: 'web', tier: 'edge', env: 'dev' }), true);
    assert.equal(s({ app: 'web', tier: 'back' }), false);
    assert.equal(s({ app: 'web', tier: 'front', canary: 'yes' }), false);
    assert.throws(() => parseLabelSelector('a b c'), /unable to parse requirement/);
  });
});
