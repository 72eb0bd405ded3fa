// Fallback when GNU time is missing: runs a node CLI in this process and, at exit, writes
// process.resourceUsage().maxRSS (KiB) to a file. Usage: node rss-launcher.mjs RSS_FILE CLI ARGS...
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [rssFile, cli, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], cli, ...args];
process.on('exit', () => writeFileSync(rssFile, `${process.resourceUsage().maxRSS}\n`));
await import(pathToFileURL(resolve(cli)).href);
