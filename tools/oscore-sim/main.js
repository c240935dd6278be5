// tools/oscore-sim: OSCORE (RFC 8613) on the Moddable SDK's XS engine, in its desktop simulator
// (run by tools/oscore-sim/run.mjs). At start: RFC 8613 Appendix C (C.1.1 derivation, the C.4
// protected request byte for byte) with the Moddable host's native crypto (hosts/moddable/
// oscore-crypto.ts: crypt's AES block and SHA-256) and with the portable noble provider (loaded
// at run time: noble is mapped, not preloaded), and a protected PUT between two endpoints of the
// app over the simulator's UDP. Then a server on config.oscoreSimPort: /hello for anyone, /led
// only inside OSCORE (requireOscore), with a context whose sequence number is kept across
// restarts (Appendix B.1.1), so after a restart its replay window is recovered with Echo
// (B.1.2). The store is a file of the simulator's `file` module here: the SDK's Preference
// module for the Linux simulator (modules/files/preference/lin/preference.js) kept nothing
// across restarts in this build (its file stayed empty; on the ESP32 Preference is NVS, and
// hosts/moddable/store.ts's PreferenceStore is tested against a fake of it). Every result is one
// trace line starting "oscore-sim:".
import config from "mc/config";
import { SecurityContext } from "xscoap/modules/coap/oscore/context";
import { Oscore } from "xscoap/modules/coap/oscore/oscore";
import { RequestBinding } from "xscoap/modules/coap/oscore/binding";
import { MessageView } from "xscoap/modules/coap/wire/view";
import { MessageWriter } from "xscoap/modules/coap/wire/writer";
import { moddableCrypto } from "xscoap/hosts/moddable/oscore-crypto";
import { File } from "file";
import { openEndpoint } from "xscoap/hosts/moddable/driver";
import { Router } from "xscoap/modules/coap/server/router";

function hex(t) {
	const b = new Uint8Array(t.length / 2);
	for (let i = 0; i < b.length; i++) b[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
	return b;
}
function toHex(b) {
	let s = "";
	for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
	return s;
}
function ascii(t) {
	const b = new Uint8Array(t.length);
	for (let i = 0; i < t.length; i++) b[i] = t.charCodeAt(i);
	return b;
}

function vectors(name, crypto) {
	const ctx = new SecurityContext({ masterSecret: hex("0102030405060708090a0b0c0d0e0f10"), masterSalt: hex("9e7ca92223786340"), senderId: hex(""), recipientId: hex("01"), senderSequenceNumber: 20 }, crypto);
	const view = new MessageView(32);
	const plain = hex("44015d1f00003974396c6f63616c686f737483747631");
	view.parse(plain, plain.length);
	const out = new MessageWriter(new Uint8Array(256));
	const n = new Oscore({ contexts: 1 }).protectRequest(view, ctx, out, new RequestBinding());
	const ok = toHex(ctx.commonIv) === "4622d4dd6d944168eefb54987c" && toHex(out.buf.subarray(0, n)) === "44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e";
	trace("oscore-sim: " + name + ": RFC 8613 C.1.1 Common IV and the C.4 protected request byte for byte: " + (ok ? "OK" : "FAILED") + "\n");
	return ok;
}

/** A Store (modules/coap/store.ts) of one file per key under the simulator's file root. */
class SimFileStore {
	constructor(prefix) {
		this.prefix = config.file.root + prefix + "-";
	}
	read(key, into) {
		const path = this.prefix + key;
		if (!File.exists(path)) return 0;
		const f = new File(path, false);
		try {
			const b = new Uint8Array(f.read(ArrayBuffer));
			if (b.length > into.length) throw new RangeError("value too long");
			into.set(b);
			return b.length;
		} finally {
			f.close();
		}
	}
	write(key, bytes, length) {
		const path = this.prefix + key;
		const tmp = path + ".tmp";
		File.delete(tmp);
		const f = new File(tmp, true);
		f.write(bytes.slice(0, length).buffer);
		f.close();
		File.delete(path);
		File.rename(tmp, (this.prefix + key).slice(config.file.root.length));
	}
}

async function run() {
	let pass = vectors("native crypto (crypt AES, SHA-256)", moddableCrypto);
	try {
		const { nobleCrypto } = await import("xscoap/modules/coap/oscore/noble");
		pass = vectors("portable crypto (noble, loaded at run time)", nobleCrypto) && pass;
	} catch (e) {
		trace("oscore-sim: the noble provider did not load: " + e + "\n");
		pass = false;
	}
	const secret = hex("00112233445566778899aabbccddeeff");
	const atServer = new SecurityContext({ masterSecret: secret, senderId: hex("01"), recipientId: hex("02"), label: "client" }, moddableCrypto);
	const atClient = new SecurityContext({ masterSecret: secret, senderId: hex("02"), recipientId: hex("01") }, moddableCrypto);
	const inner = new Router();
	inner.add("/led", { requireOscore: true, put: (req, res) => { res.code = 0x44; res.payload = "led " + req.text() + " for " + req.oscore.label; } });
	const port = Number(config.oscoreSimPort ?? 5697);
	// The two endpoints of the self-check: port + 1 and an ephemeral one (lwip binds every address).
	const a = openEndpoint({ port: port + 1, router: inner, oscore: { contexts: [atServer] } });
	const uri = "coap://127.0.0.1:" + (port + 1) + "/led";
	const b = openEndpoint({ port: 0, oscore: { credentials: { [uri]: atClient } } });
	try {
		const r = await b.request({ uri, method: "PUT", payload: "on", timeoutMs: 5000 });
		const p = await b.request({ uri, method: "PUT", payload: "on", oscore: null, timeoutMs: 5000 });
		const ok = r.code === 0x44 && r.text() === "led on for client" && p.code === 0x81;
		trace("oscore-sim: a protected PUT between two endpoints of the app: " + (ok ? "OK" : "FAILED (" + r.codeName + " " + r.text() + ", plain: " + p.codeName + ")") + "\n");
		pass = ok && pass;
	} catch (e) {
		trace("oscore-sim: a protected PUT between two endpoints of the app: FAILED (" + e + ")\n");
		pass = false;
	}
	a.close();
	b.close();
	trace("oscore-sim: " + (pass ? "all checks OK" : "a check FAILED") + "\n");

	// The server a client on the host talks to. Its context keeps the sequence number in the
	// Preference store: a restart finds it, and the replay window counts as lost (B.1.2).
	const store = new SimFileStore("xscoap-" + String(config.oscoreSimDomain ?? "oscoresim"));
	const device = new SecurityContext({ masterSecret: ascii(String(config.oscoreSimSecret ?? "xscoap sim key!!")), senderId: hex("01"), recipientId: hex("02"), label: "host", sequence: { store, key: "seq" } }, moddableCrypto);
	let led = "off";
	const router = new Router();
	router.add("/hello", { get: (req, res) => res.send(0x45, "hello from the simulator" + (req.oscore === null ? "" : ", inside OSCORE"), 0) });
	router.add("/led", {
		requireOscore: true,
		get: (req, res) => res.send(0x45, led, 0),
		put: (req, res) => {
			led = req.text();
			res.code = 0x44;
			res.payload = "led " + led + " for " + req.oscore.label;
		},
	});
	openEndpoint({ port, router, oscore: { contexts: [device] } });
	trace("oscore-sim: listening on UDP port " + port + ", context restored from the store: " + (device.sequence.restored ? "yes" : "no") + "\n");
}

run().catch((e) => trace("oscore-sim: FAILED: " + e + "\n"));
