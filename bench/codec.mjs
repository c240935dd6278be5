// Codec micro-benchmark: xscoap MessageView.parse / MessageWriter against npm coap-packet
// parse / generate, on the same bytes. Both sides get the same pre-built inputs (token,
// option values and payload as bytes); the parse consumers read what a server needs (type,
// code, mid, token bytes, each option's number-or-name and value, payload) so neither side
// can skip work lazily. Results: ops/s medians over rounds, and the xscoap/coap-packet ratio.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const coapPacket = require('coap-packet');
let MessageView;
let MessageWriter;

const ascii = (s) => Buffer.from(s, 'latin1');

/** The representative messages. */
function messages() {
  const token = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
  const sensors = ascii('sensors');
  const temperature = ascii('temperature');
  const query = ascii('unit=celsius');
  const etag = Buffer.from([0x01, 0x02, 0x03, 0x04]);
  const payload = Buffer.alloc(64);
  for (let i = 0; i < 64; i++) payload[i] = 0x61 + (i % 26);
  const cfJson = 50;
  const maxAge = 60;
  return [
    {
      id: 'req',
      label: 'CON GET, 4-byte token, Uri-Path sensors/temperature, Uri-Query',
      // xscoap: header + options with the same byte values coap-packet gets.
      write(w) {
        w.header(0, 0x01, 0x1234, token, 0, 4);
        w.option(11, sensors, 0, sensors.length);
        w.option(11, temperature, 0, temperature.length);
        w.option(15, query, 0, query.length);
        return w.finish();
      },
      packet: {
        code: '0.01',
        confirmable: true,
        messageId: 0x1234,
        token,
        options: [
          { name: 'Uri-Path', value: sensors },
          { name: 'Uri-Path', value: temperature },
          { name: 'Uri-Query', value: query },
        ],
      },
    },
    {
      id: 'res',
      label: 'ACK 2.05, token, ETag, Content-Format, Max-Age, 64-byte payload',
      write(w) {
        w.header(2, 0x45, 0x1234, token, 0, 4);
        w.option(4, etag, 0, etag.length);
        w.uintOption(12, cfJson);
        w.uintOption(14, maxAge);
        w.payload(payload, 0, payload.length);
        return w.finish();
      },
      packet: {
        code: '2.05',
        ack: true,
        messageId: 0x1234,
        token,
        options: [
          { name: 'ETag', value: etag },
          { name: 'Content-Format', value: Buffer.from([cfJson]) },
          { name: 'Max-Age', value: Buffer.from([maxAge]) },
        ],
        payload,
      },
    },
  ];
}

// ------------------------------------------------------------- consumers (what a server reads)

function consumeView(v, bytes) {
  const st = v.parse(bytes, bytes.length);
  const b = v.bytes;
  let s = st + v.type + v.code + v.mid;
  for (let i = 0; i < v.tokenLength; i++) s += b[v.tokenOffset + i];
  const n = v.optionCount;
  for (let i = 0; i < n; i++) {
    const len = v.optLength[i];
    s += v.optNumber[i] + len;
    if (len > 0) s += b[v.optOffset[i]] + b[v.optOffset[i] + len - 1];
  }
  const pl = v.payloadLength;
  s += pl;
  if (pl > 0) s += b[v.payloadOffset] + b[v.length - 1];
  return s;
}

function consumePacket(bytes) {
  const p = coapPacket.parse(bytes);
  let s = (p.confirmable ? 0 : p.ack ? 2 : p.reset ? 3 : 1) + p.code.charCodeAt(0) + p.code.charCodeAt(3) + p.messageId;
  const t = p.token;
  for (let i = 0; i < t.length; i++) s += t[i];
  const o = p.options;
  for (let i = 0; i < o.length; i++) {
    const val = o[i].value;
    const len = val.length;
    s += o[i].name.length + len; // coap-packet gives option names, not numbers
    if (len > 0) s += val[0] + val[len - 1];
  }
  const pl = p.payload;
  s += pl.length;
  if (pl.length > 0) s += pl[0] + pl[pl.length - 1];
  return s;
}

// ------------------------------------------------------------- timing

let sink = 0;

/** Runs fn `iters` times; returns elapsed seconds. */
function timeLoop(fn, iters) {
  const t0 = process.hrtime.bigint();
  let s = 0;
  for (let i = 0; i < iters; i++) s += fn();
  const t1 = process.hrtime.bigint();
  sink = (sink + s) | 0;
  return Number(t1 - t0) / 1e9;
}

/** Iteration count for which one loop takes about `seconds`. */
function calibrate(fn, seconds) {
  let iters = 1000;
  for (;;) {
    const el = timeLoop(fn, iters);
    if (el >= seconds / 4 || iters >= 1e9) return Math.max(1000, Math.round((iters * seconds) / el));
    iters *= 4;
  }
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Runs the codec benchmark. opts: { rounds, roundSeconds, warmupSeconds, log }.
 * Returns { messages: [{id,label,bytes}], rows: [{op, msg, xscoap, coapPacket, ratio, ...}], check }.
 */
export async function runCodec(opts = {}) {
  // The compiled codec: from the run's snapshot of build/ (opts.buildDir), else ../build.
  const buildDir = opts.buildDir ?? new URL('../build', import.meta.url).pathname;
  ({ MessageView } = await import(pathToFileURL(path.join(buildDir, 'modules/coap/wire/view.js')).href));
  ({ MessageWriter } = await import(pathToFileURL(path.join(buildDir, 'modules/coap/wire/writer.js')).href));
  const rounds = opts.rounds ?? 7;
  const roundSeconds = opts.roundSeconds ?? 0.2;
  const warmupSeconds = opts.warmupSeconds ?? 0.5;
  const log = opts.log ?? (() => {});
  const msgs = messages();
  const out = new Uint8Array(1152);
  const w = new MessageWriter(out);
  const view = new MessageView(32);

  // Same bytes both ways, checked once.
  const info = [];
  for (const m of msgs) {
    const n = m.write(w);
    const mine = Buffer.from(out.subarray(0, n));
    const theirs = coapPacket.generate(m.packet);
    if (!mine.equals(theirs)) {
      throw new Error(`codec: ${m.id}: xscoap and coap-packet serialize differently:\n  xscoap      ${mine.toString('hex')}\n  coap-packet ${theirs.toString('hex')}`);
    }
    // Both parsers must see the same fields (and succeed).
    if (view.parse(mine, mine.length) !== 0) throw new Error(`codec: ${m.id}: xscoap parse failed`);
    const p = coapPacket.parse(theirs);
    if (view.mid !== p.messageId || view.optionCount !== p.options.length || view.payloadLength !== p.payload.length) {
      throw new Error(`codec: ${m.id}: parsers disagree`);
    }
    for (let i = 0; i < view.optionCount; i++) {
      if (!Buffer.from(view.value(i)).equals(p.options[i].value)) throw new Error(`codec: ${m.id}: option ${i} differs`);
    }
    m.bytes = mine;
    info.push({ id: m.id, label: m.label, length: mine.length, hex: mine.toString('hex') });
  }

  const cases = [];
  for (const m of msgs) {
    const bytes = m.bytes;
    // generate() fills defaults into the packet object and re-sorts its options in place:
    // one packet object is reused (the cheapest way to call it; no per-call object literal).
    const packet = m.packet;
    cases.push({
      op: 'serialize', msg: m.id,
      x: () => m.write(w),
      c: () => coapPacket.generate(packet).length,
    });
    // Informative: xscoap plus a copy into a fresh Buffer, as the Node host does before
    // dgram.send (coap-packet's generate returns a fresh Buffer anyway).
    cases.push({
      op: 'serialize+copy', msg: m.id, informative: true,
      x: () => Buffer.from(out.subarray(0, m.write(w))).length,
      c: () => coapPacket.generate(packet).length,
    });
    cases.push({
      op: 'parse', msg: m.id,
      x: () => consumeView(view, bytes),
      c: () => consumePacket(bytes),
    });
  }

  const rows = [];
  for (const k of cases) {
    // Warm up both (JIT), then calibrate each to ~roundSeconds per round.
    const wEnd = Date.now() + warmupSeconds * 1000;
    while (Date.now() < wEnd) { timeLoop(k.x, 2000); timeLoop(k.c, 2000); }
    const nx = calibrate(k.x, roundSeconds);
    const nc = calibrate(k.c, roundSeconds);
    const rx = [];
    const rc = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate the order so drift (frequency, neighbours) hits both sides alike.
      if (r % 2 === 0) { rx.push(nx / timeLoop(k.x, nx)); rc.push(nc / timeLoop(k.c, nc)); }
      else { rc.push(nc / timeLoop(k.c, nc)); rx.push(nx / timeLoop(k.x, nx)); }
    }
    const x = median(rx);
    const c = median(rc);
    const ratios = rx.map((v, i) => v / rc[i]);
    const row = {
      op: k.op, msg: k.msg, informative: !!k.informative, xscoap: x, coapPacket: c, ratio: x / c,
      ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios),
      xscoapSpread: [Math.min(...rx), Math.max(...rx)], coapPacketSpread: [Math.min(...rc), Math.max(...rc)],
    };
    rows.push(row);
    log(`codec ${k.op.padEnd(14)} ${k.msg}: xscoap ${fmtOps(x)} ops/s, coap-packet ${fmtOps(c)} ops/s, ratio ${row.ratio.toFixed(2)}x (rounds ${row.ratioMin.toFixed(2)}-${row.ratioMax.toFixed(2)})`);
  }
  return { messages: info, rows, rounds, roundSeconds, warmupSeconds, sink };
}

export function fmtOps(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(2) + 'M';
  if (v >= 1e3) return (v / 1e3).toFixed(1) + 'k';
  return v.toFixed(0);
}
