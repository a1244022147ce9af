/**
 * Identities ignore member order (docs/counter-tabular.md, section 5): the same item read from `jsonb`
 * (members reordered) and from item chunks (the provider's order) gives the same identity text.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { canonicalJson } from '../../../src/counter/tabular/canonical.ts';

void it('the same members in any order give the same text, in jsonb order (length, then code units)', () => {
  const provider = {
    Title: 'T',
    Item_ID: { Proprietary: 'P:1', DOI: '10.1/x' },
    Platform: 'P',
    Publisher_ID: [{ Type: 'ISNI', Value: '1' }],
  };
  const jsonb = {
    Title: 'T',
    Item_ID: { DOI: '10.1/x', Proprietary: 'P:1' },
    Platform: 'P',
    Publisher_ID: [{ Type: 'ISNI', Value: '1' }],
  };
  assert.equal(canonicalJson(provider), canonicalJson(jsonb));
  assert.equal(
    canonicalJson(provider),
    '{"Title":"T","Item_ID":{"DOI":"10.1/x","Proprietary":"P:1"},"Platform":"P","Publisher_ID":[{"Type":"ISNI","Value":"1"}]}',
  );
  // Arrays keep their order: two identifiers in another order are another description.
  assert.notEqual(canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] }));
  assert.equal(canonicalJson('x'), '"x"');
  assert.equal(canonicalJson(null), 'null');
});
