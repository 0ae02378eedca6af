/*
 * check.c: the checking interpreter, which proves opcodes.def's effects column true.
 *
 * The verifier trusts the table: what a step reads and writes, slot by slot, is what opcodes.def
 * declares. This engine is the switch interpreter of interp.c (the same bodies, cases.h) with a
 * hook before every step, so that a test can see what each body really does:
 *
 * - before a step, every slot part (value or NULL flag) it is declared not to read is poisoned
 *   with a canary, saved first (a CHECKED read's value too, where the flag is true): a body that
 *   reads an undeclared part computes with the canary, and its result differs from the other
 *   engines';
 * - after it, a part that changed was written: WROTE_* bits, per step and slot, which the test
 *   compares with the declaration (a write it does not declare is a verifier hole); a poisoned
 *   part the step was declared to write (MUST, or IFNN under a false flag) and did not is a
 *   violation; a poisoned part it did not write gets its saved contents back;
 * - a shadow of which parts were written this row (a flag written alone leaves its value
 *   undefined, as the verifier sees it) finds any read of a part nothing wrote.
 *
 * A separate function, never the default engine: the hook costs the default engines nothing.
 * The JIT's stencils come from the same bodies, so what holds here holds there.
 */
#include "functions.h"

/* a canary per slot, so that a copy of one slot's canary into another still shows */
#define CP_CHECK_CANARY(k)	((Datum) 0x5a5aa5a55a5aa5a5ULL ^ (Datum) (k))
#define CP_CHECK_NULL_CANARY ((uint8_t) 0xa5)

enum
{
	DEFINED_VALUE = 1,
	DEFINED_NULL = 2
};

static _Thread_local CpCheck *cp_check;

void
cp_check_set(CpCheck *check)
{
	cp_check = check;
}

static uint8_t
null_byte(const bool *isnull)
{
	uint8_t		b;

	memcpy(&b, isnull, 1);
	return b;
}

static void
set_null_byte(bool *isnull, uint8_t b)
{
	memcpy(isnull, &b, 1);
}

/* the step under way is done: what did it write? */
static void
check_finish(CpCheck *ck)
{
	int32_t		i = ck->current;
	const uint8_t *plan;
	int32_t		copy_from = -1;
	uint8_t		copy_defined = 0;

	if (i < 0)
		return;
	plan = ck->plan + (int64_t) i * ck->nslots;
	for (int32_t k = 0; k < ck->nslots; k++)
		if (plan[k] & CP_CHECK_COPY_SOURCE)
		{
			copy_from = k;
			copy_defined = ck->defined[k];
		}
	for (int32_t k = 0; k < ck->nslots; k++)
	{
		const CpCheckSlot *slot = &ck->slots[k];
		uint8_t		p = plan[k];
		uint8_t		poisoned = ck->poisoned[k];
		uint8_t		nb = null_byte(slot->isnull);
		bool		wrote_value = (poisoned & 1) ? *slot->value != CP_CHECK_CANARY(k)
			: *slot->value != ck->saved_values[k];
		bool		wrote_null = (poisoned & 2) ? nb != CP_CHECK_NULL_CANARY
			: nb != ck->saved_nulls[k];
		uint8_t    *viol = &ck->violations[(int64_t) i * ck->nslots + k];

		if ((poisoned & 1) && !wrote_value)
			*slot->value = ck->saved_values[k];
		if ((poisoned & 2) && !wrote_null)
			set_null_byte(slot->isnull, ck->saved_nulls[k]);
		if ((p & CP_CHECK_MUST_VALUE) && (poisoned & 1) && !wrote_value)
			*viol |= CP_CHECK_MISSED_VALUE;
		if ((p & CP_CHECK_IFNN_VALUE) && (poisoned & 1) && !wrote_value && !*slot->isnull)
			*viol |= CP_CHECK_MISSED_VALUE;
		if ((p & CP_CHECK_MUST_NULL) && (poisoned & 2) && !wrote_null)
			*viol |= CP_CHECK_MISSED_NULL;
		ck->written[(int64_t) i * ck->nslots + k] |=
			(wrote_value ? CP_CHECK_WROTE_VALUE : 0) | (wrote_null ? CP_CHECK_WROTE_NULL : 0);
		/* the shadow: a flag written without its value leaves no value readable */
		if (wrote_null)
			ck->defined[k] = (ck->defined[k] & ~DEFINED_VALUE) | DEFINED_NULL;
		if (wrote_value)
		{
			/* a copy (CASE_TESTVAL, NULLIF) is as defined as what it copied */
			bool		defined = copy_from < 0 || k != ck->dest_slot[i]
				|| (copy_defined & DEFINED_VALUE);

			ck->defined[k] = defined ? ck->defined[k] | DEFINED_VALUE
				: ck->defined[k] & ~DEFINED_VALUE;
		}
		ck->poisoned[k] = 0;
	}
	ck->current = -1;
}

/* step i is about to run: check its reads, poison what it does not read */
static void
check_begin(CpCheck *ck, int32_t i)
{
	const uint8_t *plan = ck->plan + (int64_t) i * ck->nslots;

	if (i == 0)					/* a row starts (jumps only go forward) */
		memcpy(ck->defined, ck->initially, ck->nslots);
	ck->executions[i]++;
	for (int32_t k = 0; k < ck->nslots; k++)
	{
		const CpCheckSlot *slot = &ck->slots[k];
		uint8_t		p = plan[k];
		uint8_t		d = ck->defined[k];
		uint8_t    *viol = &ck->violations[(int64_t) i * ck->nslots + k];
		bool		value_read = (p & CP_CHECK_NEEDS_VALUE) ||
			((p & CP_CHECK_CHECKED) && (d & DEFINED_NULL) && !*slot->isnull);

		if (!(p & CP_CHECK_POISON_NULL) && !(d & DEFINED_NULL))
			*viol |= CP_CHECK_UNDEFINED_NULL;
		if (value_read && !(d & DEFINED_VALUE))
			*viol |= CP_CHECK_UNDEFINED_VALUE;
		/* a read with no NULL check (NONULL) must find no NULL: it would read no value */
		if ((p & CP_CHECK_NEEDS_VALUE) && (!(d & DEFINED_NULL) || *slot->isnull))
			*viol |= CP_CHECK_UNDEFINED_VALUE;
		ck->saved_values[k] = *slot->value;
		ck->saved_nulls[k] = null_byte(slot->isnull);
		ck->poisoned[k] = 0;
		if ((p & CP_CHECK_POISON_VALUE) ||
			((p & CP_CHECK_CHECKED) && !(p & CP_CHECK_NEEDS_VALUE) && *slot->isnull))
		{
			*slot->value = CP_CHECK_CANARY(k);
			ck->poisoned[k] |= 1;
		}
		if (p & CP_CHECK_POISON_NULL)
		{
			set_null_byte(slot->isnull, CP_CHECK_NULL_CANARY);
			ck->poisoned[k] |= 2;
		}
	}
	ck->current = i;
}

void
cp_check_abort(CpCheck *check)
{
	if (check->current < 0)
		return;
	for (int32_t k = 0; k < check->nslots; k++)
	{
		if (check->poisoned[k] & 1)
			*check->slots[k].value = check->saved_values[k];
		if (check->poisoned[k] & 2)
			set_null_byte(check->slots[k].isnull, check->saved_nulls[k]);
		check->poisoned[k] = 0;
	}
	check->current = -1;
}

/* ---- switch dispatch, with the hook ---- */
#define CASE(name)	case name:
#define NEXT()		do { op++; goto dispatch; } while (0)
#define JUMP(i)		do { op = &state->steps[(i)]; goto dispatch; } while (0)

static Datum
cp_interp_check_steps(ExprState *state, ExprContext *econtext, bool *isnull)
{
	ExprEvalStep *op = state->steps;

dispatch:
	if (cp_check != NULL)
	{
		check_finish(cp_check);
		check_begin(cp_check, (int32_t) (op - state->steps));
	}
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

static Datum
cp_interp_check(ExprState *state, ExprContext *econtext, bool *isnull)
{
	Datum		d = cp_interp_check_steps(state, econtext, isnull);

	/* the step that returned (DONE, or the row loop's last) */
	if (cp_check != NULL)
		check_finish(cp_check);
	return d;
}

ExprStateEvalFunc
cp_engine_check(void)
{
	return cp_interp_check;
}
