/* The gdbstub target description: includes, register numbering, bounds. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../backends/kvm/target_xml.h"

struct doc {
	const char *annex;
	const char *xml;
};

static struct up_error *fetch(void *ctx, const char *annex, char **ret, size_t *ret_len)
{
	const struct doc *docs = ctx;

	for (; docs->annex; docs++) {
		if (!strcmp(docs->annex, annex)) {
			*ret = strdup(docs->xml);
			*ret_len = strlen(docs->xml);
			return NULL;
		}
	}
	return up_error_create(UP_ERR_PROTOCOL, "no %s", annex);
}

/* Shaped like QEMU 7.2's aarch64 description. */
static const struct doc qemu_like[] = {
	{ "target.xml",
	  "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target>"
	  "<architecture>aarch64</architecture><xi:include href=\"core.xml\"/>"
	  "<xi:include href=\"fpu.xml\"/><xi:include href=\"sys.xml\"/></target>" },
	{ "core.xml",
	  "<?xml version=\"1.0\"?><feature name=\"org.gnu.gdb.aarch64.core\">"
	  "<reg name=\"x0\" bitsize=\"64\"/><reg name=\"x1\" bitsize=\"64\"/>"
	  "<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/><reg name=\"pc\" bitsize=\"64\"/>"
	  "<reg name=\"cpsr\" bitsize=\"32\"/></feature>" },
	{ "fpu.xml",
	  "<feature name=\"org.gnu.gdb.aarch64.fpu\"><vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	  "<reg name=\"v0\" bitsize=\"128\" type=\"vq\"/><reg name=\"fpsr\" bitsize=\"32\"/></feature>" },
	{ "sys.xml",
	  "<feature name=\"org.qemu.gdb.arm.sys.regs\">"
	  "<reg name=\"SCTLR\" bitsize=\"64\" regnum=\"74\" group=\"cp_regs\"/>"
	  "<reg name=\"TTBR0_EL1\" bitsize=\"64\" regnum=\"146\" group=\"cp_regs\"/>"
	  "<reg name=\"TCR_EL1\" bitsize=\"64\"/></feature>" },
	{ NULL, NULL },
};

static void qemu_description(void **state)
{
	struct tdesc d;
	const struct tdesc_reg *r;

	(void)state;
	assert_null(tdesc_load(fetch, (void *)qemu_like, &d));
	assert_string_equal(d.architecture, "aarch64");
	assert_int_equal(d.nr, 10);
	assert_int_equal(tdesc_find(&d, "x0")->regnum, 0);
	assert_int_equal(tdesc_find(&d, "cpsr")->regnum, 4);
	/* Numbering continues across included documents. */
	assert_int_equal(tdesc_find(&d, "v0")->regnum, 5);
	assert_int_equal(tdesc_find(&d, "v0")->bitsize, 128);
	assert_int_equal(tdesc_find(&d, "fpsr")->regnum, 6);
	/* Explicit numbers win, and the next register follows the last explicit one. */
	assert_int_equal(tdesc_find(&d, "TTBR0_EL1")->regnum, 146);
	assert_int_equal(tdesc_find(&d, "TCR_EL1")->regnum, 147);
	/* Aliases. */
	r = tdesc_find(&d, "SCTLR_EL1|SCTLR");
	assert_non_null(r);
	assert_int_equal(r->regnum, 74);
	assert_null(tdesc_find(&d, "TTBR1_EL1"));
	tdesc_deinit(&d);
}

static void bad_descriptions(void **state)
{
	static const struct doc missing_include[] = {
		{ "target.xml", "<target><xi:include href=\"nowhere.xml\"/></target>" },
		{ NULL, NULL },
	};
	static const struct doc self_include[] = {
		{ "target.xml", "<target><xi:include href=\"target.xml\"/></target>" },
		{ NULL, NULL },
	};
	static const struct doc path_include[] = {
		{ "target.xml", "<target><xi:include href=\"../etc/passwd\"/></target>" },
		{ NULL, NULL },
	};
	static const struct doc broken_xml[] = {
		{ "target.xml", "<target><reg name=\"x0\"></target>" },
		{ NULL, NULL },
	};
	static const struct doc bad_regnum[] = {
		{ "target.xml", "<target><reg name=\"x0\" regnum=\"-1\"/></target>" },
		{ NULL, NULL },
	};
	static const struct doc no_name[] = {
		{ "target.xml", "<target><reg bitsize=\"64\"/></target>" },
		{ NULL, NULL },
	};
	const struct doc *cases[] = { missing_include, self_include, path_include, broken_xml,
				      bad_regnum, no_name };
	struct tdesc d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct up_error *err = tdesc_load(fetch, (void *)cases[i], &d);

		assert_non_null(err);
		assert_int_equal(err->code, UP_ERR_PROTOCOL);
		up_error_destroy(err);
		assert_int_equal(d.nr, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qemu_description),
		cmocka_unit_test(bad_descriptions),
	};

	return cmocka_run_group_tests_name("target_xml", tests, NULL, NULL);
}
