/*
 * Hand-written stencils for the stencil generator's golden test (tests/test_jit_stencils.py):
 * one of each kind of hole, so that a compiler whose relocations change shows up as a diff of
 * tests/golden/handwritten_<arch>.txt.
 */
#include <stdbool.h>
#include <stdint.h>

typedef uint64_t Datum;

extern char _JIT_D0[1];
extern char _JIT_RESVALUE[1];
extern Datum _JIT_CONTINUE(void *state, void *econtext, bool *isnull);
extern Datum _JIT_JUMP_TARGET(void *state, void *econtext, bool *isnull);
extern void helper(long x);

/* an operand stored to a result slot, then the continuation (a trailing jump) */
Datum stencil_STORE(void *state, void *econtext, bool *isnull)
{
	*(Datum *) (uintptr_t) _JIT_RESVALUE = (Datum) (uintptr_t) _JIT_D0;
	__attribute__((musttail)) return _JIT_CONTINUE(state, econtext, isnull);
}

/* a call to a helper resolved by name */
Datum stencil_CALL(void *state, void *econtext, bool *isnull)
{
	helper(42);
	__attribute__((musttail)) return _JIT_CONTINUE(state, econtext, isnull);
}

/* a conditional jump, and read-only data pulled into the stencil */
static const double table[4] = {1.5, 2.5, 3.5, 4.5};

Datum stencil_BRANCH(void *state, void *econtext, bool *isnull)
{
	if (*isnull)
		__attribute__((musttail)) return _JIT_JUMP_TARGET(state, econtext, isnull);
	*(double *) (uintptr_t) _JIT_RESVALUE = table[(uintptr_t) _JIT_D0 & 3];
	__attribute__((musttail)) return _JIT_CONTINUE(state, econtext, isnull);
}
