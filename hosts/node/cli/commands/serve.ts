/**
 * `xscoap serve`: the demo server (modules/demo/demo.ts) on the Node host, with desktop
 * capacities, until SIGINT or SIGTERM.
 */
import { demoRouter } from "../../../../modules/demo/demo.js";
import { type Command, EXIT_NO_RESPONSE, UsageError } from "../command.js";
import { CREDENTIALS_OPTION, serverCredentials } from "../credentials.js";
import { SERVER_OPTIONS, bindOf, listeningUri, openServer, runUntilSignal } from "../server.js";

export const serveCommand: Command = Object.freeze<Command>({
	names: ["serve"],
	synopsis: "[--bind HOST:PORT] [--credentials FILE]",
	summary: "run the demo server: /hello /time /echo /counter /large /.well-known/core",
	description:
		"Serves /hello (text), /time (observable, changes every second), /echo (POST and PUT answer with the request's payload and content format; bodies up to 256 KiB block-wise), /counter (GET; POST increments; observable), /large (5,500 bytes of text, for Block2) and /.well-known/core. Stops on Ctrl-C (SIGINT) or SIGTERM with exit status 0.\n\n" +
		"With --credentials (OSCORE, RFC 8613), requests protected with one of the file's contexts are accepted and answered protected; the resources answer unprotected requests too.",
	options: [...SERVER_OPTIONS, CREDENTIALS_OPTION],
	helpSections: ["exit"],
	async run(args) {
		if (args.positional.length > 0) throw new UsageError("serve takes no arguments besides --bind and --credentials");
		const security = await serverCredentials(args);
		const { address, port } = bindOf(args);
		const router = demoRouter();
		const ep = await openServer(address, port, args, {
			router,
			// Desktop capacities: more room than the ESP32 profile, still fixed at start; bodies
			// up to 256 KiB block-wise (RFC 7959), 8 transfers at once.
			limits: { maxMessageSize: 1152, clientExchanges: 4, serverExchanges: 64, dedupEntries: 4096, dedupCacheBytes: 256 * 1024, maxOptions: 64, blockTransfers: 8, maxBodySize: 256 * 1024, observers: 64, oscoreContexts: security.contexts },
			oscore: security.oscore,
		});
		if (ep === undefined) return EXIT_NO_RESPONSE;
		process.stdout.write("xscoap demo server listening on " + listeningUri(address, ep) + " (resources: /hello /time /echo /counter /large /.well-known/core)" + (security.oscore === undefined ? "" : ", OSCORE with " + security.contexts + " context" + (security.contexts === 1 ? "" : "s")) + "\n");
		// RFC 7641: /time is observable and changes every second.
		const tick = setInterval(() => router.changed("/time"), 1000);
		return runUntilSignal(() => {
			clearInterval(tick);
			ep.close();
		});
	},
});
