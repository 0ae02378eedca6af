/*
 * template.c: the PostgreSQL provider's stencil template: PostgreSQL's own EEOP_* steps, against
 * PostgreSQL's own structs (its server headers), with execExprInterp.c's semantics.
 *
 * Never compiled into anything: the stencil build (src/copypatch/_stencils/pgset.py) compiles it
 * with clang, with the flags of copypatch's own stencils (_targets.py), into one function per
 * opcode, `stencil_<EEOP_NAME>`, and writes their bytes and relocations as a header the provider
 * includes (emit.c). It works as csrc/jit/template.c does: a hole is an extern symbol _JIT_<NAME>;
 * the step's words are rebuilt from holes into a local ExprEvalStep the bodies read through
 * `op`, so op->d.x is an immediate; stencils are preserve_none functions of ExprStateEvalFunc's
 * arguments, chained by musttail calls (NEXT, JUMP) and entered through CP_JIT_ENTRY, a C-ABI
 * stencil the provider points state->evalfunc at. Helpers that take `op` get the real step
 * (REAL_OP): some write into it (ExecEvalScalarArrayOp caches its lookups there).
 *
 * ExecInterpExpr keeps the slots in locals, read once per call; here each step reads them from
 * the ExprContext (econtext stays in a register across the chain). An opcode without a stencil
 * here is not compiled: the provider leaves the whole expression to the interpreter, counted.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupmacs.h"
#include "executor/execExpr.h"
#include "executor/tuptable.h"
#include "executor/nodeAgg.h"
#include "nodes/execnodes.h"
#include "utils/expandeddatum.h"

#include <math.h>

#include "pgjit.h"

/* ---------------------------------------------------------------------------------------------
 * copypatch's inlined built-ins (csrc/inline.def), their bodies from csrc/functions_arith.h, the
 * ones copypatch's own stencils inline: here under PostgreSQL's Datum, with copypatch's names
 * for its conversions (postgres.h's, the same conventions) and errors (errors.def's codes,
 * raised by provider.c's cp_pg_error with errors.def's SQLSTATE and message, PostgreSQL's own).
 * ------------------------------------------------------------------------------------------- */
typedef int16 cp_INT2;
typedef int32 cp_INT4;
typedef int64 cp_INT8;
typedef float4 cp_FLOAT4;
typedef float8 cp_FLOAT8;
#define DatumGetINT2(d) DatumGetInt16(d)
#define DatumGetINT4(d) DatumGetInt32(d)
#define DatumGetINT8(d) DatumGetInt64(d)
#define DatumGetFLOAT4(d) DatumGetFloat4(d)
#define DatumGetFLOAT8(d) DatumGetFloat8(d)
#define INT2GetDatum(x) Int16GetDatum(x)
#define INT4GetDatum(x) Int32GetDatum(x)
#define INT8GetDatum(x) Int64GetDatum(x)
#define FLOAT4GetDatum(x) Float4GetDatum(x)
#define FLOAT8GetDatum(x) Float8GetDatum(x)
#define BOOLGetDatum(x) BoolGetDatum(x)
enum
{
#define ERR(name, sqlstate, message) name,
#include "../errors.def"
#undef ERR
};
#define cp_error(code) cp_pg_error(code)
/* a comparison's first argument read from a tuple's data (CP_QUAL_TUP_<f>) */
#define CP_LOAD0(name, T1) \
	static inline Datum name##_tup0(const char *p) { return T1##GetDatum(*(const cp_##T1 *) p); }
#include "../functions_arith.h"
/* functions.def's lines of those families; every other family is functions.h's alone */
#define IUNARY(...)
#define FUNARY(...)
#define BCMP(...)
#define CAST(...)
#define IABS(...)
#define IBIT(...)
#define IBITNOT(...)
#define ISHL(...)
#define ISHR(...)
#define FMATH(...)
#define FMATH0(...)
#define BTCMP(...)
#define IGCD(...)
#define ILCM(...)
#define FCINFO(...)
#define FCINFO_NULL(...)
#define DTCMP(...)
#define DTFN(...)
#include "../functions.def"

/* Holes: the value is the symbol's address. */
#define HOLE_SYMBOL(name) extern char name[1] /* size 1: a "large" object, so movabs + R_X86_64_64 */
HOLE_SYMBOL(_JIT_RESVALUE);
HOLE_SYMBOL(_JIT_RESNULL);
HOLE_SYMBOL(_JIT_D0);
HOLE_SYMBOL(_JIT_D1);
HOLE_SYMBOL(_JIT_D2);
HOLE_SYMBOL(_JIT_D3);
HOLE_SYMBOL(_JIT_D4);
HOLE_SYMBOL(_JIT_STEP);

#define CP_CHAIN __attribute__((preserve_none))

extern CP_CHAIN Datum _JIT_CONTINUE(ExprState *state, ExprContext *econtext, bool *isnull);
extern CP_CHAIN Datum _JIT_JUMP_TARGET(ExprState *state, ExprContext *econtext, bool *isnull);

/* a hole's value, hidden from the optimiser (an extern's address is known to be non-null) */
#define HOLE(name) \
	({ uintptr_t hole_; __asm__("" : "=r" (hole_) : "0" ((uintptr_t) name)); hole_; })

/* the step's bytes as words: pgjit.h's CP_PG_STEP_WORDS */
typedef union CpPgStepWords
{
	ExprEvalStep step;
	uintptr_t	words[8];
} CpPgStepWords;

_Static_assert(sizeof(ExprEvalStep) == sizeof(uintptr_t[8]), "ExprEvalStep is not 8 words");
_Static_assert(offsetof(ExprEvalStep, d) == 3 * sizeof(uintptr_t), "d is not at word 3");

#define REAL_OP ((ExprEvalStep *) HOLE(_JIT_STEP))

/*
 * CASE(name) closes the previous function and opens stencil_<name>, as in csrc/jit/template.c:
 * a body (a block, as in csrc/cases.h) is followed by the next CASE or by the end of the list.
 */
#define CASE(name) \
	} \
	CP_CHAIN Datum stencil_##name(ExprState *state, ExprContext *econtext, bool *isnull); \
	CP_CHAIN Datum stencil_##name(ExprState *state, ExprContext *econtext, bool *isnull) \
	{ \
		STEP_PROLOGUE

/* the step rebuilt from its holes, as `op` */
#define STEP_PROLOGUE \
		CpPgStepWords jit_step_; \
		ExprEvalStep *const op = &jit_step_.step; \
		jit_step_.words[0] = 0; \
		jit_step_.words[1] = HOLE(_JIT_RESVALUE); \
		jit_step_.words[2] = HOLE(_JIT_RESNULL); \
		jit_step_.words[3] = HOLE(_JIT_D0); \
		jit_step_.words[4] = HOLE(_JIT_D1); \
		jit_step_.words[5] = HOLE(_JIT_D2); \
		jit_step_.words[6] = HOLE(_JIT_D3); \
		jit_step_.words[7] = HOLE(_JIT_D4); \
		(void) op; (void) state; (void) econtext; (void) isnull;

#define NEXT() \
	do { __attribute__((musttail)) return _JIT_CONTINUE(state, econtext, isnull); } while (0)
#define JUMP(i) \
	do { (void) (i); __attribute__((musttail)) return _JIT_JUMP_TARGET(state, econtext, isnull); } while (0)

/* ExecInterpExpr's locals */
#define innerslot (econtext->ecxt_innertuple)
#define outerslot (econtext->ecxt_outertuple)
#define scanslot (econtext->ecxt_scantuple)
#define resultslot (state->resultslot)

/* The C-ABI entry: calls step 0, whose chain returns here from EEOP_DONE. */
Datum		stencil_CP_JIT_ENTRY(ExprState *state, ExprContext *econtext, bool *isnull);
Datum
stencil_CP_JIT_ENTRY(ExprState *state, ExprContext *econtext, bool *isnull)
{
	return _JIT_CONTINUE(state, econtext, isnull);
}

/* ---------------------------------------------------------------------------------------------
 * Aggregates: execExprInterp.c's ExecAggPlainTransByVal/ByRef are static there (always
 * inlined into its interpreter); these are the same steps, in its order.
 * ------------------------------------------------------------------------------------------- */

#define AGGSTATE ((AggState *) state->parent)

static inline __attribute__((always_inline)) void
agg_plain_trans(AggState *aggstate, AggStatePerTrans pertrans, AggStatePerGroup pergroup,
				ExprContext *aggcontext, int setno, bool byref)
{
	FunctionCallInfo fcinfo = pertrans->transfn_fcinfo;
	MemoryContext oldContext;
	Datum		newVal;

	/* cf. select_current_set() */
	aggstate->curaggcontext = aggcontext;
	aggstate->current_set = setno;
	/* set up aggstate->curpertrans for AggGetAggref() */
	aggstate->curpertrans = pertrans;
	/* invoke transition function in per-tuple context */
	oldContext = MemoryContextSwitchTo(aggstate->tmpcontext->ecxt_per_tuple_memory);
	fcinfo->args[0].value = pergroup->transValue;
	fcinfo->args[0].isnull = pergroup->transValueIsNull;
	fcinfo->isnull = false;		/* just in case transfn doesn't set it */
	newVal = FunctionCallInvoke(fcinfo);
	/* by reference: copied into aggcontext unless the transfn returned its first input */
	if (byref && DatumGetPointer(newVal) != DatumGetPointer(pergroup->transValue))
		newVal = ExecAggTransReparent(aggstate, pertrans, newVal, fcinfo->isnull,
									  pergroup->transValue, pergroup->transValueIsNull);
	pergroup->transValue = newVal;
	pergroup->transValueIsNull = fcinfo->isnull;
	MemoryContextSwitchTo(oldContext);
}

/* EEOP_AGG_PLAIN_TRANS_[INIT_][STRICT_]{BYVAL,BYREF} */
#define AGG_PLAIN_TRANS(init, strict, byref) \
	AggStatePerTrans pertrans = op->d.agg_trans.pertrans; \
	AggStatePerGroup pergroup = \
		&AGGSTATE->all_pergroups[op->d.agg_trans.setoff][op->d.agg_trans.transno]; \
	if ((init) && pergroup->noTransValue) \
		ExecAggInitGroup(AGGSTATE, pertrans, pergroup, op->d.agg_trans.aggcontext); \
	else if (!(strict) || likely(!pergroup->transValueIsNull)) \
		agg_plain_trans(AGGSTATE, pertrans, pergroup, op->d.agg_trans.aggcontext, \
						op->d.agg_trans.setno, (byref)); \
	NEXT();

#define AGG_DESERIALIZE \
	FunctionCallInfo fcinfo = op->d.agg_deserialize.fcinfo_data; \
	MemoryContext oldContext; \
	oldContext = MemoryContextSwitchTo(AGGSTATE->tmpcontext->ecxt_per_tuple_memory); \
	fcinfo->isnull = false; \
	*op->resvalue = FunctionCallInvoke(fcinfo); \
	*op->resnull = fcinfo->isnull; \
	MemoryContextSwitchTo(oldContext); \
	NEXT();

/* ---------------------------------------------------------------------------------------------
 * Bodies shaped as in execExprInterp.c; the ones copypatch has word for word come from
 * csrc/cases_common.h. The ones marked [dup] have a body in csrc/cases.h with the same semantics
 * and names, not yet moved there (docs/pgprovider.md); "[dup: ...]" names the one field spelled
 * differently in cases.h.
 * ------------------------------------------------------------------------------------------- */

#define FETCHSOME(slot) \
	slot_getsomeattrs((slot), op->d.fetch.last_var); \
	NEXT();

#define VAR(slot) \
	*op->resvalue = (slot)->tts_values[op->d.var.attnum]; \
	*op->resnull = (slot)->tts_isnull[op->d.var.attnum]; \
	NEXT();

#define ASSIGN_VAR(slot) \
	resultslot->tts_values[op->d.assign_var.resultnum] = (slot)->tts_values[op->d.assign_var.attnum]; \
	resultslot->tts_isnull[op->d.assign_var.resultnum] = (slot)->tts_isnull[op->d.assign_var.attnum]; \
	NEXT();

/* out of line, as execExprInterp.c: a helper of (state, op) or (state, op, econtext) */
#define CALL2(fn) fn(state, REAL_OP); NEXT();
#define CALL3(fn) fn(state, REAL_OP, econtext); NEXT();

/* BOOL_AND_STEP_FIRST resets anynull, then is BOOL_AND_STEP (a fall-through there) */
#define BOOL_STEP(stop_on) \
	if (*op->resnull) \
		*op->d.boolexpr.anynull = true; \
	else if (DatumGetBool(*op->resvalue) == (stop_on)) \
		JUMP(op->d.boolexpr.jumpdone); \
	NEXT();

#define BOOL_STEP_LAST(stop_on) \
	if (!*op->resnull && DatumGetBool(*op->resvalue) != (stop_on) && *op->d.boolexpr.anynull) \
	{ \
		*op->resvalue = (Datum) 0; \
		*op->resnull = true; \
	} \
	NEXT();

#define TESTVAL(datum, isnull_) \
	if (op->d.casetest.value) \
	{ \
		*op->resvalue = *op->d.casetest.value; \
		*op->resnull = *op->d.casetest.isnull; \
	} \
	else \
	{ \
		*op->resvalue = econtext->datum; \
		*op->resnull = econtext->isnull_; \
	} \
	NEXT();

/* IS [NOT] DISTINCT FROM: both NULL, one NULL, else the equality function (negated or not) */
#define DISTINCT(distinct) \
	{ \
		FunctionCallInfo fcinfo = op->d.func.fcinfo_data; \
		if (fcinfo->args[0].isnull && fcinfo->args[1].isnull) \
		{ \
			*op->resvalue = BoolGetDatum(!(distinct)); \
			*op->resnull = false; \
		} \
		else if (fcinfo->args[0].isnull || fcinfo->args[1].isnull) \
		{ \
			*op->resvalue = BoolGetDatum(distinct); \
			*op->resnull = false; \
		} \
		else \
		{ \
			Datum		eqresult; \
			fcinfo->isnull = false; \
			eqresult = op->d.func.fn_addr(fcinfo); \
			*op->resvalue = (distinct) ? BoolGetDatum(!DatumGetBool(eqresult)) : eqresult; \
			*op->resnull = fcinfo->isnull; \
		} \
	} \
	NEXT();

__attribute__((unused)) static void
stencil_template_start_(void)
{
CASE(EEOP_DONE)
{
	*isnull = state->resnull;
	return state->resvalue;
}

CASE(EEOP_INNER_FETCHSOME)
{
	FETCHSOME(innerslot)
}
CASE(EEOP_OUTER_FETCHSOME)
{
	FETCHSOME(outerslot)
}
CASE(EEOP_SCAN_FETCHSOME)
{
	FETCHSOME(scanslot)
}

CASE(EEOP_INNER_VAR)
{
	VAR(innerslot)
}
CASE(EEOP_OUTER_VAR)
{
	VAR(outerslot)
}
CASE(EEOP_SCAN_VAR)
{
	VAR(scanslot)
}
/* a NOT NULL column of the scan's known descriptor (provider.c's never_null) */
CASE(CP_SCAN_VAR_NOTNULL)
{
	*op->resvalue = scanslot->tts_values[op->d.var.attnum];
	*op->resnull = false;
	NEXT();
}
/* SCAN_VAR and the JUMP_IF_NOT_NULL testing it (COALESCE's arguments): the jump its jumpdone */
CASE(CP_SCAN_VAR_JUMP_IF_NOT_NULL)
{
	bool		null_ = scanslot->tts_isnull[op->d.var.attnum];

	*op->resvalue = scanslot->tts_values[op->d.var.attnum];
	*op->resnull = null_;
	if (!null_)
		JUMP(0);
	NEXT();
}

CASE(EEOP_INNER_SYSVAR)
{
	ExecEvalSysVar(state, REAL_OP, econtext, innerslot);
	NEXT();
}
CASE(EEOP_OUTER_SYSVAR)
{
	ExecEvalSysVar(state, REAL_OP, econtext, outerslot);
	NEXT();
}
CASE(EEOP_SCAN_SYSVAR)
{
	ExecEvalSysVar(state, REAL_OP, econtext, scanslot);
	NEXT();
}
CASE(EEOP_WHOLEROW)
{
	CALL3(ExecEvalWholeRowVar)
}

CASE(EEOP_ASSIGN_INNER_VAR)
{
	ASSIGN_VAR(innerslot)
}
CASE(EEOP_ASSIGN_OUTER_VAR)
{
	ASSIGN_VAR(outerslot)
}
CASE(EEOP_ASSIGN_SCAN_VAR)
{
	ASSIGN_VAR(scanslot)
}

CASE(EEOP_ASSIGN_TMP)
{
	resultslot->tts_values[op->d.assign_tmp.resultnum] = state->resvalue;
	resultslot->tts_isnull[op->d.assign_tmp.resultnum] = state->resnull;
	NEXT();
}
CASE(EEOP_ASSIGN_TMP_MAKE_RO)
{
	int			resultnum = op->d.assign_tmp.resultnum;

	resultslot->tts_isnull[resultnum] = state->resnull;
	if (!resultslot->tts_isnull[resultnum])
		resultslot->tts_values[resultnum] = MakeExpandedObjectReadOnlyInternal(state->resvalue);
	else
		resultslot->tts_values[resultnum] = state->resvalue;
	NEXT();
}

CASE(EEOP_CONST)	/* [dup] */
{
	*op->resnull = op->d.constval.isnull;
	*op->resvalue = op->d.constval.value;
	NEXT();
}

CASE(EEOP_FUNCEXPR)	/* [dup: d.func.fcinfo there] */
{
	FunctionCallInfo fcinfo = op->d.func.fcinfo_data;
	Datum		d;

	fcinfo->isnull = false;
	d = op->d.func.fn_addr(fcinfo);
	*op->resvalue = d;
	*op->resnull = fcinfo->isnull;
	NEXT();
}
CASE(EEOP_FUNCEXPR_STRICT)	/* [dup: d.func.fcinfo there] */
{
	FunctionCallInfo fcinfo = op->d.func.fcinfo_data;
	NullableDatum *args = fcinfo->args;
	int			nargs = op->d.func.nargs;
	Datum		d;

	for (int argno = 0; argno < nargs; argno++)
	{
		if (args[argno].isnull)
		{
			*op->resnull = true;
			NEXT();
		}
	}
	fcinfo->isnull = false;
	d = op->d.func.fn_addr(fcinfo);
	*op->resvalue = d;
	*op->resnull = fcinfo->isnull;
	NEXT();
}
CASE(EEOP_FUNCEXPR_FUSAGE)
{
	CALL3(ExecEvalFuncExprFusage)
}
CASE(EEOP_FUNCEXPR_STRICT_FUSAGE)
{
	CALL3(ExecEvalFuncExprStrictFusage)
}

CASE(EEOP_BOOL_AND_STEP_FIRST)
{
	*op->d.boolexpr.anynull = false;
	BOOL_STEP(false)
}
CASE(EEOP_BOOL_AND_STEP)
{
	BOOL_STEP(false)
}
CASE(EEOP_BOOL_AND_STEP_LAST)
{
	BOOL_STEP_LAST(false)
}
CASE(EEOP_BOOL_OR_STEP_FIRST)
{
	*op->d.boolexpr.anynull = false;
	BOOL_STEP(true)
}
CASE(EEOP_BOOL_OR_STEP)
{
	BOOL_STEP(true)
}
CASE(EEOP_BOOL_OR_STEP_LAST)
{
	BOOL_STEP_LAST(true)
}
/* BOOL_*_STEP_LAST and the QUAL testing it: the jump the QUAL's jumpdone */
#define BOOL_LAST_QUAL(stop_on) \
	if (*op->resnull || !DatumGetBool(*op->resvalue) || \
		(DatumGetBool(*op->resvalue) != (stop_on) && *op->d.boolexpr.anynull)) \
	{ \
		*op->resnull = false; \
		*op->resvalue = BoolGetDatum(false); \
		JUMP(0); \
	} \
	NEXT();
CASE(CP_BOOL_AND_STEP_LAST_QUAL)
{
	BOOL_LAST_QUAL(false)
}
CASE(CP_BOOL_OR_STEP_LAST_QUAL)
{
	BOOL_LAST_QUAL(true)
}

/* BOOL_NOT_STEP, QUAL, the jumps, NULLTEST_IS[NOT]NULL, the boolean tests: copypatch's */
#include "../cases_common.h"



CASE(EEOP_NULLTEST_ROWISNULL)
{
	CALL3(ExecEvalRowNull)
}
CASE(EEOP_NULLTEST_ROWISNOTNULL)
{
	CALL3(ExecEvalRowNotNull)
}


CASE(EEOP_PARAM_EXEC)
{
	CALL3(ExecEvalParamExec)
}
CASE(EEOP_PARAM_EXTERN)
{
	CALL3(ExecEvalParamExtern)
}
CASE(EEOP_PARAM_CALLBACK)
{
	op->d.cparam.paramfunc(state, REAL_OP, econtext);
	NEXT();
}

CASE(EEOP_CASE_TESTVAL)
{
	TESTVAL(caseValue_datum, caseValue_isNull)
}
CASE(EEOP_DOMAIN_TESTVAL)
{
	TESTVAL(domainValue_datum, domainValue_isNull)
}
CASE(EEOP_MAKE_READONLY)
{
	if (!*op->d.make_readonly.isnull)
		*op->resvalue = MakeExpandedObjectReadOnlyInternal(*op->d.make_readonly.value);
	*op->resnull = *op->d.make_readonly.isnull;
	NEXT();
}

CASE(EEOP_IOCOERCE)
{
	char	   *str;

	if (*op->resnull)
		str = NULL;				/* output functions are not called on nulls */
	else
	{
		FunctionCallInfo fcinfo_out = op->d.iocoerce.fcinfo_data_out;

		fcinfo_out->args[0].value = *op->resvalue;
		fcinfo_out->args[0].isnull = false;
		fcinfo_out->isnull = false;
		str = DatumGetCString(FunctionCallInvoke(fcinfo_out));
	}
	if (!op->d.iocoerce.finfo_in->fn_strict || str != NULL)
	{
		FunctionCallInfo fcinfo_in = op->d.iocoerce.fcinfo_data_in;
		Datum		d;

		fcinfo_in->args[0].value = PointerGetDatum(str);
		fcinfo_in->args[0].isnull = *op->resnull;
		fcinfo_in->isnull = false;
		d = FunctionCallInvoke(fcinfo_in);
		*op->resvalue = d;
	}
	NEXT();
}

CASE(EEOP_DISTINCT)
{
	DISTINCT(true)
}
CASE(EEOP_NOT_DISTINCT)
{
	DISTINCT(false)
}
CASE(EEOP_NULLIF)	/* [dup: d.func.fcinfo there] */
{
	FunctionCallInfo fcinfo = op->d.func.fcinfo_data;

	if (!fcinfo->args[0].isnull && !fcinfo->args[1].isnull)
	{
		Datum		result;

		fcinfo->isnull = false;
		result = op->d.func.fn_addr(fcinfo);
		if (!fcinfo->isnull && DatumGetBool(result))
		{
			*op->resvalue = (Datum) 0;
			*op->resnull = true;
			NEXT();
		}
	}
	*op->resvalue = fcinfo->args[0].value;
	*op->resnull = fcinfo->args[0].isnull;
	NEXT();
}

CASE(EEOP_SQLVALUEFUNCTION)
{
	CALL2(ExecEvalSQLValueFunction)
}
CASE(EEOP_CURRENTOFEXPR)
{
	CALL2(ExecEvalCurrentOfExpr)
}
CASE(EEOP_NEXTVALUEEXPR)
{
	CALL2(ExecEvalNextValueExpr)
}
CASE(EEOP_ARRAYEXPR)
{
	CALL2(ExecEvalArrayExpr)
}
CASE(EEOP_ARRAYCOERCE)
{
	CALL3(ExecEvalArrayCoerce)
}
CASE(EEOP_ROW)
{
	CALL2(ExecEvalRow)
}
CASE(EEOP_ROWCOMPARE_FINAL)
{
	int32		cmpresult = DatumGetInt32(*op->resvalue);

	*op->resnull = false;
	switch (op->d.rowcompare_final.rctype)
	{
		case ROWCOMPARE_LT:
			*op->resvalue = BoolGetDatum(cmpresult < 0);
			break;
		case ROWCOMPARE_LE:
			*op->resvalue = BoolGetDatum(cmpresult <= 0);
			break;
		case ROWCOMPARE_GE:
			*op->resvalue = BoolGetDatum(cmpresult >= 0);
			break;
		case ROWCOMPARE_GT:
			*op->resvalue = BoolGetDatum(cmpresult > 0);
			break;
		default:
			break;				/* EQ and NE are not allowed here */
	}
	NEXT();
}
CASE(EEOP_MINMAX)
{
	CALL2(ExecEvalMinMax)
}
CASE(EEOP_FIELDSELECT)
{
	CALL3(ExecEvalFieldSelect)
}
CASE(EEOP_FIELDSTORE_DEFORM)
{
	CALL3(ExecEvalFieldStoreDeForm)
}
CASE(EEOP_FIELDSTORE_FORM)
{
	CALL3(ExecEvalFieldStoreForm)
}
CASE(EEOP_SBSREF_SUBSCRIPTS)
{
	if (op->d.sbsref_subscript.subscriptfunc(state, REAL_OP, econtext))
		NEXT();
	JUMP(op->d.sbsref_subscript.jumpdone);
}
CASE(EEOP_SBSREF_OLD)
{
	op->d.sbsref.subscriptfunc(state, REAL_OP, econtext);
	NEXT();
}
CASE(EEOP_SBSREF_ASSIGN)
{
	op->d.sbsref.subscriptfunc(state, REAL_OP, econtext);
	NEXT();
}
CASE(EEOP_SBSREF_FETCH)
{
	op->d.sbsref.subscriptfunc(state, REAL_OP, econtext);
	NEXT();
}
CASE(EEOP_DOMAIN_NOTNULL)
{
	CALL2(ExecEvalConstraintNotNull)
}
CASE(EEOP_DOMAIN_CHECK)
{
	CALL2(ExecEvalConstraintCheck)
}
CASE(EEOP_CONVERT_ROWTYPE)
{
	CALL3(ExecEvalConvertRowtype)
}
CASE(EEOP_SCALARARRAYOP)
{
	CALL2(ExecEvalScalarArrayOp)
}
CASE(EEOP_HASHED_SCALARARRAYOP)
{
	CALL3(ExecEvalHashedScalarArrayOp)
}
CASE(EEOP_XMLEXPR)
{
	CALL2(ExecEvalXmlExpr)
}
CASE(EEOP_AGGREF)
{
	*op->resvalue = econtext->ecxt_aggvalues[op->d.aggref.aggno];
	*op->resnull = econtext->ecxt_aggnulls[op->d.aggref.aggno];
	NEXT();
}
CASE(EEOP_GROUPING_FUNC)
{
	CALL2(ExecEvalGroupingFunc)
}
CASE(EEOP_WINDOW_FUNC)
{
	WindowFuncExprState *wfunc = op->d.window_func.wfstate;

	*op->resvalue = econtext->ecxt_aggvalues[wfunc->wfuncno];
	*op->resnull = econtext->ecxt_aggnulls[wfunc->wfuncno];
	NEXT();
}
CASE(EEOP_SUBPLAN)
{
	CALL3(ExecEvalSubPlan)
}

CASE(EEOP_AGG_STRICT_DESERIALIZE)
{
	if (op->d.agg_deserialize.fcinfo_data->args[0].isnull)
		JUMP(op->d.agg_deserialize.jumpnull);
	AGG_DESERIALIZE
}
CASE(EEOP_AGG_DESERIALIZE)
{
	AGG_DESERIALIZE
}
CASE(EEOP_AGG_STRICT_INPUT_CHECK_ARGS)
{
	NullableDatum *args = op->d.agg_strict_input_check.args;

	for (int argno = 0; argno < op->d.agg_strict_input_check.nargs; argno++)
		if (args[argno].isnull)
			JUMP(op->d.agg_strict_input_check.jumpnull);
	NEXT();
}
CASE(EEOP_AGG_STRICT_INPUT_CHECK_NULLS)
{
	bool	   *nulls = op->d.agg_strict_input_check.nulls;

	for (int argno = 0; argno < op->d.agg_strict_input_check.nargs; argno++)
		if (nulls[argno])
			JUMP(op->d.agg_strict_input_check.jumpnull);
	NEXT();
}
CASE(EEOP_AGG_PLAIN_PERGROUP_NULLCHECK)
{
	if (AGGSTATE->all_pergroups[op->d.agg_plain_pergroup_nullcheck.setoff] == NULL)
		JUMP(op->d.agg_plain_pergroup_nullcheck.jumpnull);
	NEXT();
}
CASE(EEOP_AGG_PLAIN_TRANS_INIT_STRICT_BYVAL)
{
	AGG_PLAIN_TRANS(true, true, false)
}
CASE(EEOP_AGG_PLAIN_TRANS_STRICT_BYVAL)
{
	AGG_PLAIN_TRANS(false, true, false)
}
CASE(EEOP_AGG_PLAIN_TRANS_BYVAL)
{
	AGG_PLAIN_TRANS(false, false, false)
}
CASE(EEOP_AGG_PLAIN_TRANS_INIT_STRICT_BYREF)
{
	AGG_PLAIN_TRANS(true, true, true)
}
CASE(EEOP_AGG_PLAIN_TRANS_STRICT_BYREF)
{
	AGG_PLAIN_TRANS(false, true, true)
}
CASE(EEOP_AGG_PLAIN_TRANS_BYREF)
{
	AGG_PLAIN_TRANS(false, false, true)
}
CASE(EEOP_AGG_ORDERED_TRANS_DATUM)
{
	CALL3(ExecEvalAggOrderedTransDatum)
}
CASE(EEOP_AGG_ORDERED_TRANS_TUPLE)
{
	CALL3(ExecEvalAggOrderedTransTuple)
}


/* ---------------------------------------------------------------------------------------------
 * Inlined built-ins (provider.c matches a FUNCEXPR[_STRICT] step's fn_addr against PostgreSQL's
 * own int4eq ...): CP_INLINE_<f> is FUNCEXPR_STRICT with <f>_impl in place of the call through
 * fn_addr; CP_INLINE_<f>_NONULL leaves out the NULL checks, for arguments provider.c knows are
 * never NULL (a non-NULL constant, a NOT NULL column of the scan, another inlined function of
 * such arguments). A comparison also gets CP_QUAL_VAR_<f>[_NOTNULL], three of PostgreSQL's steps
 * in one: SCAN_VAR (D0: attnum), the call with a constant second argument (D1: its value, which
 * ExecInitFunc put in the call info once) and the QUAL that tests it (jumping to its jumpdone,
 * the result written where the QUAL's is); _NOTNULL for a NOT NULL column. Any function also
 * gets CP_VAR_CONST_<f>[_NOTNULL], the same without the QUAL: SCAN_VAR and the call, the result
 * written where the call's is, and CP_VAR_VAR_<f>[_NOTNULL], two SCAN_VARs and the call. And
 * CP_SCALARARRAYOP_<f>: an IN list (= ANY, <> ALL, ...) of a constant array.
 * ------------------------------------------------------------------------------------------- */
#define INLINE_CALL(f, check_nulls) \
	NullableDatum *args = op->d.func.fcinfo_data->args; \
	if ((check_nulls) && (args[0].isnull | args[1].isnull)) \
	{ \
		*op->resnull = true; \
		NEXT(); \
	} \
	*op->resvalue = f##_impl(args[0].value, args[1].value); \
	*op->resnull = false; \
	NEXT();
/* the fused compare-and-branch: f(a, b) unless NULL, QUAL's jump on anything but TRUE; on
 * TRUE the result is stored unless `store` is false (_NOSTORE: provider.c knows the next step
 * is another such qual, which overwrites it) */
#define QUAL_VALUE(f, a, b, null_, store) \
	if ((null_) || !DatumGetBool(f##_impl((a), (b)))) \
	{ \
		*op->resnull = false; \
		*op->resvalue = BoolGetDatum(false); \
		JUMP(0); \
	} \
	if (store) \
	{ \
		*op->resnull = false; \
		*op->resvalue = BoolGetDatum(true); \
	} \
	NEXT();
#define QUAL_VAR(f, check_nulls, store) \
	int			attnum = (int) HOLE(_JIT_D0); \
	QUAL_VALUE(f, scanslot->tts_values[attnum], (Datum) HOLE(_JIT_D1), \
			   (check_nulls) && scanslot->tts_isnull[attnum], store)
/* CP_QUAL_<f>[_NONULL]: an inlined comparison (INLINE_CALL) and the QUAL testing it */
#define QUAL_CALL(f, check_nulls, store) \
	NullableDatum *args = op->d.func.fcinfo_data->args; \
	QUAL_VALUE(f, args[0].value, args[1].value, (check_nulls) && (args[0].isnull | args[1].isnull), \
			   store)
/* CP_QUAL_TUP_<f>: QUAL_VAR of a NOT NULL column of the known prefix (provider.c leaves the
 * expression's deform out: nothing else reads the slot) read from the tuple's data at its
 * offset (D2). A heap slot without a tuple holds its values (stored as values: tts_nvalid is
 * every attribute), read as the interpreter would; an empty one is an error (the interpreter
 * would assert). No call that returns: the fast path keeps its registers */
#define QUAL_TUP(f, store) \
	TUP_READ(f) \
	QUAL_VALUE(f, value, (Datum) HOLE(_JIT_D1), null_, store)
#define QUAL_TUP_N(f, store) \
	TUP_READ_N(f) \
	QUAL_VALUE(f, value, (Datum) HOLE(_JIT_D1), null_, store)
/* CP_QUAL_TUP_<f>_N: a nullable column at a known offset when present (after NOT NULL
 * fixed-width columns only), in tuples that have it (provider.c: guaranteed): the null bitmap,
 * then the data */
#define TUP_READ_N(f) \
	int			attnum = (int) HOLE(_JIT_D0); \
	HeapTuple	tuple = ((HeapTupleTableSlot *) scanslot)->tuple; \
	Datum		value = 0; \
	bool		null_; \
	if (likely(tuple != NULL)) \
	{ \
		HeapTupleHeader th = tuple->t_data; \
		null_ = (th->t_infomask & HEAP_HASNULL) && att_isnull(attnum, th->t_bits); \
		if (!null_) \
			value = f##_tup0((char *) th + th->t_hoff + HOLE(_JIT_D2)); \
	} \
	else \
	{ \
		if (unlikely(scanslot->tts_nvalid <= attnum)) \
			cp_pg_no_tuple(); \
		value = scanslot->tts_values[attnum]; \
		null_ = scanslot->tts_isnull[attnum]; \
	}
#define TUP_READ(f) \
	int			attnum = (int) HOLE(_JIT_D0); \
	HeapTuple	tuple = ((HeapTupleTableSlot *) scanslot)->tuple; \
	Datum		value; \
	bool		null_ = false; \
	if (likely(tuple != NULL)) \
		value = f##_tup0((char *) tuple->t_data + tuple->t_data->t_hoff + HOLE(_JIT_D2)); \
	else \
	{ \
		if (unlikely(scanslot->tts_nvalid <= attnum)) \
			cp_pg_no_tuple(); \
		value = scanslot->tts_values[attnum]; \
		null_ = scanslot->tts_isnull[attnum]; \
	}
/* ExecEvalScalarArrayOp over a constant array (D4: its CpPgArray) with <f>_impl in place of the
 * call: an empty array gives !useOr, a NULL scalar NULL, a deciding element (TRUE for ANY, FALSE
 * for ALL) the answer, and otherwise a NULL element makes it NULL */
#define SCALARARRAYOP_INLINE(f) \
	const CpPgArray *arr = (const CpPgArray *) HOLE(_JIT_D4); \
	NullableDatum *args = op->d.scalararrayop.fcinfo_data->args; \
	bool		useOr = op->d.scalararrayop.useOr; \
	bool		anynull = false; \
	if (arr->nitems == 0) \
	{ \
		*op->resvalue = BoolGetDatum(!useOr); \
		*op->resnull = false; \
		NEXT(); \
	} \
	if (args[0].isnull) \
	{ \
		*op->resnull = true; \
		NEXT(); \
	} \
	for (int32 i = 0; i < arr->nitems; i++) \
	{ \
		if (arr->has_nulls && arr->nulls[i]) \
		{ \
			anynull = true; \
			continue; \
		} \
		if (DatumGetBool(f##_impl(args[0].value, (Datum) arr->values[i])) == useOr) \
		{ \
			*op->resvalue = BoolGetDatum(useOr); \
			*op->resnull = false; \
			NEXT(); \
		} \
	} \
	*op->resvalue = BoolGetDatum(!useOr); \
	*op->resnull = anynull; \
	NEXT();
/* SCAN_VAR (D0: attnum) and the call with a constant second argument (D1) */
#define VAR_CONST(f, check_nulls) \
	int			attnum = (int) HOLE(_JIT_D0); \
	if ((check_nulls) && scanslot->tts_isnull[attnum]) \
	{ \
		*op->resnull = true; \
		NEXT(); \
	} \
	*op->resvalue = f##_impl(scanslot->tts_values[attnum], (Datum) HOLE(_JIT_D1)); \
	*op->resnull = false; \
	NEXT();
/* two SCAN_VARs (D0, D1: their attnums) and the call of the two */
#define VAR_VAR(f, check_nulls) \
	int			att0 = (int) HOLE(_JIT_D0); \
	int			att1 = (int) HOLE(_JIT_D1); \
	if ((check_nulls) && (scanslot->tts_isnull[att0] | scanslot->tts_isnull[att1])) \
	{ \
		*op->resnull = true; \
		NEXT(); \
	} \
	*op->resvalue = f##_impl(scanslot->tts_values[att0], scanslot->tts_values[att1]); \
	*op->resnull = false; \
	NEXT();
/* CP_JUMP_VAR_<f>[_NOTNULL]: VAR_CONST of a comparison and the JUMP_IF_NOT_TRUE testing it (a
 * CASE's WHEN): the result written where the call's is, the jump its jumpdone */
#define JUMP_VAR(f, check_nulls) \
	int			attnum = (int) HOLE(_JIT_D0); \
	Datum		r; \
	if ((check_nulls) && scanslot->tts_isnull[attnum]) \
	{ \
		*op->resnull = true; \
		JUMP(0); \
	} \
	r = f##_impl(scanslot->tts_values[attnum], (Datum) HOLE(_JIT_D1)); \
	*op->resvalue = r; \
	*op->resnull = false; \
	if (!DatumGetBool(r)) \
		JUMP(0); \
	NEXT();
/* CP_BOOL_<f>[_NONULL]_<AND|OR>[_FIRST]: an inlined comparison and the BOOL_*_STEP[_FIRST]
 * testing it (D4: the BOOL step's anynull, the jump its jumpdone) */
#define BOOL_CALL(f, check_nulls, first, stop_on) \
	NullableDatum *args = op->d.func.fcinfo_data->args; \
	bool	   *anynull = (bool *) HOLE(_JIT_D4); \
	Datum		r; \
	if (first) \
		*anynull = false; \
	if ((check_nulls) && (args[0].isnull | args[1].isnull)) \
	{ \
		*op->resnull = true; \
		*anynull = true; \
		NEXT(); \
	} \
	r = f##_impl(args[0].value, args[1].value); \
	*op->resvalue = r; \
	*op->resnull = false; \
	if (DatumGetBool(r) == (stop_on)) \
		JUMP(0); \
	NEXT();
#define BOOL_CASES(f, suffix, check_nulls) \
CASE(CP_BOOL_##f##suffix##_AND) \
{ \
	BOOL_CALL(f, check_nulls, false, false) \
} \
CASE(CP_BOOL_##f##suffix##_AND_FIRST) \
{ \
	BOOL_CALL(f, check_nulls, true, false) \
} \
CASE(CP_BOOL_##f##suffix##_OR) \
{ \
	BOOL_CALL(f, check_nulls, false, true) \
} \
CASE(CP_BOOL_##f##suffix##_OR_FIRST) \
{ \
	BOOL_CALL(f, check_nulls, true, true) \
}
#define INLINE(f) \
CASE(CP_INLINE_##f) \
{ \
	INLINE_CALL(f, true) \
} \
CASE(CP_INLINE_##f##_NONULL) \
{ \
	INLINE_CALL(f, false) \
} \
CASE(CP_VAR_CONST_##f) \
{ \
	VAR_CONST(f, true) \
} \
CASE(CP_VAR_CONST_##f##_NOTNULL) \
{ \
	VAR_CONST(f, false) \
} \
CASE(CP_VAR_VAR_##f) \
{ \
	VAR_VAR(f, true) \
} \
CASE(CP_VAR_VAR_##f##_NOTNULL) \
{ \
	VAR_VAR(f, false) \
}
#define QUAL_CASES(f, suffix, store) \
CASE(CP_QUAL_VAR_##f##suffix) \
{ \
	QUAL_VAR(f, true, store) \
} \
CASE(CP_QUAL_VAR_##f##_NOTNULL##suffix) \
{ \
	QUAL_VAR(f, false, store) \
} \
CASE(CP_QUAL_TUP_##f##suffix) \
{ \
	QUAL_TUP(f, store) \
} \
CASE(CP_QUAL_TUP_##f##_N##suffix) \
{ \
	QUAL_TUP_N(f, store) \
} \
CASE(CP_QUAL_##f##suffix) \
{ \
	QUAL_CALL(f, true, store) \
} \
CASE(CP_QUAL_##f##_NONULL##suffix) \
{ \
	QUAL_CALL(f, false, store) \
}
#define INLINE_CMP(f) \
INLINE(f) \
CASE(CP_JUMP_VAR_##f) \
{ \
	JUMP_VAR(f, true) \
} \
CASE(CP_JUMP_VAR_##f##_NOTNULL) \
{ \
	JUMP_VAR(f, false) \
} \
QUAL_CASES(f, , true) \
QUAL_CASES(f, _NOSTORE, false) \
BOOL_CASES(f, , true) \
BOOL_CASES(f, _NONULL, false) \
CASE(CP_SCALARARRAYOP_##f) \
{ \
	SCALARARRAYOP_INLINE(f) \
}
#include "../inline.def"
#undef INLINE_CMP
#undef INLINE

/*
 * count(*) and count(x): the transition int8inc (int8inc_any) is PostgreSQL's int8pl of the
 * count and 1 ("bigint out of range" past the largest), so the step is AGG_PLAIN_TRANS_BYVAL's
 * (or _STRICT_BYVAL's) with int8pl_impl for the call: the same aggstate fields set, no memory
 * context switch (the function allocates nothing) and no call.
 */
#define AGG_COUNT(strict) \
	AggState   *aggstate = AGGSTATE; \
	AggStatePerGroup pergroup = \
		&aggstate->all_pergroups[op->d.agg_trans.setoff][op->d.agg_trans.transno]; \
	if (!(strict) || likely(!pergroup->transValueIsNull)) \
	{ \
		aggstate->curaggcontext = op->d.agg_trans.aggcontext; \
		aggstate->current_set = op->d.agg_trans.setno; \
		aggstate->curpertrans = op->d.agg_trans.pertrans; \
		pergroup->transValue = int8pl_impl(pergroup->transValue, Int64GetDatum(1)); \
		pergroup->transValueIsNull = false; \
	}
CASE(CP_AGG_COUNT_BYVAL)
{
	AGG_COUNT(false)
	NEXT();
}
CASE(CP_AGG_COUNT_STRICT_BYVAL)
{
	AGG_COUNT(true)
	NEXT();
}
}								/* the last body's function */

/*
 * A whole expression of one step and EEOP_DONE as one C-ABI stencil, entered directly (no
 * CP_JIT_ENTRY, whose call into the preserve_none chain saves and restores five registers):
 * CP_ALONE_<step> (emit.c makes its start the entry). A scan's count(*) is such an
 * expression, run once per row that passes the qual.
 */
#define ALONE(name, body) \
	Datum		stencil_##name(ExprState *state, ExprContext *econtext, bool *isnull); \
	Datum \
	stencil_##name(ExprState *state, ExprContext *econtext, bool *isnull) \
	{ \
		STEP_PROLOGUE \
		body \
		*isnull = state->resnull; \
		return state->resvalue; \
	}
ALONE(CP_ALONE_AGG_COUNT_BYVAL, AGG_COUNT(false))
ALONE(CP_ALONE_AGG_COUNT_STRICT_BYVAL, AGG_COUNT(true))

/* CP_QUAL_TUP_<f> and DONE, its jump's target (`WHERE a = 42`): QUAL's result, returned */
#define ALONE_QUAL_TUP(f) \
	TUP_READ(f) \
	bool		pass = !null_ && DatumGetBool(f##_impl(value, (Datum) HOLE(_JIT_D1))); \
	*op->resnull = false; \
	*op->resvalue = BoolGetDatum(pass);
#define INLINE(f)
#define INLINE_CMP(f) ALONE(CP_ALONE_QUAL_TUP_##f, ALONE_QUAL_TUP(f))
#include "../inline.def"
#undef INLINE_CMP
#undef INLINE

/* ---------------------------------------------------------------------------------------------
 * Deforming, specialised for the tuple descriptor (provider.c's deform_plan), as
 * llvmjit_deform.c does: a FETCHSOME whose slot is known to hold heap tuples of a known
 * descriptor, with every attribute up to last_var present (not dropped, no missing value),
 * becomes
 *
 *   CP_DEFORM_BEGIN_<slot>   the tuple's data pointer, its null bitmap (NULL if it has no
 *                            NULLs) and the offset after the known prefix (D1)
 *   CP_DEFORM_KNOWN_<len>    an attribute of the known prefix: NOT NULL and fixed width, like
 *   CP_DEFORM_KNOWN_REF      every one before it, so at an offset known at compile time (D1)
 *   CP_DEFORM_<len>          any other attribute: the null bitmap only where the column is
 *   CP_DEFORM_REF            nullable (D3 = 1), the offset aligned at run time (D1: the
 *   CP_DEFORM_VARLENA        alignment, D2: the width of a fixed-width one by reference)
 *   CP_DEFORM_CSTRING
 *   CP_DEFORM_END_<slot>     tts_nvalid, the slot's saved offset and its SLOW flag, as
 *                            slot_deform_heap_tuple leaves them
 *
 * (D0: the attribute number; BEGIN's and END's D0: last_var.) A tuple with fewer attributes
 * than last_var, or a slot already partly deformed, goes to slot_getsomeattrs_int, as the
 * interpreter's FETCHSOME, and BEGIN jumps past the attributes. The attribute stencils pass the
 * data pointer, the slot's arrays, the bitmap and the running offset in registers
 * (preserve_none has room for them) to the next.
 *
 * musttail wants one prototype for caller and callee, so the whole deform chain has the longer
 * one, and reaches its holes through second declarations of them (_JIT_CONTINUE_DEFORM,
 * _JIT_JUMP_TARGET_DEFORM: the stencil build renames them to CONTINUE and JUMP_TARGET). The
 * convention passes arguments by position, so a three-argument stencil entering BEGIN, or
 * entered from END or BEGIN's jump, finds state, econtext and isnull where it expects them;
 * the extra registers are ignored.
 * ------------------------------------------------------------------------------------------- */

#define DEFORM_ARGS \
	ExprState *state, ExprContext *econtext, bool *isnull, char *tp, Datum *values, \
	bool *nulls, bits8 *bp, uintptr_t off

extern CP_CHAIN Datum _JIT_CONTINUE_DEFORM(DEFORM_ARGS);
extern CP_CHAIN Datum _JIT_JUMP_TARGET_DEFORM(DEFORM_ARGS);

#define DEFORM_STENCIL(name) \
	CP_CHAIN Datum stencil_##name(DEFORM_ARGS); \
	CP_CHAIN Datum stencil_##name(DEFORM_ARGS)

#define DEFORM_NEXT() \
	do { \
		__attribute__((musttail)) return _JIT_CONTINUE_DEFORM(state, econtext, isnull, tp, \
															  values, nulls, bp, off); \
	} while (0)

#define DEFORM_BEGIN(name, slot_, check_natts) \
	DEFORM_STENCIL(name) \
	{ \
		TupleTableSlot *slot = (slot_); \
		int			last_var = (int) HOLE(_JIT_D0); \
		HeapTupleHeader tup = ((HeapTupleTableSlot *) slot)->tuple->t_data; \
		if (unlikely(slot->tts_nvalid != 0) || \
			((check_natts) && HeapTupleHeaderGetNatts(tup) < last_var)) \
		{ \
			if (slot->tts_nvalid < last_var) \
				slot_getsomeattrs_int(slot, last_var); \
			__attribute__((musttail)) return _JIT_JUMP_TARGET_DEFORM(state, econtext, isnull, \
																	 tp, values, nulls, bp, off); \
		} \
		tp = (char *) tup + tup->t_hoff; \
		values = slot->tts_values; \
		nulls = slot->tts_isnull; \
		bp = (tup->t_infomask & HEAP_HASNULL) ? tup->t_bits : NULL; \
		off = HOLE(_JIT_D1); \
		DEFORM_NEXT(); \
	}

/* SLOW as slot_deform_heap_tuple leaves it: after a NULL or a variable-width attribute (the
 * _SLOW variant, if the plan has one); after a tuple with NULLs, conservatively (the flag only stops a later
 * deform from using cached offsets) */
#define DEFORM_END(name, slot_, varwidth) \
	DEFORM_STENCIL(name) \
	{ \
		TupleTableSlot *slot = (slot_); \
		slot->tts_nvalid = (AttrNumber) HOLE(_JIT_D0); \
		((HeapTupleTableSlot *) slot)->off = (uint32) off; \
		if ((varwidth) || bp != NULL) \
			slot->tts_flags |= TTS_FLAG_SLOW; \
		else \
			slot->tts_flags &= ~TTS_FLAG_SLOW; \
		DEFORM_NEXT(); \
	}

/* the known prefix: attribute D0 at offset D1 */
#define DEFORM_KNOWN(name, fetch) \
	DEFORM_STENCIL(name) \
	{ \
		uintptr_t	attnum = HOLE(_JIT_D0); \
		values[attnum] = (fetch); \
		nulls[attnum] = false; \
		DEFORM_NEXT(); \
	}

#define KNOWN_AT (tp + HOLE(_JIT_D1))

/* any other attribute (`nullable`: its column is; the null bitmap is read only then): `align`
 * the offset, fetch, advance */
#define DEFORM_ATT(name, nullable, align, fetch, advance) \
	DEFORM_STENCIL(name) \
	{ \
		uintptr_t	attnum = HOLE(_JIT_D0); \
		if ((nullable) && bp != NULL && att_isnull(attnum, bp)) \
		{ \
			values[attnum] = (Datum) 0; \
			nulls[attnum] = true; \
			DEFORM_NEXT(); \
		} \
		nulls[attnum] = false; \
		off = (align); \
		values[attnum] = (fetch); \
		off += (advance); \
		DEFORM_NEXT(); \
	}
/* CP_DEFORM_<len> for a column that is NOT NULL, CP_DEFORM_<len>_N for a nullable one */
#define DEFORM_ATT2(name, align, fetch, advance) \
	DEFORM_ATT(name, false, align, fetch, advance) \
	DEFORM_ATT(name##_N, true, align, fetch, advance)

/* D1: the alignment (by reference); a value by value is aligned to its width (deform_plan
 * checks) */
#define ALIGNED TYPEALIGN(HOLE(_JIT_D1), off)
#define ALIGNED_TO(len) TYPEALIGN(len, off)

DEFORM_BEGIN(CP_DEFORM_BEGIN_INNER, innerslot, true)
DEFORM_BEGIN(CP_DEFORM_BEGIN_OUTER, outerslot, true)
DEFORM_BEGIN(CP_DEFORM_BEGIN_SCAN, scanslot, true)
/* _GUARANTEED: a NOT NULL column without a missing value at or after last_var guarantees the
 * tuple has the attributes (llvmjit_deform.c's guaranteed_column_number) */
DEFORM_BEGIN(CP_DEFORM_BEGIN_INNER_GUARANTEED, innerslot, false)
DEFORM_BEGIN(CP_DEFORM_BEGIN_OUTER_GUARANTEED, outerslot, false)
DEFORM_BEGIN(CP_DEFORM_BEGIN_SCAN_GUARANTEED, scanslot, false)
DEFORM_END(CP_DEFORM_END_INNER, innerslot, false)
DEFORM_END(CP_DEFORM_END_OUTER, outerslot, false)
DEFORM_END(CP_DEFORM_END_SCAN, scanslot, false)
/* _SLOW: the plan has a variable-width attribute */
DEFORM_END(CP_DEFORM_END_INNER_SLOW, innerslot, true)
DEFORM_END(CP_DEFORM_END_OUTER_SLOW, outerslot, true)
DEFORM_END(CP_DEFORM_END_SCAN_SLOW, scanslot, true)
DEFORM_KNOWN(CP_DEFORM_KNOWN_1, fetch_att(KNOWN_AT, true, 1))
DEFORM_KNOWN(CP_DEFORM_KNOWN_2, fetch_att(KNOWN_AT, true, 2))
DEFORM_KNOWN(CP_DEFORM_KNOWN_4, fetch_att(KNOWN_AT, true, 4))
DEFORM_KNOWN(CP_DEFORM_KNOWN_8, fetch_att(KNOWN_AT, true, 8))
DEFORM_KNOWN(CP_DEFORM_KNOWN_REF, PointerGetDatum(KNOWN_AT))
DEFORM_ATT2(CP_DEFORM_1, ALIGNED_TO(1), fetch_att(tp + off, true, 1), 1)
DEFORM_ATT2(CP_DEFORM_2, ALIGNED_TO(2), fetch_att(tp + off, true, 2), 2)
DEFORM_ATT2(CP_DEFORM_4, ALIGNED_TO(4), fetch_att(tp + off, true, 4), 4)
DEFORM_ATT2(CP_DEFORM_8, ALIGNED_TO(8), fetch_att(tp + off, true, 8), 8)
DEFORM_ATT2(CP_DEFORM_REF, ALIGNED, PointerGetDatum(tp + off), HOLE(_JIT_D2))
DEFORM_ATT2(CP_DEFORM_VARLENA, VARATT_NOT_PAD_BYTE(tp + off) ? off : ALIGNED,
			PointerGetDatum(tp + off), VARSIZE_ANY(tp + off))
DEFORM_ATT2(CP_DEFORM_CSTRING, off, PointerGetDatum(tp + off), strlen(tp + off) + 1)
