#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static char nomem_message[] = "out of memory";

struct up_error up_error_nomem = {
	.code = UP_ERR_NOMEM,
	.message = nomem_message,
};

static struct up_error *error_vcreate(enum up_error_code code, int errnum, uint64_t address,
				      const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static struct up_error *error_vcreate(enum up_error_code code, int errnum, uint64_t address,
				      const char *fmt, va_list ap)
{
	struct up_error *err = malloc(sizeof(*err));
	char *msg;

	if (!err)
		return &up_error_nomem;
	if (vasprintf(&msg, fmt, ap) < 0) {
		free(err);
		return &up_error_nomem;
	}
	if (errnum) {
		char *full;

		if (asprintf(&full, "%s: %s", msg, strerror(errnum)) < 0) {
			free(msg);
			free(err);
			return &up_error_nomem;
		}
		free(msg);
		msg = full;
	}
	err->code = code;
	err->errnum = errnum;
	err->address = address;
	err->message = msg;
	return err;
}

struct up_error *up_error_create(enum up_error_code code, const char *fmt, ...)
{
	struct up_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = error_vcreate(code, 0, 0, fmt, ap);
	va_end(ap);
	return err;
}

struct up_error *up_error_errno(int errnum, const char *fmt, ...)
{
	struct up_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = error_vcreate(UP_ERR_OS, errnum, 0, fmt, ap);
	va_end(ap);
	return err;
}

struct up_error *up_error_fault(uint64_t address, const char *fmt, ...)
{
	struct up_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = error_vcreate(UP_ERR_FAULT, 0, address, fmt, ap);
	va_end(ap);
	return err;
}

struct up_error *up_error_prefix(struct up_error *err, const char *fmt, ...)
{
	char *prefix, *full;
	va_list ap;
	int r;

	if (!err || err == &up_error_nomem)
		return err;
	va_start(ap, fmt);
	r = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (r < 0)
		return err;
	if (asprintf(&full, "%s: %s", prefix, err->message) >= 0) {
		free(err->message);
		err->message = full;
	}
	free(prefix);
	return err;
}

int up_error_catch(struct up_error **err, enum up_error_code code)
{
	if (!*err || (*err)->code != code)
		return 0;
	up_error_destroy(*err);
	*err = NULL;
	return 1;
}

void up_error_destroy(struct up_error *err)
{
	if (!err || err == &up_error_nomem)
		return;
	free(err->message);
	free(err);
}
