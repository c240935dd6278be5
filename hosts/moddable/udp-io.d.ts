/**
 * What the Moddable SDK's `embedded:io/socket/udp` implements (modules/io/socket/lwip/udp.js
 * and udp.c, SDK 8.x) and @moddable/typings 5.6.0 leaves out of its declaration: `close()`,
 * multicast `add()`/`remove()` (IPv4 groups, IGMP join/leave on every interface), the
 * `target` property the constructor copies from its options, and `read()` returning
 * undefined when no datagram is waiting.
 */
import type UDP from "embedded:io/socket/udp";

/** A received datagram: a fresh ArrayBuffer per packet with the sender's address and port. */
export type ModdableDatagram = ArrayBuffer & { readonly address: string; readonly port: number };

export interface UdpSocketExtras {
	/** Releases the socket; queued datagrams are dropped. Safe to call twice. */
	close(): void;
	/** Joins IPv4 multicast group `address` (e.g. "224.0.1.187", All CoAP Nodes, RFC 7252 §12.8). */
	add(address: string): void;
	/** Leaves IPv4 multicast group `address`. */
	remove(address: string): void;
	/** The `target` option, as the constructor stored it. */
	readonly target: unknown;
}

/** A Moddable UDP socket with the members the typings omit. */
export type ModdableUdpSocket = Omit<UDP, "read"> &
	UdpSocketExtras & {
		/** One datagram, or undefined when none is waiting (no exception). */
		read(): ModdableDatagram | undefined;
	};

/** Constructor options the SDK's UDP class reads (lwip: port, timeToLive, target, format, onReadable). */
export interface ModdableUdpOptions {
	port?: number;
	/** Unicast and multicast TTL, 1..255. */
	timeToLive?: number;
	target?: unknown;
	format?: "buffer";
	onReadable?: (this: ModdableUdpSocket, count: number) => void;
}

/** The `embedded:io/socket/udp` class as this host uses it. */
export type ModdableUdpClass = new (options: ModdableUdpOptions) => ModdableUdpSocket;
