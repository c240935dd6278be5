/**
 * The `xscoap` command line (Node host).
 *
 *   xscoap get|post|put|delete|fetch|patch|ipatch URI [options]   one request; payload to stdout
 *   xscoap serve [--bind HOST:PORT]                                 the demo server
 *   xscoap device DIR [--bind HOST:PORT]                            a firmware example (e.g. examples/sensor), simulated hardware
 *
 * Exit status: 0 for a 2.xx response; 1 for another response code (printed on stderr);
 * 2 for a usage error; 3 when no response came (timeout, reset, network error).
 */
import { lookup } from "node:dns/promises";
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { basename, dirname, resolve as resolvePath } from "node:path";
import { FORMAT_NAMES } from "../../modules/coap/constants.js";
import type { Endpoint } from "../../modules/coap/endpoint.js";
import { CoapError } from "../../modules/coap/errors.js";
import type { RequestOptions } from "../../modules/coap/client/options.js";
import type { ClientResponse } from "../../modules/coap/client/response.js";
import { parseCoapUri } from "../../modules/coap/uri/uri.js";
import { describeMessage } from "../../modules/coap/wire/describe.js";
import { demoRouter } from "../../modules/demo/demo.js";
import { deviceSettings, type CoapDeviceConfig, type DeviceSettings } from "../../modules/coap/device.js";
import type { Clock } from "../../modules/coap/host.js";
import type { Router } from "../../modules/coap/server/router.js";
import { SensorApp, type SensorDeviceConfig } from "../../examples/sensor/app.js";
import { SimulatedSensors } from "../../examples/sensor/simulated.js";
import { nodePorts, openEndpoint } from "./ports.js";

const USAGE = `usage:
  xscoap get|post|put|delete|fetch|patch|ipatch URI [options]
      --payload TEXT          request payload
      --payload-file FILE     request payload from a file ("-" for stdin)
      --content-format CF     Content-Format of the payload (number or name, e.g. 0, text/plain, json)
      --accept CF             Accept option
      --non                   send a Non-confirmable request (default: Confirmable)
      --timeout SECONDS       give up after this long (default 93)
      --observe               RFC 7641: print each notification on its own line until Ctrl-C
      --count N               with --observe: stop after N notifications
      --block-size N          RFC 7959 block size, 16..1024 (a power of two)
      -v, --verbose           print the messages exchanged on stderr
      A multicast address (e.g. coap://224.0.1.187/...) sends a NON request to the group and
      prints every server's response, each on its own line, until the timeout (default 6 s).
  xscoap serve [--bind HOST:PORT] [-v]
      serves /hello, /time (observable), /echo, /counter (observable), /large and
      /.well-known/core (default bind [::]:5683)
  xscoap device DIR [--bind HOST:PORT] [-v]
      runs the firmware example in DIR (e.g. examples/sensor) on this host, with simulated
      sensors and the LED on the console; limits from the example's manifest config.coap
`;

class UsageError extends Error {
	override get name(): string {
		return "UsageError";
	}
}

const METHODS = ["get", "post", "put", "delete", "fetch", "patch", "ipatch"];

interface Parsed {
	command: string;
	positional: string[];
	flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(["--payload", "--payload-file", "--content-format", "--accept", "--timeout", "--bind", "--count", "--block-size"]);
const BOOL_FLAGS = new Set(["--non", "-v", "--verbose", "-h", "--help", "--observe"]);

/** Parses argv (flags before or after positional arguments). */
export function parseArgs(argv: readonly string[]): Parsed {
	const positional: string[] = [];
	const flags = new Map<string, string | true>();
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i]!;
		const eq = a.startsWith("--") ? a.indexOf("=") : -1;
		const name = eq > 0 ? a.slice(0, eq) : a;
		if (VALUE_FLAGS.has(name)) {
			const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
			if (value === undefined) throw new UsageError(name + " needs a value");
			flags.set(name, value);
		} else if (BOOL_FLAGS.has(name)) flags.set(name === "--verbose" ? "-v" : name, true);
		else if (a.startsWith("-") && a.length > 1) throw new UsageError("unknown option " + a);
		else positional.push(a);
	}
	return { command: (positional.shift() ?? "").toLowerCase(), positional, flags };
}

function contentFormat(value: string | true | undefined, flag: string): number | undefined {
	if (value === undefined || value === true) return undefined;
	if (/^\d+$/.test(value)) {
		const n = Number(value);
		if (n > 65535) throw new UsageError(flag + " must be 0..65535");
		return n;
	}
	const n = FORMAT_NAMES[value.toLowerCase()];
	if (n === undefined) throw new UsageError(flag + ": unknown content format " + JSON.stringify(value) + " (use a number or one of " + Object.keys(FORMAT_NAMES).join(", ") + ")");
	return n;
}

function traceTo(stream: NodeJS.WritableStream) {
	return (outgoing: boolean, bytes: Uint8Array, length: number, address: string, port: number) => {
		const peer = (address.indexOf(":") >= 0 ? "[" + address + "]" : address) + ":" + port;
		stream.write((outgoing ? "-> " : "<- ") + peer + " " + describeMessage(bytes, length) + "\n");
	};
}

async function readPayload(flags: Map<string, string | true>): Promise<Uint8Array | string | undefined> {
	const text = flags.get("--payload");
	const file = flags.get("--payload-file");
	if (text !== undefined && file !== undefined) throw new UsageError("use --payload or --payload-file, not both");
	if (typeof text === "string") return text;
	if (typeof file === "string") {
		try {
			return new Uint8Array(readFileSync(file === "-" ? 0 : file));
		} catch (e) {
			throw new UsageError("cannot read " + file + ": " + (e as Error).message);
		}
	}
	return undefined;
}

async function request(method: string, p: Parsed): Promise<number> {
	const uri = p.positional[0];
	if (uri === undefined || p.positional.length > 1) throw new UsageError(method + " takes exactly one URI");
	const parsed = parseCoapUri(uri);
	if (typeof parsed === "string") throw new UsageError(parsed);
	let address = parsed.host;
	if (!parsed.hostIsLiteral) {
		try {
			address = (await lookup(parsed.host)).address;
		} catch {
			process.stderr.write("error: cannot resolve host " + parsed.host + "\n");
			return 3;
		}
	}
	const timeoutFlag = p.flags.get("--timeout");
	let timeoutMs: number | undefined;
	if (timeoutFlag !== undefined) {
		const s = Number(timeoutFlag);
		if (!(s > 0 && s <= 86400)) throw new UsageError("--timeout takes seconds, 0 < s <= 86400");
		timeoutMs = Math.round(s * 1000);
	}
	const payload = await readPayload(p.flags);
	const verbose = p.flags.has("-v");
	const blockFlag = p.flags.get("--block-size");
	let blockSize: number | undefined;
	if (blockFlag !== undefined) {
		blockSize = Number(blockFlag);
		if (!(blockSize >= 16 && blockSize <= 1024 && (blockSize & (blockSize - 1)) === 0)) throw new UsageError("--block-size takes a power of two 16..1024");
	}
	const countFlag = p.flags.get("--count");
	let count = 0;
	if (countFlag !== undefined) {
		count = Number(countFlag);
		if (!(Number.isInteger(count) && count >= 1)) throw new UsageError("--count takes a whole number >= 1");
		if (!p.flags.has("--observe")) throw new UsageError("--count goes with --observe");
	}
	const options = {
		method,
		uri,
		address,
		payload,
		contentFormat: contentFormat(p.flags.get("--content-format"), "--content-format"),
		accept: contentFormat(p.flags.get("--accept"), "--accept"),
		confirmable: !p.flags.has("--non"),
		timeoutMs,
		blockSize,
		onProgress: process.stderr.isTTY ? progress : undefined,
	};
	let socketError: unknown = undefined;
	const ep = await openEndpoint({
		address: isIP(address) === 6 ? "::" : "0.0.0.0",
		trace: verbose ? traceTo(process.stderr) : undefined,
		// Desktop client: bodies up to 64 MiB block-wise; one transfer at a time.
		limits: { clientExchanges: 2, serverExchanges: 0, maxMessageSize: 65000, maxOptions: 128, dedupEntries: 64, blockTransfers: 1, maxBodySize: 64 * 1024 * 1024, observers: 0 },
		// The whole request is bounded by --timeout, including CON retransmissions.
		tuning: timeoutMs !== undefined ? { requestTimeoutMs: timeoutMs } : {},
		onError: (e) => {
			socketError = e;
		},
	});
	try {
		if (isMulticast(address)) return await multicastRequest(ep, options, timeoutMs);
		if (p.flags.has("--observe")) return await observe(ep, options, count);
		const res = await ep.request(options);
		if (process.stderr.isTTY && progressShown) process.stderr.write("\n");
		if (verbose) for (const line of res.describeOptions()) process.stderr.write("   " + line + "\n");
		if (res.payload.length > 0) {
			await writeAll(process.stdout, res.payload);
			// On a terminal, end the line; in a pipe, the payload's bytes are passed on unchanged.
			if (process.stdout.isTTY && res.payload[res.payload.length - 1] !== 0x0a) process.stdout.write("\n");
		}
		if (res.ok) return 0;
		process.stderr.write(res.codeText + "\n");
		return 1;
	} catch (e) {
		if (e instanceof CoapError) {
			const detail = e.code === "COAP_SOCKET" && socketError !== undefined ? " (" + ((socketError as Error).message ?? String(socketError)) + ")" : "";
			process.stderr.write("error: " + e.code + ": " + e.message + detail + "\n");
			return e.code === "COAP_BAD_URI" ? 2 : 3;
		}
		throw e;
	} finally {
		ep.close();
	}
}

let progressShown = false;

/** Block-wise progress on stderr when it is a terminal (RFC 7959 transfers). */
function progress(bytes: number, total: number, sending: boolean): void {
	progressShown = true;
	const of = total > 0 ? " of " + total + " (" + Math.floor((100 * bytes) / total) + "%)" : "";
	process.stderr.write("\r" + (sending ? "sent " : "received ") + bytes + " bytes" + of + "   ");
}

function isMulticast(address: string): boolean {
	if (isIP(address) === 6) return address.toLowerCase().startsWith("ff");
	const first = Number(address.split(".")[0]);
	return first >= 224 && first <= 239;
}

/** RFC 7641: prints each notification's payload on its own line (flushed) until Ctrl-C or `count`. */
async function observe(ep: Endpoint, options: RequestOptions, count: number): Promise<number> {
	let seen = 0;
	let last: ClientResponse | undefined;
	let endError: CoapError | null = null;
	let finish: () => void = () => {};
	const ended = new Promise<void>((resolve) => {
		finish = resolve;
	});
	const obs = ep.observe(
		options,
		(r) => {
			last = r;
			seen++;
			process.stdout.write(r.ok ? Buffer.concat([Buffer.from(r.payload), Buffer.from("\n")]) : "");
			if (!r.ok) process.stderr.write(r.codeText + "\n");
			if (count > 0 && seen >= count) void obs.cancel().then(finish);
		},
		(e) => {
			endError = e;
			finish();
		},
	);
	const stop = () => void obs.cancel().then(finish);
	process.once("SIGINT", stop);
	process.once("SIGTERM", stop);
	await ended;
	process.removeListener("SIGINT", stop);
	process.removeListener("SIGTERM", stop);
	if (endError !== null) {
		process.stderr.write("error: " + (endError as CoapError).code + ": " + (endError as CoapError).message + "\n");
		return 3;
	}
	if (last === undefined) return 3;
	return last.ok ? 0 : 1;
}

/** RFC 7252 §8.1: a NON request to a group; every response on its own line, tagged with its server. */
async function multicastRequest(ep: Endpoint, options: RequestOptions, timeoutMs: number | undefined): Promise<number> {
	const n = await ep.multicast(
		options,
		(r) => {
			const from = (r.address.indexOf(":") >= 0 ? "[" + r.address + "]" : r.address) + ":" + r.port;
			process.stdout.write(from + " " + r.codeText + " " + Buffer.from(r.payload).toString("utf8").replace(/\n/g, " ") + "\n");
		},
		timeoutMs ?? 6000,
	);
	if (n > 0) return 0;
	process.stderr.write("no response from the group\n");
	return 3;
}

function writeAll(stream: NodeJS.WriteStream, bytes: Uint8Array): Promise<void> {
	return new Promise((resolve) => {
		if (stream.write(bytes)) resolve();
		else stream.once("drain", () => resolve());
	});
}

function parseBind(bind: string): { address: string; port: number } {
	const m = /^(?:\[([^\]]+)\]|([^:]*)|([^\]]*:[^\]]*))?(?::(\d+))?$/.exec(bind);
	let address = "::";
	let port = 5683;
	if (/^\d+$/.test(bind)) return { address, port: Number(bind) };
	if (bind.indexOf("[") < 0 && (bind.match(/:/g) ?? []).length > 1) return { address: bind, port }; // bare IPv6
	if (!m) throw new UsageError("--bind takes HOST:PORT, [IPV6]:PORT or PORT");
	address = m[1] ?? m[2] ?? "::";
	if (address === "" || address === "*") address = "::";
	if (address === "localhost") address = "127.0.0.1";
	if (m[4] !== undefined) port = Number(m[4]);
	if (!(port >= 0 && port <= 65535)) throw new UsageError("bad port in --bind " + bind);
	if (isIP(address) === 0) throw new UsageError("--bind needs a numeric address, got " + address);
	return { address, port };
}

async function serve(p: Parsed): Promise<number> {
	if (p.positional.length > 0) throw new UsageError("serve takes no arguments besides --bind");
	const bind = p.flags.get("--bind");
	const { address, port } = parseBind(typeof bind === "string" ? bind : "[::]:5683");
	let ep: Endpoint;
	const router = demoRouter();
	let listening = false;
	try {
		ep = await openEndpoint({
			address,
			port,
			router,
			trace: p.flags.has("-v") ? traceTo(process.stderr) : undefined,
			// Desktop capacities: more room than the ESP32 profile, still fixed at start; bodies
			// up to 256 KiB block-wise (RFC 7959), 8 transfers at once.
			limits: { maxMessageSize: 1152, clientExchanges: 4, serverExchanges: 64, dedupEntries: 4096, dedupCacheBytes: 256 * 1024, maxOptions: 64, blockTransfers: 8, maxBodySize: 256 * 1024, observers: 64 },
			onHandlerError: (e) => process.stderr.write("handler error: " + ((e as Error)?.stack ?? String(e)) + "\n"),
			// Bind failures are reported once, below; later socket errors as they come.
			onError: (e) => {
				if (listening) process.stderr.write("socket error: " + String(e) + "\n");
			},
		});
		listening = true;
	} catch (e) {
		process.stderr.write("error: cannot listen on " + (address.indexOf(":") >= 0 ? "[" + address + "]" : address) + ":" + port + ": " + (e as Error).message + "\n");
		return 3;
	}
	const shown = address.indexOf(":") >= 0 ? "[" + address + "]" : address;
	process.stdout.write("xscoap demo server listening on coap://" + shown + ":" + ep.port + "/ (resources: /hello /time /echo /counter /large /.well-known/core)\n");
	// RFC 7641: /time is observable and changes every second.
	const tick = setInterval(() => router.changed("/time"), 1000);
	await new Promise<void>((resolve) => {
		const stop = () => {
			clearInterval(tick);
			ep.close();
			resolve();
		};
		process.once("SIGINT", stop);
		process.once("SIGTERM", stop);
	});
	return 0;
}

// ---------------------------------------------------------------- device

/** A firmware example the Node host can run: its host-neutral app over simulated hardware. */
interface DeviceApp {
	/** Key of the app's settings in the manifest's `config` (mc/config on the device). */
	readonly configKey: string;
	/** The app over simulated hardware; `start()` runs once the endpoint is open, `close()` at exit. */
	build(config: Record<string, unknown>, out: NodeJS.WritableStream, clock: Clock, device: DeviceSettings): { router: Router; hardware: string; start(): void; close(): void };
}

/** Examples by directory name. */
const DEVICE_APPS: Readonly<Record<string, DeviceApp>> = Object.freeze({
	sensor: Object.freeze({
		configKey: "sensor",
		build(config: Record<string, unknown>, out: NodeJS.WritableStream, clock: Clock, device: DeviceSettings) {
			const board = new SimulatedSensors({ now: () => clock.now(), onLed: (on: boolean) => out.write("LED " + (on ? "on" : "off") + "\n") });
			const hardware = "simulated temperature and humidity, LED on the console";
			const app = new SensorApp(board, clock, config as SensorDeviceConfig, { host: "Node.js", boardDescription: hardware, device });
			return { router: app.router, hardware, start: () => app.start(), close: () => app.close() };
		},
	}),
});

/**
 * The `config` a Moddable build of manifest `path` would see: the manifest's and its local
 * includes' `config` objects merged as mcconfig merges them (included first, nested objects
 * merged key by key). Includes under $(MODDABLE) are skipped: they carry no xscoap settings.
 */
function manifestConfig(path: string, seen: Set<string> = new Set()): Record<string, unknown> {
	const config: Record<string, unknown> = {};
	if (seen.has(path)) return config;
	seen.add(path);
	let manifest: { include?: string | string[]; config?: Record<string, unknown> };
	try {
		manifest = JSON.parse(readFileSync(path, "utf8")) as typeof manifest;
	} catch (e) {
		throw new UsageError("cannot read " + path + ": " + (e as Error).message);
	}
	const includes = manifest.include === undefined ? [] : typeof manifest.include === "string" ? [manifest.include] : manifest.include;
	for (const inc of includes) if (!inc.startsWith("$(")) mergeConfig(config, manifestConfig(resolvePath(dirname(path), inc), seen));
	mergeConfig(config, manifest.config ?? {});
	return config;
}

function mergeConfig(target: Record<string, unknown>, source: Record<string, unknown>): void {
	for (const k of Object.keys(source)) {
		const t = target[k];
		const v = source[k];
		if (t && v && typeof t === "object" && typeof v === "object" && !Array.isArray(t) && !Array.isArray(v)) mergeConfig(t as Record<string, unknown>, v as Record<string, unknown>);
		else target[k] = v;
	}
}

async function device(p: Parsed): Promise<number> {
	const dir = p.positional[0];
	if (dir === undefined || p.positional.length > 1) throw new UsageError("device takes one example directory, e.g. examples/sensor");
	const name = basename(resolvePath(dir));
	const app = DEVICE_APPS[name];
	const manifestPath = resolvePath(dir, "manifest.json");
	if (app === undefined || !existsSync(manifestPath)) {
		throw new UsageError("no device example in " + dir + " (known: " + Object.keys(DEVICE_APPS).map((n) => "examples/" + n).join(", ") + ")");
	}
	const config = manifestConfig(manifestPath);
	let settings;
	try {
		settings = deviceSettings(config.coap as CoapDeviceConfig | undefined);
	} catch (e) {
		throw new UsageError(manifestPath + ": " + (e as Error).message);
	}
	const bind = p.flags.get("--bind");
	const { address, port } = parseBind(typeof bind === "string" ? bind : "[::]:" + settings.port);
	const ports = nodePorts();
	let built;
	try {
		built = app.build((config[app.configKey] ?? {}) as Record<string, unknown>, process.stdout, ports.clock, { ...settings, port });
	} catch (e) {
		throw new UsageError(manifestPath + ": " + (e as Error).message);
	}
	let ep: Endpoint;
	try {
		ep = await openEndpoint({
			ports,
			address,
			port,
			router: built.router,
			// The firmware's limits (config.coap), so the desktop device behaves like the ESP32 one.
			limits: settings.limits,
			trace: p.flags.has("-v") ? traceTo(process.stderr) : undefined,
			onError: (e) => process.stderr.write("socket error: " + String(e) + "\n"),
		});
	} catch (e) {
		process.stderr.write("error: cannot listen on " + (address.indexOf(":") >= 0 ? "[" + address + "]" : address) + ":" + port + ": " + (e as Error).message + "\n");
		return 3;
	}
	built.start();
	const shown = address.indexOf(":") >= 0 ? "[" + address + "]" : address;
	const paths = built.router.resources.map((r) => r.path).join(" ");
	process.stdout.write("xscoap device " + name + " listening on coap://" + shown + ":" + ep.port + "/ (" + built.hardware + "; resources: " + paths + " /.well-known/core)\n");
	await new Promise<void>((resolve) => {
		const stop = () => {
			built.close();
			ep.close();
			resolve();
		};
		process.once("SIGINT", stop);
		process.once("SIGTERM", stop);
	});
	return 0;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
	try {
		const p = parseArgs(argv);
		if (p.flags.has("-h") || p.flags.has("--help") || p.command === "help") {
			process.stdout.write(USAGE);
			return 0;
		}
		if (p.command === "serve") return await serve(p);
		if (p.command === "device") return await device(p);
		if (METHODS.indexOf(p.command) >= 0) return await request(p.command.toUpperCase(), p);
		throw new UsageError(p.command === "" ? "missing command" : "unknown command " + p.command);
	} catch (e) {
		if (e instanceof UsageError) {
			process.stderr.write("error: " + e.message + " (xscoap --help shows the usage)\n");
			return 2;
		}
		process.stderr.write("error: " + ((e as Error)?.message ?? String(e)) + "\n");
		return 3;
	}
}


