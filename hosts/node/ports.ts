/**
 * The Node host's ports (see modules/coap/host.ts): ECMA-419-shaped UDP over node:dgram, a
 * performance.now() clock with setTimeout, and crypto.getRandomValues randomness; plus
 * `openEndpoint`, which waits for the socket to be bound so the local port is known.
 */
import { webcrypto } from "node:crypto";
import { Endpoint, type EndpointOptions } from "../../modules/coap/endpoint.js";
import type { Ports, UdpOptions } from "../../modules/coap/host.js";
import { NodeClock } from "./clock.js";
import { NodeUdp, type NodeUdpSettings } from "./udp.js";

/** The Node host's ports; `udp` settings apply to every socket made from them (udp.ts). */
export function nodePorts(udp: NodeUdpSettings = {}): Ports {
	const settings = Object.freeze({ ...udp });
	return {
		udp:
			settings.connectPeers === undefined
				? NodeUdp
				: class extends NodeUdp {
						constructor(options: UdpOptions) {
							super(options, settings);
						}
					},
		clock: new NodeClock(),
		random: (out: Uint8Array) => {
			webcrypto.getRandomValues(out);
		},
	};
}

export interface NodeEndpointOptions extends Omit<EndpointOptions, "ports"> {
	ports?: Ports;
	/**
	 * Send to each peer (up to this many) from a UDP socket connected to it, so that a closed
	 * port or an unreachable host ends a request at once with COAP_UNREACHABLE instead of a
	 * timeout (Linux reports ICMP errors only to connected sockets; see udp.ts). Requests then
	 * leave from another port than `endpoint.port`. Default: 8 for a client endpoint (no
	 * `router`, no `multicast`, no fixed `port`), else 0. Ignored when `ports` is given.
	 */
	connectPeers?: number;
}

/** Creates an Endpoint on the Node host and resolves once its socket is bound. */
export async function openEndpoint(options: NodeEndpointOptions): Promise<Endpoint> {
	const client = options.router === undefined && options.multicast === undefined && !options.port;
	const connectPeers = options.connectPeers ?? (client ? 8 : 0);
	if (!(Number.isInteger(connectPeers) && connectPeers >= 0)) throw new RangeError("connectPeers must be a whole number >= 0, got " + connectPeers);
	const ep = new Endpoint({ ...options, ports: options.ports ?? nodePorts({ connectPeers }) });
	const s = ep.socket as unknown as NodeUdp;
	if (typeof s.ready === "function") await s.ready();
	return ep;
}
