/*
 * block.h: the tests of the block-at-a-time opcodes (EEOP_BLOCK_QUAL_*, the block_scan pass),
 * each written once, as functions that cases.h's bodies call.
 *
 * The interpreters call them out of line (one call per block of CP_BLOCK_ROWS rows): inlined
 * into the dispatch loop, their loops and an IN list's buffer made the compiler's code for the
 * row-at-a-time opcodes worse (goto's `a + b > 1000 OR c < 5` went from 132.9 to 144.3
 * instructions per row). The JIT's template defines CP_BLOCK_FN_ATTR as always_inline, so
 * each stencil is its test with the constant patched in.
 */
#ifndef COPYPATCH_BLOCK_H
#define COPYPATCH_BLOCK_H

#ifndef CP_BLOCK_FN_ATTR
#define CP_BLOCK_FN_ATTR __attribute__((noinline))
#endif

/*
 * The rows a block step tests at once. Chosen by measurement (docs/results.md, block at a
 * time): large enough that a block's fixed cost (dispatch, loop set-up, the all-FALSE test)
 * vanishes per row, small enough that the mask and an IN list's accumulator stay in L1.
 */
#ifndef CP_BLOCK_ROWS
#define CP_BLOCK_ROWS 256
#endif

/*
 * A whole block of a contiguous column (or mask) is one loop of CP_BLOCK_ROWS iterations over
 * constant strides, which compilers vectorise (clang, for the stencils: 16 rows per iteration,
 * SSE2 on x86-64, NEON on AArch64; gcc -O2, for the interpreters, as its cheap cost model
 * allows: no remainder, no aliasing check, the mask being restrict). The rest, a chunk's last
 * rows or a strided column, takes the plain loop (CP_BLOCK_SCALAR: not vectorised, which would
 * only make the stencils larger).
 */
#if defined(__clang__)
#define CP_BLOCK_SCALAR _Pragma("clang loop vectorize(disable) interleave(disable) unroll(disable)")
#define CP_BLOCK_WIDE _Pragma("clang loop vectorize_width(16) interleave_count(1) unroll(disable)")
#else
#define CP_BLOCK_SCALAR
#define CP_BLOCK_WIDE _Pragma("GCC ivdep")	/* gcc ignores a local restrict */
#endif
/* row i's test, the column value at p <f> c, as a 0/1 byte */
#define CP_BLOCK_TEST(f, p, c) ((uint8_t) DatumGetBool(f##_impl(f##_load0(p), (c))))
/* apply(i, test) for each row i of the block */
#define CP_BLOCK_CMP(f, c, apply) \
	do { \
		if (n == CP_BLOCK_ROWS && col->stride == f##_width0) \
			CP_BLOCK_WIDE for (int64_t i = 0; i < CP_BLOCK_ROWS; i++) \
				apply(i, CP_BLOCK_TEST(f, data + i * f##_width0, c)); \
		else \
			CP_BLOCK_SCALAR for (int64_t i = 0; i < n; i++) \
				apply(i, CP_BLOCK_TEST(f, data + i * col->stride, c)); \
	} while (0)
/* ... ANDed into the mask, noting whether any row is left */
#define CP_BLOCK_AND(i, t) (live |= (mask[i] &= (t)))
/* ... into an IN list's accumulator: the first element's, or an OR with the ones before */
#define CP_BLOCK_SET(i, t) (acc[i] = (t))
#define CP_BLOCK_OR(i, t) (acc[i] |= (t))
/* mask[i] &= bytes[i * stride] <op> for the block's rows, recounting the live rows */
#define CP_BLOCK_AND_BYTES(bytes, stride, op) \
	do { \
		live = 0; \
		if (n == CP_BLOCK_ROWS && (stride) == 1) \
			CP_BLOCK_WIDE for (int64_t i = 0; i < CP_BLOCK_ROWS; i++) \
				live |= (mask[i] &= (uint8_t) (bytes[i] op)); \
		else \
			CP_BLOCK_SCALAR for (int64_t i = 0; i < n; i++) \
				live |= (mask[i] &= (uint8_t) (bytes[i * (stride)] op)); \
	} while (0)

/*
 * cp_block_qual_<f>[_ANY][_NOTNULL](col, row, econtext, value): EEOP_QUAL_[ANY_]<f>[_NOTNULL]'s
 * test (a NULL is FALSE in a QUAL) for the rows [row, min(row + CP_BLOCK_ROWS, nrows)), ANDed
 * into the output mask; returns whether any row of the block is left. ANY: some non-NULL
 * element compares TRUE, accumulated element by element over the block (value is the CpArray).
 * A comparison cannot fail, so testing a row that an earlier conjunct already rejected changes
 * nothing PostgreSQL would see.
 */
#define CP_BLOCK_QUAL_FN(f, suffix, check_nulls, any) \
static inline CP_BLOCK_FN_ATTR uint8_t \
cp_block_qual_##f##suffix(const CpColumn *col, int64_t row, const ExprContext *econtext, \
						  uintptr_t value) \
{ \
	int64_t		n = econtext->nrows - row; \
	uint8_t    *restrict mask = (uint8_t *) econtext->out + row; \
	const char *data; \
	uint8_t		live = 0; \
	\
	if (n > CP_BLOCK_ROWS) \
		n = CP_BLOCK_ROWS; \
	data = col->data + row * col->stride; \
	if (!(any)) \
		CP_BLOCK_CMP(f, value, CP_BLOCK_AND); \
	else \
	{ \
		const CpArray *arr = (const CpArray *) value; \
		uint8_t		acc[CP_BLOCK_ROWS]; \
		bool		some = false; \
		\
		for (int32_t k = 0; k < arr->nitems; k++) \
		{ \
			if (arr->has_nulls && arr->nulls[k]) \
				continue;		/* a NULL element is never TRUE */ \
			if (!some) \
				CP_BLOCK_CMP(f, arr->values[k], CP_BLOCK_SET); \
			else \
				CP_BLOCK_CMP(f, arr->values[k], CP_BLOCK_OR); \
			some = true; \
		} \
		if (!some) \
		{ \
			/* no element but NULLs: the whole block is FALSE */ \
			CP_BLOCK_SCALAR for (int64_t i = 0; i < n; i++) \
				mask[i] = 0; \
			return 0; \
		} \
		CP_BLOCK_AND_BYTES(acc, 1, + 0); \
	} \
	if ((check_nulls) && col->nulls != NULL) \
	{ \
		const uint8_t *nulls = (const uint8_t *) col->nulls + row * col->null_stride; \
		\
		CP_BLOCK_AND_BYTES(nulls, col->null_stride, == 0); \
	} \
	return live; \
}
#define INLINE(f)
#define INLINE_CMP(f) \
CP_BLOCK_QUAL_FN(f, , true, false) \
CP_BLOCK_QUAL_FN(f, _NOTNULL, false, false) \
CP_BLOCK_QUAL_FN(f, _ANY, true, true) \
CP_BLOCK_QUAL_FN(f, _ANY_NOTNULL, false, true)
#include "inline.def"
#undef INLINE_CMP
#undef INLINE
#undef CP_BLOCK_QUAL_FN

#endif							/* COPYPATCH_BLOCK_H */
