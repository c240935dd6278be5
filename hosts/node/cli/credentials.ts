/**
 * `--credentials FILE`: OSCORE (RFC 8613) security contexts for a command's endpoint, from a
 * credentials file in aiocoap's JSON format (a client file maps URI patterns to contexts, a
 * server file labels them; see shared/tools/aiocoap/README.md).
 *
 * Not available yet: xscoap has no OSCORE. This file is where it plugs in: the request
 * commands merge `clientCredentials(args)` into their endpoint's options, the server commands
 * (fileserver) `serverCredentials(args)`; today both refuse the option with a usage error.
 */
import type { NodeEndpointOptions } from "../ports.js";
import { type Args, type OptionSpec, UsageError } from "./command.js";

export const CREDENTIALS_OPTION: OptionSpec = Object.freeze({
	names: ["--credentials"],
	value: "FILE",
	help: "OSCORE (RFC 8613) credentials in aiocoap's JSON format. Comes with OSCORE, which this version of xscoap does not have yet: refused for now.",
});

function refuse(args: Args): void {
	if (args.has("--credentials")) throw new UsageError("--credentials needs OSCORE (RFC 8613), which this version of xscoap does not have yet");
}

/** Endpoint options for a client with the credentials of `--credentials` (none without it). */
export async function clientCredentials(args: Args): Promise<Partial<NodeEndpointOptions>> {
	refuse(args);
	return {};
}

/** Endpoint options for a server with the credentials of `--credentials` (none without it). */
export async function serverCredentials(args: Args): Promise<Partial<NodeEndpointOptions>> {
	refuse(args);
	return {};
}
