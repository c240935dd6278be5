/**
 * Ports: what a host hands the portable stack. Nothing here is implemented; hosts/node,
 * hosts/moddable and sim/ each provide these shapes.
 *
 * The UDP port has the shape of ECMA-419 `embedded:io/socket/udp` (the IO class pattern):
 * a constructor taking an options object with `onReadable` and `target`, `read()` returning
 * one datagram (an ArrayBuffer with `address` and `port` properties) or `undefined`, and
 * `write(buffer, address, port)`. On Moddable the host passes the real class unchanged.
 *
 * Leaves out: DNS resolution (the stack takes numeric
 * addresses; hosts resolve names at the edge).
 */

/** A received datagram: ECMA-419 `read()` result. Ownership passes to the stack. */
export type Datagram = ArrayBuffer & { readonly address: string; readonly port: number };

/** Options understood by a UDP port constructor (subset of ECMA-419 UDP options). */
export interface UdpOptions {
	/** Local port; 0 or absent picks an ephemeral port. */
	port?: number;
	/** Local address to bind: "0.0.0.0", "::", "127.0.0.1", ... Absent: all interfaces. */
	address?: string;
	/** Called with the number of datagrams that can be read now. `this` is the socket. */
	onReadable(this: UdpSocket, count: number): void;
	/** Called when the socket fails; the stack treats the socket as unusable. */
	onError?(this: UdpSocket, error?: unknown): void;
	/** Passed back as `socket.target`, so callbacks need no closures (ECMA-419 §9.2). */
	target?: unknown;
	/**
	 * ECMA-419 multicast: the socket joins this group address (e.g. "224.0.1.187" or
	 * "ff02::fd") and receives what is sent to group:port.
	 */
	multicast?: string;
	/** ECMA-419: time-to-live (hops) of multicast datagrams sent. */
	timeToLive?: number;
}

/**
 * What a socket passes to `onError` when the network reported a peer unreachable (an ICMP port,
 * host or network unreachable in answer to a datagram sent to it): an Error with these fields.
 * The socket stays usable; the endpoint ends its requests to that peer with COAP_UNREACHABLE.
 * A host that cannot learn this (ECMA-419 reports no ICMP errors) never passes one.
 */
export interface PeerUnreachable {
	readonly address: string;
	readonly port: number;
	/** What was unreachable: "port" (nothing listens there), "host" or "network". */
	readonly unreachable: "port" | "host" | "network";
	readonly message: string;
}

/** An open UDP socket (ECMA-419 `embedded:io/socket/udp` instance). */
export interface UdpSocket {
	readonly target?: unknown;
	/** One datagram, or undefined when none is waiting. Never throws when empty. */
	read(): Datagram | undefined;
	/** Sends `buffer` (a view is fine: only its bytes are sent) to address:port. */
	write(buffer: ArrayBufferView | ArrayBuffer, address: string, port: number): void;
	close(): void;
}

/** ECMA-419 UDP class shape. */
export type UdpConstructor = new (options: UdpOptions) => UdpSocket;

/**
 * Monotonic time and one re-armable timer. `now()` is milliseconds from an arbitrary start;
 * it never goes backwards (the Moddable host folds `Time.delta` so `Time.ticks` wrap is hidden).
 */
export interface Clock {
	now(): number;
	/**
	 * Creates the one timer an endpoint uses. The timer calls `callback.call(target)` once
	 * when armed time is reached.
	 */
	createTimer(callback: (this: any) => void, target: unknown): Timer;
}

export interface Timer {
	/** Arms (or re-arms) the timer for absolute time `atMs` on the clock. */
	schedule(atMs: number): void;
	/** Disarms the timer; it may be scheduled again later. */
	unschedule(): void;
	/** Releases the timer for good. */
	close(): void;
}

/** Fills `out` with random bytes (a CSPRNG on devices and Node; a seeded PRNG in sim/). */
export type RandomFill = (out: Uint8Array) => void;

/** Everything the stack needs from its host. */
export interface Ports {
	/** ECMA-419 `embedded:io/socket/udp` class, or a class of the same shape. */
	udp: UdpConstructor;
	clock: Clock;
	random: RandomFill;
}
