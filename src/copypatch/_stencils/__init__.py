"""Build-time stencil generator: compile csrc/jit/template.c, read the ELF, write a C header."""
