/*
 * peers.c: the standard queries written by hand in C, the limit a row-at-a-time engine can
 * approach (src/copypatch/peers.py builds and loads this file; python -m copypatch bench --peers
 * times it and benchmarks/count_instructions.py --peers counts it).
 *
 * One function per query of copypatch.workload.QUERIES, named c_filter_<name>, over the columns
 * of copypatch.workload.make_table(): a int4 NOT NULL, b int8 with a NULL flag per row (numpy's
 * mask: one byte, 1 for NULL), c int4 NOT NULL. Each writes one byte per row (numpy bool), 1 where
 * WHERE <query> keeps the row: what copypatch's filter() returns. Written as a C programmer
 * writes a filter, branch-free (& and | on 0/1 rather than && and ||) so that -O3 can vectorise
 * it (bytes as uint8_t, not bool: GCC 12 does not vectorise these loops over _Bool; it does not
 * vectorise the IN list either, which it turns into a bit test); the NULL rules are PostgreSQL's, by hand (a NULL b makes its comparison false, which is
 * what WHERE does with NULL, and NULL OR true is true). Unlike PostgreSQL they raise no errors:
 * a + b is computed in int64 without an overflow check (on the standard table it cannot
 * overflow).
 *
 * peers.py compiles it twice: scalar (-O2 -fno-tree-vectorize: one row at a time, as the engines
 * work) and vectorised (-O3, with AVX2 where the CPU has it).
 */
#include <stdint.h>

#define FILTER(name) \
	void c_filter_##name(const int32_t *a, const int64_t *b, const uint8_t *bnull, \
						 const int32_t *c, int64_t nrows, uint8_t *out)

/* a = 42 */
FILTER(eq)
{
	(void) b, (void) bnull, (void) c;
	for (int64_t i = 0; i < nrows; i++)
		out[i] = a[i] == 42;
}

/* a = 42 AND b > 10 */
FILTER(and)
{
	(void) c;
	for (int64_t i = 0; i < nrows; i++)
		out[i] = (a[i] == 42) & !bnull[i] & (b[i] > 10);
}

/* a + b > 1000 OR c < 5 */
FILTER(or_arith)
{
	for (int64_t i = 0; i < nrows; i++)
		out[i] = (!bnull[i] & (a[i] + b[i] > 1000)) | (c[i] < 5);
}

/* COALESCE(b, c) > 50 AND CASE WHEN a > 50 THEN c ELSE a END < 20 */
FILTER(coalesce_case)
{
	for (int64_t i = 0; i < nrows; i++)
	{
		int32_t		av = a[i],
					cv = c[i];
		int64_t		coalesced = bnull[i] ? cv : b[i];
		int32_t		chosen = av > 50 ? cv : av;

		out[i] = (coalesced > 50) & (chosen < 20);
	}
}

/* a <> 100 AND a <> 101 AND ... AND a <> 119 AND c >= 0, as it reads */
FILTER(and20)
{
	(void) b, (void) bnull;
	for (int64_t i = 0; i < nrows; i++)
	{
		int32_t		v = a[i];

		out[i] = (v != 100) & (v != 101) & (v != 102) & (v != 103) & (v != 104) & (v != 105)
			& (v != 106) & (v != 107) & (v != 108) & (v != 109) & (v != 110) & (v != 111)
			& (v != 112) & (v != 113) & (v != 114) & (v != 115) & (v != 116) & (v != 117)
			& (v != 118) & (v != 119) & (c[i] >= 0);
	}
}

/* a IN (1, 7, 42, 64, 99) */
FILTER(in_list)
{
	(void) b, (void) bnull, (void) c;
	for (int64_t i = 0; i < nrows; i++)
	{
		int32_t		v = a[i];

		out[i] = (v == 1) | (v == 7) | (v == 42) | (v == 64) | (v == 99);
	}
}

/*
 * Calls fn: callgrind counts what runs inside peers_measured_region
 * (--toggle-collect=peers_measured_region), which lets benchmarks/count_instructions.py count one
 * Python-level call of any peer or engine. Python enters through peers_measured_call: callgrind
 * does not see libffi's (ctypes') unusual call frame as a call, so the toggle is on a function
 * that C calls. The volatile stores after the calls keep them calls, not tail jumps.
 */
static volatile int64_t measured_calls;

__attribute__((noinline)) void
peers_measured_region(void (*fn)(void))
{
	fn();
	measured_calls++;
}

void
peers_measured_call(void (*fn)(void))
{
	peers_measured_region(fn);
	measured_calls++;
}
