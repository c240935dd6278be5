// The xscoap server stack without any socket: CON GET /hello datagrams handed straight to
// Endpoint.receiveDatagram (the path Node's 'message' event takes after hosts/node/udp.js),
// the demo router, and a socket whose write() only counts. Every request has a new
// (port, MID), as with coapbench, so duplicate detection never answers from its cache.
// It shows what the portable stack itself costs per request, apart from node:dgram and the
// kernel, and is far less noisy than loopback figures. Informative: no target.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** opts: { buildDir, rounds, perRound, log }. Returns { usPerReq, reqPerSec, replyBytes, rounds }. */
export async function runInproc(opts = {}) {
  const buildDir = opts.buildDir ?? new URL('../build', import.meta.url).pathname;
  const imp = (p) => import(pathToFileURL(path.join(buildDir, p)).href);
  const { Endpoint } = await imp('modules/coap/endpoint.js');
  const { demoRouter } = await imp('modules/demo/demo.js');
  let sent = 0;
  let bytes = 0;
  class CountingUdp {
    constructor(o) { this.target = o.target; }
    read() { return undefined; }
    write(b) { sent++; bytes += b.byteLength; }
    close() {}
  }
  const clock = { now: () => performance.now(), createTimer: () => ({ schedule() {}, unschedule() {}, close() {} }) };
  let seed = 1;
  const random = (o) => { for (let i = 0; i < o.length; i++) { seed = (seed * 1103515245 + 12345) >>> 0; o[i] = seed >>> 24; } };
  // The limits `xscoap serve` uses (hosts/node/cli.ts).
  const ep = new Endpoint({
    ports: { udp: CountingUdp, clock, random }, address: '127.0.0.1', port: 5683, router: demoRouter(),
    limits: { maxMessageSize: 1152, clientExchanges: 4, serverExchanges: 64, dedupEntries: 4096, dedupCacheBytes: 256 * 1024, maxOptions: 64 },
  });
  const tmpl = Uint8Array.from([0x44, 0x01, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0xb5, ...Buffer.from('hello')]);
  let mid = 0;
  let port = 40000;
  const one = () => {
    // A fresh ArrayBuffer with address and port, as the Node host's read() hands out.
    const ab = new ArrayBuffer(tmpl.length);
    const u = new Uint8Array(ab);
    u.set(tmpl);
    mid = (mid + 1) & 0xffff;
    if (mid === 0) port++;
    u[2] = mid >> 8;
    u[3] = mid & 0xff;
    ab.address = '127.0.0.1';
    ab.port = port;
    ep.receiveDatagram(ab);
  };
  const perRound = opts.perRound ?? 500000;
  for (let i = 0; i < Math.min(200000, perRound); i++) one();
  const us = [];
  for (let r = 0; r < (opts.rounds ?? 5); r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) one();
    us.push(Number(process.hrtime.bigint() - t0) / 1e3 / perRound);
  }
  const expected = Math.min(200000, perRound) + perRound * us.length;
  ep.close();
  if (sent !== expected) throw new Error(`inproc: ${sent} replies for ${expected} requests`);
  const usPerReq = median(us);
  const out = { usPerReq, reqPerSec: 1e6 / usPerReq, replyBytes: bytes / sent, rounds: us.length, perRound, min: Math.min(...us), max: Math.max(...us) };
  opts.log?.(`stack only: ${usPerReq.toFixed(3)} us per CON GET /hello (${(out.reqPerSec / 1e6).toFixed(2)}M req/s on one core; rounds ${out.min.toFixed(3)}-${out.max.toFixed(3)} us), ${out.replyBytes.toFixed(0)}-byte replies`);
  return out;
}
