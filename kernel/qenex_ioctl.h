/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ioctl ABI of /dev/qenex_banking, declared once.
 *
 * Included by the module (kernel/qenex_kernel.c), by the static test client
 * (kernel/test/qenex_client.c) and parsed by Python (kernel/abi.py), so the three agree
 * by construction; tests/kernel/test_abi.py compiles this header with the host compiler
 * and checks every size, offset and ioctl number against Python's reading of it.
 *
 * Rules that keep it parseable and stable: fixed-width types only (__u32, __s32, __u64,
 * __s64), every struct naturally aligned with no implicit padding (explicit "reserved"
 * fields that must be zero), one member per line. Any change to a struct or an ioctl
 * bumps QENEX_ABI_VERSION.
 */
#ifndef QENEX_IOCTL_H
#define QENEX_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define QENEX_ABI_VERSION 1
#define QENEX_DEVICE_NAME "qenex_banking"
#define QENEX_TABLE_MAGIC 0x51454e58 /* "QENX" */
#define QENEX_MAX_SLOTS 65536
#define QENEX_AUDIT_ENTRIES 256
#define QENEX_BATCH_MAX 1024
#define QENEX_TABLE_HEADER_BYTES 64

/* Slot flags. */
#define QENEX_SLOT_NO_OVERDRAFT 1 /* a transfer may not take `available` below zero */
#define QENEX_SLOT_FLAGS_MASK 1

/* Audit operation codes. */
#define QENEX_OP_CREATE 1
#define QENEX_OP_SET 2
#define QENEX_OP_TRANSFER 3
#define QENEX_OP_RESET 4

/*
 * The mmap'ed table (read-only for user space): a header, then QENEX_MAX_SLOTS slots.
 * seq is a sequence counter: odd while a writer is changing the table. A reader copies
 * what it needs between two reads of seq and retries unless both are the same even value.
 * epoch changes on every reset, so a reader's slot directory knows it is stale.
 */
struct qenex_table_header {
	__u32 magic;
	__u32 abi_version;
	__u32 max_slots;
	__u32 slot_count;
	__u64 seq;
	__u64 epoch;
	__u64 reserved0;
	__u64 reserved1;
	__u64 reserved2;
	__u64 reserved3;
};

struct qenex_slot {
	__s64 posted;
	__s64 available;
	__u32 flags;
	__u32 reserved;
};

/* QENEX_IOC_VERSION: what this module speaks. */
struct qenex_version {
	__u32 abi_version;
	__u32 max_slots;
	__u32 audit_entries;
	__u32 batch_max;
	__u64 table_bytes;
};

/* QENEX_IOC_CREATE: in flags and opening balances; out the slot index given. */
struct qenex_slot_create {
	__u32 slot;
	__u32 flags;
	__s64 posted;
	__s64 available;
};

/* QENEX_IOC_SET (in) and QENEX_IOC_GET (slot in, balances out); the items of SET_MANY. */
struct qenex_balance {
	__u32 slot;
	__u32 reserved;
	__s64 posted;
	__s64 available;
};

/* QENEX_IOC_SET_MANY: count balances at entries_ptr set all or none, as one table change. */
struct qenex_set_many {
	__u64 entries_ptr;
	__u32 count;
	__u32 reserved;
};

/* QENEX_IOC_TRANSFER: move amount (> 0) from debit_slot to credit_slot, both balances. */
struct qenex_transfer {
	__u32 debit_slot;
	__u32 credit_slot;
	__s64 amount;
};

/* One entry of the audit ring: every write, refused ones too (result is 0 or -errno). */
struct qenex_audit_entry {
	__u64 seq;
	__u32 op;
	__s32 result;
	__u32 slot_a;
	__u32 slot_b;
	__s64 amount;
};

/* QENEX_IOC_AUDIT_READ: entries with seq >= since_seq (oldest kept first) into entries_ptr. */
struct qenex_audit_read {
	__u64 since_seq;
	__u64 entries_ptr;
	__u32 max_entries;
	__u32 count;
	__u64 next_seq;
};

#define QENEX_IOC_MAGIC 0xB7
#define QENEX_IOC_VERSION _IOR(QENEX_IOC_MAGIC, 0, struct qenex_version)
#define QENEX_IOC_CREATE _IOWR(QENEX_IOC_MAGIC, 1, struct qenex_slot_create)
#define QENEX_IOC_SET _IOW(QENEX_IOC_MAGIC, 2, struct qenex_balance)
#define QENEX_IOC_GET _IOWR(QENEX_IOC_MAGIC, 3, struct qenex_balance)
#define QENEX_IOC_TRANSFER _IOW(QENEX_IOC_MAGIC, 4, struct qenex_transfer)
#define QENEX_IOC_SET_MANY _IOW(QENEX_IOC_MAGIC, 5, struct qenex_set_many)
#define QENEX_IOC_AUDIT_READ _IOWR(QENEX_IOC_MAGIC, 6, struct qenex_audit_read)
#define QENEX_IOC_RESET _IO(QENEX_IOC_MAGIC, 7)

#endif /* QENEX_IOCTL_H */
