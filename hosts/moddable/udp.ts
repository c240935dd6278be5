/**
 * UDP port of the Moddable host: the SDK's ECMA-419 `embedded:io/socket/udp` class, handed to
 * the Endpoint almost unchanged (the endpoint's shared `onReadable` reads `this.target`, which
 * the SDK sets from the options). What this adds: the multicast groups to join after the
 * socket opens (the SDK has no `multicast` constructor option; it has `add(group)`), and the
 * TTL option.
 *
 * Platform notes (SDK 8.x sources): the socket binds all interfaces whatever `address` says
 * (lwip `udp_bind(IP_ADDR_ANY, port)`), so the endpoint's `address` option is not passed on;
 * `write(buffer, address, port)` takes a view (no copy); `read()` hands out one fresh
 * ArrayBuffer per datagram. Multicast needs `add()`, implemented for lwip (ESP32, ESP8266,
 * Pico); on a platform whose UDP class lacks it, asking for a group throws at start-up.
 * Older SDK releases read `write(address, port, buffer)` (address first, in lwip/udp.c);
 * this host needs the buffer-first order of SDK 8.2 (checked with 8.2.3, DESIGN.md).
 */
import UDP from "embedded:io/socket/udp";
import type { UdpConstructor, UdpOptions, UdpSocket } from "../../modules/coap/host.js";
import type { ModdableUdpClass, ModdableUdpOptions, ModdableUdpSocket } from "./udp-io.js";

export interface UdpSettings {
	/** IPv4 multicast groups to join, e.g. ["224.0.1.187"] (All CoAP Nodes, RFC 7252 §12.8). */
	readonly multicast?: readonly string[];
	/** TTL of sent datagrams (1..255); the platform's default when absent. */
	readonly timeToLive?: number;
}

/**
 * Returns the UDP class the Endpoint constructs its socket with: `io` (the SDK's class by
 * default) plus the settings above. Called once at start-up; the returned constructor is a
 * plain function that returns the SDK socket itself, so received datagrams reach the endpoint
 * with no wrapper in between.
 * @throws RangeError for a TTL outside 1..255 or a group that is not a dotted IPv4 address.
 */
export function udpPort(settings: UdpSettings = {}, io: ModdableUdpClass = UDP as unknown as ModdableUdpClass): UdpConstructor {
	const groups = settings.multicast ?? [];
	for (let i = 0; i < groups.length; i++) {
		if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(groups[i]!)) throw new RangeError("multicast group must be a dotted IPv4 address, got " + groups[i]);
	}
	const ttl = settings.timeToLive;
	if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 1 && ttl <= 255)) throw new RangeError("timeToLive must be 1..255, got " + ttl);
	function open(options: UdpOptions): UdpSocket {
		const o: ModdableUdpOptions = {
			port: options.port ?? 0,
			target: options.target,
			onReadable: options.onReadable as unknown as ModdableUdpOptions["onReadable"],
		};
		if (ttl !== undefined) o.timeToLive = ttl;
		const socket: ModdableUdpSocket = new io(o);
		if (groups.length > 0) {
			if (typeof socket.add !== "function") {
				socket.close();
				throw new RangeError("this platform's UDP socket cannot join multicast groups");
			}
			for (let i = 0; i < groups.length; i++) socket.add(groups[i]!);
		}
		return socket as unknown as UdpSocket;
	}
	// `new open(options)` returns the socket object itself (a constructor may return an object).
	return open as unknown as UdpConstructor;
}
