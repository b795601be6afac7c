"""The Linux kernel's reports of a fault: which message begins one, with what level, and which lines are part of it.

The kernel writes a report of many lines when something goes wrong (Documentation/admin-guide/bug-hunting.rst): an
oops (`BUG: kernel NULL pointer dereference, address: ...`, `Oops: 0000 [#1] PREEMPT SMP`), a warning (`WARNING: CPU:
1 PID: 42 at fs/foo.c:12 ...`), a hung task (`INFO: task kworker/0:1:123 blocked for more than 120 seconds.`), a soft
lockup or an RCU stall, a panic, the OOM killer's report (`python3 invoked oom-killer: gfp_mask=...`, the memory
state, the task table, up to `oom-kill:constraint=...`; its `Killed process` line after it is a record of its own),
a user process's segmentation fault (`python3[4242]: segfault at 0 ip ... error 4 in libc.so.6[...]`, the code bytes
after it). Every line is an entry of its own in the kernel's buffer, and so in `dmesg`, `/var/log/kern.log` or
syslog: mined a line a record, one OOM kill added ~60 templates (its memory statistics a line each), and each report's
first line kept the level the log gave it (none in syslog, where the printk level is lost; `info` for `INFO: task`).

Here: the level the kernel means by the report's first line (an oops or a panic critical, a hung task, a stall or a
process's fault an error), and the lines of such a report: its registers, call trace, module list, memory state and
task table (the kernel's own layout, the same on any machine), which the miner joins to the report's first line.
"""

from __future__ import annotations

import re

# The first line of a report, searched in a message: critical for the kernel's own crash (an oops, a BUG, a panic,
# a soft lockup: `watchdog: BUG: soft lockup - CPU#1 stuck for 22s!`), error for a task hung or a CPU stalled, and
# for a user process's fault (`traps: nginx[4243] general protection fault ip:...`, `trap divide error`), warning for
# the kernel's WARN() (its level word says so already) and the OOM killer's report (its first line is an error already:
# mining.killed_by_fault)
_CRITICAL = re.compile(r"(?:\S+: )?BUG: |Oops: |Internal error: Oops|general protection fault, |Kernel panic - not "
                       r"syncing|kernel BUG at |Unable to handle kernel ")
_ERROR = re.compile(r"(?:INFO: )?task \S+:\d+ blocked for more than \d+ seconds\.$|(?:rcu: )?(?:INFO: )?\S+ (?:self-)?detected "
                    r"stalls? on CPU|\S+\[\d+\]: segfault at [0-9a-f]+ ip |traps: \S+\[\d+\] (?:general protection|trap )")
_REPORT_ONLY = re.compile(r"WARNING: CPU: \d+ PID: \d+ at |\S+ invoked oom-killer: ")

# A line of such a report after its first: indented (frames, `<TASK>`, `Not tainted ...`), the task and machine,
# registers (x86's `RIP: 0010:...`, `RAX: ... RBX: ...`, `FS:  ...`, `CR2: ...`, `Code: ...`; arm64's `pc : ...`,
# `x29: ...`), the call trace and module list, the end marker, a panic's lines; the OOM killer's memory state
# (`memory: usage 49152kB, limit 49152kB, failcnt 19`, a cgroup's statistics a line each: `rss 50233344`; `Mem-Info:`
# and its `Node 0 ...` lines), task table (`Tasks state ...`, `[  pid  ] ...`, `[   7532] ...`) and `oom-kill:` line;
# an RCU stall's `rcu: ...` lines and NMI backtraces; a hung task's hint and state line
_PART = re.compile(r"\s|<TASK>|</TASK>|<IRQ>|</IRQ>|\? |[\w.]+\+0x[0-9a-fA-F]+/0x|#PF: |PGD |Oops: |CPU: \d+ "
                   r"|Hardware name: |Call Trace:|Workqueue: |task:\S+ +state:|Modules linked in:|Not tainted|Tainted: "
                   r"|\"echo 0 > |---\[ end |Kernel panic - not syncing|Kernel Offset: |note: \S+\[\d+\] |Code: "
                   r"|(?:[A-Z][A-Z0-9]{1,4}|pc|lr|sp|x\d+|pstate) *: +(?:[0-9a-f]{4}|\[<|[\w.]+\+0x)"
                   r"|irq event stamp: |hardirqs |softirqs |rcu: |Sending NMI |NMI backtrace "
                   r"|\S+: usage \d+kB, limit |Memory cgroup stats for |[a-z_]+ \d+$|Tasks state |\[ *(?:pid|\d+) *\] "
                   r"|oom-kill:|Mem-Info:|Node \d+ |lowmem_reserve|active_anon:|\d+ (?:total pagecache pages|pages )"
                   r"|Free swap|Total swap|Swap cache stats|Mem abort info:|Data abort info:|user pgtable: |\[[0-9a-f]{16}\] ")


# The words a report's first line begins with (its first or second word, masked): a cheap test before the patterns
# (a format that reads `INFO:` as the line's level leaves `task ... blocked ...` and `rcu_sched detected stalls ...`)
_FIRST_WORDS = frozenset(("BUG:", "Oops:", "Internal", "general", "Kernel", "kernel", "Unable", "INFO:", "rcu:", "traps:",
                          "WARNING:", "watchdog:", "task"))
_SECOND_WORDS = frozenset(("BUG:", "INFO:", "segfault", "invoked", "detected", "self-detected"))


def kernel_fault(message: str, words: list[str]) -> str | None:
    """The level of a kernel report that `message` begins ("critical", "error", "warning"), None when it begins none;
    `words` are the message's words once masked (it begins none unless the first or second is one a report's first
    line begins with: cheap for most messages)."""
    if not words or not (words[0] in _FIRST_WORDS or (len(words) > 1 and words[1] in _SECOND_WORDS)):
        return None
    if _CRITICAL.match(message) is not None:
        return "critical"
    if _ERROR.match(message) is not None:
        return "error"
    return "warning" if _REPORT_ONLY.match(message) is not None else None


def continues_kernel_report(message: str) -> bool:
    """Whether a message is a line of the kernel report before it (_PART)."""
    return _PART.match(message) is not None
