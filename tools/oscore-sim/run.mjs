#!/usr/bin/env node
// npm run oscore:sim: OSCORE (RFC 8613) on the Moddable SDK, in its desktop simulator, headless.
// Builds tools/oscore-sim (the root manifest, the SDK's crypt, noble mapped for the portable
// provider) for the Linux simulator, runs it in mcsim under Xvfb, reads its self-checks (RFC 8613
// Appendix C with the native and the portable crypto on XS, a protected PUT between two of its
// endpoints), then talks to it from this host over UDP with `xscoap ... --credentials`: a
// protected PUT and GET of /led, a plain GET of /led (4.01), a wrong secret (4.00, unprotected),
// /hello for anyone. Then it restarts the simulator: the context comes back from the device's
// store (Appendix B.1.1; a file in the simulator, see main.js) with its replay window lost, and the next protected request is answered
// 4.01 + Echo and repeated by the client (B.1.2). One line per check; exit status 0 when all pass.
//
//   MODDABLE=/path/to/moddable npm run oscore:sim      (needs the SDK's Linux tools and Xvfb)
//
// Not part of npm test: the SDK cannot be installed from the package registries.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const APP = join(REPO, "tools/oscore-sim");
const XSCOAP = join(REPO, "bin/xscoap.js");
const moddable = process.env.MODDABLE;
const bin = moddable ? join(moddable, "build/bin/lin/release") : "";
const need = !moddable
	? "npm run oscore:sim needs the Moddable SDK: set MODDABLE to its checkout (with the Linux tools built)"
	: !existsSync(join(bin, "mcconfig")) || !existsSync(join(bin, "mcsim"))
		? "no mcconfig/mcsim in $MODDABLE/build/bin/lin/release: build the SDK's tools (cd $MODDABLE/build/makefiles/lin && make)"
		: spawnSync("Xvfb", ["-help"]).error
			? "npm run oscore:sim needs Xvfb (apt-get install -y xvfb) to run the simulator headless"
			: !existsSync(join(REPO, "build/hosts/node/index.js"))
				? "run npm run build first"
				: null;
if (need) {
	console.error("error: " + need);
	process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();
process.on("exit", () => {
	for (const c of children) c.kill("SIGKILL");
});
let failed = 0;
function check(what, ok, detail = "") {
	if (!ok) failed++;
	console.log((ok ? "  ok      " : "  FAILED  ") + what + (detail && !ok ? "  (" + detail + ")" : detail && ok ? "  (" + detail + ")" : ""));
	return ok;
}

// ---------------------------------------------------------------- build
const port = 20000 + Math.floor(Math.random() * 30000);
const domain = "xs" + Math.floor(Math.random() * 1e9).toString(36); // a Preference domain of its own: no state of earlier runs
const work = mkdtempSync(join(tmpdir(), "xscoap-oscore-sim-"));
process.on("exit", () => {
	rmSync(work, { recursive: true, force: true });
	rmSync("/tmp/xscoap-" + domain + "-seq", { force: true }); // the simulator's file root on Linux is /tmp/
});
const out = join(work, "build");
mkdirSync(out, { recursive: true });
console.log("building tools/oscore-sim for the simulator (mcconfig -m -p lin) ...");
const t0 = Date.now();
const b = spawnSync(join(bin, "mcconfig"), ["-m", "-p", "lin", "-t", "build", "-o", out, "manifest.json", "oscoreSimPort=" + port, "oscoreSimDomain=" + domain], {
	cwd: APP,
	encoding: "utf8",
	timeout: 900000,
	maxBuffer: 64 * 1024 * 1024,
	env: { ...process.env, MODDABLE: moddable, PATH: [join(REPO, "node_modules/.bin"), bin, process.env.PATH].join(delimiter) },
});
const so = join(out, "bin/lin/mc/release/oscore-sim/mc.so");
const errors = ((b.stdout ?? "") + (b.stderr ?? "")).split("\n").filter((l) => /### Error|error TS\d+|\berror:/.test(l));
if (!check("mcconfig built the app in " + Math.round((Date.now() - t0) / 1000) + " s", b.status === 0 && existsSync(so), errors.slice(0, 3).join(" | "))) process.exit(1);

// ---------------------------------------------------------------- run
const xvfb = spawn("Xvfb", ["-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "640x480x24"], { stdio: ["ignore", "ignore", "ignore", "pipe"] });
children.add(xvfb);
let display = "";
xvfb.stdio[3].on("data", (d) => (display += d));
for (let i = 0; i < 100 && !/\n/.test(display); i++) await sleep(50);
if (!check("Xvfb started", /\n/.test(display))) process.exit(1);
display = ":" + display.trim();

async function simulator() {
	const child = spawn("stdbuf", ["-o0", "-e0", join(bin, "mcsim"), so], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DISPLAY: display } });
	children.add(child);
	const s = { child, text: "" };
	child.stdout.on("data", (d) => (s.text += d));
	child.stderr.on("data", (d) => (s.text += d));
	for (let i = 0; i < 400 && !/oscore-sim: listening/.test(s.text) && child.exitCode === null; i++) await sleep(50);
	s.stop = async () => {
		// mcsim is stdbuf's exec'd process (same pid) or its child: stop both by pid.
		const kids = spawnSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], { encoding: "utf8" }).stdout.split("\n").map((x) => Number(x.trim())).filter((x) => x > 0);
		child.kill("SIGTERM");
		for (const k of kids) {
			try {
				process.kill(k, "SIGTERM");
			} catch {}
		}
		for (let i = 0; i < 60 && child.exitCode === null && child.signalCode === null; i++) await sleep(50);
		if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
		children.delete(child);
	};
	return s;
}

function xscoap(args) {
	const r = spawnSync(process.execPath, [XSCOAP, ...args], { cwd: work, encoding: "utf8", timeout: 60000 });
	return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function contextDir(name, secret) {
	const d = join(work, name);
	mkdirSync(d, { recursive: true });
	writeFileSync(join(d, "settings.json"), JSON.stringify({ "sender-id_hex": "02", "recipient-id_hex": "01", secret_ascii: secret }));
	return d;
}
const base = "coap://127.0.0.1:" + port;
writeFileSync(join(work, "client.json"), JSON.stringify({ [base + "/*"]: { oscore: { basedir: contextDir("ctx", "xscoap sim key!!") } } }));
writeFileSync(join(work, "wrong.json"), JSON.stringify({ [base + "/*"]: { oscore: { basedir: contextDir("wrong", "not the key!!!!!") } } }));
// The wrong context's numbers run ahead of the right one's, so the device's replay window lets
// them through and decryption is what fails (§7.4 checks before decrypting).
writeFileSync(join(work, "wrong", "sequence.json"), JSON.stringify({ "next-to-send": 1000000 }));

let sim = await simulator();
const lines = (s) => s.text.split("\n").filter((l) => l.startsWith("oscore-sim:"));
for (const l of lines(sim).filter((l) => !/listening/.test(l))) check(l.replace(/^oscore-sim: /, "on XS: ").replace(/: (OK|FAILED.*)$/, ""), !/FAILED/.test(l), /FAILED/.test(l) ? l : "");
if (!check("the app listens on UDP port " + port + " (a fresh context)", /listening on UDP port \d+, context restored from the store: no/.test(sim.text), sim.text.trim().split("\n").pop())) process.exit(1);

let r = xscoap(["put", base + "/led", "--payload", "on", "--credentials", "client.json", "-v"]);
check("xscoap put /led --credentials: 2.04 \"led on for host\", sent protected (POST with OSCORE, nothing in the clear)", r.code === 0 && r.stdout === "led on for host" && /^-> .* CON POST .*\[ OSCORE:0x[0-9a-f]+ \]/m.test(r.stderr) && !/Uri-Path/.test(r.stderr), r.stdout + " " + r.stderr.split("\n")[0]);
r = xscoap(["get", base + "/led", "--credentials", "client.json"]);
check("xscoap get /led --credentials: \"on\"", r.code === 0 && r.stdout === "on", r.stdout + r.stderr);
r = xscoap(["get", base + "/led"]);
check("xscoap get /led without credentials: 4.01 Unauthorized (requireOscore)", r.code === 1 && /4\.01 Unauthorized/.test(r.stderr), r.stderr.trim());
r = xscoap(["get", base + "/hello"]);
check("xscoap get /hello without credentials: answered", r.code === 0 && r.stdout === "hello from the simulator", r.stdout + r.stderr);
r = xscoap(["put", base + "/led", "--payload", "off", "--credentials", "wrong.json"]);
check("a wrong secret: the device answers 4.00 Decryption failed, unprotected; the LED is unchanged", r.code === 1 && /4\.00 Bad Request without OSCORE protection: Decryption failed/.test(r.stderr), r.stderr.trim().split("\n")[0]);

// ---------------------------------------------------------------- restart
await sim.stop();
sim = await simulator();
check("after a restart the context comes back from the device's store (B.1.1)", /context restored from the store: yes/.test(sim.text), lines(sim).pop());
r = xscoap(["put", base + "/led", "--payload", "off", "--credentials", "client.json", "-v"]);
const sent = (r.stderr.match(/^-> .* CON POST /gm) ?? []).length;
check("the first protected request after it gets 4.01 + Echo and is repeated by the client, then answered (B.1.2)", r.code === 0 && r.stdout === "led off for host" && sent === 2, "requests sent: " + sent + ", " + r.stdout + " " + r.stderr.split("\n").filter((l) => !l.startsWith("->") && !l.startsWith("<-")).join(" "));
r = xscoap(["get", base + "/led", "--credentials", "client.json", "-v"]);
check("the next one goes straight through", r.code === 0 && r.stdout === "off" && (r.stderr.match(/^-> .* CON POST /gm) ?? []).length === 1, r.stdout + r.stderr.split("\n")[0]);
await sim.stop();
xvfb.kill("SIGTERM");
console.log(failed === 0 ? "oscore-sim: all checks passed" : "oscore-sim: " + failed + " check(s) FAILED");
process.exit(failed === 0 ? 0 : 1);
