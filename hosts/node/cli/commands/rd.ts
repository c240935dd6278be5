/**
 * `xscoap rd [--bind HOST:PORT] [--store FILE] [-q] [-v]`: a CoRE Resource Directory
 * (RFC 9176) on this host (hosts/node/rd/: server.ts, directory.ts). Prints where it listens
 * and one line per registration, update, removal and expiry (-q: only errors); -v prints every
 * message. Runs until Ctrl-C (SIGINT) or SIGTERM, then writes the store and exits 0.
 *
 * Exit status: 0 after a clean stop; 2 for a usage error; 3 when it cannot start (the port
 * is taken, the store file is unusable: its problem is printed and the file left alone).
 */
import { EP_LOOKUP_PATH, RD_PATH, RES_LOOKUP_PATH } from "../../rd/directory.js";
import type { Registration } from "../../rd/registration.js";
import { DirectoryServer } from "../../rd/server.js";
import { StoreError } from "../../rd/store.js";
import { type Command, EXIT_NO_RESPONSE, EXIT_OK, UsageError } from "../command.js";
import { hostPort } from "../net.js";
import { SERVER_OPTIONS, bindOf } from "../server.js";
import { traceTo } from "../trace.js";

/** One log line per directory event. */
export function eventLine(kind: string, reg: Registration): string {
	const name = reg.ep + (reg.d !== undefined ? " (sector " + reg.d + ")" : "");
	if (kind === "removed" || kind === "expired") return kind + " " + name + " " + reg.path;
	return kind + " " + name + " at " + reg.path + ": " + reg.base + ", lt " + reg.lt + " s, " + reg.links.length + " link" + (reg.links.length === 1 ? "" : "s");
}

export const rdCommand: Command = Object.freeze<Command>({
	names: ["rd"],
	synopsis: "[--bind HOST:PORT] [--store FILE]",
	summary: "run a CoRE Resource Directory (RFC 9176): registration at /rd, lookup at /rd-lookup/ep and /rd-lookup/res",
	description:
		"Endpoints register with POST /rd?ep=NAME[&d=SECTOR][&lt=SECONDS][&base=URI] and their links (link-format) as the payload, and get their registration resource /reg/N (2.01 Created, Location-Path): POST to it renews the lifetime (RFC 9176 §5.3.1), DELETE removes it, GET reads the links. Simple registration: POST /.well-known/rd?ep=NAME with no payload. Lookups filter by any attribute (?rt=temperature-c, ?ep=sensor-*) and page with count and page. /.well-known/core lists the interfaces with rt=core.rd, core.rd-lookup-ep, core.rd-lookup-res. Registrations expire when their lifetime passes without an update. Prints one line per registration, update, removal and expiry. Stops on Ctrl-C (SIGINT) or SIGTERM with exit status 0.",
	options: [
		...SERVER_OPTIONS,
		{ names: ["--store"], value: "FILE", help: "keep the registrations in FILE (JSON, written atomically) and load them at start, dropping those that expired meanwhile; a file that is not such a store is refused and left as it is" },
		{ names: ["--quiet", "-q"], help: "print only errors (no line per registration)" },
	],
	helpSections: ["exit"],
	async run(args) {
		if (args.positional.length > 0) throw new UsageError("rd takes no arguments besides its options, got " + args.positional[0]);
		const { address, port } = bindOf(args);
		const store = args.value("--store");
		if (store === "") throw new UsageError("--store needs a file name");
		const quiet = args.has("--quiet");
		let server: DirectoryServer;
		try {
			server = await DirectoryServer.start({
				address,
				port,
				store,
				trace: args.has("--verbose") ? traceTo(process.stderr) : undefined,
				onEvent: quiet ? undefined : (kind, reg) => process.stdout.write(eventLine(kind, reg) + "\n"),
				onStoreError: (m) => process.stderr.write("error: " + m + "\n"),
			});
		} catch (e) {
			if (e instanceof StoreError) {
				process.stderr.write("error: " + e.message + "\n");
				return EXIT_NO_RESPONSE;
			}
			const why = (e as { code?: string }).code === "EADDRINUSE" ? "the port is in use (another directory or CoAP server?); pick another with --bind" : (e as Error).message;
			process.stderr.write("error: cannot listen on " + hostPort(address, port) + ": " + why + "\n");
			return EXIT_NO_RESPONSE;
		}
		const restored = server.store !== undefined ? "; " + server.restored + " registration" + (server.restored === 1 ? "" : "s") + " restored from " + server.store.path : "";
		process.stdout.write("xscoap rd listening on coap://" + hostPort(address, server.port) + "/ (registration " + RD_PATH + ", lookup " + EP_LOOKUP_PATH + " " + RES_LOOKUP_PATH + restored + ")\n");
		return new Promise<number>((resolve) => {
			const stop = () => {
				process.removeListener("SIGINT", stop);
				process.removeListener("SIGTERM", stop);
				server.close();
				const n = server.directory.size;
				if (!quiet) process.stdout.write("xscoap rd stopped with " + n + " registration" + (n === 1 ? "" : "s") + (server.store !== undefined ? " saved to " + server.store.path : "") + "\n");
				resolve(EXIT_OK);
			};
			process.once("SIGINT", stop);
			process.once("SIGTERM", stop);
		});
	},
});
