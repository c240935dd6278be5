/**
 * `xscoap fileserver DIR`: serves a directory over CoAP (hosts/node/fileserver.ts), read-only
 * unless --write, until SIGINT or SIGTERM.
 */
import { FileServer } from "../../fileserver.js";
import { codeName } from "../../../../modules/coap/constants.js";
import { type Command, EXIT_NO_RESPONSE, UsageError } from "../command.js";
import { CREDENTIALS_OPTION, serverCredentials } from "../credentials.js";
import { SERVER_OPTIONS, bindOf, listeningUri, openServer, runUntilSignal } from "../server.js";

export const fileserverCommand: Command = Object.freeze<Command>({
	names: ["fileserver"],
	synopsis: "[DIR] [--bind HOST:PORT] [--write] [--credentials FILE]",
	summary: "serve the files of DIR (default: the current directory) over CoAP, as aiocoap-fileserver",
	description:
		"GET /path/file returns the file (block-wise when large, Content-Format from the extension: .txt 0, .json 50, .cbor 60, .senmlj 110, .senmlc 112, .wlnk 40, .xml 41, .bin 42, .png 23 ...; an ETag from the content, so a GET that names it gets 2.03 Valid). GET /path/dir/ (with the trailing slash) returns the directory as link-format, one link per entry. Observe (RFC 7641) a file or directory to get a notification when it changes (checked every second). With --write, PUT writes a file (2.01 Created or 2.04 Changed, atomically) and DELETE removes one (2.02 Deleted); If-Match and If-None-Match are honoured (4.12 Precondition Failed); without --write they get 4.05 Method Not Allowed.\n\n" +
		"With --credentials (OSCORE, RFC 8613) requests inside OSCORE are answered inside it, and PUT and DELETE are accepted only inside OSCORE (4.01 Unauthorized otherwise); reads answer both.\n\n" +
		"Nothing outside DIR is served, listed or written: path segments '.', '..' (also sent percent-encoded as %2e%2e), with '/', '\\' or NUL get 4.00 Bad Request; a path leading out through a symlink, or to something that is not a regular file or directory, gets 4.03 Forbidden.",
	options: [
		...SERVER_OPTIONS,
		{ names: ["--write"], help: "allow PUT and DELETE of files (any client may then change DIR's files)" },
		CREDENTIALS_OPTION,
	],
	helpSections: ["exit"],
	async run(args) {
		if (args.positional.length > 1) throw new UsageError("fileserver takes one directory");
		const dir = args.positional[0] ?? ".";
		const security = await serverCredentials(args);
		const verbose = args.has("--verbose");
		const files = new FileServer(dir, {
			write: args.has("--write"),
			writeNeedsOscore: security.oscore !== undefined,
			onRequest: verbose ? undefined : (method, path, code) => process.stdout.write(method + " " + path + " " + codeName(code === 0 ? 0x45 : code) + "\n"),
		});
		try {
			await files.start();
		} catch (e) {
			process.stderr.write("error: cannot serve " + dir + ": " + (e as Error).message + "\n");
			return EXIT_NO_RESPONSE;
		}
		const { address, port } = bindOf(args);
		const ep = await openServer(address, port, args, {
			router: files.router,
			// Desktop capacities; uploads (--write) up to 8 MiB each, 4 at once (RFC 7959 Block1).
			limits: {
				maxMessageSize: 1152,
				clientExchanges: 1,
				serverExchanges: 64,
				dedupEntries: 4096,
				dedupCacheBytes: 256 * 1024,
				maxOptions: 64,
				blockTransfers: args.has("--write") ? 4 : 1,
				maxBodySize: args.has("--write") ? 8 * 1024 * 1024 : 16,
				observers: 256,
				oscoreContexts: security.contexts,
			},
			oscore: security.oscore,
		});
		if (ep === undefined) {
			files.close();
			return EXIT_NO_RESPONSE;
		}
		process.stdout.write("xscoap fileserver listening on " + listeningUri(address, ep) + " serving " + files.root + (args.has("--write") ? " (writable)" : " (read-only)") + "\n");
		return runUntilSignal(() => {
			ep.close();
			files.close();
		});
	},
});
