"""The qenex_banking kernel module and the balance-cache backends. Built by issue #7."""
