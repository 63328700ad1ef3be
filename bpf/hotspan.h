/* SPDX-License-Identifier: (GPL-2.0 OR Apache-2.0) */
/*
 * The kernel <-> user ABI of hotspan: every record a BPF program writes into a
 * ring buffer is declared here, once. BPF programs include this header; user
 * space decodes it in src/events/decode.ts, and a test compares that module's
 * offsets with the ones this header compiles to (bpf/abi-offsets.c).
 *
 * Fields are fixed-width, naturally aligned and explicitly padded so that the
 * layout is identical for the BPF target and x86_64/arm64 user space.
 */
#ifndef HOTSPAN_H
#define HOTSPAN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Depth bpf_get_stack() fills; 127 is the kernel's default perf_event_max_stack. */
#define HOTSPAN_MAX_STACK_DEPTH 127
#define HOTSPAN_COMM_LEN 16

/* First field of every ring-buffer record: what follows. Enums land in BTF. */
enum hotspan_event_kind {
	HOTSPAN_EVENT_CPU_SAMPLE = 1,
};

/* Indexes into the per-CPU `sampler_counters` array map. */
enum hotspan_sampler_counter {
	HOTSPAN_SAMPLER_EMITTED = 0,   /* samples written to the ring buffer */
	HOTSPAN_SAMPLER_LOST = 1,      /* ring buffer full: sample dropped */
	HOTSPAN_SAMPLER_IDLE = 2,      /* the CPU was idle (pid 0): not recorded */
	HOTSPAN_SAMPLER_FILTERED = 3,  /* not the target process */
	HOTSPAN_SAMPLER_COUNTER_MAX = 4,
};

/* One CPU sample, taken by a perf_event (cpu-clock) program. */
struct hotspan_cpu_sample {
	__u32 kind;          /* HOTSPAN_EVENT_CPU_SAMPLE */
	__u32 cpu;           /* logical CPU the sample was taken on */
	__u64 time_ns;       /* CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) */
	__u32 pid;           /* thread group id, in the initial PID namespace */
	__u32 tid;           /* thread id, in the initial PID namespace */
	__s32 kstack_bytes;  /* bytes of kstack filled, or a negative errno */
	__s32 ustack_bytes;  /* bytes of ustack filled, or a negative errno */
	char comm[HOTSPAN_COMM_LEN];         /* thread name (task->comm) */
	char process_comm[HOTSPAN_COMM_LEN]; /* group leader's name */
	__u64 kstack[HOTSPAN_MAX_STACK_DEPTH]; /* kernel return addresses, leaf first */
	__u64 ustack[HOTSPAN_MAX_STACK_DEPTH]; /* user return addresses, leaf first */
};

#endif /* HOTSPAN_H */
