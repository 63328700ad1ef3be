// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-host CPU sampler. Attached to a cpu-clock perf event on every online
 * CPU; each firing writes one hotspan_cpu_sample (both stacks, pid/tid, comm,
 * monotonic time) into the `samples` ring buffer. One record per sample, not an
 * aggregated stack map, because the span join needs each sample's tid and time.
 * Needs: BPF ring buffer (5.8+), bpf_get_stack (4.18+), BTF for CO-RE.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "hotspan.h"

char LICENSE[] SEC("license") = "GPL";

/* 0 = every process; otherwise only this thread group (hotspan record --pid). */
const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* ~2000 samples: 10 s of a 2-CPU host at 99 Hz */
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HOTSPAN_SAMPLER_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sampler_counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&sampler_counters, &idx);
	if (v)
		*v += 1;
}

#ifdef HOTSPAN_UNWIND
#include "unwind.bpf.h" /* built as profile_unwind.bpf.o only */
#endif

SEC("perf_event")
int handle_cpu_sample(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;

	if (tid == 0) {
		count(HOTSPAN_SAMPLER_IDLE);
		return 0;
	}
	if (target_tgid && tgid != target_tgid) {
		count(HOTSPAN_SAMPLER_FILTERED);
		return 0;
	}

#ifdef HOTSPAN_UNWIND
	/* .eh_frame walk for processes whose tables are loaded (see unwind.bpf.h). */
	if (unwind_enabled && unwind_begin(ctx, tgid, tid))
		return 0;
#endif

	struct hotspan_cpu_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
	if (!s) {
		count(HOTSPAN_SAMPLER_LOST);
		return 0;
	}
	s->kind = HOTSPAN_EVENT_CPU_SAMPLE;
	s->cpu = bpf_get_smp_processor_id();
	s->time_ns = bpf_ktime_get_ns();
	s->pid = tgid;
	s->tid = tid;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	BPF_CORE_READ_STR_INTO(&s->process_comm, task, group_leader, comm);
	s->kstack_bytes = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);
	s->ustack_bytes = bpf_get_stack(ctx, s->ustack, sizeof(s->ustack), BPF_F_USER_STACK);
	bpf_ringbuf_submit(s, 0);
	count(HOTSPAN_SAMPLER_EMITTED);
	return 0;
}
