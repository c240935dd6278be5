// node-coap (npm `coap`) server answering GET /hello like xscoap's demo server does:
// 2.05 Content, Content-Format text/plain (0), payload "Hello, world!".
// Usage: node bench/servers/nodecoap.mjs PORT [BIND=127.0.0.1]
import coap from 'coap';

const port = Number(process.argv[2] ?? 5683);
const bind = process.argv[3] ?? '127.0.0.1';
const server = coap.createServer({ type: bind.includes(':') ? 'udp6' : 'udp4' }, (req, res) => {
  if (req.url === '/hello' && req.method === 'GET') {
    res.setOption('Content-Format', 'text/plain');
    res.end('Hello, world!');
  } else {
    res.code = '4.04';
    res.end();
  }
});
server.listen(port, bind, () => console.log(`node-coap listening on ${bind}:${port}`));
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
