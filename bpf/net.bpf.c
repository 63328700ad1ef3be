// SPDX-License-Identifier: GPL-2.0
/*
 * TCP connections and their payload heads, from tracepoints only (this kernel
 * family may have no kprobes).
 *
 *  - sock:inet_sock_set_state      connection lifecycle, keyed by struct sock *
 *  - syscalls:sys_{enter,exit}_*   connect/accept/accept4/close and the data
 *                                  syscalls; the fd is mapped to its struct sock
 *                                  in the kernel (task->files->fdt->fd[fd]).
 *  - tcp:tcp_retransmit_skb        retransmit counts
 *  - sock:sock_{send,recv}_length  every socket-layer byte (6.3+, optional), so
 *                                  user space can tell bytes it never saw
 *
 * Every tracked socket gets a `conn_id` the first time it is seen; ids are never
 * reused, so a recycled fd or a recycled struct sock cannot mix two connections.
 * Records go to the `net_events` ring buffer (see the network section of
 * hotspan.h). Needs: ring buffer (5.8+), BTF for CO-RE, bounded loops (5.3+). Optional, each
 * loaded only where the kernel has it (user space turns autoload off otherwise, so one missing
 * hook never rejects the object): the retransmit and sock-length tracepoints, and bpf_loop
 * (5.17+) for the iovec copy, whose programs come in a bounded-loop variant (`*_bl`) too.
 * Kernel-version workarounds are listed in bpf/README.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "hotspan.h"

char LICENSE[] SEC("license") = "GPL";

/* Tunables, set before load (read-only data). */
const volatile __u32 self_tgid = 0;     /* the agent: its own traffic is never captured */
const volatile __u32 capture_bytes = HOTSPAN_NET_DEFAULT_CAPTURE_BYTES; /* payload head per syscall */
/* 1: stop emitting data records for a connection whose first request bytes are no protocol the
 * L7 engine parses (only their byte counts are kept); 0: capture every connection's payload. */
const volatile __u32 skip_opaque = 1;

/* Macros vmlinux.h cannot carry. */
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define MSG_PEEK 2
#define TCP_STATE_ESTABLISHED 1
#define TCP_STATE_SYN_SENT 2
#define TCP_STATE_SYN_RECV 3
#define TCP_STATE_CLOSE 7
#define PROTO_TCP 6

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* The ceiling (~3500 full 4 KiB heads); sized down to the host at load (hotspan.h). */
	__uint(max_entries, HOTSPAN_NET_RING_MAX_BYTES);
} net_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HOTSPAN_NET_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} net_counters SEC(".maps");

/* What the kernel keeps per tracked socket. */
struct conn_state {
	__u64 conn_id;
	__u64 open_ns;
	__u64 seq_sent;       /* bytes written through traced syscalls so far */
	__u64 seq_received;   /* bytes read through traced syscalls so far */
	__u64 sock_sent;      /* bytes of sock:sock_send_length */
	__u64 sock_received;  /* bytes of sock:sock_recv_length */
	__u32 pid;            /* owner tgid, 0 until known (server side before accept) */
	__u32 retransmits;
	__u16 family;
	__u8 role;
	__u8 ignored;         /* the agent's own socket: nothing is emitted for it */
	__u8 classified;      /* the connection's first bytes have been looked at */
	__u8 opaque;          /* ...and were no protocol user space parses: no more data records */
	__s32 fd;
	char comm[HOTSPAN_COMM_LEN];
};

/* LRU: a socket whose close we miss (e.g. tracked before a reload) cannot pin an entry forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct sock * */
	__type(value, struct conn_state);
} conns SEC(".maps");

/* Arguments of a syscall in flight, from sys_enter to sys_exit, per thread. */
struct syscall_args {
	__u64 sk;        /* struct sock * the fd pointed to at entry (0 for connect/accept) */
	__u64 buf;       /* user buffer, iovec array, or user_msghdr */
	__u32 iovcnt;
	__s32 fd;
	__u32 syscall;   /* enum hotspan_net_syscall, or one of the SYSCALL_* below */
	__u32 pad;
};
#define SYSCALL_CONNECT 100
#define SYSCALL_ACCEPT 101

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct syscall_args);
} inflight SEC(".maps");

/* Per-CPU scratch: the record is assembled here, then copied into the ring buffer at its
 * true length. The payload area is three times the ceiling so that the verifier can prove
 * every (offset & (MAX-1)) + (length & (2*MAX-1)) iovec copy stays inside it. */
struct data_scratch {
	struct hotspan_net_data hdr;
	__u8 payload[3 * HOTSPAN_NET_MAX_CAPTURE_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct data_scratch);
} data_scratch SEC(".maps");

/* Per-CPU counter behind conn ids: (cpu + 1) << 48 | n, unique without atomics (5.10 has no
 * BPF fetch-and-add for a caller-visible result at the default -mcpu). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} conn_id_seq SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&net_counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline __u64 new_conn_id(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&conn_id_seq, &zero);
	if (!n)
		return 0;
	*n += 1;
	return ((__u64)(bpf_get_smp_processor_id() + 1) << 48) | (*n & 0xffffffffffffULL);
}

/* fd -> struct sock * of a TCP (IPv4/IPv6) socket of the current task, or 0. */
static __always_inline struct sock *tcp_sock_of_fd(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;
	struct socket *socket;
	struct sock *sk;
	__u16 family, protocol, type;
	umode_t mode;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	/* A socket file is one whose inode is S_IFSOCK; then private_data is its struct socket. */
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	socket = BPF_CORE_READ(file, private_data);
	if (!socket)
		return NULL;
	sk = BPF_CORE_READ(socket, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	/* sk_protocol/sk_type were bitfields before 5.6 (commit bf9765145b85): read them as such. */
	protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	type = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type);
	if (protocol != PROTO_TCP || type != SOCK_STREAM)
		return NULL;
	return sk;
}

/* 4-tuple straight from struct sock, for sockets first seen outside inet_sock_set_state. */
static __always_inline void tuple_from_sock(struct hotspan_net_conn *e, struct sock *sk)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* BPF_CORE_READ_INTO copies sizeof(*dst): give it typed destinations, not the byte arrays. */
	if (e->family == AF_INET) {
		__u32 local = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 remote = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e->local_addr, &local, 4);
		__builtin_memcpy(e->remote_addr, &remote, 4);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)e->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)e->remote_addr, sk, __sk_common.skc_v6_daddr);
	}
	e->new_state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e->old_state = e->new_state;
}

static __always_inline void tuple_from_state_tp(struct hotspan_net_conn *e,
						struct trace_event_raw_inet_sock_set_state *ctx)
{
	e->family = ctx->family;
	e->local_port = ctx->sport;
	e->remote_port = ctx->dport;
	/* Arrays in a CO-RE-relocated ctx cannot be memcpy'd (the verifier refuses a modified ctx
	 * pointer); probe-read them, as libbpf-tools' tcpstates does. */
	if (e->family == AF_INET) {
		bpf_probe_read_kernel(e->local_addr, 4, ctx->saddr);
		bpf_probe_read_kernel(e->remote_addr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->local_addr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->remote_addr, 16, ctx->daddr_v6);
	}
	e->old_state = ctx->oldstate;
	e->new_state = ctx->newstate;
}

/* Reserve a conn record and fill what comes from the per-socket state. */
static __always_inline struct hotspan_net_conn *conn_event(__u32 phase, __u64 sk,
							    struct conn_state *st)
{
	struct hotspan_net_conn *e = bpf_ringbuf_reserve(&net_events, sizeof(*e), 0);
	if (!e) {
		count(HOTSPAN_NET_CONN_DROPPED);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = HOTSPAN_EVENT_NET_CONN;
	e->phase = phase;
	e->conn_id = st->conn_id;
	e->sock_addr = sk;
	e->time_ns = bpf_ktime_get_ns();
	e->open_time_ns = st->open_ns;
	e->pid = st->pid;
	e->fd = st->fd;
	e->role = st->role;
	e->bytes_sent = st->seq_sent;
	e->bytes_received = st->seq_received;
	e->sock_bytes_sent = st->sock_sent;
	e->sock_bytes_received = st->sock_received;
	e->retransmits = st->retransmits;
	__builtin_memcpy(e->comm, st->comm, HOTSPAN_COMM_LEN);
	return e;
}

static __always_inline void submit_conn(struct hotspan_net_conn *e)
{
	bpf_ringbuf_submit(e, 0);
	count(HOTSPAN_NET_CONN_EMITTED);
}

static __always_inline void init_state(struct conn_state *st, __u8 role, __u32 pid, __s32 fd,
				       __u16 family)
{
	__builtin_memset(st, 0, sizeof(*st));
	st->conn_id = new_conn_id();
	st->open_ns = bpf_ktime_get_ns();
	st->role = role;
	st->pid = pid;
	st->fd = fd;
	st->family = family;
	if (pid) {
		st->ignored = pid == self_tgid;
		bpf_get_current_comm(st->comm, sizeof(st->comm));
	}
}

/* ------------------------------------------------------------------ lifecycle */

SEC("tracepoint/sock/inet_sock_set_state")
int handle_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	int oldstate = ctx->oldstate, newstate = ctx->newstate;
	struct conn_state *st, fresh;
	struct hotspan_net_conn *e;

	if (ctx->protocol != PROTO_TCP)
		return 0;

	if (newstate == TCP_STATE_SYN_SENT) {
		/* Inside connect(): current is the caller, and its connect args say the fd. */
		__u64 id = bpf_get_current_pid_tgid();
		struct syscall_args *a = bpf_map_lookup_elem(&inflight, &id);
		__s32 fd = (a && a->syscall == SYSCALL_CONNECT) ? a->fd : -1;

		init_state(&fresh, HOTSPAN_NET_ROLE_CLIENT, id >> 32, fd, ctx->family);
		if (bpf_map_update_elem(&conns, &sk, &fresh, BPF_ANY)) {
			count(HOTSPAN_NET_CONN_TABLE_FULL);
			return 0;
		}
		if (fresh.ignored)
			return 0;
		e = conn_event(HOTSPAN_NET_PHASE_CONNECT, sk, &fresh);
		if (!e)
			return 0;
		tuple_from_state_tp(e, ctx);
		e->tid = (__u32)id;
		submit_conn(e);
		return 0;
	}

	if (newstate == TCP_STATE_ESTABLISHED) {
		st = bpf_map_lookup_elem(&conns, &sk);
		if (!st) {
			if (oldstate != TCP_STATE_SYN_RECV)
				return 0;
			/* Passive open, in softirq: the owner is known only at accept(). */
			init_state(&fresh, HOTSPAN_NET_ROLE_SERVER, 0, -1, ctx->family);
			if (bpf_map_update_elem(&conns, &sk, &fresh, BPF_ANY)) {
				count(HOTSPAN_NET_CONN_TABLE_FULL);
				return 0;
			}
			/* No record yet: the owner (and whether it is the agent) is known only at
			 * accept(), which announces the connection. */
			return 0;
		}
		if (st->ignored)
			return 0;
		e = conn_event(HOTSPAN_NET_PHASE_ESTABLISHED, sk, st);
		if (!e)
			return 0;
		tuple_from_state_tp(e, ctx);
		submit_conn(e);
		return 0;
	}

	if (newstate == TCP_STATE_CLOSE) {
		st = bpf_map_lookup_elem(&conns, &sk);
		if (!st)
			return 0;
		if (!st->ignored) {
			e = conn_event(HOTSPAN_NET_PHASE_CLOSED, sk, st);
			if (e) {
				struct sock *s = (struct sock *)sk;
				struct tcp_sock *tp = (struct tcp_sock *)sk;

				tuple_from_state_tp(e, ctx);
				/* tcp_done_with_error()/tcp_reset() set sk_err before TCP_CLOSE. */
				e->sk_err = BPF_CORE_READ(s, sk_err);
				if (bpf_core_field_exists(tp->bytes_sent))
					e->tcp_bytes_sent = BPF_CORE_READ(tp, bytes_sent);
				e->tcp_bytes_received = BPF_CORE_READ(tp, bytes_received);
				submit_conn(e);
			}
		}
		bpf_map_delete_elem(&conns, &sk);
	}
	return 0;
}

/* The tcp_retransmit_skb record was struct trace_event_raw_tcp_event_sk_skb (a shared event
 * class) until 6.17 gave the tracepoint its own class, trace_event_raw_tcp_retransmit_skb, when it
 * gained an `err` field ("tcp: extend tcp_retransmit_skb tracepoint with failure reasons", net-next
 * July 2025; see bpf/README.md). `skaddr` has the same name in both. vmlinux.h comes
 * from the build host, so both are declared here as CO-RE flavors and the one this kernel has is
 * picked at load: a relocation against a type the kernel lacks sits in a branch the verifier
 * removes as dead code. */
struct trace_event_raw_tcp_retransmit_skb___new {
	const void *skaddr;
} __attribute__((preserve_access_index));

struct trace_event_raw_tcp_event_sk_skb___old {
	const void *skaddr;
} __attribute__((preserve_access_index));

SEC("tracepoint/tcp/tcp_retransmit_skb")
int handle_tcp_retransmit_skb(void *ctx)
{
	struct conn_state *st;
	__u64 sk;

	/* Probe-read, not a ctx load: clang folds the two branches into one load at a computed
	 * offset, and the verifier refuses a ctx dereference at a variable offset. */
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb___new))
		sk = (__u64)BPF_CORE_READ((struct trace_event_raw_tcp_retransmit_skb___new *)ctx, skaddr);
	else
		sk = (__u64)BPF_CORE_READ((struct trace_event_raw_tcp_event_sk_skb___old *)ctx, skaddr);
	st = bpf_map_lookup_elem(&conns, &sk);
	if (st) {
		__sync_fetch_and_add(&st->retransmits, 1);
		count(HOTSPAN_NET_RETRANSMITS);
	}
	return 0;
}

static __always_inline void sock_length(struct trace_event_raw_sock_msg_length *ctx, bool send)
{
	__u64 sk = (__u64)ctx->sk;
	struct conn_state *st;

	if (ctx->protocol != PROTO_TCP || ctx->ret <= 0 || (ctx->flags & MSG_PEEK))
		return;
	st = bpf_map_lookup_elem(&conns, &sk);
	if (!st)
		return;
	if (send)
		__sync_fetch_and_add(&st->sock_sent, ctx->ret);
	else
		__sync_fetch_and_add(&st->sock_received, ctx->ret);
}

SEC("tracepoint/sock/sock_send_length")
int handle_sock_send_length(struct trace_event_raw_sock_msg_length *ctx)
{
	sock_length(ctx, true);
	return 0;
}

SEC("tracepoint/sock/sock_recv_length")
int handle_sock_recv_length(struct trace_event_raw_sock_msg_length *ctx)
{
	sock_length(ctx, false);
	return 0;
}

/* ------------------------------------------------------------------ connect / accept / close */

SEC("tracepoint/syscalls/sys_enter_connect")
int handle_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct syscall_args a = { .fd = (__s32)ctx->args[0], .syscall = SYSCALL_CONNECT };

	if ((__u32)(id >> 32) == self_tgid)
		return 0;
	bpf_map_update_elem(&inflight, &id, &a, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int handle_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&inflight, &id);
	return 0;
}

static __always_inline int enter_accept(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct syscall_args a = { .fd = -1, .syscall = SYSCALL_ACCEPT };

	/* No self filter here: exit_accept must see the agent's accepts to mark them ignored. */
	bpf_map_update_elem(&inflight, &id, &a, BPF_ANY);
	return 0;
}

/* accept() returned fd: this is where a server-side socket learns its owner. */
static __always_inline int exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct syscall_args *a = bpf_map_lookup_elem(&inflight, &id);
	__s32 fd = (__s32)ctx->ret;
	struct conn_state *st, fresh;
	struct hotspan_net_conn *e;
	struct sock *sk;
	__u64 key;

	if (!a)
		return 0;
	bpf_map_delete_elem(&inflight, &id);
	if (fd < 0)
		return 0;
	sk = tcp_sock_of_fd(fd);
	if (!sk)
		return 0;
	key = (__u64)sk;
	st = bpf_map_lookup_elem(&conns, &key);
	if (!st) {
		/* Established before the agent loaded, accepted now. */
		init_state(&fresh, HOTSPAN_NET_ROLE_SERVER, id >> 32, fd,
			   BPF_CORE_READ(sk, __sk_common.skc_family));
		if (bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY)) {
			count(HOTSPAN_NET_CONN_TABLE_FULL);
			return 0;
		}
		st = bpf_map_lookup_elem(&conns, &key);
		if (!st)
			return 0;
	}
	st->pid = id >> 32;
	st->fd = fd;
	st->ignored = st->pid == self_tgid;
	bpf_get_current_comm(st->comm, sizeof(st->comm));
	if (st->ignored)
		return 0;
	e = conn_event(HOTSPAN_NET_PHASE_ACCEPT, key, st);
	if (!e)
		return 0;
	tuple_from_sock(e, sk);
	e->tid = (__u32)id;
	submit_conn(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept")
int handle_enter_accept(struct trace_event_raw_sys_enter *ctx) { return enter_accept(); }
SEC("tracepoint/syscalls/sys_enter_accept4")
int handle_enter_accept4(struct trace_event_raw_sys_enter *ctx) { return enter_accept(); }
SEC("tracepoint/syscalls/sys_exit_accept")
int handle_exit_accept(struct trace_event_raw_sys_exit *ctx) { return exit_accept(ctx); }
SEC("tracepoint/syscalls/sys_exit_accept4")
int handle_exit_accept4(struct trace_event_raw_sys_exit *ctx) { return exit_accept(ctx); }

/* close(fd): the application is done with the connection (the socket may live on in FIN_WAIT). */
SEC("tracepoint/syscalls/sys_enter_close")
int handle_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__s32 fd = (__s32)ctx->args[0];
	struct conn_state *st;
	struct hotspan_net_conn *e;
	struct sock *sk;
	__u64 key;

	if ((__u32)(id >> 32) == self_tgid)
		return 0;
	sk = tcp_sock_of_fd(fd);
	if (!sk)
		return 0;
	key = (__u64)sk;
	st = bpf_map_lookup_elem(&conns, &key);
	if (!st || st->ignored)
		return 0;
	e = conn_event(HOTSPAN_NET_PHASE_FD_CLOSE, key, st);
	if (!e)
		return 0;
	tuple_from_sock(e, sk);
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->fd = fd;
	submit_conn(e);
	return 0;
}

/* ------------------------------------------------------------------ data */

static __always_inline int enter_data(__s32 fd, __u64 buf, __u32 iovcnt, __u32 syscall)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct syscall_args a = {};
	struct sock *sk;

	if ((__u32)(id >> 32) == self_tgid) {
		count(HOTSPAN_NET_SELF_SKIPPED);
		return 0;
	}
	/* Resolve at entry, while the fd surely names the socket the syscall uses. */
	sk = tcp_sock_of_fd(fd);
	if (!sk)
		return 0;
	a.sk = (__u64)sk;
	a.buf = buf;
	a.iovcnt = iovcnt;
	a.fd = fd;
	a.syscall = syscall;
	bpf_map_update_elem(&inflight, &id, &a, BPF_ANY);
	return 0;
}

/* The socket's state, creating it (DISCOVERED) if the socket predates the agent. */
static __always_inline struct conn_state *state_for_data(__u64 key, __s32 fd, __u64 id)
{
	struct conn_state *st = bpf_map_lookup_elem(&conns, &key);
	struct conn_state fresh;
	struct hotspan_net_conn *e;
	struct sock *sk = (struct sock *)key;

	if (st) {
		if (!st->pid) { /* server socket read before accept() was seen */
			st->pid = id >> 32;
			st->fd = fd;
			bpf_get_current_comm(st->comm, sizeof(st->comm));
		}
		return st;
	}
	/* A socket already in TCP_CLOSE is gone from the table on purpose; do not resurrect it. */
	if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_STATE_CLOSE)
		return NULL;
	init_state(&fresh, HOTSPAN_NET_ROLE_UNKNOWN, id >> 32, fd,
		   BPF_CORE_READ(sk, __sk_common.skc_family));
	if (bpf_map_update_elem(&conns, &key, &fresh, BPF_NOEXIST)) {
		/* Lost a race with another CPU (fine) or the table is full. */
		st = bpf_map_lookup_elem(&conns, &key);
		if (!st)
			count(HOTSPAN_NET_CONN_TABLE_FULL);
		return st;
	}
	count(HOTSPAN_NET_DISCOVERED);
	e = conn_event(HOTSPAN_NET_PHASE_DISCOVERED, key, &fresh);
	if (e) {
		tuple_from_sock(e, sk);
		e->tid = (__u32)id;
		submit_conn(e);
	}
	return bpf_map_lookup_elem(&conns, &key);
}

/* First 4 bytes of every request the L7 engine parses (HOTSPAN_NET_REQUEST_STARTS), packed
 * the same way as the payload bytes below (byte order independent). */
#define FOURCC(a, b, c, d) ((__u32)(a) | (__u32)(b) << 8 | (__u32)(c) << 16 | (__u32)(d) << 24)
#define IS_START(a, b, c, d) || w == FOURCC(a, b, c, d)

static __always_inline bool known_protocol_start(const __u8 *p)
{
	__u32 w = (__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24;

	return false HOTSPAN_NET_REQUEST_STARTS(IS_START);
}

/* Is this syscall the first in the request direction (client writes, server reads)? Server
 * bytes may come first (HTTP/2 SETTINGS, a database greeting) and say nothing; with the role
 * unknown (socket met mid-stream) nothing is decided and everything is captured. */
static __always_inline bool first_request_bytes(const struct conn_state *st, bool egress, long ret)
{
	if (st->role == HOTSPAN_NET_ROLE_CLIENT)
		return egress && st->seq_sent == (__u64)ret;
	if (st->role == HOTSPAN_NET_ROLE_SERVER)
		return !egress && st->seq_received == (__u64)ret;
	return false;
}

struct iov_copy {
	__u8 *payload;   /* the per-CPU scratch payload area */
	__u64 iov_addr;  /* user iovec array */
	__u32 iovcnt;
	__u32 want;      /* bytes wanted in all */
	__u32 off;       /* bytes copied so far */
};

/* One iovec per bpf_loop step: the verifier checks this body once, not once per iovec, so
 * the iovec ceiling costs nothing at load (an unrolled 64-step loop took 2.5 s to verify and
 * could be interrupted, failing the load with EAGAIN). */
static long copy_one_iovec(__u64 i, void *data)
{
	struct iov_copy *c = data;
	struct iovec iov;
	__u32 off = c->off, len;

	if (i >= c->iovcnt || off >= c->want)
		return 1;
	if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(c->iov_addr + i * sizeof(iov))))
		return 1;
	len = iov.iov_len > c->want - off ? c->want - off : iov.iov_len;
	/* Masks the verifier can follow: off < want <= MAX, len <= MAX, so both are identities. */
	if (bpf_probe_read_user(c->payload + (off & (HOTSPAN_NET_MAX_CAPTURE_BYTES - 1)),
				len & (2 * HOTSPAN_NET_MAX_CAPTURE_BYTES - 1), iov.iov_base))
		return 1;
	c->off = off + len;
	return 0;
}

/* Copy up to `want` bytes from the first iovecs into the payload area; returns bytes copied.
 * Writers batch many small frames into one writev (Node's http2 puts each frame header and
 * payload in its own iovec), so stopping after a handful would cut most such syscalls short.
 * Needs bpf_loop (5.17+); copy_iovecs_bounded is the same copy for older kernels. */
static __always_inline __u32 copy_iovecs(__u8 *payload, __u64 iov_addr, __u32 iovcnt, __u32 want)
{
	struct iov_copy c = { .payload = payload, .iov_addr = iov_addr, .iovcnt = iovcnt, .want = want };

	bpf_loop(iovcnt < HOTSPAN_NET_MAX_IOVECS ? iovcnt : HOTSPAN_NET_MAX_IOVECS, copy_one_iovec, &c, 0);
	return c.off;
}

/* The same copy as a bounded loop (5.3+), for kernels without bpf_loop. The verifier walks every
 * iteration, so the iovec ceiling is lower (HOTSPAN_NET_MAX_IOVECS_BOUNDED): a writev whose first
 * bytes are spread over more iovecs than that is captured in part, and counted as copy_failed. */
static __always_inline __u32 copy_iovecs_bounded(__u8 *payload, __u64 iov_addr, __u32 iovcnt, __u32 want)
{
	struct iovec iov;
	__u32 off = 0, len, i;

#pragma clang loop unroll(disable)
	for (i = 0; i < HOTSPAN_NET_MAX_IOVECS_BOUNDED; i++) {
		if (i >= iovcnt || off >= want)
			break;
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(iov_addr + i * sizeof(iov))))
			break;
		len = iov.iov_len > want - off ? want - off : iov.iov_len;
		if (bpf_probe_read_user(payload + (off & (HOTSPAN_NET_MAX_CAPTURE_BYTES - 1)),
					len & (2 * HOTSPAN_NET_MAX_CAPTURE_BYTES - 1), iov.iov_base))
			break;
		off += len;
	}
	return off;
}

/* Which iovec copy an exit program inlines: none (read/write/sendto/recvfrom), bpf_loop, or
 * the bounded loop. User space loads one of each iovec program pair (see capture.ts). */
enum iov_copy_mode { IOV_NONE, IOV_BPF_LOOP, IOV_BOUNDED };

/* `kind` is the syscall the program is attached to: a compile-time constant, so each program
 * carries only its own copy path. */
static __always_inline int exit_data(struct trace_event_raw_sys_exit *ctx, __u32 kind,
				     enum iov_copy_mode mode)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct syscall_args *a = bpf_map_lookup_elem(&inflight, &id);
	long ret = ctx->ret;
	struct data_scratch *s;
	struct conn_state *st;
	__u32 zero = 0, want, got = 0, syscall, iovcnt;
	__u64 buf, sk;
	__s32 fd;
	bool egress;

	if (!a)
		return 0;
	/* Copy out of the map before deleting the element. */
	sk = a->sk;
	buf = a->buf;
	iovcnt = a->iovcnt;
	fd = a->fd;
	syscall = a->syscall;
	bpf_map_delete_elem(&inflight, &id);
	if (ret <= 0 || syscall != kind)
		return 0;

	st = state_for_data(sk, fd, id);
	if (!st || st->ignored)
		return 0;
	s = bpf_map_lookup_elem(&data_scratch, &zero);
	if (!s)
		return 0;

	egress = syscall == HOTSPAN_NET_SYS_WRITE || syscall == HOTSPAN_NET_SYS_WRITEV ||
		 syscall == HOTSPAN_NET_SYS_SENDTO || syscall == HOTSPAN_NET_SYS_SENDMSG;
	s->hdr.kind = HOTSPAN_EVENT_NET_DATA;
	s->hdr.syscall = syscall;
	s->hdr.conn_id = st->conn_id;
	s->hdr.time_ns = bpf_ktime_get_ns();
	s->hdr.pid = id >> 32;
	s->hdr.tid = (__u32)id;
	s->hdr.fd = fd;
	s->hdr.direction = egress ? HOTSPAN_NET_EGRESS : HOTSPAN_NET_INGRESS;
	s->hdr.total_bytes = ret;
	if (egress) {
		s->hdr.seq_bytes = st->seq_sent;
		st->seq_sent += ret;
	} else {
		s->hdr.seq_bytes = st->seq_received;
		st->seq_received += ret;
	}
	if (st->opaque) {
		/* Byte counts above are all flows need; the payload would only be dropped in user space. */
		count(HOTSPAN_NET_OPAQUE_SKIPPED);
		return 0;
	}
	bpf_get_current_comm(s->hdr.comm, sizeof(s->hdr.comm));

	want = capture_bytes;
	if (want > HOTSPAN_NET_MAX_CAPTURE_BYTES)
		want = HOTSPAN_NET_MAX_CAPTURE_BYTES;
	if (ret < want)
		want = ret;
	if (want < ret)
		count(HOTSPAN_NET_DATA_TRUNCATED);

	if (kind == HOTSPAN_NET_SYS_RECVMSG || kind == HOTSPAN_NET_SYS_SENDMSG) {
		struct user_msghdr msg;

		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)buf)) {
			iovcnt = 0;
		} else {
			buf = (__u64)msg.msg_iov;
			iovcnt = msg.msg_iovlen;
		}
	}
	if (mode == IOV_BPF_LOOP) {
		got = copy_iovecs(s->payload, buf, iovcnt, want);
	} else if (mode == IOV_BOUNDED) {
		got = copy_iovecs_bounded(s->payload, buf, iovcnt, want);
	} else {
		if (!bpf_probe_read_user(s->payload, want & (2 * HOTSPAN_NET_MAX_CAPTURE_BYTES - 1),
					 (void *)buf))
			got = want;
	}
	if (got < want)
		count(HOTSPAN_NET_COPY_FAILED);
	if (got > HOTSPAN_NET_MAX_CAPTURE_BYTES)
		got = HOTSPAN_NET_MAX_CAPTURE_BYTES;
	s->hdr.captured_bytes = got;
	/* The first request bytes of a connection decide whether its payload is worth copying:
	 * every request the L7 engine parses starts with a method or the HTTP/2 preface. This first
	 * record is still emitted, so user space sees the connection and counts it as unknown.
	 * Fewer than 4 bytes (a 1-byte write) cannot decide: keep capturing. */
	if (skip_opaque && !st->classified && first_request_bytes(st, egress, ret)) {
		st->classified = 1;
		if (got >= 4 && !known_protocol_start(s->payload))
			st->opaque = 1;
	}

	/* The mask is an identity (got <= MAX) that the verifier, unlike the compare, keeps;
	 * barrier_var stops clang from proving it redundant and dropping it. */
	barrier_var(got);
	got &= 2 * HOTSPAN_NET_MAX_CAPTURE_BYTES - 1;
	if (bpf_ringbuf_output(&net_events, s, sizeof(s->hdr) + got, 0))
		count(HOTSPAN_NET_DATA_DROPPED);
	else
		count(HOTSPAN_NET_DATA_EMITTED);
	return 0;
}

#define ENTER_DATA(name, kind, cntarg)                                                       \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                         \
	int handle_enter_##name(struct trace_event_raw_sys_enter *ctx)                      \
	{                                                                                   \
		return enter_data((__s32)ctx->args[0], ctx->args[1], cntarg, kind);           \
	}
#define EXIT_DATA(name, kind)                                                                \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                          \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx)                        \
	{                                                                                   \
		return exit_data(ctx, kind, IOV_NONE);                                      \
	}
/* An iovec syscall's exit comes twice: handle_exit_<name> (bpf_loop, 5.17+) and
 * handle_exit_<name>_bl (bounded loop); user space turns off autoload of the one not used. */
#define EXIT_DATA_IOV(name, kind)                                                            \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                          \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx)                        \
	{                                                                                   \
		return exit_data(ctx, kind, IOV_BPF_LOOP);                                  \
	}                                                                                   \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                          \
	int handle_exit_##name##_bl(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                                   \
		return exit_data(ctx, kind, IOV_BOUNDED);                                   \
	}

ENTER_DATA(read, HOTSPAN_NET_SYS_READ, 0)
EXIT_DATA(read, HOTSPAN_NET_SYS_READ)
ENTER_DATA(write, HOTSPAN_NET_SYS_WRITE, 0)
EXIT_DATA(write, HOTSPAN_NET_SYS_WRITE)
ENTER_DATA(readv, HOTSPAN_NET_SYS_READV, (__u32)ctx->args[2])
EXIT_DATA_IOV(readv, HOTSPAN_NET_SYS_READV)
ENTER_DATA(writev, HOTSPAN_NET_SYS_WRITEV, (__u32)ctx->args[2])
EXIT_DATA_IOV(writev, HOTSPAN_NET_SYS_WRITEV)
ENTER_DATA(sendto, HOTSPAN_NET_SYS_SENDTO, 0)
EXIT_DATA(sendto, HOTSPAN_NET_SYS_SENDTO)
ENTER_DATA(sendmsg, HOTSPAN_NET_SYS_SENDMSG, 0)
EXIT_DATA_IOV(sendmsg, HOTSPAN_NET_SYS_SENDMSG)

/* recvfrom(fd, buf, len, flags, ...) and recvmsg(fd, msg, flags): MSG_PEEK reads are not
 * consumed and would be seen twice, so they are skipped. */
SEC("tracepoint/syscalls/sys_enter_recvfrom")
int handle_enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[3] & MSG_PEEK)
		return 0;
	return enter_data((__s32)ctx->args[0], ctx->args[1], 0, HOTSPAN_NET_SYS_RECVFROM);
}
EXIT_DATA(recvfrom, HOTSPAN_NET_SYS_RECVFROM)

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int handle_enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[2] & MSG_PEEK)
		return 0;
	return enter_data((__s32)ctx->args[0], ctx->args[1], 0, HOTSPAN_NET_SYS_RECVMSG);
}
EXIT_DATA_IOV(recvmsg, HOTSPAN_NET_SYS_RECVMSG)
