// The heap census of npm run firmware: where the sensor firmware's XS heaps go, measured in
// the simulator by stopping the debug build (under xsbug-log) at the steps of its start-up.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runDebug, waitFor } from "./device.mjs";

/**
 * Heap census of a debug build made with `startDelayMs=3000` (main.ts then starts the device
 * 3 s after boot): breakpoints are set on the lines of main.ts's start() and on the
 * constructors the Endpoint builds, in the order they run; XS collects garbage and reports at
 * every stop, so each row is what was allocated, and is still live, between two stops.
 * Informative: a stop that is not reached (a class renamed) only merges two rows.
 */
export async function census({ moddable, mcsim, so, display, app }) {
	const main = readFileSync(join(app, "main.ts"), "utf8").split("\n");
	const line = (re) => main.findIndex((l) => re.test(l)) + 1;
	// A full path: xsbug-log looks a bare "main.ts" up among the SDK's examples too.
	const mainAt = (n) => join(app, "main.ts") + ":" + n;
	const stops = [
		[mainAt(line(/^\s*const settings = /)), null],
		[mainAt(line(/^\s*const \{ board, description \} = createBoard/)), "settings and ports (buildSettings, devicePorts)"],
		[mainAt(line(/^\s*const app = new SensorApp/)), "the board (simulated sensors, LED)"],
		[mainAt(line(/^\s*const endpoint = deviceEndpoint/)), "SensorApp: router with 5 resources, sampler, description text"],
		["Core", "endpoint options, limits, the UDP class and clock"],
		["DedupCache", "Core: receive view, request, response builder, tx buffer and writers"],
		["TransferPool", "duplicate detection: table and reply ring"],
		["ObserverTable", "block-wise transfer slots"],
		["EchoGuard", "observer table, client and server exchange slots"],
		[mainAt(line(/^\s*app\.start\(\)/)), "Echo guard, OSCORE layer (message buffer, view, engine, context table), the endpoint's parts, socket"],
	];
	const dev = await runDebug({ moddable, mcsim, so, display, startLine: /starting in \d+ ms/ });
	const rows = [];
	try {
		if (!dev.started) {
			rows.note = "the census build did not announce its delayed start: " + dev.out.text.slice(-300).replace(/\s+/g, " ");
			return rows;
		}
		let prev = null;
		for (const [bp] of stops) dev.command("break " + bp);
		for (const [bp, what] of stops) {
			const mark = dev.out.text.length;
			const n = dev.samples.length;
			if (prev !== null) dev.command("c");
			// The stop, and the sample the machine sends when it stops (after collecting garbage).
			const hit = await waitFor(() => /Breakpoint [^\n]*\bat\b[^\n]*\n/.test(dev.out.text.slice(mark)) && dev.samples.length > n, 8000);
			await waitFor(() => false, 300);
			if (!hit) {
				rows.note = "not reached: " + bp + " (the rows around it are merged)";
				break;
			}
			const s = dev.samples[dev.samples.length - 1];
			if (prev === null) rows.push({ what: "at the start of main.ts's start(): the SDK, main, and RAM for preloaded modules", at: bp, slots: s["Slot used"] / 32, chunks: s["Chunk used"] });
			else rows.push({ what, at: bp, slots: (s["Slot used"] - prev["Slot used"]) / 32, chunks: s["Chunk used"] - prev["Chunk used"] });
			prev = s;
			dev.command("delete all"); // a constructor is stopped in once only (its first instance)
			for (const [b2] of stops.slice(stops.findIndex(([b]) => b === bp) + 1)) dev.command("break " + b2);
		}
		if (prev) rows.push({ what: "total", at: "", slots: prev["Slot used"] / 32, chunks: prev["Chunk used"] });
		dev.command("delete all");
		dev.command("c");
	} finally {
		await dev.stop();
	}
	return rows;
}
