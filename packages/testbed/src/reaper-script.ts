// The program the reaper container runs (as `node -e`). It only needs Node and the Docker socket,
// so it works from ippc's own offline-built image where Ryuk cannot be pulled. It holds TCP
// connections from test processes; when the last one closes (the process ended, even by kill -9)
// and none returns within the grace period, or when nobody connects at all, it removes every
// container, network and volume labelled with its session, then exits (the container auto-removes).
export const REAPER_SCRIPT = String.raw`
const http = require('http');
const net = require('net');
const session = process.env.IPPC_SESSION;
const graceMs = Number(process.env.IPPC_REAPER_GRACE_MS || 2000);
const firstConnectMs = Number(process.env.IPPC_REAPER_FIRST_CONNECT_MS || 60000);
const self = process.env.HOSTNAME;
let live = 0;
let ever = false;
let reaping = false;
function api(method, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: '/var/run/docker.sock', method, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
const filter = encodeURIComponent(JSON.stringify({ label: ['org.ippc.session=' + session] }));
async function reap() {
  if (reaping) return;
  reaping = true;
  try {
    const containers = JSON.parse((await api('GET', '/containers/json?all=1&filters=' + filter)).body);
    await Promise.all(containers.filter((c) => !c.Id.startsWith(self)).map((c) => api('DELETE', '/containers/' + c.Id + '?force=1&v=1')));
    const networks = JSON.parse((await api('GET', '/networks?filters=' + filter)).body);
    for (const n of networks) await api('DELETE', '/networks/' + n.Id);
    const volumes = JSON.parse((await api('GET', '/volumes?filters=' + filter)).body).Volumes || [];
    for (const v of volumes) await api('DELETE', '/volumes/' + v.Name);
    console.log(JSON.stringify({ reaped: { containers: containers.length, networks: networks.length, volumes: volumes.length } }));
  } catch (err) {
    console.error('reap failed: ' + err.message);
  }
  process.exit(0);
}
net.createServer((socket) => {
  live++;
  ever = true;
  socket.on('error', () => {});
  socket.on('close', () => {
    live--;
    if (live === 0) setTimeout(() => live === 0 && reap(), graceMs);
  });
  socket.write('ACK\n');
}).listen(8080, () => console.log('reaper ready for session ' + session));
setTimeout(() => ever || reap(), firstConnectMs);
`;
