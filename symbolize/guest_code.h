/*
 * The code oracle for symbol files without code (System.map, kallsyms): the few instruction
 * bytes the walkers' leaf rules need, read from the guest itself and kept.
 *
 * A read is answered from the symbol files' own code when they have it (ELF), else, for an
 * address inside a function some file names at its slide, from guest memory through the read
 * callback, tried with each context given (one per vCPU: a vCPU running user code may not map
 * the kernel).  Code is read in 64-byte lines kept in a direct-mapped cache for the whole run:
 * kernel text does not change once booted (runtime patching happens at boot).
 */
#ifndef UP_SYMBOLIZE_GUEST_CODE_H
#define UP_SYMBOLIZE_GUEST_CODE_H

#include "../arch/arch.h"
#include "symbolize.h"

struct up_guest_code;

/*
 * A new oracle over sym (which must outlive it), reading guest memory with read and each of
 * the nr_ctxs contexts (copied; at least one) in turn.
 */
struct up_error *up_guest_code_create(const struct up_symbolizer *sym, up_read_mem_fn *read,
				      void *const *ctxs, size_t nr_ctxs,
				      struct up_guest_code **ret);

/* Free gc; NULL is a no-op. */
void up_guest_code_destroy(struct up_guest_code *gc);

/* read_code of struct up_walk_env, ctx a struct up_guest_code: 0 and the bytes, or -1. */
int up_guest_code_read(void *ctx, uint64_t addr, void *buf, size_t len);

/* func_start of struct up_walk_env over the symbolizer, ctx a struct up_guest_code. */
uint64_t up_guest_code_func_start(void *ctx, uint64_t addr);

/* Guest reads made so far (cache misses that reached the guest). */
uint64_t up_guest_code_reads(const struct up_guest_code *gc);

#endif
