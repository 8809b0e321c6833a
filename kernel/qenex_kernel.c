// SPDX-License-Identifier: GPL-2.0
/*
 * qenex_banking: a balance table in kernel memory that every process on the machine can read.
 *
 * Why a kernel module: the node's ledger (LevelDB) can be opened by one process only, while
 * balances are read by many (RPC workers, gateways). The module holds one table of balance
 * slots, written by the node through ioctls and read by anyone through a read-only mmap.
 * Writers serialise on a spinlock; every table change is bracketed by a sequence counter in
 * the mapped page (a seqlock), so a reader copying several slots never sees a transfer
 * half-applied. The ABI is kernel/qenex_ioctl.h; docs/kernel.md describes it.
 *
 * Rules kept here: user memory is copied in before the lock is taken and out after it is
 * released (never while holding a spinlock); every input is checked (bounds, reserved
 * fields zero, flags known) and a refusal changes nothing and returns an errno.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

#include "qenex_ioctl.h"

#define QENEX_TABLE_BYTES PAGE_ALIGN(QENEX_TABLE_HEADER_BYTES + \
	(size_t)QENEX_MAX_SLOTS * sizeof(struct qenex_slot))

static_assert(sizeof(struct qenex_table_header) == QENEX_TABLE_HEADER_BYTES);
static_assert(sizeof(struct qenex_slot) == 24);
static_assert(sizeof(struct qenex_audit_entry) == 32);

struct qenex_state {
	spinlock_t lock;	/* serialises every writer and the audit ring */
	struct qenex_table_header *header;	/* start of the vmalloc_user table */
	struct qenex_slot *slots;
	struct qenex_audit_entry audit[QENEX_AUDIT_ENTRIES];
	u64 audit_next_seq;	/* seq of the next entry; entries start at 1 */
};

static struct qenex_state qenex;

/* Seqlock write side: the counter is odd while slots change. Called with qenex.lock held. */
static void table_write_begin(void)
{
	WRITE_ONCE(qenex.header->seq, qenex.header->seq + 1);
	smp_wmb();
}

static void table_write_end(void)
{
	smp_wmb();
	WRITE_ONCE(qenex.header->seq, qenex.header->seq + 1);
}

static void audit_record(u32 op, s32 result, u32 slot_a, u32 slot_b, s64 amount)
{
	struct qenex_audit_entry *entry;

	lockdep_assert_held(&qenex.lock);
	entry = &qenex.audit[qenex.audit_next_seq % QENEX_AUDIT_ENTRIES];
	entry->seq = qenex.audit_next_seq++;
	entry->op = op;
	entry->result = result;
	entry->slot_a = slot_a;
	entry->slot_b = slot_b;
	entry->amount = amount;
}

static bool balances_valid(u32 flags, s64 posted, s64 available)
{
	return !(flags & QENEX_SLOT_NO_OVERDRAFT) || available >= 0;
}

static long qenex_version_ioctl(void __user *arg)
{
	struct qenex_version version = {
		.abi_version = QENEX_ABI_VERSION,
		.max_slots = QENEX_MAX_SLOTS,
		.audit_entries = QENEX_AUDIT_ENTRIES,
		.batch_max = QENEX_BATCH_MAX,
		.table_bytes = QENEX_TABLE_BYTES,
	};

	return copy_to_user(arg, &version, sizeof(version)) ? -EFAULT : 0;
}

static long qenex_create_ioctl(void __user *arg)
{
	struct qenex_slot_create request;
	struct qenex_slot *slot;
	long result = 0;
	u32 index;

	if (copy_from_user(&request, arg, sizeof(request)))
		return -EFAULT;
	if (request.slot != 0 || request.flags & ~QENEX_SLOT_FLAGS_MASK ||
	    !balances_valid(request.flags, request.posted, request.available))
		return -EINVAL;
	spin_lock(&qenex.lock);
	index = qenex.header->slot_count;
	if (index >= QENEX_MAX_SLOTS) {
		result = -ENOSPC;
	} else {
		table_write_begin();
		slot = &qenex.slots[index];
		slot->posted = request.posted;
		slot->available = request.available;
		slot->flags = request.flags;
		WRITE_ONCE(qenex.header->slot_count, index + 1);
		table_write_end();
	}
	audit_record(QENEX_OP_CREATE, result, index, 0, request.posted);
	spin_unlock(&qenex.lock);
	if (result)
		return result;
	request.slot = index;
	return copy_to_user(arg, &request, sizeof(request)) ? -EFAULT : 0;
}

/* Checks one SET item against the table; called with the lock held. */
static long check_balance_locked(const struct qenex_balance *item)
{
	if (item->reserved != 0)
		return -EINVAL;
	if (item->slot >= qenex.header->slot_count)
		return -ENOENT;
	if (!balances_valid(qenex.slots[item->slot].flags, item->posted, item->available))
		return -ERANGE;
	return 0;
}

static long qenex_set_ioctl(void __user *arg)
{
	struct qenex_balance item;
	long result;

	if (copy_from_user(&item, arg, sizeof(item)))
		return -EFAULT;
	spin_lock(&qenex.lock);
	result = check_balance_locked(&item);
	if (!result) {
		table_write_begin();
		qenex.slots[item.slot].posted = item.posted;
		qenex.slots[item.slot].available = item.available;
		table_write_end();
	}
	audit_record(QENEX_OP_SET, result, item.slot, 0, item.posted);
	spin_unlock(&qenex.lock);
	return result;
}

static long qenex_set_many_ioctl(void __user *arg)
{
	struct qenex_set_many request;
	struct qenex_balance *items;
	long result = 0;
	u32 i;

	if (copy_from_user(&request, arg, sizeof(request)))
		return -EFAULT;
	if (request.reserved != 0 || request.count == 0 || request.count > QENEX_BATCH_MAX)
		return -EINVAL;
	items = kvmalloc_array(request.count, sizeof(*items), GFP_KERNEL);
	if (!items)
		return -ENOMEM;
	if (copy_from_user(items, u64_to_user_ptr(request.entries_ptr), request.count * sizeof(*items))) {
		kvfree(items);
		return -EFAULT;
	}
	spin_lock(&qenex.lock);
	for (i = 0; i < request.count && !result; i++)
		result = check_balance_locked(&items[i]);
	if (!result) {
		table_write_begin();
		for (i = 0; i < request.count; i++) {
			qenex.slots[items[i].slot].posted = items[i].posted;
			qenex.slots[items[i].slot].available = items[i].available;
		}
		table_write_end();
	}
	audit_record(QENEX_OP_SET, result, items[0].slot, request.count, 0);
	spin_unlock(&qenex.lock);
	kvfree(items);
	return result;
}

static long qenex_get_ioctl(void __user *arg)
{
	struct qenex_balance item;
	long result = 0;

	if (copy_from_user(&item, arg, sizeof(item)))
		return -EFAULT;
	if (item.reserved != 0)
		return -EINVAL;
	spin_lock(&qenex.lock);
	if (item.slot >= qenex.header->slot_count) {
		result = -ENOENT;
	} else {
		item.posted = qenex.slots[item.slot].posted;
		item.available = qenex.slots[item.slot].available;
	}
	spin_unlock(&qenex.lock);
	if (result)
		return result;
	return copy_to_user(arg, &item, sizeof(item)) ? -EFAULT : 0;
}

static long qenex_transfer_ioctl(void __user *arg)
{
	struct qenex_transfer transfer;
	struct qenex_slot *debit, *credit;
	s64 debit_posted, debit_available, credit_posted, credit_available;
	long result = 0;

	if (copy_from_user(&transfer, arg, sizeof(transfer)))
		return -EFAULT;
	if (transfer.amount <= 0 || transfer.debit_slot == transfer.credit_slot)
		return -EINVAL;
	spin_lock(&qenex.lock);
	if (transfer.debit_slot >= qenex.header->slot_count ||
	    transfer.credit_slot >= qenex.header->slot_count) {
		result = -ENOENT;
		goto out;
	}
	debit = &qenex.slots[transfer.debit_slot];
	credit = &qenex.slots[transfer.credit_slot];
	if (check_sub_overflow(debit->posted, transfer.amount, &debit_posted) ||
	    check_sub_overflow(debit->available, transfer.amount, &debit_available) ||
	    check_add_overflow(credit->posted, transfer.amount, &credit_posted) ||
	    check_add_overflow(credit->available, transfer.amount, &credit_available)) {
		result = -EOVERFLOW;
		goto out;
	}
	if (!balances_valid(debit->flags, debit_posted, debit_available)) {
		result = -EDQUOT;	/* would overdraw a no-overdraft slot: nothing changes */
		goto out;
	}
	table_write_begin();
	debit->posted = debit_posted;
	debit->available = debit_available;
	credit->posted = credit_posted;
	credit->available = credit_available;
	table_write_end();
out:
	audit_record(QENEX_OP_TRANSFER, result, transfer.debit_slot, transfer.credit_slot, transfer.amount);
	spin_unlock(&qenex.lock);
	return result;
}

static long qenex_audit_read_ioctl(void __user *arg)
{
	struct qenex_audit_read request;
	struct qenex_audit_entry *copy;
	u64 seq, oldest;
	u32 count = 0;

	if (copy_from_user(&request, arg, sizeof(request)))
		return -EFAULT;
	if (request.count != 0 || request.max_entries == 0 || request.max_entries > QENEX_AUDIT_ENTRIES)
		return -EINVAL;
	copy = kmalloc_array(request.max_entries, sizeof(*copy), GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	spin_lock(&qenex.lock);
	oldest = qenex.audit_next_seq > QENEX_AUDIT_ENTRIES ? qenex.audit_next_seq - QENEX_AUDIT_ENTRIES : 1;
	seq = max(request.since_seq, oldest);
	for (; seq < qenex.audit_next_seq && count < request.max_entries; seq++)
		copy[count++] = qenex.audit[seq % QENEX_AUDIT_ENTRIES];
	spin_unlock(&qenex.lock);
	request.count = count;
	request.next_seq = seq;
	if (copy_to_user(u64_to_user_ptr(request.entries_ptr), copy, count * sizeof(*copy)) ||
	    copy_to_user(arg, &request, sizeof(request))) {
		kfree(copy);
		return -EFAULT;
	}
	kfree(copy);
	return 0;
}

static long qenex_reset_ioctl(void)
{
	spin_lock(&qenex.lock);
	table_write_begin();
	memset(qenex.slots, 0, (size_t)qenex.header->slot_count * sizeof(struct qenex_slot));
	WRITE_ONCE(qenex.header->slot_count, 0);
	WRITE_ONCE(qenex.header->epoch, qenex.header->epoch + 1);
	table_write_end();
	audit_record(QENEX_OP_RESET, 0, 0, 0, 0);
	spin_unlock(&qenex.lock);
	return 0;
}

static long qenex_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	/* Writes need a descriptor opened for writing; reads do not. */
	bool writes = cmd == QENEX_IOC_CREATE || cmd == QENEX_IOC_SET || cmd == QENEX_IOC_TRANSFER ||
		      cmd == QENEX_IOC_SET_MANY || cmd == QENEX_IOC_RESET;

	if (writes && !(file->f_mode & FMODE_WRITE))
		return -EBADF;
	switch (cmd) {
	case QENEX_IOC_VERSION:
		return qenex_version_ioctl(uarg);
	case QENEX_IOC_CREATE:
		return qenex_create_ioctl(uarg);
	case QENEX_IOC_SET:
		return qenex_set_ioctl(uarg);
	case QENEX_IOC_GET:
		return qenex_get_ioctl(uarg);
	case QENEX_IOC_TRANSFER:
		return qenex_transfer_ioctl(uarg);
	case QENEX_IOC_SET_MANY:
		return qenex_set_many_ioctl(uarg);
	case QENEX_IOC_AUDIT_READ:
		return qenex_audit_read_ioctl(uarg);
	case QENEX_IOC_RESET:
		return qenex_reset_ioctl();
	default:
		return -ENOTTY;
	}
}

/* The table is mapped read-only: only ioctls change balances, so the seqlock holds. */
static int qenex_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long length = vma->vm_end - vma->vm_start;

	if (vma->vm_pgoff != 0 || length > QENEX_TABLE_BYTES)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, VM_MAYWRITE);
#else
	vma->vm_flags &= ~VM_MAYWRITE;
#endif
	return remap_vmalloc_range(vma, qenex.header, 0);
}

static const struct file_operations qenex_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = qenex_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = qenex_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice qenex_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = QENEX_DEVICE_NAME,
	.fops = &qenex_fops,
	.mode = 0644,
};

static int __init qenex_init(void)
{
	int err;

	qenex.header = vmalloc_user(QENEX_TABLE_BYTES);
	if (!qenex.header)
		return -ENOMEM;
	spin_lock_init(&qenex.lock);
	qenex.slots = (struct qenex_slot *)((char *)qenex.header + QENEX_TABLE_HEADER_BYTES);
	qenex.header->magic = QENEX_TABLE_MAGIC;
	qenex.header->abi_version = QENEX_ABI_VERSION;
	qenex.header->max_slots = QENEX_MAX_SLOTS;
	qenex.header->epoch = 1;
	qenex.audit_next_seq = 1;
	err = misc_register(&qenex_misc);
	if (err) {
		vfree(qenex.header);
		return err;
	}
	pr_info("qenex_banking: ABI %d, %d slots, table %lu bytes\n", QENEX_ABI_VERSION, QENEX_MAX_SLOTS,
		(unsigned long)QENEX_TABLE_BYTES);
	return 0;
}

static void __exit qenex_exit(void)
{
	misc_deregister(&qenex_misc);
	vfree(qenex.header);
	pr_info("qenex_banking: unloaded\n");
}

module_init(qenex_init);
module_exit(qenex_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("QENEX shared balance table: ioctl writes, seqlocked read-only mmap");
