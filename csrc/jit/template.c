/*
 * template.c: the stencil template, cases.h under the JIT's macros.
 *
 * Never compiled into the extension: the stencil build (src/copypatch/_stencils) compiles it with
 * clang into one function per opcode, `stencil_<EEOP_NAME>`, each in a section of its own, and
 * turns every function's bytes and relocations into a stencil with holes
 * (csrc/jit/stencils_<arch>.h).
 *
 * A hole is a reference to an extern symbol whose name starts with _JIT_; the runtime patches in
 * the value for the step being compiled (csrc/jit/compile.c). The step's operands are rebuilt
 * from holes into a local ExprEvalStep that the bodies read through `op`, so `op->d.x` becomes a
 * patched immediate; the union's `words[4]` view is what makes this generic. The CPython JIT
 * (Tools/jit/template.c) works the same way.
 *
 * Each stencil is a function of ExprStateEvalFunc's arguments in clang's `preserve_none`
 * convention: NEXT() and JUMP() are tail calls (`musttail`, a plain jmp) to the holes
 * _JIT_CONTINUE and _JIT_JUMP_TARGET. preserve_none saves no register for the caller and passes
 * the arguments in registers C functions preserve (x86-64: r12-r14; AArch64: x20-x22), so a
 * stencil that calls a built-in keeps state/econtext/row/columns alive across the call for free,
 * where the C convention made it save and restore six callee-saved registers. The chain is
 * entered through one C-ABI stencil per program, CP_JIT_ENTRY (cp_scan calls it through
 * state->evalfunc; it calls step 0 and saves what C requires once), and EEOP_DONE's `return`
 * goes back to it. The runtime drops a trailing `jmp _JIT_CONTINUE` when the next step is laid
 * out right after. (CPython's JIT chains its stencils the same way.)
 */
/* the block-at-a-time tests (block.h) inlined into their stencils */
#define CP_BLOCK_FN_ATTR __attribute__((always_inline))
#include "functions.h"

/* Holes: the value is the symbol's address. */
#define HOLE_SYMBOL(name) extern char name[1] /* size 1: a "large" object, so movabs + R_X86_64_64 */
HOLE_SYMBOL(_JIT_RESVALUE);		/* op->resvalue */
HOLE_SYMBOL(_JIT_RESNULL);		/* op->resnull */
HOLE_SYMBOL(_JIT_D0);			/* op->d.words[0..3] */
HOLE_SYMBOL(_JIT_D1);
HOLE_SYMBOL(_JIT_D2);
HOLE_SYMBOL(_JIT_D3);
HOLE_SYMBOL(_JIT_STEP);			/* the step itself, for helpers that take `op` */

/* the convention of the chain of stencils (not of the entry, nor of the C functions they call) */
#define CP_CHAIN __attribute__((preserve_none))

/*
 * The chain's arguments: ExprStateEvalFunc's state and econtext, the current row and the
 * table's columns, all four in registers C functions preserve (x86-64: r12-r15; AArch64:
 * x20-x23), where they stay for the whole scan and across the calls a stencil makes. cases.h
 * reads the row and the columns through CP_ROW and CP_COLUMN (below). ExprStateEvalFunc's
 * `isnull` is not among them (a fifth argument would sit in a register a call clobbers): it is
 * a dead local in every stencil, and the entry sets the caller's flag from state->resnull when
 * the chain returns, which is what EEOP_DONE returns it as (a row loop's end returns nothing
 * its caller reads).
 */
#define CP_CHAIN_PARAMS \
	ExprState *state, ExprContext *econtext, int64_t cp_row_, const CpColumn *cp_columns_, \
	Datum cp_v_, uint64_t cp_n_
#define CP_CHAIN_ARGS state, econtext, cp_row_, cp_columns_, CP_VREG_OUT(cp_v_), CP_VREG_OUT(cp_n_)

/*
 * The value registers, the chain's last two arguments (x86-64: rdi, rsi; AArch64: x24, x25): a
 * value and its NULL flag (0 or 1; a bool argument would be zero-extended by every caller, an
 * instruction per stencil) handed from one step to the next (the variants __V* below). A stencil
 * that hands nothing on passes what the next one must not read, which costs no instruction and
 * leaves the registers free for its own use: CP_VREG_OUT is that, except in the variants whose
 * destination is the register. (An uninitialised variable, undef to LLVM: whatever the argument's
 * register holds. __builtin_nondeterministic_value and an empty asm's output cost a `xor` or a
 * `mov` per register.)
 */
#define CP_UNDEFINED(x) \
	({ _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Wuninitialized\"") \
	   __typeof__(x) undef_; undef_; _Pragma("clang diagnostic pop") })
#define CP_VREG_OUT(x) CP_UNDEFINED(x)

/* Code holes: the continuation, the jump target, and the step's function. */
extern CP_CHAIN Datum _JIT_CONTINUE(CP_CHAIN_PARAMS);
extern CP_CHAIN Datum _JIT_JUMP_TARGET(CP_CHAIN_PARAMS);
extern Datum _JIT_FN(FunctionCallInfo fcinfo);

/*
 * Column holes: _JIT_COL<k> is the byte offset of the CpColumn that d.words[k] indexes
 * (compile.c: the index times sizeof(CpColumn)), a short immediate. x86-64: a "small" symbol
 * (an explicit section, so -mlarge-data-threshold=0 does not make it large): clang folds it into
 * the load's 32-bit displacement, `mov rax, [r15 + disp32]` (R_X86_64_32S). AArch64 (the large
 * code model would make it movz/movk x4): one `movz` (R_AARCH64_MOVW_UABS_G0, 16 bits, checked).
 */
#if defined(__x86_64__)
#define COL_HOLE_SYMBOL(name) extern const char name[1] __attribute__((section(".rodata.cp_small")))
COL_HOLE_SYMBOL(_JIT_COL0);
COL_HOLE_SYMBOL(_JIT_COL1);
COL_HOLE_SYMBOL(_JIT_COL2);
COL_HOLE_SYMBOL(_JIT_COL3);
#define CP_COL_HOLE(k) ((uintptr_t) _JIT_COL##k)
#else
#define CP_COL_HOLE(k) \
	({ uintptr_t col_; __asm__("movz %0, #:abs_g0:_JIT_COL" #k : "=r" (col_)); col_; })
#endif
#define CP_WORD_OF(field) \
	((offsetof(ExprEvalStep, field) - offsetof(ExprEvalStep, d.words)) / sizeof(uintptr_t))
#define CP_COL_OFFSET(k) \
	__builtin_choose_expr((k) == 0, CP_COL_HOLE(0), \
	__builtin_choose_expr((k) == 1, CP_COL_HOLE(1), \
	__builtin_choose_expr((k) == 2, CP_COL_HOLE(2), CP_COL_HOLE(3))))
#define CP_COLUMN(field) \
	((const CpColumn *) ((const char *) cp_columns_ + CP_COL_OFFSET(CP_WORD_OF(field))))
#define CP_ROW cp_row_
/* the row is also written back, so that helpers and errors (which read econtext) see it */
#define CP_SET_ROW(r) (econtext->row = cp_row_ = (r))

_Static_assert(offsetof(ExprEvalStep, d.column.attnum) % sizeof(uintptr_t) == 0 &&
			   offsetof(ExprEvalStep, d.colcmp.attnum) % sizeof(uintptr_t) == 0,
			   "a column index does not start a word of d.words: no column hole for it");

/*
 * A hole's value, hidden from the optimiser: the address of an extern symbol is known to be
 * non-null, which would let clang fold away a test of an operand that happens to be zero.
 */
#define HOLE(name) \
	({ uintptr_t hole_; __asm__("" : "=r" (hole_) : "0" ((uintptr_t) name)); hole_; })

/* Every jump target sits in d.words[0], as an int32 step index: the runtime reads it there
 * (asserted for every opcode from opcodes.def's kinds and flags, in copypatch.h). */

/*
 * An operand hole (d.words[k]) as a 64-bit immediate: any value fits. The short variants below
 * redefine it as a 32-bit one.
 */
#define D_HOLE(name) HOLE(_JIT_##name)
#define RES_HOLE(name) HOLE(_JIT_##name)
#define VARIANT(name) name

/*
 * CASE(name) closes the previous function and opens stencil_<name>: a body's closing brace is
 * followed by the next CASE or by the end of the include (which closes the last stencil).
 */
#define CASE(name) \
	} \
	CP_CHAIN Datum VARIANT(stencil_##name)(CP_CHAIN_PARAMS); \
	CP_CHAIN Datum VARIANT(stencil_##name)(CP_CHAIN_PARAMS) \
	{ \
		ExprEvalStep jit_step_; \
		ExprEvalStep *const op = &jit_step_; \
		bool		jit_isnull_; \
		bool	   *const isnull = &jit_isnull_; \
		jit_step_.opcode = 0; \
		jit_step_.resvalue = (Datum *) RES_HOLE(RESVALUE); \
		jit_step_.resnull = (bool *) RES_HOLE(RESNULL); \
		jit_step_.d.words[0] = D_HOLE(D0); \
		jit_step_.d.words[1] = D_HOLE(D1); \
		jit_step_.d.words[2] = D_HOLE(D2); \
		jit_step_.d.words[3] = D_HOLE(D3); \
		(void) op; (void) state; (void) econtext; (void) isnull; (void) cp_row_; (void) cp_columns_; \
		(void) cp_v_; (void) cp_n_;

#define NEXT() \
	do { __attribute__((musttail)) return _JIT_CONTINUE(CP_CHAIN_ARGS); } while (0)
#define JUMP(i) \
	do { (void) (i); __attribute__((musttail)) return _JIT_JUMP_TARGET(CP_CHAIN_ARGS); } while (0)
/* a direct call through a hole instead of an indirect one through op->d.func.fn_addr */
#define CALL_FN(op, fcinfo) _JIT_FN(fcinfo)

/* helpers that take the step get the real one, not the local copy */
#define ExecEvalScalarArrayOp(state, op) ExecEvalScalarArrayOp((state), (ExprEvalStep *) HOLE(_JIT_STEP))

/*
 * The program's entry, in the C convention cp_scan calls: a plain call of step 0 (the
 * CONTINUE hole) with the row and the columns loaded into their registers, whose chain returns
 * here from EEOP_DONE (or the row loop's end). The row in econtext is kept current by the chain
 * (CP_SET_ROW). The runtime lays it out after the steps and points state->evalfunc at it.
 */
Datum		stencil_CP_JIT_ENTRY(ExprState *state, ExprContext *econtext, bool *isnull);
Datum
stencil_CP_JIT_ENTRY(ExprState *state, ExprContext *econtext, bool *isnull)
{
	Datum		d = _JIT_CONTINUE(state, econtext, econtext->row, econtext->columns,
								  CP_UNDEFINED((Datum) 0), CP_UNDEFINED((uint64_t) 0));

	*isnull = state->resnull;
	return d;
}

/*
 * After the opcodes, the row exits (filter mode, the JIT only): a step that decides the row
 * (EEOP_QUAL, the fused EEOP_QUAL_*) continues into CP_JIT_ROW_TRUE and jumps to
 * CP_JIT_ROW_FALSE where it would have gone to EEOP_DONE_NEXTROW_FILTER, which would only have
 * read back the result that step wrote: the result is known by where the code is (compile.c).
 * Both are that step's body with a constant result, patched with its operands.
 */
__attribute__((unused)) static void
stencil_template_start_(void)
{
#include "../cases.h"
CASE(CP_JIT_ROW_TRUE) CP_NEXTROW_FILTER(true)
CASE(CP_JIT_ROW_FALSE) CP_NEXTROW_FILTER(false)
}

/*
 * Short immediates: every opcode again as stencil_<name>__S, its operand holes 32-bit immediates
 * (x86-64: `mov r64, imm32`, sign-extended, R_X86_64_32S: 7 bytes instead of movabs's 10;
 * AArch64: movz/movk of the low 32 bits, R_AARCH64_MOVW_UABS_G1 (checked) and G0_NC: 2
 * instructions instead of 4). The stencil build keeps a variant only where it differs (an opcode
 * that reads an operand); compile.c takes it for a step whose operands all fit, the 64-bit
 * stencil otherwise. The patcher checks every value, so one that does not fit is refused, never
 * truncated.
 */
#undef D_HOLE
#undef VARIANT
#if defined(__x86_64__)
#define SHORT_HOLE(name) \
	({ uintptr_t hole_; __asm__("movq $_JIT_" #name ", %0" : "=r" (hole_)); hole_; })
#else
#define SHORT_HOLE(name) \
	({ uintptr_t hole_; \
	   __asm__("movz %0, #:abs_g1:_JIT_" #name "\n\tmovk %0, #:abs_g0_nc:_JIT_" #name \
			   : "=r" (hole_)); \
	   hole_; })
#endif
#define D_HOLE(name) SHORT_HOLE(name)
#define VARIANT(name) name##__S

__attribute__((unused)) static void
stencil_template_short_(void)
{
#include "../cases.h"
}

/*
 * State-relative operands: every opcode again as stencil_<name>__P, its operand holes and its
 * destination's (RESVALUE, RESNULL) offsets from `state`, whose register every stencil has.
 * A program's ExprState, steps, call infos and slots are one block (layout.py), so the
 * pointers among a step's operands are small offsets from it: x86-64 folds them into the
 * displacement of the access itself, `mov qword ptr [r12 + disp32], rax` (R_X86_64_32S, no
 * movabs at all); AArch64 adds a movz/movk pair to x20 (3 instructions instead of 4). Hole
 * _JIT_S<NAME> is CP_HOLE_S<NAME>, whose value compile.c computes as the operand minus state;
 * the variant is taken where every such value fits (so a constant operand usually keeps the
 * step on another variant).
 */
#undef D_HOLE
#undef RES_HOLE
#undef VARIANT
#if defined(__x86_64__)
#define REL_HOLE_SYMBOL(name) extern const char name[1] __attribute__((section(".rodata.cp_small")))
REL_HOLE_SYMBOL(_JIT_SD0);
REL_HOLE_SYMBOL(_JIT_SD1);
REL_HOLE_SYMBOL(_JIT_SD2);
REL_HOLE_SYMBOL(_JIT_SD3);
REL_HOLE_SYMBOL(_JIT_SRESVALUE);
REL_HOLE_SYMBOL(_JIT_SRESNULL);
#define REL_HOLE(name) ((uintptr_t) state + (uintptr_t) _JIT_S##name)
#else
#define REL_HOLE(name) \
	({ uintptr_t hole_; \
	   __asm__("movz %0, #:abs_g1:_JIT_S" #name "\n\tmovk %0, #:abs_g0_nc:_JIT_S" #name \
			   : "=r" (hole_)); \
	   (uintptr_t) state + hole_; })
#endif
#define D_HOLE(name) REL_HOLE(name)
#define RES_HOLE(name) REL_HOLE(name)
#define VARIANT(name) name##__P

__attribute__((unused)) static void
stencil_template_relative_(void)
{
#include "../cases.h"
}

/*
 * No result: every fused EEOP_QUAL_* again, writing no result, for a step whose result nobody
 * reads (compile.c: it jumps to the row exit FALSE, and continues into the row exit TRUE or
 * into another fused step, which writes its own): stencil_<name>__RS with short immediates,
 * stencil_<name>__R without. (The other opcodes come out the same and are dropped.)
 */
#undef VARIANT
#undef D_HOLE
#undef RES_HOLE
#undef CP_QUAL_RESULT
#define CP_QUAL_RESULT(pass) ((void) (pass))
#define D_HOLE(name) SHORT_HOLE(name)
#define RES_HOLE(name) HOLE(_JIT_##name)
#define VARIANT(name) name##__RS

__attribute__((unused)) static void
stencil_template_noresult_short_(void)
{
#include "../cases.h"
}

#undef VARIANT
#undef D_HOLE
#define D_HOLE(name) HOLE(_JIT_##name)
#define VARIANT(name) name##__R

__attribute__((unused)) static void
stencil_template_noresult_(void)
{
#include "../cases.h"
}

/*
 * The lean row exits, for a program in which nothing but the row exits reads econtext while it
 * loops (compile.c: only fused steps, which cannot fail): the row stays in its register and is
 * written back once, at the end, and nothing is reset for a slot no step deforms.
 */
#undef VARIANT
#define VARIANT(name) name
#undef CP_SET_ROW
#undef CP_NEXTROW_RESET
#undef CP_ROW_DONE
#define CP_SET_ROW(r) (cp_row_ = (r))
#define CP_NEXTROW_RESET() ((void) 0)
#define CP_ROW_DONE(row) (econtext->row = (row))

__attribute__((unused)) static void
stencil_template_lean_(void)
{
CASE(CP_JIT_ROW_TRUE_LEAN) CP_NEXTROW_FILTER(true)
CASE(CP_JIT_ROW_FALSE_LEAN) CP_NEXTROW_FILTER(false)
}


/*
 * Values in registers (compile.c's choose_locations): the bodies that hand a value on read and
 * write it through cases_operands.h's macros, compiled again with some operand in the value
 * registers cp_v_/cp_n_ instead of its slot, on top of the state-relative variant (the slots
 * that remain are still offsets from state):
 *
 *   __VR    the destination is the register: a column read, constant, call or inlined
 *           built-in leaves its result there, a boolean step or a jump reads (and updates) it
 *           there, and every stencil of this kind passes it on to the next
 *   __VA0   argument 0 of an inlined built-in is the register, the destination a slot
 *   __VA1   argument 1 likewise
 *   __VAR   argument 0 and the destination are the register
 *   __VBR   argument 1 and the destination
 *
 * (CPython's top-of-stack caching has one stencil per cached inputs and outputs the same way,
 * _rXY.) The build keeps a variant where its code differs and aliases the same code otherwise
 * (_writer.VALUE_VARIANTS): compile.c reads "the same code as the base stencil" as "does not use
 * the register", and a plain jump that passes it on unchanged.
 */
#undef D_HOLE
#undef RES_HOLE
#undef VARIANT
#undef CP_QUAL_RESULT
#undef CP_SET_ROW
#undef CP_NEXTROW_RESET
#undef CP_ROW_DONE
#define CP_SET_ROW(r) (econtext->row = cp_row_ = (r))
#define CP_NEXTROW_RESET() (econtext->scan_nvalid = 0)
#define CP_ROW_DONE(row) ((void) (row))
#define CP_QUAL_RESULT(pass) (state->resvalue = BoolGetDatum(pass), state->resnull = false)
#define D_HOLE(name) REL_HOLE(name)

/*
 * Where the destination is the register, a body that still writes its slot, or ends the row,
 * is not one of these: its address is the hole NOVREG, and the build drops every stencil with
 * one (a stencil of a __VR table reads and writes no destination slot).
 */
HOLE_SYMBOL(_JIT_NOVREG);
#undef CP_SET_ROW
#undef CP_QUAL_RESULT
#define RES_HOLE(name) HOLE(_JIT_NOVREG)
#define CP_NOVREG() __asm__ volatile("" : : "r" ((uintptr_t) _JIT_NOVREG))
#undef ExecEvalScalarArrayOp
#define ExecEvalScalarArrayOp(state, op) \
	({ CP_NOVREG(); ExecEvalScalarArrayOp((state), (ExprEvalStep *) HOLE(_JIT_STEP)); })
#define cp_slot_getsomeattrs(econtext, last) \
	({ CP_NOVREG(); cp_slot_getsomeattrs((econtext), (last)); })
#define CP_SET_ROW(r) ({ CP_NOVREG(); econtext->row = cp_row_ = (r); })
#define CP_QUAL_RESULT(pass) ({ CP_NOVREG(); state->resvalue = BoolGetDatum(pass); \
							   state->resnull = false; })

#undef CP_DEST_VALUE
#undef CP_DEST_NULL
#undef CP_VREG_OUT
#define CP_DEST_VALUE cp_v_
#define CP_DEST_NULL cp_n_
#define CP_VREG_OUT(x) (x)
#undef CP_IF_NULL_OR_FALSE
#define CP_IF_NULL_OR_FALSE(then) \
	do { if (CP_DEST_NULL) then; if (!DatumGetBool(CP_DEST_VALUE)) then; } while (0)
#define VARIANT(name) name##__VR

__attribute__((unused)) static void
stencil_template_vreg_(void)
{
#include "../cases.h"
}

#undef VARIANT
#undef CP_ARG_VALUE
#undef CP_ARG_NULL
#define CP_ARG_VALUE(args, i) ((i) == 0 ? cp_v_ : (args)[i].value)
#define CP_ARG_NULL(args, i) ((i) == 0 ? cp_n_ : (args)[i].isnull)
#define VARIANT(name) name##__VAR

__attribute__((unused)) static void
stencil_template_vreg_arg0_(void)
{
#include "../cases.h"
}

#undef VARIANT
#undef CP_ARG_VALUE
#undef CP_ARG_NULL
#define CP_ARG_VALUE(args, i) ((i) == 1 ? cp_v_ : (args)[i].value)
#define CP_ARG_NULL(args, i) ((i) == 1 ? cp_n_ : (args)[i].isnull)
#define VARIANT(name) name##__VBR

__attribute__((unused)) static void
stencil_template_vreg_arg1_(void)
{
#include "../cases.h"
}

#undef VARIANT
#undef CP_DEST_VALUE
#undef CP_DEST_NULL
#undef CP_VREG_OUT
#undef RES_HOLE
#undef CP_SET_ROW
#undef CP_QUAL_RESULT
#undef ExecEvalScalarArrayOp
#undef cp_slot_getsomeattrs
#define ExecEvalScalarArrayOp(state, op) ExecEvalScalarArrayOp((state), (ExprEvalStep *) HOLE(_JIT_STEP))
#define RES_HOLE(name) REL_HOLE(name)
#define CP_SET_ROW(r) (econtext->row = cp_row_ = (r))
#define CP_QUAL_RESULT(pass) (state->resvalue = BoolGetDatum(pass), state->resnull = false)
#define CP_DEST_VALUE (*op->resvalue)
#define CP_DEST_NULL (*op->resnull)
#undef CP_IF_NULL_OR_FALSE
#define CP_IF_NULL_OR_FALSE(then) \
	do { if (CP_DEST_NULL || !DatumGetBool(CP_DEST_VALUE)) then; } while (0)
#define CP_VREG_OUT(x) CP_UNDEFINED(x)
#define VARIANT(name) name##__VA1

__attribute__((unused)) static void
stencil_template_arg1_(void)
{
#include "../cases.h"
}

#undef VARIANT
#undef CP_ARG_VALUE
#undef CP_ARG_NULL
#define CP_ARG_VALUE(args, i) ((i) == 0 ? cp_v_ : (args)[i].value)
#define CP_ARG_NULL(args, i) ((i) == 0 ? cp_n_ : (args)[i].isnull)
#define VARIANT(name) name##__VA0

__attribute__((unused)) static void
stencil_template_arg0_(void)
{
#include "../cases.h"
}
