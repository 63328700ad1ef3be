/* SPDX-License-Identifier: GPL-2.0 */
/*
 * .eh_frame stack walker of the CPU sampler, included by profile.bpf.c (kept in
 * its own file so the sampler's main program stays small and merges stay easy).
 *
 * For a process whose unwind tables user space has loaded (`unwind_procs`), the
 * sample is built in a per-CPU scratch record instead of the ring buffer, the user
 * stack is walked frame by frame with the tables (src/unwind/ compiles them from
 * DWARF CFI), and the record is copied out with bpf_ringbuf_output at the end. A
 * ring-buffer reservation cannot live across a tail call, hence the copy.
 *
 * Each run of unwind_walk steps HOTSPAN_UNWIND_FRAMES_PER_CALL frames and tail-calls
 * itself to go on: bounded loops only (5.3+), no bpf_loop (5.17+), each program far
 * below the verifier's 1M-instruction budget.
 *
 * Limits (documented): x86_64 only. The signal trampoline (__restore_rt, an FDE of an
 * 'S' CIE) is walked by reading the interrupted RIP/RSP/RBP from the ucontext the kernel
 * pushed (x86_64 rt_sigframe ABI), not by its CFI expressions.
 */
#ifndef HOTSPAN_UNWIND_BPF_H
#define HOTSPAN_UNWIND_BPF_H

/* Lets a test load the walker object with the walk switched off (frame pointers only). */
const volatile __u32 unwind_enabled = 1;

/* Preallocated hashes: on 5.10 a perf_event program may use no other kind (the
 * kernel could not allocate in NMI context before bpf_mem_alloc, 6.1). So the
 * kernel memory of the walker is fixed when it loads: 12 MiB of pages + 2 MiB of procs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOTSPAN_UNWIND_MAX_PROCS);
	__type(key, __u32); /* tgid */
	__type(value, struct hotspan_unwind_proc);
} unwind_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HOTSPAN_UNWIND_MAX_TABLES);
	__type(key, __u32); /* table id */
	__type(value, struct hotspan_unwind_table);
} unwind_tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOTSPAN_UNWIND_MAX_PAGES);
	__type(key, __u32); /* table_id << 16 | page index */
	__type(value, struct hotspan_unwind_page);
} unwind_pages SEC(".maps");

/* The walk in progress on this CPU, and the sample it fills. */
struct unwind_walk_state {
	__u64 pc;
	__u64 sp;
	__u64 bp;
	__u32 depth;
	__u32 runs;
	/* pc is an interrupted instruction (after a signal frame), not a return address. */
	__u32 pc_exact;
	__u32 pad;
	struct hotspan_cpu_sample sample;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_walk_state);
} unwind_scratch SEC(".maps");

int unwind_walk(struct bpf_perf_event_data *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, int(void *));
} unwind_progs SEC(".maps") = {
	.values = { [0] = (void *)&unwind_walk },
};

/* x86_64: THREAD_SIZE (16 KiB without KASAN), no TOP_OF_KERNEL_STACK_PADDING. */
#define UNWIND_THREAD_SIZE (16384)

/* The user registers at the sample: the perf regs when the CPU was in user mode,
 * else the task's saved user regs at the top of its kernel stack. */
static __always_inline int unwind_user_regs(struct bpf_perf_event_data *ctx, __u64 *ip, __u64 *sp, __u64 *bp)
{
	struct pt_regs regs;
	/* The perf ctx allows only constant-offset 8-byte loads straight from the ctx
	 * pointer: read the four fields first, each as its own load. In the UAPI pt_regs
	 * cs is an unsigned long at 17 * 8 (newer kernels' BTF narrows it to a u16). */
	__u64 r_cs, r_ip, r_sp, r_bp;
	asm volatile("%0 = *(u64 *)(%1 + 136)" : "=r"(r_cs) : "r"(ctx));
	asm volatile("%0 = *(u64 *)(%1 + 128)" : "=r"(r_ip) : "r"(ctx));
	asm volatile("%0 = *(u64 *)(%1 + 152)" : "=r"(r_sp) : "r"(ctx));
	asm volatile("%0 = *(u64 *)(%1 + 32)" : "=r"(r_bp) : "r"(ctx));
	if ((r_cs & 3) == 3) {
		*ip = r_ip;
		*sp = r_sp;
		*bp = r_bp;
		return 0;
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	void *stack = BPF_CORE_READ(task, stack);
	if (!stack)
		return -1;
	if (bpf_probe_read_kernel(&regs, sizeof(regs), stack + UNWIND_THREAD_SIZE - sizeof(regs)))
		return -1;
	if ((regs.cs & 3) != 3) {
		/* With FRED (CONFIG_X86_FRED, 6.9+) TOP_OF_KERNEL_STACK_PADDING is 16: the user
		 * regs sit 16 bytes lower (seen on Debian's 7.3 backports kernel). */
		if (bpf_probe_read_kernel(&regs, sizeof(regs), stack + UNWIND_THREAD_SIZE - 16 - sizeof(regs)))
			return -1;
		if ((regs.cs & 3) != 3) /* kernel thread, or a THREAD_SIZE other than assumed */
			return -1;
	}
	*ip = regs.ip;
	*sp = regs.sp;
	*bp = regs.bp;
	return 0;
}

/* Starts a table walk for this sample. Returns 1 when it took the sample over
 * (emitted or counted), 0 to let the frame-pointer path handle it. */
static __always_inline int unwind_begin(void *ctx, __u32 tgid, __u32 tid)
{
	if (!bpf_map_lookup_elem(&unwind_procs, &tgid)) {
		count(HOTSPAN_SAMPLER_UNWIND_NO_TABLES);
		return 0;
	}
	__u32 zero = 0;
	struct unwind_walk_state *st = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!st)
		return 0;
	if (unwind_user_regs(ctx, &st->pc, &st->sp, &st->bp)) {
		count(HOTSPAN_SAMPLER_UNWIND_NO_REGS);
		return 0;
	}
	struct hotspan_cpu_sample *s = &st->sample;
	s->kind = HOTSPAN_EVENT_CPU_SAMPLE;
	s->cpu = bpf_get_smp_processor_id();
	s->time_ns = bpf_ktime_get_ns();
	s->pid = tgid;
	s->tid = tid;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	BPF_CORE_READ_STR_INTO(&s->process_comm, task, group_leader, comm);
	s->kstack_bytes = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);
	s->ustack_bytes = 0;
	st->depth = 0;
	st->runs = 0;
	st->pc_exact = 1;
	bpf_tail_call(ctx, &unwind_progs, 0);
	return 0; /* tail call failed: fall back to frame pointers */
}

static __always_inline void unwind_emit(struct unwind_walk_state *st)
{
	st->sample.ustack_bytes = st->depth * 8;
	if (bpf_ringbuf_output(&samples, &st->sample, sizeof(st->sample), 0))
		count(HOTSPAN_SAMPLER_LOST);
	else {
		count(HOTSPAN_SAMPLER_EMITTED);
		count(HOTSPAN_SAMPLER_UNWIND_DWARF);
	}
}

/*
 * The searches below are branchless on purpose: `ge` is 1 when key <= x, computed by
 * arithmetic the compiler cannot turn into a branch (the empty asm hides its range).
 * With a branch per probe the verifier would explore 2^depth paths per frame; this
 * way each probe is straight-line code and the program stays far below 1M insns.
 */
static __always_inline __u64 unwind_le(__u64 key, __u64 x)
{
	/* keys and x are user addresses or ELF pcs, all < 2^63: the sign of x - key says it */
	__u64 ge = 1 - ((x - key) >> 63);
	asm volatile("" : "+r"(ge));
	return ge;
}

/* The executable mapping holding pc: last mapping with start <= pc, then pc < end. */
static __always_inline struct hotspan_unwind_mapping *unwind_find_mapping(struct hotspan_unwind_proc *proc, __u64 pc)
{
	__u32 len = proc->count;
	if (len == 0 || len > HOTSPAN_UNWIND_MAX_MAPPINGS)
		return NULL;
	__u32 base = 0;
	for (int i = 0; i < 7; i++) { /* 2^6 = HOTSPAN_UNWIND_MAX_MAPPINGS */
		__u32 half = len >> 1;
		__u32 mid = (base + half) & (HOTSPAN_UNWIND_MAX_MAPPINGS - 1);
		asm volatile("%0 &= 63" : "+r"(mid));
		__u64 ge = unwind_le(proc->mappings[mid].start, pc);
		base = base + ge * (mid - base);
		len -= half;
	}
	asm volatile("%0 &= 63" : "+r"(base));
	struct hotspan_unwind_mapping *m = &proc->mappings[base];
	if (pc < m->start || pc >= m->end)
		return NULL;
	return m;
}

/* The row covering pc (ELF address) in a table, or NULL. Two levels: pages by their
 * first pc (one map lookup per probe), then rows inside the page. */
static __always_inline struct hotspan_unwind_row *unwind_find_row(__u32 table_id, __u32 pc)
{
	struct hotspan_unwind_table *t = bpf_map_lookup_elem(&unwind_tables, &table_id);
	if (!t)
		return NULL;
	__u32 rows = t->row_count, len = t->page_count;
	if (rows == 0 || len == 0 || len > 0x10000)
		return NULL;
	__u32 base = 0; /* last page whose first pc <= pc */
	for (int i = 0; i < 17; i++) { /* 2^16 pages at most */
		/* No early exit (half == 0 just re-probes base): a break per iteration would give
		 * the verifier 17 different states to carry through the rest of the frame. */
		__u32 half = len >> 1;
		__u32 mid = (base + half) & 0xffff;
		__u32 key = (table_id << 16) | mid;
		struct hotspan_unwind_page *p = bpf_map_lookup_elem(&unwind_pages, &key);
		if (!p)
			return NULL;
		__u64 ge = unwind_le(p->rows[0].pc, pc);
		base = (base + ge * (mid - base)) & 0xffff;
		len -= half;
	}
	__u32 key = (table_id << 16) | (base & 0xffff);
	struct hotspan_unwind_page *page = bpf_map_lookup_elem(&unwind_pages, &key);
	if (!page)
		return NULL;
	if (page->rows[0].pc > pc)
		return NULL; /* before the table's first row */
	__u32 n = rows - (base & 0xffff) * HOTSPAN_UNWIND_ROWS_PER_PAGE;
	if (n > HOTSPAN_UNWIND_ROWS_PER_PAGE)
		n = HOTSPAN_UNWIND_ROWS_PER_PAGE;
	__u32 rbase = 0;
	for (int i = 0; i < 9; i++) { /* 2^8 rows per page */
		__u32 half = n >> 1;
		__u32 mid = (rbase + half) & (HOTSPAN_UNWIND_ROWS_PER_PAGE - 1);
		asm volatile("%0 &= 255" : "+r"(mid)); /* keep the bound visible to the verifier */
		__u64 ge = unwind_le(page->rows[mid].pc, pc);
		rbase = (rbase + ge * (mid - rbase)) & (HOTSPAN_UNWIND_ROWS_PER_PAGE - 1);
		n -= half;
	}
	asm volatile("%0 &= 255" : "+r"(rbase));
	return &page->rows[rbase];
}

enum { UNWIND_GO_ON = 0, UNWIND_DONE = 1, UNWIND_STOP = 2 };

/* One frame: record pc, then compute the caller's pc/sp/bp. */
static __always_inline int unwind_step(struct unwind_walk_state *st, struct hotspan_unwind_proc *proc)
{
	__u32 d = st->depth;
	if (d >= HOTSPAN_MAX_STACK_DEPTH)
		return UNWIND_STOP;
	st->sample.ustack[d] = st->pc;
	st->depth = d + 1;

	/* Return addresses point after the call: look up the call itself. */
	__u64 lookup_pc = st->pc_exact ? st->pc : st->pc - 1;
	st->pc_exact = 0;
	struct hotspan_unwind_mapping *m = unwind_find_mapping(proc, lookup_pc);
	struct hotspan_unwind_row *row = NULL;
	if (m && m->table_id) {
		__u64 elf_pc = lookup_pc - m->bias;
		if (elf_pc <= 0xffffffffULL)
			row = unwind_find_row(m->table_id, (__u32)elf_pc);
	}
	__u64 cfa, ra = 0, bp = st->bp;
	if (!row || row->cfa_type == HOTSPAN_CFA_NONE || row->cfa_type == HOTSPAN_CFA_UNSUPPORTED) {
		/* No table (JIT code, a file without CFI) or a rule we cannot run: try the frame pointer. */
		count(HOTSPAN_SAMPLER_UNWIND_FP_FRAMES);
		if (!st->bp)
			return UNWIND_STOP;
		if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(st->bp + 8)) ||
		    bpf_probe_read_user(&bp, sizeof(bp), (void *)st->bp))
			return UNWIND_STOP;
		cfa = st->bp + 16;
	} else {
		switch (row->cfa_type) {
		case HOTSPAN_CFA_END:
			return UNWIND_DONE;
		case HOTSPAN_CFA_RSP:
			cfa = st->sp + row->cfa_offset;
			break;
		case HOTSPAN_CFA_RBP:
			if (!st->bp)
				return UNWIND_STOP;
			cfa = st->bp + row->cfa_offset;
			break;
		case HOTSPAN_CFA_SIGFRAME: {
			/* struct ucontext at SP: uc_flags, uc_link, uc_stack (24 bytes), then
			 * uc_mcontext (struct sigcontext_64): r8..r15, rdi, rsi, rbp (+80),
			 * rbx, rdx, rax, rcx, rsp (+120), rip (+128). Same offsets as glibc's CFI. */
			__u64 regs[7]; /* rbp .. rip */
			if (bpf_probe_read_user(regs, sizeof(regs), (void *)(st->sp + 40 + 80)))
				return UNWIND_STOP;
			count(HOTSPAN_SAMPLER_UNWIND_SIGNAL_FRAMES);
			if (regs[6] == 0)
				return UNWIND_DONE;
			st->pc = regs[6];
			st->sp = regs[5];
			st->bp = regs[0];
			st->pc_exact = 1;
			return UNWIND_GO_ON;
		}
		default: /* PLT */
			cfa = st->sp + 8 + (((st->pc & 15) >= (__u64)row->cfa_offset) ? 8 : 0);
			break;
		}
		if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8)))
			return UNWIND_STOP;
		if (row->rbp_type == HOTSPAN_RBP_CFA_OFFSET) {
			if (bpf_probe_read_user(&bp, sizeof(bp), (void *)(cfa + row->rbp_offset)))
				return UNWIND_STOP;
		} else if (row->rbp_type == HOTSPAN_RBP_UNKNOWN) {
			bp = 0;
		}
	}
	if (ra == 0)
		return UNWIND_DONE;
	if (cfa <= st->sp && d > 0) /* the stack grows down: a caller's frame is above */
		return UNWIND_STOP;
	st->pc = ra;
	st->sp = cfa;
	st->bp = bp;
	return UNWIND_GO_ON;
}

/* One frame of this CPU's walk. A global (not inlined) function: the verifier checks
 * it once, not once per frame of the caller's loop. */
__noinline int unwind_one_frame(__u32 tgid)
{
	__u32 zero = 0;
	struct unwind_walk_state *st = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!st)
		return UNWIND_STOP;
	struct hotspan_unwind_proc *proc = bpf_map_lookup_elem(&unwind_procs, &tgid);
	if (!proc)
		return UNWIND_STOP;
	return unwind_step(st, proc);
}

SEC("perf_event")
int unwind_walk(struct bpf_perf_event_data *ctx)
{
	__u32 zero = 0;
	struct unwind_walk_state *st = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!st)
		return 0;
	__u32 tgid = st->sample.pid;
	int r = UNWIND_STOP;
	for (int i = 0; i < HOTSPAN_UNWIND_FRAMES_PER_CALL; i++) {
		r = unwind_one_frame(tgid);
		if (r != UNWIND_GO_ON)
			break;
	}
	if (r == UNWIND_GO_ON) {
		st->runs++;
		bpf_tail_call(ctx, &unwind_progs, 0);
		r = UNWIND_STOP; /* tail-call limit (33 runs) or failure */
	}
	count(r == UNWIND_DONE ? HOTSPAN_SAMPLER_UNWIND_COMPLETE : HOTSPAN_SAMPLER_UNWIND_TRUNCATED);
	unwind_emit(st);
	return 0;
}

#endif /* HOTSPAN_UNWIND_BPF_H */
