/**
 * What the server commands (serve, device, fileserver, and the ones to come) share: opening an
 * endpoint on `--bind` with a bind failure reported once, as one line (exit status 3), the
 * "listening on" line, and running until SIGINT or SIGTERM (exit status 0).
 */
import type { Endpoint, EndpointOptions } from "../../../modules/coap/endpoint.js";
import { openEndpoint } from "../ports.js";
import { type Args, EXIT_OK, type OptionSpec } from "./command.js";
import { hostPort, parseBind } from "./net.js";
import { traceTo } from "./trace.js";

/** The options every server command takes. */
export const SERVER_OPTIONS: readonly OptionSpec[] = Object.freeze([
	{ names: ["--bind", "-a"], value: "HOST:PORT", help: "address and UDP port to listen on: HOST:PORT, [IPV6]:PORT, HOST or PORT (default [::]:5683, every interface, IPv4 and IPv6)" },
	{ names: ["--verbose", "-v"], repeat: true, help: "print every message received and sent on stderr" },
]);

/** Where `--bind` asks to listen (default [::]:`defaultPort`). */
export function bindOf(args: Args, defaultPort = 5683): { address: string; port: number } {
	const bind = args.value("--bind");
	return bind === undefined ? { address: "::", port: defaultPort } : parseBind(bind, defaultPort);
}

/**
 * Opens a server endpoint on `address`:`port`; undefined (after one "error: cannot listen on"
 * line) when the socket cannot be bound. Socket errors after that are printed as they come;
 * what a handler throws is printed with its stack.
 */
export async function openServer(address: string, port: number, args: Args, options: Omit<EndpointOptions, "ports" | "address" | "port">): Promise<Endpoint | undefined> {
	let listening = false;
	try {
		const ep = await openEndpoint({
			trace: args.has("--verbose") ? traceTo(process.stderr) : undefined,
			onHandlerError: (e) => process.stderr.write("handler error: " + ((e as Error)?.stack ?? String(e)) + "\n"),
			...options,
			address,
			port,
			// A bind failure is reported once, below; later socket errors as they come.
			onError: (e) => {
				if (listening) process.stderr.write("socket error: " + String(e) + "\n");
			},
		});
		listening = true;
		return ep;
	} catch (e) {
		process.stderr.write("error: cannot listen on " + hostPort(address, port) + ": " + (e as Error).message + "\n");
		return undefined;
	}
}

/** "coap://[::]:5683/" for the endpoint's bound address. */
export function listeningUri(address: string, ep: Endpoint): string {
	return "coap://" + hostPort(address, ep.port) + "/";
}

/** Runs until SIGINT or SIGTERM, then calls `stop` (which closes what the command opened). */
export function runUntilSignal(stop: () => void): Promise<number> {
	return new Promise<number>((resolve) => {
		const done = () => {
			process.removeListener("SIGINT", done);
			process.removeListener("SIGTERM", done);
			stop();
			resolve(EXIT_OK);
		};
		process.once("SIGINT", done);
		process.once("SIGTERM", done);
	});
}
