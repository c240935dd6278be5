/**
 * An ECMA-419 `embedded:io/socket/udp`-shaped class over `node:dgram`, so the portable stack
 * sees the same socket on Node as on Moddable. Binds IPv6 dual-stack ("::") unless an IPv4
 * address is given; IPv4 peers then appear as plain dotted quads (the "::ffff:" prefix is
 * removed on receive and added on send). `read()` hands out each datagram as its own
 * ArrayBuffer with `address` and `port`, as ECMA-419 does. Exposes the bound `port`.
 *
 * Unreachable peers (settings.connectPeers > 0): Linux reports an ICMP port, host or network
 * unreachable only to a *connected* UDP socket (or through IP_RECVERR, which node:dgram cannot
 * set). So datagrams to each unicast peer go out through a socket connected to that peer (up
 * to `connectPeers` of them; further peers use the bound socket), and the ECONNREFUSED,
 * EHOSTUNREACH or ENETUNREACH it reports reaches the endpoint as a PeerUnreachable
 * (modules/coap/host.ts), which ends the requests to that peer at once. What those sockets
 * receive is delivered like what the bound socket receives. Their source port is not the bound
 * one, so this is for client endpoints: openEndpoint (ports.ts) turns it on for endpoints with
 * no router, no multicast group and no fixed port.
 */
import dgram from "node:dgram";
import { isIPv4 } from "node:net";
import type { Datagram, PeerUnreachable, UdpOptions, UdpSocket } from "../../modules/coap/host.js";

/** Node-only settings of a NodeUdp (ports.ts nodePorts). */
export interface NodeUdpSettings {
	/** Send to up to this many unicast peers through sockets connected to each (see above); 0: off. */
	connectPeers?: number;
}

/** A socket connected to one peer. */
interface PeerSocket {
	readonly address: string;
	readonly port: number;
	readonly socket: dgram.Socket;
	connected: boolean;
	/** Datagrams written before the socket was bound and connected. */
	readonly pending: Buffer[];
}

const UNREACHABLE: Readonly<Record<string, "port" | "host" | "network">> = Object.freeze({ ECONNREFUSED: "port", EHOSTUNREACH: "host", ENETUNREACH: "network", EHOSTDOWN: "host" });

/** The PeerUnreachable for a Node error code, or undefined when the error says something else. */
function unreachableError(e: NodeJS.ErrnoException, address: string, port: number): (Error & PeerUnreachable) | undefined {
	const what = e.code === undefined ? undefined : UNREACHABLE[e.code];
	if (what === undefined) return undefined;
	const where = (address.indexOf(":") >= 0 ? "[" + address + "]" : address) + ":" + port;
	const message =
		what === "port"
			? "nothing listens on " + where + " (ICMP port unreachable)"
			: what === "host"
				? "host " + address + " is unreachable (ICMP host unreachable, " + e.code + ")"
				: "no route to " + address + " (network unreachable, " + e.code + ")";
	const u = new Error(message) as Error & { address: string; port: number; unreachable: string };
	u.address = address;
	u.port = port;
	u.unreachable = what;
	return u as Error & PeerUnreachable;
}

function isMulticastAddress(address: string): boolean {
	const c = address.charCodeAt(0);
	if (address.indexOf(":") >= 0) return (c === 0x66 || c === 0x46) && (address.charCodeAt(1) | 0x20) === 0x66; // ff00::/8
	const first = Number(address.slice(0, address.indexOf(".")));
	return first >= 224 && first <= 239;
}

export class NodeUdp implements UdpSocket {
	readonly target: unknown;
	#socket: dgram.Socket;
	#queue: Datagram[] = [];
	#head = 0;
	#v6: boolean;
	#options: UdpOptions;
	#closed = false;
	#bound = false;
	/** Datagrams written before the bind completed (Node binds asynchronously). */
	#pending: [Uint8Array, string, number][] = [];
	readonly #connectPeers: number;
	readonly #peers: PeerSocket[] = [];

	constructor(options: UdpOptions, settings: NodeUdpSettings = {}) {
		this.#options = options;
		this.target = options.target;
		const group = options.multicast;
		this.#connectPeers = group === undefined ? (settings.connectPeers ?? 0) : 0;
		// ECMA-419 `multicast`: the socket receives what is sent to the group. It binds to the
		// group address itself (Linux then delivers only that group's datagrams to it) with
		// SO_REUSEADDR, so it can share the port with a unicast socket bound to a host address.
		const address = group ?? options.address;
		this.#v6 = !(address !== undefined && isIPv4(address));
		this.#socket = dgram.createSocket({ type: this.#v6 ? "udp6" : "udp4", ipv6Only: this.#v6 && group !== undefined, reuseAddr: group !== undefined });
		this.#socket.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => this.#onMessage(msg, rinfo));
		this.#socket.on("error", (e: Error) => {
			if (!this.#closed) options.onError?.call(this, e);
		});
		this.#socket.bind({ port: options.port ?? 0, address: address ?? (this.#v6 ? "::" : "0.0.0.0"), exclusive: true }, () => {
			if (group !== undefined) {
				try {
					this.#socket.addMembership(group);
					if (options.timeToLive !== undefined) this.#socket.setMulticastTTL(options.timeToLive);
				} catch (e) {
					if (!this.#closed) options.onError?.call(this, e);
				}
			}
			this.#bound = true;
			for (const [b, a, p] of this.#pending) this.#send(b, a, p);
			this.#pending.length = 0;
		});
	}

	/** Resolves when the socket is bound (the bound port is then known). */
	ready(): Promise<void> {
		if (this.#bound) return Promise.resolve();
		return new Promise((resolve, reject) => {
			this.#socket.once("listening", () => resolve());
			this.#socket.once("error", reject);
		});
	}

	get port(): number {
		return this.#bound ? this.#socket.address().port : 0;
	}

	#onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
		if (this.#closed) return;
		// A fresh ArrayBuffer per datagram: reuse Node's if it holds exactly this message.
		const ab = (msg.byteOffset === 0 && msg.byteLength === msg.buffer.byteLength ? msg.buffer : msg.buffer.slice(msg.byteOffset, msg.byteOffset + msg.byteLength)) as ArrayBuffer;
		let address = rinfo.address;
		if (address.startsWith("::ffff:") && address.indexOf(".") > 0) address = address.slice(7); // IPv4-mapped
		const d = ab as Datagram;
		(d as { address: string }).address = address;
		(d as { port: number }).port = rinfo.port;
		this.#queue.push(d);
		this.#options.onReadable.call(this, this.#queue.length - this.#head);
	}

	read(): Datagram | undefined {
		if (this.#head >= this.#queue.length) return undefined;
		const d = this.#queue[this.#head++];
		if (this.#head === this.#queue.length) {
			this.#queue.length = 0;
			this.#head = 0;
		}
		return d;
	}

	write(buffer: ArrayBufferView | ArrayBuffer, address: string, port: number): void {
		if (this.#closed) throw new Error("socket closed");
		const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
		if (this.#connectPeers > 0) {
			const peer = this.#peerSocket(address, port);
			if (peer !== undefined) {
				// dgram may send later: hand it its own copy (the stack reuses its buffer at once).
				const copy = Buffer.from(bytes);
				if (peer.connected) peer.socket.send(copy);
				else peer.pending.push(copy);
				return;
			}
		}
		if (!this.#bound) {
			this.#pending.push([bytes.slice(), address, port]);
			return;
		}
		this.#send(bytes, address, port);
	}

	/** The socket connected to address:port, opened on first use; undefined for multicast or past the limit. */
	#peerSocket(address: string, port: number): PeerSocket | undefined {
		const peers = this.#peers;
		for (let i = 0; i < peers.length; i++) {
			const p = peers[i]!;
			if (p.port === port && p.address === address) return p;
		}
		if (peers.length >= this.#connectPeers || isMulticastAddress(address)) return undefined;
		const v6 = address.indexOf(":") >= 0;
		if (!v6 && this.#v6 && this.#options.address !== undefined && this.#options.address !== "::") return undefined; // bound to one IPv6 address
		if (v6 && !this.#v6) throw new RangeError("IPv6 destination " + address + " on an IPv4 socket");
		const socket = dgram.createSocket(v6 ? "udp6" : "udp4");
		const peer: PeerSocket = { address, port, socket, connected: false, pending: [] };
		peers.push(peer);
		const report = (e: NodeJS.ErrnoException) => {
			if (this.#closed) return;
			this.#options.onError?.call(this, unreachableError(e, address, port) ?? e);
		};
		socket.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => this.#onMessage(msg, rinfo));
		// ECONNREFUSED and friends arrive here (as errors of the next receive); the socket stays usable.
		socket.on("error", report);
		// Bind to the same local address as the bound socket (its wildcard when that is "::").
		const local = this.#options.address;
		const bindTo = local !== undefined && local !== "::" && local !== "0.0.0.0" && isIPv4(local) === !v6 ? local : undefined;
		socket.bind({ port: 0, address: bindTo, exclusive: true }, () => {
			if (this.#closed) return;
			socket.connect(port, address, (e?: Error) => {
				if (this.#closed) return;
				if (e) {
					report(e as NodeJS.ErrnoException);
					return;
				}
				peer.connected = true;
				for (const b of peer.pending) socket.send(b);
				peer.pending.length = 0;
			});
		});
		return peer;
	}

	#send(bytes: Uint8Array, address: string, port: number): void {
		// An address without ":" is IPv4 (the stack only handles numeric addresses); a cheap
		// test on the per-message path instead of node:net's regular expressions.
		const v6 = address.indexOf(":") >= 0;
		let to = address;
		if (this.#v6 && !v6) to = "::ffff:" + address;
		else if (!this.#v6 && v6) throw new RangeError("IPv6 destination " + address + " on an IPv4 socket");
		// dgram may send later (when the socket is busy), so hand it its own copy: the stack
		// reuses its transmit buffer at once.
		this.#socket.send(Buffer.from(bytes), port, to, this.#onSent);
	}

	/** One send callback for all sends (no closure per datagram). */
	readonly #onSent = (e: Error | null): void => {
		if (e && !this.#closed) this.#options.onError?.call(this, e);
	};

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#socket.close();
		for (const p of this.#peers) p.socket.close();
		this.#peers.length = 0;
	}
}
