// Summarizes a V8 .cpuprofile (node --cpu-prof): self and inclusive time per function and self
// time per file, as percentages of all samples. Library (summarizeProfile) and CLI:
//   node bench/profile.mjs FILE.cpuprofile [--top N]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function shortUrl(url) {
  if (!url) return '';
  let u = url.startsWith('file://') ? fileURLToPath(url) : url;
  u = u.replace(/^.*\/xscoap-bench-snap-\w+\//, ''); // run.mjs's snapshot of build/ and bin/
  if (u.startsWith(REPO + path.sep)) u = path.relative(REPO, u);
  else if (u.includes('/node_modules/')) u = u.slice(u.lastIndexOf('/node_modules/') + 1);
  return u;
}

function key(cf) {
  let name = cf.functionName || '(anonymous)';
  if (name.length > 60) name = name.slice(0, 57) + '...'; // e.g. "RegExp: <the whole pattern>"
  name = name.replace(/\|/g, '\\|'); // table-safe
  if (!cf.url) return name;
  return `${name} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
}

/** Returns { totalMs, samples, self: [{fn, ms, pct}], inclusive: [...], files: [...], categories }. */
export function summarizeProfile(profile) {
  const nodes = new Map();
  const parent = new Map();
  for (const n of profile.nodes) {
    nodes.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const self = new Map();
  const incl = new Map();
  const files = new Map();
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to sample i.
    const dt = (i + 1 < deltas.length ? deltas[i + 1] : deltas[i] ?? 0) / 1000; // ms
    if (!(dt > 0)) continue;
    total += dt;
    const n = nodes.get(samples[i]);
    if (!n) continue;
    const k = key(n.callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    const f = n.callFrame.url ? shortUrl(n.callFrame.url) : k;
    files.set(f, (files.get(f) ?? 0) + dt);
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const m = nodes.get(id);
      const mk = key(m.callFrame);
      if (mk === '(root)' || seen.has(mk)) continue;
      seen.add(mk);
      incl.set(mk, (incl.get(mk) ?? 0) + dt);
    }
  }
  // Percentages are of busy time (all samples except "(idle)"): the server waiting for input
  // during start-up and shut-down is not where time goes under load.
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  self.delete('(idle)');
  incl.delete('(idle)');
  files.delete('(idle)');
  const list = (m) => [...m].map(([fn, ms]) => ({ fn, ms, pct: (ms / busy) * 100 })).sort((a, b) => b.ms - a.ms);
  const sl = list(self);
  const fl = list(files);
  return {
    categories: categorize(sl, fl),
    totalMs: total,
    busyMs: busy,
    samples: samples.length,
    idlePct: (idle / total) * 100,
    gcPct: ((self.get('(garbage collector)') ?? 0) / busy) * 100,
    programPct: ((self.get('(program)') ?? 0) / busy) * 100,
    self: list(self),
    inclusive: list(incl),
    files: list(files),
  };
}

/**
 * Busy time split by where it goes (% of busy time): the send system call (self time of
 * node:dgram doSend, which makes it), other node:* JavaScript, xscoap's portable stack
 * (build/modules), its Node host adapter (build/hosts), the server script itself (other
 * files), V8 regexp code (isIP/isIPv4/isIPv6 checks), GC, and "(program)" (native code
 * outside any JS function: libuv polling and receive system calls, V8 runtime).
 */
export function categorize(self, files) {
  const c = { send: 0, node: 0, stack: 0, host: 0, script: 0, regexp: 0, gc: 0, program: 0, other: 0 };
  for (const r of self) if (/^doSend node:dgram:/.test(r.fn)) c.send += r.pct;
  for (const r of files) {
    const f = r.fn;
    if (f === '(program)') c.program += r.pct;
    else if (f === '(garbage collector)') c.gc += r.pct;
    else if (f.startsWith('RegExp:')) c.regexp += r.pct;
    else if (f.startsWith('node:')) c.node += r.pct;
    else if (f.startsWith('build/modules/')) c.stack += r.pct;
    else if (f.startsWith('build/hosts/')) c.host += r.pct;
    else if (f.includes('/') || f.endsWith('.mjs') || f.endsWith('.js')) c.script += r.pct;
    else c.other += r.pct; // builtins without a file: now, runMicrotasks, set length, ...
  }
  c.node -= c.send;
  return c;
}

export function formatSummary(s, top = 25) {
  const lines = [];
  lines.push(`profile: ${(s.totalMs / 1000).toFixed(1)} s sampled (${(s.busyMs / 1000).toFixed(1)} s busy, idle ${s.idlePct.toFixed(1)} % excluded), ${s.samples} samples; percentages of busy time; GC ${s.gcPct.toFixed(1)} %, (program) ${s.programPct.toFixed(1)} %`);
  lines.push('', `self time, top ${top}:`);
  for (const r of s.self.slice(0, top)) lines.push(`  ${r.pct.toFixed(1).padStart(5)} %  ${r.fn}`);
  lines.push('', `inclusive time, top ${top}:`);
  for (const r of s.inclusive.slice(0, top)) lines.push(`  ${r.pct.toFixed(1).padStart(5)} %  ${r.fn}`);
  lines.push('', 'self time by file:');
  for (const r of s.files.slice(0, 15)) lines.push(`  ${r.pct.toFixed(1).padStart(5)} %  ${r.fn}`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/profile.mjs FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const ti = process.argv.indexOf('--top');
  const top = ti > 0 ? Number(process.argv[ti + 1]) : 25;
  console.log(formatSummary(summarizeProfile(JSON.parse(fs.readFileSync(file, 'utf8'))), top));
}
