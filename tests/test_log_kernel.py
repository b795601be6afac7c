"""The Linux kernel's reports of a fault (exporter/logs/kernel.py): their first line's level, their lines one record."""

from pathlib import Path

import pytest

from exporter.logs.offline import mine_lines

# Real: this machine's /var/log/kern.log (rsyslog 8.2302, Linux 6.18) after three processes ran out of a memory
# cgroup's limit (48 MiB) and three segfaulted: its last boot lines, three OOM killer reports (80 lines each) with
# their `Killed process` lines, three segfaults each with its code bytes
KERN_LOG = (Path(__file__).parent / "data" / "kern-oom-segfault.log").read_text().splitlines()


def levels_by_template(result):
    return {result.templates[template_id].text: level for template_id, level in result.counts}


def test_each_oom_killers_report_is_one_error_record_and_its_killed_process_line_another():
    result = mine_lines(KERN_LOG)
    by_text = levels_by_template(result)
    reports = [n for n, line in enumerate(KERN_LOG) if "invoked oom-killer" in line]
    assert len(reports) == 3
    for start in reports:
        end = next(n for n in range(start, len(KERN_LOG)) if "Killed process" in KERN_LOG[n])
        assert end - start >= 75 and len(set(result.template_ids[start:end])) == 1  # before: ~60 templates a report
        assert result.template_ids[end] != result.template_ids[start]
    oom = [text for text in by_text if "invoked oom-killer" in text]
    killed = [text for text in by_text if "Killed process" in text]
    assert len(oom) == 1 and by_text[oom[0]] == "error" and len(killed) == 1 and by_text[killed[0]] == "error"
    assert not any(text.startswith(("RAX:", "Call Trace", "Memory cgroup stats", "rss ", "Tasks state")) for text in by_text)


def test_a_processs_segfault_is_an_error_record_with_its_code_bytes():
    result = mine_lines(KERN_LOG)
    faults = [n for n, line in enumerate(KERN_LOG) if ": segfault at " in line]
    assert len(faults) == 3 and all(KERN_LOG[n + 1].split("] ", 1)[1].startswith("Code: ") for n in faults)
    assert all(result.template_ids[n] == result.template_ids[n + 1] for n in faults)
    assert len({result.template_ids[n] for n in faults}) == 1
    assert [level for text, level in levels_by_template(result).items() if "segfault" in text] == ["error"]  # was unknown


def test_the_boot_lines_before_the_reports_are_records_of_their_own():
    result = mine_lines(KERN_LOG)
    first_report = next(n for n, line in enumerate(KERN_LOG) if "invoked oom-killer" in line)
    assert len(set(result.template_ids[:first_report])) > first_report // 2  # not joined to anything


HUNG_TASK = [  # written after the kernel's layout (kernel/hung_task.c, sched_show_task), as rsyslog stores it
    "Dec  8 03:10:04 db1 kernel: [12348.000001] INFO: task jbd2/sda1-8:412 blocked for more than 120 seconds.",
    "Dec  8 03:10:04 db1 kernel: [12348.000002]       Not tainted 6.1.0-18-amd64 #1 Debian 6.1.76-1",
    "Dec  8 03:10:04 db1 kernel: [12348.000003] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.",
    "Dec  8 03:10:04 db1 kernel: [12348.000004] task:jbd2/sda1-8     state:D stack:0     pid:412   ppid:2      flags:0x00004000",
    "Dec  8 03:10:04 db1 kernel: [12348.000005] Call Trace:",
    "Dec  8 03:10:04 db1 kernel: [12348.000006]  <TASK>",
    "Dec  8 03:10:04 db1 kernel: [12348.000007]  __schedule+0x34d/0x9e0",
    "Dec  8 03:10:04 db1 kernel: [12348.000008]  schedule+0x5a/0xd0",
    "Dec  8 03:10:04 db1 kernel: [12348.000009]  io_schedule+0x42/0x70",
    "Dec  8 03:10:04 db1 kernel: [12348.000010]  </TASK>",
]
OOPS = [  # written after x86's oops layout (arch/x86/kernel/dumpstack.c, __show_regs)
    "Dec  8 03:20:05 db1 kernel: [12349.000001] BUG: kernel NULL pointer dereference, address: 0000000000000008",
    "Dec  8 03:20:05 db1 kernel: [12349.000002] #PF: supervisor read access in kernel mode",
    "Dec  8 03:20:05 db1 kernel: [12349.000003] #PF: error_code(0x0000) - not-present page",
    "Dec  8 03:20:05 db1 kernel: [12349.000004] PGD 0 P4D 0 ",
    "Dec  8 03:20:05 db1 kernel: [12349.000005] Oops: 0000 [#1] PREEMPT SMP NOPTI",
    "Dec  8 03:20:05 db1 kernel: [12349.000006] CPU: 3 PID: 4321 Comm: kworker/3:2 Not tainted 6.1.0-18-amd64 #1 Debian",
    "Dec  8 03:20:05 db1 kernel: [12349.000007] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2 04/01/2014",
    "Dec  8 03:20:05 db1 kernel: [12349.000008] RIP: 0010:nvme_poll+0x1a/0x90 [nvme]",
    "Dec  8 03:20:05 db1 kernel: [12349.000009] Code: 48 89 e5 41 55 41 54 53 48 8b 47 08 <48> 8b 40 08",
    "Dec  8 03:20:05 db1 kernel: [12349.000010] RSP: 0018:ffffb1c2c0a8bd68 EFLAGS: 00010246",
    "Dec  8 03:20:05 db1 kernel: [12349.000011] RAX: 0000000000000000 RBX: ffff8a2b4c3d2e00 RCX: 0000000000000000",
    "Dec  8 03:20:05 db1 kernel: [12349.000012] FS:  0000000000000000(0000) GS:ffff8a2c7fd00000(0000) knlGS:0000000000000000",
    "Dec  8 03:20:05 db1 kernel: [12349.000013] CR2: 0000000000000008 CR3: 000000010a2b4000 CR4: 00000000000006e0",
    "Dec  8 03:20:05 db1 kernel: [12349.000014] Call Trace:",
    "Dec  8 03:20:05 db1 kernel: [12349.000015]  <TASK>",
    "Dec  8 03:20:05 db1 kernel: [12349.000016]  ? __die+0x23/0x70",
    "Dec  8 03:20:05 db1 kernel: [12349.000017]  process_one_work+0x1c7/0x380",
    "Dec  8 03:20:05 db1 kernel: [12349.000018]  </TASK>",
    "Dec  8 03:20:05 db1 kernel: [12349.000019] Modules linked in: nvme nvme_core ext4 mbcache jbd2",
    "Dec  8 03:20:05 db1 kernel: [12349.000020] CR2: 0000000000000008",
    "Dec  8 03:20:05 db1 kernel: [12349.000021] ---[ end trace 0000000000000000 ]---",
]


@pytest.mark.parametrize("report, level", [(HUNG_TASK, "error"), (OOPS, "critical")])
def test_a_hung_task_or_an_oops_is_one_record_of_the_level_the_kernel_means(report, level):
    after = ["Dec  8 03:30:00 db1 kernel: [12400.000000] e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex",
             "Dec  8 03:30:01 db1 CRON[5151]: (root) CMD (run-parts /etc/cron.hourly)"]
    result = mine_lines(after + report + after)
    ids = result.template_ids
    assert len(set(ids[2:-2])) == 1 and ids[-2] == ids[0] and ids[-1] == ids[1]  # the next kernel line is its own
    assert levels_by_template(result)[result.templates[ids[2]].text] == level  # `INFO:` said info; BUG: nothing


@pytest.mark.parametrize("message, level", [
    ("INFO: task kworker/0:1:123 blocked for more than 122 seconds.", "error"),
    ("rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", "error"),
    ("watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [stress:5555]", "critical"),
    ("Kernel panic - not syncing: Fatal exception", "critical"),
    ("general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP PTI", "critical"),
    ("traps: nginx[4243] general protection fault ip:55d1c0e0f1a2 sp:7ffc8a9b0c10 error:0 in nginx[55d1c0e00000+100000]",
     "error"),
    ("WARNING: CPU: 0 PID: 1 at drivers/foo/bar.c:123 baz+0x1a/0x30 [foo]", "warning"),
])
def test_the_first_line_of_a_kernel_report_has_the_level_the_kernel_means(message, level):
    result = mine_lines([f"Dec  8 03:10:0{n} db1 kernel: [1234{n}.000001] {message}" for n in range(3)])
    assert [found for _, found in result.counts] == [level]


@pytest.mark.parametrize("line", [
    "2026-12-08 03:10:04,123 INFO [main] com.shop.Jobs - task export blocked for more than 5 seconds, retrying",
    "2026-12-08 03:10:04,123 INFO [main] com.shop.Config - default fault tolerance: 3 retries",
    "Dec  8 03:10:04 web1 app[42]: BUGS: none reported today",
])
def test_an_applications_own_lines_that_share_words_with_kernel_reports_keep_their_level(line):
    levels = [level for _, level in mine_lines([line] * 3).counts]
    assert "error" not in levels and "critical" not in levels


WARN_REPORT = [  # written after the kernel's WARN() layout (include/asm-generic/bug.h's `cut here`, __warn())
    "Dec  8 03:20:05 db1 kernel: [12349.000001] ------------[ cut here ]------------",
    "Dec  8 03:20:05 db1 kernel: [12349.000002] WARNING: CPU: 1 PID: 812 at net/core/dev.c:4321 netif_rx+0x1a/0x30",
    "Dec  8 03:20:05 db1 kernel: [12349.000003] Modules linked in: nvme nvme_core ext4",
    "Dec  8 03:20:05 db1 kernel: [12349.000004] CPU: 1 PID: 812 Comm: kworker/1:2 Not tainted 6.1.0-18-amd64 #1 Debian",
    "Dec  8 03:20:05 db1 kernel: [12349.000005] RIP: 0010:netif_rx+0x1a/0x30",
    "Dec  8 03:20:05 db1 kernel: [12349.000006] Call Trace:",
    "Dec  8 03:20:05 db1 kernel: [12349.000007]  <TASK>",
    "Dec  8 03:20:05 db1 kernel: [12349.000008]  process_one_work+0x1c7/0x380",
    "Dec  8 03:20:05 db1 kernel: [12349.000009]  </TASK>",
    "Dec  8 03:20:05 db1 kernel: [12349.000010] ---[ end trace 0000000000000000 ]---",
]


def test_a_kernel_warning_after_its_cut_here_line_is_one_warning_record_named_by_its_warning_line():
    link = "Dec  8 03:30:01 db1 kernel: [12400.000001] e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex"
    result = mine_lines([link, *WARN_REPORT, link])
    ids = result.template_ids
    assert len(set(ids[1:-1])) == 1 and ids[0] == ids[-1] != ids[1]  # before: the cut here line a record of its own
    assert levels_by_template(result)[result.templates[ids[1]].text] == "warning"
    assert result.templates[ids[1]].text.startswith("WARNING: CPU:")


def test_a_hung_task_in_dmesg_t_output_whose_info_the_format_reads_as_a_level_is_an_error_record_with_its_report():
    lines = ["[Tue Dec  8 00:10:01 2026] e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None",
             "[Tue Dec  8 00:10:02 2026] e1000e: eth0 NIC Link is Down",
             *[f"[Tue Dec  8 03:10:04 2026] {line.split('] ', 1)[1]}" for line in HUNG_TASK],
             "[Tue Dec  8 03:10:07 2026] e1000e: eth0 NIC Link is Down"]
    result = mine_lines(lines)
    ids = result.template_ids
    assert len(set(ids[2:-1])) == 1 and ids[-1] == ids[1]
    assert levels_by_template(result)[result.templates[ids[2]].text] == "error"  # before: info, its lines records
