/**
 * One-line human-readable description of a CoAP message, for traces (`xscoap -v`, xsbug).
 * Allocates strings: diagnostics only, never on the message path.
 */
import { METHOD_NAMES, codeText } from "../constants.js";
import { FMT_STRING, FMT_UINT, optionFormat, optionName } from "../options.js";
import { utf8Decode } from "./utf8.js";
import { MessageView } from "./view.js";

const TYPES: readonly string[] = Object.freeze(["CON", "NON", "ACK", "RST"]);

function hexOf(b: Uint8Array, from: number, to: number): string {
	let s = "";
	for (let i = from; i < to; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
	return s;
}

/** E.g. `CON GET mid=0x1234 token=a1b2c3d4 Uri-Path:"hello" | 13 bytes: "Hello, world!"`. */
export function describeMessage(bytes: Uint8Array, length = bytes.length, maxOptions = 64): string {
	const v = new MessageView(maxOptions);
	const st = v.parse(bytes, length);
	if (st < 0 && length < 4) return "malformed (" + length + " bytes)";
	const code = v.code;
	const name = code === 0 ? "Empty" : code < 32 ? (METHOD_NAMES[code] ?? "0." + code) : codeText(code);
	let s = TYPES[v.type] + " " + name + " mid=0x" + v.mid.toString(16).padStart(4, "0");
	if (v.tokenLength) s += " token=" + hexOf(v.bytes, v.tokenOffset, v.tokenOffset + v.tokenLength);
	for (let i = 0; i < v.optionCount; i++) {
		const n = v.optNumber[i]!;
		const f = optionFormat(n);
		const o = v.optOffset[i]!;
		const l = v.optLength[i]!;
		s += " " + optionName(n) + ":";
		if (f === FMT_STRING) s += JSON.stringify(utf8Decode(v.bytes, o, l));
		else if (f === FMT_UINT) s += v.uint(i);
		else s += "0x" + hexOf(v.bytes, o, o + l);
	}
	if (st < 0) return s + " (malformed, status " + st + ")";
	if (v.payloadLength > 0) {
		const text = utf8Decode(v.bytes, v.payloadOffset, v.payloadLength);
		s += " | " + v.payloadLength + " bytes: " + JSON.stringify(text.length > 200 ? text.slice(0, 200) + "..." : text);
	}
	return s;
}
