/**
 * `xscoap plugtest-client HOST[:PORT] TESTNO...`: the client of the OSCORE interop test
 * specification (test-spec5.md of EricssonResearch/OSCOAP; modules/plugtest/client.ts) with
 * contexts A and C, their sequence numbers kept in --state between runs. Prints each check;
 * exit status 0 only when every test passed, 1 otherwise.
 */
import { isIP } from "node:net";
import { PLUGTEST_NUMBERS, PLUGTEST_TITLES, WireLog, runPlugtest } from "../../../../modules/plugtest/client.js";
import { plugtestContext } from "../../../../modules/plugtest/contexts.js";
import { NodeClock } from "../../clock.js";
import { openEndpoint } from "../../ports.js";
import { type Command, EXIT_NO_RESPONSE, EXIT_OK, EXIT_RESPONSE, UsageError } from "../command.js";
import { resolveHost } from "../net.js";
import { PLUGTEST_CRYPTO, STATE_OPTION, stateStore } from "../plugtest.js";
import { traceTo } from "../trace.js";

/** "HOST", "HOST:PORT", "[V6]:PORT", a bare IPv6 address. */
function hostAndPort(text: string): { host: string; port: number } {
	const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(text);
	if (m === null) {
		if (isIP(text) === 6) return { host: text, port: 5683 };
		throw new UsageError("plugtest-client takes HOST[:PORT] ([IPV6]:PORT for IPv6), got " + JSON.stringify(text));
	}
	const port = m[3] === undefined ? 5683 : Number(m[3]);
	if (!(port >= 1 && port <= 65535)) throw new UsageError("port must be 1..65535, got " + m[3]);
	return { host: m[1] ?? m[2]!, port };
}

/** "3", "0-15", "all" → test numbers. */
function testNumbers(words: readonly string[]): number[] {
	const out: number[] = [];
	for (const w of words) {
		if (w === "all") {
			out.push(...PLUGTEST_NUMBERS);
			continue;
		}
		const m = /^(\d+)(?:-(\d+))?$/.exec(w);
		const from = m === null ? -1 : Number(m[1]);
		const to = m === null ? -1 : m[2] === undefined ? from : Number(m[2]);
		if (m === null || PLUGTEST_NUMBERS.indexOf(from) < 0 || PLUGTEST_NUMBERS.indexOf(to) < 0 || to < from) throw new UsageError("a test number is 0..17 (or a range such as 0-15, or all), got " + JSON.stringify(w));
		for (let n = from; n <= to; n++) out.push(n);
	}
	return out;
}

export const plugtestClientCommand: Command = Object.freeze<Command>({
	names: ["plugtest-client"],
	synopsis: "HOST[:PORT] TESTNO... [--state DIR]",
	summary: "run tests of the OSCORE interop test specification (test-spec5) against a server",
	description:
		"Runs the client side of the OSCORE interop test specification (EricssonResearch/OSCOAP test-spec5.md) against the plugtest server at HOST[:PORT] (default port 5683) with its contexts A and C, and prints each check: on the decrypted messages and on the wire (POST/FETCH outside, the OSCORE option, nothing else in the clear). TESTNO is 0..17, a range such as 0-15, or all; several may be given.\n\n" +
		"Tests: " + PLUGTEST_NUMBERS.map((n) => n + " " + PLUGTEST_TITLES[n]).join("; ") + ". Test 16 expects an OSCORE-unaware server (xscoap plugtest-server --unaware), test 17 a server that refuses unprotected access.\n\n" +
		"The contexts' sequence numbers persist in --state (RFC 8613 Appendix B.1.1), so a series of runs against one server never reuses one. Exit status 0 when every check of every test passed, 1 otherwise.",
	options: [STATE_OPTION, { names: ["--verbose", "-v"], repeat: true, help: "print every message sent and received on stderr" }, { names: ["--timeout"], value: "SECONDS", help: "how long one exchange may take (default 15)" }],
	helpSections: ["exit"],
	async run(args) {
		if (args.positional.length < 2) throw new UsageError("plugtest-client takes HOST[:PORT] and at least one test number");
		const { host, port } = hostAndPort(args.positional[0]!);
		const tests = testNumbers(args.positional.slice(1));
		const timeout = args.value("--timeout") === undefined ? 15 : Number(args.value("--timeout"));
		if (!(timeout > 0 && timeout <= 3600)) throw new UsageError("--timeout takes seconds 0..3600, got " + args.value("--timeout"));
		const address = await resolveHost(host, isIP(host) !== 0);
		if (address === undefined) {
			process.stderr.write("error: cannot resolve host " + host + "\n");
			return EXIT_NO_RESPONSE;
		}
		const store = stateStore(args, "plugtest-client");
		const a = plugtestContext("a", PLUGTEST_CRYPTO, store);
		const c = plugtestContext("c", PLUGTEST_CRYPTO, store);
		const wire = new WireLog();
		const verbose = args.has("--verbose") ? traceTo(process.stderr) : undefined;
		const ep = await openEndpoint({
			address: isIP(address) === 6 ? "::" : "0.0.0.0",
			trace: (out, bytes, length, addr, p) => {
				wire.trace(out, bytes, length);
				verbose?.(out, bytes, length, addr, p);
			},
			limits: { clientExchanges: 2, serverExchanges: 0, observers: 0, oscoreContexts: 2 },
		});
		let failed = 0;
		try {
			for (const n of tests) {
				const ok = await runPlugtest({ endpoint: ep, address, port, a, c, crypto: PLUGTEST_CRYPTO, store, wire, clock: new NodeClock(), print: (line) => process.stdout.write(line + "\n"), timeoutMs: timeout * 1000 }, n);
				if (!ok) failed++;
			}
		} finally {
			ep.close();
		}
		if (tests.length > 1) process.stdout.write((failed === 0 ? "all " + tests.length + " tests passed" : failed + " of " + tests.length + " tests FAILED") + "\n");
		return failed === 0 ? EXIT_OK : EXIT_RESPONSE;
	},
});
