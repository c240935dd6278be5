// npm run fuzz -- [--count N] [--seed S] [--runs R] [--check-every K]
//
// Mutation fuzzing of datagrams against a server and a client Endpoint on the virtual network
// (tests/portable/fuzz/fuzzer.ts), on Node: R runs of N datagrams (default one run of
// 1,000,000), seeds S, S+1, ... Prints the time taken and what the fuzzing reached. On a
// broken invariant it prints the seed, the datagram count and the last datagrams sent (hex);
// `--seed S --count <that count>` repeats the run up to there. Exit status 1 on a violation.
// Unhandled promise rejections (only Node can see them) are violations too.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { fuzz } = await import(join(root, "build/tests/portable/fuzz/fuzzer.js"));

function usage(msg) {
	console.error(`fuzz: ${msg}\nusage: npm run fuzz -- [--count N] [--seed S] [--runs R] [--check-every K]`);
	process.exit(2);
}

const args = process.argv.slice(2);
const opt = { count: 1000000, seed: 1, runs: 1, checkEvery: 1000 };
for (let i = 0; i < args.length; i++) {
	const a = args[i];
	const v = Number(args[++i]);
	if (!Number.isInteger(v) || v < 0) usage(`${a} needs an integer`);
	if (a === "--count") opt.count = v;
	else if (a === "--seed") opt.seed = v;
	else if (a === "--runs") opt.runs = v;
	else if (a === "--check-every") opt.checkEvery = v;
	else usage(`unknown argument ${a}`);
}

let rejection = null;
process.on("unhandledRejection", (e) => {
	rejection ??= e;
});

const started = Date.now();
let total = 0;
let failed = false;
for (let k = 0; k < opt.runs && !failed; k++) {
	const seed = opt.seed + k;
	const t0 = Date.now();
	let last = t0;
	const r = await fuzz({
		seed,
		count: opt.count,
		checkEvery: opt.checkEvery,
		progress: (n) => {
			if (Date.now() - last > 10000 && process.stdout.isTTY) {
				last = Date.now();
				process.stdout.write(`  seed ${seed}: ${n} datagrams, ${((last - t0) / 1000).toFixed(0)} s\r`);
			}
		},
	});
	await new Promise((done) => setImmediate(done));
	total += r.sent;
	const s = r.stats;
	const secs = (Date.now() - t0) / 1000;
	console.log(
		`seed ${seed}: ${r.sent} datagrams (${s.toServer} to the server, ${s.toClient} to the client, ${s.unmutated} unmutated) in ${secs.toFixed(1)} s ` +
			`(${Math.round(r.sent / secs)}/s), ${(r.time / 3600000).toFixed(1)} h virtual; server: ${s.serverMalformed} malformed, ${s.serverDuplicates} duplicates, ${s.serverResets} Resets, ` +
			`at most ${s.maxObservers} observers, ${s.maxTransfers} transfers, ${s.maxServerSlots} slots at once; OSCORE: ${s.protectedSent} protected requests made (before mutation), ${s.secretServed} served; client: ${s.clientRequests} requests; ${s.checks} plain GETs answered`,
	);
	if (r.violation === null && rejection !== null) {
		r.violation = { index: r.sent, inv: "unhandled-rejection", detail: rejection instanceof Error ? rejection.stack : String(rejection), recent: [] };
	}
	if (r.violation !== null) {
		const v = r.violation;
		console.log(`\nseed ${seed}: [${v.inv}] after ${v.index} datagrams: ${v.detail}`);
		console.log(`repeat: npm run fuzz -- --seed ${seed} --count ${v.index}`);
		if (v.recent.length) console.log("last datagrams sent (destination, hex), oldest first:\n  " + v.recent.join("\n  "));
		failed = true;
	}
}
console.log(`${total} datagrams in ${((Date.now() - started) / 1000).toFixed(1)} s${failed ? "" : ", every invariant held"}`);
process.exit(failed ? 1 : 0);
