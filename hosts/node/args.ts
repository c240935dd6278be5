/**
 * Command-line pieces shared by `xscoap rd` and `xscoap sim` (hosts/node/rd/command.ts,
 * hosts/node/sim/command.ts): flag parsing against a declared set of flags, HOST:PORT and
 * coap:// arguments, numbers with ranges, and the usage error every xscoap command reports the
 * same way (one "error: ..." line on stderr, exit status 2).
 */
import { isIP } from "node:net";

export class UsageError extends Error {
	override get name(): string {
		return "UsageError";
	}
}

export interface ParsedFlags {
	positional: string[];
	flags: Map<string, string | true>;
}

/**
 * Parses `argv` (flags before or after positional arguments; `--flag value` or `--flag=value`).
 * @throws UsageError for an unknown flag or a missing value.
 */
export function parseFlags(argv: readonly string[], valueFlags: readonly string[], boolFlags: readonly string[]): ParsedFlags {
	const positional: string[] = [];
	const flags = new Map<string, string | true>();
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i]!;
		const eq = a.startsWith("--") ? a.indexOf("=") : -1;
		const name = eq > 0 ? a.slice(0, eq) : a;
		if (valueFlags.indexOf(name) >= 0) {
			const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
			if (value === undefined) throw new UsageError(name + " needs a value");
			flags.set(name, value);
		} else if (boolFlags.indexOf(name) >= 0) {
			if (eq > 0) throw new UsageError(name + " takes no value");
			flags.set(name, true);
		} else if (a.startsWith("-") && a.length > 1) throw new UsageError("unknown option " + a);
		else positional.push(a);
	}
	return { positional, flags };
}

/** A flag's value as a whole number in [min, max], or `fallback` when absent. */
export function intFlag(flags: Map<string, string | true>, name: string, fallback: number, min: number, max: number): number {
	const v = flags.get(name);
	if (v === undefined) return fallback;
	const n = typeof v === "string" && /^[0-9]+$/.test(v) ? Number(v) : NaN;
	if (!(n >= min && n <= max)) throw new UsageError(name + " takes a whole number " + min + ".." + max + ", got " + JSON.stringify(v));
	return n;
}

/** A flag's value as a number in [min, max], or `fallback` when absent. */
export function numberFlag(flags: Map<string, string | true>, name: string, fallback: number, min: number, max: number, what: string): number {
	const v = flags.get(name);
	if (v === undefined) return fallback;
	const n = typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
	if (!(n >= min && n <= max)) throw new UsageError(name + " takes " + what + ", got " + JSON.stringify(v));
	return n;
}

/** `HOST:PORT`, `[IPV6]:PORT`, `PORT` or a bare address, with numeric hosts ("localhost" means 127.0.0.1). */
export function parseBind(bind: string, defaultAddress: string, defaultPort: number): { address: string; port: number } {
	let address = defaultAddress;
	let port = defaultPort;
	if (/^[0-9]+$/.test(bind)) port = Number(bind);
	else if (bind.startsWith("[")) {
		const m = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(bind);
		if (!m) throw new UsageError("--bind takes HOST:PORT, [IPV6]:PORT or PORT, got " + bind);
		address = m[1]!;
		if (m[2] !== undefined) port = Number(m[2]);
	} else if ((bind.match(/:/g) ?? []).length > 1) address = bind; // a bare IPv6 address
	else {
		const m = /^([^:]*)(?::([0-9]+))?$/.exec(bind);
		if (!m) throw new UsageError("--bind takes HOST:PORT, [IPV6]:PORT or PORT, got " + bind);
		if (m[1] !== "" && m[1] !== "*") address = m[1]!;
		if (m[2] !== undefined) port = Number(m[2]);
	}
	if (address === "localhost") address = "127.0.0.1";
	if (!(port >= 0 && port <= 65535)) throw new UsageError("bad port in --bind " + bind);
	if (isIP(address) === 0) throw new UsageError("--bind needs a numeric address, got " + address);
	return { address, port };
}

/** "coap://HOST:PORT" as printed for an address and port (IPv6 in brackets). */
export function coapUri(address: string, port: number): string {
	return "coap://" + (address.indexOf(":") >= 0 ? "[" + address + "]" : address) + ":" + port;
}

/** True for EADDRINUSE (and the like) from a socket's bind. */
export function isAddressInUse(e: unknown): boolean {
	return (e as { code?: string })?.code === "EADDRINUSE";
}
