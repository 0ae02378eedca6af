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
#define IGCD(name, ...) FN(name, 2)
#define ILCM(name, ...) FN(name, 2)
#define FMATH0(name, ...) FN(name, 0)
#define FCINFO(name, nargs) FNCALL(name, nargs)
#define FCINFO_NULL(name, nargs) FNCALL(name, nargs)
#define DTCMP(name, ...) FN(name, 2)
#define DTFN(name, nargs) FN(name, nargs)

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
/* FCINFO families take the call info itself */
#define FNCALL(name, nargs) \
	Datum name(FunctionCallInfo fcinfo); \
	Datum name(FunctionCallInfo fcinfo) \
	{ return name##_impl(fcinfo); }
#include "functions.def"
#undef FN
#undef FNCALL

#define FN(name, nargs) {#name, name, nargs, false},
#define FNCALL(name, nargs) FN(name, nargs)
#undef FCINFO_NULL
#define FCINFO_NULL(name, nargs) {#name, name, nargs, true},
const CpFunction cp_functions[] = {
#include "functions.def"
};
#undef FN
#undef FNCALL
const int	cp_num_functions = sizeof(cp_functions) / sizeof(cp_functions[0]);

/*
 * The degree-based trigonometry's scaling constants (functions.h): float.c's
 * init_degree_constants. The inputs are volatile so that the compiler cannot fold sin(30
 * degrees) with arithmetic of its own; the results must be the run-time libm's. Computed once,
 * before any scan, when the library is loaded.
 */
static volatile double degree_c_thirty = 30.0;
static volatile double degree_c_forty_five = 45.0;
static volatile double degree_c_sixty = 60.0;
static volatile double degree_c_one_half = 0.5;
static volatile double degree_c_one = 1.0;
static CpDegreeConsts degree_consts;

__attribute__((constructor)) static void
init_degree_constants(void)
{
	CpDegreeConsts *k = &degree_consts;

	k->sin_30 = sin(degree_c_thirty * CP_RADIANS_PER_DEGREE);
	k->one_minus_cos_60 = 1.0 - cos(degree_c_sixty * CP_RADIANS_PER_DEGREE);
	k->asin_0_5 = asin(degree_c_one_half);
	k->acos_0_5 = acos(degree_c_one_half);
	k->atan_1_0 = atan(degree_c_one);
	/* the quadrant functions read sin_30 and one_minus_cos_60, set just above */
	k->tan_45 = cp_sind_q1(k, degree_c_forty_five) / cp_cosd_q1(k, degree_c_forty_five);
	k->cot_45 = cp_cosd_q1(k, degree_c_forty_five) / cp_sind_q1(k, degree_c_forty_five);
}

const CpDegreeConsts *
cp_degree_consts(void)
{
	return &degree_consts;
}
