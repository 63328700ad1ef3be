/* Prints the layout of every ABI struct in hotspan.h as JSON (offsetof/sizeof
 * as the compiler sees them). test/unit/events checks the TS decoder against it. */
#include <stddef.h>
#include <stdio.h>
#include "hotspan.h"

static int first_field;

#define STRUCT_BEGIN(s) printf("%s\"%s\":{\"size\":%zu,\"fields\":{", first_struct ? "" : ",", #s, sizeof(struct s)); first_struct = 0; first_field = 1
#define FIELD(s, f) printf("%s\"%s\":%zu", first_field ? "" : ",", #f, offsetof(struct s, f)); first_field = 0
#define STRUCT_END() printf("}}")

int main(void)
{
	int first_struct = 1;
	printf("{");
	STRUCT_BEGIN(hotspan_cpu_sample);
	FIELD(hotspan_cpu_sample, kind);
	FIELD(hotspan_cpu_sample, cpu);
	FIELD(hotspan_cpu_sample, time_ns);
	FIELD(hotspan_cpu_sample, pid);
	FIELD(hotspan_cpu_sample, tid);
	FIELD(hotspan_cpu_sample, kstack_bytes);
	FIELD(hotspan_cpu_sample, ustack_bytes);
	FIELD(hotspan_cpu_sample, comm);
	FIELD(hotspan_cpu_sample, process_comm);
	FIELD(hotspan_cpu_sample, kstack);
	FIELD(hotspan_cpu_sample, ustack);
	STRUCT_END();
	/* unwinding (profile.bpf.c / unwind.bpf.h maps, written by src/unwind/) */
	STRUCT_BEGIN(hotspan_unwind_row);
	FIELD(hotspan_unwind_row, pc);
	FIELD(hotspan_unwind_row, cfa_offset);
	FIELD(hotspan_unwind_row, cfa_type);
	FIELD(hotspan_unwind_row, rbp_type);
	FIELD(hotspan_unwind_row, rbp_offset);
	STRUCT_END();
	STRUCT_BEGIN(hotspan_unwind_page);
	FIELD(hotspan_unwind_page, rows);
	STRUCT_END();
	STRUCT_BEGIN(hotspan_unwind_table);
	FIELD(hotspan_unwind_table, row_count);
	FIELD(hotspan_unwind_table, page_count);
	STRUCT_END();
	STRUCT_BEGIN(hotspan_unwind_mapping);
	FIELD(hotspan_unwind_mapping, start);
	FIELD(hotspan_unwind_mapping, end);
	FIELD(hotspan_unwind_mapping, bias);
	FIELD(hotspan_unwind_mapping, table_id);
	STRUCT_END();
	STRUCT_BEGIN(hotspan_unwind_proc);
	FIELD(hotspan_unwind_proc, count);
	FIELD(hotspan_unwind_proc, mappings);
	STRUCT_END();
	/* network structs: add STRUCT_BEGIN/FIELD/STRUCT_END blocks here */
	STRUCT_BEGIN(hotspan_net_conn);
	FIELD(hotspan_net_conn, kind);
	FIELD(hotspan_net_conn, phase);
	FIELD(hotspan_net_conn, conn_id);
	FIELD(hotspan_net_conn, sock_addr);
	FIELD(hotspan_net_conn, time_ns);
	FIELD(hotspan_net_conn, open_time_ns);
	FIELD(hotspan_net_conn, pid);
	FIELD(hotspan_net_conn, tid);
	FIELD(hotspan_net_conn, fd);
	FIELD(hotspan_net_conn, family);
	FIELD(hotspan_net_conn, role);
	FIELD(hotspan_net_conn, old_state);
	FIELD(hotspan_net_conn, new_state);
	FIELD(hotspan_net_conn, local_port);
	FIELD(hotspan_net_conn, remote_port);
	FIELD(hotspan_net_conn, sk_err);
	FIELD(hotspan_net_conn, local_addr);
	FIELD(hotspan_net_conn, remote_addr);
	FIELD(hotspan_net_conn, bytes_sent);
	FIELD(hotspan_net_conn, bytes_received);
	FIELD(hotspan_net_conn, sock_bytes_sent);
	FIELD(hotspan_net_conn, sock_bytes_received);
	FIELD(hotspan_net_conn, tcp_bytes_sent);
	FIELD(hotspan_net_conn, tcp_bytes_received);
	FIELD(hotspan_net_conn, retransmits);
	FIELD(hotspan_net_conn, comm);
	STRUCT_END();
	STRUCT_BEGIN(hotspan_net_data);
	FIELD(hotspan_net_data, kind);
	FIELD(hotspan_net_data, syscall);
	FIELD(hotspan_net_data, conn_id);
	FIELD(hotspan_net_data, time_ns);
	FIELD(hotspan_net_data, seq_bytes);
	FIELD(hotspan_net_data, pid);
	FIELD(hotspan_net_data, tid);
	FIELD(hotspan_net_data, fd);
	FIELD(hotspan_net_data, direction);
	FIELD(hotspan_net_data, total_bytes);
	FIELD(hotspan_net_data, captured_bytes);
	FIELD(hotspan_net_data, comm);
	STRUCT_END();
	printf("}\n");
	return 0;
}
