// Test helper: starts a reaper for a session and keeps the connection open until killed.
import Docker from 'dockerode';
import { startReaper } from '../reaper.js';

const [image, session] = process.argv.slice(2) as [string, string];
await startReaper({ docker: new Docker(), image, session, cluster: 'reaper-test', graceMs: 500 });
console.log('ready');
setInterval(() => {}, 1 << 30);
