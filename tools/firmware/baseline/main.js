/*
 * The reference for the sensor firmware's memory figures (npm run firmware): the same SDK
 * manifests, creation settings, one ECMA-419 UDP socket and one repeating timer, and no
 * xscoap. What XS reports for this app is the SDK's share; the rest is xscoap's.
 */
import config from "mc/config";
import Timer from "timer";
import UDP from "embedded:io/socket/udp";

function onReadable(count) {
	while (count--) this.read();
}

/** The timer's callback; npm run firmware stops the machine here to read the heaps. */
function sample() {}

const port = Number(config.coapPort ?? 5683);
const socket = new UDP({ port, onReadable });
Timer.repeat(sample, 1000);
trace("xscoap sensor baseline (no xscoap): coap on UDP port " + port + ", " + typeof socket + "\n");
