// cbor-x loads "cbor-extract" in a try/catch and decodes in JavaScript when it fails.
throw new Error("cbor-extract is stubbed out in xscoap's development install (see package.json overrides)");
