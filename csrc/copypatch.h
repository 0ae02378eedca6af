/*
 * copypatch.h: the C core's internal header.
 *
 * api.h declares the interface (and is what cffi sees); this file adds what only C needs: Datum
 * conversions, the opcode and error enums expanded from their .def lists, and the error hook.
 */
#ifndef COPYPATCH_H
#define COPYPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* the boolean steps: they read a boolean from their destination and leave one there */
#define CP_OPF_BOOL_IN_OUT (CP_OPF_READS_DEST | CP_OPF_BOOL_IN | CP_OPF_BOOL_OUT)

typedef enum ExprEvalOp
{
#define OP(name, kind, flags) name,
#include "opcodes.def"
#undef OP
	EEOP_LAST
} ExprEvalOp;

typedef enum CpErrorCode
{
#define ERR(name, sqlstate, message) name,
#include "errors.def"
#undef ERR
	CP_ERR_LAST
} CpErrorCode;

/* PostgreSQL keeps ExprEvalStep at 64 bytes or less for cache efficiency; so do we. */
_Static_assert(sizeof(ExprEvalStep) <= 64, "ExprEvalStep grew beyond 64 bytes");
_Static_assert(offsetof(ExprEvalStep, d.minmax.fn_addr) == offsetof(ExprEvalStep, d.func.fn_addr),
			   "CALL_FN finds EEOP_MINMAX's comparison function where it finds a call's");
_Static_assert(sizeof(((ExprEvalStep *) 0)->d) == sizeof(((ExprEvalStep *) 0)->d.words),
			   "an ExprEvalStep operand is not covered by d.words");

/*
 * Where each operand kind keeps its jump target, relative to d.words[0]; -1 for a kind without
 * one. A new member of ExprEvalStep.d gets a line here (the check below will not compile
 * without it).
 */
#define CP_JUMPDONE_AT(member) \
	((int) offsetof(ExprEvalStep, d.member.jumpdone) - (int) offsetof(ExprEvalStep, d.words))
#define CP_JUMPDONE_none		(-1)
#define CP_JUMPDONE_fetch		(-1)
#define CP_JUMPDONE_var			(-1)
#define CP_JUMPDONE_column		(-1)
#define CP_JUMPDONE_constval	(-1)
#define CP_JUMPDONE_func		(-1)
#define CP_JUMPDONE_scalararrayop	(-1)
#define CP_JUMPDONE_boolexpr	CP_JUMPDONE_AT(boolexpr)
#define CP_JUMPDONE_qualexpr	CP_JUMPDONE_AT(qualexpr)
#define CP_JUMPDONE_jump		CP_JUMPDONE_AT(jump)
#define CP_JUMPDONE_minmax		(-1)
#define CP_JUMPDONE_casetest	(-1)

/*
 * The JIT reads every jump target from d.words[0] (runtime.c's jump_target): an opcode flagged
 * CP_OPF_JUMPS must have operands whose jump target sits there, and an opcode whose operands
 * have a jump target must be flagged, or the JIT would not patch its jump.
 */
#define OP(name, kind, flags) \
	_Static_assert(((flags) & CP_OPF_JUMPS) ? CP_JUMPDONE_##kind == 0 : CP_JUMPDONE_##kind < 0, \
				   #name ": its CP_OPF_JUMPS flag and its operands' jump target disagree, or the " \
				   "target is not in d.words[0], where the JIT reads it");
#include "opcodes.def"
#undef OP

/*
 * Datum conversions, PostgreSQL's: integers are sign-extended, float4 lives in the low 32 bits,
 * float8 is its bit pattern. The T token names a type in the .def lists.
 */
typedef bool cp_BOOL;
typedef int16_t cp_INT2;
typedef int32_t cp_INT4;
typedef int64_t cp_INT8;
typedef float cp_FLOAT4;
typedef double cp_FLOAT8;

static inline bool DatumGetBOOL(Datum d) { return d != 0; }
static inline int16_t DatumGetINT2(Datum d) { return (int16_t) d; }
static inline int32_t DatumGetINT4(Datum d) { return (int32_t) d; }
static inline int64_t DatumGetINT8(Datum d) { return (int64_t) d; }
static inline float DatumGetFLOAT4(Datum d)
{
	uint32_t	u = (uint32_t) d;
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}
static inline double DatumGetFLOAT8(Datum d)
{
	double		f;

	memcpy(&f, &d, sizeof(f));
	return f;
}
static inline Datum BOOLGetDatum(bool x) { return x ? 1 : 0; }
static inline Datum INT2GetDatum(int16_t x) { return (Datum) (int64_t) x; }
static inline Datum INT4GetDatum(int32_t x) { return (Datum) (int64_t) x; }
static inline Datum INT8GetDatum(int64_t x) { return (Datum) x; }
static inline Datum FLOAT4GetDatum(float x)
{
	uint32_t	u;

	memcpy(&u, &x, sizeof(u));
	return (Datum) u;
}
static inline Datum FLOAT8GetDatum(double x)
{
	Datum		d;

	memcpy(&d, &x, sizeof(d));
	return d;
}

#define DatumGetBool(d) DatumGetBOOL(d)
#define BoolGetDatum(x) BOOLGetDatum(x)

/*
 * Raise an evaluation error: PostgreSQL's ereport(ERROR). Control goes back to the cp_scan (or
 * cp_call_function) running on this thread, which reports the error and the current row.
 */
__attribute__((noreturn, cold)) void cp_error(CpErrorCode code);

/* Store one result of the evaluate mode in the output column's type. */
static inline void
cp_store_result(void *out, int64_t row, CpType type, Datum d)
{
	switch (type)
	{
		case CP_BOOL:
			((bool *) out)[row] = DatumGetBOOL(d);
			break;
		case CP_INT2:
			((int16_t *) out)[row] = DatumGetINT2(d);
			break;
		case CP_INT4:
			((int32_t *) out)[row] = DatumGetINT4(d);
			break;
		case CP_INT8:
			((int64_t *) out)[row] = DatumGetINT8(d);
			break;
		case CP_FLOAT4:
			((float *) out)[row] = DatumGetFLOAT4(d);
			break;
		case CP_FLOAT8:
			((double *) out)[row] = DatumGetFLOAT8(d);
			break;
	}
}

/* Out-of-line parts of opcodes, shared by the interpreters and the JIT's stencils. */
void		cp_slot_getsomeattrs(ExprContext *econtext, int32_t last_var);
void		ExecEvalScalarArrayOp(ExprState *state, ExprEvalStep *op);

/* The interpreters. */
Datum		cp_interp_switch(ExprState *state, ExprContext *econtext, bool *isnull);
Datum		cp_interp_goto(ExprState *state, ExprContext *econtext, bool *isnull);

#endif							/* COPYPATCH_H */
