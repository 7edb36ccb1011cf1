/*
 * Guest architectures.
 *
 * Each supported guest architecture is a const struct up_arch: how to decode the registers a
 * gdbstub sends, and how to walk a frame-pointer chain.  Arch code never talks to a backend: it
 * reads guest memory only through an up_read_mem_fn callback, so the walkers run in unit tests
 * over a byte array.
 */
#ifndef UP_ARCH_ARCH_H
#define UP_ARCH_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

/* General registers in DWARF numbering, at most: arm64's x0-x30, sp and pc. */
#define UP_MAX_GPRS 33

/* The registers a sample needs, in an arch-neutral shape. */
struct up_regs {
	uint64_t pc;
	uint64_t sp;
	uint64_t fp;        /* rbp on x86_64, x29 on arm64 */
	uint64_t lr;        /* x30 on arm64; 0 on x86_64 */
	/*
	 * Every general register the source gave, numbered as the architecture's DWARF numbers
	 * them (x86_64: rax rdx rcx rbx rsi rdi rbp rsp r8-r15, 16 = rip; arm64: x0-x30, 31 = sp,
	 * 32 = pc), for unwind rules that restore callee-saved registers.  Bit n of gpr_valid
	 * says gpr[n] is known.  pc, sp, fp and lr above are copies, kept for the code that
	 * needs no more.
	 */
	uint64_t gpr[UP_MAX_GPRS];
	uint64_t gpr_valid;
	/*
	 * The vCPU was running unprivileged code (x86_64: CPL 3 in a kernel that does not run
	 * in ring 3 itself, as a Xen PV kernel does; arm64: EL0): pc is a user address.
	 */
	int user;
	union {
		struct {
			uint64_t cr0, cr3, cr4, efer;
			/*
			 * The kernel's page table when cr3 is a user table that does not map the
			 * kernel (a Xen PV vCPU in user mode); translate tries it for what cr3
			 * does not map.  0: none.
			 */
			uint64_t kernel_cr3;
			/*
			 * GS base in use, and the one swapgs would swap in (MSR_KERNEL_GS_BASE):
			 * a kernel's per-CPU base is one of them, depending on the mode.  0 when
			 * the source does not give them.
			 */
			uint64_t gs_base, kernel_gs_base;
		} x86_64;
		struct {
			uint64_t cpsr, ttbr0, ttbr1, tcr, sctlr;
			/*
			 * The exception state: VBAR_EL1 (0: unknown), and ELR_EL1 and SPSR_EL1,
			 * the context the last exception taken to EL1 interrupted.
			 */
			uint64_t vbar, elr, spsr;
			/* SP_EL0: Linux keeps `current` there while in EL1.  0 when not read. */
			uint64_t sp_el0;
		} arm64;
	};
};

/* Set general register n (DWARF numbering) and mark it known. */
static inline void up_regs_set_gpr(struct up_regs *regs, unsigned int n, uint64_t value)
{
	regs->gpr[n] = value;
	regs->gpr_valid |= 1ULL << n;
}

/*
 * Read len bytes of guest virtual memory at addr into buf.  Returns NULL on success or an error
 * that the caller owns: UP_ERR_FAULT when the range cannot be read (a walker ends its walk
 * there), anything else when the target is in trouble (a walker hands it up: the run ends).
 */
typedef struct up_error *up_read_mem_fn(void *ctx, uint64_t addr, void *buf, size_t len);

/*
 * What a walker may use.  Only read is required.  With the code oracle (from the guest
 * kernel's symbol file) a walker can tell where pc stands in its function, and so find the
 * caller of a function that has not built its frame yet, or never builds one.
 */
struct up_walk_env {
	up_read_mem_fn *read;     /* guest virtual memory */
	void *read_ctx;
	/* Start of the function containing addr, or 0 when unknown.  May be NULL. */
	uint64_t (*func_start)(void *code_ctx, uint64_t addr);
	/*
	 * Copy len bytes of the guest's code at addr from the symbol file; 0 on success, -1
	 * when the file does not cover them.  May be NULL.
	 */
	int (*read_code)(void *code_ctx, uint64_t addr, void *buf, size_t len);
	void *code_ctx;
	/*
	 * Whether the code at addr is an outermost frame: the symbol file's unwind tables say
	 * its return address is undefined there (an entry stub that set up the first stack).
	 * A null frame pointer there ends a walk normally; elsewhere it truncates it.  May be
	 * NULL (no root is known).
	 */
	int (*is_root)(void *root_ctx, uint64_t addr);
	void *root_ctx;
};

/*
 * Why a frame walk stopped.  Only UP_WALK_END is a complete stack: the walk reached a
 * recognised root.  For frame records that is a null saved frame pointer (or a zero record)
 * reached through at least one real record, or a null frame pointer in code known to be
 * outermost (is_root); a frame pointer that is null or points at zeros straight from the
 * leaf's registers is what code built without frame pointers leaves, and truncates.
 */
enum up_walk_stop {
	UP_WALK_END,         /* reached a recognised root */
	UP_WALK_FAULT,       /* a frame could not be read */
	UP_WALK_NOT_GROWING, /* the next frame is not above the current one: a loop or junk */
	UP_WALK_BAD_ADDRESS, /* a misaligned or non-canonical frame pointer or return address */
	UP_WALK_DEPTH,       /* the depth cap was reached */
	UP_WALK_NULL_FP,     /* the leaf's frame pointer is null, and its code is not a root */
	UP_WALK_ZERO_RECORD, /* the leaf's frame pointer points at zeros, not at a frame record */
	UP_WALK_NO_RULE,     /* no unwind rule for a frame's pc (CFI), nor a fallback */
	UP_WALK_STOP_COUNT
};

/* How the leaf's caller was found when the leaf had no frame record of its own (yet). */
enum up_walk_fixup {
	UP_FIXUP_NONE,       /* the leaf's frame record was in place */
	UP_FIXUP_ENTRY,      /* pc in the prologue, before the frame record was set up */
	UP_FIXUP_PUSHED,     /* x86_64: after "push %rbp", before "mov %rsp,%rbp" */
	UP_FIXUP_RETURN,     /* pc at the return instruction, after the epilogue */
	UP_FIXUP_FRAMELESS,  /* a leaf function that never builds a frame record */
	UP_FIXUP_INTERRUPT,  /* x86_64: pc at an interrupt entry's first instruction: the
			      * interrupted context from the frame the CPU pushed; arm64: pc on
			      * the exception vectors: the context in ELR_EL1 and the registers */
	UP_FIXUP_COUNT
};

const char *up_walk_fixup_name(enum up_walk_fixup fixup);

struct up_walk {
	size_t depth;            /* number of addresses stored, the leaf pc included */
	enum up_walk_stop stop;
	enum up_walk_fixup fixup;
	unsigned int switches;   /* moves to another stack (an interrupt frame's saved context) */
	/*
	 * Bit i (1 <= i < 64) set: pcs[i] is an exact pc, where an interrupted context was stopped
	 * (saved by an interrupt, exception or signal frame), named as is; clear: a return address,
	 * named by the call before it.  The leaf (bit 0) is always exact; frames past 63 are
	 * taken as return addresses.
	 */
	uint64_t exact;
};

/* Say that pcs[i] of walk is an exact pc (see struct up_walk.exact). */
static inline void up_walk_mark_exact(struct up_walk *walk, size_t i)
{
	if (i < 64)
		walk->exact |= 1ULL << i;
}

/* A walk is complete when it reached the outermost frame. */
static inline int up_walk_truncated(const struct up_walk *walk)
{
	return walk->stop != UP_WALK_END;
}

const char *up_walk_stop_name(enum up_walk_stop stop);

/*
 * Read len bytes of guest physical memory at paddr (machine memory for a Xen PV guest, whose
 * page tables hold machine frames).  Same error rules as up_read_mem_fn.
 */
typedef struct up_error *up_read_phys_fn(void *ctx, uint64_t paddr, void *buf, size_t len);

/* Where a virtual address lives. */
struct up_translation {
	uint64_t paddr;      /* physical (or machine) address of the byte at vaddr */
	uint64_t page_size;  /* size of the page or block that maps it: 4K, 2M, 1G, 16K, 64K... */
};

struct up_record_rules;

struct up_arch {
	/* Our name for the architecture, as QMP query-target reports it ("x86_64", "aarch64"). */
	const char *name;
	/* Size in bytes of the general registers a gdbstub 'g' packet carries at least. */
	size_t gdb_g_size;
	/*
	 * DWARF register numbers: how many general registers there are (at most UP_MAX_GPRS),
	 * and which of them are the pc, the stack pointer, the frame pointer and the link
	 * register (-1: none, as on x86_64, whose return address is on the stack).
	 */
	unsigned int nr_gprs;
	int gpr_pc, gpr_sp, gpr_fp, gpr_lr;
	/*
	 * Registers not in 'g' that the gdbstub offers by name in its target description and
	 * that a sample wants (paging state); NULL-terminated, may be NULL.  Each name may list
	 * aliases separated by '|'.  set_sysreg stores the value of gdb_sysregs[i].  The first
	 * gdb_walk_sysregs of them the frame walker uses; the rest only translate does, so a
	 * backend whose peer translates (gdbstub 'm') need not read them.
	 */
	const char *const *gdb_sysregs;
	size_t gdb_walk_sysregs;
	void (*set_sysreg)(struct up_regs *regs, size_t i, uint64_t value);
	/*
	 * The exception state (arm64: VBAR_EL1, ELR_EL1, SPSR_EL1), read by a gdbstub backend
	 * only when needed: in a run's first pauses (the slide search wants the vector base),
	 * now and then, and when the pc lies within exception_window bytes of a vector base
	 * already seen (the vector table and the entry code that follows it, which runs before
	 * the interrupted context is saved); set_exception_sysreg stores
	 * gdb_exception_sysregs[i].  NULL: none.
	 */
	const char *const *gdb_exception_sysregs;
	void (*set_exception_sysreg)(struct up_regs *regs, size_t i, uint64_t value);
	uint64_t exception_window;
	/*
	 * Decode a gdbstub 'g' reply (already converted from hex to len bytes) into *ret, the
	 * general registers included.  Fails with UP_ERR_PROTOCOL when len is too short.  Fields
	 * not in 'g' are left zero.
	 */
	struct up_error *(*regs_from_gdb)(const uint8_t *g, size_t len, struct up_regs *ret);
	/*
	 * Walk the frame-pointer chain starting at regs.  Stores at most max addresses in pcs,
	 * the leaf pc first, then return addresses outward.  An unreadable (UP_ERR_FAULT) or
	 * implausible frame ends the walk and ret->stop says why; that is not a failure.  A
	 * read that fails otherwise is returned (the target is in trouble), with *ret filled
	 * as far as the walk got.  max must be at least 1.
	 */
	struct up_error *(*walk_frames)(const struct up_regs *regs, const struct up_walk_env *env,
					uint64_t *pcs, size_t max, struct up_walk *ret);
	/*
	 * The runtime address of the exception vector table in regs (arm64: VBAR_EL1), which
	 * anchors a KASLR slide; 0 when unknown.  May be NULL.
	 */
	uint64_t (*vector_base)(const struct up_regs *regs);
	/*
	 * When regs show a vCPU stopped while taking an exception, before the handler saved
	 * anything (arm64: a pc on the vectors), the interrupted context's registers in *ret and
	 * 1: every unwinder walks from those, their pc exact, and the vector is no frame.  Else 0.
	 * May be NULL.
	 */
	int (*exception_context)(const struct up_regs *regs, struct up_regs *ret);
	/* The same walk one frame at a time (frame_records.h), for unwinders that mix methods. */
	const struct up_record_rules *records;
	/*
	 * Translate vaddr with the paging state in regs (x86_64: cr0/cr3/cr4/efer; arm64:
	 * ttbr0/ttbr1/tcr/sctlr), reading page-table entries with read_phys.  A pure function:
	 * no caching, no other I/O.  Not mapped (or a table entry faulting) is UP_ERR_FAULT
	 * with the address; another error of read_phys is returned as it is; paging off means
	 * paddr == vaddr.
	 */
	struct up_error *(*translate)(const struct up_regs *regs, uint64_t vaddr,
				      up_read_phys_fn *read_phys, void *ctx,
				      struct up_translation *ret);
};

extern const struct up_arch up_arch_x86_64;
extern const struct up_arch up_arch_arm64;

/* The architecture called name, or NULL when we do not support it. */
const struct up_arch *up_arch_find(const char *name);

/*
 * The registers a walk starts from: regs, or the context an exception being taken interrupted
 * (exception_context).  *ret may not be regs.
 */
void up_arch_start_regs(const struct up_arch *arch, const struct up_regs *regs,
			struct up_regs *ret);

/* Copy pc, sp, fp and lr from the general registers that hold them (those known). */
void up_arch_named_from_gprs(const struct up_arch *arch, struct up_regs *regs);

#endif
