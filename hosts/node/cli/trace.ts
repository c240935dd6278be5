/**
 * `-v`: every datagram an endpoint sends (->) or receives (<-) on stderr, one line each, with
 * the peer and the message described as libcoap does (modules/coap/wire/describe.ts).
 */
import type { TraceFn } from "../../../modules/coap/endpoint.js";
import { describeMessage } from "../../../modules/coap/wire/describe.js";
import { hostPort } from "./net.js";

export function traceTo(stream: NodeJS.WritableStream): TraceFn {
	return (outgoing: boolean, bytes: Uint8Array, length: number, address: string, port: number) => {
		stream.write((outgoing ? "-> " : "<- ") + hostPort(address, port) + " " + describeMessage(bytes, length) + "\n");
	};
}
