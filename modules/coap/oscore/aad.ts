/**
 * The AAD of the COSE object (RFC 8613 §5.4), written straight into a caller's buffer:
 *
 *   AAD = Enc_structure = [ "Encrypt0", h'', external_aad ]
 *   external_aad = bstr .cbor aad_array
 *   aad_array = [ oscore_version : uint, algorithms : [ alg_aead : int / tstr ],
 *                 request_kid : bstr, request_piv : bstr, options : bstr ]
 *
 * oscore_version is 1, algorithms is [10], options is empty: there are no Class I options
 * (§4.1.2). The same AAD protects a request and each of its responses (§7.1 message binding):
 * request_kid and request_piv are always the request's.
 */
import { AES_CCM_16_64_128 } from "./aead.js";
import { MAJOR_ARRAY, MAJOR_BYTES, MAJOR_UINT, headLength, writeBytes, writeHead } from "./cbor.js";
import { writePiv } from "./nonce.js";

/** Largest AAD for a kid of `kidLength` bytes and a Partial IV of up to 5 bytes. */
export function aadLength(kidLength: number): number {
	const array = arrayLength(kidLength, 5);
	return 1 + 9 + 1 + headLength(array) + array;
}

/** Length of aad_array (§5.4) with the given kid and Partial IV lengths. */
function arrayLength(kidLength: number, pivLength: number): number {
	// 0x85, 0x01, 0x81 0x0a, bstr kid, bstr piv, 0x40
	return 1 + 1 + 2 + headLength(kidLength) + kidLength + 1 + pivLength + 1;
}

/**
 * Writes the Enc_structure for a request whose 'kid' is kid[0, kidLength) and whose Partial IV
 * is `piv` encoded in `pivLength` bytes (as it was on the wire). Returns the AAD length.
 */
export function writeAad(out: Uint8Array, kid: Uint8Array, kidLength: number, piv: number, pivLength: number): number {
	let p = writeHead(out, 0, MAJOR_ARRAY, 3);
	p = writeEncrypt0(out, p);
	p = writeHead(out, p, MAJOR_BYTES, 0); // protected: h''
	p = writeHead(out, p, MAJOR_BYTES, arrayLength(kidLength, pivLength)); // external_aad
	p = writeHead(out, p, MAJOR_ARRAY, 5);
	p = writeHead(out, p, MAJOR_UINT, 1); // oscore_version
	p = writeHead(out, p, MAJOR_ARRAY, 1);
	p = writeHead(out, p, MAJOR_UINT, AES_CCM_16_64_128);
	p = writeBytes(out, p, kid, 0, kidLength);
	p = writeHead(out, p, MAJOR_BYTES, pivLength);
	p = writePiv(out, p, piv, pivLength);
	return writeHead(out, p, MAJOR_BYTES, 0); // options: no Class I options
}

/**
 * The text string "Encrypt0" (RFC 8152 §5.3 context), written byte by byte: on XS, reading a
 * string's characters on the message path allocates (measured: ~38 slots per AAD).
 */
function writeEncrypt0(out: Uint8Array, p: number): number {
	out[p] = 0x68; // text string, 8 bytes
	out[p + 1] = 0x45; // E
	out[p + 2] = 0x6e; // n
	out[p + 3] = 0x63; // c
	out[p + 4] = 0x72; // r
	out[p + 5] = 0x79; // y
	out[p + 6] = 0x70; // p
	out[p + 7] = 0x74; // t
	out[p + 8] = 0x30; // 0
	return p + 9;
}
