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
	/* network structs: add STRUCT_BEGIN/FIELD/STRUCT_END blocks here */
	printf("}\n");
	return 0;
}
