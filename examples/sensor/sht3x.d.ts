/**
 * Types for the Moddable SDK's ECMA-419 sensor class for the Sensirion SHT3x
 * (modules/drivers/sensors/sht3x, module "embedded:sensor/Humidity-Temperature/SHT3x"),
 * which the SDK's typings do not declare. SDK 8.x returns
 * `{ thermometer: { temperature }, hygrometer: { humidity } }`; older SDKs returned
 * `{ temperature, humidity }`: both shapes are declared.
 *
 * A module declaration file: manifest_sht3x.json maps the module's name to it (mcconfig turns
 * a `.d.ts` entry of `modules` into a tsconfig `paths` entry), and hosts/moddable/tsconfig.json
 * does the same for the typecheck in npm test.
 */
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
