// bench/fleet.mjs: the simulated device fleet (`xscoap sim`, issue 10), measured in one run:
//   1. devices one process sustains, each device's temperature observed by one client at one
//      notification per second: xscoap's fleet (sim/fleet/, the sensor example with the ESP32
//      limits, registered with a resource directory) against a fleet of node-coap servers with
//      the same resources, at growing N, each configuration in a fresh process
//      (bench/fleet-child.mjs); "sustained" = at least 98 % of the expected notifications
//      arrive and the main thread's event-loop delay stays under 100 ms at p99;
//   2. resident memory per simulated device (RSS growth / N) in the same runs;
//   3. the time from starting `xscoap sim` (node bin/xscoap.js sim: process start, module
//      loading, directory, devices) to every device registered, for the default 3 devices and
//      for 1000 (npm start adds `npm run build` before it).
// Usage: node bench/fleet.mjs [--quick] [--devices 1000,2000,4000] [--seconds S] [--warmup S]
//        [--workers W] [--json]; exported runFleet() is called by bench/run.mjs.
//        node bench/fleet.mjs --oscore [--devices 1000] [--workers W] ...: `xscoap sim` without
//        and with --oscore (each device's security contexts, observed inside OSCORE), the same
//        N in fresh processes, for the RSS per device of OSCORE (no node-coap, no start-up times).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');

/**
 * A base port with `span` ports above it: above 20000 (other tests use lower ones) and, where
 * the range fits, below Linux's ephemeral ports (32768 up), which other sockets take at random.
 */
function randomBase(span) {
  const top = span < 12000 ? 32768 : 65535;
  return 20000 + Math.floor(Math.random() * (top - 20000 - span));
}

function child(buildDir, impl, n, seconds, warmup, workers) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(HERE, 'fleet-child.mjs'), impl, String(n), String(seconds), String(warmup), String(workers), String(randomBase(n + 1)), buildDir], {
      encoding: 'utf8',
      timeout: (seconds + warmup + 120) * 1000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const line = (r.stdout || '').split('\n').find((l) => l.startsWith('{'));
    if (!line) return { impl, devices: n, workers, error: `exit ${r.status} ${r.signal ?? ''}: ${(r.stderr || '').slice(0, 300)}` };
    const j = JSON.parse(line);
    if (j.error && /EADDRINUSE|in use/.test(j.error)) continue;
    return j;
  }
  return { impl, devices: n, workers, error: 'no free port range in 4 attempts' };
}

/** Wall time from spawning `xscoap sim --devices N` to its "registered N/N" line (a new port range when one is taken). */
async function timeToRegistered(binDir, n, viaNpm = false) {
  for (let attempt = 0; ; attempt++) {
    const r = await timeToRegisteredOnce(binDir, n, viaNpm);
    if (!r.error || !/in use/.test(r.error) || attempt >= 3) return r;
  }
}

function timeToRegisteredOnce(binDir, n, viaNpm = false) {
  return new Promise((resolve) => {
    const base = randomBase(n + 1);
    const t0 = performance.now();
    // `npm start -- ARGS` builds, then runs xscoap sim ARGS; its own process group, so the
    // Ctrl-C below reaches npm, the shell and node alike.
    const c = viaNpm
      ? spawn('npm', ['start', '--', '--devices', String(n), '--base-port', String(base)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
      : spawn(process.execPath, [path.join(binDir, 'bin/xscoap.js'), 'sim', '--devices', String(n), '--base-port', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const interrupt = () => {
      try {
        if (viaNpm) process.kill(-c.pid, 'SIGINT');
        else c.kill('SIGINT');
      } catch {
        // already gone
      }
    };
    let out = '';
    let err = '';
    let ms = -1;
    const timer = setTimeout(() => {
      try {
        if (viaNpm) process.kill(-c.pid, 'SIGKILL');
        else c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }, 120000);
    c.stdout.setEncoding('utf8').on('data', (s) => {
      out += s;
      if (ms < 0 && new RegExp(`registered ${n}/${n} with`).test(out)) {
        ms = performance.now() - t0;
        interrupt();
      }
    });
    c.stderr.setEncoding('utf8').on('data', (s) => (err += s));
    c.on('close', () => {
      clearTimeout(timer);
      resolve(ms >= 0 ? { devices: n, ms } : { devices: n, error: err.slice(0, 300) || 'no registered line' });
    });
  });
}

const median = (a) => {
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};

export async function runFleet({ buildDir = path.join(REPO, 'build'), binDir = REPO, quick = false, devices, seconds, warmup, workers = 2, log = (s) => process.stdout.write(s + '\n') } = {}) {
  const sizes = devices ?? (quick ? [200] : [1000, 2000, 4000, 8000]);
  const secs = seconds ?? (quick ? 3 : 20);
  const warm = warmup ?? (quick ? 2 : 10);
  const runs = [];
  log(`\n== fleet: devices observed at 1 notification/s each, ${warm} s warm-up + ${secs} s measured per run (fresh process each)`);
  for (const n of sizes) {
    for (const impl of ['xscoap', 'node-coap']) {
      const r = child(buildDir, impl, n, secs, warm, 1);
      runs.push(r);
      log(r.error ? `  ${impl} ${n}: ${r.error}` : `  ${impl.padEnd(9)} ${String(n).padStart(5)} devices: ${r.rate.toFixed(0)}/${n} notifications/s, CPU ${r.cpuPercent.toFixed(0)} %, RSS ${(r.rss / 1048576).toFixed(0)} MB (${(r.rssPerDevice / 1024).toFixed(1)} KiB/device), loop delay p99 ${r.eldP99Ms.toFixed(1)} ms`);
    }
  }
  if (workers > 1) {
    const n = sizes[sizes.length - 1];
    const r = child(buildDir, 'xscoap', n, secs, warm, workers);
    runs.push(r);
    log(r.error ? `  xscoap ${n} x${workers}: ${r.error}` : `  xscoap    ${String(n).padStart(5)} devices on ${workers} worker threads: ${r.rate.toFixed(0)}/${n} notifications/s, CPU ${r.cpuPercent.toFixed(0)} % (of one core), RSS ${(r.rss / 1048576).toFixed(0)} MB, main loop delay p99 ${r.eldP99Ms.toFixed(1)} ms`);
  }
  const startup = [];
  for (const n of quick ? [3] : [3, 1000]) {
    const times = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const t = await timeToRegistered(binDir, n);
      if (t.error) {
        log(`  xscoap sim --devices ${n}: ${t.error}`);
        break;
      }
      times.push(t.ms);
    }
    if (times.length) {
      startup.push({ devices: n, ms: median(times), runs: times.length });
      log(`  xscoap sim --devices ${n}: every device registered ${(median(times) / 1000).toFixed(2)} s after the process started (median of ${times.length})`);
    }
  }
  // What a user waits for after typing `npm start` (the TypeScript build included).
  const npm = await timeToRegistered(binDir, 3, true);
  if (npm.error) log(`  npm start: ${npm.error}`);
  else {
    startup.push({ devices: 3, ms: npm.ms, runs: 1, npm: true });
    log(`  npm start (build, then xscoap sim): every device registered ${(npm.ms / 1000).toFixed(2)} s after it started`);
  }
  return { runs, startup, seconds: secs, warmup: warm };
}

/** `xscoap sim` without and with --oscore at each N (and on `workers` threads at the largest). */
export async function runFleetOscore({ buildDir = path.join(REPO, 'build'), devices, seconds, warmup, workers = 2, log = (s) => process.stdout.write(s + '\n') } = {}) {
  const sizes = devices ?? [1000];
  const secs = seconds ?? 20;
  const warm = warmup ?? 10;
  const runs = [];
  log(`\n== fleet with and without OSCORE: ${warm} s warm-up + ${secs} s measured per run (fresh process each)`);
  const configs = sizes.map((n) => [n, 1]);
  if (workers > 1) configs.push([sizes[sizes.length - 1], workers]);
  for (const [n, w] of configs) {
    for (const impl of ['xscoap', 'xscoap-oscore']) {
      const r = child(buildDir, impl, n, secs, warm, w);
      runs.push(r);
      log(r.error ? `  ${impl} ${n} x${w}: ${r.error}` : `  ${impl.padEnd(13)} ${String(n).padStart(5)} devices, ${w} thread${w > 1 ? 's' : ''}: ${r.rate.toFixed(0)}/${n} notifications/s, CPU ${r.cpuPercent.toFixed(0)} %, RSS ${(r.rss / 1048576).toFixed(0)} MB (${(r.rssPerDevice / 1024).toFixed(1)} KiB/device), loop delay p99 ${r.eldP99Ms.toFixed(1)} ms`);
    }
  }
  return { runs, seconds: secs, warmup: warm };
}

/** The markdown table of runFleetOscore. */
export function fleetOscoreReport(f) {
  const L = ['| fleet | devices | threads | notifications/s (expected) | CPU | RSS | RSS per device | loop delay p99 | sustained |', '|---|---:|---:|---:|---:|---:|---:|---:|---|'];
  for (const r of f.runs) {
    const name = r.impl === 'xscoap' ? '`xscoap sim`' : '`xscoap sim --oscore`';
    if (r.error) L.push(`| ${name} | ${r.devices} | ${r.workers} | failed: ${r.error.replace(/\|/g, '/')} | | | | | no |`);
    else L.push(`| ${name} | ${r.devices} | ${r.workers} | ${r.rate.toFixed(0)} (${r.devices}) | ${r.cpuPercent.toFixed(0)} % | ${(r.rss / 1048576).toFixed(0)} MB | ${(r.rssPerDevice / 1024).toFixed(1)} KiB | ${r.eldP99Ms.toFixed(1)} ms | ${sustained(r) ? 'yes' : '**no**'} |`);
  }
  const ratios = [];
  for (const o of f.runs.filter((r) => r.impl === 'xscoap-oscore' && !r.error)) {
    const p = f.runs.find((r) => r.impl === 'xscoap' && r.devices === o.devices && r.workers === o.workers && !r.error);
    if (p) ratios.push(`${o.devices} devices on ${o.workers} thread${o.workers > 1 ? 's' : ''}: RSS per device ${(o.rssPerDevice / p.rssPerDevice).toFixed(2)}x (+${((o.rssPerDevice - p.rssPerDevice) / 1024).toFixed(1)} KiB), CPU ${(o.cpuPercent / p.cpuPercent).toFixed(2)}x`);
  }
  L.push('', '--oscore / plain, same run: ' + ratios.join('; ') + '.');
  return L.join('\n');
}

const sustained = (r) => !r.error && r.rate >= 0.98 * r.devices && r.eldP99Ms < 100;

/** The markdown section of the report. */
export function fleetReport(f) {
  const L = [];
  L.push('## Device fleet (`xscoap sim`, issue 10)', '');
  L.push(`Each device's temperature observed by one client at one notification per second; ${f.warmup} s warm-up, then ${f.seconds} s measured, each configuration in a fresh process (\`bench/fleet-child.mjs\`). xscoap: the fleet of \`xscoap sim\` (the sensor example with the ESP32 limits, each device on its own loopback port, registered with an in-process resource directory, observed by one xscoap client endpoint). node-coap: one node-coap server per device with the same resources, the observed temperature re-sent every second, observed by the same xscoap client endpoint. CPU is user + system time of the whole process in % of one core; RSS is the process's after the run (after a garbage collection); RSS per device is its growth over the process with the modules loaded, divided by N. Sustained: ≥ 98 % of the expected notifications arrived and the main thread's event-loop delay stayed under 100 ms at p99.`, '');
  L.push('| implementation | devices | threads | notifications/s (expected) | CPU | RSS | RSS per device | loop delay p99 | sustained |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of f.runs) {
    if (r.error) {
      L.push(`| ${r.impl} | ${r.devices} | ${r.workers} | failed: ${r.error.replace(/\|/g, '/')} | | | | | no |`);
      continue;
    }
    L.push(`| ${r.impl} | ${r.devices} | ${r.workers} | ${r.rate.toFixed(0)} (${r.devices}) | ${r.cpuPercent.toFixed(0)} % | ${(r.rss / 1048576).toFixed(0)} MB | ${(r.rssPerDevice / 1024).toFixed(1)} KiB | ${r.eldP99Ms.toFixed(1)} ms | ${sustained(r) ? 'yes' : '**no**'} |`);
  }
  L.push('');
  const pairs = [];
  for (const x of f.runs.filter((r) => r.impl === 'xscoap' && r.workers === 1 && !r.error)) {
    const n = f.runs.find((r) => r.impl === 'node-coap' && r.devices === x.devices && !r.error);
    if (n) pairs.push(`${x.devices} devices: CPU ${(x.cpuPercent / n.cpuPercent).toFixed(2)}x, RSS per device ${(x.rssPerDevice / n.rssPerDevice).toFixed(2)}x`);
  }
  if (pairs.length) L.push('xscoap / node-coap, same N: ' + pairs.join('; ') + '.', '');
  for (const impl of ['xscoap', 'node-coap']) {
    const ok = f.runs.filter((r) => r.impl === impl && r.workers === 1 && sustained(r)).map((r) => r.devices);
    L.push(`- ${impl}: largest N sustained in one thread here: ${ok.length ? Math.max(...ok) : 'none of those tried'}${ok.length ? ' (the largest tried: ' + Math.max(...f.runs.filter((r) => r.impl === impl && r.workers === 1).map((r) => r.devices)) + ')' : ''}.`);
  }
  L.push('');
  if (f.startup.length) {
    L.push('Time from starting the command (process start, loading, the directory, binding the devices) to its "registered N/N" line; `npm start` builds the TypeScript first (`npm run -s build`):', '');
    L.push('| command | devices | every device registered after |');
    L.push('|---|---:|---:|');
    for (const s of f.startup) L.push(`| ${s.npm ? '`npm start`' : '`node bin/xscoap.js sim`'} | ${s.devices} | ${(s.ms / 1000).toFixed(2)} s${s.runs > 1 ? ' (median of ' + s.runs + ')' : ''} |`);
    L.push('');
  }
  return L.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const val = (flag) => (args.indexOf(flag) >= 0 ? args[args.indexOf(flag) + 1] : undefined);
  if (args.includes('--oscore')) {
    const o = await runFleetOscore({
      devices: val('--devices')?.split(',').map(Number),
      seconds: val('--seconds') ? Number(val('--seconds')) : undefined,
      warmup: val('--warmup') ? Number(val('--warmup')) : undefined,
      workers: val('--workers') ? Number(val('--workers')) : 2,
    });
    if (args.includes('--json')) console.log(JSON.stringify(o));
    else console.log('\n' + fleetOscoreReport(o));
    process.exit(0);
  }
  const f = await runFleet({
    quick: args.includes('--quick'),
    devices: val('--devices')?.split(',').map(Number),
    seconds: val('--seconds') ? Number(val('--seconds')) : undefined,
    warmup: val('--warmup') ? Number(val('--warmup')) : undefined,
    workers: val('--workers') ? Number(val('--workers')) : 2,
  });
  if (args.includes('--json')) console.log(JSON.stringify(f));
  else console.log('\n' + fleetReport(f));
}
