#!/usr/bin/env -S node --expose-gc --no-wasm-dynamic-tiering --no-wasm-tier-up --no-wasm-lazy-compilation
// hotspan's command line. Each command lives in ./commands/<name>.ts and only
// wires components from src/; this file only registers them.
import { Command, CommanderError } from 'commander';
import { register as registerAgent } from './commands/agent.js';
import { register as registerDoctor } from './commands/doctor.js';
import { register as registerRecord } from './commands/record.js';
import { register as registerSpans } from './commands/spans.js';
import { register as registerProfile } from './commands/profile.js';
import { register as registerDiff } from './commands/diff.js';
import { register as registerFlamegraph } from './commands/flamegraph.js';
import { register as registerUi } from './commands/ui.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { reportFatal } from './lifecycle.js';

const program = new Command('hotspan')
  .description('eBPF node agent and continuous profiler')
  .showHelpAfterError()
  .addHelpText('after', `\n${EXIT_CODES_HELP}\n`)
  .exitOverride();

const commands = [registerAgent, registerRecord, registerDoctor, registerSpans, registerProfile, registerDiff, registerFlamegraph, registerUi];
for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage);
  }
  process.exit(reportFatal(err));
}
