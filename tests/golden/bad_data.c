/* A stencil that writes to a static variable: its .bss section must fail the build. */
#include <stdint.h>

static long counter;

long stencil_COUNT(void)
{
	return ++counter;
}
