/*
 * functions.c: the fmgr-callable built-ins (PostgreSQL's PG_FUNCTION_ARGS calling convention)
 * and the name table Python resolves PostgreSQL's function names with.
 *
 * functions.def is read twice, once for the wrappers and once for the table; each family says
 * once here how many arguments its functions take, and FN() is what each reading makes of them.
 */
#include "functions.h"

#define ICMP(name, ...) FN(name, 2)
#define IARITH(name, ...) FN(name, 2)
#define IDIV(name, ...) FN(name, 2)
#define IMOD(name, ...) FN(name, 2)
#define IUNARY(name, ...) FN(name, 1)
#define FCMP(name, ...) FN(name, 2)
#define FARITH(name, ...) FN(name, 2)
#define FUNARY(name, ...) FN(name, 1)
#define BCMP(name, ...) FN(name, 2)
#define CAST(name, ...) FN(name, 1)
#define IABS(name, ...) FN(name, 1)
#define IBIT(name, ...) FN(name, 2)
#define IBITNOT(name, ...) FN(name, 1)
#define ISHL(name, ...) FN(name, 2)
#define ISHR(name, ...) FN(name, 2)
#define FMATH(name, T, nargs) FN(name, nargs)
#define BTCMP(name, ...) FN(name, 2)

/*
 * Every family's fmgr wrapper is the same: unpack the arguments, call the implementation. A call
 * info holds exactly nargs arguments (SizeForFunctionCallInfo), so only those are read.
 */
#define CP_FN_ARGS0 0, 0
#define CP_FN_ARGS1 fcinfo->args[0].value, 0
#define CP_FN_ARGS2 fcinfo->args[0].value, fcinfo->args[1].value
#define FN(name, nargs) \
	Datum name(FunctionCallInfo fcinfo); \
	Datum name(FunctionCallInfo fcinfo) \
	{ (void) fcinfo; return name##_impl(CP_FN_ARGS##nargs); }
#include "functions.def"
#undef FN

#define FN(name, nargs) {#name, name, nargs},
const CpFunction cp_functions[] = {
#include "functions.def"
};
#undef FN
const int	cp_num_functions = sizeof(cp_functions) / sizeof(cp_functions[0]);
