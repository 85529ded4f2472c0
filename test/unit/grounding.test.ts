import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseAnswer, parseRegions } from '../../src/grounding';

describe('parseRegions', () => {
  it('reads tagged phrases with one and several boxes, normalised to 0..1', () => {
    const text =
      'Here are the regions:\n<ref>Save button</ref><box>[[100,200,300,400]]</box>\n<ref>icons</ref><box>[[500,100,650,250],[700,600,900,950]]</box>';
    assert.deepEqual(parseRegions(text), [
      { kind: 'box', label: 'Save button', box: [0.1, 0.2, 0.3, 0.4] },
      { kind: 'box', label: 'icons', box: [0.5, 0.1, 0.65, 0.25] },
      { kind: 'box', label: 'icons', box: [0.7, 0.6, 0.9, 0.95] },
    ]);
  });

  it('reads bare box lists left by servers that strip special tokens', () => {
    assert.deepEqual(parseRegions('The button is at [[10, 20, 30, 40]].'), [{ kind: 'box', label: null, box: [0.01, 0.02, 0.03, 0.04] }]);
  });

  it('waits for a box to be complete while streaming', () => {
    const full = '<ref>Save</ref><box>[[100,200,300,400]]</box>';
    for (let i = 0; i < full.length - '</box>'.length - 1; i++) {
      const partial = full.slice(0, i);
      const regions = parseRegions(partial);
      assert.ok(regions.length === 0, `no region from ${JSON.stringify(partial)}`);
    }
    assert.equal(parseRegions(full).length, 1);
  });

  it('repairs swapped corners and drops boxes that cannot be right', () => {
    const logged: string[] = [];
    const regions = parseRegions('[[300,400,100,200]] [[1,2,3]] [[0,0,2000,10]] [[5,5,5,9]]', (m) => logged.push(m));
    assert.deepEqual(regions, [{ kind: 'box', label: null, box: [0.1, 0.2, 0.3, 0.4] }]);
    assert.equal(logged.length, 3);
  });

  it('never throws on junk', () => {
    for (const junk of ['', '<ref>', '</box>[[', '[[[[]]]]', '<ref>a</ref><box>[[x,y,z,w]]</box>', '\u0000'.repeat(10)]) {
      assert.doesNotThrow(() => parseAnswer(junk));
    }
  });

  it('splits the answer into text, phrases and box markers for display', () => {
    const { segments } = parseAnswer('See <ref>Save</ref><box>[[1,2,3,4]]</box> now');
    assert.deepEqual(
      segments.map((s) => s.kind),
      ['text', 'ref', 'text'],
    );
    assert.deepEqual(segments[1], { kind: 'ref', text: 'Save', regions: [0] });
  });
});
