/*
 * functions.c: the fmgr-callable built-ins (PostgreSQL's PG_FUNCTION_ARGS calling convention)
 * and the name table Python resolves PostgreSQL's function names with.
 */
#include "functions.h"

/* Every family's fmgr wrapper is the same: unpack the arguments, call the implementation. */
#define FMGR_WRAPPER(name) \
	Datum name(FunctionCallInfo fcinfo); \
	Datum name(FunctionCallInfo fcinfo) \
	{ return name##_impl(fcinfo->args[0].value, fcinfo->args[1].value); }
#define ICMP(name, ...) FMGR_WRAPPER(name)
#define IARITH(name, ...) FMGR_WRAPPER(name)
#define IDIV(name, ...) FMGR_WRAPPER(name)
#define IMOD(name, ...) FMGR_WRAPPER(name)
#define IUNARY(name, ...) FMGR_WRAPPER(name)
#define FCMP(name, ...) FMGR_WRAPPER(name)
#define FARITH(name, ...) FMGR_WRAPPER(name)
#define FUNARY(name, ...) FMGR_WRAPPER(name)
#define BCMP(name, ...) FMGR_WRAPPER(name)
#define CAST(name, ...) FMGR_WRAPPER(name)
#define IABS(name, ...) FMGR_WRAPPER(name)
#define IBIT(name, ...) FMGR_WRAPPER(name)
#define IBITNOT(name, ...) FMGR_WRAPPER(name)
#define ISHL(name, ...) FMGR_WRAPPER(name)
#define ISHR(name, ...) FMGR_WRAPPER(name)
#define FMATH(name, ...) FMGR_WRAPPER(name)
#define BTCMP(name, ...) FMGR_WRAPPER(name)
#include "functions.def"
#undef ICMP
#undef IARITH
#undef IDIV
#undef IMOD
#undef IUNARY
#undef FCMP
#undef FARITH
#undef FUNARY
#undef BCMP
#undef CAST
#undef IABS
#undef IBIT
#undef IBITNOT
#undef ISHL
#undef ISHR
#undef FMATH
#undef BTCMP

#define FN_ENTRY(name, nargs) {#name, name, nargs},
#define ICMP(name, ...) FN_ENTRY(name, 2)
#define IARITH(name, ...) FN_ENTRY(name, 2)
#define IDIV(name, ...) FN_ENTRY(name, 2)
#define IMOD(name, ...) FN_ENTRY(name, 2)
#define IUNARY(name, ...) FN_ENTRY(name, 1)
#define FCMP(name, ...) FN_ENTRY(name, 2)
#define FARITH(name, ...) FN_ENTRY(name, 2)
#define FUNARY(name, ...) FN_ENTRY(name, 1)
#define BCMP(name, ...) FN_ENTRY(name, 2)
#define CAST(name, ...) FN_ENTRY(name, 1)
#define IABS(name, ...) FN_ENTRY(name, 1)
#define IBIT(name, ...) FN_ENTRY(name, 2)
#define IBITNOT(name, ...) FN_ENTRY(name, 1)
#define ISHL(name, ...) FN_ENTRY(name, 2)
#define ISHR(name, ...) FN_ENTRY(name, 2)
#define FMATH(name, T, nargs) FN_ENTRY(name, nargs)
#define BTCMP(name, ...) FN_ENTRY(name, 2)
const CpFunction cp_functions[] = {
#include "functions.def"
};
const int	cp_num_functions = sizeof(cp_functions) / sizeof(cp_functions[0]);
