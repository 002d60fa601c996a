import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byteLength, capList, capText, cutToBytes, describeBudget, formatTable, pageLines } from '../../../src/servers/kit';

describe('pageLines', () => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1} ${'x'.repeat(20)}`);

  it('returns everything, without a note, when it fits', () => {
    const page = pageLines(lines.slice(0, 3), { budgetBytes: 1000, more: () => 'more' });
    assert.equal(page.text, lines.slice(0, 3).join('\n'));
    assert.equal(page.nextOffset, undefined);
  });

  it('cuts at whole lines within the budget and says how to continue', () => {
    const page = pageLines(lines, { budgetBytes: 300, more: (n) => `Call again with offset=${n}.` });
    assert.ok(page.nextOffset !== undefined && page.nextOffset > 0 && page.nextOffset < 100);
    const shown = page.text.split('\n');
    assert.equal(shown.length, page.nextOffset + 1, 'shown lines plus one note line');
    assert.match(shown.at(-1) ?? '', new RegExp(`^\\[truncated: showing lines 1-${page.nextOffset} of 100 .*; ${100 - page.nextOffset} lines not shown\\. Call again with offset=${page.nextOffset}\\.\\]$`));
    assert.ok(byteLength(shown.slice(0, -1).join('\n')) <= 300);
  });

  it('pages from an offset to the end', () => {
    const page = pageLines(lines, { offset: 95, budgetBytes: 10_000, more: () => '' });
    assert.equal(page.text.split('\n')[0], lines[95]);
    assert.equal(page.nextOffset, undefined);
  });

  it('says so when the offset is past the end', () => {
    assert.match(pageLines(lines, { offset: 500, budgetBytes: 1000, more: () => '' }).text, /past the end: the output has 100 lines/);
  });

  it('cuts a single line longer than the budget instead of looping', () => {
    const page = pageLines(['y'.repeat(5000), 'z'], { budgetBytes: 100, more: (n) => `offset=${n}` });
    assert.equal(page.nextOffset, 1);
    assert.ok((page.text.split('\n')[0] ?? '').length < 100);
  });
});

describe('capText and cutToBytes', () => {
  it('leaves short text alone', () => assert.equal(capText('abc', 10, 'more'), 'abc'));

  it('keeps whole lines and counts what it dropped', () => {
    const text = Array.from({ length: 50 }, (_, i) => `row ${i}`).join('\n');
    const capped = capText(text, 100, 'Narrow it.');
    assert.match(capped, /\[truncated: showing \d+ of \d+ bytes; \d+ bytes not shown\. Narrow it\.\]$/);
    assert.ok(!capped.split('\n').slice(0, -1).some((l) => !/^row \d+$/.test(l)), 'no partial line');
  });

  it('never splits a multi-byte character', () => {
    assert.equal(cutToBytes('ééé', 3), 'é');
    assert.equal(cutToBytes('ééé', 4), 'éé');
  });
});

describe('formatTable and capList', () => {
  it('aligns columns and leaves the last one unpadded', () => {
    const table = formatTable([{ header: 'NAME' }, { header: 'N', align: 'right' }, { header: 'NOTE' }], [
      ['a', '1', 'first'],
      ['longer', '10', 'second\nline'],
    ]);
    assert.equal(table, ['NAME     N  NOTE', 'a        1  first', 'longer  10  second line'].join('\n'));
  });

  it('clips long cells with an ellipsis', () => {
    assert.equal(formatTable([{ header: 'X', maxWidth: 5 }], [['abcdefgh']]).split('\n')[1], 'abcd…');
  });

  it('caps lists with a count', () => {
    assert.deepEqual(capList([1, 2, 3, 4], 2), { items: [1, 2], omitted: 2 });
    assert.deepEqual(capList([1], 2), { items: [1], omitted: 0 });
  });

  it('states budgets in bytes and tokens', () => assert.equal(describeBudget(16_000), '16 KB (~4k tokens)'));
});
