/*
 * Error objects.
 *
 * A function that can fail returns a struct up_error * : NULL on success, otherwise an error
 * the caller owns and must release with up_error_destroy().  Library code never prints; only
 * the CLI (uniprof/) turns an error into a line on stderr and an exit code.
 *
 * Out-of-memory is reported with the static &up_error_nomem, so that path never allocates;
 * up_error_destroy() knows not to free it.
 */
#ifndef UP_UTIL_ERROR_H
#define UP_UTIL_ERROR_H

#include <stdint.h>

enum up_error_code {
	UP_ERR_NOMEM = 1,
	UP_ERR_INVALID,     /* bad argument or bad input file */
	UP_ERR_OS,          /* a system call failed; errnum says why */
	UP_ERR_PROTOCOL,    /* the peer (QMP, gdbstub, hypervisor) said something we cannot accept */
	UP_ERR_FAULT,       /* guest memory could not be read; address says where */
	UP_ERR_LOST,        /* the target went away (QEMU exited, domain destroyed) */
	UP_ERR_UNSUPPORTED, /* not built in, or not possible with this target */
	UP_ERR_TIMEOUT,     /* the peer did not answer in time */
};

struct up_error {
	enum up_error_code code;
	int errnum;        /* errno for UP_ERR_OS, else 0 */
	uint64_t address;  /* faulting guest address for UP_ERR_FAULT, else 0 */
	char *message;     /* one line, no trailing newline */
};

extern struct up_error up_error_nomem;

/* A new error with a printf-style message.  Never returns NULL (falls back to &up_error_nomem). */
struct up_error *up_error_create(enum up_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* An UP_ERR_OS error: the message followed by ": " and strerror(errnum). */
struct up_error *up_error_errno(int errnum, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* An UP_ERR_FAULT error for guest address addr. */
struct up_error *up_error_fault(uint64_t address, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Prefix err's message with a printf-style context and ": ", keeping its code.  Takes ownership
 * of err and returns it (or &up_error_nomem); err == NULL returns NULL.
 */
struct up_error *up_error_prefix(struct up_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The one way to handle an expected failure: when *err is an error of code code, release it,
 * set *err to NULL and return 1; otherwise leave *err as it is (NULL or another error, which
 * the caller passes on) and return 0.  A walk catches UP_ERR_FAULT (the end of the stack) and
 * hands everything else up, so a lost target ends the run instead of passing for a fault.
 */
int up_error_catch(struct up_error **err, enum up_error_code code);

/* Release err; NULL and &up_error_nomem are no-ops. */
void up_error_destroy(struct up_error *err);

#endif
