/*
 * Finding libvirt domains (backends/libvirt.c) and QMP through libvirt (backends/kvm/qmp.c),
 * against libvirt's own test driver: no libvirtd needed.  tests/unit/data/libvirt/node.xml
 * holds a running domain and a shut-off one.  The QEMU side is tested end to end by
 * tests/integration/test_libvirt.py.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"  /* $(BUILD)/config.h: HAVE_LIBVIRT or not */
#include "../../backends/kvm/qmp.h"
#include "../../backends/libvirt.h"

/* "test:///ABSOLUTE/tests/unit/data/libvirt/node.xml", found from the working directory up. */
static char *node_uri(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], *uri;

	assert_non_null(getcwd(dir, sizeof(dir)));
	for (;;) {
		char *slash;

		snprintf(path, sizeof(path), "%s/tests/unit/data/libvirt/node.xml", dir);
		if (!access(path, R_OK))
			break;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			fail_msg("no tests/unit/data/libvirt/node.xml above the working directory");
		*slash = '\0';
	}
	assert_true(asprintf(&uri, "test://%s", path) > 0);
	return uri;
}

/* Open uri/domain, expecting failure with a message holding needle. */
static void refused(const char *uri, const char *domain, const char *needle)
{
	struct up_libvirt *lv = NULL;
	struct up_error *err = up_libvirt_open(uri, domain, &lv);

	assert_non_null(err);
	if (!strstr(err->message, needle))
		fail_msg("'%s' has no '%s'", err->message, needle);
	assert_null(strchr(err->message, '\n'));
	assert_null(lv);
	up_error_destroy(err);
}

#ifdef HAVE_LIBVIRT
static void found_by_name_uuid_and_id(void **state)
{
	static const char *const names[] = { "up-running", "12345678-1234-1234-1234-123456789abc", "1" };
	char *uri = node_uri();

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct up_libvirt *lv = NULL;
		struct up_error *err = up_libvirt_open(uri, names[i], &lv);

		if (err)
			fail_msg("%s: %s", names[i], err->message);
		assert_string_equal(up_libvirt_name(lv), "up-running");
		assert_string_equal(up_libvirt_driver(lv), "TEST");
		assert_int_equal(up_libvirt_id(lv), 1);
		assert_string_equal(up_libvirt_uri(lv), uri);
		up_libvirt_close(lv);
	}
	free(uri);
}

static void bad_domains_and_uris(void **state)
{
	char *uri = node_uri();

	(void)state;
	refused(uri, "nosuch", "no libvirt domain 'nosuch'");
	refused(uri, "up-off", "is not running");
	refused("qemu+ssh://elsewhere/system", "vm", "remote libvirt");
	refused("qemu+tcp://user@elsewhere:16509/system", "vm", "remote libvirt");
	refused("qemu+unix:///system?socket=/nonexistent/libvirt-sock", "vm", "/nonexistent/libvirt-sock");
	refused("nosuchdriver:///", "vm", "cannot connect to libvirt at nosuchdriver:///");
	free(uri);
}

/* A domain of another driver than QEMU's has no monitor: the QMP layer says so, in one line. */
static void qmp_through_a_driver_without_monitor(void **state)
{
	char *uri = node_uri();
	struct up_libvirt *lv = NULL;
	struct qmp *q = NULL;
	struct up_error *err;
	json_t *val = NULL;

	(void)state;
	assert_null(up_libvirt_open(uri, "up-running", &lv));
	assert_null(qmp_open_libvirt(lv, &q));
	assert_true(qmp_via_libvirt(q));
	assert_int_equal(qmp_peer_pid(q), -1);
	assert_null(qmp_drain(q));
	err = qmp_execute(q, "query-status", NULL, &val);
	assert_non_null(err);
	assert_null(val);
	assert_non_null(strstr(err->message, "QMP query-status"));
	assert_null(strchr(err->message, '\n'));
	up_error_destroy(err);
	/* The guardian's reconnect finds the same domain again. */
	qmp_reset(q);
	err = qmp_execute(q, "query-status", NULL, &val);
	assert_non_null(err);
	assert_null(strstr(err->message, "no connection"));
	up_error_destroy(err);
	qmp_close(q);
	free(uri);
}
#else
static void not_built(void **state)
{
	(void)state;
	refused(NULL, "vm", "this build has no libvirt support");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef HAVE_LIBVIRT
		cmocka_unit_test(found_by_name_uuid_and_id),
		cmocka_unit_test(bad_domains_and_uris),
		cmocka_unit_test(qmp_through_a_driver_without_monitor),
#else
		cmocka_unit_test(not_built),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
