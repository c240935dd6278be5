/**
 * `xscoap get|post|put|delete|fetch|patch|ipatch URI`: one request (or an observation, or a
 * multicast request) from the Node host; the payload goes to stdout.
 */
import { isIP } from "node:net";
import { readFileSync } from "node:fs";
import type { Endpoint } from "../../../../modules/coap/endpoint.js";
import { CoapError } from "../../../../modules/coap/errors.js";
import { parseFormat } from "../../../../modules/coap/formats.js";
import type { RequestOptions } from "../../../../modules/coap/client/options.js";
import type { ClientResponse } from "../../../../modules/coap/client/response.js";
import { parseCoapUri } from "../../../../modules/coap/uri/uri.js";
import { openEndpoint } from "../../ports.js";
import { type Args, type Command, EXIT_NO_RESPONSE, EXIT_OK, EXIT_RESPONSE, EXIT_USAGE, type OptionSpec, UsageError } from "../command.js";
import { isMulticast, resolveHost } from "../net.js";
import { traceTo } from "../trace.js";

const METHODS = ["get", "post", "put", "delete", "fetch", "patch", "ipatch"];

const OPTIONS: readonly OptionSpec[] = Object.freeze([
	{ names: ["--payload"], value: "TEXT", help: "request payload" },
	{ names: ["--payload-file"], value: "FILE", help: 'request payload from a file ("-" for stdin)' },
	{ names: ["--content-format"], value: "CF", help: "Content-Format of the payload (number or name, e.g. 0, text/plain, json)" },
	{ names: ["--accept"], value: "CF", help: "Accept option" },
	{ names: ["--non"], help: "send a Non-confirmable request (default: Confirmable)" },
	{ names: ["--timeout"], value: "SECONDS", help: "give up after this long (default 93)" },
	{ names: ["--observe"], help: "RFC 7641: print each notification on its own line until Ctrl-C" },
	{ names: ["--count"], value: "N", help: "with --observe: stop after N notifications" },
	{ names: ["--block-size"], value: "N", help: "RFC 7959 block size, 16..1024 (a power of two)" },
	{ names: ["--raw"], help: "write the payload's bytes unchanged, also on a terminal" },
	{ names: ["--verbose", "-v"], repeat: true, help: "print the messages exchanged on stderr" },
]);

function contentFormat(value: string | undefined, flag: string): number | undefined {
	if (value === undefined) return undefined;
	const n = parseFormat(value);
	if (typeof n === "string") throw new UsageError(flag + ": " + n + " (xscoap get --help lists the names)");
	return n;
}

async function readPayload(args: Args): Promise<Uint8Array | string | undefined> {
	const text = args.value("--payload");
	const file = args.value("--payload-file");
	if (text !== undefined && file !== undefined) throw new UsageError("use --payload or --payload-file, not both");
	if (text !== undefined) return text;
	if (file !== undefined) {
		try {
			return new Uint8Array(readFileSync(file === "-" ? 0 : file));
		} catch (e) {
			throw new UsageError("cannot read " + file + ": " + (e as Error).message);
		}
	}
	return undefined;
}

async function request(method: string, args: Args): Promise<number> {
	const uri = args.positional[0];
	if (uri === undefined || args.positional.length > 1) throw new UsageError(method.toLowerCase() + " takes exactly one URI");
	const parsed = parseCoapUri(uri);
	if (typeof parsed === "string") throw new UsageError(parsed);
	const address = await resolveHost(parsed.host, parsed.hostIsLiteral);
	if (address === undefined) {
		process.stderr.write("error: cannot resolve host " + parsed.host + "\n");
		return EXIT_NO_RESPONSE;
	}
	const timeoutFlag = args.value("--timeout");
	let timeoutMs: number | undefined;
	if (timeoutFlag !== undefined) {
		const s = Number(timeoutFlag);
		if (!(s > 0 && s <= 86400)) throw new UsageError("--timeout takes seconds, 0 < s <= 86400");
		timeoutMs = Math.round(s * 1000);
	}
	const payload = await readPayload(args);
	const verbose = args.has("--verbose");
	const blockFlag = args.value("--block-size");
	let blockSize: number | undefined;
	if (blockFlag !== undefined) {
		blockSize = Number(blockFlag);
		if (!(blockSize >= 16 && blockSize <= 1024 && (blockSize & (blockSize - 1)) === 0)) throw new UsageError("--block-size takes a power of two 16..1024");
	}
	const countFlag = args.value("--count");
	let count = 0;
	if (countFlag !== undefined) {
		count = Number(countFlag);
		if (!(Number.isInteger(count) && count >= 1)) throw new UsageError("--count takes a whole number >= 1");
		if (!args.has("--observe")) throw new UsageError("--count goes with --observe");
	}
	const options = {
		method,
		uri,
		address,
		payload,
		contentFormat: contentFormat(args.value("--content-format"), "--content-format"),
		accept: contentFormat(args.value("--accept"), "--accept"),
		confirmable: !args.has("--non"),
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
		if (args.has("--observe")) return await observe(ep, options, count);
		const res = await ep.request(options);
		if (process.stderr.isTTY && progressShown) process.stderr.write("\n");
		if (res.payload.length > 0) {
			await writeAll(process.stdout, res.payload);
			// On a terminal, end the line; in a pipe, the payload's bytes are passed on unchanged.
			if (process.stdout.isTTY && res.payload[res.payload.length - 1] !== 0x0a) process.stdout.write("\n");
		}
		if (res.ok) return EXIT_OK;
		process.stderr.write(res.codeText + "\n");
		return EXIT_RESPONSE;
	} catch (e) {
		if (e instanceof CoapError) {
			const detail = e.code === "COAP_SOCKET" && socketError !== undefined ? " (" + ((socketError as Error).message ?? String(socketError)) + ")" : "";
			process.stderr.write("error: " + e.code + ": " + e.message + detail + "\n");
			return e.code === "COAP_BAD_URI" ? EXIT_USAGE : EXIT_NO_RESPONSE;
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
		return EXIT_NO_RESPONSE;
	}
	if (last === undefined) return EXIT_NO_RESPONSE;
	return last.ok ? EXIT_OK : EXIT_RESPONSE;
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
	if (n > 0) return EXIT_OK;
	process.stderr.write("no response from the group\n");
	return EXIT_NO_RESPONSE;
}

function writeAll(stream: NodeJS.WriteStream, bytes: Uint8Array): Promise<void> {
	return new Promise((resolve) => {
		if (stream.write(bytes)) resolve();
		else stream.once("drain", () => resolve());
	});
}

export const requestCommand: Command = Object.freeze<Command>({
	names: METHODS,
	synopsis: "URI [options]",
	summary: "send one request (get post put delete fetch patch ipatch); the payload goes to stdout",
	description:
		"A multicast address (e.g. coap://224.0.1.187/...) sends a NON request to the group and prints every server's response, each on its own line, until the timeout (default 6 s).",
	options: OPTIONS,
	helpSections: ["formats", "exit"],
	run(args: Args) {
		return request(args.command.toUpperCase(), args);
	},
});
