/*
 * arena.c: executable memory for the JIT's programs.
 *
 * Code memory comes in chunks, each a memfd mapped twice: read-write, where the compiler
 * writes, and read-execute, where the code runs. No mapping is ever writable and executable,
 * and no page's protection ever changes, so compiling and freeing a program makes no system
 * call unless a chunk has to be mapped or unmapped (measured: mmap+mprotect+munmap per program
 * costs ~6.5 us, a mprotect flip ~4.3 us; the double mapping costs nothing per program). A chunk
 * is a bitmap of 64-byte granules, allocated first-fit from a hint; an empty chunk goes back to
 * the system unless it is the only spare one. The read-write address is handed to the compiler
 * only while it writes a program (CpJitRegion); only the read-execute one leaves the JIT.
 *
 * Freed code is overwritten with the patcher's trap (CP_FREED_FILL), so a stale pointer into it
 * faults rather than runs someone else's program. A fork()ed child gets its own pages behind
 * every chunk, at the same addresses, holding the code as it was at fork(): the copy is taken in
 * the parent before fork(), when nothing can change it (see fork() below), since parent and
 * child would otherwise share, and both write, the same pages.
 *
 * Instruction-cache maintenance. Code is written through the read-write view and run from the
 * read-execute view: on AArch64 the data cache must be cleaned and the instruction cache
 * invalidated for the executable range before that code runs (on x86-64 the builtin is a
 * no-op). Every function that writes into a chunk ends by calling cp_jit_code_written on what it
 * wrote: the compiler (compile.c's publish: the program, its trap and trampolines),
 * arena_release (the trap fill of freed code) and arena_child_fork (every chunk, its copy
 * mapped as fresh pages). tests/test_arm64.py checks both the counters and, in the source, that
 * every writer is covered.
 *
 * One mutex guards the arena; the compiler holds it only to allocate and to give back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jit.h"

#define CP_JIT_GRANULE 64
#define CP_JIT_CHUNK_SIZE (256 * 1024)

typedef struct CpJitChunk
{
	struct CpJitChunk *next;
	uint8_t    *rw;				/* the writable view: never leaves the JIT */
	uint8_t    *rx;				/* the executable view */
	size_t		size;
	uint32_t	ngranules;
	uint32_t	used;			/* granules in use */
	uint32_t	hint;			/* every granule below is in use */
	bool		frozen;			/* after a failed remap in a forked child: no more allocations */
	int			fork_copy;		/* during fork(): a memfd with this chunk's bytes for the child */
	uint64_t	bitmap[];		/* one bit per granule, set when in use */
} CpJitChunk;

static struct
{
	pthread_mutex_t lock;
	CpJitChunk *chunks;
	int64_t		nchunks;
	int64_t		mapped;
	int64_t		used;
	int64_t		programs;
} arena = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0};

static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------------------------------------
 * The instruction cache
 * ------------------------------------------------------------------------------------------- */
static int64_t cp_jit_flushes;
static int64_t cp_jit_flushed_bytes;
static int	cp_jit_skip_flush;		/* for a test only: see cp_jit_set_skip_icache_flush */

void
cp_jit_code_written(const uint8_t *rx, size_t len)
{
	if (__atomic_load_n(&cp_jit_skip_flush, __ATOMIC_RELAXED))
		return;
	__builtin___clear_cache((char *) rx, (char *) rx + len);
	__atomic_add_fetch(&cp_jit_flushes, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&cp_jit_flushed_bytes, (int64_t) len, __ATOMIC_RELAXED);
}

/*
 * For one test (tests/test_arm64.py): leave the instruction cache alone, to show that the qemu
 * run would catch a missing flush (qemu >= 8.1 keeps stale translations until `ic ivau`).
 */
void
cp_jit_set_skip_icache_flush(int on)
{
	__atomic_store_n(&cp_jit_skip_flush, on, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------------------------------
 * fork()
 *
 * A chunk's pages are a MAP_SHARED memfd, and a MAP_SHARED mapping stays shared across fork():
 * without more, parent and child would write into one another's code. So the child gets new
 * pages, holding what the chunk held when fork() was called. That copy must be taken while
 * nothing can change it: the parent resumes as soon as fork() returns, and may then free a
 * program the child still runs (trap-filling it) or compile into its room. The copy is
 * therefore taken before fork(), in the parent, with the arena lock held (prepare): one fresh
 * memfd per chunk, written from the read-execute view. The child only maps it over both views
 * (child: mmap and close, async-signal-safe); the parent closes it (parent). A program being
 * compiled by another thread during the copy writes only its own room, which in the child
 * stays allocated and is never published (that thread does not exist there).
 *
 * If a copy cannot be made (out of memory or descriptors), that chunk stays shared in the
 * child, frozen: the child never allocates from it again, but its programs there may see the
 * parent's later writes.
 * ------------------------------------------------------------------------------------------- */

/* A new memfd holding the chunk's bytes as they are now (arena lock held); -1 on failure. */
static int
chunk_snapshot(const CpJitChunk *c)
{
	const uint8_t *src = c->rx;	/* read, not written */
	int			fd = memfd_create("copypatch-jit", MFD_CLOEXEC);
	size_t		done = 0;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t) c->size) != 0)
		goto fail;
	while (done < c->size)
	{
		ssize_t		w = write(fd, src + done, c->size - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		done += (size_t) w;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void
arena_prepare_fork(void)
{
	pthread_mutex_lock(&arena.lock);
	for (CpJitChunk *c = arena.chunks; c != NULL; c = c->next)
		c->fork_copy = chunk_snapshot(c);
}

static void
arena_parent_fork(void)
{
	for (CpJitChunk *c = arena.chunks; c != NULL; c = c->next)
	{
		if (c->fork_copy >= 0)
			close(c->fork_copy);
		c->fork_copy = -1;
	}
	pthread_mutex_unlock(&arena.lock);
}

/* Put the copies taken before fork() behind every chunk's two views: same addresses. */
static void
arena_child_fork(void)
{
	for (CpJitChunk *c = arena.chunks; c != NULL; c = c->next)
	{
		int			fd = c->fork_copy;

		c->fork_copy = -1;
		if (fd < 0 ||
			mmap(c->rw, c->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
			mmap(c->rx, c->size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
			c->frozen = true;	/* still shared with the parent: never write into it again */
		else
			cp_jit_code_written(c->rx, c->size);	/* same bytes, new pages at the same addresses */
		if (fd >= 0)
			close(fd);
	}
	pthread_mutex_unlock(&arena.lock);
}

static void
arena_init(void)
{
	pthread_atfork(arena_prepare_fork, arena_parent_fork, arena_child_fork);
}

/* ---------------------------------------------------------------------------------------------
 * Chunks and granules (arena lock held)
 * ------------------------------------------------------------------------------------------- */
static CpJitChunk *
chunk_new(size_t min_size)
{
	size_t		size = CP_JIT_CHUNK_SIZE;
	uint32_t	ngranules;
	CpJitChunk *c;
	int			fd;
	void	   *rw,
			   *rx;

#ifndef __linux__
	return NULL;				/* memfd_create is Linux's */
#endif
	if (min_size > size)
		size = (min_size + 4095) & ~(size_t) 4095;
	ngranules = (uint32_t) (size / CP_JIT_GRANULE);
	c = calloc(1, sizeof(CpJitChunk) + (ngranules + 63) / 64 * sizeof(uint64_t));
	if (c == NULL)
		return NULL;
	fd = memfd_create("copypatch-jit", MFD_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (ftruncate(fd, (off_t) size) != 0)
		goto fail_fd;
	rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw == MAP_FAILED)
		goto fail_fd;
	rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (rx == MAP_FAILED)
	{
		munmap(rw, size);
		goto fail_fd;
	}
	close(fd);					/* the mappings keep the memory */
	c->rw = rw;
	c->rx = rx;
	c->size = size;
	c->ngranules = ngranules;
	c->fork_copy = -1;
	c->next = arena.chunks;
	arena.chunks = c;
	arena.nchunks++;
	arena.mapped += (int64_t) size;
	return c;

fail_fd:
	close(fd);
fail:
	free(c);
	return NULL;
}

static void
chunk_release(CpJitChunk *c)
{
	for (CpJitChunk **p = &arena.chunks; *p != NULL; p = &(*p)->next)
	{
		if (*p == c)
		{
			*p = c->next;
			break;
		}
	}
	munmap(c->rw, c->size);
	munmap(c->rx, c->size);
	arena.nchunks--;
	arena.mapped -= (int64_t) c->size;
	free(c);
}

static inline bool
granule_used(const CpJitChunk *c, uint32_t g)
{
	return (c->bitmap[g / 64] >> (g % 64)) & 1;
}

static void
granules_set(CpJitChunk *c, uint32_t first, uint32_t n, bool used)
{
	for (uint32_t g = first; g < first + n; g++)
	{
		if (used)
			c->bitmap[g / 64] |= (uint64_t) 1 << (g % 64);
		else
			c->bitmap[g / 64] &= ~((uint64_t) 1 << (g % 64));
	}
}

/* First fit from the hint; -1 if the chunk has no run of n free granules. */
static int64_t
chunk_find(const CpJitChunk *c, uint32_t n)
{
	uint32_t	run = 0,
				start = 0;

	if (c->frozen || c->ngranules - c->used < n)
		return -1;
	for (uint32_t g = c->hint; g < c->ngranules;)
	{
		if (g % 64 == 0 && c->bitmap[g / 64] == ~(uint64_t) 0)
		{
			run = 0;
			g += 64;
			continue;
		}
		if (granule_used(c, g))
		{
			run = 0;
			g++;
			continue;
		}
		if (run++ == 0)
			start = g;
		if (run == n)
			return start;
		g++;
	}
	return -1;
}

/* Allocate n granules. */
static bool
arena_take(uint32_t n, CpJitChunk **chunk, uint32_t *first)
{
	CpJitChunk *c;
	int64_t		g = -1;

	for (c = arena.chunks; c != NULL; c = c->next)
		if ((g = chunk_find(c, n)) >= 0)
			break;
	if (c == NULL)
	{
		pthread_once(&arena_once, arena_init);
		c = chunk_new((size_t) n * CP_JIT_GRANULE);
		if (c == NULL)
			return false;
		g = 0;
	}
	granules_set(c, (uint32_t) g, n, true);
	if (c->hint == (uint32_t) g)
		c->hint = (uint32_t) g + n;
	c->used += n;
	arena.used += (int64_t) n * CP_JIT_GRANULE;
	*chunk = c;
	*first = (uint32_t) g;
	return true;
}

/*
 * Free granules [first, first + n) of c; unmap c if it is an extra empty one. Freed code is
 * overwritten with traps, unless `written` is false: room the caller reserved but never wrote
 * into (it still holds what it held before, traps or fresh zero pages).
 */
static void
arena_release(CpJitChunk *c, uint32_t first, uint32_t n, bool written)
{
	if (n == 0)
		return;
	if (written)
	{
		memset(c->rw + (size_t) first * CP_JIT_GRANULE, CP_FREED_FILL, (size_t) n * CP_JIT_GRANULE);
		cp_jit_code_written(c->rx + (size_t) first * CP_JIT_GRANULE, (size_t) n * CP_JIT_GRANULE);
	}
	granules_set(c, first, n, false);
	if (first < c->hint)
		c->hint = first;
	c->used -= n;
	arena.used -= (int64_t) n * CP_JIT_GRANULE;
	if (c->used == 0)
	{
		bool		spare = c->size == CP_JIT_CHUNK_SIZE && !c->frozen;

		/* keep one empty chunk, so that compiling and freeing in a loop does not map each time */
		for (CpJitChunk *o = arena.chunks; spare && o != NULL; o = o->next)
			if (o != c && o->used == 0)
				spare = false;
		if (!spare)
			chunk_release(c);
	}
}

/* ---------------------------------------------------------------------------------------------
 * What the compiler uses (jit.h), and the statistics
 * ------------------------------------------------------------------------------------------- */
bool
cp_jit_arena_alloc(size_t size, CpJitRegion *region)
{
	uint32_t	n = (uint32_t) ((size + CP_JIT_GRANULE - 1) / CP_JIT_GRANULE);
	bool		ok;

	pthread_mutex_lock(&arena.lock);
	ok = arena_take(n, &region->chunk, &region->first);
	if (ok)
		arena.programs++;
	pthread_mutex_unlock(&arena.lock);
	if (!ok)
		return false;
	region->ngranules = n;
	region->rw = region->chunk->rw + (size_t) region->first * CP_JIT_GRANULE;
	region->rx = region->chunk->rx + (size_t) region->first * CP_JIT_GRANULE;
	return true;
}

void
cp_jit_arena_shrink(CpJitRegion *region, size_t used)
{
	uint32_t	need = (uint32_t) ((used + CP_JIT_GRANULE - 1) / CP_JIT_GRANULE);

	pthread_mutex_lock(&arena.lock);
	arena_release(region->chunk, region->first + need, region->ngranules - need, false);
	pthread_mutex_unlock(&arena.lock);
	region->ngranules = need;
}

void
cp_jit_arena_free(CpJitRegion *region)
{
	pthread_mutex_lock(&arena.lock);
	arena_release(region->chunk, region->first, region->ngranules, true);
	arena.programs--;
	pthread_mutex_unlock(&arena.lock);
}

void
cp_jit_arena_stats(CpJitArenaStats *stats)
{
	pthread_mutex_lock(&arena.lock);
	stats->chunks = arena.nchunks;
	stats->mapped_bytes = arena.mapped;
	stats->used_bytes = arena.used;
	stats->programs = arena.programs;
	stats->icache_flushes = __atomic_load_n(&cp_jit_flushes, __ATOMIC_RELAXED);
	stats->icache_flushed_bytes = __atomic_load_n(&cp_jit_flushed_bytes, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&arena.lock);
}
