import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value_Type } from '@ippc/proto';
import {
  addRanges,
  addResources,
  allocateResources,
  coalesceRanges,
  containsResources,
  formatRanges,
  formatResources,
  parseRanges,
  parseResources,
  rangesContain,
  rangesOf,
  rangesResource,
  rangesSize,
  resourcesJson,
  scalarOf,
  scalarResource,
  subtractRanges,
  subtractResources,
  takeFromRanges,
  validateResource,
} from '../index.js';

describe('ranges', () => {
  it('writes Mesos text form and reads it back', () => {
    const ranges = [
      { begin: 31000, end: 31005 },
      { begin: 31010, end: 31010 },
    ];
    assert.equal(formatRanges(ranges), '[31000-31005, 31010-31010]');
    assert.deepEqual(parseRanges('[31000-31005, 31010-31010]'), ranges);
    assert.deepEqual(parseRanges('[31000-31005,31010]'), ranges);
    assert.equal(formatRanges([]), '[]');
    assert.deepEqual(parseRanges('[]'), []);
  });

  it('refuses malformed text with what is wrong', () => {
    assert.throws(() => parseRanges('31000-31005'), /\[begin-end/);
    assert.throws(() => parseRanges('[31005-31000]'), /begin > end/);
    assert.throws(() => parseRanges('[a-b]'), /Bad range 'a-b'/);
  });

  it('coalesces overlapping and adjacent ranges', () => {
    assert.deepEqual(
      coalesceRanges([
        { begin: 5, end: 6 },
        { begin: 1, end: 2 },
        { begin: 3, end: 4 },
        { begin: 10, end: 12 },
        { begin: 11, end: 11 },
      ]),
      [
        { begin: 1, end: 6 },
        { begin: 10, end: 12 },
      ],
    );
  });

  it('adds, subtracts, contains, sizes and takes', () => {
    const all = [{ begin: 31000, end: 31049 }];
    const used = [
      { begin: 31000, end: 31000 },
      { begin: 31010, end: 31019 },
    ];
    const left = subtractRanges(all, used);
    assert.equal(formatRanges(left), '[31001-31009, 31020-31049]');
    assert.equal(rangesSize(left), 39);
    assert.equal(formatRanges(addRanges(left, used)), '[31000-31049]');
    assert.ok(rangesContain(all, used));
    assert.ok(!rangesContain(left, used));
    assert.ok(!rangesContain(all, [{ begin: 31049, end: 31050 }]));
    assert.deepEqual(takeFromRanges(left, 3), [31001, 31002, 31003]);
    assert.deepEqual(takeFromRanges([{ begin: 1, end: 1 }], 3), [1]);
  });
});

describe('resources', () => {
  it('parses the --resources text of Mesos', () => {
    const r = parseResources('cpus:2;mem:1024;ports:[31000-31099]');
    assert.equal(scalarOf(r, 'cpus'), 2);
    assert.equal(scalarOf(r, 'mem'), 1024);
    assert.equal(formatRanges(rangesOf(r, 'ports')), '[31000-31099]');
    assert.equal(formatResources(r), 'cpus:2; mem:1024; ports:[31000-31099]');
    const set = parseResources('disks:{a,b}; cpus(web):0.5');
    assert.equal(formatResources(set), 'disks:{a, b}; cpus:0.5');
    assert.equal(set[1]?.role, 'web');
  });

  it('parses the JSON form too', () => {
    const r = parseResources(
      '[{"name":"cpus","type":"SCALAR","scalar":{"value":1.5}},{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":3}]}}]',
    );
    assert.equal(formatResources(r), 'cpus:1.5; ports:[1-3]');
  });

  it('refuses bad resource text with a clear message', () => {
    assert.throws(() => parseResources('cpus'), /Bad resource 'cpus'/);
    assert.throws(() => parseResources('cpus:lots'), /Bad scalar 'lots'/);
    assert.throws(() => parseResources('cpus:-1'), /value < 0/);
    assert.throws(() => parseResources('ports:[9-1]'), /begin > end/);
  });

  it('does Mesos arithmetic with three decimal digits', () => {
    const agent = parseResources('cpus:2;mem:1024;ports:[31000-31049]');
    const task = parseResources('cpus:0.1;mem:32;ports:[31000-31000]');
    const left = subtractResources(agent, task);
    assert.equal(formatResources(left), 'cpus:1.9; mem:992; ports:[31001-31049]');
    assert.equal(formatResources(addResources(left, task)), 'cpus:2; mem:1024; ports:[31000-31049]');
    // 0.1 + 0.2 is 0.3 in fixed point, not 0.30000000000000004.
    assert.equal(scalarOf(addResources([scalarResource('cpus', 0.1)], [scalarResource('cpus', 0.2)]), 'cpus'), 0.3);
    // Subtracting everything leaves nothing (empty resources are dropped).
    assert.deepEqual(subtractResources(task, task), []);
  });

  it('checks containment per resource, ranges included', () => {
    const offer = parseResources('cpus:1;mem:128;ports:[31000-31004]');
    assert.ok(containsResources(offer, parseResources('cpus:1;mem:128;ports:[31001-31002]')));
    assert.ok(!containsResources(offer, parseResources('cpus:1.001')));
    assert.ok(!containsResources(offer, parseResources('ports:[31004-31005]')));
    assert.ok(!containsResources(offer, parseResources('gpus:1')));
    // Allocation role is part of the identity, as in Mesos.
    assert.ok(!containsResources(offer, allocateResources(parseResources('cpus:1'), '*')));
    assert.ok(containsResources(allocateResources(offer, '*'), allocateResources(parseResources('cpus:1'), '*')));
  });

  it('stringifies with allocation like Mesos messages do', () => {
    const r = allocateResources(parseResources('cpus:0.1;mem:32;ports:[31000-31000]'), '*');
    assert.equal(formatResources(r), 'cpus(allocated: *):0.1; mem(allocated: *):32; ports(allocated: *):[31000-31000]');
    assert.equal(formatResources([]), '{}');
  });

  it('validates one resource with Mesos messages', () => {
    assert.equal(validateResource({ name: '', type: Value_Type.SCALAR, scalar: { value: 1 }, reservations: [] }), 'Empty resource name');
    assert.equal(validateResource({ name: 'cpus', type: Value_Type.SCALAR, reservations: [] }), 'Invalid scalar resource');
    assert.equal(validateResource({ name: 'cpus', type: Value_Type.SCALAR, scalar: { value: -1 }, reservations: [] }), 'Invalid scalar resource: value < 0');
    assert.equal(validateResource({ name: 'ports', type: Value_Type.RANGES, scalar: { value: 1 }, reservations: [] }), 'Invalid ranges resource');
    assert.equal(
      validateResource({ name: 'ports', type: Value_Type.RANGES, ranges: { range: [{ begin: 5, end: 1 }] }, reservations: [] }),
      'Invalid ranges resource: begin > end',
    );
    assert.equal(
      validateResource({
        name: 'ports',
        type: Value_Type.RANGES,
        ranges: {
          range: [
            { begin: 1, end: 5 },
            { begin: 3, end: 7 },
          ],
        },
        reservations: [],
      }),
      'Invalid ranges resource: overlapping ranges',
    );
    assert.equal(
      validateResource({ name: 'd', type: Value_Type.SET, set: { item: ['a', 'a'] }, reservations: [] }),
      'Invalid set resource: duplicated elements',
    );
    assert.equal(validateResource({ name: 't', type: Value_Type.TEXT, reservations: [] }), 'Unsupported resource type');
    assert.equal(validateResource(rangesResource('ports', [{ begin: 1, end: 2 }])), undefined);
  });

  it('renders the state endpoints resources object', () => {
    assert.deepEqual(resourcesJson(allocateResources(parseResources('cpus:0.1;mem:32;ports:[31000-31000]'), '*')), {
      cpus: 0.1,
      disk: 0,
      gpus: 0,
      mem: 32,
      ports: '[31000-31000]',
    });
    assert.deepEqual(resourcesJson([]), { cpus: 0, disk: 0, gpus: 0, mem: 0 });
  });
});
