import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameworkInfo_Capability_Type, schedulerv1 } from '@ippc/proto';
import { validateFrameworkInfo, validateId, validateRole, validateSchedulerCall } from './framework.js';
import { validateOffers } from './offers.js';

const { Call_Type } = schedulerv1;

describe('Mesos validation helpers', () => {
  it('validates ids (common::validation::validateID)', () => {
    assert.equal(validateId('web-1'), undefined);
    assert.equal(validateId(''), 'ID must not be empty');
    assert.equal(validateId('.'), "'.' is disallowed");
    assert.equal(validateId('a\\b'), "'a\\b' contains invalid characters");
    assert.equal(validateId('tab\there'), "'tab\there' contains invalid characters");
    assert.equal(validateId('x'.repeat(255)), undefined);
  });

  it('validates scheduler calls (validation::scheduler::call::validate)', () => {
    assert.equal(validateSchedulerCall({} as schedulerv1.Call), "Expecting 'type' to be present");
    assert.equal(validateSchedulerCall({ type: Call_Type.SUBSCRIBE } as schedulerv1.Call), "Expecting 'subscribe' to be present");
    assert.equal(
      validateSchedulerCall({ type: Call_Type.SUBSCRIBE, subscribe: { frameworkInfo: { capabilities: [], roles: [] } } } as schedulerv1.Call),
      'Not initialized: subscribe.framework_info.user, subscribe.framework_info.name',
    );
    assert.equal(validateSchedulerCall({ type: Call_Type.DECLINE, frameworkId: { value: 'f' } } as schedulerv1.Call), "Expecting 'decline' to be present");
    assert.equal(validateSchedulerCall({ type: Call_Type.KILL, frameworkId: { value: 'f' } } as schedulerv1.Call), "Expecting 'kill' to be present");
    assert.equal(validateSchedulerCall({ type: Call_Type.RECONCILE, frameworkId: { value: 'f' } } as schedulerv1.Call), "Expecting 'reconcile' to be present");
    assert.equal(
      validateSchedulerCall({ type: Call_Type.ACKNOWLEDGE, frameworkId: { value: 'f' } } as schedulerv1.Call),
      "Expecting 'acknowledge' to be present",
    );
    assert.equal(validateSchedulerCall({ type: Call_Type.TEARDOWN, frameworkId: { value: 'f' } } as schedulerv1.Call), undefined);
  });

  it('validates FrameworkInfo roles and failover timeout', () => {
    const base = { user: 'u', name: 'n', capabilities: [], roles: [] };
    assert.equal(validateFrameworkInfo(base), undefined);
    assert.equal(validateFrameworkInfo({ ...base, roles: ['a'] }), "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable");
    const multi = { ...base, capabilities: [{ type: FrameworkInfo_Capability_Type.MULTI_ROLE }] };
    assert.equal(validateFrameworkInfo({ ...multi, role: 'a' }), "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable");
    assert.equal(validateFrameworkInfo({ ...multi, roles: ['a', 'a'] }), "'FrameworkInfo.roles' contains duplicate items: { a }");
    assert.equal(validateFrameworkInfo({ ...base, role: '-x' }), "'FrameworkInfo.role' is not a valid role: Role '-x' cannot start with '-'");
    assert.equal(validateFrameworkInfo({ ...base, failoverTimeout: -1 }), 'The framework failover_timeout (-1) is invalid');
    assert.equal(validateRole('a/b'), undefined);
    assert.equal(validateRole('a//b'), "Role 'a//b' cannot contain two adjacent slashes");
  });

  it('validates offers in Mesos order (unique, outstanding, framework, role, agent)', () => {
    const offers: Record<string, { frameworkId: string; agentId: string; role: string }> = {
      o1: { frameworkId: 'F', agentId: 'A', role: '*' },
      o2: { frameworkId: 'F', agentId: 'B', role: '*' },
      o3: { frameworkId: 'G', agentId: 'A', role: '*' },
    };
    const lookup = (id: string) => offers[id];
    assert.equal(validateOffers(['o1'], lookup, 'F'), undefined);
    assert.equal(validateOffers(['o1', 'o1'], lookup, 'F'), 'Duplicate offer o1 in offer list');
    assert.equal(validateOffers(['o9'], lookup, 'F'), 'Offer o9 is no longer valid');
    assert.equal(validateOffers(['o3'], lookup, 'F'), 'Offer o3 has invalid framework G while framework F is expected');
    assert.equal(validateOffers(['o1', 'o2'], lookup, 'F'), 'Aggregated offers must belong to one single agent. Offer o2 uses agent B and agent A');
  });
});
