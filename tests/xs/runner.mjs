// Minimal mocha-style BDD runner for the XS engine (xsnap). Bundled by
// tests/xs/run.mjs together with the portable tests; runs inside the engine.
// Supports describe/it (+ .skip/.only), before/after/beforeEach/afterEach,
// sync, promise-returning and done-callback tests, and this.timeout()/skip()
// (timeouts are ignored: xsnap has no timers). Tests run sequentially,
// driven by promise jobs only. A test whose promise never settles is caught
// when the job queue drains (xsnap's setImmediate fires only then) and is
// reported as failed. xsnap extras absent on Moddable (TextEncoder, setImmediate,
// ...) are removed from globalThis first. Last line printed: "xs: N passed, N failed".

const out = typeof print === "function" ? print : (s) => console.log(s);
const PENDING = Symbol("pending");
// Immediates a test may use before it counts as stuck (tests should use none).
const DRAIN_ROUNDS = 10;

function newSuite(title, parent, mode) {
  const ctx = Object.create(parent ? parent.ctx : contextProto);
  return { title, parent, mode, ctx, suites: [], tests: [], before: [], after: [], beforeEach: [], afterEach: [] };
}
const contextProto = {
  timeout() { return this; },
  slow() { return this; },
  retries() { return this; },
  skip() { throw PENDING; },
};

const root = newSuite("", null, "");
let current = root;
let hasOnly = false;
let file = "";
const stats = { passed: 0, failed: 0, pending: 0 };

function describe(title, fn, mode = "") {
  const suite = newSuite(title, current, mode);
  suite.file = file;
  current.suites.push(suite);
  if (mode === "only") hasOnly = true;
  const saved = current;
  current = suite;
  try {
    const r = fn.call(suite.ctx);
    if (r && typeof r.then === "function") throw new Error(`describe("${title}") callback must not be async`);
  } finally {
    current = saved;
  }
  return suite;
}
function it(title, fn, mode = "") {
  if (mode === "only") hasOnly = true;
  current.tests.push({ title, fn, mode: fn ? mode : "skip", file });
}
describe.skip = (t, fn) => describe(t, fn, "skip");
describe.only = (t, fn) => describe(t, fn, "only");
it.skip = (t, fn) => it(t, fn, "skip");
it.only = (t, fn) => it(t, fn, "only");
const hook = (kind) => (titleOrFn, fn) => current[kind].push(typeof titleOrFn === "function" ? titleOrFn : fn);

// xsnap-only globals that Moddable firmware lacks: hidden from tests so that
// portable code using them fails here rather than on the device.
const HIDDEN = ["TextEncoder", "TextDecoder", "Base64", "setImmediate", "performance", "gc",
  "harden", "issueCommand", "currentMeterLimit", "resetMeter"];
const setImmediate = globalThis.setImmediate;

/** Installs describe/it/hooks as globals (as mocha's BDD interface does). */
export function install(g) {
  for (const name of HIDDEN) delete g[name];
  Object.assign(g, {
    describe, it, context: describe, specify: it,
    before: hook("before"), after: hook("after"),
    beforeEach: hook("beforeEach"), afterEach: hook("afterEach"),
  });
  g.xit = it.skip;
  g.xdescribe = describe.skip;
}

// Stuck-test watchdog. xsnap runs setImmediate callbacks only once the promise
// job queue is empty; while a test runs, the runner's own promise chain keeps
// the queue busy, so an immediate that fires means the current call is waiting
// on something that will never come. One watchdog at a time.
let active = null; // { stuck() } of the call in progress
let watching = false;
function arm() {
  if (watching || typeof setImmediate !== "function") return;
  watching = true;
  let seen = null, rounds = 0;
  const tick = () => {
    if (!active) { watching = false; return; }
    if (active === seen) rounds++; else { seen = active; rounds = 1; }
    if (rounds >= DRAIN_ROUNDS) { watching = false; active.stuck(); return; }
    setImmediate(tick);
  };
  setImmediate(tick);
}

// Runs fn with ctx; resolves to undefined (pass), PENDING, or { error }.
async function call(fn, ctx) {
  const run = new Promise((resolve, reject) => {
    if (fn.length > 0) fn.call(ctx, (err) => (err ? reject(err) : resolve()));
    else Promise.resolve(fn.call(ctx)).then(resolve, reject);
  }).then(() => undefined, (e) => (e === PENDING ? PENDING : { error: e }));
  const entry = {};
  const stuck = new Promise((resolve) => {
    entry.stuck = () => resolve({ error: { runner: true, message:
      "never finished: its promise (or done callback) was still pending when the XS job queue drained" } });
  });
  active = entry;
  arm();
  const result = await Promise.race([run, stuck]);
  if (active === entry) active = null;
  return result;
}

function fullTitle(node) {
  const parts = [];
  for (let s = node; s; s = s.parent) if (s.title) parts.unshift(s.title);
  return parts.join(" > ");
}

// Message and stack, without the runner's own frames (XS release stacks have names only).
function describeError(e) {
  if (e && e.runner) return e.message;
  if (e instanceof Error) {
    const head = `${e.name}: ${e.message}`;
    let stack = typeof e.stack === "string" ? e.stack : "";
    const cut = stack.search(/\n\s*at (call|runHooks|runSuite|run) \(/);
    if (cut >= 0) stack = stack.slice(0, cut);
    return stack.startsWith(head) ? stack : head + (stack ? "\n" + stack : "");
  }
  try { return "thrown non-Error: " + String(e); } catch { return "thrown non-Error value"; }
}

function fail(title, e, where) {
  stats.failed++;
  out(`  FAIL ${title}${where ? ` [${where}]` : ""}`);
  for (const line of describeError(e).split("\n")) out(`       ${line}`);
}

// Whether a test/suite is selected when some .only exists.
function selected(suite, test) {
  if (!hasOnly) return true;
  for (let s = suite; s; s = s.parent) if (s.mode === "only") return true;
  return test ? test.mode === "only" : false;
}
function containsOnly(suite) {
  return suite.mode === "only" || suite.tests.some((t) => t.mode === "only") || suite.suites.some(containsOnly);
}

async function runHooks(suite, kind, ctx, title) {
  for (const fn of suite[kind]) {
    const r = await call(fn, ctx);
    if (r && r !== PENDING) { fail(title, r.error, `"${kind}" hook`); return false; }
  }
  return true;
}

function chain(suite) {
  const list = [];
  for (let s = suite; s; s = s.parent) list.unshift(s);
  return list;
}

// Returns false if the suite aborted (a hook failed).
async function runSuite(suite, skipped) {
  skipped = skipped || suite.mode === "skip";
  const tests = suite.tests.filter((t) => selected(suite, t));
  const suites = suite.suites.filter((s) => !hasOnly || selected(s) || containsOnly(s));
  if (tests.length === 0 && suites.length === 0) return true;
  const title = fullTitle(suite) || "(root)";
  if (!skipped && !(await runHooks(suite, "before", suite.ctx, title))) return false;
  let ok = true;
  for (const test of tests) {
    const name = fullTitle({ title: test.title, parent: suite });
    if (skipped || test.mode === "skip") { stats.pending++; out(`  skip ${name}`); continue; }
    let hooksOk = true;
    for (const s of chain(suite)) if (!(await runHooks(s, "beforeEach", suite.ctx, name))) { hooksOk = false; break; }
    if (hooksOk) {
      const r = await call(test.fn, suite.ctx);
      if (r === PENDING) { stats.pending++; out(`  skip ${name}`); }
      else if (r) fail(name, r.error);
      else { stats.passed++; out(`  ok   ${name}`); }
    }
    for (const s of chain(suite).reverse()) if (!(await runHooks(s, "afterEach", suite.ctx, name))) { hooksOk = false; break; }
    if (!hooksOk) { ok = false; break; }
  }
  if (ok) for (const child of suites) await runSuite(child, skipped);
  if (!skipped && !(await runHooks(suite, "after", suite.ctx, title))) return false;
  return ok;
}

/** Loads each [name, loader] test file, then runs everything and prints the summary. */
export async function run(files) {
  for (const [name, load] of files) {
    file = name;
    current = root;
    try {
      await load();
    } catch (e) {
      fail(`loading ${name}`, e);
      root.suites = root.suites.filter((s) => s.file !== name); // drop what it registered
      root.tests = root.tests.filter((t) => t.file !== name);
    }
  }
  file = "";
  try {
    await runSuite(root, false);
  } catch (e) {
    fail("runner", e);
  }
  if (stats.pending) out(`xs: ${stats.pending} pending`);
  out(`xs: ${stats.passed} passed, ${stats.failed} failed`);
}
