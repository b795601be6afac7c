"""Log records -> message templates (Drain3) -> counts per (template, level). No I/O but the state blob.

Terminal colour codes are removed from every line first. A record is a first line plus its
continuation lines (a stack trace, a Go panic, a logged exception's traceback; the pieces of a line
the container runtime split stay one record). The first line (for a bare Python traceback, its
exception line) is cut by its origin's line format (formats.py, origins.py: each file of a glob
has its own) into a header and the message (a header alone on its line takes the next line as the
message); a record with no level word that is a crash report is an error (a panic: critical). Only
the message is mined, after masking timestamps, addresses, paths, ids, values with units and numbers
(masking.py); a masked token counts as a parameter, not as an equal word, when a message is compared
with a template (similarity.py). With no format configured, each origin's format is detected from
its first records, which wait until then. A message shorter than Drain's tree depth is grouped with
identical (masked) messages, and with those that differ from it in a place found to hold values
(short.py). Each source keeps at most `max_templates`
templates; records of further templates are counted under `template_id="other"`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from drain3 import TemplateMiner
from drain3.drain import LogCluster
from drain3.masking import MaskingInstruction
from drain3.persistence_handler import PersistenceHandler
from drain3.template_miner_config import TemplateMinerConfig

from .detection import FormatWatch, reads_no_header
from .formats import (
    COMMON_LEVEL_WORDS,
    CUT_HERE,
    ERROR_LEVELS,
    LEVEL,
    LEVEL_WORDS,
    MONTH_STARTS,
    LineFormat,
    begins_with_stamp,
    is_header_alone,
    is_section_heading,
    level_name,
    resolve,
    runtime_payload,
    syslog_parts,
    syslog_sender_end,
    takes_more,
)
from .kernel import continues_kernel_report, kernel_fault
from .masking import BuiltinMasking, mask_names
from .origins import STDIN, OriginFormat, configured, describe, restored
from .short import ShortMessages
from .similarity import is_value_token, make_mask_aware, saved_as_plain_drain

log = logging.getLogger(__name__)

OTHER = "other"
SHORT_PREFIX = "s"  # template ids of short messages (Drain's own ids are numbers)
MASKED_CACHE_SIZE = 2048  # recent distinct messages whose masked text is kept (emptied when full)
MAX_OPEN_LINES = 1000  # lines a quoted field (CSV) may run over before the next line that opens a record is one
MAX_ERROR_LINES = 200  # lines an error's record may hold with those without a header it takes (a layout that changed after an
# error has its first lines taken for the error's message at most this long)
MASKED_CACHE_MAX_LENGTH = 512  # longer messages are masked every time (bounds the cache at ~2 MB a source)
MAX_SECTION_LINES = 1000  # lines a section of a report (formats.is_section_heading) may hold: Redis's INFO output is ~250
MAX_RECORD_LINES = 10_000  # lines a record may hold (a JVM prints at most 1,024 frames a trace); the next starts one

TRACEBACK = "Traceback (most recent call last):"
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
# A record that is a crash report has no level word of its own; it is an error (a panic, critical). Besides Python's
# traceback, Java's uncaught exception, a bare exception line and Node.js's rejection: .NET's report of an unhandled
# exception (`Unhandled exception. System.InvalidOperationException: ...`, `Unhandled Exception:` before .NET Core 3),
# and Ruby's (`/app/pay.rb:6:in 'pay': bad amount 5 (ArgumentError)`, its frames after it as `\tfrom ...`)
_CRASH = re.compile(r"Traceback \(most recent call last\):|Exception in thread |[a-zA-Z_$][\w$]*(\.[\w$]+)*"
                    r"(Exception|Error)\b|\[?[A-Za-z_$]\w*PromiseRejection\b"  # Node.js's, see _JS_CRASH_LOCATION
                    r"|Unhandled [Ee]xception[.:] |[^\s:]+:\d+:in [`'][^`']*': .* \([A-Z][\w:]*\)$"
                    r"|Found (?:one|\d+) Java-level deadlocks?:")  # the JVM's thread dump found one (_DEADLOCK_START)
# Critical (the program ends): a Go or Rust panic, Go's fatal error, Go's report of a signal (_GO_SIGNAL_START), Ruby's
# report of a bug in the interpreter, its crash (`app.rb:5: [BUG] Segmentation fault at 0x0000000000004499`)
_GO_SIGNAL = (r"SIG(?:QUIT: quit|ABRT: abort|SEGV: segmentation violation|BUS: bus error|FPE: floating-point exception"
              r"|ILL: illegal instruction|TRAP: trace trap|SYS: bad system call|STKFLT: stack fault)$")  # runtime/sigtab
_PANIC = r"panic: |fatal error: |thread '[^']*' panicked at |[^\s:]+:\d+: \[BUG\] |" + _GO_SIGNAL
# the JVM's crash banner (hs_err's summary on stdout) and its exit on running out of heap under -XX:+ExitOnOutOfMemoryError
# or -XX:+CrashOnOutOfMemoryError (`Terminating due to java.lang.OutOfMemoryError: Java heap space`, `Aborting due to ...`)
_JVM_FATAL = (r"#\s*A fatal error has been detected by the Java Runtime Environment"
              r"|(?:Terminating|Aborting) due to java\.lang\.OutOfMemoryError")
# what the C++ runtime and glibc write before they abort a program: an uncaught C++ exception (`terminate called after
# throwing an instance of 'std::runtime_error'`, its `  what():  ...` after it), heap corruption (`free(): double free
# detected in tcache 2`, `double free or corruption (out)`, `munmap_chunk(): invalid pointer`), a smashed stack or
# another of its fortify checks (`*** stack smashing detected ***: terminated`, `*** buffer overflow detected ***:
# terminated`), a failed assert() (`worker: src/queue.c:42: pop: Assertion `n > 0' failed.`)
_NATIVE_ABORT = (r"terminate called (?:after throwing an instance of |without an active exception)"
                 r"|(?:free|malloc|realloc|calloc|munmap_chunk|malloc_consolidate)\(\): \w|double free or corruption"
                 r"|\*\*\* stack smashing detected \*\*\*|\*\*\* [\w ]+ detected \*\*\*: terminated$"
                 r"|[^\s:]+: [^\s:]+:\d+: [^:]+: Assertion `.*' failed\.$")
# a shell's report that a program it ran was killed by a signal, as an entrypoint script's shell writes it into a
# container's log (bash: `/entrypoint.sh: line 3:  6560 Killed                  java -jar app.jar`, as after the OOM
# killer's SIGKILL; dash and an interactive bash: `Killed`, `Segmentation fault (core dumped)` alone on the line); a stop
# (`Terminated`) is not one
_KILLED = "(?:Killed|Segmentation fault|Aborted|Bus error|Illegal instruction|Floating point exception)"
_SHELL_KILLED = r"\S+: line \d+: +\d+ " + _KILLED + r"(?: +\(core dumped\))? +\S|" + _KILLED + r"(?: \(core dumped\))?$"
_FATAL = re.compile("|".join((_PANIC, _JVM_FATAL, _NATIVE_ABORT, _SHELL_KILLED)))
# A comment line: `#` alone or before a space. A block of them is one record (the JVM's crash banner: `#`, `# A fatal
# error has been detected ...:`, `#  SIGSEGV (0xb) at pc=...`, ...), mined by its first line with text
_COMMENT_LINE = re.compile(r"#(?:[ \t]|$)")
# Node.js reports an uncaught exception as where it was thrown (`/app/server.js:10`, `node:internal/...:288`), that
# source line (not indented), a caret under it, a blank line, the error (`TypeError: ...`, `Error: ...`,
# `[UnhandledPromiseRejection: ...]`), its indented frames, a blank line and `Node.js v20.11.1`: one record, mined by
# its error line, whose level is error
_JS_CRASH_LOCATION = re.compile(r"(?:node:[\w/.-]+|(?:file://)?(?:[A-Za-z]:)?[^\s:]+\.(?:[cm]?js|[cm]?ts|jsx|tsx)):\d+$")
_JS_ERROR_LINE = re.compile(r"\[?(?:[A-Za-z_$][\w$.]*)?(?:Error|Exception|Rejection)\b")
_JS_CRASH_PART = re.compile(r"\s|$|\}$|Node\.js v\d|" + _JS_ERROR_LINE.pattern)
# V8's report of a fatal error, as Node.js writes it when its heap runs out: `<--- Last few GCs --->`, the last
# collections (`[7794:0x24455e20]  69 ms: Mark-Compact ...`), `<--- JS stacktrace --->`, `FATAL ERROR: Reached heap
# limit Allocation failed - JavaScript heap out of memory`, `----- Native stack trace -----` and its numbered frames
# (` 1: 0xb78db3 node::OOMErrorHandler(...) [node]`, `10: 0x...`; older releases: `==== JS stack trace ====`,
# `Security context: ...`, `    0: ExitFrame [pc: ...]`): one record from its first line, mined by its FATAL ERROR line
_V8_REPORT_START = re.compile(r"<--- Last few GCs --->|FATAL ERROR: ")
_V8_REPORT_PART = re.compile(r"\s*$|\s*\d+: |\[\d+:0x[0-9a-fA-F]+\] |<--- .* --->|={3,} .* ={3,}|-{3,} .* -{3,}|FATAL ERROR: "
                             r"|Security context: ")
# Python's report of a fatal error (a crash in C code, with faulthandler on: `Fatal Python error: Segmentation fault`,
# then, after blank lines, each thread's `Thread 0x... (most recent call first):` or `Current thread 0x... ...:` with its
# indented frames, `Extension modules: ... (total: 2)`, `Python runtime state: ...`): one record, mined by its first line
_PYTHON_FATAL_START = re.compile(r"Fatal Python error: ")
_PYTHON_FATAL_PART = re.compile(r"\s|$|(?:Current thread|Thread) 0x[0-9a-fA-F]+ |Extension modules: |Python runtime state: ")
# The JVM's thread dump (SIGQUIT, `kill -3`: on its standard output, a service's log such as catalina.out): `Full thread
# dump OpenJDK 64-Bit Server VM (...):`, `Threads class SMR info:` and its list of addresses, each thread's `"main" #1
# prio=5 ...` line with its indented state and frames, blank lines between them, `JNI global refs: ...`, `Heap` and its
# indented lines: one record, mined by its first line. A deadlock it found (`Found one Java-level deadlock:`, a rule of
# `=`, each thread's `"payments":` and what it waits for, `Java stack information for the threads listed above:`, their
# frames, `Found 1 deadlock.`, then `Heap`) is a record of its own, an error (_CRASH)
_THREAD_DUMP_START = re.compile(r"Full thread dump ")
_THREAD_DUMP_PART = re.compile(r"\s|$|\"|Threads class SMR info:|_java_thread_list=|0x[0-9a-f]+|\}$|JNI global refs|Heap$")
_DEADLOCK_START = re.compile(r"Found (?:one|\d+) Java-level deadlocks?:")
_DEADLOCK_PART = re.compile(r"\s|$|\"|=+$|Java stack information for the threads listed above:|Found \d+ deadlocks?\.|Heap$")
# Go's runtime on a signal that ends the program (SIGQUIT, `kill -QUIT`; SIGABRT; SIGSEGV in C code): `SIGQUIT: quit`,
# `PC=0x472441 m=0 sigcode=0`, every goroutine's stack (`goroutine 1 [select]:` or Go 1.23's `goroutine 1 gp=0x... m=nil
# [select]:`, each call and its tab-indented file line, `created by ...`), then the registers a line each (`rax    0x0`,
# `rflags 0x286`; arm64's `r0      0x0`, `lr`, `pc`, `fault`): one critical record, mined by its first line
_GO_SIGNAL_START = re.compile(_GO_SIGNAL)
_GO_SIGNAL_PART = re.compile(r"\s|$|PC=0x[0-9a-f]+ m=\d+ sigcode=|signal arrived during |goroutine \d+ |created by "
                             r"|[\w/.*()\[\]{}-]+\(.*\)$|[a-z][a-z0-9]{0,6} +0x[0-9a-f]+$|\.\.\.additional frames elided")
# Python's logging module on a record it could not write (Handler.handleError, on standard error: a log call whose
# arguments do not fit its format string): `--- Logging error ---`, the traceback, `Call stack:` and the frames of the
# log call, `Message: 'order %s paid by %s'`, `Arguments: (7,)`: one error record, mined by its exception (headline)
_LOGGING_ERROR = "--- Logging error ---"
_LOGGING_ERROR_START = re.compile(re.escape(_LOGGING_ERROR) + "$")
_LOGGING_ERROR_PART = re.compile(r"\s|$|Traceback \(most recent call last\):|Call stack:$|Message: |Arguments: "
                                 r"|During handling of the above exception|The above exception was the direct cause"
                                 r"|[a-zA-Z_$][\w$]*(?:\.[\w$]+)*(?:Exception|Error|Warning|Interrupt|Exit)\b")
# Reports whose lines, up to the first that is none of their parts, are one record: (first line, part), by the first
# character a first line can have (a cheap test); a block of comment lines is one too
_REPORTS = {"<": ((_V8_REPORT_START, _V8_REPORT_PART),),
            "F": ((_V8_REPORT_START, _V8_REPORT_PART), (_PYTHON_FATAL_START, _PYTHON_FATAL_PART),
                  (_THREAD_DUMP_START, _THREAD_DUMP_PART), (_DEADLOCK_START, _DEADLOCK_PART)),
            "#": ((_COMMENT_LINE, _COMMENT_LINE),),
            "S": ((_GO_SIGNAL_START, _GO_SIGNAL_PART),),
            "-": ((_LOGGING_ERROR_START, _LOGGING_ERROR_PART),)}
# An indented line that begins as a record's header does, not as a stack frame or a wrapped message: a level word
# padded to its column (Log4j's `%5p`: " INFO [main] ..."), or after a number padded to its width (Kamailio's process
# rank and pid on stderr: " 0(11656) INFO: <core> ..."), a number padded to its width before a date (a pid: "  4242
# 2026-10-11 ...", Zabbix's "  4242:20261011:221415.003 ..."), or a date and time. It starts a record of its own
# whatever the continuation pattern says (its leading whitespace would make it a continuation line).
_INDENTED_HEADER = re.compile(r"[ \t]{1,8}(?:(?:\d+(?:\(\d+\))? +)?"
                              r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE)[ :]"
                              r"|(?:\d+[ :]+)?\d{4}-?\d{2}-?\d{2}[ :T]\d{2}:?\d{2}:?\d{2})")
# A stack frame as glibc's backtrace_symbols() writes it, which C programs that print their own backtrace call (uWSGI's
# and Redis's crash reports, Ruby's C level backtrace, MariaDB's): the object, in parentheses the symbol and offset or
# the address alone, the address in brackets (`/lib/x86_64-linux-gnu/libc.so.6(__libc_start_main+0x85) [0x7f5a...]`,
# `redis-server *:6379(debugCommand+0x26f)[0x55ef...]` as backtrace_symbols_fd() writes it, `ruby(0x55da...) [0x55da...]`;
# MariaDB's, resolved by addr2line: `x86/libc-start.c:74(__libc_start_call_main)[0x7f13...]`).
# It continues the record before it (mined as records of their own, the frames of each crash added a template each).
_NATIVE_FRAME = re.compile(r"[^\s()][^()]*\([\w.$@]*(?:[+-]?0x[0-9a-fA-F]+)?\) ?\[0x[0-9a-fA-F]+\]$")
# A stack frame's line as a program writes it, inside a syslog line: Java's, .NET's and Node.js's `at`, Python's
# `File "..."`, Ruby's `from`, the kernel's call trace (` __schedule+0x34d/0x9e0`, ` ? bit_wait+0x60/0x60`, ` <TASK>`)
_SYSLOG_FRAME = re.compile(r"\s+(?:at |File \"|from |\? |</?TASK>|[\w.$]+\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)")
# A Python traceback that a server writes a line a message, each line after the same header (Apache's mod_wsgi: `[Tue
# Dec 08 00:56:33.731595 2026] [wsgi:error] [pid 19894:tid 19900] [remote 127.0.0.1:48808]   File "/app/app.wsgi", line
# 5, in application`, uWSGI's `--log-date`): a line whose header differs from its first line's only in digits (the
# time) continues it where its message does (a frame, the exception line); mined by its exception (headline)
_DIGIT = re.compile(r"\d")
# a time with a fraction of a second of six digits or more (microseconds): two events seldom share one
_FINE_STAMP = re.compile(r"\d[.,]\d{6}")
_INDENTED_GAP = re.compile(r"\s\s+")  # between a header and its message: the message is indented
# PostgreSQL writes a message's secondary fields on lines of their own, after the same prefix as the message and, as
# after its level, two spaces: `... [6651] STATEMENT:  select ...` (DETAIL, HINT, CONTEXT, QUERY, LOCATION too).
# They are that message's record, as its csvlog and jsonlog columns are (mined as records, every failing statement's
# text became a template of level unknown).
_SECONDARY_FIELD = re.compile(r"\b(?:DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION):  \S")
SECONDARY_FIELD_WITHIN = 200  # characters of a line's start that such a label must stand in (the prefix before it)
_TEMPLATES_OVER_CAP = ("logs: source %s holds max_templates (%d) templates; records of further templates (the first: %r) "
                       "are counted under template_id=\"other\", where AIOpsLogTemplateNew does not see them. "
                       "`aiops-exporter logs templates --summary FILE` shows them: a value that splits one message into "
                       "many templates needs a mask (logs.masking), a source with that many kinds of message a higher "
                       "logs.max_templates")
_LABELS_OVER_CAP = ("logs: source %s has max_templates (%d) combinations of labels_from_fields (%s); records with "
                    "further ones (the first: %s) get the value \"other\" for each. A field that holds a value per "
                    "record (an id, a path) is not a label: take it out of labels_from_fields")


def headline(record: Sequence[str]) -> str:
    """The line a record is mined by: its first, or for a bare Python traceback its exception line (the last
    one that is not indented; for the logging module's report of a record it could not write, the last before its
    `Call stack:`), or for Node.js's report of an uncaught exception its error line (the first that
    names one), which say what went wrong where the first says only that something did, or where; for a block of
    comment lines its first with text (the JVM's crash banner begins with a bare `#`). Lines
    are judged by their text inside a container runtime's wrapper or a journal entry (a traceback's inside syslog
    lines by their messages), and returned as they are, but for the whitespace that a padded first column leaves
    before a header (Log4j's `%5p`)."""
    first = runtime_payload(record[0])
    text_of: Callable[[str], str] = runtime_payload
    if len(record) > 1 and TRACEBACK in first and not first.startswith(TRACEBACK):  # rsyslog's, a header a line
        parts, at = syslog_parts(first), first.index(TRACEBACK)
        first, text_of = (parts[1], _syslog_message) if parts is not None else (first[at:], _after(at))
    if first.startswith(TRACEBACK) and (exception := _exception_line(record, text_of, len(record))) is not None:
        return exception
    if len(record) > 1 and first.endswith(CUT_HERE):  # the kernel's report: its next line is its first
        return record[1]
    if len(record) > 1 and first.startswith(_LOGGING_ERROR):  # its exception: the last line before the log call's
        texts = [runtime_payload(line) for line in record]
        return _exception_line(record, runtime_payload, texts.index("Call stack:") if "Call stack:" in texts
                               else len(texts)) or record[0]
    if len(record) > 1 and _JS_CRASH_LOCATION.match(first) is not None:
        return next((line for line in record[2:] if _JS_ERROR_LINE.match(runtime_payload(line))), record[0])
    if len(record) > 1 and first.startswith("<--- Last few GCs"):
        return next((line for line in record[1:] if runtime_payload(line).startswith("FATAL ERROR: ")), record[0])
    if len(record) > 1 and first.rstrip() == "#":  # a bare `#` begins a block of comment lines
        return next((line for line in record[1:] if runtime_payload(line).lstrip("#").strip()), record[0])
    return record[0].lstrip()


def _exception_line(record: Sequence[str], text_of: Callable[[str], str], end: int) -> str | None:
    """A traceback's exception line: the last of record[1:end] whose text is neither blank nor indented, nor a
    traceback's first line or the sentence that chains one; None when there is none."""
    for line in reversed(record[1:end]):
        text = text_of(line)
        if text.strip() and not text[0].isspace() and not text.startswith((TRACEBACK, *_CHAINED)):
            return line
    return None


def _after(header: int) -> Callable[[str], str]:
    """The text of a line after a header of `header` characters (a traceback written a header a line)."""
    return lambda line: runtime_payload(line)[header:]


def _syslog_message(line: str) -> str:
    """A syslog line's message (formats.syslog_parts), any other line as it is."""
    parts = syslog_parts(line)
    return parts[1] if parts is not None else line


# A program's report that a process it runs or watches was killed by a signal that ends a program by fault (SIGSEGV,
# SIGABRT, SIGBUS, SIGFPE, SIGILL; SIGKILL, as the OOM killer sends): a crash, whatever level the program gave it
# (PostgreSQL's `LOG:  server process (PID 22305) was terminated by signal 11: Segmentation fault`, nginx's `worker
# process 5678 exited on signal 11`, Apache's `AH00052: child pid 5678 exit signal Segmentation fault (11)`, PHP-FPM's
# `child 5678 exited on signal 11 (SIGSEGV ...)`, uWSGI's `died, killed by signal 9`, supervisord's `exited: web
# (terminated by SIGSEGV (core dumped); not expected)`, systemd's `Main process exited, code=killed, status=11/SEGV`,
# Redis's own `Redis 7.0.15 crashed by signal: 11, si_code: 2`), or the kernel's OOM killer's (`Out of memory: Killed
# process 1234 (java) ...`, `Memory cgroup out of memory: Killed process ...`; before Linux 5.0 `Out of memory: Kill
# process 1234 (java) score 900 or sacrifice child`; the report's first line, `java invoked oom-killer: gfp_mask=...`)
# and systemd's of it (`A process of this unit has been killed by the OOM killer.`, `Failed with result 'oom-kill'.`),
# or a core dump's (systemd-coredump's `Process 4242 (python3) of user 0 dumped core.`, systemd's `Failed with result
# 'core-dump'.`: a program dumps core on a fault signal); a stop (SIGTERM, SIGINT, SIGHUP) is none
_FAULT_NAMES = r"(?:SEGV|ABRT|BUS|FPE|ILL|KILL)\b"
_KILLED_BY_SIGNAL = re.compile(r"(?:terminated|killed|exited|died|exit|crashed)(?:,? (?:by|on|with))? "
                               r"(?:signal:? ?(?:4|6|7|8|9|11)\b"
                               r"|signal (?:Segmentation|Aborted|Bus error|Floating|Illegal|Killed)|SIG" + _FAULT_NAMES
                               + r")|code=(?:killed|dumped), status=\d+/" + _FAULT_NAMES + r"|of memory: Kill(?:ed)? process \d+"
                               r"| invoked oom-killer: |killed by the OOM killer|result 'oom-kill'| dumped core\b"
                               r"|result 'core-dump'")


def killed_by_fault(message: str) -> bool:
    """Whether a message reports a process killed by a signal that ends a program by fault (_KILLED_BY_SIGNAL). Cheap
    for most messages that do not: they hold neither `ignal`, `ill`, `SIG` nor `ump`."""
    return (("ignal" in message or "ill" in message or "SIG" in message or "ump" in message)
            and _KILLED_BY_SIGNAL.search(message) is not None)


# Python's warnings module on stderr: `/app/shop/api.py:10: DeprecationWarning: old_api() is deprecated`; Node.js's
# process warnings (`(node:28418) [DEP0005] DeprecationWarning: Buffer() is deprecated ...`, `(node:28418)
# MaxListenersExceededWarning: Possible EventEmitter memory leak detected. ...`, process.emitWarning()'s `Warning: ...`)
_PYTHON_WARNING = re.compile(r"(?:[A-Za-z]:)?[^\s:]+\.py:\d+: [A-Z]\w*Warning: |\(node:\d+\) (?:\[\w+\] )?\w*Warning: ")


def crash_level(line: str) -> str | None:
    """critical for a Go or Rust panic or a fatal error, error for a traceback or a bare exception line, warning for
    a warning Python's warnings module or Node.js wrote, else None."""
    if _FATAL.match(line):
        return "critical"
    if _CRASH.match(line):
        return "error"
    return "warning" if _PYTHON_WARNING.match(line) else None


def level_of(line: str, pattern: re.Pattern) -> str:
    """The record's level from its first line: debug, info, warning, error, critical or unknown."""
    match = pattern.search(line)
    if not match:
        return "unknown"
    word = match.group(1) if match.groups() else match.group(0)
    return level_name(word) or word.lower()


# A statement at the start of a message: up to four words and a colon. Its level is a level word alone (Postfix's
# "warning: ...", Dovecot's "Info: ...", "[Error]: ...") or a common level word after up to three words that name what
# it is about (PHP's "PHP Warning:  ...", "PHP Fatal error:  Uncaught ...", a library's "Connection error: ..."; only
# COMMON_LEVEL_WORDS there, not "Reading config:" or "Stack trace:"). Statements can follow each other, as where a
# program passes on another's message: PHP-FPM's "NOTICE: PHP message: PHP Warning:  ..."; the most severe is read.
_STATEMENT = re.compile(r"\s*\[?((?:[A-Za-z]{2,15} ){0,3}[A-Za-z]{2,15})\]?:\s")
MAX_STATEMENTS = 4  # leading statements a message's level is read from
_SEVERITY = ("debug", "info", "warning", "error", "critical")


def split_leading_level(message: str) -> tuple[str | None, str]:
    """A message's leading level word and colon (a statement of one word: java.util.logging's second line,
    `SEVERE: ...`), as a level (None when there is none), and the rest of it."""
    match = _STATEMENT.match(message)
    words = match.group(1).split() if match is not None else []
    level = level_name(words[0]) if len(words) == 1 else None
    return (level, message[match.end():]) if match is not None and level is not None else (None, message)


def _statement_level(words: list[str]) -> str | None:
    if len(words) == 1:
        return level_name(words[0])
    upper = [word.upper() for word in words]
    if upper[-1] not in COMMON_LEVEL_WORDS:
        return None
    return max((LEVEL_WORDS[word] for word in upper if word in COMMON_LEVEL_WORDS), key=_SEVERITY.index)


def leading_level(message: str) -> str | None:
    """The most severe level that the statements at the start of a message give (_STATEMENT); None when they give
    none."""
    levels, position = [], 0
    for _ in range(MAX_STATEMENTS):
        match = _STATEMENT.match(message, position)
        if match is None:
            break
        level = _statement_level(match.group(1).split())
        if level is not None:
            levels.append(level)
        position = match.end()
    return max(levels, key=_SEVERITY.index) if levels else None


def more_severe(level: str, stated: str | None) -> str:
    """`stated` where it is a more severe level than `level` (one the level pattern found first on the line: PHP-FPM's
    `NOTICE:` before the `PHP Warning:` it passes on), else `level`."""
    if stated is None or level not in _SEVERITY or _SEVERITY.index(stated) <= _SEVERITY.index(level):
        return level
    return stated


# Terminal control sequences (ECMA-48): colours and cursor moves (CSI), window titles and links (OSC), and the
# two-character escapes. Programs that colour their output (uvicorn, Spring Boot, Rails, anything run with a
# tty or FORCE_COLOR) write them into logs, where they hide the header from the format and the level word
# from the level pattern, and would end up in template text and label values.
_TERMINAL_CODE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def as_displayed(line: str) -> str:
    """The line as a terminal would show it: without colour codes and other control sequences, NUL bytes, or the
    byte-order mark an editor or a .NET program writes at the start of a file (it would hide the first header)."""
    if "\x1b" in line:
        line = _TERMINAL_CODE.sub("", line)
    if "\x00" in line:
        line = line.replace("\x00", "")
    return line[1:] if line.startswith("\ufeff") else line


# A line the container runtime split (CRI tag P: a line over 16 KiB); the rest follows on the next line(s).
_CRI_PARTIAL = re.compile(r"\S+ (?:stdout|stderr) P ")


class RecordAssembler:
    """Joins continuation lines (stack frames) to the line they belong to, and the pieces of a line the container
    runtime split (CRI tag P) to its first piece, whose message is mined.

    A Python traceback starts a record of its own (an uncaught exception follows whatever line came before
    it), except right after a one-line record of level error or critical: that is `logger.exception()`'s
    output, the logged message and its traceback, one record (found by `level_pattern`; None: never). A header
    that a layout writes alone on its line (java.util.logging's two-line default) takes the next line, whatever
    it holds. A block of comment lines (`# ...`, the JVM's crash banner) is one record, and so is V8's or Python's
    report of a fatal error (Node.js out of heap memory, a segmentation fault under faulthandler). A native stack
    frame as glibc's backtrace_symbols() writes it continues the record before it, indented or not."""

    def __init__(self, continuation: str | None, level_pattern: str | None = None, name: str = ""):
        self.continuation = re.compile(continuation) if continuation else None
        self.level = re.compile(level_pattern) if level_pattern else None
        self.name = name  # the source's, for the log
        self.cut = False  # a record was cut at MAX_RECORD_LINES (said once in the log)
        self.pending: list[str] = []
        self.split = False  # the last line was a piece of a longer one: the next line continues it
        self.header_only = False  # the pending record is a header written alone on its line: the next line continues it
        self.js_crash = False  # the pending record is Node.js's report of an uncaught exception (_JS_CRASH_LOCATION)
        self.report: re.Pattern | None = None  # the part pattern of the report (_REPORTS) the pending record begins
        self.sender: str | None = None  # who sent the pending record's first line if syslog did ("": not); None: unread
        self.syslog_trace = False  # the last line joined the pending record as a syslog line's continuation
        self.headed_trace: tuple[int, str] | None = None  # the pending record is a traceback written a header a line:
        # the length of its first line's header and that header with its digits as 0 (_DIGIT)

    def feed(self, line: str) -> list[str] | None:
        """Add a line; returns the previous record when this line starts a new one (judged by the line's text
        inside a container runtime's wrapper: a stack frame in a pod's log is indented after CRI's prefix)."""
        text = runtime_payload(line)
        if not self.pending and not text.strip():
            return None  # a blank line that begins no record (Elixir's Logger writes one before each): nothing in it
        continues = (self.split or (self.continuation is not None and self.continuation.match(text) is not None
                                    and _INDENTED_HEADER.match(text) is None)
                     or self._logged_traceback(text) or (self.header_only and len(self.pending) == 1)
                     or (":  " in text and _SECONDARY_FIELD.search(text, 0, SECONDARY_FIELD_WITHIN) is not None)
                     or (self.js_crash and (len(self.pending) == 1 or _JS_CRASH_PART.match(text) is not None))
                     or (self.report is not None and self.report.match(text) is not None)
                     or (text[-1:] == "]" and _NATIVE_FRAME.match(text) is not None)
                     or ((self.syslog_trace or ((line[:3] in MONTH_STARTS or line[10:11] == "T")
                                                and ("#011" in line or ":  " in line or "]  " in line)))
                         and self._continues_syslog_entry(line))
                     or (self.headed_trace is not None and self._continues_headed_trace(text)))
        self.split = _CRI_PARTIAL.match(line) is not None
        if self.pending and continues and len(self.pending) < MAX_RECORD_LINES:
            self.pending.append(line)
            return None
        if self.pending and continues:
            self._say_cut()
        done, self.pending, self.sender, self.syslog_trace = self.pending, [line], None, False
        self.header_only = is_header_alone(text)
        self.js_crash = (text[:1] in "/.nf" or text[1:2] == ":") and _JS_CRASH_LOCATION.match(text) is not None
        self.report = (next((part for start, part in _REPORTS[text[:1]] if start.match(text) is not None), None)
                       if text[:1] in _REPORTS else None)
        at = len(text) - len(TRACEBACK)  # the message is the traceback's first line alone, after a header
        self.headed_trace = (at, _DIGIT.sub("0", text[:at])) if at > 0 and text.endswith(TRACEBACK) else None
        return done or None

    def _continues_headed_trace(self, text: str) -> bool:
        """Whether a line continues the traceback written a header a line that the pending record holds: its header is
        the first line's but for digits, and what follows it is a continuation line (a frame, the exception, the
        sentence that chains another) or, after a blank one, the traceback of a chained exception."""
        assert self.headed_trace is not None
        at, header = self.headed_trace
        message = text[at:]
        if _DIGIT.sub("0", text[:at]) != header:
            return False
        if message.startswith(TRACEBACK):  # a chained exception's, after a blank line
            return not runtime_payload(self.pending[-1])[at:].strip()
        return self.continuation is not None and self.continuation.match(message) is not None

    def _continues_syslog_entry(self, line: str) -> bool:
        """Whether a syslog line's message continues the record that a line from the same sender began: a service's
        stack trace, which journald and rsyslog write a line an entry. The message must be a continuation line; one
        indented with spaces (sudo indents its messages; the kernel its boot-time lists) a stack frame's (_SYSLOG_FRAME)
        or one after such a line. Only an indented message (an escaped tab, spaces) is looked at, or any while a trace
        is being joined: the exception line after a Python traceback's frames."""
        parts = syslog_parts(line)
        if parts is None or not self.pending or self.continuation is None:
            return False
        if self.sender is None:
            first = syslog_sender_end(self.pending[0])
            self.sender = first[0] if first is not None else ""
        sender, message = parts
        self.syslog_trace = (sender == self.sender and self.continuation.match(message) is not None
                             and _INDENTED_HEADER.match(message) is None
                             and (message[:1] != " " or self.syslog_trace or _SYSLOG_FRAME.match(message) is not None))
        return self.syslog_trace

    def _say_cut(self) -> None:
        if not self.cut:
            self.cut = True
            log.warning("logs: source %s: a record reached %d lines and is cut there (the next line starts a record): "
                        "does the source's continuation pattern match every line?", self.name, MAX_RECORD_LINES)

    def _logged_traceback(self, line: str) -> bool:
        return (self.level is not None and len(self.pending) == 1 and line.startswith(TRACEBACK)
                and level_of(self.pending[0], self.level) in ERROR_LEVELS)  # logger.exception(), logger.critical(exc_info=...)

    def flush(self, final: bool = True) -> list[str] | None:
        """The pending record (no line came after it for a while); not final: a split line waits for its rest."""
        if self.split and not final:
            return None
        done, self.pending, self.split, self.sender, self.syslog_trace = self.pending, [], False, None, False
        self.headed_trace = None
        return done or None


class _Blob(PersistenceHandler):
    """Drain3's state as bytes; the caller decides when to write it (atomically) to disk."""

    def __init__(self, data: bytes | None = None):
        self.data = data

    def save_state(self, state: bytes) -> None:
        self.data = state

    def load_state(self) -> bytes | None:
        return self.data


@dataclass
class Template:
    text: str
    first_seen: float


Mined = list[tuple[list[str], str]]  # records mined by a call, each with its template_id


@dataclass
class SourceMiner:
    """Templates and counts of one log source; the line format of each of its origins (origins.py)."""

    name: str
    max_templates: int
    template_max_length: int
    level_pattern: re.Pattern
    miner: TemplateMiner
    short: ShortMessages  # messages shorter than the tree's depth
    depth: int = 4
    format_spec: str | None = None  # what was configured (a preset name or pattern), None: auto
    configured_format: LineFormat | None = None  # format_spec resolved (every origin reads it)
    saved_formats: dict[str, dict] = field(default_factory=dict)  # origin -> format a previous run saved for it
    origins: dict[str, OriginFormat] = field(default_factory=dict)  # each file of the source's globs, or stdin
    last_origin: str = STDIN  # the origin of the last record mined (whose format format_name gives)
    labels_from_fields: tuple[str, ...] = ()
    first_seen: float | None = None
    templates: dict[str, Template] = field(default_factory=dict)
    counts: dict[tuple, int] = field(default_factory=dict)  # (template_id, level, *field labels) -> records
    label_values: set[tuple[str, ...]] = field(default_factory=set)  # combinations of field labels seen
    masked_cache: dict[str, str] = field(default_factory=dict)  # message -> masked message (recent, bounded)
    joined: dict[str, int] = field(default_factory=dict)  # masked message -> the template it joined (recent, bounded)
    unparsed: int = 0  # records whose first line their origin's format did not parse (mined whole)
    format_changes: int = 0  # times a watch replaced an origin's detected format
    said: set[str] = field(default_factory=set)  # the warnings already logged: each is said once
    lock: threading.Lock = field(default_factory=threading.Lock)  # counts and templates (read by scrapes)
    drain_lock: threading.Lock = field(default_factory=threading.Lock)  # Drain's tree (mined, and saved by state())

    def origin(self, name: str = STDIN) -> OriginFormat:
        """The format of one origin: the configured one, a previous run's for it, or detected from its first records."""
        found = self.origins.get(name)
        if found is None:
            found = self.origins[name] = self._unseen(self.saved_formats.pop(name, None))
        return found

    def _unseen(self, saved: dict | None) -> OriginFormat:
        """The format an origin starts with: the configured one, else what a previous run saved for it (or none)."""
        return configured(self.configured_format) if self.configured_format is not None else restored(saved)

    def _last(self) -> OriginFormat:
        """The format of the origin mined last (what a source with one origin reads), without adding an origin."""
        found = self.origins.get(self.last_origin)
        return found if found is not None else self._unseen(self.saved_formats.get(self.last_origin))

    @property
    def format(self) -> LineFormat | None:
        return self._last().format

    @property
    def format_name(self) -> str:
        return self._last().name

    @property
    def detection(self) -> str:
        return self._last().detection

    @property
    def watch(self) -> FormatWatch | None:
        return self._last().watch

    def format_names(self) -> list[str]:
        """The formats the source's origins read (each once), or ["detecting"] while none is known."""
        names = sorted({origin.name for origin in list(self.origins.values()) if origin.format is not None})
        return names or ["detecting"]

    def add(self, record: list[str], now: float, origin: str = STDIN) -> Mined:
        """Count one record of an origin; returns the records mined by this call with their template ids.

        While the origin's format is being detected the record waits (nothing is returned); when it is
        chosen, the origin's waiting records are mined and returned together.
        """
        reading = self.origin(origin)
        if reading.format is not None:
            return [(record, self._mine(record, now, origin))]
        reading.wait(record, now)
        return self._choose(origin) if reading.due(now) else []

    def tick(self, now: float) -> Mined:
        """Choose the format of each origin whose waiting records have waited DETECT_WAIT (a quiet one)."""
        return [mined for name, reading in list(self.origins.items()) if reading.due(now)
                for mined in self._choose(name)]

    def finish_detection(self) -> Mined:
        """Choose the format of every origin with waiting records (whatever their number) and mine them."""
        return [mined for name, reading in list(self.origins.items()) if reading.waiting
                for mined in self._choose(name)]

    def _choose(self, origin: str) -> Mined:
        """Detect the origin's format if it has none yet (said in the log) and mine its waiting records."""
        reading = self.origin(origin)
        detecting = reading.format is None
        waiting = reading.choose()
        if detecting:
            log.info("logs: source %s%s: format %s (%s); %d waiting records mined", self.name, describe(origin),
                     reading.name, reading.detection, len(waiting))
        return [(record, self._mine(record, now, origin)) for record, now in waiting]

    def forget(self, gone: set[str]) -> Mined:
        """Drop the formats of origins no longer read (files deleted or no longer matched) and those a previous run
        saved for them, mining their waiting records first; an origin that comes back is detected anew."""
        mined = [mined for name in sorted(gone & set(self.origins)) for mined in self._choose(name)]
        for name in gone:
            self.origins.pop(name, None)
            self.saved_formats.pop(name, None)
        return mined

    def _mine(self, record: list[str], now: float, origin: str = STDIN) -> str:
        reading = self.origin(origin)
        self.last_origin = origin
        assert reading.format is not None
        if reading.open_record is not None and (rest_of := self._rest_of_open_record(record, reading)) is not None:
            return rest_of
        if reading.kernel_report is not None and (rest_of := self._rest_of_kernel_report(record, reading)) is not None:
            return rest_of
        if reading.error_record is not None and (rest_of := self._rest_of_error(record, reading)) is not None:
            return rest_of
        template_id, takes_rest, heading = self._mine_record(record, now, reading, origin)
        if reading.format.leaves_open(record, False):
            reading.open_record, reading.open_lines = template_id, len(record)
        if takes_rest and not reads_no_header(reading.format):
            reading.error_record, reading.error_lines, reading.error_section = template_id, len(record), heading
        return template_id

    def _rest_of_error(self, record: list[str], reading: OriginFormat) -> str | None:
        """The template_id of the record this record continues: right after a record of level error or critical, or
        one whose message ends with a colon (formats.takes_more), that its format parsed, or after a section's heading
        that it does not parse (formats.is_section_heading), a record whose first line the format does not parse, that
        has no date or time near its start (formats.begins_with_stamp; in a section it may) and is no crash (a traceback,
        a panic) or heading, is more of that message (a query, a source excerpt, a report written without indentation,
        a dump the message announced, the section's lines), for up to MAX_ERROR_LINES (MAX_SECTION_LINES) lines; not
        counted again, and not shown to the format watch (detection does not hold such lines against a format either).
        None when it is a record of its own."""
        assert reading.format is not None and reading.error_record is not None
        template_id, reading.error_record = reading.error_record, None
        first = headline(record)
        if ((begins_with_stamp(first) and not reading.error_section)  # (a version number is a date to it: 12.2.0)
                or reading.format.parse(first) is not None
                or crash_level(runtime_payload(record[0])) is not None  # a crash is an event of its own
                or is_section_heading(runtime_payload(first))  # and a section of a report begins one
                or reading.error_lines + len(record) > (MAX_SECTION_LINES if reading.error_section else MAX_ERROR_LINES)):
            return None
        reading.error_record, reading.error_lines = template_id, reading.error_lines + len(record)
        return template_id

    @staticmethod
    def _rest_of_kernel_report(record: list[str], reading: OriginFormat) -> str | None:
        """The template_id of the kernel's report (kernel.py) that this record is a line of (its registers, call trace,
        memory state: not counted again), for up to MAX_SECTION_LINES lines; None when it is a record of its own."""
        assert reading.format is not None and reading.kernel_report is not None
        template_id, reading.kernel_report = reading.kernel_report, None
        parsed = reading.format.parse(record[0])
        content, component = (parsed.content, parsed.fields.get("Component")) if parsed is not None else (record[0], None)
        if (reading.kernel_report_lines + len(record) > MAX_SECTION_LINES
                or not (continues_kernel_report(content)  # or with a word the format cut as a component (`RAX:`)
                        or (component is not None and continues_kernel_report(f"{component}: {content}")))):
            return None
        reading.kernel_report, reading.kernel_report_lines = template_id, reading.kernel_report_lines + len(record)
        return template_id

    def _rest_of_open_record(self, record: list[str], reading: OriginFormat) -> str | None:
        """The template_id of the record whose quoted field this record continues (not counted again: it is part of
        that record), None when it is a record of its own: the field closed before it, or it begins a record as
        the format reads one (the quote was never closed) or the field has run MAX_OPEN_LINES lines."""
        assert reading.format is not None and reading.open_record is not None
        template_id, reading.open_record = reading.open_record, None
        first = record[0]
        if ((first[:1].isdigit() and reading.format.parse(first) is not None)
                or reading.open_lines + len(record) > MAX_OPEN_LINES):
            return None
        if reading.format.leaves_open(record, True):
            reading.open_record, reading.open_lines = template_id, reading.open_lines + len(record)
        return template_id

    def _record_level(self, level: str | None, fields: dict[str, str], first: str, content: str,
                      several_lines: bool) -> str:
        """The format's level, or failing that the line's first level word (level_pattern), the statements its message
        starts with (leading_level) or a crash's. A level written as a statement (a level column's `NOTICE:`) or
        found by the pattern gives way to a more severe statement after it: PHP-FPM's `NOTICE: PHP message: PHP
        Warning:  ...` is a warning. A crash that journald carries is at least an error, whatever the PRIORITY of
        the stream it was written to (a service's standard error is info unless its unit says otherwise), and so is a
        report of a process killed by a signal that ends a program by fault (killed_by_fault)."""
        found = self._stated_level(level, fields, first, content, several_lines)
        return "error" if found not in ERROR_LEVELS and killed_by_fault(content) else found

    def _stated_level(self, level: str | None, fields: dict[str, str], first: str, content: str,
                      several_lines: bool) -> str:
        if level is not None and first[:1] == "{":  # runtime_payload: the MESSAGE of a journal entry
            level = more_severe(level, crash_level(runtime_payload(first)))
        if level is not None:
            return more_severe(level, leading_level(content)) if fields.get(LEVEL, "").endswith(":") else level
        level, stated = level_of(first, self.level_pattern), leading_level(content)
        if level == "unknown":  # a crash's line, or the message of a record of several lines that is one (a traceback
            # rsyslog wrote)
            return (stated or crash_level(runtime_payload(first))
                    or (crash_level(content) if several_lines and content != first else None) or level)
        return more_severe(level, stated)

    def _mine_record(self, record: list[str], now: float, reading: OriginFormat,
                     origin: str) -> tuple[str, bool, bool]:
        """Mine and count one record: its template_id, whether the lines after it that the format does not parse are
        more of it (its format parsed its first line and they are more of its message, formats.takes_more, or it is a
        section's heading the format does not parse, formats.is_section_heading), and whether it is such a heading."""
        assert reading.format is not None
        first = headline(record)
        parsed = reading.format.parse(first)
        if reading.watch is not None:
            self._check_format(origin, reading, first, parsed is not None)
        if reading.fine_stamps is None and parsed is not None:
            reading.fine_stamps = _FINE_STAMP.search(parsed.fields.get("Timestamp", "")) is not None
        if reading.fine_stamps and parsed is not None and (same := self._same_event(first, parsed.content, reading)):
            return same, False, False
        if parsed is None:
            self.unparsed += 1
            content, level, fields = first, None, {}
        else:
            content, level, fields = parsed.content, parsed.level, parsed.fields
            if not content.strip() and len(record) > 1:  # a header alone on its line: the message is the next one
                content = next((text for text in (runtime_payload(line).strip() for line in record[1:]) if text), "")
                if level is None:  # java.util.logging's "LEVEL: message"
                    level, content = split_leading_level(content)
        if "\n" in content:  # a structured record's message of several lines: mined by its headline, as a record is
            content = headline([line for line in content.split("\n") if line.strip()] or [""])
        if not reading.fields_checked:
            self._check_fields(origin, reading)
        heading = parsed is None and is_section_heading(runtime_payload(first))  # its words are a title, no level
        level = "unknown" if heading else self._record_level(level, fields, first, content, len(record) > 1)
        masked = self._masked(content.strip())
        tokens = masked.split()
        kernel_report = None if heading else kernel_fault(content, tokens)  # the first line of a kernel's report
        if kernel_report is not None:  # the level the kernel means by it (syslog keeps none)
            level = kernel_report if level == "unknown" else more_severe(level, kernel_report)
        if len(tokens) < self.depth:  # too short for Drain's tree: grouped by text, and by value where a word varies
            found, text = self.short.template(tokens, room=len(self.short) < self.max_templates)
            template_id = found if found is not None else OTHER  # all taken: remembering more only grows memory, state
        else:
            with self.drain_lock:
                cluster = self._joined_before(masked) or self._add_to_drain(masked)
                template_id, text = str(cluster.cluster_id), cluster.get_template()
        reading.last_template = self._count(template_id, _shorten(text, self.template_max_length), level, fields, now)
        if kernel_report is not None:  # the lines of its report are more of it (the next record ends the state)
            reading.kernel_report, reading.kernel_report_lines = reading.last_template, len(record)
        return reading.last_template, (parsed is not None and takes_more(level, content)) or heading, heading

    @staticmethod
    def _same_event(first: str, content: str, reading: OriginFormat) -> str | None:
        """The template_id of the last record when this one's header is that record's, whose time has a fraction of a
        second of six digits or more (OriginFormat.fine_stamps), and its message is indented or empty: a line of the
        same message, where a program writes its header before each line of a message of several (RabbitMQ's and
        Erlang's logger: a crash report's `** Generic server ... terminating` and its state on the lines after it);
        None for a record of its own (remembered as the last). A message that is not indented begins a record: C
        programs log two events within a microsecond (FreeSWITCH's `SIP auth challenge` and `SIP auth failure`)."""
        last, suffix = reading.last_header, first.endswith(content)
        if (last is not None and suffix and first.startswith(last)
                and (not content.strip() or _INDENTED_GAP.fullmatch(first, len(last), len(first) - len(content)))):
            return reading.last_template
        reading.last_header = first[:len(first) - len(content)].rstrip() if suffix else None
        return None

    def _check_format(self, origin: str, reading: OriginFormat, first: str, parsed: bool) -> None:
        """Replace an origin's detected format when it no longer fits its lines (FormatWatch); said in the log."""
        watch, current = reading.watch, reading.format
        assert watch is not None and current is not None
        found = watch.see(first, parsed, current)
        if watch.alternating is not None and not reading.alternating_said:
            reading.alternating_said = True
            log.warning("logs: source %s%s: its lines alternate between layouts (%s, then %s again): a file reads one "
                        "layout at a time, so the lines of the other are mined whole; let each program write a file "
                        "of its own (docs/logs.md, Limits)", self.name, describe(origin), *watch.alternating)
        if found is None:
            return
        log.warning("logs: source %s%s: format %s parses %.0f%% of the last %d records; now %s (%s)", self.name,
                    describe(origin), reading.name, 100 * watch.share, watch.looked, found.format.name, found.reason)
        reading.replace(found)
        self.format_changes += 1

    def _check_fields(self, origin: str, reading: OriginFormat) -> None:
        """Say once per format, when it is known, which labels_from_fields it has no field for: their labels stay
        empty."""
        reading.fields_checked = True
        known = reading.format.field_names() if reading.format is not None else None
        missing = [name for name in self.labels_from_fields if known is not None and name not in known]
        if missing and f"fields:{reading.name}" not in self.said:
            self.said.add(f"fields:{reading.name}")
            log.warning("logs: source %s%s: format %s has no field %s (its fields: %s); labels_from_fields gives them "
                        "an empty value", self.name, describe(origin), reading.name, ", ".join(missing),
                        ", ".join(sorted(known or ())) or "none")

    def _joined_before(self, masked: str) -> LogCluster | None:
        """The template that the same masked message joined last, counted once more, if Drain still holds it. Drain's
        search would find it again: the message's words are that template's own, or `<*>` where it varies, so joining
        it changes nothing (only a template made later that keeps more of the message's words as constants could
        outscore it, which no line of Loghub's 8 systems, the 70 header layouts or this machine's logs meets). The
        search is a third of a record's time, and real logs repeat their messages once masked (most records)."""
        cluster_id = self.joined.get(masked)
        if cluster_id is None:
            return None
        cluster = self.miner.drain.id_to_cluster[cluster_id]  # touched in Drain's LRU, as a message it joins is
        if cluster is not None:
            cluster.size += 1
        return cluster

    def _add_to_drain(self, masked: str) -> LogCluster:
        cluster, _ = self.miner.drain.add_log_message(masked)
        _remember(self.joined, masked, cluster.cluster_id)
        return cluster

    def _masked(self, message: str) -> str:
        """The message masked; a message seen recently is not masked again (masking is half of a record's time,
        and real logs repeat their messages word for word)."""
        masked = self.masked_cache.get(message)
        if masked is not None:
            return masked
        masked = self.miner.masker.mask(message)
        _remember(self.masked_cache, message, masked)
        return masked

    def _count(self, template_id: str, text: str, level: str, fields: dict[str, str], now: float) -> str:
        with self.lock:
            if self.first_seen is None:
                self.first_seen = now
            known = self.templates.get(template_id)
            if known is not None:
                known.text = text  # Drain generalises templates as it sees more lines
            elif template_id != OTHER and len(self.templates) < self.max_templates:
                self.templates[template_id] = Template(text, now)
            else:
                template_id = OTHER
                self._warn_once(_TEMPLATES_OVER_CAP, self.name, self.max_templates, text)
            extra = tuple(fields.get(name, "") for name in self.labels_from_fields)
            if extra and extra not in self.label_values:
                if len(self.label_values) < self.max_templates:  # field labels share the template cap
                    self.label_values.add(extra)
                else:
                    self._warn_once(_LABELS_OVER_CAP, self.name, self.max_templates, ", ".join(self.labels_from_fields),
                                    ", ".join(map(repr, extra)))
                    extra = tuple(OTHER for _ in extra)
            key = (template_id, level, *extra)
            self.counts[key] = self.counts.get(key, 0) + 1
        return template_id

    def _warn_once(self, message: str, *args) -> None:
        if message not in self.said:
            self.said.add(message)
            log.warning(message, *args)

    def snapshot(self) -> tuple[dict[str, Template], dict[tuple, int], float | None]:
        with self.lock:
            templates = {k: Template(v.text, v.first_seen) for k, v in self.templates.items()}
            return templates, dict(self.counts), self.first_seen

    # ---- state -------------------------------------------------------------
    def state(self) -> dict:
        blob = _Blob()
        handler, self.miner.persistence_handler = self.miner.persistence_handler, blob
        try:  # saved as Drain3's own class, so any Drain3 (and an older release) can restore it
            with self.drain_lock, saved_as_plain_drain(self.miner.drain):
                self.miner.save_state("periodic")
        finally:
            self.miner.persistence_handler = handler
        with self.lock:
            return {"drain": blob.data.decode("latin-1") if blob.data else None,
                    "first_seen": self.first_seen,
                    "formats": self._formats_to_save(),
                    "short": dict(self.short.ids),
                    "templates": {k: {"text": v.text, "first_seen": v.first_seen} for k, v in self.templates.items()}}


    def _formats_to_save(self) -> dict[str, dict]:
        """Each origin's detected format (a configured one is not saved), and those a previous run saved for origins
        not read since."""
        if self.format_spec is not None:
            return {}
        detected = {name: reading.state() for name, reading in self.origins.items() if reading.format is not None}
        return {**self.saved_formats, **detected}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _remember(cache: dict, message: str, value) -> None:
    """Keep `value` for a message of up to MASKED_CACHE_MAX_LENGTH characters in a cache of recent messages, emptied
    when it holds MASKED_CACHE_SIZE (about 2 MB a cache at most)."""
    if len(message) <= MASKED_CACHE_MAX_LENGTH:
        if len(cache) >= MASKED_CACHE_SIZE:
            cache.clear()
        cache[message] = value


def make_miner(name: str, *, max_templates: int, template_max_length: int, level_pattern: str,
               similarity: float, depth: int, extra_masking: Sequence[tuple[str, str]] = (),
               state: dict | None = None, line_format: str | None = None,
               labels_from_fields: Sequence[str] = ()) -> SourceMiner:
    """A SourceMiner, restored from `state` (as returned by SourceMiner.state) when given.

    `line_format`: a preset name or logparser-style pattern; None detects each origin's from its first
    records (a previous run's detections are kept in `state`, per origin).
    """
    config = TemplateMinerConfig()
    config.drain_sim_th, config.drain_depth = similarity, depth
    config.drain_max_clusters = max(4 * max_templates, 100)  # Drain's own LRU bound on memory
    config.snapshot_compress_state = True
    # your masks run first, one after the other; then the built-in ones in a single pass
    config.masking_instructions = [*(MaskingInstruction(p, m) for p, m in extra_masking),
                                   BuiltinMasking()]
    drain_state = state.get("drain") if state else None
    # Drain3 loads state only through a persistence handler; it is detached afterwards so that
    # adding a line never serialises the whole state (we save on our own schedule).
    miner = TemplateMiner(_Blob(drain_state.encode("latin-1")) if drain_state else None, config)
    miner.persistence_handler = None
    make_mask_aware(miner.drain, mask_names([name for _, name in extra_masking]))
    short = ShortMessages(SHORT_PREFIX, partial(is_value_token, mask_token=miner.drain.mask_token),
                          (state or {}).get("short") or {})
    source = SourceMiner(name, max_templates, template_max_length, re.compile(level_pattern), miner, short,
                         depth=depth, format_spec=line_format,
                         configured_format=resolve(line_format) if line_format else None,
                         saved_formats=dict((state or {}).get("formats") or {}) if not line_format else {},
                         labels_from_fields=tuple(labels_from_fields))
    if state:
        source.first_seen = state.get("first_seen")
        source.templates = {k: Template(v["text"], float(v["first_seen"])) for k, v in state.get("templates", {}).items()}
    return source
