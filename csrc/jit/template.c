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
 * stencil that calls a built-in keeps state/econtext/isnull alive across the call for free,
 * where the C convention made it save and restore six callee-saved registers. The chain is
 * entered through one C-ABI stencil per program, CP_JIT_ENTRY (cp_scan calls it through
 * state->evalfunc; it calls step 0 and saves what C requires once), and EEOP_DONE's `return`
 * goes back to it. The runtime drops a trailing `jmp _JIT_CONTINUE` when the next step is laid
 * out right after. (CPython's JIT chains its stencils the same way.)
 */
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

/* Code holes: the continuation, the jump target, and the step's function. */
extern CP_CHAIN Datum _JIT_CONTINUE(ExprState *state, ExprContext *econtext, bool *isnull);
extern CP_CHAIN Datum _JIT_JUMP_TARGET(ExprState *state, ExprContext *econtext, bool *isnull);
extern Datum _JIT_FN(FunctionCallInfo fcinfo);

/*
 * A hole's value, hidden from the optimiser: the address of an extern symbol is known to be
 * non-null, which would let clang fold away a test of an operand that happens to be zero.
 */
#define HOLE(name) \
	({ uintptr_t hole_; __asm__("" : "=r" (hole_) : "0" ((uintptr_t) name)); hole_; })

/* Every jump target sits in d.words[0], as an int32 step index: the runtime reads it there
 * (asserted for every opcode from opcodes.def's kinds and flags, in copypatch.h). */

/*
 * CASE(name) closes the previous function and opens stencil_<name>: a body's closing brace is
 * followed by the next CASE or by the end of the include (which closes the last stencil).
 */
#define CASE(name) \
	} \
	CP_CHAIN Datum stencil_##name(ExprState *state, ExprContext *econtext, bool *isnull); \
	CP_CHAIN Datum stencil_##name(ExprState *state, ExprContext *econtext, bool *isnull) \
	{ \
		ExprEvalStep jit_step_; \
		ExprEvalStep *const op = &jit_step_; \
		jit_step_.opcode = 0; \
		jit_step_.resvalue = (Datum *) HOLE(_JIT_RESVALUE); \
		jit_step_.resnull = (bool *) HOLE(_JIT_RESNULL); \
		jit_step_.d.words[0] = HOLE(_JIT_D0); \
		jit_step_.d.words[1] = HOLE(_JIT_D1); \
		jit_step_.d.words[2] = HOLE(_JIT_D2); \
		jit_step_.d.words[3] = HOLE(_JIT_D3); \
		(void) op; (void) state; (void) econtext; (void) isnull;

#define NEXT() \
	do { __attribute__((musttail)) return _JIT_CONTINUE(state, econtext, isnull); } while (0)
#define JUMP(i) \
	do { (void) (i); __attribute__((musttail)) return _JIT_JUMP_TARGET(state, econtext, isnull); } while (0)
/* a direct call through a hole instead of an indirect one through op->d.func.fn_addr */
#define CALL_FN(op, fcinfo) _JIT_FN(fcinfo)

/* helpers that take the step get the real one, not the local copy */
#define ExecEvalScalarArrayOp(state, op) ExecEvalScalarArrayOp((state), (ExprEvalStep *) HOLE(_JIT_STEP))

/*
 * The program's entry, in the C convention cp_scan calls: a plain call of step 0 (the
 * CONTINUE hole), whose chain returns here from EEOP_DONE. The runtime lays it out after the
 * steps and points state->evalfunc at it.
 */
Datum		stencil_CP_JIT_ENTRY(ExprState *state, ExprContext *econtext, bool *isnull);
Datum
stencil_CP_JIT_ENTRY(ExprState *state, ExprContext *econtext, bool *isnull)
{
	return _JIT_CONTINUE(state, econtext, isnull);
}

__attribute__((unused)) static void
stencil_template_start_(void)
{
#include "../cases.h"
}
