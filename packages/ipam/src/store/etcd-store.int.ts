import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { describeIpamContract } from '../testing/service-contract.js';
import { startEtcd, type TestEtcd } from '../testing/etcd.js';
import { createEtcdStore } from './etcd-store.js';
import { describeStoreContract } from '../testing/store-contract.js';

// The same contract suites as the embedded store, against a real etcd started for this file.
let etcd: TestEtcd;
before(async () => {
  etcd = await startEtcd();
});
after(async () => etcd?.stop());

function etcdFixture() {
  let prefix = '';
  const fresh = () => `/ipam-test/${randomUUID()}/`;
  return {
    store(same = false) {
      if (!same || !prefix) prefix = fresh();
      return Promise.resolve(createEtcdStore({ endpoints: [etcd.endpoint], prefix }));
    },
    open() {
      if (!prefix) prefix = fresh();
      return Promise.resolve(createEtcdStore({ endpoints: [etcd.endpoint], prefix }));
    },
    async cleanup() {},
  };
}

describeStoreContract('etcd', async () => etcdFixture());
describeIpamContract('etcd', async () => etcdFixture());
