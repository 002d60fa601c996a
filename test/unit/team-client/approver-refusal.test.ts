// What a team card says when the service refuses a decision (src/extension/team/approver.ts
// describeTeamRefusal): plain words per refusal, the service's message where it adds something,
// and a 401 sends the person back to the sign-in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeTeamRefusal } from '../../../src/extension/team/approver';

describe('team card: refusals in plain words', () => {
  it('says what each refusal means for the person at the card', () => {
    const cases: Array<[{ status: number; code?: string; message: string }, RegExp, boolean]> = [
      [{ status: 401, message: 'not signed in: sign in at /ui' }, /^Your approver session ended: sign in again/, true],
      [{ status: 403, code: 'APPROVAL_SELF_DECISION', message: 'approval a1 was requested by bob…' }, /^You asked for this call yourself: .*another approver must decide it\.$/, false],
      [{ status: 409, code: 'APPROVAL_ALREADY_APPROVED', message: 'x' }, /^You already approved this call: it needs another approver too\.$/, false],
      [{ status: 409, code: 'APPROVAL_NOT_PENDING', message: 'approval a1 is approved' }, /^Someone else decided it first, or it expired: approval a1 is approved$/, false],
      [{ status: 409, code: 'APPROVAL_DIGEST_MISMATCH', message: 'digest' }, /^The call changed since this card was shown/, false],
      [{ status: 404, code: 'APPROVAL_NOT_FOUND', message: 'no approval a1' }, /no longer has this approval/, false],
      [{ status: 409, message: 'already decided' }, /^Already decided: already decided$/, false],
      [{ status: 403, code: 'APPROVAL_BAD_DECIDER', message: 'carol holds no approver role' }, /^The team control plane refused your decision: carol holds no approver role$/, false],
      [{ status: 0, message: 'connect ECONNREFUSED 127.0.0.1:9' }, /^The team control plane cannot be reached: connect ECONNREFUSED/, false],
      [{ status: 503, message: 'the shared approval state is unavailable' }, /^The team control plane did not record it \(503\): the shared approval state/, false],
    ];
    for (const [refusal, text, signedOut] of cases) {
      const said = describeTeamRefusal(refusal);
      assert.match(said.text, text, JSON.stringify(refusal));
      assert.equal(said.signedOut, signedOut, JSON.stringify(refusal));
    }
  });

  it('keeps a long or multi-line service message to one short line', () => {
    const said = describeTeamRefusal({ status: 409, message: `line one\nline two ${'x'.repeat(1000)}` });
    assert.ok(!said.text.includes('\n'));
    assert.ok(said.text.length < 340, String(said.text.length));
  });
});
