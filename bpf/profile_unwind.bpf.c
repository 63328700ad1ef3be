// SPDX-License-Identifier: GPL-2.0
/*
 * The CPU sampler with the .eh_frame stack walker (unwind.bpf.h) compiled in. A
 * separate object so that the default sampler (profile.bpf.o) neither carries nor
 * verifies the walker: it costs ~110k verifier instructions and is off by default.
 */
#define HOTSPAN_UNWIND 1
#include "profile.bpf.c"
