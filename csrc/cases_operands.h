/*
 * cases_operands.h: where a step's operands are, for the bodies of cases.h and cases_common.h.
 *
 * The interpreters (and PostgreSQL's provider) keep every value in a slot; the JIT's template
 * compiles the same bodies again with a value handed from one step to the next in a register
 * (docs/jit.md, "Values in registers"), by defining these before the bodies are included:
 *
 *   CP_DEST_VALUE, CP_DEST_NULL   the step's destination, as lvalues: the value and NULL flag
 *                                 it writes, and that the boolean steps and the jumps read
 *                                 (default *op->resvalue, *op->resnull)
 *   CP_ARG_VALUE(args, i),        argument i of an inlined built-in's call info, as rvalues
 *   CP_ARG_NULL(args, i)          (default args[i].value, args[i].isnull)
 *   CP_IF_NULL_OR_FALSE(then)     `then` (a statement) if the destination is NULL or FALSE: one
 *                                 test of both (default); the JIT's value registers test them
 *                                 apart, where clang would otherwise combine them with setcc
 *
 * Only the bodies that hand values on use them: column reads, constants, function calls and
 * inlined built-ins, the boolean steps, ExecQual's step and the jumps on a NULL or a boolean.
 */
#ifndef CP_DEST_VALUE
#define CP_DEST_VALUE (*op->resvalue)
#endif
#ifndef CP_DEST_NULL
#define CP_DEST_NULL (*op->resnull)
#endif
#ifndef CP_ARG_VALUE
#define CP_ARG_VALUE(args, i) ((args)[i].value)
#endif
#ifndef CP_ARG_NULL
#define CP_ARG_NULL(args, i) ((args)[i].isnull)
#endif
#ifndef CP_IF_NULL_OR_FALSE
#define CP_IF_NULL_OR_FALSE(then) \
	do { if (CP_DEST_NULL || !DatumGetBool(CP_DEST_VALUE)) then; } while (0)
#endif
