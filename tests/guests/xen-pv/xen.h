/*
 * The slice of the Xen PV ABI (x86_64, Xen >= 3.0) this guest uses, written out here so the guest
 * builds without Xen's headers. Offsets are checked against Xen 4.17's public headers below.
 */
#ifndef XEN_PV_XEN_H
#define XEN_PV_XEN_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE 4096UL
#define PAGE_SHIFT 12

/* Where the image is linked and loaded (see xen-pv.lds and the ELF notes in entry.S). */
#define XEN_PV_VIRT_BASE 0xffffffff80000000UL

/* Hypercall numbers and sub-commands. */
#define HYPERVISOR_sched_op 29
#define HYPERVISOR_event_channel_op 32
#define HYPERVISOR_vcpu_op 24
#define SCHEDOP_yield 0
#define SCHEDOP_shutdown 2
#define SHUTDOWN_crash 3
#define EVTCHNOP_send 4
#define VCPUOP_initialise 0
#define VCPUOP_up 1

/* Xen's flat ring-3 selectors, which a 64-bit PV kernel runs with. */
#define FLAT_KERNEL_CS 0xe033
#define FLAT_KERNEL_SS 0xe02b
#define FLAT_KERNEL_DS 0

#define VGCF_in_kernel (1UL << 2)

struct start_info {
	char magic[32];
	uint64_t nr_pages;
	uint64_t shared_info;		/* machine address */
	uint32_t flags;
	uint64_t store_mfn;
	uint32_t store_evtchn;
	uint64_t console_mfn;		/* console.domU.mfn */
	uint32_t console_evtchn;	/* console.domU.evtchn */
	uint64_t pt_base;		/* virtual address of the L4 page table */
	uint64_t nr_pt_frames;
	uint64_t mfn_list;		/* virtual address of the pfn -> mfn array */
	uint64_t mod_start;
	uint64_t mod_len;
	int8_t cmd_line[1024];
};

struct cpu_user_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi;
	uint32_t error_code, entry_vector;
	uint64_t rip;
	uint16_t cs, pad0[1];
	uint8_t saved_upcall_mask, pad1[3];
	uint64_t rflags;
	uint64_t rsp;
	uint16_t ss, pad2[3];
	uint16_t es, pad3[3];
	uint16_t ds, pad4[3];
	uint16_t fs, pad5[3];
	uint16_t gs, pad6[3];
};

struct trap_info {
	uint8_t vector, flags;
	uint16_t cs;
	uint64_t address;
};

struct vcpu_guest_context {
	uint8_t fpu_ctxt[512];
	uint64_t flags;
	struct cpu_user_regs user_regs;
	struct trap_info trap_ctxt[256];
	uint64_t ldt_base, ldt_ents;
	uint64_t gdt_frames[16], gdt_ents;
	uint64_t kernel_ss, kernel_sp;
	uint64_t ctrlreg[8];
	uint64_t debugreg[8];
	uint64_t event_callback_eip, failsafe_callback_eip, syscall_callback_eip;
	uint64_t vm_assist;
	uint64_t fs_base, gs_base_kernel, gs_base_user;
};

struct xencons_interface {
	char in[1024];
	char out[2048];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};

_Static_assert(offsetof(struct start_info, console_mfn) == 72, "start_info layout");
_Static_assert(offsetof(struct start_info, pt_base) == 88, "start_info layout");
_Static_assert(offsetof(struct start_info, mfn_list) == 104, "start_info layout");
_Static_assert(sizeof(struct cpu_user_regs) == 200, "cpu_user_regs layout");
_Static_assert(offsetof(struct cpu_user_regs, rip) == 128, "cpu_user_regs layout");
_Static_assert(offsetof(struct cpu_user_regs, gs) == 192, "cpu_user_regs layout");
_Static_assert(sizeof(struct vcpu_guest_context) == 5168, "vcpu_guest_context layout");
_Static_assert(offsetof(struct vcpu_guest_context, ctrlreg) == 4984, "vcpu_guest_context layout");
_Static_assert(offsetof(struct vcpu_guest_context, syscall_callback_eip) == 5128, "vcpu_guest_context layout");
_Static_assert(offsetof(struct xencons_interface, out_prod) == 3084, "xencons_interface layout");

/* Filled by Xen at load time (XEN_ELFNOTE_HYPERCALL_PAGE): one 32-byte stub per hypercall. */
extern char hypercall_page[PAGE_SIZE];

/*
 * Call hypercall `op` with up to three arguments. The stubs take arguments in rdi, rsi, rdx and
 * clobber rcx and r11 (syscall); Xen may clobber the argument registers.
 */
static inline long xen_hypercall3(unsigned int op, uint64_t a1, uint64_t a2, uint64_t a3)
{
	long ret;

	__asm__ volatile("call *%[stub]"
			 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3)
			 : [stub] "r"(hypercall_page + op * 32)
			 : "rcx", "r11", "r8", "r10", "memory");
	return ret;
}

#endif
