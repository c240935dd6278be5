// bench/device-memory.mjs: what one simulated device costs on V8, part by part (the "RSS per
// device" of bench/fleet.mjs, broken down). Builds N of each part in one process and reports
// the growth of RSS, V8 heap and ArrayBuffer memory per item after a garbage collection:
//   1. the sensor example's app (router, sampler, description) over a simulated board (examples/sensor);
//   2. a Node host UDP socket (hosts/node/udp.ts over node:dgram), bound on loopback;
//   3. an Endpoint with the example's ESP32 limits (config.coap) on such a socket.
// Usage: node --expose-gc bench/device-memory.mjs [N] (after a build; default N 1000)
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BUILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../build');
const imp = (p) => import(pathToFileURL(path.join(BUILD, p)).href);
if (typeof gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const N = Number(process.argv[2] ?? 1000);
const { Endpoint } = await imp('modules/coap/endpoint.js');
const { nodePorts } = await imp('hosts/node/ports.js');
const { NodeUdp } = await imp('hosts/node/udp.js');
const { deviceSettings, ESP32_DEVICE_CONFIG } = await imp('modules/coap/device.js');
const { SensorApp } = await imp('examples/sensor/app.js');
const { SimulatedSensors } = await imp('examples/sensor/simulated.js');

const limits = deviceSettings(ESP32_DEVICE_CONFIG).limits;
const ports = nodePorts();
const measure = () => {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, ab: m.arrayBuffers };
};
const kib = (v) => (v / N / 1024).toFixed(1).padStart(6);
const line = (name, a, b) => console.log(`${name.padEnd(34)} ${kib(b.rss - a.rss)} KiB RSS, ${kib(b.heap - a.heap)} KiB V8 heap, ${kib(b.ab - a.ab)} KiB ArrayBuffers`);

console.log(`per item, ${N} of each (node ${process.version})`);
let a = measure();
const routers = [];
for (let i = 0; i < N; i++) routers.push(new SensorApp(new SimulatedSensors({ now: () => 0 }), ports.clock).router); // not started: the sampler's timer is per device in the fleet
let b = measure();
line('sensor app + simulated board', a, b);

a = b;
const sockets = [];
for (let i = 0; i < N; i++) sockets.push(new NodeUdp({ address: '127.0.0.1', port: 0, onReadable() {} }));
await Promise.all(sockets.map((s) => s.ready()));
b = measure();
line('UDP socket (node:dgram)', a, b);
for (const s of sockets) s.close();

a = measure();
const endpoints = [];
for (let i = 0; i < N; i++) endpoints.push(new Endpoint({ ports, address: '127.0.0.1', limits, router: routers[i] }));
await Promise.all(endpoints.map((e) => e.socket.ready()));
b = measure();
line('Endpoint, ESP32 limits (+ socket)', a, b);
for (const e of endpoints) e.close();
process.exit(0);
