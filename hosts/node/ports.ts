/**
 * The Node host's ports (see modules/coap/host.ts): ECMA-419-shaped UDP over node:dgram, a
 * performance.now() clock with setTimeout, and crypto.getRandomValues randomness; plus
 * `openEndpoint`, which waits for the socket to be bound so the local port is known.
 */
import { webcrypto } from "node:crypto";
import { Endpoint, type EndpointOptions } from "../../modules/coap/endpoint.js";
import type { Ports } from "../../modules/coap/host.js";
import { NodeClock } from "./clock.js";
import { NodeUdp } from "./udp.js";

export function nodePorts(): Ports {
	return {
		udp: NodeUdp,
		clock: new NodeClock(),
		random: (out: Uint8Array) => {
			webcrypto.getRandomValues(out);
		},
	};
}

/** Creates an Endpoint on the Node host and resolves once its socket is bound. */
export async function openEndpoint(options: Omit<EndpointOptions, "ports"> & { ports?: Ports }): Promise<Endpoint> {
	const ep = new Endpoint({ ...options, ports: options.ports ?? nodePorts() });
	const s = ep.socket as unknown as NodeUdp;
	if (typeof s.ready === "function") await s.ready();
	return ep;
}
