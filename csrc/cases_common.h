/*
 * cases_common.h: the opcode bodies copypatch and PostgreSQL's executor share word for word,
 * written once: boolean NOT, ExecQual's step, the jumps, NULL tests and boolean tests.
 *
 * Included by cases.h (at their place in the opcode list) and by the PostgreSQL JIT provider's
 * stencil template (csrc/pgjit/template.c), which compiles them against PostgreSQL's own
 * ExprEvalStep: both define the macros cases.h describes (CASE, NEXT, JUMP), and both step
 * structs have these operands under these names (op->resvalue, op->resnull,
 * op->d.qualexpr.jumpdone, op->d.jump.jumpdone), so the semantics stay execExprInterp.c's in both.
 */

CASE(EEOP_BOOL_NOT_STEP)
{
	/* NOT NULL is NULL: leave resnull alone */
	*op->resvalue = BoolGetDatum(!DatumGetBool(*op->resvalue));
	NEXT();
}

CASE(EEOP_QUAL)
{
	/* ExecQual: a NULL or FALSE conjunct makes the whole qual FALSE */
	if (*op->resnull || !DatumGetBool(*op->resvalue))
	{
		*op->resnull = false;
		*op->resvalue = BoolGetDatum(false);
		JUMP(op->d.qualexpr.jumpdone);
	}
	NEXT();
}

CASE(EEOP_JUMP)
{
	JUMP(op->d.jump.jumpdone);
}

CASE(EEOP_JUMP_IF_NULL)
{
	if (*op->resnull)
		JUMP(op->d.jump.jumpdone);
	NEXT();
}

CASE(EEOP_JUMP_IF_NOT_NULL)
{
	if (!*op->resnull)
		JUMP(op->d.jump.jumpdone);
	NEXT();
}

CASE(EEOP_JUMP_IF_NOT_TRUE)
{
	if (*op->resnull || !DatumGetBool(*op->resvalue))
		JUMP(op->d.jump.jumpdone);
	NEXT();
}

CASE(EEOP_NULLTEST_ISNULL)
{
	*op->resvalue = BoolGetDatum(*op->resnull);
	*op->resnull = false;
	NEXT();
}

CASE(EEOP_NULLTEST_ISNOTNULL)
{
	*op->resvalue = BoolGetDatum(!*op->resnull);
	*op->resnull = false;
	NEXT();
}

CASE(EEOP_BOOLTEST_IS_TRUE)
{
	if (*op->resnull)
	{
		*op->resvalue = BoolGetDatum(false);
		*op->resnull = false;
	}
	/* else, the input value is the correct output as well */
	NEXT();
}

CASE(EEOP_BOOLTEST_IS_NOT_TRUE)
{
	if (*op->resnull)
	{
		*op->resvalue = BoolGetDatum(true);
		*op->resnull = false;
	}
	else
		*op->resvalue = BoolGetDatum(!DatumGetBool(*op->resvalue));
	NEXT();
}

CASE(EEOP_BOOLTEST_IS_FALSE)
{
	if (*op->resnull)
	{
		*op->resvalue = BoolGetDatum(false);
		*op->resnull = false;
	}
	else
		*op->resvalue = BoolGetDatum(!DatumGetBool(*op->resvalue));
	NEXT();
}

CASE(EEOP_BOOLTEST_IS_NOT_FALSE)
{
	if (*op->resnull)
	{
		*op->resvalue = BoolGetDatum(true);
		*op->resnull = false;
	}
	NEXT();
}
