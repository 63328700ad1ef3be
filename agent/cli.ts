#!/usr/bin/env node
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
import { setFlagsFromString } from 'node:v8';

// WebAssembly (the demangler, src/symbols/demangle.ts) is compiled whole when instantiated, by
// Liftoff, and never recompiled: by default V8 compiles each function at its first call and
// TurboFan replaces hot ones later, patching the module's jump table while other threads run it.
// Under QEMU's TCG (the kernel matrix) the agent died with SIGSEGV; both cores we read (5.10,
// 6.17) show a thread executing demangler code at a torn address (a page start, the middle of an
// instruction) while compile threads were busy. Never seen on hardware. Eager Liftoff costs ~30 ms per isolate at the first demangle and demangles no slower
// (5.4 vs 8.4 µs a name). Set before any demangler module is compiled (it compiles on first use).
setFlagsFromString('--no-wasm-tier-up');
setFlagsFromString('--no-wasm-lazy-compilation');

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
