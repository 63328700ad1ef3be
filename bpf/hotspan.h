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
	/* .eh_frame unwinding (only counted when unwinding is on): */
	HOTSPAN_SAMPLER_UNWIND_DWARF = 4,      /* user stacks walked with unwind tables */
	HOTSPAN_SAMPLER_UNWIND_NO_TABLES = 5,  /* process not loaded yet: walked by frame pointers (bpf_get_stack) */
	HOTSPAN_SAMPLER_UNWIND_FP_FRAMES = 6,  /* frames stepped by frame pointer inside a table walk (no table for the PC) */
	HOTSPAN_SAMPLER_UNWIND_COMPLETE = 7,   /* walks that reached the outermost frame (RA undefined or 0) */
	HOTSPAN_SAMPLER_UNWIND_TRUNCATED = 8,  /* walks stopped early: unreadable stack, unsupported rule, depth */
	HOTSPAN_SAMPLER_UNWIND_NO_REGS = 9,    /* user registers unreadable: walked by frame pointers */
	HOTSPAN_SAMPLER_UNWIND_SIGNAL_FRAMES = 10, /* signal frames walked through (registers from the ucontext) */
	HOTSPAN_SAMPLER_COUNTER_MAX = 11,
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

/* ---- unwinding ---- (.eh_frame stack walker in profile.bpf.c; tables from src/unwind/) */

#define HOTSPAN_UNWIND_ROWS_PER_PAGE 256  /* 3 KiB pages: one map value each */
#define HOTSPAN_UNWIND_PAGE_SHIFT 8
#define HOTSPAN_UNWIND_MAX_MAPPINGS 64    /* executable mappings of one process the walker knows (a power of 2) */
#define HOTSPAN_UNWIND_MAX_TABLES 4096    /* table ids 1..4095; 0 = "no table, use frame pointers" */
#define HOTSPAN_UNWIND_MAX_PAGES 4096     /* 12 MiB, preallocated (5.10 perf_event programs need preallocated hashes) */
#define HOTSPAN_UNWIND_MAX_PROCS 1024     /* processes walked with tables at once; more: frame pointers, counted */
#define HOTSPAN_UNWIND_FRAMES_PER_CALL 8  /* frames per program run; tail calls continue the walk */

/* hotspan_unwind_row.cfa_type (src/unwind/cfi.ts CfaType) */
enum hotspan_unwind_cfa {
	HOTSPAN_CFA_NONE = 0,        /* no FDE covers the PC */
	HOTSPAN_CFA_RSP = 1,         /* CFA = RSP + cfa_offset */
	HOTSPAN_CFA_RBP = 2,         /* CFA = RBP + cfa_offset */
	HOTSPAN_CFA_PLT = 3,         /* CFA = RSP + 8 + ((RIP & 15) >= cfa_offset ? 8 : 0) */
	HOTSPAN_CFA_UNSUPPORTED = 4, /* expression or other register */
	HOTSPAN_CFA_END = 5,         /* return address undefined: outermost frame */
	HOTSPAN_CFA_SIGFRAME = 6,    /* signal trampoline: RSP points at the kernel's struct ucontext */
};

/* hotspan_unwind_row.rbp_type */
enum hotspan_unwind_rbp {
	HOTSPAN_RBP_UNCHANGED = 0,
	HOTSPAN_RBP_CFA_OFFSET = 1, /* caller's RBP saved at CFA + rbp_offset */
	HOTSPAN_RBP_UNKNOWN = 2,
};

/* One row of an unwind table: holds from pc to the next row's pc. The return
 * address is always at CFA - 8 (x86_64). pc is the ELF virtual address. */
struct hotspan_unwind_row {
	__u32 pc;
	__s32 cfa_offset;
	__u8 cfa_type;   /* enum hotspan_unwind_cfa */
	__u8 rbp_type;   /* enum hotspan_unwind_rbp */
	__s16 rbp_offset;
};

/* Value of `unwind_pages`, keyed by (table_id << 16 | page index). */
struct hotspan_unwind_page {
	struct hotspan_unwind_row rows[HOTSPAN_UNWIND_ROWS_PER_PAGE];
};

/* Value of `unwind_tables`, indexed by table id. row_count 0: not loaded (evicted). */
struct hotspan_unwind_table {
	__u32 row_count;
	__u32 page_count;
};

/* One executable mapping of a process: ELF pc = address - bias. */
struct hotspan_unwind_mapping {
	__u64 start;
	__u64 end;
	__u64 bias;
	__u32 table_id;  /* 0: no table, step by frame pointer */
	__u32 pad;
};

/* Value of `unwind_procs`, keyed by tgid: its executable mappings sorted by start. */
struct hotspan_unwind_proc {
	__u32 count;
	__u32 pad;
	struct hotspan_unwind_mapping mappings[HOTSPAN_UNWIND_MAX_MAPPINGS];
};

/* ---- end unwinding ---- */

/* ---- network ---- (owned by the network kernel side: bpf/net.bpf.c, src/network/kernel/) */

/* Compile-time ceiling of one payload head; the `capture_bytes` tunable may only lower it.
 * 8 KiB because the per-CPU scratch (3x this, see net.bpf.c) must fit in 32 KiB. */
#define HOTSPAN_NET_MAX_CAPTURE_BYTES 8192
#define HOTSPAN_NET_DEFAULT_CAPTURE_BYTES 4096
/* The net_events ring buffer is sized to the host when loaded (src/network/kernel/ring-size.ts):
 * this many bytes per online CPU, rounded up to a power of two, within MIN..MAX. Its reader thread
 * drains it within milliseconds (native/ring_reader.cc), so it only absorbs bursts, and bursts
 * scale with the CPUs producing them; every byte of it is pinned kernel memory and, mapped twice
 * by libbpf, counts twice in the agent's RSS. MAX is the object's compiled size (net.bpf.c). */
#define HOTSPAN_NET_RING_BYTES_PER_CPU 2097152
#define HOTSPAN_NET_RING_MIN_BYTES 4194304
#define HOTSPAN_NET_RING_MAX_BYTES 16777216
/* iovec syscalls (readv/writev/sendmsg/recvmsg): at most this many iovecs are copied (UIO_MAXIOV). */
#define HOTSPAN_NET_MAX_IOVECS 1024
/* The same ceiling for kernels without bpf_loop (< 5.17), whose bounded-loop copy the verifier
 * walks once per iovec (~360 instructions each on 6.18: 128 -> ~46k of the 1M budget, ~0.3 s to
 * load; 1024 would cost ~365k and seconds). 128 iovecs hold the first 8 KiB of any writev but
 * one made of tiny pieces. */
#define HOTSPAN_NET_MAX_IOVECS_BOUNDED 128

/* The first 4 bytes of a request of every protocol the L7 engine (src/network/) parses: the
 * HTTP/1 methods and the HTTP/2 preface ("PRI "), plus "HTTP" (a response start). A connection
 * whose first request bytes are none of these is opaque: with skip_opaque its payload is not
 * copied. User space gets this list generated (src/events/abi.generated.ts NET_REQUEST_STARTS)
 * and test/unit/events checks that everything the detector accepts is on it. */
#define HOTSPAN_NET_REQUEST_STARTS(X)                                          \
	X('G', 'E', 'T', ' ') X('P', 'O', 'S', 'T') X('P', 'U', 'T', ' ')      \
	X('D', 'E', 'L', 'E') X('H', 'E', 'A', 'D') X('O', 'P', 'T', 'I')      \
	X('P', 'A', 'T', 'C') X('C', 'O', 'N', 'N') X('T', 'R', 'A', 'C')      \
	X('P', 'R', 'I', ' ') X('H', 'T', 'T', 'P')

/* Record kinds of the `net_events` ring buffer (continue hotspan_event_kind's numbering). */
enum hotspan_net_event_kind {
	HOTSPAN_EVENT_NET_CONN = 16, /* struct hotspan_net_conn */
	HOTSPAN_EVENT_NET_DATA = 17, /* struct hotspan_net_data + payload */
};

/* What happened to a connection (hotspan_net_conn.phase). */
enum hotspan_net_phase {
	HOTSPAN_NET_PHASE_CONNECT = 1,     /* CLOSE -> SYN_SENT inside connect(): pid/tid are the caller */
	HOTSPAN_NET_PHASE_ESTABLISHED = 2, /* SYN_SENT -> ESTABLISHED (client only: a server socket is announced by ACCEPT) */
	HOTSPAN_NET_PHASE_ACCEPT = 3,      /* accept()/accept4() returned this socket: pid/tid/fd are the acceptor */
	HOTSPAN_NET_PHASE_DISCOVERED = 4,  /* first seen in a data syscall: the socket predates the agent */
	HOTSPAN_NET_PHASE_FD_CLOSE = 5,    /* the process called close(fd) on it */
	HOTSPAN_NET_PHASE_CLOSED = 6,      /* the socket reached TCP_CLOSE: final counters */
};

enum hotspan_net_role {
	HOTSPAN_NET_ROLE_UNKNOWN = 0,
	HOTSPAN_NET_ROLE_CLIENT = 1,
	HOTSPAN_NET_ROLE_SERVER = 2,
};

/* hotspan_net_data.syscall: which syscall moved the bytes. */
enum hotspan_net_syscall {
	HOTSPAN_NET_SYS_READ = 1,
	HOTSPAN_NET_SYS_WRITE = 2,
	HOTSPAN_NET_SYS_READV = 3,
	HOTSPAN_NET_SYS_WRITEV = 4,
	HOTSPAN_NET_SYS_RECVFROM = 5,
	HOTSPAN_NET_SYS_SENDTO = 6,
	HOTSPAN_NET_SYS_RECVMSG = 7,
	HOTSPAN_NET_SYS_SENDMSG = 8,
};

enum hotspan_net_direction {
	HOTSPAN_NET_INGRESS = 0, /* the process read the bytes */
	HOTSPAN_NET_EGRESS = 1,  /* the process wrote the bytes */
};

/* Indexes into the per-CPU `net_counters` array map. */
enum hotspan_net_counter {
	HOTSPAN_NET_DATA_EMITTED = 0,    /* data records written */
	HOTSPAN_NET_DATA_DROPPED = 1,    /* ring buffer full: data record lost */
	HOTSPAN_NET_DATA_TRUNCATED = 2,  /* payload longer than capture_bytes: head only */
	HOTSPAN_NET_CONN_EMITTED = 3,    /* conn records written */
	HOTSPAN_NET_CONN_DROPPED = 4,    /* ring buffer full: conn record lost */
	HOTSPAN_NET_SELF_SKIPPED = 5,    /* syscalls of the agent itself, ignored */
	HOTSPAN_NET_DISCOVERED = 6,      /* sockets first seen in a data syscall */
	HOTSPAN_NET_COPY_FAILED = 7,     /* bpf_probe_read_user of a payload failed (page not resident) */
	HOTSPAN_NET_CONN_TABLE_FULL = 8, /* conn map insert failed */
	HOTSPAN_NET_RETRANSMITS = 9,     /* tcp_retransmit_skb on a tracked socket */
	HOTSPAN_NET_OPAQUE_SKIPPED = 10, /* data syscalls of connections whose first bytes are no known protocol: counted, not emitted */
	HOTSPAN_NET_COUNTER_MAX = 11,
};

/* A connection lifecycle record (`kind` = HOTSPAN_EVENT_NET_CONN). */
struct hotspan_net_conn {
	__u32 kind;             /* HOTSPAN_EVENT_NET_CONN */
	__u32 phase;            /* enum hotspan_net_phase */
	__u64 conn_id;          /* unique per socket for the life of the host (never reused) */
	__u64 sock_addr;        /* kernel struct sock * (diagnostics only; reused after free) */
	__u64 time_ns;          /* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) */
	__u64 open_time_ns;     /* CLOCK_MONOTONIC ns when the agent first saw the socket */
	__u32 pid;              /* tgid owning the socket (connect/accept/data caller); 0 if not known yet */
	__u32 tid;              /* thread in whose context the event ran; 0 in softirq */
	__s32 fd;               /* fd for ACCEPT/DISCOVERED/FD_CLOSE; -1 otherwise */
	__u16 family;           /* AF_INET (2) or AF_INET6 (10) */
	__u8 role;              /* enum hotspan_net_role */
	__u8 old_state;         /* TCP state before the change (TCP_* numbering), or current state */
	__u8 new_state;         /* TCP state after the change */
	__u8 pad0[3];
	__u16 local_port;       /* host byte order */
	__u16 remote_port;      /* host byte order */
	__s32 sk_err;           /* sk->sk_err at CLOSED (ECONNREFUSED, ECONNRESET, ETIMEDOUT...), else 0 */
	__u8 local_addr[16];    /* IPv4 in the first 4 bytes, or IPv6, network byte order */
	__u8 remote_addr[16];
	__u32 pad_addr;
	__u64 bytes_sent;       /* payload bytes the traced syscalls wrote on this socket */
	__u64 bytes_received;   /* payload bytes the traced syscalls read */
	__u64 sock_bytes_sent;  /* bytes of every sock_sendmsg (sock:sock_send_length, 6.3+); 0 if absent */
	__u64 sock_bytes_received; /* bytes of every sock_recvmsg (sock:sock_recv_length) */
	__u64 tcp_bytes_sent;   /* tcp_sock.bytes_sent at CLOSED (includes retransmits), else 0 */
	__u64 tcp_bytes_received; /* tcp_sock.bytes_received at CLOSED (counts a received FIN as 1), else 0 */
	__u32 retransmits;      /* tcp:tcp_retransmit_skb events seen on this socket */
	__u32 pad1;
	char comm[HOTSPAN_COMM_LEN]; /* owning thread's name when pid != 0 */
};

/* A data syscall (`kind` = HOTSPAN_EVENT_NET_DATA); `captured_bytes` of payload follow the struct. */
struct hotspan_net_data {
	__u32 kind;             /* HOTSPAN_EVENT_NET_DATA */
	__u32 syscall;          /* enum hotspan_net_syscall */
	__u64 conn_id;          /* see hotspan_net_conn.conn_id */
	__u64 time_ns;          /* CLOCK_MONOTONIC ns at syscall exit */
	__u64 seq_bytes;        /* offset of this syscall's first byte in its direction of this connection */
	__u32 pid;              /* tgid */
	__u32 tid;
	__s32 fd;
	__u32 direction;        /* enum hotspan_net_direction */
	__u32 total_bytes;      /* the syscall's return value: bytes actually moved */
	__u32 captured_bytes;   /* payload bytes that follow (<= capture_bytes) */
	char comm[HOTSPAN_COMM_LEN];
	/* __u8 payload[captured_bytes]; */
};

/* ---- end network ---- */

#endif /* HOTSPAN_H */
