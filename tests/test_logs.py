"""Log templates: records, masking, levels, the template cap, state, following files, ranking evidence."""

import json
import os
import random
import re
from pathlib import Path

import pytest

from alertmanager_receiver.log_ranking import label_matcher, rank_templates
from devstack.tomcatlog import routine_lines, stack_trace
from exporter.config import ConfigError
from exporter.logs.config import DEFAULT_CONTINUATION, DEFAULT_LEVEL, parse_logs_config
from exporter.logs.follow import FileFollower
from exporter.logs.formats import resolve
from exporter.logs.masking import mask_names
from exporter.logs.mining import OTHER, RecordAssembler, level_of, make_miner
from exporter.logs.offline import mine_lines
from exporter.logs.similarity import MAX_STATES, is_masked_value, mask_token_pattern, other_state, other_value


def miner(max_templates=50, state=None):
    return make_miner("tomcat", max_templates=max_templates, template_max_length=200, level_pattern=DEFAULT_LEVEL,
                      similarity=0.4, depth=4, state=state)


def feed(source, lines, now=1000.0):
    assembler = RecordAssembler(DEFAULT_CONTINUATION, DEFAULT_LEVEL)  # as the live path cuts records
    ids = []
    for line in lines:
        record = assembler.feed(line)
        if record:
            ids += [template_id for _, template_id in source.add(record, now)]
    record = assembler.flush()
    if record:
        ids += [template_id for _, template_id in source.add(record, now)]
    ids += [template_id for _, template_id in source.finish_detection()]
    return ids


def mined_between_routine_lines(crash):
    """The template ids of a routine line, of `crash`'s records and of a routine line after them, with the templates and
    the counts by level: how a crash written between a program's ordinary lines is mined."""
    source = miner()
    ids = feed(source, ["routine line 1 of the program", *crash, "routine line 2 of the program"])
    templates, counts, _ = source.snapshot()
    return ids, templates, counts


def tomcat_text(n=600, trace_every=0, seed=1):
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        lines += stack_trace(rng, 1e9 + i) if trace_every and i % trace_every == 0 else routine_lines(rng, 1e9 + i)
    return lines


def test_a_stack_trace_is_one_error_record_and_routine_lines_fold_into_a_few_templates():
    source = miner()
    ids = feed(source, tomcat_text(600, trace_every=20))
    templates, counts, _ = source.snapshot()
    assert len(ids) == 600  # 30 traces of 7 lines each counted once
    assert len(templates) <= 8
    errors = {tid: n for (tid, level), n in counts.items() if level == "error"}
    assert sum(errors.values()) == 30 and len(errors) == 1
    (trace_id,) = errors
    assert "threw exception" in templates[trace_id].text and "SEVERE" not in templates[trace_id].text  # header cut
    assert source.format_name == "catalina"
    assert all(not re.search(r"\d{4,}", t.text) for t in templates.values()), "ids and times are masked"


PYTHON_CRASH = [
    "Traceback (most recent call last):",
    '  File "/srv/app/worker.py", line 42, in run',
    "    result = handler(job)",
    "KeyError: 'job'",
    "",
    "During handling of the above exception, another exception occurred:",
    "",
    "Traceback (most recent call last):",
    '  File "/srv/app/worker.py", line 44, in run',
    '    raise ValueError(f"bad job {job_id}")',
    "ValueError: bad job 881",
]
GO_PANIC = [
    "panic: runtime error: index out of range [3] with length 3",
    "",
    "goroutine 1 [running]:",
    "main.process(...)",
    "\t/src/main.go:12",
    "net/http.(*conn).serve(0xc00011e000, {0x8a6f08, 0xc00007e2a0})",
    "\t/usr/local/go/src/net/http/server.go:1995 +0x612",
    "created by net/http.(*Server).Serve",
]
GO_NIL_PANIC = [  # a nil pointer's panic: the runtime's signal line comes second, a header's bracket at its start
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]",
    "",
    "goroutine 42 [running]:",
    "main.(*collector).Collect(0x0, 0xc000123456)",
    "\t/src/collector.go:57 +0x2c",
    "created by github.com/prometheus/client_golang/prometheus.(*Registry).Gather in goroutine 40",
]


def test_an_uncaught_python_traceback_is_an_error_record_named_by_its_exception_not_by_the_line_before_it():
    ids, templates, counts = mined_between_routine_lines(PYTHON_CRASH)
    assert ids[0] == ids[-1] != ids[1]
    crash_ids = ids[1:-1]  # the chained traceback: two records, each named by its exception, both errors
    assert set(crash_ids) == {crash_ids[0], crash_ids[-1]} and crash_ids[0] != crash_ids[-1]
    assert [templates[crash_ids[0]].text, templates[crash_ids[-1]].text] == ["KeyError: <STR>", "ValueError: bad job <NUM>"]
    assert {level for (tid, level) in counts if tid in crash_ids} == {"error"}


def test_a_logged_exception_is_one_error_record_named_by_the_logged_message():
    logged = ["2026-11-22 10:00:00,001 ERROR worker: payment 4411 failed", *PYTHON_CRASH[:4]]
    source = miner()
    ids = feed(source, ["2026-11-22 10:00:00,000 INFO worker: job 17 started", *logged,
                        "2026-11-22 10:00:00,002 ERROR worker: payment 4412 failed", *PYTHON_CRASH[:4]])
    templates, counts, _ = source.snapshot()
    assert len(ids) == 3 and ids[1] == ids[2] != ids[0]  # one record each: the message and its traceback
    assert templates[ids[1]].text == "payment <NUM> failed" and counts[(ids[1], "error")] == 2
    assert len(templates) == 2, "no template of its own for the traceback"


def test_a_traceback_after_a_line_that_is_not_an_error_is_an_uncaught_crash_of_its_own():
    source = miner()
    ids = feed(source, ["2026-11-22 10:00:00,000 INFO worker: job 17 started", *PYTHON_CRASH[:4],
                        "2026-11-22 10:00:01,000 ERROR worker: job 18 failed", "detail line", *PYTHON_CRASH[:4]])
    templates, counts, _ = source.snapshot()
    assert len(ids) == 5 and ids[1] != ids[0] and templates[ids[1]].text == "KeyError: <STR>"
    assert (ids[1], "error") in counts and ids[-1] == ids[1], "after 'detail line' the traceback is no longer the error's"


@pytest.mark.parametrize("panic", [GO_PANIC, GO_NIL_PANIC])
def test_a_go_panic_with_its_goroutine_dump_is_one_critical_record(panic):
    ids, templates, counts = mined_between_routine_lines(panic)
    assert len(set(ids[1:-1])) == 1 and ids[1] != ids[0]
    assert templates[ids[1]].text.startswith("panic: runtime error") and (ids[1], "critical") in counts
    assert not any(text.strip() == "" for text in (t.text for t in templates.values())), "a blank line is no record"


# A real OpenJDK 17's crash banner on stdout (java -XX:+CrashOnOutOfMemoryError), after the application's last line
JVM_CRASH = [
    "Aborting due to java.lang.OutOfMemoryError: Java heap space",
    "#",
    "# A fatal error has been detected by the Java Runtime Environment:",
    "#",
    "#  Internal Error (debug.cpp:362), pid=31838, tid=31839",
    "#  fatal error: OutOfMemory encountered: Java heap space",
    "#",
    "# JRE version: OpenJDK Runtime Environment (17.0.15+6) (build 17.0.15+6-Debian-1deb12u1)",
    "# Java VM: OpenJDK 64-Bit Server VM (17.0.15+6-Debian-1deb12u1, mixed mode, sharing, tiered, compressed oops, "
    "compressed class ptrs, g1 gc, linux-amd64)",
    '# No core dump will be written. Core dumps have been disabled. To enable core dumping, try "ulimit -c unlimited" '
    "before starting Java again",
    "#",
    "# An error report file with more information is saved as:",
    "# /tmp/jv/hs_err.log",
]


def test_the_jvms_crash_banner_is_one_critical_record_named_by_its_first_sentence():
    ids, templates, counts = mined_between_routine_lines(JVM_CRASH)
    assert len(ids) == 4 and len({ids[0], ids[1], ids[2]}) == 3 and ids[-1] == ids[0]
    assert templates[ids[2]].text == "# A fatal error has been detected by the Java Runtime Environment:"
    assert (ids[2], "critical") in counts


RUST_PANICS = [
    "thread 'main' panicked at src/main.rs:2:5:",  # Rust 1.73 and later: the message on the next line
    "called `Option::unwrap()` on a `None` value",
    "stack backtrace:",
    "   0: rust_begin_unwind",
    "             at /rustc/90b35a6/library/std/src/panicking.rs:645:5",
    "note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.",
    "thread 'worker-3' panicked at 'index out of bounds: the len is 3 but the index is 7', src/queue.rs:88:9",
    "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
]


def test_a_rust_panic_with_its_message_backtrace_and_note_is_one_critical_record():
    ids, templates, counts = mined_between_routine_lines(RUST_PANICS)
    assert len(ids) == 4  # before: the message, "stack backtrace:" and each note began records of their own
    assert templates[ids[1]].text.startswith("thread <STR> panicked at") and (ids[1], "critical") in counts
    assert (ids[2], "critical") in counts and ids[0] == ids[3]


RUBY_LOGGED_THEN_UNCAUGHT = [  # a real Ruby 3.1's Logger lines (a logged exception's backtrace unindented after it),
    # then the uncaught exception that ended the program, as its stdout and stderr reach one log
    "I, [2026-12-07T19:30:57.523855 #23927]  INFO -- : order 9 paid",
    "E, [2026-12-07T19:30:57.523880 #23927] ERROR -- : bad amount 3 (ArgumentError)",
    "/tmp/crash.rb:6:in `pay'",
    "/tmp/crash.rb:7:in `<main>'",
    "/tmp/crash.rb:6:in `pay': bad amount 5 (ArgumentError)",
    "\tfrom /tmp/crash.rb:8:in `<main>'",
]
DOTNET_CRASH = [  # the .NET runtime's report of an unhandled exception on standard error
    "Unhandled exception. System.InvalidOperationException: order 42 has no items",
    "   at Shop.Orders.Pay(Int32 id) in /src/Orders.cs:line 18",
    "   at Program.<Main>$(String[] args) in /src/Program.cs:line 3",
]


def test_an_uncaught_ruby_exception_after_a_logged_error_is_an_error_record_of_its_own():
    source = miner()
    ids = feed(source, [*RUBY_LOGGED_THEN_UNCAUGHT, "I, [2026-12-07T19:30:58.000001 #23927]  INFO -- : order 10 paid"])
    templates, counts, _ = source.snapshot()
    logged, crash = ids[1], ids[4]
    assert ids[0] == ids[5] and ids[1:4] == [logged] * 3  # the logged error's backtrace lines are more of its message
    assert crash not in (logged, ids[0])  # before: the crash was more of the logged error's message too, uncounted
    assert templates[logged].text == "bad amount <NUM> (ArgumentError)" and counts[(logged, "error")] == 1
    assert templates[crash].text.endswith(":in `pay': bad amount <NUM> (ArgumentError)") and (crash, "error") in counts


@pytest.mark.parametrize("crash", [
    ["terminate called after throwing an instance of 'std::runtime_error'", "  what():  payment 13 failed"],  # libstdc++
    ["Terminating due to java.lang.OutOfMemoryError: Java heap space"],  # a real OpenJDK 17, -XX:+ExitOnOutOfMemoryError
    ["Aborting due to java.lang.OutOfMemoryError: Java heap space"],  # -XX:+CrashOnOutOfMemoryError, before its banner
    ["free(): double free detected in tcache 2"],  # glibc's heap checks, as a real g++ 12 program's double free wrote
    ["double free or corruption (out)"],
    ["*** stack smashing detected ***: terminated"],
    ["*** buffer overflow detected ***: terminated"],  # a real gcc 12 program's, -D_FORTIFY_SOURCE=2, glibc 2.36
    ["af: af.c:2: main: Assertion `x == 1' failed."],  # the same's failed assert()
    ["app.rb:5: [BUG] Segmentation fault at 0x0000000000004499"],  # a real Ruby 3.1 sent SIGSEGV
])
def test_what_the_jvm_the_cpp_runtime_and_glibc_write_before_ending_a_program_is_one_critical_record(crash):
    ids, templates, counts = mined_between_routine_lines(crash)
    assert len(set(ids[1:-1])) == 1 and ids[0] == ids[-1] != ids[1]
    assert (ids[1], "critical") in counts  # before: unknown


NATIVE_BACKTRACES = [  # frames as glibc's backtrace_symbols() writes them, from real programs that print their own
    ["!!! uWSGI process 7678 got Segmentation Fault !!!", "*** backtrace of 7678 ***",  # uWSGI 2.0
     "uwsgi(uwsgi_backtrace+0x2f) [0x56539bab44df]", "/lib/x86_64-linux-gnu/libc.so.6(+0x3c050) [0x7f5afdeae050]",
     "/usr/lib/uwsgi/plugins/python3_plugin.so(python_call+0xf) [0x7f5afdc56b1f]", "uwsgi(_start+0x21) [0x56539ba63641]"],
    ["Printing to addr2line failed", "mariadbd(my_print_stacktrace+0x2e)[0x559fb26cc87e]",  # MariaDB 10.11, addr2line
     "libc_sigaction.c:0(__restore_rt)[0x7f130fa5a050]", "mariadbd(_Z11mysqld_mainiPPc+0x1108)[0x559fb1f0ed98]",
     "x86/libc-start.c:74(__libc_start_call_main)[0x7f130fa4524a]"],
    ["-- C level backtrace information -------------------------------------------",  # Ruby 3.1's [BUG] report
     "/lib/x86_64-linux-gnu/libruby-3.1.so.3.1(0x7f0072464998) [0x7f0072464998]",
     "/lib/x86_64-linux-gnu/libc.so.6(kill+0x7) [0x7f0071ef9267]", "ruby(_start+0x21) [0x55dadbd08151]"],
    ["backtrace:", "/tmp/bt(+0x1178)[0x5641176ee178]", "/tmp/bt(outer+0x9)[0x5641176ee1c3]"],  # backtrace_symbols_fd()
]


@pytest.mark.parametrize("backtrace", NATIVE_BACKTRACES)
def test_a_native_backtrace_a_program_prints_is_part_of_the_record_before_it(backtrace):
    ids, templates, _ = mined_between_routine_lines(backtrace)
    first_frame = backtrace.index(next(line for line in backtrace if line.endswith("]") and "(" in line))
    assert len(set(ids[first_frame:-1])) == 1  # the line before the frames and they (ids[0]: the routine line before)
    # before: a record, and a template, a frame
    assert ids[0] == ids[-1] and not [t for t in templates.values() if "<HEX>]" in t.text]


def journal_entry(message: str, n: int, priority: str = "6") -> str:
    """An entry of journald's JSON export (journalctl -o json) of a service that wrote `message` on its standard output."""
    return json.dumps({"__CURSOR": f"s=5f1c;i={n:x};b=9a2e;m={n:x};t=6a1b;x=77",
                       "__REALTIME_TIMESTAMP": str(1796680000000000 + n), "__MONOTONIC_TIMESTAMP": str(9000000 + n),
                       "PRIORITY": priority, "_TRANSPORT": "stdout",
                       "SYSLOG_IDENTIFIER": "java", "_PID": "812", "_SYSTEMD_UNIT": "shop.service", "MESSAGE": message})


def test_a_stack_trace_that_journald_stored_a_line_an_entry_is_one_record_of_its_error():
    entries = []
    for i in range(12):
        entries.append(journal_entry(f"2026-12-07 10:00:{i:02d},003 INFO [main] com.shop.Orders - order {i} paid", 10 * i))
        if i % 4 == 0:
            entries += [journal_entry(text, 10 * i + n) for n, text in enumerate([
                f"2026-12-07 10:00:{i:02d},004 ERROR [main] com.shop.Orders - payment {i} failed",
                "java.lang.IllegalStateException: card declined", "\tat com.shop.Pay.charge(Pay.java:42)",
                f"\tat com.shop.Api{i}.handle(Api.java:9)", "Traceback (most recent call last):",
                '  File "/app/worker.py", line 12, in run', f"KeyError: 'order {i}'"], 1)]
    result = mine_lines(entries)
    counts = {(result.templates[tid].text, level): n for (tid, level), n in result.counts.items()}
    assert result.format == "json+log4j" and result.records == 12 + 3 * 2  # before: 12 + 3 * 7, a record an entry
    assert counts == {("order <NUM> paid", "info"): 12, ("payment <NUM> failed", "error"): 3,
                      ("KeyError: <STR>", "error"): 3}  # a traceback is mined by its exception, an error whatever PRIORITY


SYSLOG_TRACES = [  # services' stack traces and a kernel's hung task report as rsyslog writes them (a tab as #011)
    "Dec  7 10:00:02 web1 shop[812]: 2026-12-07 10:00:02,003 ERROR [main] com.shop.Orders - payment failed",
    "Dec  7 10:00:02 web1 shop[812]: java.lang.IllegalStateException: card declined",
    "Dec  7 10:00:02 web1 shop[812]: #011at com.shop.Pay.charge(Pay.java:42)",
    "Dec  7 10:00:02 web1 shop[812]: #011at com.shop.Orders.pay(Orders.java:17)",
    "Dec  7 10:00:03 web1 worker[900]: Traceback (most recent call last):",
    'Dec  7 10:00:03 web1 worker[900]:   File "/app/worker.py", line 12, in run',
    'Dec  7 10:00:03 web1 worker[900]:     raise ValueError(f"bad job {n}")',
    "Dec  7 10:00:03 web1 worker[900]: ValueError: bad job 2",
    "Dec  7 10:00:04 web1 kernel: [ 1234.567930] Call Trace:",
    "Dec  7 10:00:04 web1 kernel: [ 1234.567935]  <TASK>",
    "Dec  7 10:00:04 web1 kernel: [ 1234.567940]  __schedule+0x34d/0x9e0",
    "Dec  7 10:00:04 web1 kernel: [ 1234.567960]  ? bit_wait+0x60/0x60",
    "Dec  7 10:00:04 web1 kernel: [ 1234.567990]  </TASK>",
]


def test_stack_traces_that_rsyslog_wrote_a_line_an_entry_are_one_record_each():
    routine = [f"Dec  7 10:01:{i:02d} web1 sshd[9{i}]: Accepted publickey for deploy from 10.0.0.{i} port 5{i} ssh2"
               for i in range(30)]
    ids = feed(source := miner(), routine[:20] + SYSLOG_TRACES + routine[20:])
    templates, counts, _ = source.snapshot()
    traces = ids[20:-10]
    assert len(ids) == 34 and len(set(traces)) == 4  # before: a record a line, 13 of them, 11 templates
    texts = {templates[tid].text: level for (tid, level, *_) in counts}
    assert texts["<TS> ERROR [main] com.shop.Orders - payment failed"] == "error"  # the exception's line and frames:
    assert texts["java.lang.IllegalStateException: card declined"] == "error"  # a record (a line not indented begins one)
    assert texts["ValueError: bad job <NUM>"] == "error" and texts["Call Trace:"] == "unknown"


def test_a_syslog_line_indented_by_its_program_or_from_another_sender_is_a_record_of_its_own():
    lines = ["Dec  7 10:00:01 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/ls",
             "Dec  7 10:00:02 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
             "Dec  7 10:00:03 web1 kernel: BIOS-provided physical RAM map:",  # the kernel's boot-time list
             "Dec  7 10:00:03 web1 kernel:  BIOS-e820: 0000000000000000 - 00000000000a0000 (usable)",
             "Dec  7 10:00:04 web1 shop[812]: java.lang.IllegalStateException: card declined",
             "Dec  7 10:00:04 web1 other[77]: #011at com.other.Main.run(Main.java:3)"]  # another program's frame
    assert len(feed(miner(), lines)) == 6


@pytest.mark.parametrize("uptime", ["[    1.234567]", "[ 1234.567890]", "[12345.678901]"])
def test_the_kernels_uptime_in_a_syslog_line_is_part_of_its_header(uptime):
    parsed = resolve("syslog").parse(f"Dec  7 10:00:04 web1 kernel: {uptime} e1000e: eth0 NIC Link is Up 1000 Mbps")
    assert parsed.content == "e1000e: eth0 NIC Link is Up 1000 Mbps" and parsed.fields["Uptime"] == uptime.strip("[ ]")


@pytest.mark.parametrize("line", [
    "2026-12-07 22:54:56.051 UTC [22293] LOG:  server process (PID 22305) was terminated by signal 11: Segmentation "
    "fault",  # a real PostgreSQL 15's, its backend sent SIGSEGV
    "2026/12/07 22:54:56 [notice] 812#812: worker process 5678 exited on signal 11 (core dumped)",  # nginx
    "[Mon Dec 07 22:54:56.051234 2026] [core:notice] [pid 812:tid 140] AH00052: child pid 5678 exit signal Segmentation "
    "fault (11)",  # Apache httpd
    "[07-Dec-2026 22:54:56] WARNING: [pool www] child 5678 exited on signal 11 (SIGSEGV - core dumped) after 1.20 "
    "seconds from start",  # PHP-FPM
    "DAMN ! worker 2 (pid: 7679) died, killed by signal 9 :( trying respawn ...",  # a real uWSGI 2.0's
    "2026-12-07 22:54:56,051 INFO exited: web (terminated by SIGSEGV (core dumped); not expected)",  # supervisord
    "Dec  7 22:54:56 web1 systemd[1]: shop.service: Main process exited, code=killed, status=11/SEGV",
    "9073:M 07 Dec 2026 21:50:52.409 # Redis 7.0.15 crashed by signal: 11, si_code: 2",  # a real Redis 7.0's, `#`: warning
    "Dec  7 22:54:56 web1 kernel: [12345.678901] Out of memory: Killed process 5678 (java) total-vm:8123456kB, "
    "anon-rss:4012345kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:9000kB oom_score_adj:0",  # the OOM killer
    "Dec  7 22:54:56 web1 kernel: [12345.678801] java invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), "
    "order=0, oom_score_adj=0",  # the first line of its report
    "Dec  7 22:54:56 web1 systemd[1]: shop.service: A process of this unit has been killed by the OOM killer.",
    "Dec  7 22:54:56 web1 systemd[1]: shop.service: Failed with result 'oom-kill'.",
    "Dec  8 00:10:03 web1 systemd-coredump[812]: Process 4242 (python3) of user 0 dumped core.#012#012Stack trace of "
    "thread 4242:#012#0  0x00007f3a1b2c3d4e __pthread_kill_implementation (libc.so.6 + 0x8aebc)",  # as rsyslog writes it
    "Dec  8 00:10:03 web1 systemd[1]: shop.service: Failed with result 'core-dump'.",
])
def test_a_process_killed_by_a_signal_that_ends_a_program_by_fault_is_an_error_whatever_its_level(line):
    result = mine_lines([line] * 3)
    assert [level for _, level in result.counts] == ["error"]  # before: info, warning or unknown


@pytest.mark.parametrize("line", [
    "2026-12-07 22:55:56.051 UTC [22293] LOG:  server process (PID 22405) was terminated by signal 15: Terminated",
    "2026/12/07 22:54:56 [notice] 812#812: worker process 5678 exited on signal 15",
    "2026-12-07 22:54:56,051 INFO exited: web (terminated by SIGTERM; not expected)",
    "Dec  7 22:54:56 web1 systemd[1]: shop.service: Main process exited, code=exited, status=1/FAILURE",
    "Dec  7 22:54:56 web1 systemd[1]: shop.service: Failed with result 'exit-code'.",
    "2026-12-07 22:54:59.149 UTC [22293] LOG:  background worker \"logical replication launcher\" (PID 22315) exited with "
    "exit code 1",
])
def test_a_process_stopped_by_a_signal_or_exiting_keeps_its_level(line):
    assert "error" not in [level for _, level in mine_lines([line] * 3).counts]


V8_OUT_OF_MEMORY = [  # a real Node.js 20's report when its heap ran out (trimmed frames), then bash's report
    "<--- Last few GCs --->",
    "",
    "[7794:0x24455e20]       69 ms: Mark-Compact 16.3 (32.8) -> 16.3 (32.8) MB, 6.17 / 0.00 ms  (average mu = 0.292, "
    "current mu = 0.136) allocation failure; scavenge might not succeed",
    "",
    "",
    "<--- JS stacktrace --->",
    "",
    "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    "----- Native stack trace -----",
    "",
    " 1: 0xb78db3 node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]",
    " 2: 0xee8300 v8::Utils::ReportOOMFailure(v8::internal::Isolate*, char const*, v8::OOMDetails const&) [node]",
    "10: 0x10b7fb4 v8::internal::FactoryBase<v8::internal::Factory>::NewFixedArrayWithFiller(...) [node]",
    "11: 0x1297c5f  [node]",
    "16: 0x195e476  [node]",
]
V8_OUT_OF_MEMORY_OLDER = [  # Node.js 12's: a JS stack trace with its security context before the FATAL ERROR
    "<--- Last few GCs --->",
    "[1:0x55f0b5e0]    12345 ms: Mark-sweep 2046.9 (2050.0) -> 2046.3 (2050.5) MB, 1632.3 / 0.0 ms  allocation failure",
    "<--- JS stacktrace --->",
    "==== JS stack trace =========================================",
    "    0: ExitFrame [pc: 0x13cb2d9]",
    "Security context: 0x1f0f3dc408d1 <JSObject>",
    "    1: parse [0x1f0f3dc1c0e1] [native json.js:1]",
    "FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory",
    " 1: 0x9dab70 node::Abort() [node]",
    "12: 0x13cb2d9  [node]",
]


@pytest.mark.parametrize("report", [V8_OUT_OF_MEMORY, V8_OUT_OF_MEMORY_OLDER])
def test_node_running_out_of_heap_is_one_critical_record_named_by_its_fatal_error(report):
    ids, templates, counts = mined_between_routine_lines(report)
    assert len(set(ids[1:-1])) == 1 and ids[0] == ids[-1] != ids[1]  # before: a record per part and per frame
    assert templates[ids[1]].text.startswith("FATAL ERROR:") and templates[ids[1]].text.endswith("heap out of memory")
    assert (ids[1], "critical") in counts


PYTHON_FAULTHANDLER = [  # a real Python 3.11's report of a segmentation fault under -X faulthandler, two threads
    "Fatal Python error: Segmentation fault",
    "",
    "Thread 0x00007f49c65fe6c0 (most recent call first):",
    '  File "/usr/lib/python3.11/threading.py", line 982 in run',
    '  File "/usr/lib/python3.11/threading.py", line 1002 in _bootstrap',
    "",
    "Current thread 0x00007f49cec17b80 (most recent call first):",
    '  File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at',
    '  File "/app/worker.py", line 4 in <module>',
    "",
    "Extension modules: numpy._core._multiarray_umath, numpy.linalg._umath_linalg (total: 2)",
]


def test_pythons_report_of_a_fatal_error_with_its_threads_is_one_critical_record():
    ids, templates, counts = mined_between_routine_lines(PYTHON_FAULTHANDLER)
    assert len(set(ids[1:-1])) == 1 and ids[0] == ids[-1] != ids[1]  # before: a record per thread, `unknown`
    assert templates[ids[1]].text == "Fatal Python error: Segmentation fault" and (ids[1], "critical") in counts


def test_a_shells_report_that_a_program_was_killed_by_a_signal_is_a_critical_record_and_a_stop_is_not():
    # what a real bash 5.2 and dash 0.5 wrote into an entrypoint script's output, the program's lines around them
    source = miner()
    ids = feed(source, [
        "2026-12-07 10:00:00 INFO starting",
        "/entrypoint.sh: line 3:  6560 Killed                  java -Xmx64m -jar app.jar",
        "/entrypoint.sh: line 4:  6561 Segmentation fault      python3 worker.py",
        "/entrypoint.sh: line 5:  6602 Aborted                 (core dumped) ./pricing",
        "Killed",  # dash
        "Segmentation fault (core dumped)",
        "Terminated",
        "2026-12-07 10:00:05 INFO done",
    ])
    _, counts, _ = source.snapshot()
    levels = [next(level for (tid, level) in counts if tid == template_id) for template_id in ids]
    assert levels == ["info", "critical", "critical", "critical", "critical", "critical", "unknown", "info"]


def test_a_dotnet_unhandled_exception_with_its_frames_is_one_error_record():
    ids, templates, counts = mined_between_routine_lines(DOTNET_CRASH)
    assert len(ids) == 3 and ids[0] == ids[2] != ids[1]
    assert (ids[1], "error") in counts  # before: unknown


NODE_CRASHES = [[  # Node.js 20's reports of uncaught exceptions, as a container's log has them after the app's lines
    "/app/server.js:5",
    "function handle(order) { if (!order.items) { throw new TypeError(`order ${order.id} has no items`); } }",
    "                                             ^",
    "",
    "TypeError: order 42 has no items",
    "    at handle (/app/server.js:5:52)",
    "    at listOnTimeout (node:internal/timers:581:17)",
    "",
    "Node.js v20.20.2",
], [
    "/app/boom.js:2",
    'setTimeout(() => { throw new Error("boom 7"); }, 5);',
    "                   ^",
    "",
    "Error: boom 7",
    "    at Timeout._onTimeout (/app/boom.js:2:26)",
    "",
    "Node.js v20.20.2",
], [
    "node:internal/process/promises:389",
    "      new UnhandledPromiseRejection(reason);",
    "      ^",
    "",
    "UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch "
    'block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "no".',
    "    at throwUnhandledRejectionsMode (node:internal/process/promises:389:7) {",
    "  code: 'ERR_UNHANDLED_REJECTION'",
    "}",
    "",
    "Node.js v20.20.2",
]]


def test_a_nodejs_uncaught_exception_report_is_one_error_record_named_by_its_error_line():
    source = miner()
    ids = feed(source, [line for crash in NODE_CRASHES for line in ["routine line 1 of the server", *crash]]
               + ["routine line 2 of the server"])
    templates, counts, _ = source.snapshot()
    assert len(ids) == 7  # before: the location, the error line with its frames and the version line were three
    assert [templates[i].text for i in ids[1::2]] == [
        "TypeError: order <NUM> has no items", "Error: boom <NUM>",
        "UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a "
        "catch block, or by rejecting a promise which was not handled with .catch(). The promise rej..."]  # shortened
    assert all((i, "error") in counts for i in ids[1::2]) and len(set(ids[::2])) == 1


DOTNET_EXCEPTION = [
    "2026-03-03 04:02:11.003 +00:00 [ERR] Request failed for order 881",
    "System.InvalidOperationException: Sequence contains no elements",
    "   at Shop.Orders.OrderService.GetAsync(Int32 id) in /src/Shop/OrderService.cs:line 42",
    "--- End of stack trace from previous location ---",
    "   at Shop.Api.OrdersController.Get(Int32 id) in /src/Shop.Api/OrdersController.cs:line 17",
    " ---> System.Exception: inner failure",
    "   --- End of inner exception stack trace ---",
    "--- End of inner exception stack trace ---",
    "   at Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor.Execute()",
]


def test_a_dotnet_exception_with_its_end_of_stack_trace_markers_is_one_error_record():
    source = miner()
    ids = feed(source, ["2026-03-03 04:02:10.003 +00:00 [INF] order 880 paid", *DOTNET_EXCEPTION,
                        "2026-03-03 04:02:12.003 +00:00 [INF] order 882 paid"])
    templates, counts, _ = source.snapshot()
    assert len(ids) == 3 and ids[0] == ids[2] != ids[1]  # before: each "--- End of" line began a record
    assert templates[ids[1]].text == "Request failed for order <NUM>" and (ids[1], "error") in counts


LOG4J_5P = [  # Log4j 1.x's own example layout, "%5p [%t] (%F:%L) - %m%n": INFO and WARN are padded to five
    "ERROR [main] (Orders.java:88) - payment 881 failed",
    "\tat com.shop.Orders.pay(Orders.java:88)",
    "\tat com.shop.Main.main(Main.java:12)",
    " INFO [main] (Orders.java:42) - order 882 paid",
    " WARN [main] (Cache.java:17) - cache 3 evicted",
    " INFO [main] (Orders.java:42) - order 883 paid",
]
ZABBIX = [f"{pid:>6}:20261011:22141{i}.003 {message}" for i, (pid, message) in enumerate(
    [(4242, "cannot connect to database"), (88, "sender #1 started"), (4242, "cannot connect to database")])]
PADDED_PID = [f"{pid:>7} 2026-10-11 22:14:1{i} INFO job {i} done" for i, pid in enumerate([9, 4242, 123456])]
KAMAILIO = [  # Kamailio on stderr (-E): the process's rank padded to two digits, its pid, the level
    " 0(11656) INFO: <core> [main.c:2222]: main(): shared memory: 67108864 bytes",
    " 1(11565) ERROR: <core> [core/receive.c:376]: receive_msg(): core parsing of SIP message failed (127.0.0.1:5999/1)",
    "10(11574) INFO: <core> [main.c:854]: sig_usr(): signal 15 received",
    " 9(11573) INFO: <core> [main.c:854]: sig_usr(): signal 15 received",
]


@pytest.mark.parametrize("lines, levels, same", [
    (LOG4J_5P, ["error", "info", "warning", "info"], (1, 3)),
    (ZABBIX, ["unknown"] * 3, (0, 2)),
    (PADDED_PID, ["info"] * 3, (0, 2)),
    (KAMAILIO, ["info", "error", "info", "info"], (2, 3)),
])
def test_a_line_padded_before_its_header_starts_a_record_of_its_own_while_stack_frames_still_join_theirs(
        lines, levels, same):
    source = miner()
    ids = feed(source, lines)
    assert len(ids) == len(levels)  # before: every indented line joined the record before it, one record in all
    templates, counts, _ = source.snapshot()
    assert ids[same[0]] == ids[same[1]]
    assert all((template_id, level) in counts for template_id, level in zip(ids, levels))
    assert not any(text.startswith((" ", "INFO", "WARN")) for text in (t.text for t in templates.values()))


@pytest.mark.parametrize("line, level", [
    ("22-Nov-2026 10:00:00.000 SEVERE [main] x", "error"),
    ("2026-11-22 10:00:00 UTC [42] ERROR:  duplicate key value", "error"),
    ("2026-11-22 10:00:00 UTC [42] LOG:  checkpoint starting", "info"),
    ("level=warn msg=slow", "unknown"),
    ("WARN  [pool-1] connection slow", "warning"),
    ("FATAL: the database system is shutting down", "critical"),
    ('127.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 512', "unknown"),
])
def test_levels_are_read_from_the_first_line(line, level):
    assert level_of(line, re.compile(DEFAULT_LEVEL)) == level


def test_addresses_uuids_hex_and_numbers_are_masked_so_one_message_is_one_template():
    source = miner()
    ids = feed(source, [
        "2026-11-22 10:00:00,123 INFO session 3f2a9c1e-1b2c-4d5e-8f90-123456789abc from 10.0.0.12:5432 took 15 ms "
        "id=0xdeadbeef until 2026-11-23 10:00:00Z",
        "2026-11-22 10:00:05,999 INFO session 0a1b2c3d-1111-2222-3333-444455556666 from 192.168.1.7:80 took 9 ms "
        "id=0x1f until 2026-11-24 11:30:00Z",
    ])
    assert ids[0] == ids[1]
    text = source.snapshot()[0][ids[0]].text
    assert text.startswith("session ")  # the header (timestamp, level) is not part of the template
    assert "<UUID>" in text and "<IP>" in text and "<HEX>" in text and "<NUM>" in text and "<TS>" in text


@pytest.mark.parametrize("lines, template", [
    # 3 of 9 tokens are equal constant words (0.33, under the 0.4 threshold): the third stays apart; counting the
    # masked address and code as equal words would make it 5 of 9 and merge them
    (["INFO Closed link to 10.0.0.1: 11: peer says goodbye now",
      "INFO Closed link to 10.0.0.2: 12: peer says goodbye now",
      "INFO Closed link to 10.0.0.3: 13: reset by remote host"], "Closed link to <IP>: <NUM>: peer says goodbye now"),
    # 3 constant words of 8 (0.375, under the threshold), yet the first two mask to the same text: one template
    # (before, each line opened a template of its own)
    (['[INFO] 10.244.0.1:51234 - 1234 "A IN example.org. udp 29 false 512" NOERROR qr,rd,ra 96 0.000123s',
      '[INFO] 10.244.0.1:51236 - 1235 "AAAA IN example.org. udp 29 false 512" NOERROR qr,rd,ra 108 0.000211s',
      '[INFO] 10.244.0.9:40001 - 88 "A IN shop.local. udp 31 false 512" NXDOMAIN qr,aa,rd 140 0.000090s'],
     "<IP> - <NUM> <STR> NOERROR qr,rd,ra <NUM> <DURATION>"),
    # an id with a constant part glued to it is a value too: counted as an equal word, the third line had 2 equal words
    # in 5 (0.4, at the threshold) and joined the first two
    (["INFO Order ORD-100234 shipped to Paris",
      "INFO Order ORD-100871 shipped to Rome",
      "INFO Order ORD-100999 cancelled by alice"], "Order ORD-<NUM> shipped to <*>"),
], ids=["masked values are no evidence of likeness", "the same masked text is the same template",
        "an id with a constant prefix is no evidence of likeness"])
def test_similarity_rests_on_constant_words_and_the_same_masked_text_is_one_template(lines, template):
    source = miner()
    ids = feed(source, lines)
    assert ids[0] == ids[1] != ids[2]
    assert source.snapshot()[0][ids[0]].text == template


def test_a_message_that_differs_from_a_template_only_in_its_values_joins_it_however_few_its_constant_words():
    # Mosquitto with `log_type all`: 4 constant words of 11 (Received, PUBLISH, from, ...), the client id and the
    # flags values; one template per client before
    lines = [f"INFO Received PUBLISH from {client} (d0, q{q}, r0, m{m}, 'sensors/t{i % 4}', ... ({i + 3} bytes))"
             for i, (client, q, m) in enumerate([("pub12", 0, 0), ("qos13", 2, 1), ("sub-7f3a", 0, 0), ("pub14", 1, 2)])]
    # values after another key, or glued to other words, are another statement's
    lines += ["INFO getRecentTasks: num=5,flags=0x1,totalTasks=9",
              "INFO getRecentTasks: topActivity=ComponentInfo{com.app/com.app.Main}"]
    source = miner()
    ids = feed(source, lines)
    assert ids[:4] == [ids[0]] * 4 and len(set(ids)) == 3
    assert source.snapshot()[0][ids[0]].text == "Received PUBLISH from <*> (d0, <*> r0, <*> <STR>, ... (<SIZE>))"


@pytest.mark.parametrize("template_token, token, other", [
    ("qos1", "pub12", True), ("<IP>", "db-1.example.org", True), ("Surface(name=a.b)", "Surface(name=c/d.E)", True),
    ("key=<NUM>|a.b", "key=<NUM>|c.d", True), ("num=<NUM>,flags=<NUM>", "topActivity=a.B{c}", False),
    ("Locked:<NUM>|a.b", "Notification,index:<NUM>", False), ("pub12", "disconnected", False), ("GET", "POST", False)])
def test_two_different_tokens_are_two_values_in_one_place_when_both_are_values_after_the_same_key(
        template_token, token, other):
    assert other_value(template_token, token, mask_token_pattern(mask_names())) is other


@pytest.mark.parametrize("token, is_value", [
    ("<NUM>", True), ("(<NUM>),", True), ("<IP>:", True), ("<IP>:<NUM>", True), ("blk_<NUM>", True),
    ("ORD-<NUM>", True), ("sshd[<NUM>]:", True), ("task_<NUM>_m_<NUM>", True),
    ("uid=<NUM>", False), ("port:<NUM>", False), ('name="<STR>"', False), ("log.level=<NUM>", False), ("höhe=<NUM>", False),
    ("word", False), ("<notamask>", False)])
def test_a_masked_token_is_a_value_unless_a_key_names_it(token, is_value):
    assert is_masked_value(token, mask_token_pattern(mask_names())) is is_value


def test_messages_made_only_of_masked_values_are_one_template_not_one_per_line():
    source = miner()
    ids = feed(source, [f'"order {i}" "paid" {i * 7} 0x{i:04x} 10.0.0.{i}' for i in range(1, 60)])
    assert len(set(ids)) == 1  # before: no constant word to compare, so every line opened a template
    assert source.snapshot()[0][ids[0]].text == "<STR> <STR> <NUM> <HEX> <IP>"


def test_a_field_holding_decimal_and_hex_looking_ids_is_one_template_also_after_a_restore():
    lines = [f"INFO window state vis={v} old={o} new={n} changed" for v, o, n in
             [("40000500", "508", "40000500"), ("508", "4000050a", "508"), ("40000500", "4000050b", "1f00a1")]]
    source = miner()
    ids = feed(source, lines[:2])
    restored = miner(state=source.state())
    again = feed(restored, lines)
    assert len(set(ids)) == 1 and set(again) == set(ids)
    assert restored.snapshot()[0][ids[0]].text == "window state vis=<NUM> old=<NUM> new=<NUM> changed"


def test_a_value_that_varies_after_the_same_key_keeps_its_key_in_the_template_also_after_a_restore():
    lines = [f"INFO authentication failure; logname= uid=0 tty=ssh ruser= rhost={host} user={user}"
             for host, user in [("10.0.0.1", "root"), ("10.0.0.2", "guest"), ("", "test"), ("db.example.org", "ann")]]
    lines.append("INFO connection of pool main closed by peer tty=ssh cause=reset")  # another key there: not a value
    lines.append("INFO lookup of com.shop.Cart:41 failed")
    lines.append("INFO lookup of com.shop.Cart:97 failed")  # a caller's line number: `com.shop.Cart:<NUM>` already
    lines.append("INFO lookup of std::vector failed")
    lines.append("INFO lookup of std::map failed")  # `::` is no key: `<*>`, not `std:<*>`
    source = miner()
    ids = feed(source, lines)
    assert ids[:4] == [ids[0]] * 4
    text = source.snapshot()[0][ids[0]].text
    assert text == "authentication failure; logname= uid=<NUM> tty=ssh ruser= rhost=<*> user=<*>"  # before: <*> <*>
    assert source.snapshot()[0][ids[7]].text == "lookup of <*> failed"
    restored = miner(state=source.state())
    again = feed(restored, ["INFO authentication failure; logname= uid=0 tty=ssh ruser= rhost=10.0.0.9 user=bob"])
    assert again == [ids[0]] and restored.snapshot()[0][ids[0]].text == text


def test_messages_that_differ_only_by_a_boolean_are_two_templates_whose_other_values_still_vary():
    lines = [f"INFO probe of cache node {i} healthy={state} after {i * 3} checks in pool main"
             for i, state in enumerate(["true", "true", "false", "false", "true"])]
    lines.append("INFO layout pass 7 done changed=false, focus lost true")  # two booleans: a state of its own
    source = miner()
    ids = feed(source, lines)
    restored = miner(state=source.state())
    again = feed(restored, lines)
    assert ids[0] == ids[1] == ids[4] != ids[2] == ids[3] != ids[5]
    assert again == ids  # the rule holds for a restored miner too
    templates = source.snapshot()[0]
    assert templates[ids[0]].text == "probe of cache node <NUM> healthy=true after <NUM> checks in pool main"
    assert templates[ids[2]].text == "probe of cache node <NUM> healthy=false after <NUM> checks in pool main"


def test_messages_that_differ_only_by_an_upper_case_state_are_two_templates_and_a_mask_is_not_a_state():
    lines = [f"INFO task {i} of job 77 moved from {old} to {new} after {i} tries"
             for i, (old, new) in enumerate([("NEW", "SCHEDULED"), ("NEW", "SCHEDULED"), ("SCHEDULED", "RUNNING"),
                                             ("RUNNING", "FAIL_CLEANUP"), ("SCHEDULED", "RUNNING")])]
    lines += ["INFO window vis=40000500 changed in pool main by user",
              "INFO window vis=4000050a changed in pool main by user"]  # <NUM> and <HEX>: values, not states
    ids = feed(miner(), lines)
    assert ids[0] == ids[1] != ids[2] == ids[4] != ids[3] and ids[3] != ids[0]
    assert ids[5] == ids[6]


def test_upper_case_words_that_are_values_an_open_set_leave_at_most_max_states_templates_not_one_per_value():
    from exporter.logs.similarity import MAX_STATES

    rng = random.Random(5)
    tickers = ["".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) for _ in range(150)]
    lines = [f"INFO order {i} filled {ticker} qty {i % 90} at market" for i, ticker in enumerate(tickers)]
    source = miner(max_templates=500)
    ids = feed(source, lines)
    assert len(set(ids)) <= MAX_STATES + 1  # before the bound: one template per ticker
    assert len(set(ids[-100:])) == 1 and source.snapshot()[0][ids[-1]].text == "order <NUM> filled <*> qty <NUM> at market"


def test_a_message_that_begins_with_a_program_or_host_name_is_one_template_from_the_second_name_on():
    programs = ["chrome.exe", "svchost.exe", "firefox.exe", "Dropbox.exe", "outlook.exe"]
    lines = [f"{program} - www.example.org:443 open through proxy proxy.example.org:5070 HTTPS" for program in programs]
    lines += [f"{host} is unreachable from the load balancer, marked down" for host in ("db.example.org", "cache.example.org")]
    lines += ["Accepted password for root from 10.0.0.1 port 22 ssh2", "Failed password for root from 10.0.0.1 port 22 ssh2"]
    source = miner()
    ids = feed(source, lines)
    assert len(set(ids[:5])) == 1
    assert source.snapshot()[0][ids[0]].text == "<*> - www.example.org:<NUM> open through proxy proxy.example.org:<NUM> HTTPS"
    assert ids[5] == ids[6] and ids[5] != ids[0]
    assert ids[7] != ids[8]  # a first word that is a plain word still keeps events apart, as in Drain


def test_a_one_host_log_keeps_apart_messages_that_differ_in_their_first_word():
    # the host name on every line, left in the messages, would be the first token of all of them, where Drain's
    # tree keeps "Failed password ..." and "Accepted password ..." apart (9 of 10 tokens equal: one template)
    rng = random.Random(5)
    lines = [f"2026-03-03 04:02:{i % 60:02d} INFO bastion {rng.choice(['Failed', 'Accepted'])} password for "
             f"{rng.choice(['root', 'alice', 'bob'])} from 10.0.{i % 9}.{i} port {40000 + i} ssh2" for i in range(300)]
    lines += [f"2026-03-03 04:03:{i % 60:02d} INFO bastion Connection closed by 10.0.0.{i} port {50000 + i}"
              for i in range(20)]
    source = miner()
    ids = feed(source, lines)
    words = [line.split()[4] for line in lines]
    assert source.format_name == "log4j>word=bastion:1"
    assert len({i for i, w in zip(ids, words) if w == "Failed"}) == 1
    assert {i for i, w in zip(ids, words) if w == "Failed"}.isdisjoint({i for i, w in zip(ids, words) if w != "Failed"})
    assert len(set(ids)) == 3


def test_a_word_on_every_line_before_a_named_parameter_stays_so_the_statement_is_one_template():
    rng = random.Random(3)
    names = ["nginx", "redis", "postgres", "worker", "billing", "gateway", "cron", "mailer", "search", "auth"]
    lines = [f"2026-03-03 04:02:{i % 60:02d} INFO Service {rng.choice(names)} started after {rng.randint(1, 90)} ms"
             for i in range(300)]
    source = miner()
    ids = feed(source, lines)
    assert source.format_name == "log4j"
    assert len(set(ids)) == 1  # with `Service` cut as a header column: one template per service name
    assert source.snapshot()[0][ids[0]].text == "Service <*> started after <NUM> ms"


def test_a_plain_first_word_of_an_open_set_of_names_is_a_value_once_many_names_lead_to_the_same_statement():
    rng = random.Random(11)
    users = ["".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(6)) for _ in range(60)]
    lines = []
    for i, user in enumerate(users):
        lines += [f"INFO {user} logged in from 10.0.{i}.{i + 1}", f"INFO {user} changed the password now",
                  f"INFO Accepted password for {user} from 10.0.0.{i} port 22 ssh2",
                  f"INFO Failed password for {user} from 10.0.0.{i} port 22 ssh2"]
    source = miner(max_templates=200)
    ids = feed(source, lines)
    logged_in = ids[0::4]
    assert len(set(logged_in[:MAX_STATES])) == MAX_STATES  # each of the first names leads a branch of its own
    assert len(set(logged_in[MAX_STATES:])) == 1  # then the name is a value: one template under <*>
    assert source.snapshot()[0][logged_in[-1]].text == "<*> logged in from <IP>"
    assert len(set(ids[2::4])) == len(set(ids[3::4])) == 1 and ids[2] != ids[3]  # plain words that are the statement's
    restored = miner(max_templates=200, state=source.state())
    assert feed(restored, ["INFO zzzzzz logged in from 10.9.9.9"]) == [logged_in[-1]]


def test_a_first_word_that_held_a_number_is_a_value_after_masking_too():
    # task_1445_0020_m_000000 masks to task_<NUM>_<NUM>_m_<NUM>: no digit is left, but it is still an id, and the
    # statement is one template whichever kinds of task (m, r) its first field names
    rng = random.Random(7)
    lines = [f"task_1445144423722_{rng.randint(1, 40):04d}_{rng.choice('mr')}_{rng.randint(0, 99):06d} Task "
             f"Transitioned from {rng.choice(['NEW to SCHEDULED', 'SCHEDULED to RUNNING'])}" for _ in range(200)]
    source = miner()
    ids = feed(source, lines)
    by_states = {}
    for line, template_id in zip(lines, ids):
        by_states.setdefault(line.split("from ")[1], set()).add(template_id)
    assert [len(found) for found in by_states.values()] == [1, 1]  # before: one template per kind of task
    assert len(set(ids)) == 2
    assert {source.snapshot()[0][i].text for i in ids} == {
        "<*> Task Transitioned from NEW to SCHEDULED", "<*> Task Transitioned from SCHEDULED to RUNNING"}


def test_a_statement_whose_first_field_is_a_host_name_or_an_address_is_one_template():
    peers = ["10.0.3.7:5432", "db.example.org:5432", "[2001:db8::2]:9094", "cache.example.org:6379", "10.0.3.9:6379"]
    lines = [f"{peer} close, {i * 100} bytes sent, {i * 7} bytes received, lifetime 00:0{i}" for i, peer in enumerate(peers)]
    lines += [f"{peer} connection reset by peer" for peer in peers]
    source = miner()
    ids = feed(source, lines)
    assert len(set(ids[:5])) == 1 and len(set(ids[5:])) == 1  # before: one template for names, one for addresses
    assert ids[0] != ids[5]
    assert source.snapshot()[0][ids[5]].text == "<*> connection reset by peer"


def test_an_equal_value_word_is_no_evidence_so_events_of_one_package_stay_apart_and_packages_group():
    rng = random.Random(3)
    states = ["half-installed", "unpacked", "half-configured", "installed"]
    lines = []
    for i in range(40):  # a package manager's log: every package goes through the states in a row
        package, version = f"lib{rng.choice(['ssl', 'xml', 'curl', 'z'])}{i}:amd64", f"{i % 7}.{i % 3}-{i % 5}+deb12u{i}"
        lines += [f"status {state} {package} {version}" for state in states]
    source = miner()
    ids = feed(source, lines)
    templates = source.snapshot()[0]
    assert len(set(ids)) == len(states)
    assert sorted(templates[i].text for i in set(ids)) == sorted(f"status {state} <*> <*>" for state in states)


@pytest.mark.parametrize("template_token, token, other", [
    ("isOverlap:false", "isOverlap:true", True), ("true", "false", True), ("null?True", "null?False", True),
    ("enabled=true", "enabled=<NUM>", False), ("x=true", "y=false", False), ("truest", "falsest", False),
    ("is_true", "is_false", False), ("true", "true", False),
    ("NEW", "UNASSIGNED", True), ("state=RUNNING", "state=FAILED", True), ("ACTION_DOWN", "ACTION_UP", True),
    ("GET", "POST", True), ("<NUM>", "<HEX>", False), ("US", "DE", False), ("KB123", "KB456", False),
    ("Foo", "Bar", False), ("RUNNING", "running", False)])
def test_only_tokens_that_differ_in_their_state_words_alone_are_other_states(template_token, token, other):
    assert other_state(template_token, token) is other


def test_a_repeated_message_is_masked_once_and_the_cache_of_masked_messages_stays_bounded(monkeypatch):
    import exporter.logs.mining as mining

    monkeypatch.setattr(mining, "MASKED_CACHE_SIZE", 8)
    source = miner()
    masked = []
    real_mask = source.miner.masker.mask
    monkeypatch.setattr(source.miner.masker, "mask", lambda text: masked.append(text) or real_mask(text))
    repeated = [f"2026-12-02 10:00:{i % 60:02d},000 INFO [main] org.shop.Cart - cart 42 checked out in 5ms"
                for i in range(20)]
    ids = feed(source, repeated)
    assert len(set(ids)) == 1 and masked == ["cart 42 checked out in 5ms"]
    assert source.snapshot()[0][ids[0]].text == "cart <NUM> checked out in <DURATION>"
    feed(source, [f"2026-12-02 10:01:00,000 INFO [main] org.shop.Cart - cart {i} emptied by user {i}"
                  for i in range(30)])
    assert len(source.masked_cache) <= 8 and len(masked) == 31
    long_message = "cart checked out with items " + " ".join(f"sku-{i}" for i in range(200))
    feed(source, [f"2026-12-02 10:02:00,000 INFO [main] org.shop.Cart - {long_message}"] * 2)
    assert len(masked) == 33 and long_message not in source.masked_cache  # long messages are not kept


def test_a_message_seen_before_joins_the_template_drains_search_gives_it_without_searching_again(monkeypatch):
    import random

    import exporter.logs.mining as mining

    monkeypatch.setattr(mining, "MASKED_CACHE_SIZE", 64)  # fewer than the 80 messages: emptied, and searched again
    rng = random.Random(7)
    shapes = ["cart {n} checked out by user {u}", "cart {n} emptied by user {u}", "payment {n} failed for user {u}",
              "payment {n} failed: card {u} declined", "user {u} logged in from host-{n}", "user {u} logged out",
              "job {u} finished in {n} ms on worker {n}", "job {u} failed on worker {n} after {n} retries"]
    users = ["ann", "bob", "cy", "dee", "eve", "fox", "gil", "hal", "ivy", "jo"]
    lines = ["2026-12-02 10:00:00,000 INFO [main] org.shop.App - "
             + rng.choice(shapes).format(n=rng.choice([1, 2, 3, rng.randint(4, 999)]), u=rng.choice(users))
             for _ in range(3000)]
    with_repeats = miner()
    searched = []
    real_add = with_repeats.miner.drain.add_log_message
    monkeypatch.setattr(with_repeats.miner.drain, "add_log_message", lambda text: searched.append(text) or real_add(text))
    ids = feed(with_repeats, lines)
    every_time = miner()
    monkeypatch.setattr(every_time, "_joined_before", lambda masked: None)  # Drain searches every message
    assert feed(every_time, lines) == ids
    assert {i: t.text for i, t in with_repeats.snapshot()[0].items()} == {
        i: t.text for i, t in every_time.snapshot()[0].items()}
    assert len(searched) < len(lines) / 2  # most records were repeats of a recent masked message
    assert len(with_repeats.joined) <= 64
    searched_before = len(searched)
    feed(with_repeats, ["2026-12-02 10:00:00,000 INFO [main] org.shop.App - cart " + " ".join(["x"] * 600)] * 3)
    assert len(searched) - searched_before == 3  # a long message is not remembered: it is searched every time
    assert all(len(masked) <= mining.MASKED_CACHE_MAX_LENGTH for masked in with_repeats.joined)


def test_the_saved_state_is_drain3s_own_so_any_drain3_restores_it_and_mining_stays_mask_aware():
    from drain3 import TemplateMiner
    from drain3.drain import Drain
    from drain3.template_miner_config import TemplateMinerConfig

    from exporter.logs.mining import _Blob
    from exporter.logs.similarity import MaskAwareDrain

    source = miner()
    feed(source, ["INFO Closed link to 10.0.0.1: 11: peer says goodbye now"])
    state = source.state()
    config = TemplateMinerConfig()
    config.snapshot_compress_state = True
    plain = TemplateMiner(_Blob(state["drain"].encode("latin-1")), config)
    assert type(plain.drain) is Drain and len(plain.drain.clusters) == 1
    assert type(source.miner.drain) is MaskAwareDrain
    assert type(miner(state=state).miner.drain) is MaskAwareDrain


def test_templates_beyond_the_cap_are_counted_as_other_and_the_first_refused_is_logged_once(caplog):
    source = miner(max_templates=2)
    with caplog.at_level("WARNING", logger="exporter.logs.mining"):
        ids = feed(source, ["INFO user login ok", "WARN disk almost full on volume", "ERROR payment declined by bank",
                            "ERROR payment declined by bank", "INFO cache warmed up in pool main"])
    templates, counts, _ = source.snapshot()
    assert len(templates) == 2
    assert ids[2:] == [OTHER, OTHER, OTHER] and counts[(OTHER, "error")] == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "source tomcat holds max_templates (2)" in warnings[0] and "payment declined by bank" in warnings[0]


def test_the_default_cap_keeps_six_hundred_kinds_of_message_apart_as_a_glob_over_several_programs_holds():

    rng = random.Random(7)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pu", "da", "fe"]
    vocabulary = sorted({"".join(rng.choice(syllables) for _ in range(3)) for _ in range(5000)})
    statements = [rng.sample(vocabulary, 5) for _ in range(600)]  # five plain words each: no two alike
    lines = [f"{' '.join(words)} after {n} ms" for words in statements for n in (3, 40)]
    result = mine_lines(lines, None, "none")
    assert OTHER not in result.template_ids
    assert len(result.templates) == 600


def test_distinct_short_messages_past_the_cap_are_other_and_not_remembered_so_memory_and_state_stay_bounded():
    source = miner(max_templates=3)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    ids = feed(source, [f"INFO deleted {a}-{b}" for a in words for b in words])  # 64 short messages, no digits
    assert ids[:3] == ["s1", "s2", "s3"] and set(ids[3:]) == {OTHER}
    assert len(source.short) == 3 and len(source.state()["short"]) == 3
    assert len(source.snapshot()[0]) == 3 and OTHER not in source.snapshot()[0]


def test_a_record_is_cut_at_max_record_lines_and_said_once_so_a_continuation_that_matches_everything_is_bounded(
        monkeypatch, caplog):
    import exporter.logs.mining as mining

    monkeypatch.setattr(mining, "MAX_RECORD_LINES", 5)
    assembler = RecordAssembler(DEFAULT_CONTINUATION, DEFAULT_LEVEL, name="app")
    with caplog.at_level("WARNING", logger="exporter.logs.mining"):
        records = [r for r in map(assembler.feed, ["ERROR boom"] + [f"  line {i}" for i in range(12)]) if r]
    records.append(assembler.flush())
    assert [len(r) for r in records] == [5, 5, 3] and records[1][0] == "  line 4"
    assert [r.getMessage() for r in caplog.records] == [
        "logs: source app: a record reached 5 lines and is cut there (the next line starts a record): does the "
        "source's continuation pattern match every line?"]


def test_the_state_restores_templates_ids_and_first_seen_so_the_same_lines_match_again():
    source = miner()
    ids = feed(source, tomcat_text(200, trace_every=10), now=500.0)
    restored = miner(state=source.state())
    again = feed(restored, tomcat_text(200, trace_every=10, seed=2), now=900.0)
    assert set(again) <= set(ids)
    templates = restored.snapshot()[0]
    assert all(t.first_seen == 500.0 for t in templates.values()) and restored.first_seen == 500.0


def test_config_errors_name_the_key():
    good = {"logs": {"sources": [{"name": "tomcat", "paths": ["/var/log/tomcat/*.log"], "labels": {"service": "x"}}]}}
    assert parse_logs_config(good).sources[0].start_at == "end"
    cases = [
        ({"logs": {"sources": [{"name": "a"}]}}, "logs.sources[0]: set either paths"),
        ({"logs": {"sources": [{"name": "a", "stdin": True, "paths": ["x"]}]}}, "set either paths"),
        ({"logs": {"sources": [{"name": "a", "paths": ["x"], "continuation": "("}]}}, "logs.sources[0].continuation"),
        ({"logs": {"sources": [{"name": "a", "paths": ["x"], "labels": {"template": "t"}}]}}, "logs.sources[0].labels"),
        ({"logs": {"sources": [{"name": "a", "paths": ["x"]}], "max_templates": 0}}, "logs.max_templates"),
        ({"logs": {"sources": [{"name": "a", "paths": ["x"]}, {"name": "a", "paths": ["y"]}]}}, "logs.sources[1].name"),
        ({"queries": []}, "logs: a mapping"),
    ]
    for data, message in cases:
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_logs_config(data)


def lines_of(follower):
    """The lines a follower's poll read, without the paths they came from."""
    return [line for _, line in follower.poll()]


def append(path, *lines):
    with open(path, "a") as f:
        f.write("".join(line + "\n" for line in lines))


def test_the_follower_starts_at_the_end_and_reads_what_is_appended_a_partial_line_waits(tmp_path):
    log = tmp_path / "app.log"
    append(log, "old 1", "old 2")
    follower = FileFollower([str(tmp_path / "*.log")])
    assert lines_of(follower) == []
    append(log, "new 1")
    with open(log, "a") as f:
        f.write("half")
    assert lines_of(follower) == ["new 1"]
    append(log, " done")
    assert lines_of(follower) == ["half done"]


def test_a_glob_that_matches_no_file_is_said_once_in_the_log_and_a_file_that_appears_is_read(tmp_path, caplog):
    follower = FileFollower([str(tmp_path / "app-*.log")], start_at="end")
    with caplog.at_level("WARNING", logger="exporter.logs.follow"):
        assert lines_of(follower) == [] and lines_of(follower) == []
    assert [r.getMessage() for r in caplog.records] == [
        f"logs: no file matches {tmp_path / 'app-*.log'} (yet); looking again at every poll"]
    (tmp_path / "app-1.log").write_text("first line\n")
    assert lines_of(follower) == ["first line"]  # a file that appears later is read from its start


def test_rotation_by_rename_reads_the_old_file_to_its_end_then_the_new_one(tmp_path):
    log = tmp_path / "app.log"
    append(log, "a")
    follower = FileFollower([str(log)], start_at="beginning")
    assert lines_of(follower) == ["a"]
    append(log, "b")
    os.rename(log, tmp_path / "app.log.1")
    append(log, "c")
    assert lines_of(follower) == ["b", "c"]
    append(log, "d")
    assert lines_of(follower) == ["d"]


def test_copytruncate_is_read_again_from_the_start_and_a_new_file_matching_the_glob_is_read_whole(tmp_path):
    log = tmp_path / "app.log"
    append(log, "one", "two")
    follower = FileFollower([str(tmp_path / "*.log")], start_at="beginning")
    assert lines_of(follower) == ["one", "two"]
    with open(log, "w"):
        pass
    append(log, "x")
    assert lines_of(follower) == ["x"]
    append(tmp_path / "other.log", "first line of a new file")
    assert lines_of(follower) == ["first line of a new file"]


def test_the_nul_hole_a_writer_leaves_after_copytruncate_is_skipped_not_read_as_lines(tmp_path, caplog):
    log = tmp_path / "app.log"
    append(log, "one", "two")
    follower = FileFollower([str(log)], start_at="beginning", max_line=64)
    assert lines_of(follower) == ["one", "two"]
    with open(log, "w"):
        pass
    assert lines_of(follower) == []  # truncated: read from the start
    with open(log, "r+b") as handle:  # the writer kept its offset: a sparse hole of NULs before its next line
        handle.seek(1000)
        handle.write(b"three\n")
    with caplog.at_level("INFO", logger="exporter.logs.follow"):
        assert lines_of(follower) == ["three"]
    assert "skipped 1000 NUL bytes" in caplog.text


def test_saved_positions_resume_where_the_last_run_stopped(tmp_path):
    log = tmp_path / "app.log"
    append(log, "a", "b")
    first = FileFollower([str(log)], start_at="beginning")
    assert lines_of(first) == ["a", "b"]
    positions = first.positions()
    first.close()
    append(log, "c")
    assert lines_of(FileFollower([str(log)], positions=positions)) == ["c"]


def test_a_file_rotated_to_a_name_the_glob_also_matches_is_read_on_not_read_again(tmp_path):
    log = tmp_path / "app.log"
    append(log, "a", "b")
    follower = FileFollower([str(tmp_path / "app.log*")], start_at="beginning")
    assert lines_of(follower) == ["a", "b"]
    append(log, "c")
    log.rename(tmp_path / "app.log.1")
    append(log, "d")
    assert list(follower.poll()) == [(str(log), "c"), (str(log), "d")]  # the rotated file's lines keep its name
    append(tmp_path / "app.log.1", "e")  # a program that did not reopen its log writes on into the rotated file
    assert lines_of(follower) == ["e"] and sorted(follower.positions()) == [str(log), str(log) + ".1"]


def test_a_file_renamed_while_the_follower_was_down_is_read_on_from_its_saved_position(tmp_path):
    log = tmp_path / "app.log"
    append(log, "a", "b")
    first = FileFollower([str(tmp_path / "app.log*")], start_at="beginning")
    assert lines_of(first) == ["a", "b"]
    positions = first.positions()
    first.close()
    append(log, "c")
    log.rename(tmp_path / "app.log.1")
    append(log, "d")
    again = FileFollower([str(tmp_path / "app.log*")], positions=positions)  # start_at: end for files not saved
    assert sorted(again.poll()) == [(str(log), "c"), (str(log), "d")]
    assert again.origins() == {str(log)}  # both files' lines are the program's at app.log (one format, one origin)


def test_templates_are_ranked_by_rate_change_and_a_new_template_ranks_first():
    window = {("tomcat", "7", "error"): 120.0, ("tomcat", "2", "info"): 600.0, ("tomcat", "3", "info"): 2.0,
              ("tomcat", "4", "warning"): 40.0}
    baseline = {("tomcat", "2", "info"): 3000.0, ("tomcat", "4", "warning"): 20.0}
    texts = {("tomcat", "7"): "SEVERE threw exception", ("tomcat", "4"): "Connection is slow"}
    ranked = rank_templates(window, baseline, 1200.0, 3600.0, texts, limit=5, min_records=3)
    assert [c.template_id for c in ranked] == ["7", "4"]  # 2 is steady, 3 too rare
    assert ranked[0].new and ranked[0].template == "SEVERE threw exception"
    assert ranked[1].rate_before_per_minute == pytest.approx(20 / 60, abs=1e-3) and ranked[1].change > 5


def test_label_matcher_escapes_regex_and_string_syntax():
    assert label_matcher(["a.b", 'x"y', "a.b"]) == 'a\\\\.b|x\\"y'


def test_the_chat_message_and_the_summary_carry_the_top_log_evidence():
    from alertmanager_receiver.automation.config import ChatOpsConfig
    from alertmanager_receiver.notify.chat import incident_message
    from alertmanager_receiver.notify.summary import summarize

    change = rank_templates({("tomcat", "7", "error"): 120.0}, {}, 600.0, 3600.0,
                            {("tomcat", "7"): "<TS> SEVERE [<*>] threw exception"})[0]
    detail = {"id": 3, "status": "open", "title": "orders errors", "priority": "P2", "services": ["orders"],
              "opened_at": 1000.0, "alerts": [{"status": "firing", "starts_at": 1000.0,
                                               "labels": {"alertname": "OrdersErrors", "service": "orders"}}],
              "root_cause_candidates": [], "log_evidence": {"templates": [change.as_dict()]}}
    summary = summarize(detail)
    assert 'Logs: tomcat shows a new log line (error, 12.0/min): "<TS> SEVERE [<*>] threw exception".' in summary
    message = incident_message(detail, summary, ChatOpsConfig(), 1060.0)
    evidence = [b for b in message["blocks"] if "Log evidence" in b.get("text", {}).get("text", "")]
    assert evidence and "threw exception" in evidence[0]["text"]["text"]


def test_the_jvms_thread_dump_is_one_record_and_a_deadlock_it_found_an_error_record():
    # Real: OpenJDK 17's output on SIGQUIT (kill -3) while two threads deadlocked, between java.util.logging's lines
    lines = (Path(__file__).parent / "data" / "jvm-thread-dump-deadlock.log").read_text().splitlines()
    result = mine_lines(lines)
    dump = next(n for n, line in enumerate(lines) if line.startswith("Full thread dump "))
    deadlock = next(n for n, line in enumerate(lines) if line.startswith("Found one Java-level deadlock:"))
    after = next(n for n in range(deadlock, len(lines)) if lines[n][:1].isdigit())
    ids = result.template_ids
    assert len(set(ids[dump:deadlock])) == 1 and len(set(ids[deadlock:after])) == 1 and ids[dump] != ids[deadlock]
    assert ids[after] == ids[dump - 2]  # the service's own lines after it, as before it
    levels = {result.templates[template_id].text: level for template_id, level in result.counts}
    assert levels["Found one Java-level deadlock:"] == "error"  # before: 17 templates for the dump, all unknown
    assert result.format == "log4j"  # before: the dump's lines outnumbered the service's, and the file was mined whole


def test_gos_report_of_a_signal_with_its_goroutines_and_registers_is_one_critical_record():
    # Real: Prometheus 2.42 (Go 1.19) on standard error, sent SIGQUIT 4 s after it started: its logfmt lines, then
    # `SIGQUIT: quit`, `PC=...`, 30 goroutines' stacks and the registers a line each
    lines = (Path(__file__).parent / "data" / "prometheus-sigquit.log").read_text().splitlines()
    result = mine_lines(lines)
    start = lines.index("SIGQUIT: quit")
    assert len(set(result.template_ids[start:])) == 1  # before: the registers a template each, `rax <HEX>`, ...
    levels = {result.templates[template_id].text: level for template_id, level in result.counts}
    assert levels["SIGQUIT: quit"] == "critical"
    assert result.format == "logfmt"  # before: `none` (the dump outnumbered the server's lines), every level unknown
    assert set(levels.values()) == {"info", "critical"}


def test_a_program_that_names_a_signal_it_handled_is_no_crash():
    lines = ["SIGHUP: reloading configuration", "SIGQUIT: quitting after the current job", "SIGQUIT: quit now"]
    assert "critical" not in [level for _, level in mine_lines(lines).counts]


def test_a_traceback_that_apache_writes_a_header_a_line_is_one_error_record_named_by_its_exception():
    # Real: Apache 2.4.71's error log at LogLevel info, mod_wsgi 4.9 running a script that raised (a plain exception,
    # a chained one) on two requests each: every line of each traceback is a message after its own header
    lines = (Path(__file__).parent / "data" / "apache-mod-wsgi-error.log").read_text().splitlines()
    result = mine_lines(lines)
    starts = [n for n, line in enumerate(lines) if line.endswith("Traceback (most recent call last):")]
    assert len(starts) == 6  # the chained ones have two
    levels = {result.templates[template_id].text: level for template_id, level in result.counts}
    assert levels["ValueError: bad order <NUM>"] == levels["RuntimeError: lookup failed for order <NUM>"] == "error"
    for start in starts:
        end = next(n for n in range(start, len(lines)) if "Error: " in lines[n] and "KeyError" not in lines[n])
        assert len(set(result.template_ids[start:end + 1])) == 1  # before: a record a line, 4 to 5 templates
    assert not any("[remote" in text or "File <STR>" in text for text in levels)  # Apache's [remote a:p] is its header's


@pytest.mark.parametrize("wrap", [lambda line: line, lambda line: f"2026-12-08T01:25:35.036000000Z stderr F {line}"])
def test_pythons_report_of_a_log_record_it_could_not_write_is_one_error_record_named_by_its_exception(wrap):
    # Real: Python 3.11's logging module on two calls whose arguments do not fit their format strings (as a file, and
    # as a pod's log through the container runtime)
    lines = [wrap(line) for line in
             (Path(__file__).parent / "data" / "python-logging-error.log").read_text().splitlines()]
    result = mine_lines(lines)
    levels = {result.templates[template_id].text: level for template_id, level in result.counts}
    assert levels["TypeError: not enough arguments for format string"] == "error"
    assert not any(text.startswith(("---", "Call stack", "Message:", "Arguments:")) for text in levels)  # were records
    start = next(n for n, line in enumerate(lines) if line.endswith("--- Logging error ---"))
    end = next(n for n, line in enumerate(lines) if line.endswith("Arguments: (7,)"))
    assert len(set(result.template_ids[start:end + 1])) == 1 and result.template_ids[end + 1] != result.template_ids[end]
