/**
 * `xscoap get|post|put|delete|fetch|patch|ipatch URI`: one request, an observation (RFC 7641)
 * or a multicast request (RFC 7252 §8) from the Node host. The payload goes to stdout (by
 * Content-Format on a terminal, unchanged in a pipe) or to a file; the code with its name and
 * errors with a hint go to stderr; the exit status says what happened (command.ts).
 *
 * OSCORE: --credentials (credentials.ts) protects requests to the URIs its patterns match.
 * Leaves out: proxying (--proxy is refused until xscoap has a proxy), DTLS and TCP (coaps://,
 * coap+tcp:// are refused by the URI parser).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { codeName } from "../../../../modules/coap/constants.js";
import type { Endpoint } from "../../../../modules/coap/endpoint.js";
import { CoapError, type OscoreFailure } from "../../../../modules/coap/errors.js";
import { parseFormat } from "../../../../modules/coap/formats.js";
import type { OptionValue, RequestOptions } from "../../../../modules/coap/client/options.js";
import type { ClientResponse } from "../../../../modules/coap/client/response.js";
import { FMT_EMPTY, FMT_UINT, OPT_HOP_LIMIT, OPT_OBSERVE, optionByName, optionFormat } from "../../../../modules/coap/options.js";
import { parseCoapUri } from "../../../../modules/coap/uri/uri.js";
import { isPrintableText } from "../../../../modules/coap/wire/describe.js";
import { openEndpoint } from "../../ports.js";
import { type Args, type Command, EXIT_DEREGISTRATION, EXIT_NO_RESPONSE, EXIT_OK, EXIT_RESPONSE, EXIT_USAGE, type OptionSpec, UsageError } from "../command.js";
import { CREDENTIALS_OPTION, clientCredentials } from "../credentials.js";
import { hostPort, isMulticast, parseBind, resolveHost } from "../net.js";
import { type PayloadStyle, codeLine, payloadStyle, printError, writeAll, writeFileAtomic, writePayload } from "../output.js";
import { traceTo } from "../trace.js";

const METHODS = ["get", "post", "put", "delete", "fetch", "patch", "ipatch"];

/** How long Ctrl-C (or the end of --duration or --count) waits for the deregistration's answer. */
const DEREGISTRATION_WAIT_MS = 900;

const OPTIONS: readonly OptionSpec[] = Object.freeze([
	{ names: ["--payload", "-e"], value: "TEXT", help: "request payload (UTF-8 text)" },
	{ names: ["--payload-file", "-f"], value: "FILE", help: 'request payload from a file ("-" for stdin); large ones go block-wise (RFC 7959)' },
	{ names: ["--content-format", "-t"], value: "CF", help: "Content-Format of the payload: a number, a media type (with or without parameters) or a short name (see below)" },
	{ names: ["--accept", "-A"], value: "CF", help: "Accept: the content format wanted in the response" },
	{ names: ["--option", "-O"], value: "NUM,VALUE", repeat: true, help: "add option NUM (a number or a name such as Uri-Query) with VALUE: 0x followed by hex for bytes, a number for uint options, else text; NUM alone for an empty value. Repeatable." },
	{ names: ["--token", "-T"], value: "HEX", help: "the request's token, 0..8 bytes in hex (default: 4 random bytes)" },
	{ names: ["--non", "-N"], help: "send a Non-confirmable request (default: Confirmable, retransmitted until acknowledged)" },
	{ names: ["--no-uri-host", "-U", "--no-set-hostname"], help: "do not send Uri-Host for a host name in the URI" },
	{ names: ["--hop-limit", "-H"], value: "N", help: "Hop-Limit option (RFC 8768), 1..255, for requests that go through proxies" },
	{ names: ["--timeout", "-B"], value: "SECONDS", help: "give up when no response came after this long (default 93, MAX_TRANSMIT_WAIT); with --observe, for the first response" },
	{ names: ["--block-size", "-b"], value: "SIZE", help: "RFC 7959 block size for large payloads in both directions, 16..1024, a power of two (default 1024)" },
	{ names: ["--observe"], help: "RFC 7641: register an observation and print each notification until Ctrl-C (which deregisters), --duration or --count" },
	{ names: ["--duration", "-s"], value: "SECONDS", help: "observe for this long, then deregister and exit (implies --observe)" },
	{ names: ["--count"], value: "N", help: "with --observe: deregister and exit after N notifications" },
	{ names: ["--observe-exec"], value: "CMD", help: "run CMD (with sh -c) for each notification, its payload on CMD's stdin, one at a time (implies --observe)" },
	{ names: ["--output", "-o"], value: "FILE", help: "write the payload to FILE instead of stdout (with --observe, each notification replaces the file's content)" },
	{ names: ["--raw"], help: "write the payload's bytes unchanged, also on a terminal" },
	{ names: ["--pretty"], help: "show the payload by its Content-Format (JSON indented, CBOR as diagnostic notation, link-format one link per line, SenML as a table), also in a pipe" },
	{ names: ["--bind", "-a"], value: "HOST:PORT", help: "local address (and port) to send from, e.g. 192.0.2.1 or [::]:5700 (default: every interface, a random port)" },
	{ names: ["--proxy", "-P"], value: "URI", help: "send the request through a CoAP proxy: not available yet (xscoap has no proxying); refused for now" },
	CREDENTIALS_OPTION,
	{ names: ["--quiet", "-q"], help: "print nothing on stderr but usage errors (the exit status still tells)" },
	{ names: ["--verbose", "-v"], repeat: true, help: "print every message sent and received on stderr, as libcoap does (type, code, MID, token, options by name, payload)" },
]);

function contentFormat(value: string | undefined, flag: string): number | undefined {
	if (value === undefined) return undefined;
	const n = parseFormat(value);
	if (typeof n === "string") throw new UsageError(flag + ": " + n + " (xscoap get --help lists the names)");
	return n;
}

function hexBytes(text: string, flag: string): Uint8Array {
	const h = text.startsWith("0x") || text.startsWith("0X") ? text.slice(2) : text;
	if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new UsageError(flag + ": " + JSON.stringify(text) + " is not hex (two digits 0-9a-f per byte)");
	return new Uint8Array(Buffer.from(h, "hex"));
}

/** `-O NUM,VALUE` (libcoap's form, with option names too) as an option number and value. */
export function parseOptionArg(text: string): [number, OptionValue] {
	const comma = text.indexOf(",");
	const key = (comma < 0 ? text : text.slice(0, comma)).trim();
	const raw = comma < 0 ? "" : text.slice(comma + 1);
	let num = /^\d+$/.test(key) ? Number(key) : optionByName(key);
	if (num < 0) throw new UsageError("--option: unknown option name " + JSON.stringify(key) + " (use its number)");
	if (num > 65535) throw new UsageError("--option: option numbers are 0..65535, got " + key);
	num = Math.floor(num);
	if (raw.startsWith("0x") || raw.startsWith("0X")) return [num, hexBytes(raw, "--option " + key)];
	if (raw === "") return [num, new Uint8Array(0)];
	const f = optionFormat(num);
	if (f === FMT_UINT) {
		if (!/^\d+$/.test(raw) || Number(raw) > 0xffffffff) throw new UsageError("--option " + key + ": a uint option takes a number 0..4294967295 (or 0x... bytes), got " + JSON.stringify(raw));
		return [num, Number(raw)];
	}
	if (f === FMT_EMPTY) throw new UsageError("--option " + key + " takes no value");
	return [num, raw];
}

function readPayload(args: Args): Uint8Array | string | undefined {
	const text = args.value("--payload");
	const file = args.value("--payload-file");
	if (text !== undefined) return text;
	if (file === undefined) return undefined;
	return new Uint8Array(readFileSync(file === "-" ? 0 : file));
}

function seconds(args: Args, flag: string, max = 86400): number | undefined {
	const v = args.value(flag);
	if (v === undefined) return undefined;
	const s = Number(v);
	if (!(s > 0 && s <= max)) throw new UsageError(flag + " takes seconds, 0 < s <= " + max + ", got " + JSON.stringify(v));
	return Math.round(s * 1000);
}

function whole(args: Args, flag: string, min: number, max: number): number | undefined {
	const v = args.value(flag);
	if (v === undefined) return undefined;
	const n = Number(v);
	if (!(Number.isInteger(n) && n >= min && n <= max)) throw new UsageError(flag + " takes a whole number " + min + ".." + max + ", got " + JSON.stringify(v));
	return n;
}

/** What the request commands decided from the command line, besides the request itself. */
interface Plan {
	style: PayloadStyle;
	output: string | undefined;
	quiet: boolean;
	address: string;
	port: number;
	/** --observe: when to stop (ms; 0: never), after how many notifications (0: never), what to run. */
	durationMs: number;
	count: number;
	exec: string | undefined;
}

async function run(args: Args): Promise<number> {
	const method = args.command.toUpperCase();
	const uri = args.positional[0];
	if (uri === undefined || args.positional.length > 1) throw new UsageError(args.command + " takes exactly one URI");
	if (args.has("--proxy")) throw new UsageError("--proxy: xscoap does not do proxying yet, so it cannot send requests through a proxy; send the request to the server directly");
	const parsed = parseCoapUri(uri);
	if (typeof parsed === "string") throw new UsageError(parsed);
	if (args.has("--raw") && args.has("--pretty")) throw new UsageError("use --raw or --pretty, not both");
	if (args.has("--payload") && args.has("--payload-file")) throw new UsageError("use --payload or --payload-file, not both");
	if (args.has("--output") && args.has("--observe-exec")) throw new UsageError("use --output or --observe-exec, not both");
	const timeoutMs = seconds(args, "--timeout");
	const durationMs = seconds(args, "--duration", 365 * 86400) ?? 0;
	const exec = args.value("--observe-exec");
	const observing = args.has("--observe") || durationMs > 0 || exec !== undefined;
	const count = whole(args, "--count", 1, 2 ** 31) ?? 0;
	if (count > 0 && !observing) throw new UsageError("--count goes with --observe");
	const blockSize = whole(args, "--block-size", 16, 1024);
	if (blockSize !== undefined && (blockSize & (blockSize - 1)) !== 0) throw new UsageError("--block-size takes a power of two 16..1024");
	const hopLimit = whole(args, "--hop-limit", 1, 255);
	const token = args.value("--token") === undefined ? undefined : hexBytes(args.value("--token")!, "--token");
	if (token !== undefined && token.length > 8) throw new UsageError("--token: a token is 0..8 bytes (RFC 7252 §3), got " + token.length);
	const extra: [number, OptionValue][] = args.values("--option").map(parseOptionArg);
	if (hopLimit !== undefined) extra.push([OPT_HOP_LIMIT, hopLimit]);
	if (observing && extra.some((o) => o[0] === OPT_OBSERVE)) throw new UsageError("--option Observe: use --observe");
	const accept = contentFormat(args.value("--accept"), "--accept");
	const cf = contentFormat(args.value("--content-format"), "--content-format");
	const bind = args.value("--bind") === undefined ? undefined : parseBind(args.value("--bind")!, 0);
	const security = await clientCredentials(args);
	let payload: Uint8Array | string | undefined;
	try {
		payload = readPayload(args);
	} catch (e) {
		process.stderr.write("error: cannot read " + args.value("--payload-file") + ": " + (e as Error).message + "\n");
		return EXIT_NO_RESPONSE;
	}
	const quiet = args.has("--quiet");
	const address = await resolveHost(parsed.host, parsed.hostIsLiteral);
	if (address === undefined) {
		if (!quiet) process.stderr.write("error: cannot resolve host " + parsed.host + "\n");
		return EXIT_NO_RESPONSE;
	}
	const v6 = isIP(address) === 6;
	if (bind !== undefined && isIP(bind.address) === 4 && v6) throw new UsageError("--bind " + bind.address + " is IPv4, " + parsed.host + " is IPv6");
	const options: RequestOptions = {
		method,
		// Without Uri-Host (-U) the request names the path and query only (RFC 7252 §6.4 step 5 skipped).
		...(args.has("--no-uri-host") ? { address, port: parsed.port, path: parsed.path, query: parsed.query } : { uri, address }),
		payload,
		contentFormat: cf,
		accept,
		confirmable: !args.has("--non"),
		options: extra,
		token,
		timeoutMs,
		blockSize,
		onProgress: process.stderr.isTTY && !quiet ? progress : undefined,
	};
	const plan: Plan = { style: payloadStyle(args.has("--raw"), args.has("--pretty")), output: args.value("--output"), quiet, address, port: parsed.port, durationMs, count, exec };
	let socketError: unknown = undefined;
	const ep = await openEndpoint({
		address: bind?.address ?? (v6 ? "::" : "0.0.0.0"),
		port: bind?.port,
		trace: args.has("--verbose") ? traceTo(process.stderr) : undefined,
		// Desktop client: bodies up to 64 MiB block-wise; one transfer at a time.
		limits: { clientExchanges: 2, serverExchanges: 0, maxMessageSize: 65000, maxOptions: 128, dedupEntries: 64, blockTransfers: 1, maxBodySize: 64 * 1024 * 1024, observers: 0, oscoreContexts: security.contexts },
		// The whole request is bounded by --timeout, including CON retransmissions.
		tuning: timeoutMs !== undefined ? { requestTimeoutMs: timeoutMs } : {},
		onError: (e) => {
			socketError = e;
		},
		oscore: security.oscore,
	});
	try {
		if (isMulticast(address)) return await multicast(ep, options, timeoutMs, plan);
		if (observing) return await observe(ep, options, plan);
		const res = await ep.request(options);
		if (progressShown) process.stderr.write("\n");
		return await deliver(res, plan);
	} catch (e) {
		if (!(e instanceof CoapError)) throw e;
		if (progressShown) process.stderr.write("\n");
		const detail = e.code === "COAP_SOCKET" && socketError !== undefined ? " (" + ((socketError as Error).message ?? String(socketError)) + ")" : "";
		printError(e, address, parsed.port, quiet, detail);
		// An unprotected answer to a protected request (RFC 8613 §8.4) is still an answer: status 1.
		if (e.code === "COAP_OSCORE" && (e.cause as OscoreFailure | undefined)?.response) return EXIT_RESPONSE;
		return e.code === "COAP_BAD_URI" ? EXIT_USAGE : EXIT_NO_RESPONSE;
	} finally {
		ep.close();
	}
}

/** A response's payload to stdout or --output, its code on stderr; the exit status. */
async function deliver(res: ClientResponse, plan: Plan): Promise<number> {
	if (res.ok) {
		if (plan.output !== undefined) {
			if (!writeOutput(plan, res)) return EXIT_NO_RESPONSE;
		} else await writePayload(res, plan.style);
		return EXIT_OK;
	}
	reportError(res, plan);
	return EXIT_RESPONSE;
}

/** A non-2.xx response: its code with its name and its diagnostic payload (RFC 7252 §5.5.2) on stderr. */
function reportError(res: ClientResponse, plan: Plan): void {
	if (plan.quiet) return;
	let line = codeLine(res);
	const p = res.payload;
	if (p.length > 0) line += ": " + (isPrintableText(p, 0, p.length) ? Buffer.from(p).toString("utf8") : "h'" + Buffer.from(p).toString("hex") + "'");
	process.stderr.write(line + "\n");
}

function writeOutput(plan: Plan, res: ClientResponse): boolean {
	try {
		writeFileAtomic(plan.output!, res.payload);
		return true;
	} catch (e) {
		if (!plan.quiet) process.stderr.write("error: cannot write " + plan.output + ": " + (e as Error).message + "\n");
		return false;
	}
}

let progressShown = false;

/** Block-wise progress on stderr when it is a terminal (RFC 7959 transfers). */
function progress(bytes: number, total: number, sending: boolean): void {
	progressShown = true;
	const of = total > 0 ? " of " + total + " (" + Math.floor((100 * bytes) / total) + "%)" : "";
	process.stderr.write("\r" + (sending ? "sent " : "received ") + bytes + " bytes" + of + "   ");
}

/**
 * RFC 7641: prints each notification until Ctrl-C / SIGTERM, --duration or --count, then
 * deregisters (§3.6), waiting at most DEREGISTRATION_WAIT_MS for the answer so that the
 * command ends within a second even when the server is gone.
 */
async function observe(ep: Endpoint, options: RequestOptions, plan: Plan): Promise<number> {
	let seen = 0;
	let last: ClientResponse | undefined;
	let endError: CoapError | null = null;
	let stopping: Promise<CoapError | null | "timeout"> | null = null;
	let finish: () => void = () => {};
	const ended = new Promise<void>((resolve) => {
		finish = resolve;
	});
	let execChain = Promise.resolve();
	let writing = Promise.resolve();
	const stop = (): void => {
		if (stopping !== null) return;
		stopping = Promise.race([obs.cancel(), new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), DEREGISTRATION_WAIT_MS).unref())]);
		void stopping.then(finish);
	};
	const obs = ep.observe(
		options,
		(r) => {
			last = r;
			if (stopping !== null) return;
			seen++;
			if (!r.ok) {
				reportError(r, plan);
				return;
			}
			if (r.option(OPT_OBSERVE) === undefined && seen === 1) return; // not observable: reported at the end
			if (plan.exec !== undefined) execChain = execChain.then(() => runExec(plan.exec!, r.payload, plan.quiet));
			else if (plan.output !== undefined) writeOutput(plan, r);
			else writing = writing.then(() => writePayload(r, plan.style, true));
			if (plan.count > 0 && seen >= plan.count) stop();
		},
		(e) => {
			endError = e;
			finish();
		},
	);
	process.once("SIGINT", stop);
	process.once("SIGTERM", stop);
	const timer = plan.durationMs > 0 ? setTimeout(stop, plan.durationMs) : undefined;
	await ended;
	if (timer !== undefined) clearTimeout(timer);
	process.removeListener("SIGINT", stop);
	process.removeListener("SIGTERM", stop);
	await writing;
	await execChain;
	if (stopping !== null) {
		const outcome = await (stopping as Promise<CoapError | null | "timeout">);
		if (outcome === null) return last === undefined || last.ok ? EXIT_OK : EXIT_RESPONSE;
		if (!plan.quiet) {
			const why = outcome === "timeout" ? "no answer within " + DEREGISTRATION_WAIT_MS + " ms" : outcome.code + ": " + outcome.message;
			process.stderr.write("error: the deregistration got no answer (" + why + "): the server may go on sending notifications, which will be answered with Reset\n");
		}
		return EXIT_DEREGISTRATION;
	}
	if (endError !== null) {
		printError(endError, plan.address, plan.port, plan.quiet);
		return EXIT_NO_RESPONSE;
	}
	if (last === undefined) return EXIT_NO_RESPONSE;
	if (!last.ok) return EXIT_RESPONSE; // reported when it came
	if (last.option(OPT_OBSERVE) === undefined && seen === 1) {
		// RFC 7641 §3.2: a first response without Observe: the resource is not observable (or
		// the server has no room for another observer).
		if (plan.output !== undefined) writeOutput(plan, last);
		else await writePayload(last, plan.style);
		if (!plan.quiet) process.stderr.write("error: " + codeName(last.code) + " without Observe: the server does not let this resource be observed (not observable, or no room for another observer; RFC 7641 §3.2)\n");
		return EXIT_RESPONSE;
	}
	// §3.2: a later response without Observe ends the observation (the server stopped it).
	if (!plan.quiet) process.stderr.write("the server ended the observation\n");
	return EXIT_OK;
}

/** --observe-exec: runs `cmd` with the payload on its stdin; resolves when it exits. */
function runExec(cmd: string, payload: Uint8Array, quiet: boolean): Promise<void> {
	return new Promise((resolve) => {
		const child = spawn("sh", ["-c", cmd], { stdio: ["pipe", "inherit", "inherit"] });
		child.on("error", (e) => {
			if (!quiet) process.stderr.write("error: --observe-exec: " + e.message + "\n");
			resolve();
		});
		child.on("close", () => resolve());
		child.stdin.on("error", () => {}); // the command may not read its stdin
		child.stdin.end(payload);
	});
}

/** RFC 7252 §8.1: a NON request to a group; every response on its own line, tagged with its server. */
async function multicast(ep: Endpoint, options: RequestOptions, timeoutMs: number | undefined, plan: Plan): Promise<number> {
	let writing = Promise.resolve();
	const n = await ep.multicast(
		options,
		(r) => {
			const p = r.payload;
			const text = p.length === 0 ? "" : " " + (isPrintableText(p, 0, p.length) ? Buffer.from(p).toString("utf8").replace(/\r?\n/g, " ") : "h'" + Buffer.from(p).toString("hex") + "'");
			writing = writing.then(() => writeAll(process.stdout, hostPort(r.address, r.port) + " " + codeName(r.code) + text + "\n"));
		},
		timeoutMs ?? 6000,
	);
	await writing;
	if (n > 0) return EXIT_OK;
	if (!plan.quiet) process.stderr.write("error: no response from the group within " + (timeoutMs ?? 6000) / 1000 + " s\n");
	return EXIT_NO_RESPONSE;
}

export const requestCommand: Command = Object.freeze<Command>({
	names: METHODS,
	synopsis: "URI [options]",
	summary: "send one request (get post put delete fetch patch ipatch); the payload goes to stdout",
	description:
		"URI is coap://HOST[:PORT]/PATH[?QUERY] (HOST a name, an IPv4 address or [IPv6]). The response's payload goes to stdout: on a terminal shown by its Content-Format (JSON indented, CBOR as diagnostic notation, link-format one link per line, SenML as a table, binary as a hex dump), in a pipe or with --raw as the bytes received. A response with a code other than 2.xx prints the code with its name and its diagnostic payload on stderr. Large payloads go block-wise (RFC 7959) in both directions, with progress on a terminal.\n\n" +
		"With --observe each notification is printed as it comes (one line each in a pipe) until Ctrl-C, --duration or --count; then the observation is deregistered (RFC 7641 §3.6), waiting at most " + DEREGISTRATION_WAIT_MS + " ms for the answer.\n\n" +
		"A multicast address (e.g. coap://224.0.1.187/.well-known/core or coap://[ff02::fd]/...) sends a NON request to the group and prints every server's response, one line each, until --timeout (default 6 s).\n\n" +
		"A closed port or unreachable host is reported at once (ICMP), with a hint.",
	options: OPTIONS,
	helpSections: ["formats", "exit"],
	run,
});
