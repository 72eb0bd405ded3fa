import { setFlagsFromString } from 'node:v8';

// A gateway runs the agent for years next to its real work: memory matters more than peak speed
// of JavaScript, which the agent hardly has (TLS, hashing and writes are native). Without the
// optimising compiler the peak RSS of a 1 GiB install drops by about 8 MiB at the same throughput
// (bench:agent). Set before any code gets hot.
setFlagsFromString('--no-opt');

const { main } = await import('./main.js');
// Exit explicitly: a finished `--once` or command must not wait for idle keep-alive sockets.
process.exit(await main(process.argv.slice(2)));
