import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capGroupOf, identityOf } from '../../src/admission/rate-limit.js';
import { ConnectionTable } from '../../src/services/conn-table.js';

test('caps count per IPv4 address and per IPv6 /48; the rate identity stays the /64', () => {
  assert.equal(capGroupOf('192.0.2.7'), 'v4:192.0.2.7');
  assert.equal(capGroupOf('::ffff:192.0.2.7'), 'v4:192.0.2.7');
  assert.equal(capGroupOf('2001:db8:1:2::1'), capGroupOf('2001:db8:1:ffff:abcd::9'));
  assert.equal(capGroupOf('2001:db8:1:2::1'), 'v6:2001:db8:1::/48');
  assert.notEqual(capGroupOf('2001:db8:1::1'), capGroupOf('2001:db8:2::1'));
  assert.notEqual(identityOf('2001:db8:1:2::1'), identityOf('2001:db8:1:3::1'));
});

test('the table finds the group holding the most, first to reach that count on a tie, oldest first', () => {
  const t = new ConnectionTable<string>();
  assert.equal(t.heaviest(), undefined);
  t.add('a', 'a1');
  t.add('b', 'b1');
  t.add('b', 'b2');
  t.add('a', 'a2');
  assert.equal(t.size, 4);
  assert.equal(t.heaviest()?.group, 'b');
  assert.deepEqual([...t.heaviest()!.items], ['b1', 'b2']);
  t.add('a', 'a3');
  assert.equal(t.heaviest()?.group, 'a');
  assert.equal(t.delete('a', 'a1'), true);
  assert.equal(t.delete('a', 'a1'), false);
  assert.equal(t.countOf('a'), 2);
  assert.equal(t.heaviest()?.group, 'b');
  for (const x of ['a2', 'a3']) t.delete('a', x);
  for (const x of ['b1', 'b2']) t.delete('b', x);
  assert.equal(t.size, 0);
  assert.equal(t.heaviest(), undefined);
});
