/**
 * Types for the Moddable SDK's ECMA-419 sensor class for the Sensirion SHT3x
 * (modules/drivers/sensors/sht3x, module "embedded:sensor/Humidity-Temperature/SHT3x"),
 * which @moddable/typings does not declare. SDK 8.x returns
 * `{ thermometer: { temperature }, hygrometer: { humidity } }`; older SDKs returned
 * `{ temperature, humidity }`: both shapes are declared.
 */
declare module "embedded:sensor/Humidity-Temperature/SHT3x" {
	export interface SHT3xSample {
		thermometer?: { temperature?: number };
		hygrometer?: { humidity?: number };
		temperature?: number;
		humidity?: number;
	}
	export default class SHT3x {
		constructor(options: { sensor: object });
		configure(options: object): void;
		sample(): SHT3xSample;
		close?(): void;
	}
}
