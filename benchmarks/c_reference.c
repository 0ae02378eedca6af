/*
 * c_reference.c: `a = 42` written by hand, the limit a row-at-a-time engine can approach.
 *
 * c_filter_a_eq_42 does what cp_scan + a program does for `WHERE a = 42` on a NOT NULL int4
 * column: one output byte per row. Built by bench_rows.py (as a shared library, timed by pyperf)
 * and by count_instructions.py (as a program, counted by callgrind). Compiled with
 * -fno-tree-vectorize for the scalar limit (one row at a time, as the engines work); the
 * vectorised loop is reported alongside for context.
 */
#include <stdint.h>
#include <stdlib.h>

__attribute__((noinline)) void
c_filter_a_eq_42(const int32_t *a, int64_t nrows, uint8_t *mask)
{
	for (int64_t row = 0; row < nrows; row++)
		mask[row] = a[row] == 42;
}

#ifdef C_REFERENCE_MAIN
int
main(int argc, char **argv)
{
	int64_t		nrows = argc > 1 ? atoll(argv[1]) : 200000;
	int32_t    *a = malloc((size_t) nrows * sizeof(int32_t));
	uint8_t    *mask = malloc((size_t) nrows);
	int64_t		hits = 0;

	for (int64_t i = 0; i < nrows; i++)
		a[i] = (int32_t) ((i * 2654435761u) % 100);
	c_filter_a_eq_42(a, nrows, mask);
	for (int64_t i = 0; i < nrows; i++)
		hits += mask[i];
	free(a);
	free(mask);
	return hits == 0;			/* use the result */
}
#endif
