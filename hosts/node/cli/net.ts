/**
 * Addresses on the command line: `--bind HOST:PORT` values, host name resolution at the edge
 * (the portable stack takes numeric addresses), multicast addresses, and printing an address
 * with its port the way URIs write it ([v6]:port).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { UsageError } from "./command.js";

/** "127.0.0.1:5683", "[::1]:5683". */
export function hostPort(address: string, port: number): string {
	return (address.indexOf(":") >= 0 ? "[" + address + "]" : address) + ":" + port;
}

/**
 * Parses `--bind` values: "HOST:PORT", "[IPV6]:PORT", "HOST" (port `defaultPort`), "PORT", or a
 * bare IPv6 address; "*" or "" is every interface ("::", dual-stack), "localhost" is 127.0.0.1.
 */
export function parseBind(bind: string, defaultPort: number, flag = "--bind"): { address: string; port: number } {
	let address = "::";
	let port = defaultPort;
	if (/^\d+$/.test(bind)) port = Number(bind);
	else if (bind.indexOf("[") < 0 && (bind.match(/:/g) ?? []).length > 1) address = bind; // bare IPv6
	else {
		const m = /^(?:\[([^\]]+)\]|([^:[\]]*))(?::(\d*))?$/.exec(bind);
		if (!m) throw new UsageError(flag + " takes HOST:PORT, [IPV6]:PORT, HOST or PORT, got " + JSON.stringify(bind));
		address = m[1] ?? m[2] ?? "";
		if (m[3] !== undefined) {
			if (m[3] === "") throw new UsageError(flag + ": missing port after ':' in " + JSON.stringify(bind));
			port = Number(m[3]);
		}
	}
	if (address === "" || address === "*") address = "::";
	if (address === "localhost") address = "127.0.0.1";
	if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UsageError(flag + ": port must be 0..65535, got " + JSON.stringify(bind));
	if (isIP(address) === 0) throw new UsageError(flag + " needs a numeric address, got " + address);
	return { address, port };
}

/** True for IPv4 224.0.0.0/4 and IPv6 ff00::/8 (RFC 7252 §8). */
export function isMulticast(address: string): boolean {
	if (isIP(address) === 6) return address.toLowerCase().startsWith("ff");
	const first = Number(address.split(".")[0]);
	return first >= 224 && first <= 239;
}

/** The numeric address of `host` (already numeric: unchanged); undefined when it does not resolve. */
export async function resolveHost(host: string, literal: boolean): Promise<string | undefined> {
	if (literal) return host;
	try {
		return (await lookup(host)).address;
	} catch {
		return undefined;
	}
}
