/*
 * Finding where the guest really runs the images the symbol files describe.
 *
 * Firmware (EFI) and KASLR load kernels away from their link address.  For each symbol file
 * whose slide the user did not give, the finder tries, over guest memory read through a
 * callback while the guest is paused:
 *   1. slide 0, confirmed by comparing the guest's code with the file's code bytes (or, for a
 *      Linux System.map without code, by finding "Linux version" at linux_banner, or, for an
 *      arm64 one, by the branches of the vector table at `vectors`, as in 2.);
 *   2. Linux KASLR, anchored on what the CPU gives: the exception vector base (arm64's
 *      VBAR_EL1) is the runtime address of `vectors`, at any slide the architecture allows;
 *      confirmed by the file's code, or, for a map without code, by the branches of the vector
 *      table landing on the starts of the functions the file names there;
 *   3. Linux KASLR without an anchor: every 2 MiB-aligned slide up to 1 GiB, confirmed at
 *      linux_banner;
 *   4. a PE image header (EFI) below the sampled pcs: the image base it gives, confirmed by
 *      code bytes.
 * A file whose slide nothing confirms is refused: it names no address, so no name is wrong.
 */
#ifndef UP_SYMBOLIZE_SLIDE_H
#define UP_SYMBOLIZE_SLIDE_H

#include "../arch/arch.h"
#include "symbolize.h"

struct up_slide_probe {
	up_read_mem_fn *read;     /* guest virtual memory, while the guest is paused (see arch.h) */
	void *ctx;
	const uint64_t *pcs;      /* code addresses seen in the guest (pcs, link registers) */
	size_t nr_pcs;
	const uint64_t *vector_bases;  /* exception vector bases seen (arm64 VBAR_EL1), distinct */
	size_t nr_vector_bases;
	unsigned int max_reads;   /* budget of reads, over all the searches this probe makes */
	unsigned int reads;       /* reads made so far, by this search and those before it */
	unsigned int pauses;      /* pauses the searches so far were made in, this one included */
	/*
	 * Nonzero: a file nothing confirms stays unknown, to be searched again at another pause.
	 * One pause can fall where the kernel is not mapped although the vCPU runs in kernel mode
	 * (the KPTI trampolines on the way into and out of the kernel).  Zero: it is refused.
	 */
	int retry_later;
};

/*
 * Decide the slide of every file whose slide is unknown; see each file's slide_how.  A read
 * that faults is part of the search; one that fails otherwise (the target is lost) ends it,
 * and that error is returned with the files not yet decided left unknown.
 */
struct up_error *up_symbolizer_find_slides(struct up_symbolizer *s, struct up_slide_probe *probe);

#endif
