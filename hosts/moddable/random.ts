/**
 * Randomness of the Moddable host (modules/coap/host.ts `RandomFill`): message IDs, tokens
 * and retransmission jitter (RFC 7252 §4.4, §5.3.1, §4.2).
 *
 * Source: XS's `Math.random()`, which is `c_rand() / C_RAND_MAX` (xs/sources/xsMath.c), and
 * on ESP32 `c_rand` is `esp_random()` (xs/platforms/esp/xsHost.h): the hardware RNG, true
 * random while Wi-Fi or Bluetooth is running. No ArrayBuffer is allocated per call (the
 * `crypt` RNG module allocates one per `get(n)`). On the desktop simulators `c_rand` is the
 * C library's `rand()`: good enough for tokens on a development machine, not for keys.
 */

/** Fills `out` with random bytes, 16 bits per Math.random() call. */
export function deviceRandom(out: Uint8Array): void {
	const n = out.length;
	for (let i = 0; i < n; i += 2) {
		const r = (Math.random() * 65536) >>> 0;
		out[i] = r & 0xff;
		if (i + 1 < n) out[i + 1] = r >>> 8;
	}
}
