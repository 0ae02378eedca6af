/*
 * cases_common.h: the opcode bodies copypatch and PostgreSQL's executor share word for word,
 * written once: boolean NOT, ExecQual's step, the jumps, NULL tests and boolean tests.
 *
 * Included by cases.h (at their place in the opcode list) and by the PostgreSQL JIT provider's
 * stencil template (csrc/pgjit/template.c), which compiles them against PostgreSQL's own
 * ExprEvalStep: both define the macros cases.h describes (CASE, NEXT, JUMP), and both step
 * structs have these operands under these names (op->resvalue, op->resnull,
 * op->d.qualexpr.jumpdone, op->d.jump.jumpdone), so the semantics stay execExprInterp.c's in both.
 * The destination is read and written through cases_operands.h's CP_DEST_VALUE/CP_DEST_NULL.
 */
#include "cases_operands.h"

CASE(EEOP_BOOL_NOT_STEP)
{
	/* NOT NULL is NULL: leave resnull alone */
	CP_DEST_VALUE = BoolGetDatum(!DatumGetBool(CP_DEST_VALUE));
	NEXT();
}

#define CP_QUAL_FALSE() \
	do { \
		CP_DEST_NULL = false; \
		CP_DEST_VALUE = BoolGetDatum(false); \
		JUMP(op->d.qualexpr.jumpdone); \
	} while (0)

CASE(EEOP_QUAL)
{
	/* ExecQual: a NULL or FALSE conjunct makes the whole qual FALSE */
	CP_IF_NULL_OR_FALSE(CP_QUAL_FALSE());
	NEXT();
}

CASE(EEOP_JUMP)
{
	JUMP(op->d.jump.jumpdone);
}

CASE(EEOP_JUMP_IF_NULL)
{
	if (CP_DEST_NULL)
		JUMP(op->d.jump.jumpdone);
	NEXT();
}

CASE(EEOP_JUMP_IF_NOT_NULL)
{
	if (!CP_DEST_NULL)
		JUMP(op->d.jump.jumpdone);
	NEXT();
}

CASE(EEOP_JUMP_IF_NOT_TRUE)
{
	CP_IF_NULL_OR_FALSE(JUMP(op->d.jump.jumpdone));
	NEXT();
}

CASE(EEOP_NULLTEST_ISNULL)
{
	CP_DEST_VALUE = BoolGetDatum(CP_DEST_NULL);
	CP_DEST_NULL = false;
	NEXT();
}

CASE(EEOP_NULLTEST_ISNOTNULL)
{
	CP_DEST_VALUE = BoolGetDatum(!CP_DEST_NULL);
	CP_DEST_NULL = false;
	NEXT();
}

CASE(EEOP_BOOLTEST_IS_TRUE)
{
	if (CP_DEST_NULL)
	{
		CP_DEST_VALUE = BoolGetDatum(false);
		CP_DEST_NULL = false;
	}
	/* else, the input value is the correct output as well */
	NEXT();
}

CASE(EEOP_BOOLTEST_IS_NOT_TRUE)
{
	if (CP_DEST_NULL)
	{
		CP_DEST_VALUE = BoolGetDatum(true);
		CP_DEST_NULL = false;
	}
	else
		CP_DEST_VALUE = BoolGetDatum(!DatumGetBool(CP_DEST_VALUE));
	NEXT();
}

CASE(EEOP_BOOLTEST_IS_FALSE)
{
	if (CP_DEST_NULL)
	{
		CP_DEST_VALUE = BoolGetDatum(false);
		CP_DEST_NULL = false;
	}
	else
		CP_DEST_VALUE = BoolGetDatum(!DatumGetBool(CP_DEST_VALUE));
	NEXT();
}

CASE(EEOP_BOOLTEST_IS_NOT_FALSE)
{
	if (CP_DEST_NULL)
	{
		CP_DEST_VALUE = BoolGetDatum(true);
		CP_DEST_NULL = false;
	}
	NEXT();
}
