#!/usr/bin/env node
import { runCli } from './cli/dispatch.js';
import { readEnvironment } from './cli/environment.js';
import { COMMANDS } from './commands/index.js';

const code = await runCli({
  argv: process.argv.slice(2),
  commands: COMMANDS,
  env: readEnvironment(),
  stdout: process.stdout,
  stderr: process.stderr,
});
process.exitCode = code;
