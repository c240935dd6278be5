/**
 * `xscoap plugtest-server`: the server of the OSCORE interop test specification (test-spec5.md
 * of EricssonResearch/OSCOAP; modules/plugtest/server.ts) with contexts B and D, until SIGINT
 * or SIGTERM. Every request is printed as one line, decrypted. `--unaware` serves
 * /oscore/hello/coap without OSCORE at all: the server test 16 needs.
 */
import { plugtestContext } from "../../../../modules/plugtest/contexts.js";
import { plugtestRouter } from "../../../../modules/plugtest/server.js";
import { NodeClock } from "../../clock.js";
import { type Command, EXIT_NO_RESPONSE, UsageError } from "../command.js";
import { PLUGTEST_CRYPTO, STATE_OPTION, stateStore } from "../plugtest.js";
import { SERVER_OPTIONS, bindOf, listeningUri, openServer, runUntilSignal } from "../server.js";

export const plugtestServerCommand: Command = Object.freeze<Command>({
	names: ["plugtest-server"],
	synopsis: "[--bind HOST:PORT] [--state DIR] [--unaware]",
	summary: "serve the OSCORE interop test resources (test-spec5) with contexts B and D",
	description:
		"Serves the resources of the OSCORE interop test specification (EricssonResearch/OSCOAP test-spec5.md): /oscore/hello/coap (unprotected too), and only to requests protected with OSCORE (RFC 8613; others get 4.01): /oscore/hello/1, /oscore/hello/2 (ETag), /oscore/hello/3 (Max-Age), /oscore/hello/6 (POST), /oscore/hello/7 (PUT, ETag 0x7b), /oscore/observe1 and /oscore/observe2 (observable), /oscore/test (DELETE), /oscore/block/inner and /oscore/block/outer (1,035 bytes, block-wise). " +
		"The security contexts are the specification's B and D; their sequence numbers persist in --state, and after a restart the first request per context is answered 4.01 + Echo (Appendix B.1.2). Each request is printed as one line.\n\n" +
		"--unaware serves /oscore/hello/coap from an endpoint without OSCORE (test 16: an OSCORE request gets 4.02 Bad Option).",
	options: [...SERVER_OPTIONS, STATE_OPTION, { names: ["--unaware"], help: "no OSCORE at all, only /oscore/hello/coap (the OSCORE-unaware server of test 16)" }],
	helpSections: ["exit"],
	async run(args) {
		if (args.positional.length > 0) throw new UsageError("plugtest-server takes no arguments besides its options");
		const unaware = args.has("--unaware");
		const { address, port } = bindOf(args);
		const log = (line: string): void => {
			process.stdout.write(line + "\n");
		};
		let contexts: ReturnType<typeof plugtestContext>[] = [];
		if (!unaware) {
			const store = stateStore(args, "plugtest-server");
			contexts = [plugtestContext("b", PLUGTEST_CRYPTO, store), plugtestContext("d", PLUGTEST_CRYPTO, store)];
		}
		const ep = await openServer(address, port, args, {
			router: plugtestRouter({ clock: new NodeClock(), log, unaware }),
			limits: { maxMessageSize: 1152, serverExchanges: 16, dedupEntries: 1024, dedupCacheBytes: 64 * 1024, observers: 16, oscoreContexts: unaware ? 0 : 2 },
			oscore: unaware ? undefined : { contexts },
		});
		if (ep === undefined) return EXIT_NO_RESPONSE;
		process.stdout.write("xscoap plugtest server listening on " + listeningUri(address, ep) + (unaware ? " (OSCORE-unaware: /oscore/hello/coap only)" : " (contexts B and D" + (contexts[0]!.sequence.restored ? "; restarted: replay windows recovered with Echo" : "") + ")") + "\n");
		return runUntilSignal(() => ep.close());
	},
});
