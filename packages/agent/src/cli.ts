import { main } from './main.js';

// Exit explicitly: a finished `--once` or command must not wait for idle keep-alive sockets.
process.exit(await main(process.argv.slice(2)));
