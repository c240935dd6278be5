// npm run soak -- [--steps N] [--seed S] [--runs R] [--strict | --all | --avoid LIST] [--no-shrink] [--replay FILE] [-v]
//
// Long runs of the model-based soak test (tests/portable/soak/model.ts) on Node: R runs of N
// steps each, seeds S, S+1, ... For the first run that breaks an invariant it prints the seed,
// the violation, and a minimal step list (delta debugging over the steps), also written as JSON
// to build/soak-failure.json; --replay FILE runs such a file again. Exit status 1 on a
// violation that is not a known defect (tests/portable/soak/known.ts), 0 otherwise.
//
// Known defects: by default the generator leaves out their direct triggers, and a violation
// attributed to one is reported, not failed (as in `npm test`). --strict generates everything
// and fails on every violation; --all generates everything but still only reports known
// defects (to look for defects beyond the known ones); --avoid 1,7 leaves out the triggers of
// just those defects. Unhandled promise rejections (only Node can see them) are
// violations too.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { runSoak, isKnown } = await import(join(root, "build/tests/portable/soak/model.js"));
const { generate, stepText } = await import(join(root, "build/tests/portable/soak/steps.js"));
const { shrink } = await import(join(root, "build/tests/portable/soak/shrink.js"));
const { KNOWN_DEFECTS } = await import(join(root, "build/tests/portable/soak/known.js"));

function usage(msg) {
	console.error(`soak: ${msg}\nusage: npm run soak -- [--steps N] [--seed S] [--runs R] [--strict | --all | --avoid LIST] [--no-shrink] [--replay FILE] [-v]`);
	process.exit(2);
}

const args = process.argv.slice(2);
const opt = { steps: 5000, seed: 1, runs: 1, strict: false, all: false, avoid: null, shrink: true, replay: "", verbose: false };
for (let i = 0; i < args.length; i++) {
	const a = args[i];
	const num = () => {
		const v = Number(args[++i]);
		if (!Number.isInteger(v)) usage(`${a} needs an integer`);
		return v;
	};
	if (a === "--steps") opt.steps = num();
	else if (a === "--seed") opt.seed = num();
	else if (a === "--runs") opt.runs = num();
	else if (a === "--strict") opt.strict = true;
	else if (a === "--all") opt.all = true;
	else if (a === "--avoid") opt.avoid = new Set(String(args[++i] ?? "").split(",").filter(Boolean).map(Number));
	else if (a === "--no-shrink") opt.shrink = false;
	else if (a === "--replay") opt.replay = args[++i] ?? usage("--replay needs a file");
	else if (a === "-v" || a === "--verbose") opt.verbose = true;
	else usage(`unknown argument ${a}`);
}

const known = opt.strict ? new Set() : KNOWN_DEFECTS;
let rejection = null;
process.on("unhandledRejection", (e) => {
	rejection ??= e;
});

async function run(steps, seed) {
	rejection = null;
	const r = await runSoak(steps, { seed, known, log: opt.verbose ? (l) => console.log("  " + l) : undefined });
	// Let any rejection a run left behind surface before judging it.
	await new Promise((done) => setImmediate(done));
	if (r.violation === null && rejection !== null) {
		// A handler's builder mistake thrown from the endpoint's own promise reaction (defect 1).
		const defect = r.counts.misuses > 0 ? 1 : 0;
		const v = { step: r.stepsRun, time: r.time, inv: "unhandled-rejection", defect, detail: "an unhandled promise rejection: " + (rejection instanceof Error ? rejection.stack : String(rejection)) };
		if (known.has(defect)) r.known.push(v);
		else r.violation = v;
	}
	return r;
}

function describe(v) {
	return `[${v.inv}]${v.defect ? ` defect ${v.defect}${known.has(v.defect) ? " (known)" : ""}` : " (not in issue 8's list)"} after step ${v.step} at ${v.time} ms: ${v.detail}`;
}

async function report(seed, steps, v) {
	console.log(`\nseed ${seed}: ${describe(v)}`);
	let minimal = steps.slice(0, v.step + 1);
	if (opt.shrink && v.inv !== "unhandled-rejection") {
		const started = Date.now();
		process.stdout.write(`shrinking ${minimal.length} steps`);
		const s = await shrink(minimal, v.inv, { seed, known }, 3000, (n) => process.stdout.write(` ${n}`));
		minimal = s.steps;
		console.log(` (${s.replays} replays, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
		const again = await run(minimal, seed);
		if (again.violation) console.log(`minimal run: ${describe(again.violation)}`);
	}
	console.log(`minimal step list (${minimal.length} steps, seed ${seed}):`);
	for (const s of minimal) console.log("  " + stepText(s));
	const out = join(root, "build/soak-failure.json");
	mkdirSync(dirname(out), { recursive: true });
	writeFileSync(out, JSON.stringify({ seed, violation: v, steps: minimal }, null, 1) + "\n");
	console.log(`written to ${out} (npm run soak -- --replay ${out})`);
}

if (opt.replay) {
	const f = JSON.parse(readFileSync(opt.replay, "utf8"));
	const r = await run(f.steps, f.seed);
	console.log(r.violation ? `seed ${f.seed}: ${describe(r.violation)}` : `seed ${f.seed}: ${f.steps.length} steps, no violation`);
	process.exit(r.violation && !isKnown(r.violation, known) ? 1 : 0);
}

const started = Date.now();
let failed = false;
const knownSeen = new Map();
for (let k = 0; k < opt.runs; k++) {
	const seed = opt.seed + k;
	const steps = generate(seed, opt.steps, { avoid: opt.avoid ?? (opt.all ? new Set() : known) });
	const t0 = Date.now();
	const r = await run(steps, seed);
	const c = r.counts;
	const line = `seed ${seed}: ${r.stepsRun}/${steps.length} steps, ${(r.time / 1000).toFixed(0)} s virtual, ${c.requests} requests, ${c.notifications} notifications, ${c.handlerRuns} handler runs, ${c.datagrams} datagrams (${c.lost} lost), ${((Date.now() - t0) / 1000).toFixed(1)} s`;
	const seen = [...new Set(r.known.map((v) => v.defect))].sort((a, b) => a - b);
	for (const d of seen) knownSeen.set(d, (knownSeen.get(d) ?? 0) + 1);
	const knownText = seen.length ? ` (went past known defects ${seen.join(", ")})` : "";
	if (r.violation === null) {
		console.log(line + ": clean" + knownText);
		continue;
	}
	if (r.violation.inv === "escaped" && isKnown(r.violation, known)) {
		console.log(line + `: stopped by known defect ${r.violation.defect} [${r.violation.inv}]` + knownText);
		if (!seen.includes(r.violation.defect)) knownSeen.set(r.violation.defect, (knownSeen.get(r.violation.defect) ?? 0) + 1);
		continue;
	}
	console.log(line + ": VIOLATION");
	await report(seed, steps, r.violation);
	failed = true;
	break;
}
if (knownSeen.size) console.log(`known defects seen (runs): ${[...knownSeen].sort((a, b) => a[0] - b[0]).map(([d, n]) => `${d} (${n})`).join(", ")}`);
console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
