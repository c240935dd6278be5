/**
 * Output helpers the commands share: writing bytes with back-pressure, a payload to stdout
 * (pretty on a terminal or with --pretty, unchanged with --raw or in a pipe) or to a file,
 * response codes with their names, and errors with a hint a person can act on.
 */
import { renameSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { codeName } from "../../../modules/coap/constants.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import type { CoapError } from "../../../modules/coap/errors.js";
import type { OscoreFailure } from "../../../modules/coap/errors.js";
import type { PeerUnreachable } from "../../../modules/coap/host.js";
import { hostPort } from "./net.js";
import { prettyPayload } from "./pretty.js";

/** Writes `bytes` and resolves once the stream took them (waits for "drain" when it is full). */
export function writeAll(stream: NodeJS.WritableStream, bytes: Uint8Array | string): Promise<void> {
	return new Promise((resolve) => {
		if (stream.write(bytes)) resolve();
		else stream.once("drain", () => resolve());
	});
}

/** How payloads are shown: "pretty" (by Content-Format) or "raw" (the bytes unchanged). */
export type PayloadStyle = "pretty" | "raw";

/** --raw and --pretty, else pretty exactly when stdout is a terminal. */
export function payloadStyle(raw: boolean, pretty: boolean): PayloadStyle {
	if (raw) return "raw";
	if (pretty) return "pretty";
	return process.stdout.isTTY ? "pretty" : "raw";
}

/**
 * Writes a response's payload to stdout: pretty (ends with a newline) or raw (the bytes, plus
 * a newline when they do not end with one, on a terminal or when `separate` asks for each
 * notification on its own line).
 */
export async function writePayload(res: ClientResponse, style: PayloadStyle, separate = false): Promise<void> {
	const bytes = res.payload;
	if (style === "pretty") {
		const text = prettyPayload(bytes, res.contentFormat);
		if (text !== "") await writeAll(process.stdout, text);
		else if (separate) await writeAll(process.stdout, "\n");
		return;
	}
	if (bytes.length > 0) await writeAll(process.stdout, bytes);
	const endsLine = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a;
	if ((separate && !endsLine) || (process.stdout.isTTY && bytes.length > 0 && !endsLine)) await writeAll(process.stdout, "\n");
}

/** Replaces `file` with `bytes` (written beside it, then renamed, so readers never see half a file). */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
	const tmp = join(dirname(file), "." + basename(file) + "." + process.pid + ".tmp");
	writeFileSync(tmp, bytes);
	renameSync(tmp, file);
}

/** "4.04 Not Found" for a response. */
export function codeLine(res: ClientResponse): string {
	return codeName(res.code);
}

/** What a person can try when a request failed with `e` toward address:port. */
export function hint(e: CoapError, address: string, port: number): string | undefined {
	switch (e.code) {
		case "COAP_UNREACHABLE": {
			const what = (e.cause as PeerUnreachable | undefined)?.unreachable;
			if (what === "port") return "the host answered, but no program receives on UDP port " + port + ": is the CoAP server running, and on this port? (coap:// URIs without a port mean 5683)";
			if (what === "host") return "the host " + address + " did not answer on the network: is it up, and is the address right?";
			return "this machine has no route to " + address + ": check the address and the network connection";
		}
		case "COAP_TIMEOUT":
			return "nothing answered from " + hostPort(address, port) + ": is a CoAP server running there, and does a firewall let UDP through? (--timeout sets how long to wait)";
		case "COAP_RESET":
			return "the server rejected the request with a Reset: it may not understand it, or the port is not a CoAP server's";
		case "COAP_OSCORE": {
			const code = (e.cause as OscoreFailure | undefined)?.response?.code ?? 0;
			if (code === 0x81) return "the server does not know this security context (sender-id, id-context) or saw the sequence number before: check the credentials (RFC 8613 §8.2)";
			if (code === 0x80) return "the server could not decrypt the request: the secret, salt or IDs differ between the two sides";
			if (code === 0x82) return "the server does not speak OSCORE (it does not know option 9)";
			if (code === 0) return "the response did not verify: the server's key (secret, salt, recipient-id) differs from this side's, or the response was tampered with";
			return undefined;
		}
		default:
			return undefined;
	}
}

/** Prints "error: CODE: message" and a hint, unless `quiet`. */
export function printError(e: CoapError, address: string, port: number, quiet: boolean, detail = ""): void {
	if (quiet) return;
	process.stderr.write("error: " + e.code + ": " + e.message + detail + "\n");
	const h = hint(e, address, port);
	if (h !== undefined) process.stderr.write("hint: " + h + "\n");
}
