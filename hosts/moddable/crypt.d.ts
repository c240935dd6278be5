/**
 * The Moddable SDK's `crypt` module (modules/crypt/digest/crypt.js and modCrypt.c, SDK 8.x) as
 * the SDK's own typings declare it ($MODDABLE/typings/crypt.d.ts: Digest only), for the
 * typecheck against @moddable/typings, which has none. mcconfig compiles with the SDK's
 * declaration, so this one must not say more: the BlockCipher that modCrypt.c also exports is
 * reached through a cast in oscore-crypto.ts.
 */
declare module "crypt" {
	export class Digest {
		constructor(type: "MD5" | "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512");
		write(message: string | ArrayBuffer): void;
		close(): ArrayBuffer;
		reset(): void;
		get blockSize(): number;
		get outputSize(): number;
	}
}
