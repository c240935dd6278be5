/**
 * `xscoap rd [--bind HOST:PORT] [--store FILE] [-q] [-v]`: a CoRE Resource Directory
 * (RFC 9176) on this host (server.ts, directory.ts). Prints where it listens and one line per
 * registration, update, removal and expiry (-q: only errors); -v prints every message. Runs
 * until Ctrl-C (SIGINT) or SIGTERM, then writes the store and exits 0.
 *
 * Exit status: 0 after a clean stop; 2 for a usage error; 3 when it cannot start (the port
 * is taken, the store file is unusable: its problem is printed and the file left alone).
 */
import { describeMessage } from "../../../modules/coap/wire/describe.js";
import { coapUri, isAddressInUse, parseBind, parseFlags, UsageError } from "../args.js";
import { EP_LOOKUP_PATH, RD_PATH, RES_LOOKUP_PATH } from "./directory.js";
import type { Registration } from "./registration.js";
import { DirectoryServer } from "./server.js";
import { StoreError } from "./store.js";

export const RD_USAGE = `  xscoap rd [--bind HOST:PORT] [--store FILE] [-q] [-v]
      a CoRE Resource Directory (RFC 9176): registration at /rd, lookup at /rd-lookup/ep and
      /rd-lookup/res, simple registration at /.well-known/rd (default bind [::]:5683);
      --store FILE keeps the registrations across restarts; -q prints only errors
`;

/** Runs `xscoap rd` with its arguments (after "rd"); resolves to the exit status. */
export async function rdCommand(argv: readonly string[]): Promise<number> {
	let server: DirectoryServer;
	let address: string;
	let port: number;
	let quiet: boolean;
	try {
		const p = parseFlags(argv, ["--bind", "--store"], ["-q", "--quiet", "-v", "--verbose", "-h", "--help"]);
		if (p.flags.has("-h") || p.flags.has("--help")) {
			process.stdout.write("usage:\n" + RD_USAGE);
			return 0;
		}
		if (p.positional.length > 0) throw new UsageError("rd takes no arguments besides its options, got " + p.positional[0]);
		const bind = p.flags.get("--bind");
		({ address, port } = parseBind(typeof bind === "string" ? bind : "[::]:5683", "::", 5683));
		const store = p.flags.get("--store");
		if (store === "") throw new UsageError("--store needs a file name");
		quiet = p.flags.has("-q") || p.flags.has("--quiet");
		const verbose = p.flags.has("-v") || p.flags.has("--verbose");
		try {
			server = await DirectoryServer.start({
				address,
				port,
				store: typeof store === "string" ? store : undefined,
				trace: verbose
					? (outgoing, bytes, length, a, pt) => process.stderr.write((outgoing ? "-> " : "<- ") + coapUri(a, pt).slice(7) + " " + describeMessage(bytes, length) + "\n")
					: undefined,
				onEvent: quiet ? undefined : (kind, reg) => process.stdout.write(eventLine(kind, reg) + "\n"),
				onStoreError: (m) => process.stderr.write("error: " + m + "\n"),
			});
		} catch (e) {
			if (e instanceof StoreError) {
				process.stderr.write("error: " + e.message + "\n");
				return 3;
			}
			const why = isAddressInUse(e) ? "the port is in use (another directory or CoAP server?); pick another with --bind" : (e as Error).message;
			process.stderr.write("error: cannot listen on " + coapUri(address, port).slice(7) + ": " + why + "\n");
			return 3;
		}
	} catch (e) {
		if (e instanceof UsageError) {
			process.stderr.write("error: " + e.message + " (xscoap --help shows the usage)\n");
			return 2;
		}
		throw e;
	}
	const where = coapUri(address, server.port);
	const restored = server.store !== undefined ? "; " + server.restored + " registration" + (server.restored === 1 ? "" : "s") + " restored from " + server.store.path : "";
	process.stdout.write("xscoap rd listening on " + where + "/ (registration " + RD_PATH + ", lookup " + EP_LOOKUP_PATH + " " + RES_LOOKUP_PATH + restored + ")\n");
	await new Promise<void>((resolve) => {
		const stop = () => {
			process.removeListener("SIGINT", stop);
			process.removeListener("SIGTERM", stop);
			server.close();
			if (!quiet) process.stdout.write("xscoap rd stopped with " + server.directory.size + " registration" + (server.directory.size === 1 ? "" : "s") + (server.store !== undefined ? " saved to " + server.store.path : "") + "\n");
			resolve();
		};
		process.once("SIGINT", stop);
		process.once("SIGTERM", stop);
	});
	return 0;
}

/** One log line per directory event. */
export function eventLine(kind: string, reg: Registration): string {
	const name = reg.ep + (reg.d !== undefined ? " (sector " + reg.d + ")" : "");
	if (kind === "removed" || kind === "expired") return kind + " " + name + " " + reg.path;
	return kind + " " + name + " at " + reg.path + ": " + reg.base + ", lt " + reg.lt + " s, " + reg.links.length + " link" + (reg.links.length === 1 ? "" : "s");
}
