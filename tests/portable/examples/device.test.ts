// Device configuration and memory budget (modules/coap/device.ts) and the Preference-backed
// Store (modules/coap/store.ts). Portable: the budget is asserted on Node and on XS.
import * as assert from "../../support/assert.js";
import { DEVICE_BUDGET_BYTES, ESP32_DEVICE_CONFIG, deviceBudget, deviceSettings, limitCosts } from "../../../modules/coap/device.js";
import { oscoreBudget } from "../../../modules/coap/oscore/budget.js";
import { BINDING_BYTES } from "../../../modules/coap/oscore/binding.js";
import { MAX_STORE_NAME_LENGTH, PreferenceStore, type PreferenceBackend } from "../../../modules/coap/store.js";
import { DEFAULT_LIMITS, memoryBudget } from "../../../modules/coap/tuning.js";
import { FakePreference } from "./rig.js";

describe("device memory budget", () => {
	it("memoryBudget(DEFAULT_LIMITS) stays under 24 KiB", () => {
		assert.ok(memoryBudget(DEFAULT_LIMITS).total < DEVICE_BUDGET_BYTES, "memoryBudget = " + memoryBudget(DEFAULT_LIMITS).total);
	});

	it("the ESP32 profile (4 client exchanges, 8 dedup entries, 2 block transfers of 4 KiB, 4 observers, 2 OSCORE contexts) stays under 24 KiB", () => {
		const settings = deviceSettings(ESP32_DEVICE_CONFIG);
		assert.deepEqual(settings.limits, { ...DEFAULT_LIMITS });
		assert.equal(settings.limits.clientExchanges, 4);
		assert.equal(settings.limits.dedupEntries, 8);
		assert.equal(settings.limits.blockTransfers, 2);
		assert.ok(settings.limits.maxBodySize >= 4096);
		assert.equal(settings.limits.observers, 4);
		assert.equal(settings.limits.oscoreContexts, 2, "2 OSCORE contexts");
		const b = deviceBudget(settings);
		assert.equal(b.total, memoryBudget(settings.limits).total);
		let sum = 0;
		for (const p of b.parts) sum += p.bytes;
		assert.equal(b.total, sum);
		assert.ok(b.total < DEVICE_BUDGET_BYTES, "device budget " + b.total + " bytes");
		// The OSCORE parts are oscoreBudget's, with a binding per tracked request.
		const l = settings.limits;
		const o = oscoreBudget({ contexts: 2, maxMessageSize: l.maxMessageSize, bindings: 1 + l.clientExchanges + l.serverExchanges + l.observers, maxOptions: l.maxOptions });
		const plain = memoryBudget({ ...l, oscoreContexts: 0 }).total;
		assert.equal(b.total - plain, o.total, "OSCORE costs what oscoreBudget says");
		assert.ok(sum >= 2 * 4096, "the block buffers are allocated");
	});

	it("limitCosts: what one more unit and the current value of each setting cost", () => {
		const settings = deviceSettings(ESP32_DEVICE_CONFIG);
		const costs = limitCosts(settings);
		const by: Record<string, { perUnit: number; bytes: number; value: number }> = {};
		for (const c of costs) by[c.name] = c;
		// Every message-sized buffer (tx + client + server slots) grows by one byte per byte.
		// (and OSCORE's plain-message buffer)
		assert.equal(by.maxMessageSize!.perUnit, 1 + settings.limits.clientExchanges + settings.limits.serverExchanges + 1);
		assert.equal(by.clientExchanges!.perUnit, settings.limits.maxMessageSize + 8 + 48 + BINDING_BYTES, "a retransmit buffer, a token, the slot and its OSCORE binding");
		assert.equal(by.clientExchanges!.bytes, 4 * by.clientExchanges!.perUnit);
		assert.equal(by.dedupCacheBytes!.perUnit, 1);
		assert.equal(by.oscoreContexts!.value, 2);
		assert.ok(by.oscoreContexts!.perUnit > 600 && by.oscoreContexts!.perUnit < 800, "one OSCORE context: " + by.oscoreContexts!.perUnit);
		assert.ok(by.oscoreContexts!.bytes > 2 * by.oscoreContexts!.perUnit + settings.limits.maxMessageSize, "OSCORE at 0 contexts also drops its buffer and bindings");
		assert.ok(by.observers !== undefined && by.observers.value === 4, "observers have a row");
		for (const c of costs) assert.ok(c.perUnit >= 0 && c.bytes >= 0, c.name);
		for (const k in DEFAULT_LIMITS) assert.ok(by[k] !== undefined, "every limit has a row: " + k);
	});

	it("deviceSettings: mcconfig passes text (name=value); absent fields take the ESP32 profile", () => {
		const s = deviceSettings({ port: "5684", maxMessageSize: "512", clientExchanges: 1 });
		assert.equal(s.port, 5684);
		assert.equal(s.limits.maxMessageSize, 512);
		assert.equal(s.limits.clientExchanges, 1);
		assert.equal(s.limits.dedupEntries, DEFAULT_LIMITS.dedupEntries);
		assert.equal(deviceSettings(undefined).port, 5683);
	});

	it("deviceSettings: bad values throw RangeError naming the field", () => {
		assert.throws(() => deviceSettings({ maxMessageSize: "big" }), /maxMessageSize/);
		assert.throws(() => deviceSettings({ maxMessageSize: 10 }), /maxMessageSize/);
		assert.throws(() => deviceSettings({ port: 70000 }), /port/);
		assert.throws(() => deviceSettings({ observers: -1 }), RangeError);
		assert.throws(() => deviceSettings({ clientExchanges: 1.5 }), /clientExchanges/);
		assert.throws(() => deviceSettings({ maxMesageSize: 512 }), /maxMesageSize is not a known setting/);
	});
});

describe("PreferenceStore", () => {
	it("writes a copy of bytes[0, length) and reads it back into the caller's buffer", () => {
		const pref = new FakePreference();
		const store = new PreferenceStore(pref, "oscore");
		const src = Uint8Array.of(1, 2, 3, 4, 5);
		store.write("seq", src, 3);
		src[0] = 99; // the store must not keep a view of the caller's bytes
		const into = new Uint8Array(8).fill(0xee);
		assert.equal(store.read("seq", into), 3);
		assert.deepEqual(Array.from(into), [1, 2, 3, 0xee, 0xee, 0xee, 0xee, 0xee]);
		assert.ok(pref.values["oscore/seq"] instanceof ArrayBuffer);
		assert.equal(pref.writes, 1);
	});

	it("an absent key, or a value of another type, reads as 0 bytes", () => {
		const pref = new FakePreference();
		pref.values["xscoap/n"] = 42;
		const store = new PreferenceStore(pref);
		assert.equal(store.read("missing", new Uint8Array(4)), 0);
		assert.equal(store.read("n", new Uint8Array(4)), 0);
		store.write("empty", new Uint8Array(0), 0);
		assert.equal(store.read("empty", new Uint8Array(4)), 0);
	});

	it("local misuse throws: buffer too small, bad length, names the NVS cannot hold", () => {
		const store = new PreferenceStore(new FakePreference());
		store.write("k", new Uint8Array(6), 6);
		assert.throws(() => store.read("k", new Uint8Array(5)), RangeError);
		assert.throws(() => store.write("k", new Uint8Array(2), 3), RangeError);
		assert.throws(() => store.write("k", new Uint8Array(2), -1), RangeError);
		assert.throws(() => store.write("k".repeat(MAX_STORE_NAME_LENGTH + 1), new Uint8Array(1), 1), RangeError);
		assert.throws(() => store.read("", new Uint8Array(1)), RangeError);
		assert.throws(() => store.read("a b", new Uint8Array(1)), RangeError);
		assert.throws(() => new PreferenceStore(new FakePreference(), "a-domain-far-too-long"), RangeError);
		assert.throws(() => new PreferenceStore(undefined as unknown as PreferenceBackend), TypeError);
		assert.throws(() => store.write("big", new Uint8Array(2000), 2000), RangeError);
	});
});
