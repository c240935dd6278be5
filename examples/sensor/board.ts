/**
 * The default board of the sensor example on Moddable: simulated temperature and humidity
 * (SimulatedSensors over the device clock) and the LED of led.ts. Builds with any platform,
 * the desktop simulator included. For a board with a Sensirion SHT3x on its default I2C bus,
 * build manifest_sht3x.json instead, which maps this module name to board_sht3x.ts.
 */
import type { Clock } from "../../modules/coap/host.js";
import type { SensorBoard } from "./app.js";
import { openLed } from "./led.js";
import { SimulatedSensors } from "./simulated.js";

/** The board the app runs on (reading time from `clock`), and a line saying what it is. */
export function createBoard(clock: Clock): { board: SensorBoard; description: string } {
	const board = new SimulatedSensors({ now: () => clock.now(), onLed: openLed() });
	return { board, description: "simulated temperature and humidity" };
}
