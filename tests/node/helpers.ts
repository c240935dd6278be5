/**
 * Shared helpers of the Node-only tests: spawning `xscoap` and libcoap's tools with bounded
 * waits, free UDP ports, and raw datagram exchanges over node:dgram.
 *
 * Every child started here is registered; `killAll()` (called from the test files' `after`
 * hooks, and on process exit as a last resort) ends the ones still running, by pid.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file runs from build/tests/node/). */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The `xscoap` executable. */
export const XSCOAP = fileURLToPath(new URL("../../../bin/xscoap.js", import.meta.url));

const children = new Set<ChildProcess>();

function killChild(c: ChildProcess): void {
	if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
		try {
			c.kill("SIGKILL");
		} catch {
			// already gone
		}
	}
	children.delete(c);
}

/** Kills every child started by these helpers that is still running. */
export function killAll(): void {
	for (const c of [...children]) killChild(c);
}

process.on("exit", killAll);

/** True when `cmd` is found on PATH. */
export function haveCommand(cmd: string): boolean {
	const r = spawnSync("sh", ["-c", "command -v " + cmd], { encoding: "utf8" });
	return r.status === 0 && r.stdout.trim().length > 0 && existsSync(r.stdout.trim());
}

/**
 * The libcoap tools the interop tests run against (Debian libcoap3-bin, installed by README's
 * set-up and by .ci/run). Missing tools fail the suite: interop must not pass by skipping.
 */
export function requireLibcoap(): void {
	const missing = ["coap-client-notls", "coap-server-notls"].filter((c) => !haveCommand(c));
	if (missing.length > 0) throw new Error(missing.join(" and ") + " not found: apt-get install -y libcoap3-bin");
}

/**
 * aiocoap's checkout, when one is found ($AIOCOAP_DIR, ../aiocoap beside the repository, or
 * /work/aiocoap) and python3 can import it with the stubs of shared/tools/aiocoap (see its
 * README). Sets PYTHONPATH for the child processes started afterwards; undefined without one
 * (the aiocoap tests then skip: aiocoap is an optional peer, libcoap a required one).
 */
export function findAiocoap(): string | undefined {
	const dirs = [process.env.AIOCOAP_DIR, join(ROOT, "..", "aiocoap"), "/work/aiocoap"].filter((d): d is string => d !== undefined);
	const dir = dirs.find((d) => existsSync(join(d, "aiocoap-client")));
	if (dir === undefined) return undefined;
	const stubs = [join(ROOT, "..", "shared", "tools", "aiocoap", "pystubs"), "/work/shared/tools/aiocoap/pystubs"].find((d) => existsSync(d));
	const path = [dir, ...(stubs === undefined ? [] : [stubs]), ...(process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [])].join(":");
	const probe = spawnSync("python3", ["-c", "import aiocoap.cli.client"], { encoding: "utf8", env: { ...process.env, PYTHONPATH: path } });
	if (probe.status !== 0) return undefined;
	process.env.PYTHONPATH = path;
	return dir;
}

/** True when the loopback interface has ::1 (and a udp6 socket can bind it). */
export async function haveIpv6Loopback(): Promise<boolean> {
	const lo = Object.values(networkInterfaces()).flat();
	if (!lo.some((a) => a !== undefined && a.family === "IPv6" && a.address === "::1")) return false;
	try {
		await freeUdpPort("::1");
		return true;
	} catch {
		return false;
	}
}

/**
 * A UDP port that was free a moment ago on `address` (the kernel's choice for port 0).
 * Another process may take it before it is used: callers that start a server on it retry.
 */
export function freeUdpPort(address = "127.0.0.1"): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = dgram.createSocket(address.indexOf(":") >= 0 ? "udp6" : "udp4");
		s.once("error", (e) => {
			s.close();
			reject(e);
		});
		s.bind({ port: 0, address, exclusive: true }, () => {
			const port = s.address().port;
			s.close(() => resolve(port));
		});
	});
}

export interface RunResult {
	/** Exit status, or null when killed by a signal. */
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
	stdoutBytes: Buffer;
	ms: number;
	/** True when the helper killed it at `timeoutMs`. */
	timedOut: boolean;
}

/** Runs a command to completion; kills it after `timeoutMs`. Never rejects on a non-zero exit. */
export function run(cmd: string, args: readonly string[], options: { timeoutMs?: number; input?: string | Buffer; cwd?: string } = {}): Promise<RunResult> {
	const timeoutMs = options.timeoutMs ?? 15000;
	return new Promise((resolve, reject) => {
		const t0 = performance.now();
		const c = spawn(cmd, args, { cwd: options.cwd ?? ROOT, stdio: ["pipe", "pipe", "pipe"] });
		children.add(c);
		const out: Buffer[] = [];
		const err: Buffer[] = [];
		let timedOut = false;
		c.stdout!.on("data", (b: Buffer) => out.push(b));
		c.stderr!.on("data", (b: Buffer) => err.push(b));
		const timer = setTimeout(() => {
			timedOut = true;
			killChild(c);
		}, timeoutMs);
		c.once("error", (e) => {
			clearTimeout(timer);
			children.delete(c);
			reject(e);
		});
		c.once("close", (code, signal) => {
			clearTimeout(timer);
			children.delete(c);
			const stdoutBytes = Buffer.concat(out);
			resolve({ code, signal, stdout: stdoutBytes.toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), stdoutBytes, ms: performance.now() - t0, timedOut });
		});
		if (options.input !== undefined) c.stdin!.end(options.input);
		else c.stdin!.end();
	});
}

/** Runs `node bin/xscoap.js ...args`. */
export function xscoap(args: readonly string[], options: { timeoutMs?: number; input?: string | Buffer } = {}): Promise<RunResult> {
	return run(process.execPath, [XSCOAP, ...args], options);
}

/** A long-running child (a server) whose output is collected as it comes. */
export class Child {
	readonly proc: ChildProcess;
	stdout = "";
	stderr = "";
	readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

	constructor(cmd: string, args: readonly string[], options: { cwd?: string } = {}) {
		this.proc = spawn(cmd, args, { cwd: options.cwd ?? ROOT, stdio: ["ignore", "pipe", "pipe"] });
		children.add(this.proc);
		this.proc.stdout!.setEncoding("utf8");
		this.proc.stderr!.setEncoding("utf8");
		this.proc.stdout!.on("data", (s: string) => (this.stdout += s));
		this.proc.stderr!.on("data", (s: string) => (this.stderr += s));
		this.exited = new Promise((resolve) => {
			this.proc.once("error", () => resolve({ code: null, signal: null }));
			this.proc.once("close", (code, signal) => {
				children.delete(this.proc);
				resolve({ code, signal });
			});
		});
	}

	get running(): boolean {
		return this.proc.exitCode === null && this.proc.signalCode === null;
	}

	/** Resolves with the first match of `re` in stdout; rejects on exit or after `timeoutMs`. */
	waitFor(re: RegExp, timeoutMs = 10000): Promise<RegExpMatchArray> {
		return new Promise((resolve, reject) => {
			const check = (): boolean => {
				const m = re.exec(this.stdout);
				if (m) {
					done();
					resolve(m);
					return true;
				}
				return false;
			};
			const onData = () => void check();
			const onExit = () => {
				if (check()) return;
				done();
				reject(new Error("process exited before printing " + re + "; stdout: " + JSON.stringify(this.stdout) + " stderr: " + JSON.stringify(this.stderr)));
			};
			const timer = setTimeout(() => {
				done();
				reject(new Error("no " + re + " within " + timeoutMs + " ms; stdout: " + JSON.stringify(this.stdout) + " stderr: " + JSON.stringify(this.stderr)));
			}, timeoutMs);
			const done = () => {
				clearTimeout(timer);
				this.proc.stdout!.off("data", onData);
				this.proc.off("close", onExit);
			};
			this.proc.stdout!.on("data", onData);
			this.proc.once("close", onExit);
			check();
		});
	}

	/** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves when it is gone. */
	async stop(graceMs = 2000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
		if (this.running) {
			this.proc.kill("SIGTERM");
			const t = setTimeout(() => killChild(this.proc), graceMs);
			const r = await this.exited;
			clearTimeout(t);
			return r;
		}
		return this.exited;
	}
}

export interface XscoapServer {
	child: Child;
	host: string;
	port: number;
	/** coap://host:port (IPv6 in brackets), no trailing slash. */
	base: string;
}

/**
 * Starts `xscoap serve --bind HOST:PORT` (PORT 0 by default: the kernel picks a free one, and
 * the server prints it) and waits for its "listening on" line.
 */
export async function startXscoapServer(host = "127.0.0.1", port = 0, extra: readonly string[] = []): Promise<XscoapServer> {
	const bracketed = host.indexOf(":") >= 0 ? "[" + host + "]" : host;
	const child = new Child(process.execPath, [XSCOAP, "serve", "--bind", bracketed + ":" + port, ...extra]);
	try {
		const m = await child.waitFor(/listening on coap:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\//, 10000);
		const p = Number(m[2]);
		return { child, host, port: p, base: "coap://" + bracketed + ":" + p };
	} catch (e) {
		await child.stop();
		throw e;
	}
}

/** Collects datagrams arriving at a socket within a window. */
export interface Reply {
	bytes: Buffer;
	address: string;
	port: number;
}

/** A node:dgram client socket for hand-made datagrams. */
export class RawPeer {
	readonly socket: dgram.Socket;
	readonly received: Reply[] = [];
	#waiters: (() => void)[] = [];

	private constructor(socket: dgram.Socket) {
		this.socket = socket;
		socket.on("message", (bytes, rinfo) => {
			this.received.push({ bytes, address: rinfo.address, port: rinfo.port });
			for (const w of this.#waiters.splice(0)) w();
		});
	}

	static open(family: "udp4" | "udp6" = "udp4"): Promise<RawPeer> {
		return new Promise((resolve, reject) => {
			const s = dgram.createSocket(family);
			s.once("error", reject);
			s.bind({ port: 0, address: family === "udp4" ? "127.0.0.1" : "::1" }, () => {
				s.off("error", reject);
				resolve(new RawPeer(s));
			});
		});
	}

	get port(): number {
		return this.socket.address().port;
	}

	send(bytes: Uint8Array, port: number, address = "127.0.0.1"): Promise<void> {
		return new Promise((resolve, reject) => this.socket.send(bytes, port, address, (e) => (e ? reject(e) : resolve())));
	}

	/** Waits for the next datagram (after those already taken), or null after `timeoutMs`. */
	next(timeoutMs = 3000): Promise<Reply | null> {
		return new Promise((resolve) => {
			const take = (): boolean => {
				const r = this.received.shift();
				if (r === undefined) return false;
				clearTimeout(timer);
				resolve(r);
				return true;
			};
			const timer = setTimeout(() => {
				this.#waiters = this.#waiters.filter((w) => w !== onMessage);
				resolve(null);
			}, timeoutMs);
			const onMessage = () => {
				if (!take()) this.#waiters.push(onMessage);
			};
			if (!take()) this.#waiters.push(onMessage);
		});
	}

	/** Sends `bytes` and returns the first reply, or null when none came within `timeoutMs`. */
	async exchange(bytes: Uint8Array, port: number, address = "127.0.0.1", timeoutMs = 3000): Promise<Reply | null> {
		this.received.length = 0;
		await this.send(bytes, port, address);
		return this.next(timeoutMs);
	}

	close(): void {
		try {
			this.socket.close();
		} catch {
			// already closed
		}
	}
}

/** Waits until a CoAP endpoint at address:port answers a CoAP ping (CON Empty → RST), or throws. */
export async function waitForCoap(address: string, port: number, timeoutMs = 10000): Promise<void> {
	const peer = await RawPeer.open(address.indexOf(":") >= 0 ? "udp6" : "udp4");
	try {
		const until = performance.now() + timeoutMs;
		let mid = 0x4242;
		while (performance.now() < until) {
			mid = (mid + 1) & 0xffff;
			const r = await peer.exchange(Uint8Array.of(0x40, 0x00, mid >> 8, mid & 0xff), port, address, 200);
			if (r !== null) return;
		}
		throw new Error("no CoAP endpoint answered a ping at " + address + ":" + port + " within " + timeoutMs + " ms");
	} finally {
		peer.close();
	}
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Message type, code ("c.dd"), mid and token of a raw CoAP datagram (for assertions). */
export function header(bytes: Uint8Array): { version: number; type: number; code: string; mid: number; token: Buffer; payload: Buffer } {
	const tkl = bytes[0]! & 0x0f;
	const code = bytes[1]!;
	// Walk the options (RFC 7252 §3.1) to find the payload marker.
	let payload = Buffer.alloc(0);
	let p = 4 + tkl;
	while (p < bytes.length) {
		const head = bytes[p++]!;
		if (head === 0xff) {
			payload = Buffer.from(bytes.subarray(p));
			break;
		}
		const d = head >> 4;
		let len = head & 0x0f;
		p += d === 13 ? 1 : d === 14 ? 2 : 0;
		if (len === 13) len = bytes[p++]! + 13;
		else if (len === 14) {
			len = ((bytes[p]! << 8) | bytes[p + 1]!) + 269;
			p += 2;
		}
		p += len;
	}
	return {
		version: bytes[0]! >> 6,
		type: (bytes[0]! >> 4) & 3,
		code: (code >> 5) + "." + String(code & 0x1f).padStart(2, "0"),
		mid: (bytes[2]! << 8) | bytes[3]!,
		token: Buffer.from(bytes.subarray(4, 4 + tkl)),
		payload,
	};
}

export const CON = 0;
export const NON = 1;
export const ACK = 2;
export const RST = 3;

/** A random base port with room for `span` ports above it (tests run beside other helpers' tests). */
export function randomBase(span: number): number {
	return 20000 + Math.floor(Math.random() * (60000 - 20000 - span));
}

/** Starts `xscoap sim` with `args` on a random free port range; retries when a port of it is taken. */
export async function startSim(args: string[], span: number, ready: RegExp): Promise<{ child: Child; base: number }> {
	for (let attempt = 0; ; attempt++) {
		const base = randomBase(span);
		const child = new Child(process.execPath, [XSCOAP, "sim", "--base-port", String(base), ...args]);
		try {
			await child.waitFor(ready, 45000);
			return { child, base };
		} catch (e) {
			await child.stop();
			if (attempt < 4 && /in use/.test(child.stderr)) continue;
			throw e;
		}
	}
}

/** SIGINT to `child` (SIGKILL after `maxMs`); its exit code and how long it took to exit. */
export async function interrupt(child: Child, maxMs = 10000): Promise<{ code: number | null; ms: number }> {
	const t0 = performance.now();
	child.proc.kill("SIGINT");
	const timer = setTimeout(() => child.proc.kill("SIGKILL"), maxMs);
	const r = await child.exited;
	clearTimeout(timer);
	return { code: r.code, ms: performance.now() - t0 };
}
