#!/usr/bin/env node
import { run } from './run';

// The exit code is set, not forced with process.exit(), so piped output is flushed first.
void run(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  tty: process.stdout.isTTY === true,
  stderr: (text) => process.stderr.write(text),
}).then((code) => {
  process.exitCode = code;
});
