/*
 * stencils.c: the stencil set of the machine this file is compiled for, and what the Python
 * side may ask about it and about the architecture.
 *
 * The generated header (stencils_<arch>.h: `python -m copypatch._stencils`) is included here and
 * nowhere else: its tables are static, and the compiler reaches them through cp_jit_stencils
 * and cp_jit_helpers (jit.h). A cross build includes the target's header.
 *
 * cp_jit_arch_info is how the architecture's facts reach Python: the patcher's constants and
 * the relocation kinds it handles, so that src/copypatch/jit.py restates none of them.
 */
#include "jit.h"

#if defined(__x86_64__) && defined(__linux__)
#include "stencils_x86_64.h"
#elif defined(__aarch64__) && defined(__linux__)
#include "stencils_aarch64.h"
#endif

#if CP_JIT_HAVE_STENCILS
_Static_assert(sizeof(cp_stencils) / sizeof(cp_stencils[0]) == CP_JIT_NSTENCILS,
			   "a stencil is missing for some opcode (or the entry, or a row exit): the stencil "
			   "header is stale");

const CpJitStencil *const cp_jit_stencils = cp_stencils;
const CpJitStencil *const cp_jit_variants[CP_JIT_NVARIANTS] = {
	[0] = cp_stencils,
	[CP_JIT_VARIANT_SHORT] = cp_stencils_short,
	[CP_JIT_VARIANT_NORESULT] = cp_stencils_noresult,
	[CP_JIT_VARIANT_SHORT | CP_JIT_VARIANT_NORESULT] = cp_stencils_noresult_short,
	[CP_JIT_VARIANT_RELATIVE] = cp_stencils_relative,
	[CP_JIT_VARIANT_VREG] = cp_stencils_vreg,
	[CP_JIT_VARIANT_VREG_ARG0] = cp_stencils_vreg_arg0,
	[CP_JIT_VARIANT_VREG_ARG1] = cp_stencils_vreg_arg1,
	[CP_JIT_VARIANT_VREG_ARG0_DEST] = cp_stencils_vreg_arg0_dest,
	[CP_JIT_VARIANT_VREG_ARG1_DEST] = cp_stencils_vreg_arg1_dest,
};
void *const *const cp_jit_helpers = cp_jit_symbol_addresses;
#endif

static const char *const cp_jit_hole_names[] = {
#define X(name) #name,
	CP_JIT_HOLES(X)
#undef X
};

static const char *const cp_jit_reloc_names[] = {
#define RELOC(arch, name) #name,
#include "relocs.def"
#undef RELOC
};

static const CpJitArch cp_jit_reloc_archs[] = {
#define RELOC(arch, name) CP_JIT_ARCH_##arch,
#include "relocs.def"
#undef RELOC
};

_Static_assert(CP_RELOC_LAST <= sizeof(((CpJitArchInfo *) 0)->relocs) / sizeof(uint16_t),
			   "CpJitArchInfo.relocs (api.h) is too small for relocs.def");

const char *
cp_jit_target(void)
{
#if CP_JIT_HAVE_STENCILS
	return CP_JIT_TARGET;
#else
	return NULL;
#endif
}

int
cp_jit_arch_info(CpJitArchInfo *info)
{
#if CP_JIT_HAVE_STENCILS
	memset(info, 0, sizeof(*info));
	info->trap_size = CP_TRAP_SIZE;
	info->trampoline_size = CP_TRAMPOLINE_SIZE;
	info->trampoline_align = CP_TRAMPOLINE_ALIGN;
	info->trampoline_target = CP_TRAMPOLINE_TARGET;
	info->freed_fill = CP_FREED_FILL;
	for (int kind = 0; kind < CP_RELOC_LAST; kind++)
		if (cp_jit_reloc_archs[kind] == CP_JIT_ARCH)
			info->relocs[info->nrelocs++] = (uint16_t) kind;
	return 1;
#else
	(void) info;
	(void) cp_jit_reloc_archs;
	return 0;
#endif
}

int32_t
cp_jit_stencil(int32_t opcode, const CpJitHole **holes, int32_t *nholes)
{
	return cp_jit_stencil_variant(opcode, 0, holes, nholes);
}

int32_t
cp_jit_stencil_variant(int32_t opcode, int32_t variant, const CpJitHole **holes, int32_t *nholes)
{
#if CP_JIT_HAVE_STENCILS
	const CpJitStencil *table = variant >= 0 && variant < CP_JIT_NVARIANTS ?
		cp_jit_variants[variant] : NULL;

	if (table != NULL && opcode >= 0 && opcode < CP_JIT_NSTENCILS && table[opcode].body != NULL)
	{
		*holes = table[opcode].holes;
		*nholes = (int32_t) table[opcode].nholes;
		return (int32_t) table[opcode].size;
	}
#else
	(void) opcode;
	(void) variant;
#endif
	*holes = NULL;
	*nholes = 0;
	return -1;
}

const char *
cp_jit_hole_name(int32_t value)
{
	if (value >= 0 && value < CP_HOLE_SYMBOLS)
		return cp_jit_hole_names[value];
#if CP_JIT_HAVE_STENCILS
	if (value >= CP_HOLE_SYMBOLS && value < CP_HOLE_END_)
		return cp_jit_symbol_names[value - CP_HOLE_SYMBOLS];
#endif
	return "?";
}

const char *
cp_jit_reloc_name(int32_t kind)
{
	return kind >= 0 && kind < CP_RELOC_LAST ? cp_jit_reloc_names[kind] : "?";
}
