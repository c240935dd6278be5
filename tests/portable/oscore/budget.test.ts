// The OSCORE memory budget (modules/coap/oscore/budget.ts) against the objects it describes,
// and the device profile (2 contexts) inside DESIGN.md's 24 KiB with the rest of the endpoint.
import * as assert from "../../support/assert.js";
import { AES_CCM_STATE_BYTES, contextBytes, oscoreBudget } from "../../../modules/coap/oscore/budget.js";
import { AesCcm } from "../../../modules/coap/oscore/ccm.js";
import { DEVICE_BUDGET_BYTES, ESP32_DEVICE_CONFIG, deviceBudget, deviceSettings } from "../../../modules/coap/device.js";
import { DEFAULT_LIMITS } from "../../../modules/coap/tuning.js";
import { Pair } from "./fixtures.js";

describe("oscore/budget", () => {
	it("AES_CCM_STATE_BYTES is what an AesCcm reports", () => {
		assert.equal(new AesCcm(new Uint8Array(16)).stateBytes, AES_CCM_STATE_BYTES);
	});

	it("contextBytes matches a derived SecurityContext (1-byte IDs, 8-byte ID Context, 16-byte secret, 8-byte salt)", () => {
		const p = new Pair({ idContext: new Uint8Array(8) });
		assert.equal(p.client.stateBytes, contextBytes({ contexts: 1, maxMessageSize: 0, bindings: 0 }));
		const wide = new Pair({ idContext: new Uint8Array(4), maxIdContextLength: 20, replayWindow: 64 });
		assert.equal(wide.client.stateBytes, contextBytes({ contexts: 1, maxMessageSize: 0, bindings: 0, maxIdContextLength: 20, replayWindow: 64 }));
	});

	it("the ESP32 profile with 2 contexts, one extra message buffer and view, and a binding per tracked request stays under 24 KiB", () => {
		const settings = deviceSettings(ESP32_DEVICE_CONFIG);
		const l = DEFAULT_LIMITS;
		const o = oscoreBudget({ contexts: 2, maxMessageSize: l.maxMessageSize, bindings: 1 + l.clientExchanges + l.serverExchanges + l.observers, maxOptions: l.maxOptions });
		const withoutOscore = deviceBudget({ ...settings, limits: { ...settings.limits, oscoreContexts: 0 } }).total;
		const total = deviceBudget(settings).total;
		assert.equal(total, withoutOscore + o.total);
		assert.ok(o.perContext < 800, "one context: " + o.perContext + " bytes");
		assert.ok(total < DEVICE_BUDGET_BYTES, "endpoint " + withoutOscore + " + OSCORE " + o.total + " = " + total + " bytes");
	});
});
