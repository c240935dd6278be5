// One measurement of bench/fleet.mjs, in a process of its own (so RSS is this fleet's):
// N simulated devices on loopback, each observed by one client at one notification per
// second, measured for a window after a warm-up.
//
//   xscoap:    the fleet of `xscoap sim` (sim/fleet/: examples/sensor on the Node host with
//              the ESP32 limits, registered with an in-process resource directory, observed by
//              one xscoap client endpoint per shard), --workers W threads.
//   xscoap-oscore: the same with `xscoap sim --oscore`'s OSCORE (RFC 8613): each device holds
//              its two security contexts (sim/fleet/oscore.ts) and is observed inside OSCORE.
//   node-coap: N node-coap servers (npm `coap`) serving the same three resources, the
//              temperature observable and re-sent every second by a timer per observation,
//              observed by the same kind of xscoap client endpoint (no directory: node-coap has
//              no RD client).
//
// Prints one JSON line: notifications received per second, CPU (user + system, % of one core,
// all threads), RSS before and after, event-loop delay of the main thread (p50/p99/max),
// and the time until every device was registered (xscoap) or observed (both).
// RSS per device: RSS after the run (after a garbage collection) minus RSS with the modules
// loaded, over N. Usage: node --expose-gc bench/fleet-child.mjs IMPL N SECONDS WARMUP WORKERS BASEPORT BUILD_DIR
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [impl, nText, secondsText, warmupText, workersText, baseText, buildDir] = process.argv.slice(2);
const N = Number(nText);
const SECONDS = Number(secondsText);
const WARMUP = Number(warmupText);
const WORKERS = Number(workersText);
const BASE = Number(baseText);
const imp = (p) => import(pathToFileURL(path.join(buildDir, p)).href);

// The baseline: the process with the implementation's modules loaded, collected.
if (impl === 'xscoap' || impl === 'xscoap-oscore') {
  await imp('sim/fleet/fleet.js');
  await imp('sim/fleet/oscore.js');
  await imp('modules/coap/oscore/noble.js');
  await imp('hosts/node/rd/server.js');
} else await import('coap');
await imp('hosts/node/ports.js');
globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
let received = 0;
let firstSeen = 0;
let allObservedMs = -1;
let allRegisteredMs = -1;
const seen = new Uint8Array(N);
const noteValue = (i) => {
  received++;
  if (seen[i] === 0) {
    seen[i] = 1;
    if (++firstSeen === N) allObservedMs = performance.now() - t0;
  }
};
let stop;

try {
  if (impl === 'xscoap' || impl === 'xscoap-oscore') {
    const { Fleet } = await imp('sim/fleet/fleet.js');
    const { fleetOscoreKeys } = await imp('sim/fleet/oscore.js');
    const { webcrypto } = await import('node:crypto');
    const oscore = impl === 'xscoap-oscore' ? fleetOscoreKeys(N, (b) => webcrypto.getRandomValues(b)) : null;
    const { DirectoryServer } = await imp('hosts/node/rd/server.js');
    const rd = await DirectoryServer.start({ address: '127.0.0.1', port: BASE });
    let fleet;
    fleet = await Fleet.start(
      { devices: N, workers: WORKERS, address: '127.0.0.1', basePort: BASE, rd: 'coap://127.0.0.1:' + BASE, lifetime: 300, conditions: null, seed: 1, observe: true, sampleMs: 1000, batchMs: 200, oscore },
      {
        registration: () => {
          if (allRegisteredMs < 0 && fleet !== undefined && fleet.registered === N) allRegisteredMs = performance.now() - t0;
        },
        values: (batch) => {
          for (let i = 0; i < batch.length; i += 2) noteValue(batch[i]);
        },
      },
    );
    if (allRegisteredMs < 0 && fleet.registered === N) allRegisteredMs = performance.now() - t0;
    stop = async () => {
      await fleet.stop(3000);
      rd.close();
    };
  } else if (impl === 'node-coap') {
    const coap = (await import('coap')).default;
    const { openEndpoint } = await imp('hosts/node/ports.js');
    const servers = [];
    const timers = new Set();
    for (let i = 0; i < N; i++) {
      const mean = 19 + ((i * 7919) % 500) / 100;
      const server = coap.createServer({ type: 'udp4' }, (req, res) => {
        const temp = () => (mean + 1.5 * Math.sin((2 * Math.PI * (performance.now() - t0)) / 120000)).toFixed(2);
        if (req.url === '/sensors/temperature' && req.method === 'GET') {
          res.setOption('Content-Format', 'text/plain');
          res.setOption('Max-Age', 5);
          if (req.headers.Observe === 0) {
            res.write(temp());
            const timer = setInterval(() => res.write(temp()), 1000);
            timers.add(timer);
            const done = () => {
              clearInterval(timer);
              timers.delete(timer);
            };
            res.on('finish', done);
            res.on('error', done);
          } else res.end(temp());
        } else if (req.url === '/sensors/humidity' && req.method === 'GET') {
          res.setOption('Content-Format', 'text/plain');
          res.end('45.00');
        } else if (req.url === '/actuators/led') {
          res.setOption('Content-Format', 'text/plain');
          res.end('0');
        } else {
          res.code = '4.04';
          res.end();
        }
      });
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(BASE + 1 + i, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    // The same observers as the xscoap fleet's (sim/fleet/shard.ts): an endpoint per 500
    // devices, one client slot per observation, observations started 25 at a time.
    const SHARE = 500;
    const observers = [];
    for (let k = 0; k < N; k += SHARE) {
      const share = Math.min(SHARE, N - k);
      observers.push(await openEndpoint({ address: '127.0.0.1', limits: { clientExchanges: share + 4, serverExchanges: 0, dedupEntries: 4 * share + 16, observers: 0, blockTransfers: 2 } }));
    }
    const GROUP = 25;
    for (let k = 0; k < N; k += GROUP) {
      if (k > 0) await new Promise((r) => setTimeout(r, 20));
      for (let i = k; i < Math.min(N, k + GROUP); i++) {
        observers[Math.floor(i / SHARE)].observe({ uri: 'coap://127.0.0.1:' + (BASE + 1 + i) + '/sensors/temperature' }, (n) => {
          if (n.ok) noteValue(i);
        });
      }
    }
    stop = async () => {
      for (const t of timers) clearInterval(t);
      for (const o of observers) o.close();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    };
  } else throw new Error('unknown implementation ' + impl);
} catch (e) {
  console.log(JSON.stringify({ impl, devices: N, workers: WORKERS, error: String(e?.message ?? e) }));
  process.exit(0);
}

const started = performance.now() - t0;
await new Promise((r) => setTimeout(r, WARMUP * 1000));
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
const cpu0 = process.cpuUsage();
const w0 = performance.now();
const r0 = received;
let rssMax = 0;
const sampler = setInterval(() => { rssMax = Math.max(rssMax, process.memoryUsage().rss); }, 1000);
await new Promise((r) => setTimeout(r, SECONDS * 1000));
clearInterval(sampler);
eld.disable();
const wall = (performance.now() - w0) / 1000;
const cpu = process.cpuUsage(cpu0);
globalThis.gc?.();
const rss = process.memoryUsage().rss;
const result = {
  impl,
  devices: N,
  workers: WORKERS,
  startMs: Math.round(started),
  allRegisteredMs: Math.round(allRegisteredMs),
  allObservedMs: Math.round(allObservedMs),
  rate: (received - r0) / wall,
  expected: N,
  cpuPercent: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
  rssBefore,
  rss,
  rssMax,
  rssPerDevice: (rss - rssBefore) / N,
  eldP50Ms: eld.percentile(50) / 1e6,
  eldP99Ms: eld.percentile(99) / 1e6,
  eldMaxMs: eld.max / 1e6,
};
console.log(JSON.stringify(result));
await stop();
process.exit(0);
