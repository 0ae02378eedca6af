/*
 * api.h: the C core's interface, in the subset of C that cffi's cdef parses.
 *
 * No preprocessor directives here: copypatch.h wraps this file with the includes it needs, and
 * src/copypatch/_build.py hands it verbatim to ffibuilder.cdef(). Everything Python sees of the
 * core is declared in this one file.
 *
 * The names follow PostgreSQL's executor (src/include/executor/execExpr.h): a program is an
 * ExprState holding an array of ExprEvalStep; each step writes its result to the value/isnull
 * pair its resvalue/resnull point at; functions are called through an fmgr-like call info.
 */

typedef uint64_t Datum;

typedef struct NullableDatum
{
	Datum		value;
	bool		isnull;
} NullableDatum;

/*
 * fmgr's FunctionCallInfoBaseData, cut down to what copypatch's built-ins need. As in PostgreSQL,
 * args is a flexible array: a call info is allocated with room for exactly nargs arguments
 * (SizeForFunctionCallInfo in copypatch.h; program.py), so width_bucket's four or num_nulls'
 * any number cost nothing to the two-argument calls.
 */
typedef struct FunctionCallInfoBaseData
{
	bool		isnull;			/* result is NULL (set by non-strict functions) */
	int16_t		nargs;
	NullableDatum args[];
} FunctionCallInfoBaseData;

typedef FunctionCallInfoBaseData *FunctionCallInfo;

enum
{
	CP_MINMAX_GREATEST = 0,
	CP_MINMAX_LEAST = 1
};
typedef Datum (*PGFunction) (FunctionCallInfo fcinfo);

/*
 * An array, the right-hand side of op ANY/ALL (PostgreSQL: an ArrayType datum): a constant one
 * (an IN list), or the one EEOP_ARRAYEXPR builds for each row over its elements' temporaries.
 */
typedef struct CpArray
{
	int32_t		nitems;
	bool		has_nulls;
	const Datum *values;
	const bool *nulls;
} CpArray;

/* One column of the scanned table: a numpy array and, if the column is nullable, its mask. */
typedef struct CpColumn
{
	const char *data;			/* value of row 0 */
	const char *nulls;			/* NULL for a NOT NULL column, else one bool per row */
	intptr_t	stride;			/* bytes from one value to the next */
	intptr_t	null_stride;
	int32_t		type;			/* CpType */
} CpColumn;

/*
 * Which member of ExprEvalStep.d an opcode's operands are (opcodes.def's second column):
 * CP_OPERANDS_<member>, or CP_OPERANDS_none for an opcode without operands. Python lays out,
 * explains, verifies and reads raw steps by this kind (src/copypatch/opcodes.py).
 */
typedef enum CpOperandKind
{
	CP_OPERANDS_none,
	CP_OPERANDS_fetch,
	CP_OPERANDS_var,
	CP_OPERANDS_column,
	CP_OPERANDS_constval,
	CP_OPERANDS_func,
	CP_OPERANDS_scalararrayop,
	CP_OPERANDS_boolexpr,
	CP_OPERANDS_qualexpr,
	CP_OPERANDS_jump,
	CP_OPERANDS_minmax,
	CP_OPERANDS_casetest,
	CP_OPERANDS_arrayexpr,
	CP_OPERANDS_colcmp
} CpOperandKind;

/*
 * What an opcode does beyond reading its operands (opcodes.def's third column), as CPython's
 * _PyUop_Flags describe its uops. "Destination" is the value/isnull pair resvalue/resnull point
 * at; "temporary" is the one the operands point at (d.boolexpr.anynull, d.casetest, d.minmax).
 */
typedef enum CpOpFlag
{
	CP_OPF_JUMPS = 0x1,			/* may continue at d.<kind>.jumpdone, not the next step */
	CP_OPF_NO_FALLTHROUGH = 0x2,	/* never continues with the next step */
	CP_OPF_ENDS = 0x4,			/* the row's end: reads the result, returns or stores it */
	CP_OPF_CALLS = 0x8,			/* may call out of line: its function (fn_addr) or a helper */
	CP_OPF_NO_DEST = 0x10,		/* writes no destination: resvalue/resnull are unused */
	CP_OPF_JUMPS_IF_NOT_NULL = 0x20,	/* jumps only when its destination's flag is false */
	CP_OPF_BOOL_IN = 0x40,		/* reads a boolean from its destination */
	CP_OPF_BOOL_OUT = 0x80,		/* leaves a boolean in its destination */
	CP_OPF_FALLS_IF_NOT_NULL = 0x100,	/* continues with the next step only when it is false */
	CP_OPF_LAST_USE = 0x200,	/* the last reader of the argument slots and temporaries it
								 * reads: they are written again before any other read */
	CP_OPF_NONULL = 0x400,		/* skips a NULL check: only where no NULL can arrive */
	CP_OPF_INLINE = 0x800,		/* an inlined built-in (inline.def): d.func, but no call */
	CP_OPF_OPTIMIZED = 0x1000,	/* produced only by the optimisation passes */
	CP_OPF_JUMPS_IF_NULL = 0x2000,	/* jumps only when its destination's flag is true */
	CP_OPF_FALLS_IF_NULL = 0x4000	/* continues with the next step only when it is true */
} CpOpFlag;

/*
 * What a step reads and writes, slot by slot (opcodes.def's fourth column, cp_opcode_effects[]):
 * one byte per role, CP_EFF(role, read, value_write, null_write) in copypatch.h. The verifier's
 * transfer function is derived from it (src/copypatch/verify.py), and the checking interpreter
 * (csrc/check.c) proves it by recording every slot each step actually writes.
 */
typedef enum CpSlotRole
{
	CP_ROLE_DEST,				/* resvalue/resnull */
	CP_ROLE_TMP,				/* the temporary (or, for EEOP_MINMAX, the nelems ones) of d */
	CP_ROLE_ARGS,				/* every argument slot of its call info ... */
	CP_ROLE_ARG0,				/* ... but args[0] (args[1]) as said here, if said */
	CP_ROLE_ARG1,
	CP_ROLE_RESULT,				/* ExprState.resvalue/resnull, read at the row's end */
	CP_NUM_ROLES
} CpSlotRole;

/* how a step reads a slot (3 bits) */
typedef enum CpSlotRead
{
	CP_READ_NONE,
	CP_READ_NULL,				/* its NULL flag only */
	CP_READ_CHECKED,			/* its flag, and its value only where the flag is false */
	CP_READ_NONULL,				/* its value with no NULL check: no NULL may arrive there */
	CP_READ_COPY,				/* its value and flag, whatever they hold, into the destination */
	CP_READ_CALLEE				/* as its function does: CHECKED if non-strict, NONULL if strict */
} CpSlotRead;

/* how a step writes a slot's value, or its NULL flag (2 bits each) */
typedef enum CpSlotWrite
{
	CP_WRITE_NONE,
	CP_WRITE_MAY,				/* on some paths; a value and flag both MAY: together or neither */
	CP_WRITE_IFNN,				/* the value: whenever the step leaves the flag false */
	CP_WRITE_MUST				/* on every path through the step (that raises no error) */
} CpSlotWrite;

/*
 * One program step. PostgreSQL's ExprEvalStep: the opcode (for the computed-goto engine, the
 * address of the opcode's label), where the step writes its result, and a union of per-opcode
 * operands. The union is also readable as four machine words, which is how the JIT sees a step:
 * each word is a hole patched into the stencil.
 */
typedef struct ExprEvalStep
{
	intptr_t	opcode;
	Datum	   *resvalue;
	bool	   *resnull;
	union
	{
		uintptr_t	words[4];	/* the JIT's view of every operand below */

		/* for EEOP_SCAN_FETCHSOME */
		struct
		{
			int32_t		last_var;	/* deform columns [0, last_var) */
		}			fetch;

		/* for EEOP_SCAN_VAR */
		struct
		{
			int32_t		attnum;		/* 0-based column index */
		}			var;

		/* for EEOP_SCAN_COLUMN_*: the column read in place, from its array */
		struct
		{
			int32_t		attnum;		/* 0-based column index */
		}			column;

		/* for EEOP_CONST* */
		struct
		{
			Datum		value;
			bool		isnull;
		}			constval;

		/* for EEOP_FUNCEXPR*, EEOP_DISTINCT, EEOP_NULLIF, EEOP_INLINE_* */
		struct
		{
			FunctionCallInfo fcinfo;
			PGFunction	fn_addr;
			int32_t		nargs;
		}			func;

		/*
		 * for EEOP_SCALARARRAYOP: the operator's call (as d.func), once per element of the array
		 * its destination holds, with each element in args[1]
		 */
		struct
		{
			FunctionCallInfo fcinfo;
			PGFunction	fn_addr;
			int32_t		nargs;
			bool		useOr;		/* ANY (true) or ALL */
		}			scalararrayop;

		/* for EEOP_BOOL_*_STEP* */
		struct
		{
			int32_t		jumpdone;	/* where to go once the result is known */
			bool	   *anynull;	/* has any input been NULL so far? */
		}			boolexpr;

		/* for EEOP_QUAL */
		struct
		{
			int32_t		jumpdone;
		}			qualexpr;

		/* for EEOP_JUMP*, EEOP_DONE_NEXTROW_* (whose target is step 0) */
		struct
		{
			int32_t		jumpdone;
		}			jump;

		/*
		 * for EEOP_MINMAX: GREATEST/LEAST of the nelems values the steps before it evaluated,
		 * compared with the type's btree comparison function (fn_addr sits where d.func's does,
		 * so the JIT calls it directly)
		 */
		struct
		{
			Datum	   *values;
			PGFunction	fn_addr;
			bool	   *nulls;
			int32_t		nelems;
			int32_t		op;			/* CP_MINMAX_GREATEST or CP_MINMAX_LEAST */
		}			minmax;

		/* for EEOP_CASE_TESTVAL: where the CASE operand was evaluated to */
		struct
		{
			Datum	   *value;
			bool	   *isnull;
		}			casetest;

		/*
		 * for EEOP_ARRAYEXPR: ARRAY[...] of the nelems values the steps before it evaluated into
		 * elemvalues/elemnulls (temporaries), built each row in *array (PostgreSQL palloc's a new
		 * one per row; the program owns this one)
		 */
		struct
		{
			Datum	   *elemvalues;
			bool	   *elemnulls;
			CpArray    *array;
			int32_t		nelems;
		}			arrayexpr;

		/*
		 * for EEOP_QUAL_[ANY_]<f>[_NOTNULL]: column attnum of the current row compared with a
		 * constant (argument 1 of the comparison's call info, copied here by the layout), or
		 * with each element of a constant array (ANY: the CpArray's address)
		 */
		struct
		{
			int32_t		jumpdone;	/* where to go unless the comparison is TRUE */
			Datum		value;		/* the constant, or the array */
			intptr_t	attnum;		/* 0-based column index (a word of its own: the JIT's
									 * hole is then the index, with nothing to extract) */
		}			colcmp;
	}			d;
} ExprEvalStep;

struct ExprState;
struct ExprContext;
typedef Datum (*ExprStateEvalFunc) (struct ExprState *state, struct ExprContext *econtext,
									bool *isnull);

/* A compiled expression: the steps, the final result, and the engine that runs them. */
typedef struct ExprState
{
	ExprEvalStep *steps;
	int32_t		steps_len;
	bool		resnull;
	Datum		resvalue;
	ExprStateEvalFunc evalfunc;
	/*
	 * 0: cp_scan calls evalfunc once per row (PostgreSQL's way). 1 + CpScanMode: the program
	 * ends in EEOP_DONE_NEXTROW_* and loops over the rows itself; cp_scan calls it once per chunk
	 * of rows (scan.c).
	 */
	int32_t		row_loop;
} ExprState;

/* Per-scan state: the table, the scan slot (tts_values/tts_isnull) and the current row. */
typedef struct ExprContext
{
	Datum	   *scan_values;
	bool	   *scan_isnull;
	int32_t		scan_nvalid;	/* columns [0, scan_nvalid) of this row are deformed */
	int32_t		ncolumns;
	const CpColumn *columns;
	int64_t		row;
	/* the scan's rows and output, for programs that loop over the rows themselves */
	int64_t		nrows;
	void	   *out;
	bool	   *out_nulls;
	int32_t		result_type;	/* CpType of out in CP_SCAN_EVALUATE */
} ExprContext;

/* What went wrong, when cp_scan returns nonzero. */
typedef struct CpErrorInfo
{
	int32_t		code;			/* CpErrorCode */
	int64_t		row;
} CpErrorInfo;

/*
 * The SQL types of columns and results (csrc/types.def), indexed by their CpType code (the enum
 * is in copypatch.h, generated from the same list). Python's SqlType reads its facts from here.
 */
typedef struct CpTypeInfo
{
	const char *name;			/* the types.def token (SqlType's member); lower-cased, typname */
	const char *sql_name;		/* format_type()'s name */
	const char *dtype;			/* numpy dtype of a column */
	const char *datum;			/* Datum convention: "INT", "BOOL" or "FLOAT" */
	const char *column;			/* column convention: "PLAIN" */
	int32_t		oid;			/* pg_type.oid */
	int32_t		width;			/* bytes of the C value: pg_type.typlen */
	char		category;		/* pg_type.typcategory */
} CpTypeInfo;
extern const int cp_num_types;
extern const CpTypeInfo cp_types[];

/* Opcode and error tables, for Python and for explain(): opcodes.def's columns, by opcode. */
extern const int cp_num_opcodes;
extern const char *const cp_opcode_names[];
extern const uint8_t cp_opcode_kinds[];		/* CpOperandKind */
extern const uint32_t cp_opcode_flags[];	/* CpOpFlag bits */
extern const uint64_t cp_opcode_effects[];	/* a byte per CpSlotRole: CP_EFF(...) */
extern const int cp_num_errors;
extern const char *const cp_error_sqlstates[];
extern const char *const cp_error_messages[];

/*
 * The units of date_part and date_trunc (PostgreSQL's DTK_* values that they handle). The unit
 * is text in PostgreSQL, which copypatch lacks: it must be a constant, which the front end reads
 * at compile time (src/copypatch/_datetime.py, DecodeUnits and DecodeSpecial) into one of these,
 * passed to timestamp_part and timestamp_trunc as an int4. The last three raise at run time, as
 * PostgreSQL does: for the first non-NULL row, and not at all on an empty table.
 */
enum
{
	CP_UNIT_MICROSEC, CP_UNIT_MILLISEC, CP_UNIT_SECOND, CP_UNIT_MINUTE, CP_UNIT_HOUR,
	CP_UNIT_DAY, CP_UNIT_WEEK, CP_UNIT_MONTH, CP_UNIT_QUARTER, CP_UNIT_YEAR, CP_UNIT_DECADE,
	CP_UNIT_CENTURY, CP_UNIT_MILLENNIUM, CP_UNIT_JULIAN, CP_UNIT_ISOYEAR, CP_UNIT_DOW,
	CP_UNIT_ISODOW, CP_UNIT_DOY, CP_UNIT_EPOCH,
	CP_UNIT_TZ,					/* timezone, timezone_hour, timezone_minute: a unit, not supported */
	CP_UNIT_RESERVED,			/* a reserved word that is no unit here (now, infinity): 0A000 */
	CP_UNIT_UNKNOWN				/* anything else: 22023 */
};

/* Built-in functions, by PostgreSQL name. */
typedef struct CpFunction
{
	const char *name;
	PGFunction	fn;
	int32_t		nargs;			/* -1: variadic, any number (num_nulls) */
	bool		returns_null;	/* strict, yet NULL for some non-NULL arguments (date_part) */
} CpFunction;
extern const int cp_num_functions;
extern const CpFunction cp_functions[];

/* Engines: each returns the function the scan loop calls per row. */
ExprStateEvalFunc cp_engine_switch(void);
ExprStateEvalFunc cp_engine_goto(void);
/* Ready a program for the goto engine: opcodes become label addresses. */
void cp_goto_prepare(ExprState *state);

/*
 * The checking interpreter (csrc/check.c), for tests only: the switch engine compiled again with a
 * hook before every step, which proves opcodes.def's effects true. Per step it poisons the slot
 * parts the step is declared not to read (an undeclared read then changes the result), records
 * which parts it actually wrote (an undeclared write is then seen), checks its MUST writes were
 * done, and keeps which parts are defined this row (a read of one that is not is a violation).
 * The default engines never see any of it: cp_engine_check() is a different function.
 */
typedef struct CpCheckSlot
{
	Datum	   *value;
	bool	   *isnull;
} CpCheckSlot;

/* what the declarations say of (step, slot): CpCheck.plan */
enum
{
	CP_CHECK_POISON_VALUE = 0x1,	/* not read: poison the value */
	CP_CHECK_POISON_NULL = 0x2,		/* not read: poison the flag */
	CP_CHECK_CHECKED = 0x4,			/* flag read, value read only where the flag is false */
	CP_CHECK_NEEDS_VALUE = 0x8,		/* the value is read whatever the flag (NONULL, COPY) */
	CP_CHECK_MUST_VALUE = 0x10,		/* a MUST write of the value */
	CP_CHECK_MUST_NULL = 0x20,		/* a MUST write of the flag */
	CP_CHECK_IFNN_VALUE = 0x40,		/* the value is written where the flag is left false */
	CP_CHECK_COPY_SOURCE = 0x80		/* the destination's value is a copy of this one */
};

/* what was seen: CpCheck.written (WROTE_*) and CpCheck.violations (the rest), per (step, slot) */
enum
{
	CP_CHECK_WROTE_VALUE = 0x1,
	CP_CHECK_WROTE_NULL = 0x2,
	CP_CHECK_MISSED_VALUE = 0x4,	/* a MUST (or IFNN) write of the value was not done */
	CP_CHECK_MISSED_NULL = 0x8,
	CP_CHECK_UNDEFINED_VALUE = 0x10,	/* read a value nothing wrote this row */
	CP_CHECK_UNDEFINED_NULL = 0x20
};

typedef struct CpCheck
{
	int32_t		nslots;
	int32_t		nsteps;
	const CpCheckSlot *slots;	/* every slot of the program */
	const uint8_t *plan;		/* nsteps x nslots: CP_CHECK_* from the declarations */
	const int32_t *dest_slot;	/* nsteps: the slot its destination is, or -1 */
	const uint8_t *initially;	/* nslots: parts defined at a row's start (1 value, 2 flag) */
	uint8_t    *written;		/* nsteps x nslots: WROTE_* bits, over every execution */
	uint8_t    *violations;		/* nsteps x nslots */
	int64_t    *executions;		/* nsteps */
	/* scratch, nslots each */
	uint8_t    *defined;
	Datum	   *saved_values;
	uint8_t    *saved_nulls;
	uint8_t    *poisoned;
	int32_t		current;		/* the step under way, or -1 */
} CpCheck;

/* The checking engine, and the context it reports to (this thread's scans). */
ExprStateEvalFunc cp_engine_check(void);
void		cp_check_set(CpCheck *check);
/* After a scan that raised an error: put back what the interrupted step's poisoning changed. */
void		cp_check_abort(CpCheck *check);

/* Scan modes. */
typedef enum CpScanMode
{
	CP_SCAN_FILTER,				/* out: one uint8 per row, 1 where the result is true */
	CP_SCAN_EVALUATE			/* out: one value per row of result_type; out_nulls: one bool */
} CpScanMode;

/*
 * Run the program over rows [*next_row, nrows) of the columns, the GIL released. Returns 0 when
 * all are done; 1 after an error, described in *error (the first failing row in scan order;
 * nothing after it is written); -1 for too many columns, -2 for a program that loops over the
 * rows in the other mode, -3 for *next_row outside [0, nrows]. With slice_ns > 0 it returns
 * CP_SCAN_PAUSED, between two rows, once about slice_ns have passed: *next_row is then the first
 * row not scanned, and the caller runs Python's signal handlers and calls again (scan.c).
 */
enum
{
	CP_SCAN_PAUSED = 2
};
int			cp_scan(ExprState *state, const CpColumn *columns, int32_t ncolumns, int64_t nrows,
					int32_t mode, int32_t result_type, void *out, bool *out_nulls,
					int64_t *next_row, int64_t slice_ns, CpErrorInfo *error);

/* Call one built-in on constant arguments (constant folding). Same error reporting. */
int			cp_call_function(PGFunction fn, FunctionCallInfo fcinfo, Datum *result,
							 CpErrorInfo *error);

/* strtof/strtod as PostgreSQL's float4in/float8in see them, for numeric literals. */
float		cp_strtof(const char *s, int *erange);
double		cp_strtod(const char *s, int *erange);

/*
 * ---- The copy-and-patch JIT (csrc/jit/: compile.c, arena.c, stencils.c; docs/jit.md) ----
 *
 * cp_jit_compile copies each step's stencil into executable memory, patches its holes, and
 * points state->evalfunc at the result. The program's steps, slots and call infos must outlive
 * the code, which refers to them by address. The code lives in a shared arena: freeing it (or
 * compiling) makes no system call in the common case, and no mapping is writable and executable
 * at once (the code is written through one view of a memfd and run from another).
 */
typedef struct CpJitCode CpJitCode;	/* one compiled program, opaque */

/* One hole of a stencil: where, how (a relocation kind) and what (a hole value). */
typedef struct CpJitHole
{
	uint32_t	offset;
	uint16_t	kind;
	uint16_t	value;
	int64_t		addend;
} CpJitHole;

typedef struct CpJitArenaStats
{
	int64_t		chunks;			/* memfd chunks mapped (each twice) */
	int64_t		mapped_bytes;
	int64_t		used_bytes;		/* in live programs, rounded to the allocation granule */
	int64_t		programs;		/* live programs */
	int64_t		icache_flushes;	/* instruction-cache flushes after writing code, ever */
	int64_t		icache_flushed_bytes;
} CpJitArenaStats;

/*
 * The facts of the machine the stencils are for, as its patcher (csrc/jit/patch_<arch>.h) has
 * them: what a reader of a program's code needs to find its way in it. Python reads them here
 * rather than restating them.
 */
typedef struct CpJitArchInfo
{
	int32_t		trap_size;		/* the trap after the entry, repeated up to the trampolines */
	int32_t		trampoline_size;	/* one trampoline (veneer) to a helper out of branch range */
	int32_t		trampoline_align;	/* where the first one starts */
	int32_t		trampoline_target;	/* where its 8-byte target is, in it */
	int32_t		freed_fill;		/* the byte freed code is overwritten with (a trap) */
	int32_t		nrelocs;		/* the relocation kinds its patcher handles (csrc/jit/relocs.def) */
	uint16_t	relocs[64];		/* as CpJitHole.kind; cp_jit_reloc_name names them */
} CpJitArchInfo;

/* The architecture the stencils were built for, or NULL if this build has none. */
const char *cp_jit_target(void);
/* 1 and *info filled, or 0 if this build has no stencils. */
int			cp_jit_arch_info(CpJitArchInfo *info);
/* 0, or an error number for cp_jit_strerror. On success *code must go to cp_jit_free. */
int			cp_jit_compile(ExprState *state, CpJitCode **code);
const char *cp_jit_strerror(int err);
void		cp_jit_free(CpJitCode *code);
int64_t		cp_jit_compile_ns(const CpJitCode *code);	/* copy + patch + publish */
int64_t		cp_jit_code_size(const CpJitCode *code);
uintptr_t	cp_jit_code_address(const CpJitCode *code);	/* of the read-execute view */
/* Where step i's code starts; i == steps_len: the end of the steps (the entry, a trap, then
 * trampolines). */
int32_t		cp_jit_step_offset(const CpJitCode *code, int32_t step);
int32_t		cp_jit_entry_offset(const CpJitCode *code);	/* the C-ABI entry, after the steps */
/* Where the row exit with result `result` (0, 1) is (-1: none; a step's offset if it is that
 * step's code), and its stencil (for cp_jit_stencil: cp_num_opcodes + 1 .. 4). */
int32_t		cp_jit_exit_offset(const CpJitCode *code, int32_t result);
int32_t		cp_jit_exit_stencil(const CpJitCode *code, int32_t result);
/* An opcode's stencil (cp_num_opcodes: the entry's; + 1, + 2: the row exits TRUE and FALSE):
 * returns its size (-1 if none), its holes and their number. */
int32_t		cp_jit_stencil(int32_t opcode, const CpJitHole **holes, int32_t *nholes);
/* the same, of one of its variants (csrc/jit/jit.h: bit 1 short immediates, bit 2 no result;
 * -1 if it has none) */
int32_t		cp_jit_stencil_variant(int32_t opcode, int32_t variant, const CpJitHole **holes,
								   int32_t *nholes);
/* the variant of its stencil step i runs */
int32_t		cp_jit_step_variant(const CpJitCode *code, int32_t step);
const char *cp_jit_hole_name(int32_t value);
const char *cp_jit_reloc_name(int32_t kind);
void		cp_jit_arena_stats(CpJitArenaStats *stats);
/* For tests: nonzero sends every call to a helper through a trampoline, as if out of range. */
void		cp_jit_set_far_calls(int on);
/* For tests and measurements: zero keeps every value in its slot (no value registers). */
void		cp_jit_set_value_registers(int on);
/* For one test: nonzero skips the instruction-cache flush after writing code (never do this). */
void		cp_jit_set_skip_icache_flush(int on);
