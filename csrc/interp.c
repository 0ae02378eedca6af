/*
 * interp.c: the two interpreters, switch dispatch and computed-goto dispatch.
 *
 * Both are the opcode bodies of cases.h under different macros, as PostgreSQL's
 * ExecInterpExpr is under EEO_USE_COMPUTED_GOTO or not:
 *
 * - cp_interp_switch: one `switch` at the top of a loop; every step returns to it, so the CPU
 *   predicts every opcode transition from a single indirect branch.
 * - cp_interp_goto: each body ends with its own indirect `goto *op->opcode`; the program was
 *   readied by cp_goto_prepare, which replaced each opcode number by its label's address
 *   (PostgreSQL's ExecReadyInterpretedExpr), so the branch predictor sees one branch per body.
 *
 * Any difference between the engines' results is therefore a bug in dispatch, never in a body.
 */
#include "functions.h"

/* ---- switch dispatch ---- */
#define CASE(name)	case name:
#define NEXT()		do { op++; goto dispatch; } while (0)
#define JUMP(i)		do { op = &state->steps[(i)]; goto dispatch; } while (0)

Datum
cp_interp_switch(ExprState *state, ExprContext *econtext, bool *isnull)
{
	ExprEvalStep *op = state->steps;

dispatch:
	switch ((ExprEvalOp) op->opcode)
	{
#include "cases.h"
		case EEOP_LAST:
			break;
	}
	__builtin_unreachable();
}

#undef CASE
#undef NEXT
#undef JUMP

/* ---- computed-goto dispatch ---- */
#define CASE(name)	label_##name:
#define DISPATCH()	goto *((void *) op->opcode)
#define NEXT()		do { op++; DISPATCH(); } while (0)
#define JUMP(i)		do { op = &state->steps[(i)]; DISPATCH(); } while (0)

static const void *const *cp_goto_table;

/*
 * Called with state == NULL, returns its label table instead of evaluating: the labels exist
 * only inside this function (PostgreSQL does the same in ExecInterpExpr).
 */
Datum
cp_interp_goto(ExprState *state, ExprContext *econtext, bool *isnull)
{
	static const void *const dispatch_table[] = {
#define OP(name, kind, flags, effects) &&label_##name,
#include "opcodes.def"
#undef OP
	};
	ExprEvalStep *op;

	_Static_assert(sizeof(dispatch_table) / sizeof(dispatch_table[0]) == EEOP_LAST,
				   "dispatch_table out of whack with ExprEvalOp");

	if (unlikely(state == NULL))
	{
		__atomic_store_n(&cp_goto_table, dispatch_table, __ATOMIC_RELEASE);
		return 0;
	}
	op = state->steps;
	DISPATCH();

#include "cases.h"
}

#undef CASE
#undef DISPATCH
#undef NEXT
#undef JUMP

void
cp_goto_prepare(ExprState *state)
{
	const void *const *table = __atomic_load_n(&cp_goto_table, __ATOMIC_ACQUIRE);

	if (table == NULL)
	{
		cp_interp_goto(NULL, NULL, NULL);
		table = __atomic_load_n(&cp_goto_table, __ATOMIC_ACQUIRE);
	}
	for (int32_t i = 0; i < state->steps_len; i++)
		state->steps[i].opcode = (intptr_t) table[state->steps[i].opcode];
}

ExprStateEvalFunc
cp_engine_switch(void)
{
	return cp_interp_switch;
}

ExprStateEvalFunc
cp_engine_goto(void)
{
	return cp_interp_goto;
}

/* opcodes.def's columns, for Python (src/copypatch/opcodes.py) */
const char *const cp_opcode_names[] = {
#define OP(name, kind, flags, effects) #name,
#include "opcodes.def"
#undef OP
};
const uint8_t cp_opcode_kinds[] = {
#define OP(name, kind, flags, effects) CP_OPERANDS_##kind,
#include "opcodes.def"
#undef OP
};
const uint32_t cp_opcode_flags[] = {
#define OP(name, kind, flags, effects) (flags),
#include "opcodes.def"
#undef OP
};
const uint64_t cp_opcode_effects[] = {
#define OP(name, kind, flags, effects) (effects),
#include "opcodes.def"
#undef OP
};
const int	cp_num_opcodes = EEOP_LAST;

_Static_assert(sizeof(cp_opcode_names) / sizeof(cp_opcode_names[0]) == EEOP_LAST &&
			   sizeof(cp_opcode_kinds) == EEOP_LAST &&
			   sizeof(cp_opcode_flags) / sizeof(cp_opcode_flags[0]) == EEOP_LAST &&
			   sizeof(cp_opcode_effects) / sizeof(cp_opcode_effects[0]) == EEOP_LAST,
			   "opcode tables out of whack with ExprEvalOp");
