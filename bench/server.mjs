// Server benchmark: requests/s on loopback with the neutral load generator coapbench
// (shared/tools/coapbench), generator and server pinned to different CPUs. Servers: xscoap's
// Node demo server, a node-coap server answering the same payload, and the bare dgram
// ceiling rawcoap.mjs. Every server is started fresh on its own port and stopped by PID;
// every child process is bounded in time.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const HZ = 100; // USER_HZ; checked against getconf below when available

export function clockTicks() {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || HZ;
  } catch {
    return HZ;
  }
}

export function have(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8', timeout: 2000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * Locates the coapbench sources and builds the generator out of tree (shared/ may be
 * read-only). Order: --coapbench BIN / $COAPBENCH (a built binary); --coapbench-dir DIR /
 * $COAPBENCH_DIR; REPO/../shared/tools/coapbench (the layout on CI and here).
 */
export function findCoapbench(repo, opts) {
  const dirs = [opts.coapbenchDir, process.env.COAPBENCH_DIR, path.resolve(repo, '../shared/tools/coapbench')].filter(Boolean);
  const dir = dirs.find((d) => fs.existsSync(path.join(d, 'coapbench.c')));
  const binGiven = opts.coapbench ?? process.env.COAPBENCH;
  const res = { dir: dir ?? null, bin: null, buildCmd: null, error: null, rawServer: dir ? path.join(dir, 'servers', 'rawcoap.mjs') : null };
  if (binGiven) {
    if (!fs.existsSync(binGiven)) { res.error = `coapbench binary ${binGiven} does not exist`; return res; }
    res.bin = path.resolve(binGiven);
  } else {
    if (!dir) { res.error = `coapbench sources not found (tried ${dirs.join(', ')}); pass --coapbench-dir DIR or set COAPBENCH_DIR`; return res; }
    const cc = process.env.CC || 'cc';
    if (!have(cc)) { res.error = `no C compiler (${cc}) to build coapbench: install one (build-essential) or pass --coapbench BIN`; return res; }
    const outDir = path.join(os.tmpdir(), `xscoap-bench-${process.getuid?.() ?? 'u'}`);
    fs.mkdirSync(outDir, { recursive: true });
    const bin = path.join(outDir, 'coapbench');
    const src = path.join(dir, 'coapbench.c');
    res.buildCmd = `${cc} -O2 -Wall -o ${bin} ${src}`;
    const stale = !fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(src).mtimeMs;
    if (stale) {
      const r = spawnSync(cc, ['-O2', '-Wall', '-o', bin, src], { encoding: 'utf8', timeout: 60000 });
      if (r.status !== 0) { res.error = `building coapbench failed: ${res.buildCmd}\n${r.stderr}`; return res; }
    }
    res.bin = bin;
  }
  if (!res.rawServer || !fs.existsSync(res.rawServer)) res.rawServer = null;
  return res;
}

/** A free UDP port on 127.0.0.1 (bound then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a command with a hard time limit; resolves { code, stdout, stderr, timedOut }. */
export function run(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); resolve({ code: -1, stdout, stderr: stderr + String(e), timedOut }); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, timedOut }); });
  });
}

export function readStatus(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s) ?? [])[1] ?? NaN);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return { rssKb: NaN, hwmKb: NaN };
  }
}

/** utime + stime of a process in clock ticks. */
export function cpuTicks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

/** System-wide CPU ticks from /proc/stat: user+nice+system (+irq), softirq, steal. */
export function systemTicks() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    return { task: f[0] + f[1] + f[2] + f[5], softirq: f[6], steal: f[7] ?? 0 };
  } catch {
    return { task: NaN, softirq: NaN, steal: NaN };
  }
}

/** Waits (at most maxWaitMs) until the whole machine uses at most `limit` % of a CPU (0.5-s samples). */
export async function waitSystemQuiet(limit, maxWaitMs) {
  const hz = clockTicks();
  const t0 = Date.now();
  for (;;) {
    const s0 = systemTicks();
    const a = process.hrtime.bigint();
    await sleep(500);
    const wall = Number(process.hrtime.bigint() - a) / 1e9;
    const busy = ((systemTicks().task - s0.task) / hz / wall) * 100;
    if (busy <= limit || Date.now() - t0 >= maxWaitMs) return Date.now() - t0;
  }
}

export class Bench {
  constructor(opts) {
    this.opts = opts; // { repo, coapbench, taskset, genCpu, srvCpu, busy, timeoutMs, log }
    this.hz = clockTicks();
    this.commands = []; // exact commands, for BENCHMARKS.md
    this.active = new Set(); // servers started and not yet stopped
    this.quietBudgetMs = opts.quietBudgetMs ?? 300000; // total waiting for quiet, whole run
  }

  /** Kills every server this run started (on SIGINT/SIGTERM of the runner). */
  killAll() {
    for (const srv of this.active) if (!srv.exited()) srv.proc.kill('SIGKILL');
  }

  pin(cpu, argv) {
    return this.opts.taskset ? ['taskset', '-c', String(cpu), ...argv] : argv;
  }

  genArgs(url, window, warm, dur) {
    const a = [this.opts.coapbench, '-j', '-t', String(this.opts.timeoutMs), '-W', String(warm), '-d', String(dur), '-c', String(window)];
    if (this.opts.busy) a.splice(2, 0, '-b');
    a.push(url);
    return this.pin(this.opts.genCpu, a);
  }

  note(kind, argv) {
    const line = argv.map((x) => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`)).join(' ');
    this.commands.push({ kind, line });
    return line;
  }

  /** Starts a server definition on a fresh port; resolves { proc, pid, port, url, argv } once it answers 2.xx. */
  async start(def) {
    const port = await freePort();
    const argv = this.pin(this.opts.srvCpu, def.argv(port));
    this.note(`server ${def.id}`, argv);
    const proc = spawn(argv[0], argv.slice(1), { cwd: this.opts.repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    let exited = false;
    proc.on('exit', () => { exited = true; });
    const url = `coap://127.0.0.1:${port}${def.path}`;
    const srv = { def, proc, pid: proc.pid, port, url, argv, output: () => out, exited: () => exited };
    this.active.add(srv);
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${def.id}: server exited during start-up:\n${out}`);
      const r = await run(this.opts.coapbench, ['-j', '-N', '1', '-d', '2', '-t', '250', url], 5000);
      if (/"ok":1,/.test(r.stdout)) {
        // taskset execs the server: the PID is the server's own (checked, for /proc sampling).
        let comm = '';
        try { comm = fs.readFileSync(`/proc/${proc.pid}/comm`, 'utf8').trim(); } catch {}
        srv.comm = comm;
        return srv;
      }
      await sleep(200);
    }
    await this.stop(srv);
    throw new Error(`${def.id}: server not answering 2.xx at ${url} within 20 s:\n${out}`);
  }

  /** Stops a server it started, by PID: SIGTERM, then SIGKILL after 3 s. */
  async stop(srv) {
    this.active.delete(srv);
    if (srv.exited()) return;
    const done = new Promise((r) => srv.proc.once('exit', r));
    srv.proc.kill('SIGTERM');
    const t = setTimeout(() => { if (!srv.exited()) srv.proc.kill('SIGKILL'); }, 3000);
    await done;
    clearTimeout(t);
  }

  /**
   * Waits (at most maxWaitMs) until other processes use at most `limit` % of a CPU, sampled over
   * 0.5 s; the server being measured is idle then and not counted. Returns the ms waited.
   */
  async waitQuiet(srv, limit, maxWaitMs) {
    maxWaitMs = Math.min(maxWaitMs, this.quietBudgetMs);
    const t0 = Date.now();
    for (;;) {
      const s0 = systemTicks();
      const c0 = cpuTicks(srv.pid);
      const a = process.hrtime.bigint();
      await sleep(500);
      const wall = Number(process.hrtime.bigint() - a) / 1e9;
      const other = ((systemTicks().task - s0.task - (cpuTicks(srv.pid) - c0)) / this.hz / wall) * 100;
      if (other <= limit || Date.now() - t0 >= maxWaitMs) {
        const waited = Date.now() - t0;
        this.quietBudgetMs = Math.max(0, this.quietBudgetMs - waited);
        return waited;
      }
    }
  }

  /** One coapbench run against srv; returns the JSON plus server CPU% and RSS. */
  async measure(srv, window, warm, dur) {
    const argv = this.genArgs(srv.url, window, warm, dur);
    const c0 = cpuTicks(srv.pid);
    const s0 = systemTicks();
    const t0 = process.hrtime.bigint();
    const r = await run(argv[0], argv.slice(1), (warm + dur + this.opts.timeoutMs / 1000 + 20) * 1000);
    const t1 = process.hrtime.bigint();
    const c1 = cpuTicks(srv.pid);
    const s1 = systemTicks();
    const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (!line) throw new Error(`coapbench gave no result (exit ${r.code}${r.timedOut ? ', killed at its time limit' : ''}): ${r.stderr.trim()}`);
    const j = JSON.parse(line);
    const wall = Number(t1 - t0) / 1e9;
    j.srvCpuPct = ((c1 - c0) / this.hz / wall) * 100; // over warm-up + run
    // CPU used by anything but this server and the generator during the run (other jobs on the
    // machine), in % of one CPU: all task time (softirq excluded: loopback delivery is
    // accounted there) minus the server's and the generator's own time.
    const genTicks = (j.gen_cpu_pct / 100) * wall * this.hz;
    j.foreignPct = Math.max(0, ((s1.task - s0.task - (c1 - c0) - genTicks) / this.hz / wall) * 100);
    j.stealPct = ((s1.steal - s0.steal) / this.hz / wall) * 100;
    // Server CPU time per answered request (assumes the warm-up ran at the measured rate).
    j.cpuUsPerReq = j.rps > 0 ? ((j.srvCpuPct / 100) * 1e6) / j.rps : NaN;
    j.serverDied = srv.exited();
    j.srvRssKb = readStatus(srv.pid).rssKb;
    j.argv = argv;
    return j;
  }
}

const median = (a) => {
  const s = [...a].filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The short matrix: reps x servers x windows, each server started fresh per rep (rep-outer so
 * drift spreads over all servers). Returns cells keyed "server/window" with medians.
 */
export async function runMatrix(bench, servers, { windows, reps, warm, dur, log, retries = 2, foreignLimit = 10, quietWaitMs = 0 }) {
  let waited = 0;
  const runs = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const def of servers) {
      const srv = await bench.start(def);
      const idle = readStatus(srv.pid).rssKb;
      try {
        for (const w of windows) {
          // A run during which other processes took more than `foreignLimit` % of a CPU is
          // repeated (at most `retries` times); the least disturbed attempt is kept.
          let best = null;
          for (let attempt = 0; attempt <= retries; attempt++) {
            if (quietWaitMs > 0) waited += await bench.waitQuiet(srv, foreignLimit, quietWaitMs);
            const j = await bench.measure(srv, w, warm, dur);
            j.attempts = attempt + 1;
            const disturbed = j.foreignPct > foreignLimit;
            log(`${def.id.padEnd(9)} rep${rep} CON w${String(w).padEnd(3)} ${fmtRps(j.rps).padStart(7)} req/s  p50 ${j.p50_us.toFixed(0).padStart(5)} us  p99 ${j.p99_us.toFixed(0).padStart(6)} us  timeouts ${j.timeouts}  srv cpu ${j.srvCpuPct.toFixed(0)}%  other load ${j.foreignPct.toFixed(0)}%  rss ${(j.srvRssKb / 1024).toFixed(1)} MB${disturbed ? (attempt < retries ? '  (disturbed: again)' : '  (disturbed)') : ''}`);
            if (best === null || j.foreignPct < best.foreignPct) best = { ...j, attempts: attempt + 1 };
            await sleep(300);
            if (!disturbed) break;
            await sleep(1000 * (attempt + 1));
          }
          runs.push({ server: def.id, window: w, rep, ...best, idleRssKb: idle });
        }
      } finally {
        await bench.stop(srv);
      }
    }
  }
  return { runs, cells: summarizeMatrix(runs, servers.map((d) => d.id), windows, foreignLimit), waitedMs: waited };
}

/** Medians per server and window, over the undisturbed runs when there is any, else over all (flagged). */
export function summarizeMatrix(runs, ids, windows, foreignLimit) {
  const cells = {};
  for (const id of ids) {
    for (const w of windows) {
      const all = runs.filter((r) => r.server === id && r.window === w);
      if (all.length === 0) continue;
      const calm = all.filter((r) => r.foreignPct <= foreignLimit);
      const rs = calm.length > 0 ? calm : all;
      cells[`${id}/${w}`] = {
        server: id, window: w, n: rs.length, total: all.length, allDisturbed: calm.length === 0,
        rps: median(rs.map((r) => r.rps)),
        rpsMin: Math.min(...rs.map((r) => r.rps)), rpsMax: Math.max(...rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50_us)), p99: median(rs.map((r) => r.p99_us)),
        timeouts: all.reduce((s, r) => s + r.timeouts, 0),
        errors: all.reduce((s, r) => s + r.c4 + r.c5 + r.other + r.rst + r.malformed, 0),
        srvCpu: median(rs.map((r) => r.srvCpuPct)),
        cpuUs: median(rs.map((r) => r.cpuUsPerReq)),
        foreign: median(rs.map((r) => r.foreignPct)),
        disturbed: all.length - calm.length,
        rssKb: Math.max(...all.map((r) => r.srvRssKb)),
      };
    }
  }
  return cells;
}


/**
 * Sustained runs (--long): per server (fresh process) and window, `total` seconds as
 * back-to-back coapbench segments of `seg` seconds (so a slowdown shows as falling req/s),
 * sampling the server's VmRSS from /proc/PID/status every second.
 */
export async function runLong(bench, servers, { windows, total, seg, warm, log, foreignLimit = 10, quietWaitMs = 0, prewarm = 10 }) {
  const out = [];
  const hwm = {};
  const prewarmed = {};
  for (const def of servers) {
    const srv = await bench.start(def);
    const startRss = readStatus(srv.pid).rssKb;
    let peak = startRss;
    try {
      // Pre-warm at the largest window (not counted) so JIT and heap sizing are done before the
      // sustained windows: what follows then shows growth, not start-up.
      if (prewarm > 0) {
        const j = await bench.measure(srv, Math.max(...windows), 0, prewarm);
        prewarmed[def.id] = { rps: j.rps, rssKb: readStatus(srv.pid).rssKb, startRssKb: startRss, seconds: prewarm, window: Math.max(...windows) };
        log(`${def.id.padEnd(9)} pre-warm w${Math.max(...windows)} ${prewarm} s: ${fmtRps(j.rps)} req/s, rss ${(startRss / 1024).toFixed(1)} -> ${(prewarmed[def.id].rssKb / 1024).toFixed(1)} MB (not counted)`);
      }
      for (const w of windows) {
        if (quietWaitMs > 0) await bench.waitQuiet(srv, foreignLimit, quietWaitMs);
        const samples = [];
        const t0 = Date.now();
        const timer = setInterval(() => {
          const rssKb = readStatus(srv.pid).rssKb;
          samples.push({ t: (Date.now() - t0) / 1000, rssKb });
          if (rssKb > peak) peak = rssKb;
        }, 1000);
        const segs = [];
        try {
          const n = Math.max(1, Math.round(total / seg));
          for (let i = 0; i < n; i++) {
            if (srv.exited()) { log(`${def.id}: server process died:\n${srv.output().slice(-2000)}`); break; }
            const j = await bench.measure(srv, w, i === 0 ? warm : 0, seg);
            j.rssEndKb = readStatus(srv.pid).rssKb;
            segs.push(j);
            log(`${def.id.padEnd(9)} long w${String(w).padEnd(3)} seg ${i + 1}/${n} ${fmtRps(j.rps).padStart(7)} req/s  p50 ${j.p50_us.toFixed(0).padStart(5)} us  p99 ${j.p99_us.toFixed(0).padStart(6)} us  timeouts ${j.timeouts}  srv cpu ${j.srvCpuPct.toFixed(0)}%  other load ${j.foreignPct.toFixed(0)}%  rss ${(j.rssEndKb / 1024).toFixed(1)} MB`);
          }
        } finally {
          clearInterval(timer);
        }
        if (segs.length === 0) { out.push({ server: def.id, window: w, died: true, segments: [], samples }); continue; }
        out.push({ server: def.id, window: w, segments: segs, samples, startRssKb: startRss, died: srv.exited(), seg, warm });
      }
    } finally {
      const h = readStatus(srv.pid).hwmKb;
      hwm[def.id] = Number.isFinite(h) ? h : peak; // a dead process: the largest sample
      await bench.stop(srv);
    }
  }
  return { raw: out, hwm, prewarmed, cells: out.map((c) => summarizeLong(c, foreignLimit)) };
}

/**
 * One sustained cell: overall req/s, first/last segment, and the same over the undisturbed
 * segments only (other load ≤ foreignLimit), server CPU µs per request first/last (insensitive
 * to other load: it is the server's own time), RSS after the first segment against the end.
 */
export function summarizeLong(c, foreignLimit) {
  const segs = c.segments;
  if (segs.length === 0) return { server: c.server, window: c.window, died: true, segments: [] };
  const responses = segs.reduce((s, j) => s + j.responses, 0);
  const seconds = segs.reduce((s, j) => s + j.seconds, 0);
  const rss = c.samples.map((s) => s.rssKb).filter(Number.isFinite);
  const after = c.samples.filter((s) => s.t >= c.seg + c.warm);
  const slope = linSlope(after.map((s) => s.t), after.map((s) => s.rssKb)); // kB/s
  const calm = segs.filter((j) => j.foreignPct <= foreignLimit);
  return {
    server: c.server, window: c.window, segments: segs, died: c.died,
    rps: responses / seconds, seconds,
    firstRps: segs[0].rps, lastRps: segs[segs.length - 1].rps,
    minRps: Math.min(...segs.map((j) => j.rps)),
    calmSegments: calm.length,
    calmFirstRps: calm.length ? calm[0].rps : NaN, calmLastRps: calm.length ? calm[calm.length - 1].rps : NaN,
    calmFirstCpuUs: calm.length ? calm[0].cpuUsPerReq : NaN, calmLastCpuUs: calm.length ? calm[calm.length - 1].cpuUsPerReq : NaN,
    calmRps: calm.length ? median(calm.map((j) => j.rps)) : NaN,
    firstCpuUs: segs[0].cpuUsPerReq, lastCpuUs: segs[segs.length - 1].cpuUsPerReq,
    p50: median(segs.map((j) => j.p50_us)), p99: Math.max(...segs.map((j) => j.p99_us)),
    timeouts: segs.reduce((s, j) => s + j.timeouts, 0),
    errors: segs.reduce((s, j) => s + j.c4 + j.c5 + j.other + j.rst + j.malformed, 0),
    srvCpu: median(segs.map((j) => j.srvCpuPct)),
    cpuUs: median(segs.map((j) => j.cpuUsPerReq)),
    foreign: median(segs.map((j) => j.foreignPct)),
    foreignMax: Math.max(...segs.map((j) => j.foreignPct)),
    startRssKb: c.startRssKb,
    rssAfterFirstKb: segs[0].rssEndKb, rssEndKb: segs[segs.length - 1].rssEndKb,
    rssSeries: segs.map((j) => j.rssEndKb),
    rssMinKb: Math.min(...rss), rssMaxKb: Math.max(...rss),
    rssSlopeKbPerMin: slope * 60,
  };
}

function linSlope(xs, ys) {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den > 0 ? num / den : NaN;
}

export function fmtRps(v) {
  if (!Number.isFinite(v)) return 'n/a';
  return v >= 1000 ? (v / 1000).toFixed(1) + 'k' : v.toFixed(0);
}
