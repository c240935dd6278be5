/**
 * Storage port of the Moddable host: modules/coap/store.ts `PreferenceStore` over the SDK's
 * `preference` module (ESP32: NVS flash, one namespace per domain; simulators: files).
 * Include `$(MODDABLE)/modules/files/preference/manifest.json` (the root manifest does).
 * Every write is a flash write: see the wear note in modules/coap/store.ts.
 */
import Preference from "preference";
import { PreferenceStore } from "../../modules/coap/store.js";

/** A Store whose keys live in Preference domain `domain` (1..15 characters, an NVS namespace). */
export function preferenceStore(domain = "xscoap"): PreferenceStore {
	return new PreferenceStore(Preference, domain);
}
