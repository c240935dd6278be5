// Runs a firmware build of the Moddable SDK's desktop simulator headless, for npm run firmware:
//   - Xvfb: a virtual X display (mcsim is a GTK program), on a display number it picks itself;
//   - release builds: mcsim itself, trace output read unbuffered (stdbuf -o0);
//   - debug builds: through the SDK's xsbug-log (tools/xsbug-log), the terminal xsbug, with
//     instruments-machine.cjs so that every XS instruments sample is seen; commands are typed
//     at its (xsdb) prompt: `info instruments`, `break`, `bt`, `delete all`, `c`, `quit`.
// Every process started here is stopped by the `stop()` it returns (by its own pid).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every process started here that has not been stopped: killed by pid if this script exits early. */
const started = new Set();
function track(child) {
	started.add(child.pid);
	child.once("exit", () => started.delete(child.pid));
	return child;
}
process.on("exit", () => {
	for (const pid of started) {
		for (const c of childPids(pid)) {
			try {
				process.kill(c, "SIGKILL");
			} catch {}
		}
		try {
			process.kill(pid, "SIGKILL");
		} catch {}
	}
});

/** Waits until `test()` is true or `ms` pass; returns whether it became true. */
export async function waitFor(test, ms, step = 25) {
	const end = Date.now() + ms;
	for (;;) {
		if (test()) return true;
		if (Date.now() > end) return false;
		await sleep(step);
	}
}

/** A free TCP port on 127.0.0.1 (for xsbug's connection), above 20000. */
export async function freeTcpPort() {
	for (let i = 0; i < 50; i++) {
		const port = 20000 + Math.floor(Math.random() * 40000);
		const ok = await new Promise((resolve) => {
			const s = createServer();
			s.once("error", () => resolve(false));
			s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
		});
		if (ok) return port;
	}
	throw new Error("no free TCP port found");
}

/** Stops a child by its pid (SIGTERM, then SIGKILL) and waits for its exit. */
async function stopChild(child, ms = 3000) {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise((r) => child.once("exit", r));
	try {
		child.kill("SIGTERM");
	} catch {}
	if (await Promise.race([exited.then(() => true), sleep(ms).then(() => false)])) return;
	try {
		child.kill("SIGKILL");
	} catch {}
	await exited;
}

/** Pids of the live children of `pid` (ps), so a wrapper's child can be stopped by its own pid too. */
function childPids(pid) {
	try {
		return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
			.split("\n")
			.map((x) => Number(x.trim()))
			.filter((x) => x > 0);
	} catch {
		return [];
	}
}

/** Sends SIGKILL to each pid (processes this script started), ignoring those already gone. */
function killPids(pids) {
	for (const pid of pids) {
		try {
			process.kill(pid, "SIGKILL");
		} catch {}
	}
}

/** Starts Xvfb on a free display (-displayfd); resolves to { display, stop }. */
export async function startXvfb() {
	const child = track(spawn("Xvfb", ["-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "640x480x24"], { stdio: ["ignore", "ignore", "pipe", "pipe"] }));
	let number = "";
	let err = "";
	child.stderr.on("data", (d) => (err += d));
	child.stdio[3].on("data", (d) => (number += d));
	const failed = new Promise((r) => child.once("error", (e) => r(e)));
	const ok = await Promise.race([waitFor(() => /\n/.test(number), 10000), failed.then(() => false)]);
	if (ok !== true) {
		await stopChild(child);
		throw new Error("Xvfb did not start: " + (err.trim().split("\n").pop() ?? "no display number"));
	}
	return { display: ":" + number.trim(), stop: () => stopChild(child) };
}

/** Text a process wrote, with a way to wait for a pattern. */
class Output {
	text = "";
	append(d) {
		this.text += d;
	}
	async waitFor(re, ms) {
		return (await waitFor(() => re.test(this.text), ms)) ? re.exec(this.text) : null;
	}
}

/** Runs a release mc.so in mcsim; resolves once its start line is printed. */
export async function runRelease({ mcsim, so, display, startLine, startMs = 20000 }) {
	const out = new Output();
	const child = track(spawn("stdbuf", ["-o0", "-e0", mcsim, so], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DISPLAY: display } }));
	child.stdout.on("data", (d) => out.append(d));
	child.stderr.on("data", (d) => out.append(d));
	let exit = null;
	child.once("exit", (code, signal) => (exit = { code, signal }));
	const started = await out.waitFor(startLine, startMs);
	return {
		out,
		started,
		get exit() {
			return exit;
		},
		alive: () => exit === null,
		async stop() {
			const sims = childPids(child.pid); // mcsim, started by stdbuf's exec (same pid) or as its child
			await stopChild(child);
			killPids(sims);
		},
	};
}

/**
 * Runs a debug mc.so in mcsim under xsbug-log, and collects every instruments sample:
 * `samples` are objects { "Chunk used": ..., "Slot used": ..., "Stack used": ..., ... }.
 */
export async function runDebug({ moddable, mcsim, so, display, startLine, startMs = 30000, breakOnStart = false }) {
	const port = await freeTcpPort();
	const project = mkdtempSync(join(tmpdir(), "xscoap-xsdb-")); // xsbug-log keeps .xsdb.json (breakpoints) here
	// xsbug-log's preferences: stop at the first line of main (`set start on`), before it runs.
	if (breakOnStart) writeFileSync(join(project, ".xsdb.json"), JSON.stringify({ breakOnStart: true, breakpoints: [] }));
	const env = {
		...process.env,
		MODDABLE: moddable,
		DISPLAY: display,
		XSBUG_PORT: String(port),
		XSBUG_LOG_PORT: String(port),
		XSBUG_PROJECT: project,
		XSBUG_LOGMACHINE: new URL("./instruments-machine.cjs", import.meta.url).pathname,
		XSCOAP_BREAK_ON_START: breakOnStart ? "1" : "0",
	};
	const out = new Output();
	const samples = [];
	const child = track(spawn(process.execPath, [join(moddable, "tools/xsbug-log/xsbug-log.js"), mcsim, so], { stdio: ["pipe", "pipe", "pipe"], env }));
	let partial = "";
	child.stdout.on("data", (d) => {
		partial += d;
		let nl;
		while ((nl = partial.indexOf("\n")) >= 0) {
			const line = partial.slice(0, nl);
			partial = partial.slice(nl + 1);
			if (line.startsWith("#instruments ")) {
				const s = JSON.parse(line.slice(13));
				s.at = Date.now();
				samples.push(s);
			} else out.append(line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "") + "\n");
		}
	});
	child.stderr.on("data", (d) => out.append(d));
	let exit = null;
	child.once("exit", (code, signal) => (exit = { code, signal }));
	const started = await out.waitFor(startLine, startMs);
	const device = {
		out,
		samples,
		started,
		port,
		get exit() {
			return exit;
		},
		alive: () => exit === null && !/#xsbug-log disconnected|XS abort|stack overflow/i.test(out.text),
		/** Types a command at the (xsdb) prompt. */
		command(line) {
			child.stdin.write(line + "\n");
		},
		/** The next sample after now (at most `ms` away), or null. */
		async nextSample(ms = 3000) {
			const n = samples.length;
			return (await waitFor(() => samples.length > n, ms)) ? samples[samples.length - 1] : null;
		},
		/**
		 * Stops the machine at a breakpoint on function `fn` (XS collects garbage when it stops and
		 * sends a sample: live heap figures), returns that sample, then resumes.
		 */
		async sampleAtBreak(fn, ms = 10000) {
			const mark = out.text.length;
			let hit = false;
			// The prompt may not take the first command while it is busy printing: try again.
			for (let attempt = 0; attempt < 3 && !hit; attempt++) {
				device.command("break " + fn);
				hit = await waitFor(() => /Breakpoint [^\n]*\bat\b/.test(out.text.slice(mark)), ms / 3);
			}
			// While the machine is stopped its host loop sends no periodic samples: the last one
			// received is the one sent when it stopped (screen.c debugBreak: collect, then sample).
			if (hit) await waitFor(() => samples.length > 0 && samples[samples.length - 1].at > Date.now() - 2000, 1000);
			await sleep(300);
			const s = hit ? samples[samples.length - 1] : null;
			device.command("delete all");
			device.command("c");
			await waitFor(() => /Continuing/.test(out.text.slice(mark)), 2000);
			return s ?? null;
		},
		async stop() {
			const sims = childPids(child.pid); // mcsim, started by xsbug-log
			if (exit === null) {
				child.stdin.write("quit\n");
				await Promise.race([new Promise((r) => child.once("exit", r)), sleep(3000)]);
			}
			await stopChild(child);
			killPids(sims);
		},
	};
	return device;
}
