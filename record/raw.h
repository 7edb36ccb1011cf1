/*
 * Raw recordings ("record now, report later"): the unsymbolized samples of a run, written
 * while it samples, read back later (uniprof report) to be symbolized on any machine.
 *
 * The file, version 1 (all integers little-endian; "uvar" is unsigned LEB128, "svar" a
 * zigzag-encoded signed LEB128, "str" a uvar length and that many bytes, no NUL):
 *
 *   "UNIPROF\0"  u32 version
 *   then records, each  u8 type, uvar length, length bytes of payload,
 *                       u8 check (CRC-8, polynomial 0x07, over type, length and payload)
 *
 *   HEADER  (1, first, once)  str target, str arch, uvar nr_vcpus, f64 frequency,
 *                             uvar start_ns (wall clock)
 *   SYMFILE (2, before any SAMPLE, one per -k file, in -k order)
 *                             str path, svar slide, u8 slide state (enum up_slide_state),
 *                             str how the slide was decided
 *   SAMPLE  (3, one per stack walked)
 *                             svar time - previous SAMPLE's time (the first: - start_ns),
 *                             uvar vcpu, uvar depth << 1 | truncated,
 *                             depth svars, root first: pc - reference, where the reference
 *                             is the previous SAMPLE's pc at the same distance from the root,
 *                             or, past its depth, the pc before this one (0 for the first),
 *                             then, when any is set, uvar exact: which pcs are exact, not
 *                             return addresses (struct up_walk.exact; absent: none)
 *   END     (4, last, once: a clean end)
 *                             uvar duration_ns, uvar samples (pauses), uvar truncated walks,
 *                             uvar SAMPLE records
 *
 * The stacks of one pause share its time.  Records of a type this version does not know are
 * skipped, and so are bytes past the end of the fields it knows (a later addition, as exact
 * was).  A file without END (a run that was killed) is read up to its last complete record;
 * a tail of zero bytes (a crash before the data reached the disk) counts as cut there too.
 */
#ifndef UP_RECORD_RAW_H
#define UP_RECORD_RAW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../symbolize/symbolize.h"
#include "../util/error.h"
#include "../util/profile.h"

#define UP_RAW_VERSION 1
#define UP_RAW_EXTENSION ".uniprof"

/* What a reader accepts at most. */
#define UP_RAW_MAX_DEPTH 4096
#define UP_RAW_MAX_VCPUS 4096
#define UP_RAW_MAX_FILES 64
#define UP_RAW_MAX_PATH 4096
#define UP_RAW_MAX_RECORD (1u << 20)

/* ---- writing ---------------------------------------------------------------------------- */

struct up_raw_writer;

/*
 * Start a recording on out: write the file header, the HEADER record from meta (target, arch,
 * nr_vcpus, frequency, start_ns) and one SYMFILE record per file of s (NULL: none), and
 * flush.  out stays the caller's; the writer only writes to it.
 */
struct up_error *up_raw_writer_create(FILE *out, const struct up_profile_meta *meta,
				      const struct up_symbolizer *s, struct up_raw_writer **ret);

/*
 * Add one stack: pcs[0..depth) leaf first, 1 <= depth <= UP_RAW_MAX_DEPTH, exact as
 * struct up_walk.exact, vcpu below the header's nr_vcpus; the stacks of one pause share
 * time_ns.  Buffered: see up_raw_flush.
 */
struct up_error *up_raw_write_stack(struct up_raw_writer *w, uint64_t time_ns, uint32_t vcpu,
				    const uint64_t *pcs, uint32_t depth, uint64_t exact,
				    int truncated);

/* Hand what was added so far to the file (once per pause, while the guest runs). */
struct up_error *up_raw_flush(struct up_raw_writer *w);

/* Write the END record (duration_ns and samples from meta) and flush: a clean end. */
struct up_error *up_raw_writer_finish(struct up_raw_writer *w, const struct up_profile_meta *meta);

/* Stacks written so far. */
uint64_t up_raw_writer_stacks(const struct up_raw_writer *w);

/* Free w (without writing anything); NULL is a no-op. */
void up_raw_writer_destroy(struct up_raw_writer *w);

/* ---- reading ---------------------------------------------------------------------------- */

/* A symbol file as the recording run had it. */
struct up_raw_symfile {
	char *path;                     /* as given with -k */
	int64_t slide;
	enum up_slide_state slide_state;
	char slide_how[192];
};

struct up_raw_recording {
	uint32_t version;
	struct up_profile profile;      /* the metadata and every stack, aggregated */
	struct up_raw_symfile *files;
	size_t nr_files;
	uint64_t stacks;                /* SAMPLE records read */
	int complete;                   /* the END record was read; else the run was cut short */
	uint64_t length;                /* bytes up to the end of the last complete record */
	uint64_t size;                  /* bytes read: more than length when cut short */
};

/*
 * Called for every SAMPLE record, in file order (pcs leaf first, valid for the call only; exact
 * as struct up_walk.exact); a returned error ends the read and is returned.
 */
typedef struct up_error *up_raw_sample_fn(void *ctx, uint64_t time_ns, uint32_t vcpu,
					  const uint64_t *pcs, uint32_t depth, uint64_t exact,
					  int truncated);

/*
 * Read a recording from in (to its end) or from the len bytes at data, which are untrusted:
 * each calls each (NULL: nothing) for every sample and aggregates the stacks into *ret.  A
 * recording without its END record is read up to its last complete record and
 * ret->complete is 0, with the metadata the records give (duration up to the last sample,
 * pauses counted by time).  Fails with UP_ERR_INVALID and a one-line reason for anything
 * else that is not a well-formed recording (not a recording, a newer version, a header cut
 * short, a damaged record), with UP_ERR_OS when reading in fails; *ret is then untouched.
 * ret->profile keeps max_stacks distinct stacks at most (see up_profile_add; 0: the default,
 * which up_raw_read_buffer keeps), while each still sees every sample.
 */
struct up_error *up_raw_read_file(FILE *in, size_t max_stacks, up_raw_sample_fn *each, void *ctx,
				  struct up_raw_recording *ret);
struct up_error *up_raw_read_buffer(const void *data, size_t len, up_raw_sample_fn *each,
				    void *ctx, struct up_raw_recording *ret);

void up_raw_recording_deinit(struct up_raw_recording *r);

/* ---- slides ----------------------------------------------------------------------------- */

/*
 * Give each file of s whose slide is still unknown the slide the recording decided for the
 * same file (record/raw_slides.c): the recorded file with the same basename when exactly one
 * has it, else the recorded file at the same position when its basename is no file's of s.
 * A recorded file whose slide was refused is refused again (it names no address); one left
 * unknown gives nothing.  Each file given a slide says "recorded: how" in its slide_how.
 * Returns how many files were given one.
 */
size_t up_raw_apply_slides(const struct up_raw_recording *r, struct up_symbolizer *s);

#endif
