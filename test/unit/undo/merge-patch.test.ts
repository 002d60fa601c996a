// The way back of a Kubernetes patch: the JSON merge patch (RFC 7386) that turns the object as the
// call left it into the object before, so applying it to the "after" object gives "before" again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergePatch } from '../../../src/servers/kubernetes/undo';
import type { JsonObject } from '../../../src/servers/kubernetes/objects';

/** RFC 7386 apply, as the API server does for type merge. */
function apply(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v)) out[k] = apply(typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k]) ? (out[k] as JsonObject) : {}, v);
    else out[k] = v;
  }
  return out;
}

describe('mergePatch (undo of resource_patch and rollout_undo)', () => {
  const before: JsonObject = {
    metadata: { name: 'web', labels: { app: 'web', tier: 'front' } },
    spec: { replicas: 3, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } } },
    data: { keep: '1', changed: 'old' },
  };
  const after: JsonObject = {
    metadata: { name: 'web', labels: { app: 'web', added: 'yes' } },
    spec: { replicas: 5, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.28' }, { name: 'sidecar', image: 'x' }] } } },
    data: { keep: '1', changed: 'new', extra: 'x' },
  };

  it('sets changed keys back, removes added ones (null), restores removed ones, and replaces lists whole', () => {
    const back = mergePatch(after, before);
    assert.deepEqual(back, {
      metadata: { labels: { added: null, tier: 'front' } },
      spec: { replicas: 3, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } } },
      data: { changed: 'old', extra: null },
    });
    assert.deepEqual(apply(after, back), before);
  });

  it('is empty when nothing differs', () => {
    assert.deepEqual(mergePatch(before, structuredClone(before)), {});
  });
});
