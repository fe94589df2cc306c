// Test helper: starts a one-agent cluster for a session, says ready, and waits until killed.
import { startCluster } from '../create/create.js';

const [name, subnet] = process.argv.slice(2) as [string, string];
await startCluster({ name, agents: 1, config: { network: { subnet }, agent: { ports: '35200-35299' }, dockerNetworks: [] } });
console.log('ready');
setInterval(() => {}, 1 << 30);
