#!/usr/bin/env node
// Prints the memory budget of a firmware build as a Markdown table, computed from the code
// (modules/coap/device.ts: deviceBudget, limitCosts) and the `config.coap` that the build's
// manifests give (the example's manifest.json merged over its includes, as mcconfig merges
// `config`). The README's firmware section shows this output; a test keeps the two equal.
//
//   npm run build && node examples/budget.mjs [examples/sensor]
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { DEVICE_BUDGET_BYTES, deviceBudget, deviceSettings, limitCosts } = await import(resolve(root, "build/modules/coap/device.js"));

function merge(target, source) {
	for (const [k, v] of Object.entries(source ?? {})) {
		const t = target[k];
		if (t && v && typeof t === "object" && typeof v === "object" && !Array.isArray(t) && !Array.isArray(v)) merge(t, v);
		else target[k] = v;
	}
	return target;
}

/** `config` of manifest `path` with its local includes merged first ($(MODDABLE) ones carry no xscoap settings). */
function manifestConfig(path, seen = new Set()) {
	if (seen.has(path)) return {};
	seen.add(path);
	const m = JSON.parse(readFileSync(path, "utf8"));
	const config = {};
	for (const inc of [].concat(m.include ?? [])) if (!inc.startsWith("$(")) merge(config, manifestConfig(resolve(dirname(path), inc), seen));
	return merge(config, m.config);
}

const WHAT = {
	maxMessageSize: "bytes per message buffer (tx buffer + one per exchange slot)",
	maxOptions: "options indexed per message view (7 bytes each)",
	clientExchanges: "outstanding client requests, each with a retransmit copy",
	serverExchanges: "requests answered late (async handlers, separate responses)",
	dedupEntries: "message IDs remembered for duplicate detection (+ hash buckets)",
	dedupCacheBytes: "ring of recent replies re-sent to duplicate CONs",
	blockTransfers: "Block-wise transfers in progress at once (RFC 7959)",
	maxBodySize: "largest body of a Block-wise transfer (each transfer slot holds it)",
	blockSize: "preferred block size (no buffer of its own)",
	observers: "Observe registrations (RFC 7641), each with a copy of the registering request",
	observerRequestSize: "bytes of the registering request an observer keeps",
	oscoreContexts: "OSCORE security contexts (RFC 8613); at 0 also no OSCORE buffer, working storage or request bindings",
};

if (process.argv.length > 3 || process.argv[2] === "-h" || process.argv[2] === "--help") {
	process.stderr.write("usage: node examples/budget.mjs [EXAMPLE_DIR]   (default examples/sensor)\n");
	process.exit(process.argv[2] === "-h" || process.argv[2] === "--help" ? 0 : 2);
}
const dir = resolve(process.argv[2] ?? resolve(root, "examples/sensor"));
let config;
let settings;
try {
	config = manifestConfig(resolve(dir, "manifest.json"));
	settings = deviceSettings(config.coap);
} catch (e) {
	// A bad directory or manifest: one line, not a stack trace.
	process.stderr.write("error: " + (e?.code === "ENOENT" ? "no manifest.json in " + dir : e?.message ?? String(e)) + "\n");
	process.exit(2);
}
const budget = deviceBudget(settings);
const lines = [
	"| `config.coap` | value | one more costs | accounts for | what |",
	"|---|---:|---:|---:|---|",
];
for (const c of limitCosts(settings)) lines.push(`| \`${c.name}\` | ${c.value} | ${c.perUnit} B | ${c.bytes} B | ${WHAT[c.name] ?? "see modules/coap/tuning.ts"} |`);
const kib = (n) => (n / 1024).toFixed(1) + " KiB";
const oscore = budget.parts.filter((p) => p.name.startsWith("oscore")).reduce((n, p) => n + p.bytes, 0);
lines.push("");
lines.push(`Preallocated: ${budget.total} B (${kib(budget.total)}), of which OSCORE ${oscore} B (${budget.parts.filter((p) => p.name.startsWith("oscore")).map((p) => p.name + " " + p.bytes).join(", ")}); ${DEVICE_BUDGET_BYTES - budget.total} B to spare in the ${kib(DEVICE_BUDGET_BYTES)} budget.`);
process.stdout.write(lines.join("\n") + "\n");
