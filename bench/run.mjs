#!/usr/bin/env node
// xscoap benchmarks (`npm run bench` = build, then this script). Measured side by side in one run:
//   1. codec: xscoap MessageView.parse / MessageWriter vs npm coap-packet parse / generate;
//   2. server req/s on loopback with coapbench (generator and server pinned to different CPUs):
//      xscoap's Node demo server, a node-coap server, and the bare dgram ceiling rawcoap.mjs;
//   3. the simulated device fleet (bench/fleet.mjs): devices sustained at 1 notification/s
//      each, RSS per device, time to every device registered, against node-coap servers;
//   4. a markdown summary (printed; written into BENCHMARKS.md with --write).
// Run `node bench/run.mjs --help` for the options.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench, findCoapbench, fmtRps, have, runLong, runMatrix, summarizeLong, summarizeMatrix, waitSystemQuiet } from './server.mjs';
import { categorize, formatSummary, summarizeProfile } from './profile.mjs';
import { fleetReport } from './fleet.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const HELP = `usage: npm run bench [-- OPTIONS]     (or: node bench/run.mjs OPTIONS after a build)
  --quick               everything briefly (checks that the script works; figures are rough)
  --long                add sustained runs: --long-seconds (60) per server and window, as
                        back-to-back coapbench segments of --segment (10) s, sampling the
                        server's RSS every second; reports slowdown, timeouts and memory
  --profile             add a CPU profile (node --cpu-prof) of the xscoap server under load at
                        each window (--profile-seconds, default 10) and print its hot spots
  --codec-only | --server-only | --fleet-only
  --no-fleet            leave out the device fleet (bench/fleet.mjs)
  --no-oscore           leave out OSCORE (bench/oscore-server.mjs, bench/oscore.mjs)
  --oscore-only         only OSCORE
  --windows 1,16,64     requests in flight (coapbench -c)
  --reps N              fresh server processes per server in the short matrix (default 3)
  --duration S          measured seconds per short run (default 4)
  --warmup S            coapbench warm-up seconds, not counted (default 1)
  --retries N           repeat a short run disturbed by other processes up to N times (default 2;
                        0 with --quick); the least disturbed attempt is kept
  --other-load-limit P  "disturbed": other processes used more than P % of a CPU (default 10)
  --quiet-wait S        before each run, wait up to S s for other processes to go below that
                        limit (default 20; 0 with --quick)
  --quiet-budget S      at most S s of such waiting in the whole run (default 300)
  --servers LIST        subset of xscoap,node-coap,rawcoap
  --coapbench BIN       a built coapbench (or $COAPBENCH)
  --coapbench-dir DIR   coapbench sources (or $COAPBENCH_DIR; default REPO/../shared/tools/coapbench)
  --gen-cpu N --srv-cpu N   CPUs for taskset (default 0 and 1)
  --no-busy             let the generator sleep in epoll_wait (default: busy-poll, -b)
  --write [FILE]        write the report into FILE (default BENCHMARKS.md) between the
                        <!-- bench:begin --> / <!-- bench:end --> markers (text outside is kept)
  --json FILE           also write all raw results as JSON
  --from-json FILE      no measuring: print (and --write) the report of a run saved with --json
`;

function parseArgs(argv) {
  const o = {
    quick: false, long: false, profile: false, codec: true, server: true, fleet: true, oscore: true,
    windows: [1, 16, 64], reps: 3, duration: 4, warmup: 1, servers: null,
    coapbench: undefined, coapbenchDir: undefined, genCpu: 0, srvCpu: 1, busy: true,
    longSeconds: 60, segment: 10, profileSeconds: 10, write: null, json: null,
    retries: 2, foreignLimit: 10, quietWait: 20, quietBudget: 300,
  };
  const explicit = new Set();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = () => {
      const v = Number(val());
      if (!(v > 0)) throw new Error(`${a} needs a positive number`);
      explicit.add(a);
      return v;
    };
    switch (a) {
      case '-h': case '--help': process.stdout.write(HELP); process.exit(0); break;
      case '--quick': o.quick = true; break;
      case '--long': o.long = true; break;
      case '--profile': o.profile = true; break;
      case '--codec-only': o.server = false; o.fleet = false; o.oscore = false; break;
      case '--server-only': o.codec = false; o.fleet = false; o.oscore = false; break;
      case '--fleet-only': o.codec = false; o.server = false; o.oscore = false; break;
      case '--no-fleet': o.fleet = false; break;
      case '--no-oscore': o.oscore = false; break;
      case '--oscore-only': o.codec = false; o.server = false; o.fleet = false; o.oscore = true; break;
      case '--windows': o.windows = val().split(',').map(Number); if (o.windows.some((w) => !(w >= 1 && w <= 65535))) throw new Error('bad --windows'); break;
      case '--reps': o.reps = Math.round(num()); break;
      case '--duration': o.duration = num(); break;
      case '--warmup': o.warmup = num(); break;
      case '--long-seconds': o.longSeconds = num(); break;
      case '--segment': o.segment = num(); break;
      case '--profile-seconds': o.profileSeconds = num(); break;
      case '--retries': o.retries = Math.max(0, Math.round(Number(val()))); break;
      case '--other-load-limit': o.foreignLimit = num(); break;
      case '--quiet-wait': o.quietWait = Math.max(0, Number(val())); break;
      case '--quiet-budget': o.quietBudget = Math.max(0, Number(val())); break;
      case '--servers': o.servers = val().split(','); break;
      case '--coapbench': o.coapbench = val(); break;
      case '--coapbench-dir': o.coapbenchDir = val(); break;
      case '--gen-cpu': o.genCpu = Number(val()); break;
      case '--srv-cpu': o.srvCpu = Number(val()); break;
      case '--no-busy': o.busy = false; break;
      case '--write': o.write = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'BENCHMARKS.md'; break;
      case '--json': o.json = val(); break;
      case '--from-json': o.fromJson = val(); break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (o.quick) {
    if (!explicit.has('--reps')) o.reps = 1;
    if (!explicit.has('--duration')) o.duration = 1;
    if (!explicit.has('--warmup')) o.warmup = 0.3;
    if (!explicit.has('--long-seconds')) o.longSeconds = 3;
    if (!explicit.has('--segment')) o.segment = 1;
    if (!explicit.has('--profile-seconds')) o.profileSeconds = 2;
  }
  return o;
}

/** Copies build/ and bin/ into a private directory (node_modules linked); returns its path. */
function snapshot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xscoap-bench-snap-'));
  fs.cpSync(path.join(REPO, 'build'), path.join(dir, 'build'), { recursive: true });
  fs.cpSync(path.join(REPO, 'bin'), path.join(dir, 'bin'), { recursive: true });
  // The fleet reads the sensor example's manifests (and the root one they include).
  fs.cpSync(path.join(REPO, 'examples'), path.join(dir, 'examples'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'manifest.json'), path.join(dir, 'manifest.json'));
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function machine() {
  let model = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch {}
  const ver = (p) => {
    try { return JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', p, 'package.json'), 'utf8')).version; } catch { return '?'; }
  };
  let commit = '';
  try {
    const head = fs.readFileSync(path.join(REPO, '.git', 'HEAD'), 'utf8').trim();
    commit = head.startsWith('ref: ') ? fs.readFileSync(path.join(REPO, '.git', head.slice(5)), 'utf8').trim() : head;
  } catch {}
  let dirty = [];
  try {
    const r = spawnSync('git', ['status', '--porcelain', '--', 'modules', 'hosts'], { cwd: REPO, encoding: 'utf8', timeout: 5000 });
    if (r.status === 0) dirty = r.stdout.split('\n').filter(Boolean).map((l) => l.slice(3));
  } catch {}
  return {
    dirty,
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu: model,
    node: process.version,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    coap: ver('coap'),
    coapPacket: ver('coap-packet'),
    commit: commit.slice(0, 12),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const f0 = (v) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');
const f2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const pct = (v) => (Number.isFinite(v) ? (v * 100).toFixed(0) + ' %' : 'n/a');
const mb = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : 'n/a');
const ops = (v) => (v >= 1e6 ? (v / 1e6).toFixed(2) + 'M' : (v / 1e3).toFixed(0) + 'k');
const yes = (b) => (b ? 'yes' : '**NO**');

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n${HELP}`);
    return 2;
  }
  if (!fs.existsSync(path.join(REPO, 'build/modules/coap/wire/view.js'))) {
    process.stderr.write('error: build/ is missing: run `npm run bench` (it builds first) or `npx tsc -p tsconfig.json`\n');
    return 2;
  }
  const log = (s) => process.stdout.write(s + '\n');
  if (o.fromJson) return reportFromJson(o, log);
  const m = machine();
  const notes = [];
  // Other people may rebuild build/ while this runs (npm test builds): every server start and
  // the codec use one snapshot of build/ and bin/ taken now.
  const snap = snapshot();
  process.on('exit', () => fs.rmSync(snap, { recursive: true, force: true }));
  let bench = null; // set once servers run: a signal then stops them (by PID) before exiting
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { bench?.killAll(); process.exit(130); });
  if (m.dirty.length) notes.push(`The working tree had uncommitted changes in ${m.dirty.length} file(s) under modules/ or hosts/ (${m.dirty.slice(0, 6).join(', ')}${m.dirty.length > 6 ? ', ...' : ''}): the figures are for the tree as built at the start of the run, not exactly commit ${m.commit}.`);
  const args = process.argv.slice(2);
  const via = process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args.length ? ' --' : ''}` : 'node bench/run.mjs';
  const res = { machine: m, options: o, notes, commandLine: `${via}${args.length ? ' ' + args.join(' ') : ''}` };
  log(`xscoap bench ${o.quick ? '(quick) ' : ''}${o.long ? '(long) ' : ''}- ${m.nproc} CPUs, ${m.cpu}, node ${m.node}, ${m.kernel}`);

  // ---------------------------------------------------------------- 1. codec
  if (o.codec) {
    const { runCodec } = await import('./codec.mjs');
    if (!o.quick) {
      const w = await waitSystemQuiet(o.foreignLimit, o.quietWait * 1000);
      if (w > 1000) notes.push(`Waited ${(w / 1000).toFixed(0)} s for other processes to quieten down before the codec runs.`);
    }
    log('\n== codec (ops/s, median of rounds; ratio = xscoap / coap-packet)');
    res.codec = await runCodec(o.quick ? { buildDir: path.join(snap, 'build'), rounds: 3, roundSeconds: 0.05, warmupSeconds: 0.1, log } : { buildDir: path.join(snap, 'build'), rounds: 7, roundSeconds: 0.25, warmupSeconds: 0.5, log });
  }

  if (o.codec) {
    const { runInproc } = await import('./inproc.mjs');
    if (!o.quick) await waitSystemQuiet(o.foreignLimit, o.quietWait * 1000);
    log('\n== server stack in process (no socket)');
    res.inproc = await runInproc({ buildDir: path.join(snap, 'build'), rounds: o.quick ? 3 : 7, perRound: o.quick ? 100000 : 500000, log });
  }

  // ---------------------------------------------------------------- 2. servers
  if (o.server) {
    const tasksetPath = have('taskset');
    if (!tasksetPath) notes.push('taskset (util-linux) not found: generator and server were NOT pinned to separate CPUs; figures are less comparable.');
    if (m.nproc < 2) notes.push(`only ${m.nproc} CPU: generator and server share it.`);
    const cb = findCoapbench(REPO, o);
    res.coapbench = { dir: cb.dir, bin: cb.bin, buildCmd: cb.buildCmd };
    if (cb.error) {
      notes.push(`server benchmark skipped: ${cb.error}`);
      log(`\n== servers: SKIPPED: ${cb.error}`);
    } else {
      const node = process.execPath;
      const defs = [
        { id: 'xscoap', label: 'xscoap (Node host, `xscoap serve`)', path: '/hello', argv: (port, flags = []) => [node, ...flags, path.join(snap, 'bin/xscoap.js'), 'serve', '--bind', `127.0.0.1:${port}`] },
        { id: 'node-coap', label: `node-coap ${m.coap} (\`coap.createServer\`)`, path: '/hello', argv: (port, flags = []) => [node, ...flags, 'bench/servers/nodecoap.mjs', String(port), '127.0.0.1'] },
      ];
      if (cb.rawServer) defs.push({ id: 'rawcoap', label: 'rawcoap.mjs (bare dgram ceiling)', path: '/hello', argv: (port, flags = []) => [node, ...flags, cb.rawServer, String(port), '127.0.0.1'] });
      else notes.push('rawcoap.mjs not found next to coapbench: no ceiling measured.');
      const servers = o.servers ? defs.filter((d) => o.servers.includes(d.id)) : defs;
      bench = new Bench({ repo: REPO, coapbench: cb.bin, taskset: !!tasksetPath, genCpu: o.genCpu, srvCpu: o.srvCpu, busy: o.busy, timeoutMs: 2000, quietBudgetMs: o.quietBudget * 1000 });
      res.bench = bench;
      log(`\n== servers: GET /hello, CON, windows ${o.windows.join('/')}, ${o.reps} fresh process(es) each, ${o.warmup} s warm-up + ${o.duration} s per run` +
        (tasksetPath ? `, generator on CPU ${o.genCpu}, server on CPU ${o.srvCpu}` : ', NOT pinned (no taskset)'));
      log(`   coapbench: ${cb.bin}${cb.buildCmd ? ` (built: ${cb.buildCmd})` : ''}`);
      res.matrix = await runMatrix(bench, servers, { windows: o.windows, reps: o.reps, warm: o.warmup, dur: o.duration, log, retries: o.quick ? 0 : o.retries, foreignLimit: o.foreignLimit, quietWaitMs: o.quick ? 0 : o.quietWait * 1000 });
      if (res.matrix.waitedMs > 1000) notes.push(`Waited ${(res.matrix.waitedMs / 1000).toFixed(0)} s in total for other processes to quieten down before short runs.`);
      if (o.long) {
        log(`\n== sustained: ${o.longSeconds} s per server and window as ${o.segment}-s segments, RSS sampled every second`);
        res.long = await runLong(bench, servers, { windows: o.windows, total: o.longSeconds, seg: o.segment, warm: o.warmup, log, foreignLimit: o.foreignLimit, quietWaitMs: o.quick ? 0 : o.quietWait * 1000, prewarm: o.quick ? 1 : 10 });
      }
      if (o.profile) {
        res.profiles = [];
        const profiled = [defs[0]];
        // rawcoap.mjs for reference (what the bare dgram path costs); it has no SIGTERM handler,
        // so it is wrapped in one that exits normally (the profile is written at exit).
        if (cb.rawServer) {
          profiled.push({
            id: 'rawcoap', path: '/hello',
            argv: (port, flags = []) => [node, ...flags, '--input-type=module', '-e',
              `process.on('SIGTERM', () => process.exit(0)); await import(${JSON.stringify(pathToFileURL(cb.rawServer).href)});`, 'x', String(port), '127.0.0.1'],
          });
        }
        for (const def of profiled) for (const w of o.windows) {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xscoap-prof-'));
          const pdef = { ...def, argv: (port) => def.argv(port, ['--cpu-prof', '--cpu-prof-dir', dir]) };
          log(`\n== CPU profile of the ${def.id} server, window ${w}, ${o.profileSeconds} s under load (${dir})`);
          const srv = await bench.start(pdef);
          let j;
          try {
            j = await bench.measure(srv, w, o.warmup, o.profileSeconds);
          } finally {
            await bench.stop(srv);
          }
          const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
          if (!file) { log('   no profile written'); continue; }
          const summary = summarizeProfile(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
          log(`   under profiling: ${fmtRps(j.rps)} req/s (the profiler slows the server down)`);
          log(formatSummary(summary, 25).replace(/^/gm, '   '));
          res.profiles.push({ server: def.id, window: w, file: path.join(dir, file), rps: j.rps, summary: { ...summary, self: summary.self.slice(0, 40), inclusive: summary.inclusive.slice(0, 40), files: summary.files.slice(0, 20) } });
        }
      }
    }
  }

  // ---------------------------------------------------------------- 3. device fleet
  if (o.fleet) {
    const { runFleet } = await import('./fleet.mjs');
    res.fleet = await runFleet({ buildDir: path.join(snap, 'build'), binDir: snap, quick: o.quick, log });
  }

  // ---------------------------------------------------------------- 4. OSCORE
  if (o.oscore) {
    const { oscoreServerBench } = await import('./oscore-server.mjs');
    log('OSCORE: xscoap serve, plain and with --credentials, load from the xscoap client in a separate process');
    res.oscoreServer = await oscoreServerBench({ windows: [1, 16], reps: o.reps, duration: o.duration, warmup: o.warmup, log, root: snap, genCpu: o.genCpu, srvCpu: o.srvCpu });
    log('OSCORE: protect/unprotect round trips, allocation, XS operations (bench/oscore.mjs)');
    const r = spawnSync(process.execPath, [path.join(REPO, 'bench/oscore.mjs'), '--json', ...(o.quick ? ['--seconds', '1', '--xs-ops', '50'] : [])], { encoding: 'utf8', timeout: 900000, cwd: REPO });
    const text = (r.stdout || '').slice((r.stdout || '').indexOf('{'));
    try {
      res.oscoreMessages = JSON.parse(text);
    } catch {
      notes.push('bench/oscore.mjs failed: ' + (r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' '));
    }
  }

  // ---------------------------------------------------------------- 5. report
  res.commands = res.bench?.commands ?? [];
  delete res.bench;
  output(res, o, log);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(res, null, 1));
  return 0;
}

function reportFromJson(o, log) {
  const res = JSON.parse(fs.readFileSync(o.fromJson, 'utf8'));
  const ro = { ...res.options, write: o.write };
  if (res.matrix) {
    const ids = [...new Set(res.matrix.runs.map((r) => r.server))];
    res.matrix.cells = summarizeMatrix(res.matrix.runs, ids, ro.windows, ro.foreignLimit);
  }
  if (res.long) {
    const raw = res.long.raw ?? res.long.cells;
    res.long.cells = raw.map((c) => summarizeLong({ seg: ro.segment, warm: ro.warmup, ...c }, ro.foreignLimit));
  }
  output(res, ro, log);
  return 0;
}

function output(res, o, log) {
  const md = report(res, o);
  log('\n' + md);
  if (o.write) {
    const file = path.resolve(REPO, o.write);
    const begin = '<!-- bench:begin -->';
    const end = '<!-- bench:end -->';
    const block = `${begin}\n${md}\n${end}`;
    let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`;
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + end.length) : text + '\n' + block + '\n';
    fs.writeFileSync(file, text);
    log(`(report written into ${path.relative(process.cwd(), file) || file})`);
  }
}

const ids0 = (cells) => [...new Set(cells.map((c) => c.server))];

/** The OSCORE part of the report: the server over OSCORE next to plain CoAP, and bench/oscore.mjs. */
function oscoreReport(res) {
  const L = ['#### OSCORE (RFC 8613)', ''];
  const s = res.oscoreServer;
  if (s) {
    L.push(`Server requests/s on loopback over OSCORE next to plain CoAP: \`xscoap serve\` (plain, and with \`--credentials\`), GET /hello, the load from the xscoap client in a separate process (\`bench/oscore-load.mjs\`: the neutral generator coapbench cannot speak OSCORE) with WINDOW requests in flight${s.taskset ? ', server and client pinned to different CPUs' : ' (no taskset: unpinned)'}; ${s.reps} fresh servers per cell, ${s.warmup} s warm-up + ${s.duration} s measured, medians. The server's CPU time in the measured seconds (/proc/PID/stat) gives its µs per request; "capacity" is requests per second of server CPU, the client's own cost taken out (the client does as much OSCORE work per request as the server, so it limits the achieved rate).`, '');
    const f = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en') : 'n/a');
    L.push('| window | plain req/s | OSCORE req/s | server µs/request plain | server µs/request OSCORE | server capacity plain | server capacity OSCORE | OSCORE / plain |', '|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const w of s.windows) {
      const p = s.summary['plain/' + w];
      const q = s.summary['oscore/' + w];
      L.push(`| ${w} | ${f(p.rps)} (server ${f(p.srvCpuPct)} % CPU) | ${f(q.rps)} (server ${f(q.srvCpuPct)} % CPU) | ${p.srvUsPerReq.toFixed(1)} | ${q.srvUsPerReq.toFixed(1)} | ${f(1e6 / p.srvUsPerReq)} | ${f(1e6 / q.srvUsPerReq)} | ${(p.srvUsPerReq / q.srvUsPerReq).toFixed(2)} |`);
    }
    L.push('');
    if (s.commands) L.push(`Commands: \`${s.commands.oscore.server.join(' ').replace(/\S*xscoap-bench-snap-\w+\//g, '').replace(process.execPath, 'node')}\` and \`${s.commands.oscore.generator.join(' ').replace(process.execPath, 'node').replace(REPO + '/', '')}\` (plain: the same without the credentials).`, '');
  }
  const m = res.oscoreMessages;
  if (m) {
    const f = (x) => Math.round(x).toLocaleString('en');
    L.push(`OSCORE message processing alone (\`node bench/oscore.mjs\`): a round trip is protect request, unprotect request, protect response, unprotect response, ${m.payloadBytes}-byte payloads.`, '');
    L.push('| AEAD | round trips / s (Node) | V8 heap bytes allocated per round trip (per message operation) |', '|---|---:|---:|');
    L.push(`| portable AES-CCM (noble AES block) | ${f(m.portable.roundTripsPerSecond)} | ${f(m.portable.bytesPerRoundTrip)} (${f(m.portable.bytesPerRoundTrip / 4)}) |`);
    L.push(`| Node native aes-128-ccm | ${f(m.native.roundTripsPerSecond)} | ${f(m.native.bytesPerRoundTrip)} (${f(m.native.bytesPerRoundTrip / 4)}) |`, '');
    if (m.xs && !m.xs.skipped) {
      L.push('On the XS engine (xsnap-worker, portable AES-CCM), per operation:', '', '| operation | XS operations | XS slots allocated (garbage) |', '|---|---:|---:|');
      for (const k of ['protectRequest', 'unprotectRequest', 'protectResponse', 'unprotectResponse']) L.push(`| ${k} | ${f(m.xs[k].compute)} | ${m.xs[k].slots.toFixed(1)} |`);
      L.push('', `Live XS slots after a collection: ${m.xs.liveSlotsBefore} before and ${m.xs.liveSlotsAfter10N} after ${10 * m.xs.operations} more round trips (nothing retained). The garbage is noble's: 5 slots per AES block (the result object of its block function) and a few per payload view.`, '');
    }
  }
  return L.join('\n');
}

function report(res, o) {
  const m = res.machine;
  const L = [];
  const targets = [];
  L.push(`### Run of ${m.date}${o.quick ? ' (--quick: rough figures)' : ''}`, '');
  L.push(`Machine: ${m.nproc} CPUs (nproc), \`${m.cpu}\` (/proc/cpuinfo), node ${m.node}, ${m.kernel}; coap ${m.coap}, coap-packet ${m.coapPacket}; xscoap commit ${m.commit || 'unknown'}.`, '');
  L.push(`Command: \`${res.commandLine}\``, '');

  if (res.codec) {
    const c = res.codec;
    L.push(`#### Codec (ops/s, median of ${c.rounds} rounds of ~${c.roundSeconds} s after ${c.warmupSeconds} s warm-up; same bytes both sides)`, '');
    for (const msg of c.messages) L.push(`- \`${msg.id}\`: ${msg.label}, ${msg.length} bytes: \`${msg.hex}\``);
    L.push('', '| operation | message | xscoap | coap-packet | xscoap / coap-packet (min-max over rounds) | target ≥ 3× |', '|---|---|---:|---:|---:|---|');
    for (const r of c.rows) {
      const ok = r.ratio >= 3;
      if (!r.informative) targets.push({ what: `codec ${r.op} ${r.msg} ≥ 3× coap-packet`, ok, value: `${f2(r.ratio)}×` });
      L.push(`| ${r.op}${r.informative ? ' (info)' : ''} | ${r.msg} | ${ops(r.xscoap)} | ${ops(r.coapPacket)} | ${f2(r.ratio)}× (${f2(r.ratioMin)}-${f2(r.ratioMax)}) | ${r.informative ? '-' : yes(ok)} |`);
    }
    L.push('');
  }

  if (res.inproc) {
    const p = res.inproc;
    L.push(`#### Server stack in process (informative)`, '', `\`Endpoint.receiveDatagram\` with the demo router and a counting fake socket, CON GET /hello with a new (port, MID) each time (bench/inproc.mjs): **${f2(p.usPerReq)} µs per request** (median of ${p.rounds} rounds of ${p.perRound}; ${f2(p.min)}-${f2(p.max)}), i.e. ${(p.reqPerSec / 1e6).toFixed(2)}M req/s on one core, ${f0(p.replyBytes)}-byte replies. This is the portable stack's own cost, without node:dgram and the kernel.`, '');
  }

  if (res.matrix) {
    const cells = res.matrix.cells;
    const ids = [...new Set(Object.values(cells).map((c) => c.server))];
    L.push(`#### Servers: GET /hello, CON, req/s (median of ${o.reps} fresh process(es); ${o.warmup} s warm-up + ${o.duration} s each)`, '');
    L.push('| server | window | req/s (min-max) | p50 µs | p99 µs | timeouts | errors | server CPU | server CPU µs/req | other load | server RSS MB |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const id of ids) for (const w of o.windows) {
      const c = cells[`${id}/${w}`];
      L.push(`| ${id} | ${w} | ${fmtRps(c.rps)} (${fmtRps(c.rpsMin)}-${fmtRps(c.rpsMax)})${c.total > 1 ? ` [${c.n}/${c.total}]` : ''} | ${f0(c.p50)} | ${f0(c.p99)} | ${c.timeouts} | ${c.errors} | ${f0(c.srvCpu)} % | ${f1(c.cpuUs)} | ${f0(c.foreign)} %${c.allDisturbed ? ' (**all disturbed**)' : ''} | ${mb(c.rssKb)} |`);
    }
    L.push('', '"server CPU": the server process\'s CPU time over the run (100 % = its core saturated); "µs/req": that time per answered request. "other load": CPU used by other processes on the machine during the run, in % of one CPU (median; from /proc/stat minus server and generator); runs above ' + o.foreignLimit + ' % count as disturbed and were repeated up to ' + (o.quick ? 0 : o.retries) + ' times (keeping the least disturbed attempt); medians are over the undisturbed processes [used/total] when there is any.');
    if (ids.includes('xscoap')) {
      L.push('', '| window | xscoap / rawcoap ceiling (req/s) | xscoap / node-coap (req/s) | server CPU per request, rawcoap / xscoap | target ≥ 60 % of ceiling |', '|---:|---:|---:|---:|---|');
      for (const w of o.windows) {
        const x = cells[`xscoap/${w}`];
        const raw = cells[`rawcoap/${w}`];
        const nc = cells[`node-coap/${w}`];
        const rr = raw ? x.rps / raw.rps : NaN;
        if (raw) targets.push({ what: `server window ${w} ≥ 60 % of ceiling`, ok: rr >= 0.6, value: pct(rr) });
        L.push(`| ${w} | ${pct(rr)} | ${nc ? f2(x.rps / nc.rps) + '×' : 'n/a'} | ${raw ? pct(raw.cpuUs / x.cpuUs) : 'n/a'} | ${raw ? yes(rr >= 0.6) : 'n/a'} |`);
      }
    }
    L.push('');
  }

  if (res.long) {
    const { cells, hwm } = res.long;
    const lim = o.foreignLimit;
    L.push(`#### Sustained: ${o.longSeconds} s per server and window (back-to-back ${o.segment}-s coapbench segments on one server process; RSS from /proc/PID/status every second)`, '');
    if (res.long.prewarmed) {
      L.push('Each server process was first pre-warmed (not counted): ' + Object.entries(res.long.prewarmed).map(([k, v]) => `${k} ${v.seconds} s at window ${v.window}, ${fmtRps(v.rps)} req/s, RSS ${mb(v.startRssKb)} → ${mb(v.rssKb)} MB`).join('; ') + '; then the windows below ran one after the other on the same process.', '');
    }
    L.push(`"calm": segments during which other processes used at most ${lim} % of a CPU; a slowdown is judged on calm segments only. "CPU µs/req": the server's own CPU time per answered request, first → last segment (it rises under other load too: less batching, colder caches).`, '');
    L.push('| server | window | req/s overall | req/s first → last segment | calm segments: n, median req/s, first → last | CPU µs/req first → last | p50 µs (median) | p99 µs (worst) | timeouts | errors | other load (median, max) | RSS MB after 1st segment → end (min-max) | RSS slope after 1st segment |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const c of cells) {
      if (!c.segments.length) { L.push(`| ${c.server} | ${c.window} | **server died** | | | | | | | | | | |`); continue; }
      const calm = c.calmSegments ? `${c.calmSegments}, ${fmtRps(c.calmRps)}, ${fmtRps(c.calmFirstRps)} → ${fmtRps(c.calmLastRps)}` : '0';
      L.push(`| ${c.server}${c.died ? ' (**died**)' : ''} | ${c.window} | ${fmtRps(c.rps)} | ${fmtRps(c.firstRps)} → ${fmtRps(c.lastRps)} | ${calm} | ${f1(c.firstCpuUs)} → ${f1(c.lastCpuUs)} | ${f0(c.p50)} | ${f0(c.p99)} | ${c.timeouts} | ${c.errors} | ${f0(c.foreign)} %, ${f0(c.foreignMax)} % | ${mb(c.rssAfterFirstKb)} → ${mb(c.rssEndKb)} (${mb(c.rssMinKb)}-${mb(c.rssMaxKb)}) | ${f0(c.rssSlopeKbPerMin)} kB/min |`);
    }
    L.push('', `Peak RSS (VmHWM) per server process: ${Object.entries(hwm).map(([k, v]) => `${k} ${mb(v)} MB${cells.some((c) => c.server === k && c.died) ? ' (process died: largest sample)' : ''}`).join(', ')}.`);
    L.push('', 'RSS (MB) at the end of each segment, windows in order:', '', ...ids0(cells).map((id) => `- ${id}: ${cells.filter((c) => c.server === id).map((c) => `w${c.window} ${(c.rssSeries ?? c.segments.map((j) => j.rssEndKb)).map(mb).join(' ')}`).join(' | ')}`));
    const perSeg = cells.filter((c) => c.segments.length).map((c) => `${c.server} w${c.window}: ${c.segments.map((j) => `${fmtRps(j.rps)}${j.foreignPct > lim ? '*' : ''}`).join(' ')}`);
    L.push('', `Per-segment req/s (* = disturbed: other load > ${lim} %):`, '', ...perSeg.map((x) => `- ${x}`), '');
    for (const c of cells.filter((c) => c.server === 'xscoap')) {
      if (!c.segments.length) { targets.push({ what: `sustained window ${c.window}`, ok: false, value: 'server died' }); continue; }
      const raw = cells.find((d) => d.server === 'rawcoap' && d.window === c.window && d.segments.length);
      if (raw) {
        // Calm against calm when both have calm segments; else overall against overall.
        const both = c.calmSegments > 0 && raw.calmSegments > 0;
        const r = both ? c.calmRps / raw.calmRps : c.rps / raw.rps;
        targets.push({ what: `sustained window ${c.window} ≥ 60 % of ceiling (${both ? 'calm segments' : 'all segments, disturbed'})`, ok: r >= 0.6, value: pct(r) });
      }
      targets.push({ what: `sustained window ${c.window}: no timeouts`, ok: c.timeouts === 0, value: String(c.timeouts) });
      // A slowdown of the server itself shows both as fewer req/s and as more server CPU per
      // request; single 10-s segments on this shared VM vary by 10-20 % in req/s alone.
      const what = `sustained window ${c.window}: no slowdown (last calm segment ≥ 90 % of the first calm one in req/s, or ≤ 110 % in server CPU µs/req)`;
      if (c.calmSegments >= 2) {
        const rr = c.calmLastRps / c.calmFirstRps;
        const cr = c.calmLastCpuUs / c.calmFirstCpuUs;
        targets.push({ what, ok: rr >= 0.9 || cr <= 1.1, value: `${pct(rr)} req/s, ${pct(cr)} µs/req` });
      } else targets.push({ what, ok: null, value: `${c.calmSegments} calm segment(s)` });
      const growth = c.rssEndKb - c.rssAfterFirstKb;
      targets.push({ what: `sustained window ${c.window}: memory flat (RSS growth after 1st segment ≤ 5 % + 2 MB)`, ok: growth <= 0.05 * c.rssAfterFirstKb + 2048, value: `${growth >= 0 ? '+' : ''}${mb(growth)} MB` });
    }
  }

  if (res.profiles?.length) {
    L.push('#### CPU profiles under load (node --cpu-prof; % of the server\'s busy time)', '');
    L.push('Where the time goes. "send syscall": self time of node:dgram `doSend`, i.e. the `sendmsg` system call including loopback delivery to the generator (native time is charged to the JS function that makes the call); "(program)": native code outside JS (libuv polling, `recvmsg`, V8 runtime); "regexp": V8 regexp code (the isIP/isIPv4/isIPv6 checks); "builtins": native helpers without a file (performance.now, runMicrotasks, ...). The profiler itself slows the server down.', '');
    L.push('| server | window | req/s profiled | send syscall | (program) | other node:* JS | xscoap stack (build/modules) | xscoap Node host (build/hosts) | server script | regexp | builtins | GC |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const p of res.profiles) {
      const c = p.summary.categories ?? categorize(p.summary.self, p.summary.files);
      L.push(`| ${p.server} | ${p.window} | ${fmtRps(p.rps)} | ${f1(c.send)} | ${f1(c.program)} | ${f1(c.node)} | ${f1(c.stack)} | ${f1(c.host)} | ${f1(c.script)} | ${f1(c.regexp)} | ${f1(c.other)} | ${f1(c.gc)} |`);
    }
    L.push('');
    for (const p of res.profiles) {
      L.push(`**${p.server}**, window ${p.window}: top self time`, '');
      L.push('| self % | function |', '|---:|---|');
      for (const r of p.summary.self.slice(0, 12)) L.push(`| ${f1(r.pct)} | \`${r.fn}\` |`);
      const incl = p.summary.inclusive.filter((r) => /build\/|\.mjs:|bench\//.test(r.fn)).slice(0, 10);
      if (incl.length) L.push('', 'Inclusive (the server\'s own JS, synchronous part of a request; the send system call runs later from a nextTick and is not included): ' + incl.map((r) => `\`${r.fn}\` ${f1(r.pct)} %`).join(', ') + '.');
      L.push('');
    }
  }

  if (targets.length) {
    L.push('#### Targets (as measured in this run)', '', '| target | measured | met |', '|---|---:|---|');
    for (const t of targets) L.push(`| ${t.what} | ${t.value} | ${t.ok === null ? 'not measurable in this run (other load)' : yes(t.ok)} |`);
    L.push('');
  }

  if (res.fleet) L.push(fleetReport(res.fleet).replace(/^## .*/, '#### Device fleet (`xscoap sim`)'), '');

  if (res.oscoreServer || res.oscoreMessages) L.push(oscoreReport(res), '');

  if (res.commands?.length) {
    L.push('#### Exact commands', '');
    if (res.coapbench?.buildCmd) L.push(`- build: \`${res.coapbench.buildCmd}\``);
    const seen = new Set();
    for (const c of res.commands) {
      const line = c.line.replace(process.execPath, 'node').replace(/\/\S*xscoap-bench-snap-\w+\//, '').replace(REPO + '/', '');
      const k = c.kind + line.replace(/\b\d{4,5}\b/g, 'PORT');
      if (seen.has(k)) continue;
      seen.add(k);
      L.push(`- ${c.kind}: \`${line}\``);
    }
    const anyGen = res.matrix?.runs[0]?.argv;
    if (anyGen) {
      for (const w of o.windows) {
        const r = res.matrix.runs.find((x) => x.window === w);
        L.push(`- generator, window ${w}: \`${r.argv.join(' ').replace(REPO + '/', '')}\``);
      }
    }
    L.push('- `bin/xscoap.js` and `build/` are run from a copy taken at the start of the run (identical files; it keeps concurrent rebuilds of build/ out of the measurement).');
    L.push('- ports: a free UDP port on 127.0.0.1 is picked for every server start; readiness is probed with `coapbench -j -N 1 -d 2 -t 250 URL` until a 2.xx answer.', '');
  }
  if (res.notes.length) L.push('#### Notes', '', ...res.notes.map((n) => `- ${n}`), '');
  return L.join('\n');
}

// After the codec and server figures: the 64 KiB Block2 transfer against node-coap
// (bench/block2.mjs) and the example device's request loop on the XS engine
// (bench/xs-device.mjs), each printing its own table (BENCHMARKS.md quotes them).
function extras(code) {
  const argv = process.argv.slice(2);
  if (code !== 0 || argv.includes('--from-json') || argv.includes('--help') || argv.includes('-h')) return code;
  const quick = argv.includes('--quick');
  for (const args of [['bench/block2.mjs', '--transfers', quick ? '20' : '100'], ['bench/xs-device.mjs', '--requests', quick ? '100' : '400']]) {
    process.stdout.write(`\n==> node ${args.join(' ')}\n`);
    const r = spawnSync(process.execPath, args, { cwd: REPO, stdio: 'inherit', timeout: 600000 });
    if (r.status !== 0) {
      process.stderr.write(`bench: ${args[0]} failed (status ${r.status})\n`);
      code = 1;
    }
  }
  return code;
}

main().then((code) => { process.exitCode = extras(code); }, (e) => { process.stderr.write(`bench failed: ${e.stack ?? e}\n`); process.exitCode = 1; });
