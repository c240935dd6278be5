/**
 * The LED of the sensor example on Moddable: an ECMA-419 Digital output on
 * `config.sensor.ledPin`, or on the board's `device.pin.led` (host provider), or, where there
 * is neither (the desktop simulator, bare modules), a trace line per change.
 * `config.sensor.ledActiveLow` inverts the level for LEDs wired to the supply.
 */
import config from "mc/config";

/** Returns the function that drives the LED; opens the pin once. */
export function openLed(): (on: boolean) => void {
	const settings = (config.sensor ?? {}) as { ledPin?: number | string; ledActiveLow?: boolean | string };
	const host = (globalThis as { device?: typeof device }).device;
	const pin = settings.ledPin !== undefined ? Number(settings.ledPin) : host?.pin?.led;
	const Digital = host?.io?.Digital;
	if (Digital === undefined || pin === undefined || pin !== pin) {
		return (on: boolean) => trace("xscoap sensor: LED " + (on ? "on" : "off") + "\n");
	}
	const activeLow = settings.ledActiveLow === true || settings.ledActiveLow === "true";
	const output = new Digital({ pin, mode: Digital.Output });
	return (on: boolean) => output.write(on !== activeLow ? 1 : 0);
}
