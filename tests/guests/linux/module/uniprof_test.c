// SPDX-License-Identifier: GPL-2.0
/*
 * A module for uniprof's Linux test guest: kernel code with a known call chain that lives in a
 * module, so walks must go through the module's own ORC table and its names come from the
 * module's symbol table.  /proc/uniprof_test reads as endless zeros (like /dev/zero), each read
 * spinning a while in uniprof_test_outer -> uniprof_test_inner first:
 *
 *   dd if=/proc/uniprof_test of=/dev/null bs=4k
 *
 * gives kernel stacks entry_SYSCALL_64 ... proc_reg_read ... uniprof_test_read ->
 * uniprof_test_outer -> uniprof_test_inner.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>

static volatile unsigned long uniprof_test_sink;

static noinline unsigned long uniprof_test_inner(unsigned long n)
{
	unsigned long x = 0;

	while (n--)
		x = x * 31 + n;
	uniprof_test_sink = x;
	return x;
}

static noinline unsigned long uniprof_test_outer(unsigned long rounds)
{
	unsigned long sum = 0;

	while (rounds--)
		sum += uniprof_test_inner(2000);
	return sum;
}

static ssize_t uniprof_test_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
{
	size_t n = count < PAGE_SIZE ? count : PAGE_SIZE;

	uniprof_test_sink += uniprof_test_outer(8);
	if (clear_user(buf, n))
		return -EFAULT;
	*pos += n;
	return n;
}

static const struct proc_ops uniprof_test_ops = {
	.proc_read = uniprof_test_read,
	.proc_lseek = noop_llseek,
};

static struct proc_dir_entry *uniprof_test_entry;

static int __init uniprof_test_init(void)
{
	uniprof_test_entry = proc_create("uniprof_test", 0444, NULL, &uniprof_test_ops);
	return uniprof_test_entry ? 0 : -ENOMEM;
}

static void __exit uniprof_test_exit(void)
{
	proc_remove(uniprof_test_entry);
}

module_init(uniprof_test_init);
module_exit(uniprof_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("uniprof test guest: a known call chain in a module");
