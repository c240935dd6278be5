/**
 * An ECMA-419 `embedded:io/socket/udp`-shaped class over `node:dgram`, so the portable stack
 * sees the same socket on Node as on Moddable. Binds IPv6 dual-stack ("::") unless an IPv4
 * address is given; IPv4 peers then appear as plain dotted quads (the "::ffff:" prefix is
 * removed on receive and added on send). `read()` hands out each datagram as its own
 * ArrayBuffer with `address` and `port`, as ECMA-419 does. Exposes the bound `port`.
 */
import dgram from "node:dgram";
import { isIPv4 } from "node:net";
import type { Datagram, UdpOptions, UdpSocket } from "../../modules/coap/host.js";

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

	constructor(options: UdpOptions) {
		this.#options = options;
		this.target = options.target;
		const group = options.multicast;
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
		if (!this.#bound) {
			this.#pending.push([bytes.slice(), address, port]);
			return;
		}
		this.#send(bytes, address, port);
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
	}
}
