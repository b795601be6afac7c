"""Line formats: presets, patterns, auto-detection, masking that keeps words, short messages, the offline command."""

import json
import random
import re
import subprocess
import sys
from functools import partial

import pytest

from devstack.procs import Process, free_port, require_binary
from exporter.config import ConfigError
from exporter.logs.config import DEFAULT_CONTINUATION, DEFAULT_LEVEL, parse_logs_config
from exporter.logs.detection import DETECT_LINES, detect, format_from_state
from exporter.logs.formats import LevelColumnFormat, compile_pattern, resolve
from exporter.logs.header_tokens import split_header_tokens
from exporter.logs.masking import BuiltinMasking, mask_names
from exporter.logs.mining import RecordAssembler, level_of, make_miner
from exporter.logs.offline import mine_lines
from exporter.logs.service import LogCollector, LogFollower
from exporter.logs.short import MAX_VALUES, ShortMessages
from exporter.logs.similarity import is_value_token, mask_token_pattern

# Real-looking lines of each preset's layout: (preset, lines, expected content of the first, level of the first)
SAMPLES = {
    "syslog": ([
        "Mar  3 04:02:11 web-1 sshd[2211]: Accepted publickey for deploy from 10.1.2.3 port 50122 ssh2",
        "Mar  3 04:02:12 web-1 CRON[2301]: (root) CMD (run-parts /etc/cron.hourly)",
        "Mar  3 04:02:13 web-1 kernel: [12345.678] eth0: link up",
        "Mar  3 04:02:14 web-1 Google Chrome Helper[977]: renderer started",
    ], "Accepted publickey for deploy from 10.1.2.3 port 50122 ssh2", "unknown"),
    "syslog5424": ([
        '<165>1 2026-03-03T04:02:11.003Z web-1 orders 2211 ID47 [exampleSDID@32473 iut="3"] order 881 paid',
        "<134>1 2026-03-03T04:02:12.000Z web-1 orders 2211 - - order 882 paid",
    ], "order 881 paid", "info"),  # PRI 165 = local4.notice
    "apache_error": ([
        "[Wed Oct 11 14:32:52.123456 2026] [core:error] [pid 1234:tid 5678] [client 10.0.0.5:4410] AH00124: "
        "Request exceeded the limit of 10 internal redirects",
        "[Wed Oct 11 14:32:53 2026] [notice] Apache/2.4.57 configured -- resuming normal operations",
    ], "AH00124: Request exceeded the limit of 10 internal redirects", "error"),
    "nginx_error": ([
        '2026/03/03 04:02:11 [error] 31#31: *7 open() "/usr/share/nginx/html/x" failed (2: No such file), '
        'client: 10.0.0.9, server: _, request: "GET /x HTTP/1.1"',
        "2026/03/03 04:02:12 [warn] 31#31: conflicting server name \"a\" on 0.0.0.0:80, ignored",
    ], 'open() "/usr/share/nginx/html/x" failed (2: No such file), client: 10.0.0.9, server: _, request: "GET /x HTTP/1.1"',
        "error"),
    "access": ([
        '10.0.0.9 - alice [03/Mar/2026:04:02:11 +0000] "GET /api/orders/881 HTTP/1.1" 200 512 "-" "curl/8.5"',
        '10.0.0.7 - - [03/Mar/2026:04:02:12 +0000] "POST /api/pay HTTP/1.1" 502 0',
    ], "GET /api/orders/881 HTTP/1.1", "unknown"),
    "log4j": ([
        "2026-03-03 04:02:11,003 INFO  [main] com.shop.orders.OrderService: order 881 paid",
        "2026-03-03 04:02:12,104 [pool-2-thread-1] WARN  com.shop.orders.Retry - retry 2 of 5",
        "04:02:13.207 [http-nio-8080-exec-3] ERROR o.s.web.servlet.DispatcherServlet - request failed",
        "2026-03-03 04:02:14,005 - INFO  [Worker[id=3]/main:Sync@88] - synced 12 keys",
        "260303 040215 4410 INFO shop.Cache$Evictor: evicted 40 entries",
    ], "order 881 paid", "info"),
    "python": ([
        "WARNING:shop.cache:evicted 40 entries",
        "ERROR:root:payment 881 failed",
        "2026-03-03 04:02:11,003:DEBUG:certbot._internal.main:Root logging level set at 30",  # asctime first
    ], "evicted 40 entries", "warning"),
    "tornado": ([
        "[W 2026-03-03 04:02:11.003 ServerApp] evicted 40 entries",  # Jupyter Server
        "[I 260303 04:02:12 web:2239] 200 GET /api/status (10.0.0.7) 1.52ms",  # Tornado itself
        "[E 2026-03-03 04:02:13.003 JupyterHub app:2859] spawner for bob failed",  # JupyterHub
    ], "evicted 40 entries", "warning"),
    "python_asctime": ([
        "2026-03-03 04:02:11,003 - shop.cache - INFO - evicted 40 entries",
        "2026-03-03 04:02:12,003 - shop.pay - ERROR - payment 881 failed",
    ], "evicted 40 entries", "info"),
    "catalina": ([
        "03-Mar-2026 04:02:11.003 INFO [main] org.apache.catalina.startup.Catalina.start Server startup in 812 ms",
        "03-Mar-2026 04:02:12.003 SEVERE [exec-1] org.apache.catalina.core.StandardWrapperValve.invoke Servlet failed",
    ], "Server startup in 812 ms", "info"),
    "jul": ([  # the header line of java.util.logging's two-line default; the message is on the next line
        "Mar 03, 2026 4:02:11 AM org.apache.catalina.startup.Catalina start",
        "Mar 3, 2026 11:02:12 PM hudson.model.AsyncPeriodicWork$1 run",
        "Mar 03, 2026 16:02:13 com.shop.Orders",
    ], "", "unknown"),
    "springboot": ([
        "2026-03-03T04:02:11.003Z  INFO 4410 --- [           main] c.s.orders.OrderApplication              : "
        "Started OrderApplication in 2.1 seconds (process running for 2.6)",
        "2026-03-03 04:02:12.104 ERROR 4410 --- [nio-8080-exec-1] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : "
        "Servlet.service() threw exception",
        "2026-03-03T04:02:13.207+01:00  WARN 4410 --- [orders] [   scheduling-1] c.s.orders.Retry : retry 2 of 5",
    ], "Started OrderApplication in 2.1 seconds (process running for 2.6)", "info"),
    "klog": ([
        "I0303 04:02:11.003456    4410 controller.go:114] Starting controller workers=4",
        "E0303 04:02:12.003456    4410 reflector.go:138] Failed to watch pods: connection refused",
    ], "Starting controller workers=4", "info"),
    "redis": ([
        "2252:M 03 Dec 2026 17:49:05.360 * Ready to accept connections",
        "2252:C 03 Dec 2026 17:49:05.357 # Configuration loaded",
        "2253:S 03 Dec 2026 17:49:06.001 - Accepted 10.0.0.5:51234",
    ], "Ready to accept connections", "info"),
    "ruby": ([
        'I, [2026-03-03T04:02:11.003456 #4410]  INFO -- : Started GET "/users/42" for 10.0.0.1 at 2026-03-03 04:02:11',
        "E, [2026-03-03T04:02:12.104001 #4410] ERROR -- : PG::ConnectionBad: could not connect to server",
        "D, [2026-03-03T04:02:13.207001 #4411] DEBUG -- sidekiq: Fetching job from queue default",
    ], 'Started GET "/users/42" for 10.0.0.1 at 2026-03-03 04:02:11', "info"),
    "bracketed": ([
        "[2026-03-03 04:02:11,003: INFO/MainProcess] Connected to redis://localhost:6379/0",
        "[2026-03-03 04:02:12,104: ERROR/ForkPoolWorker-3] Task shop.pay[8f1c2a3e] raised unexpected: KeyError",
        "[2026-03-03 04:02:13,207 WARNING] cache is cold",
    ], "Connected to redis://localhost:6379/0", "info"),
    "bracket_fields": ([  # the JVM's unified logging (-Xlog), with and without time decorations
        "[2026-03-03T04:02:11.003+0000][0.016s][info][gc,heap] Heap region size: 1M",
        "[0.018s][warning][gc,init  ] ConcGCThreads: 2 offset 16",
        "[2026-03-03T04:02:11.009+0000][4242][debug][class,load] java.lang.Object source: shared objects file",
    ], "Heap region size: 1M", "info"),
    "envoy": ([
        '[2026-03-03T04:02:11.003Z] "GET /api/orders/881 HTTP/1.1" 200 - 0 512 12 10 "10.0.0.1" "curl/8.5" '
        '"6f1c2a3e-1b2c-4d5e-8f90-123456789abc" "api.example.com" "10.0.1.5:8080"',
        '[2026-03-03T04:02:12.104Z] "POST /api/pay HTTP/2" 503 UF 45 91 5 - "10.0.0.2" "python-requests/2.31" '
        '"7f1c2a3e-1b2c-4d5e-8f90-123456789abc" "api.example.com" "10.0.1.6:8080"',
    ], "GET /api/orders/881 HTTP/1.1", "unknown"),
    "clickhouse": ([
        "2026.03.03 04:02:11.003456 [ 1234 ] {} <Information> Application: Ready for connections.",
        "2026.03.03 04:02:12.104001 [ 1243 ] {7f1c2a3e-1b2c-4d5e-8f90-123456789abc} <Error> TCPHandler: Code: 60. "
        "DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE)",
        "2026.03.03 04:02:13.207001 [ 1250 ] {} <Debug> default.events (8f1c2a3e) (MergerMutator): Selected 2 parts",
    ], "Ready for connections.", "info"),
    "level_first": ([
        "INFO  [main] 2026-03-03 04:02:11,003 CassandraDaemon.java:507 - Hostname: node1",
        "WARN  [ScheduledTasks:1] 2026-03-03 04:02:12,456 NoSpamLogger.java:94 - Some operations were slow",
        "ERROR 2026-03-03 04:02:13,789 [http-nio-8080-exec-1] c.e.shop.OrderController - order 881 failed",
        "DEBUG 2026-03-03 04:02:14,001 cache warmed in 12 ms",
        # grpc-go's default logger, in any Go program that uses gRPC: the level with a colon, Go's date, the component
        "WARNING: 2026/03/03 04:02:15 [core] [Channel #1 SubChannel #2] grpc: addrConn.createTransport failed to "
        "connect to {Addr: \"127.0.0.1:2379\"}. Err: connection error",
    ], "Hostname: node1", "info"),
    "jetty": ([
        "2026-12-07 12:08:30.627:INFO:oejs.Server:main: jetty-9.4.57.v20241219; built: unknown; git: unknown",
        "2026-12-07 12:08:31.003:DBUG:oeji.ManagedSelector:qtp1663-15-acceptor-0@5c-ServerConnector@7a{HTTP/1.1, "
        "(http/1.1)}{127.0.0.1:8089}: Queued change lazy=false",  # a thread name with spaces and a colon
        "2026-12-07 12:08:32.120:WARN:oejs.HttpChannel:qtp1663-17: /api/orders",
    ], "jetty-9.4.57.v20241219; built: unknown; git: unknown", "info"),
    "gluster": ([  # GlusterFS 10's glusterd.log: the MSGID is optional, a debug record may name its callers
        "[2026-12-07 13:51:17.091052 +0000] E [MSGID: 106053] [glusterd.c:1467:init] 0-management: Failed to set "
        "extended attribute [{Failed to set 'ulimit -n 65536'}, {errno=1}, {error=Operation not permitted}]",
        "[2026-12-07 13:51:17.053804 +0000] I [glusterfsd.c:2447:daemonize] 0-glusterfs: Pid of current running "
        "process is 11198",
        "[2026-12-07 13:51:23.253006 +0000] D [rpc-clnt-ping.c:93:rpc_clnt_remove_ping_timer_locked] (--> "
        "/lib/x86_64-linux-gnu/libglusterfs.so.0(_gf_log_callingfn+0x195)[0x7fb484f2be35] (--> "
        "/lib/x86_64-linux-gnu/libgfrpc.so.0(+0x7005)[0x7fb484ec6005] ))))) 0-: 127.0.0.1:24007: ping timer event "
        "already removed",
        "[2017-03-03 04:02:11.003401] W [socket.c:593:__socket_rwv] 0-glusterfs: readv on 127.0.0.1:24007 failed",
    ], "Failed to set extended attribute [{Failed to set 'ulimit -n 65536'}, {errno=1}, {error=Operation not permitted}]",
        "error"),
    "frr": ([  # FRRouting 8.4's zebra and bgpd (--log file:...): the message's unique id, an error's code
        "2026/12/07 14:14:42 ZEBRA: [NNACN-54BDA][EC 4043309110] Disabling MPLS support (no kernel support)",
        "2026/12/07 14:14:44 ZEBRA: [V98V0-MTWPF] client 28 says hello and bids fair to announce only bgp routes vrf=0",
        "2026/12/07 14:14:44 BGP: [T83RR-8SM5G] bgpd 8.4.4 starting: vty@2605, bgp@<all>:1179",
        "2026/12/07 14:14:52.123456 OSPF6: [ZW1GY-R46JE] Terminating on signal",
    ], "Disabling MPLS support (no kernel support)", "unknown"),
    "golog": ([
        "2026/03/03 04:02:11 server.go:88: listening on :8080",
        "2026/03/03 04:02:12 shutting down",
        "raft2026/03/03 04:02:13 INFO: 8e9e05c52164694d became leader at term 2",  # log.SetPrefix("raft"): etcd 3.4
        "[shop] 2026/03/03 04:02:14 order 881 paid",  # log.New(os.Stderr, "[shop] ", log.LstdFlags)
        "shop: 2026/03/03 04:02:15 order 882 paid",
    ], "listening on :8080", "unknown"),
    "dotnet": ([
        "info: Shop.Orders.OrderService[0] Order 881 paid by customer 42",  # SingleLine = true
        "[04:02:12] fail: Microsoft.AspNetCore.Server.Kestrel[13] Connection reset by peer",
        "warn: Microsoft.AspNetCore.DataProtection.Repositories.EphemeralXmlRepository[50]",  # the message follows
    ], "Order 881 paid by customer 42", "info"),
    "samba": ([  # the header line of Samba's log.smbd; the message is on the next, indented line
        "[2026/03/03 04:02:11,  0] ../../source3/smbd/server.c:1718(main)",
        "[2026/03/03 04:02:12.104001,  3, pid=4410, effective(0, 0), real(0, 0)] ../../source3/auth/auth.c:219(check)",
        "[2026/03/03 04:02:13.207001,  1, pid=4411, class=winbind] ../../source3/winbindd/winbindd.c:1530(main)",
        "[2026/03/03 04:02:14.001002,  5] smbd version 4.17.12 started.",  # debug prefix timestamp: one line
    ], "", "error"),
    "sssd": ([  # a real SSSD 2.8's lines (sssd_nss.log, sssd_files.log, sssd.log at debug_level 6)
        "(2026-12-07 16:21:21:552513): [nss] [sss_nss_protocol_fill_initgr] (0x0080): [CID#2] Unable to find primary "
        "gid [2]: No such file or directory",
        "(2026-12-07 16:21:18:793250): [nss] [become_user] (0x0200): Trying to become user [0][0].",
        "(2026-12-07 16:21:18:744471): [be[files]] [server_setup] (0x3f7c0): Starting with debug level = 0x07f0",
        "(Mon Dec  7 16:21:18 2026) [sssd[pam]] [pam_reply] (0x0040): pam_reply called with result [4]",
    ], "[CID#2] Unable to find primary gid [2]: No such file or directory", "warning"),
    "logcat": ([
        "03-03 04:02:11.003  1702  2395 D WindowManager: focus changed to window 42",
        "03-03 04:02:11.019  1702  8671 E PowerManagerService: wake lock 233 leaked",
    ], "focus changed to window 42", "debug"),
    "logfmt": ([
        'ts=2026-03-03T04:02:11.003Z caller=scrape.go:1331 level=warn component="scrape manager" '
        'target=http://10.0.0.7:9100/metrics msg="Append failed" err="out of bounds"',
        'logger=context userId=1 t=2026-03-03T04:02:12.401+00:00 level=info msg="Request Completed" status=404',
        'time="2026-03-03T04:02:13Z" level=error msg="query failed" error="pq: relation \\"items\\" does not exist"',
    ], "Append failed", "warning"),
    "json": ([
        '{"ts": "2026-03-03T04:02:11Z", "level": "warn", "msg": "retry 2 of 5", "service": "orders"}',
        '{"__REALTIME_TIMESTAMP": "1", "PRIORITY": "3", "MESSAGE": "unit failed", "_SYSTEMD_UNIT": "a.service"}',
    ], "retry 2 of 5", "warning"),
}


@pytest.mark.parametrize("preset", sorted(SAMPLES))
def test_each_preset_parses_lines_of_its_layout_into_message_and_level(preset):
    lines, content, level = SAMPLES[preset]
    line_format = resolve(preset)
    parsed = [line_format.parse(line) for line in lines]
    assert all(p is not None for p in parsed), [line for line, p in zip(lines, parsed) if p is None]
    assert parsed[0].content == content
    assert (parsed[0].level or "unknown") == level


@pytest.mark.parametrize("preset", sorted(SAMPLES))
def test_auto_detection_picks_the_preset_of_the_lines(preset):
    lines = SAMPLES[preset][0] * 20
    assert detect(lines).format.name == preset


def test_go_log_prefixes_and_the_grpc_logger_header_are_read_apart_from_the_message():
    golog, level_first = resolve("golog"), resolve("level_first")
    for line, prefix, content in (
            ("raft2026/03/03 04:02:13 INFO: 8e9e05c5 became leader at term 2", "raft",
             "8e9e05c5 became leader at term 2"),
            ("[shop] 2026/03/03 04:02:14 order 881 paid", "[shop]", "order 881 paid"),
            ("shop: 2026/03/03 04:02:15 order 882 paid", "shop:", "order 882 paid")):
        parsed = golog.parse(line)
        assert (parsed.fields["Prefix"], parsed.content) == (prefix, content)
    assert golog.parse("INFO 2026/03/03 04:02:13 cache warmed") is None  # a level first is level_first's
    assert golog.parse("raft2026/03/03 04:02:13 INFO: 8e9e05c5 became leader at term 2").level == "info"
    nats = golog.parse("[2980] 2026/03/03 04:02:12.077537 [WRN] Slow consumer detected")
    assert (nats.level, nats.content, nats.fields["Level"]) == ("warning", "Slow consumer detected", "WRN")
    grpc = level_first.parse("ERROR: 2026/03/03 04:02:13 [transport] http2Client.notifyError got notified")
    assert (grpc.level, grpc.content) == ("error", "http2Client.notifyError got notified")


def test_logcat_reads_the_brief_and_time_layouts_with_their_padded_pid_as_well_as_threadtime():
    brief = [f"{'DIWE'[i % 4]}/{('ActivityManager', 'Wifi State')[i % 2]}({100 + 977 * i:>5}): "
             f"{('Start proc', 'wake lock')[i % 2]} {i} done" for i in range(40)]
    time_layout = [f"03-03 04:02:{i % 60:02d}.{i:03d} {line}" for i, line in enumerate(brief)]
    for lines in (brief, time_layout):
        assert detect(lines).format.name == "logcat"
        parsed = resolve("logcat").parse(lines[1])
        assert (parsed.content, parsed.level) == ("wake lock 1 done", "info")
        assert (parsed.fields["Component"], parsed.fields["Pid"]) == ("Wifi State", "1077")
        result = mine_lines(lines, None, None)  # a 3-digit pid padded, a 4-digit one not: the same templates
        assert len(set(result.template_ids)) == 2
    assert resolve("logcat").parse("A note: the tag needs its pid") is None
    assert "Tag" not in resolve("logcat").field_names()


def test_a_json_record_without_a_message_key_is_mined_as_its_pairs_and_its_fields_can_be_labels(tmp_path):
    lines = [json.dumps({"time": f"2026-03-03T04:02:{i:02d}+00:00", "remote_addr": f"10.0.0.{i}",
                         "request": f"GET /api/orders/{i} HTTP/1.1", "status": (200, 500)[i % 2],
                         "request_time": i / 1000}) for i in range(1, 40)]
    result = mine_lines(lines, None, None)
    assert result.format == "json" and result.unparsed == 0 and len(set(result.template_ids)) == 1
    assert result.templates[result.template_ids[0]].text == \
        'remote_addr=<IP> request="GET <PATH> HTTP/<NUM>" status=<NUM> request_time=<NUM>'  # no time
    samples = followed_once(tmp_path / "access.json", lines, ["status"])["aiops_log_lines"].samples
    assert {s.labels["status"]: s.value for s in samples} == {"200": 19, "500": 20}


def test_the_second_json_line_reads_journald_keys():
    parsed = resolve("json").parse(SAMPLES["json"][0][1])
    assert parsed.content == "unit failed" and parsed.level == "error"  # PRIORITY 3 = err


@pytest.mark.parametrize("line, content, level", [
    ('{"level":30,"time":1701600000000,"pid":7,"msg":"request completed","responseTime":12}', "request completed", "info"),
    ('{"level":50,"time":1701600000200,"msg":"provider timeout"}', "provider timeout", "error"),
    ('{"level":60,"msg":"out of memory"}', "out of memory", "critical"),
    ('{"version":"1.1","host":"web-1","short_message":"disk full","timestamp":1701600000.1,"level":3,"_user":9}',
     "disk full", "error"),
    ('{"@t":"2026-12-03T10:00:01Z","@mt":"Order {OrderId} failed","@l":"Error","OrderId":2}', "Order {OrderId} failed",
     "error"),
    ('{"@t":"2026-12-03T10:00:00Z","@mt":"Order {OrderId} shipped","OrderId":1}', "Order {OrderId} shipped", "info"),
    ('{"level":35,"msg":"custom level"}', "custom level", None),
    ('{"t":{"$date":"2026-12-03T10:00:02.123+00:00"},"s":"W",  "c":"CONTROL",  "id":22120,   "ctx":"initandlisten",'
     '"msg":"Access control is not enabled for the database"}', "Access control is not enabled for the database",
     "warning"),  # MongoDB 4.4 and later
    ('{"t":{"$date":"2026-12-03T10:00:03.001+00:00"},"s":"D2", "c":"NETWORK",  "id":20883, "ctx":"conn1",'
     '"msg":"Interrupted operation as its client disconnected"}', "Interrupted operation as its client disconnected",
     "debug"),
    ('{"timestamp":"2026-12-03 10:00:04.001 UTC","user":"app","dbname":"shop","pid":4242,"error_severity":"ERROR",'
     '"state_code":"42P01","message":"relation \\"items\\" does not exist","backend_type":"client backend"}',
     'relation "items" does not exist', "error"),  # PostgreSQL's jsonlog (15 and later)
    ('{"EventId":0,"LogLevel":"Warning","Category":"Shop.Orders","Message":"Order 7 is late by 21 minutes",'
     '"State":{"Message":"Order 7 is late by 21 minutes","OrderId":7,"{OriginalFormat}":"Order {OrderId} is late"}}',
     "Order 7 is late by 21 minutes", "warning"),  # .NET's JSON console formatter (AddJsonConsole)
    ('{"ts":1701600000123.4,"caller":"kubelet/kubelet.go:2345","msg":"SyncLoop ADD","v":0,"source":"api"}',
     "SyncLoop ADD", "info"),  # Kubernetes components with --logging-format=json: v 0 is info
    ('{"ts":1701600000124.1,"caller":"kuberuntime/kuberuntime_manager.go:1234","msg":"Probe failed","v":4}',
     "Probe failed", "debug"),  # more verbose
    ('{"ts":1701600000125.9,"caller":"pod_workers.go:1300","msg":"Error syncing pod, skipping","err":"failed"}',
     "Error syncing pod, skipping", "error"),  # ErrorS carries err and no v
    ('{"level":"silly","message":"cache key order:7 refreshed","service":"orders"}',
     "cache key order:7 refreshed", "debug"),  # winston's npm levels: silly is below debug
    ('{"level":"http","message":"GET /orders/7 200 12ms"}', "GET /orders/7 200 12ms", "info"),  # winston's http
])
def test_json_levels_may_be_numbers_and_serilog_compact_and_mongodb_records_are_read(line, content, level):
    parsed = resolve("json").parse(line)
    assert (parsed.content, parsed.level) == (content, level)


def test_a_json_message_held_in_fields_or_json_payload_is_the_message():
    tracing = [json.dumps({"timestamp": f"2026-12-03T10:00:{i:02d}Z", "level": ("INFO", "WARN")[i % 2],
                           "fields": {"message": (f"order {i} paid", f"cache {i} evicted")[i % 2], "id": i},
                           "target": "shop::orders"}) for i in range(40)]  # Rust's tracing, one target
    result = mine_lines(tracing, None, None)
    assert sorted(t.text for t in result.templates.values()) == ["cache <NUM> evicted", "order <NUM> paid"]
    assert ("warning" in {level for _, level in result.counts}) and result.format == "json"
    gcp = '{"jsonPayload": {"message": "disk full"}, "severity": "ERROR", "timestamp": "2026-12-03T10:00:00Z"}'
    parsed = resolve("json").parse(gcp)  # Google Cloud Logging's export
    assert (parsed.content, parsed.level) == ("disk full", "error")


def test_a_structured_loggers_messages_that_begin_with_words_and_a_colon_keep_those_words():
    # PostgreSQL's jsonlog: most messages begin `two words:`, which is their text, not a header column to cut
    def record(i: int) -> dict:
        message, severity = [(f"checkpoint sync: number={i} file=base/5/{1200 + i} time=0.{i} ms", "DEBUG"),
                             ("connection received: host=[local]", "LOG"),
                             (f"connection authorized: user={('app', 'batch', 'report')[i % 3]} database=shop", "LOG"),
                             (f'relation "missing_{i % 4}" does not exist', "ERROR"),
                             (f"disconnection: session time: 0:00:00.0{i % 9} user=app database=shop", "LOG")][i % 5]
        return {"timestamp": f"2026-12-07 03:06:{i % 60:02d}.{i:03d} UTC", "pid": 6600 + i,
                "error_severity": severity, "message": message}
    lines = [json.dumps(record(i)) for i in range(100)]
    result = mine_lines(lines, None, None)
    assert result.format == "json"
    assert sorted(t.text for t in result.templates.values()) == [
        "checkpoint sync: number=<NUM> <PATH> time=<NUM> ms", "connection authorized: user=<*> database=shop",
        "connection received: host=[local]", "disconnection: session time: <NUM>:<NUM>:<NUM> user=app database=shop",
        "relation <STR> does not exist"]


def test_a_structured_records_message_of_several_lines_is_mined_by_its_headline_as_a_record_is():
    vacuum = ["automatic vacuum of table \"shop.public.t{i}\": index scans: 0\npages: 0 removed, {i} remain",
              "automatic vacuum of table \"shop.public.t{i}\": index scans: 1\npages: 0 removed, {i} remain\n"
              "index \"t{i}_pkey\": pages: 2 in total, 0 newly deleted"]
    lines = [json.dumps({"level": "info", "msg": vacuum[i % 2].replace("{i}", str(i))}) for i in range(20)]
    lines += [json.dumps({"level": "error", "msg": "Traceback (most recent call last):\n  File \"app.py\", line "
                          f"{i}, in run\n    pay(order)\nValueError: order {i} has no items"}) for i in range(20)]
    result = mine_lines(lines, None, None)
    assert sorted(t.text for t in result.templates.values()) == [
        "ValueError: order <NUM> has no items", "automatic vacuum of table <STR>: index scans: <NUM>"]


def test_a_postgresql_messages_secondary_fields_are_lines_of_its_record_not_records_of_their_own():
    lines = []
    for i in range(60):
        stamp = f"2026-12-07 03:06:{i % 60:02d}.{i:03d} UTC [{6600 + i}] "
        lines += [f"{stamp}LOG:  connection authorized: user=app{i % 3} database=shop"]
        lines += [f'{stamp}ERROR:  relation "missing_{i}" does not exist at character 15',
                  f"{stamp}HINT:  Perhaps you meant to reference the table \"t{i}\".",
                  f"{stamp}STATEMENT:  select * from missing_{i} where id = {i}"] if i % 2 else \
                 [f"{stamp}ERROR:  duplicate key value violates unique constraint \"t_pkey\"",
                  f"{stamp}DETAIL:  Key (id)=({i}) already exists.",
                  f"{stamp}STATEMENT:  insert into t{i % 5} values ({i}, 'x{i}')"]
    result = mine_lines(lines, None, None)
    assert sum(result.counts.values()) == 120  # 60 connections, 60 errors: STATEMENT, HINT and DETAIL belong to them
    assert sorted(t.text for t in result.templates.values()) == [
        "connection authorized: user=<*> database=shop", "duplicate key value violates unique constraint <STR>",
        "relation <STR> does not exist at character <NUM>"]
    assert sum(n for (_, level), n in result.counts.items() if level == "error") == 60


def test_lines_that_the_format_does_not_parse_right_after_an_error_are_more_of_its_message():
    # Tomcat's record of a JSP's exception: the message, a source excerpt and a marker line, none indented
    lines = []
    for i in range(40):
        stamp = f"07-Dec-2026 03:57:{i % 60:02d}.{i:03d}"
        lines += [f"{stamp} INFO [http-nio-8080-exec-{i % 9}] org.apache.catalina.core.ApplicationContext.log "
                  f"served order {i}"]
        if i % 4 == 0:
            lines += [f"{stamp} SEVERE [http-nio-8080-exec-{i % 9}] org.apache.catalina.core.StandardWrapperValve."
                      f"invoke Servlet.service() for servlet [jsp] threw exception [An exception occurred processing "
                      f"[/index.jsp] at line [{i % 7 + 3}]", "", f"{i % 7 + 2}:   String id = request.getParameter(\"id\");",
                      f"{i % 7 + 3}:   if (id == null) {{", "", "Stacktrace:] with root cause",
                      f"\tjava.lang.IllegalStateException: order {i} has no items", "\t\tat org.apache.jsp.index_jsp"]
        if i % 10 == 5:
            lines += ["a line the program printed without a header"]  # after an INFO record: a record of its own
    result = mine_lines(lines, None, None)
    assert result.format == "catalina" and result.unparsed == 4
    assert sorted((t.text, level, n) for (tid, level), n in result.counts.items() for t in [result.templates[tid]]) == [
        ("Servlet.service() for servlet [jsp] threw exception [An exception occurred processing [/index.jsp] at line "
         "[<NUM>]", "error", 10), ("a line the program printed without a header", "unknown", 4),
        ("served order <NUM>", "info", 40)]
    after_error = ["2026-03-03 04:02:11,003 ERROR [main] com.shop.Pay: payment failed", "2026-03-03 04:02:12"]
    assert len(mine_lines(after_error * 30, None, None).counts) == 2  # a line that begins with a time is its own
    dump = mine_lines(log4j_lines(60) + [after_error[0]] + [f"row {i} of a dump" for i in range(250)], None, None)
    assert sum(dump.counts.values()) == 60 + 1 + 51  # an error's record holds 200 lines at most: its own, 199 more


REDIS_CRASH = [  # a real Redis 7.0's report of a crash (DEBUG SEGFAULT), trimmed: its sections' lines are written
    # without Redis's header, some look like dates to a header test (gcc_version:12.2.0), registers after an empty message
    "=== REDIS BUG REPORT START: Cut & paste starting from here ===",
    "9073:M 07 Dec 2026 21:50:52.409 # Redis 7.0.15 crashed by signal: 11, si_code: 2",
    "9073:M 07 Dec 2026 21:50:52.409 # Crashed running the instruction at: 0x55efc511075f",
    "", "------ STACK TRACE ------", "EIP:", "redis-server *:16399(debugCommand+0x26f)[0x55efc511075f]", "",
    "Backtrace:", "/lib/x86_64-linux-gnu/libc.so.6(+0x3c050)[0x7f7bb545a050]",
    "redis-server *:16399(debugCommand+0x26f)[0x55efc511075f]", "redis-server *:16399(call+0xdb)[0x55efc50ab6fb]", "",
    "------ REGISTERS ------", "9073:M 07 Dec 2026 21:50:52.410 # ",
    "RAX:00007f7bb61c2000 RBX:00007f7bb4c9d200", "RCX:00007f7bb551f9b3 RDX:0000000000000001",
    "9073:M 07 Dec 2026 21:50:52.410 # (00007ffd4ab9f5ef) -> 0000003300000035", "",
    "------ INFO OUTPUT ------", "# Server", "redis_version:7.0.15", "redis_mode:standalone", "gcc_version:12.2.0",
    "process_id:9073", "", "# Clients", "connected_clients:1", "", "------ CLIENT LIST OUTPUT ------",
    "id=4 addr=127.0.0.1:46478 laddr=127.0.0.1:16399 fd=8 name= age=0 idle=0 flags=N db=0", "",
    "------ FAST MEMORY TEST ------", "9073:M 07 Dec 2026 21:50:52.411 # Bio thread for job type #0 terminated",
    "*** Preparing to test memory region 55efc5285000 (126976 bytes)", ".O.O.O.O.O.O.O.O.O.O.O.O.O.O",
    "Fast memory test PASSED, however your memory can still be broken.", "",
    "=== REDIS BUG REPORT END. Make sure to include from START to END. ===", "",
    "       Please report the crash by opening an issue on github:",
]


def redis_lines(n: int, start: int = 0) -> list[str]:
    return [f"9073:M 07 Dec 2026 21:50:{(start + i) % 60:02d}.{i:03d} - Accepted 127.0.0.1:{53220 + i}" for i in range(n)]


def test_the_sections_of_a_crash_report_are_one_record_each_under_the_programs_format():
    result = mine_lines(redis_lines(100) + REDIS_CRASH + redis_lines(20, 1), None, None)
    texts = {result.templates[tid].text: level for (tid, level) in result.counts}
    assert result.format == "redis"
    assert {"------ STACK TRACE ------", "------ REGISTERS ------", "------ INFO OUTPUT ------",
            "------ CLIENT LIST OUTPUT ------", "------ FAST MEMORY TEST ------"} <= set(texts)
    assert texts["------ STACK TRACE ------"] == texts["------ INFO OUTPUT ------"] == "unknown"  # no level: a title
    assert not [text for text in texts if "redis_version" in text or text.startswith(("RAX", "EIP", "Backtrace", "gcc"))]
    assert texts["Redis <NUM> crashed by signal: <NUM>, si_code: <NUM>"] == "error"  # (its `#` is a warning)
    assert result.counts[(next(tid for tid, t in result.templates.items() if t.text == "Accepted <IP>"), "debug")] == 120
    assert len(result.templates) == 16  # before: 31, a template of each line of the sections (278 on the whole report)


def test_a_program_that_crashes_soon_after_it_starts_is_still_read_by_its_format():
    crash_loop = (redis_lines(3) + REDIS_CRASH) * 4  # each start's few lines, then its crash report
    assert mine_lines(crash_loop, None, None).format == "redis"  # before: none, its sections' lines outnumbered Redis's


MARIADB_CRASH = [  # a real MariaDB 10.11's report of a segmentation fault (trimmed): none of its lines has a header
    "261207 21:49:15 [ERROR] mariadbd got signal 11 ;",
    "Sorry, we probably made a mistake, and this is a bug.", "",
    "Server version: 10.11.19-MariaDB-0+deb12u1 source revision: 5843d8475120241667a7ce0f8a1abb6c9b43a273", "",
    "Thread pointer: 0x0", "Attempting backtrace. Include this in the bug report.",
    "mariadbd(my_print_stacktrace+0x2e)[0x559fb26cc87e]", "libc_sigaction.c:0(__restore_rt)[0x7f130fa5a050]",
    "Writing a core file...", "Resource Limits (excludes unlimited resources):",
    "Limit                     Soft Limit           Hard Limit           Units     ",
    "Max stack size            8388608              unlimited            bytes     ",
]


def test_a_crash_report_without_headers_after_an_error_is_its_record_though_a_version_looks_like_a_date():
    routine = [f"2026-12-07 21:49:{i % 60:02d} 0 [Note] InnoDB: Buffer pool(s) load completed at 261207 21:49:{i % 60:02d}"
               for i in range(40)]
    result = mine_lines(routine + MARIADB_CRASH + routine[:5], None, None)
    texts = {result.templates[tid].text: (level, n) for (tid, level), n in result.counts.items()}
    assert texts["mariadbd got signal <NUM> ;"] == ("error", 1)
    assert len(texts) == 2  # before: 9, the report's lines from its `Server version: 10.11.19-...` on records of their own


def rabbitmq_lines(n: int) -> list[str]:
    return [f"2026-12-07 21:42:03.{249531 + 97 * i:06d}+00:00 [info] <0.223.0> Running boot step step_{i % 7} defined by app "
            f"rabbit" for i in range(n)]


RABBITMQ_CRASH = [  # a real RabbitMQ 3.10's report of a crashed server process (trimmed): the header before every line
    "2026-12-07 22:42:26.754185+00:00 [error] <0.605.0> ** Generic server rabbit_vhost_sup_sup terminating",
    "2026-12-07 22:42:26.754185+00:00 [error] <0.605.0> ** When Server state == {state,",
    "2026-12-07 22:42:26.754185+00:00 [error] <0.605.0>                          {local,rabbit_vhost_sup_sup},",
    "2026-12-07 22:42:26.754185+00:00 [error] <0.605.0>                          simple_one_for_one,",
    "2026-12-07 22:42:26.754185+00:00 [error] <0.605.0>                          0,5,[],0,rabbit_vhost_sup_sup,[]}",
    "2026-12-07 22:42:26.754185+00:00 [error] <0.605.0> ",
    "2026-12-07 22:42:26.755185+00:00 [error] <0.281.0>     supervisor: {local,rabbit_sup}",
    "2026-12-07 22:42:26.755185+00:00 [error] <0.281.0>     errorContext: child_terminated",
    "2026-12-07 22:42:26.755185+00:00 [error] <0.281.0>     reason: {function_clause,",
    "2026-12-07 22:42:26.755185+00:00 [error] <0.281.0>                 [{supervisor2,handle_call,",
]


def test_lines_that_repeat_a_headers_microsecond_before_an_indented_message_are_one_record():
    result = mine_lines(rabbitmq_lines(60) + RABBITMQ_CRASH + rabbitmq_lines(10), None, None)
    texts = {result.templates[tid].text: (level, n) for (tid, level), n in result.counts.items()}
    assert texts == {"Running boot step step_<NUM> defined by app rabbit": ("info", 70),  # before: 11 templates, the
                     # crash's 10 lines 10 records
                     "** Generic server rabbit_vhost_sup_sup terminating": ("error", 1),
                     "** When Server state == {state,": ("error", 1), "supervisor: {local,rabbit_sup}": ("error", 1)}
    same_microsecond = ["2013-12-31 17:39:54.767815 [WARNING] sofia_reg.c:1500 SIP auth challenge (INVITE) on 'ext'",
                        "2013-12-31 17:39:54.767815 [WARNING] sofia_reg.c:1500 SIP auth failure (INVITE) on 'ext'"]
    assert sum(mine_lines(same_microsecond * 20, None, None).counts.values()) == 40  # two events: not indented
    same_millisecond = ["2026-12-07 22:42:26.754 [main] INFO com.shop.Orders - totals:",
                        "2026-12-07 22:42:26.754 [main] INFO com.shop.Orders -     order 1: 3 items"]
    assert sum(mine_lines(same_millisecond * 20, None, None).counts.values()) == 40  # a millisecond is no proof


def pg_csvlog(i: int) -> list[str]:
    """One record of PostgreSQL's csvlog (26 columns, as PostgreSQL 15 writes them): the message is the 14th, the
    severity the 12th; a message or a query may hold newlines inside its quotes."""
    stamp, session = f"2026-12-07 03:06:{i % 60:02d}.{i:03d} UTC", f"6b1622a1.{6600 + i:x}"
    head = f'{stamp},"app","shop",{6600 + i},"[local]",{session},{i % 9 + 1},"SELECT",2026-12-07 03:06:00 UTC,3/{i},0,'
    tail = ',,,,,,,,"psql","client backend",,0'
    return [[f'{head}LOG,00000,"connection authorized: user=app{i % 3} database=shop application_name=psql"{tail}'],
            [f'{head}ERROR,22P02,"invalid input syntax for type integer: ""abc{i}""",,,,,,"select', "  id,",
             f"  v from t{i % 7} where id = 'abc{i}'\",37,,\"psql\",\"client backend\",,0"],
            [f'{head}LOG,00000,"automatic vacuum of table ""shop.public.t{i % 7}"": index scans: {i % 2}',
             f"pages: 0 removed, {i} remain, {i} scanned (100.00% of total)",
             f'tuples: {i} removed, {i * 3} remain, 0 are dead but not yet removable"{tail}'],
            [f'{head}FATAL,3D000,"database ""nodb{i % 4}"" does not exist"{tail}']][i % 4]


def test_csv_records_are_found_with_their_message_and_level_columns_and_a_quoted_newline_does_not_split_one():
    records = [pg_csvlog(i) for i in range(80)]
    result = mine_lines([line for record in records for line in record], None, None)
    assert result.format == "csv:14:12" and result.unparsed == 0
    assert sorted(t.text for t in result.templates.values()) == [
        "automatic vacuum of table <STR>: index scans: <NUM>", "connection authorized: user=<*> database=shop "
        "application_name=psql", "database <STR> does not exist", "invalid input syntax for type integer: <STR>"]
    assert sum(result.counts.values()) == 80  # a line inside a quoted field is its record's, not one of its own
    assert {level for _, level in result.counts} == {"info", "error", "critical"}
    ids = iter(result.template_ids)  # every line of a record gets the record's template id
    assert all(len({next(ids) for _ in record}) == 1 for record in records)


def test_a_csv_quote_that_never_closes_does_not_swallow_the_records_after_it():
    broken = pg_csvlog(3)[0].replace('"database ""nodb3"" does not exist"', '"database ""nodb3 does not exist')
    records = [pg_csvlog(i) for i in range(40)] + [[broken]] + [pg_csvlog(i) for i in range(40, 80)]
    result = mine_lines([line for record in records for line in record], None, None)
    assert sum(result.counts.values()) == 81  # the record after the broken one begins a record of its own


def test_a_declared_csv_format_names_its_columns_and_a_malformed_one_is_refused():
    parsed = resolve("csv:14:12").parse(pg_csvlog(3)[0])
    assert (parsed.content, parsed.level) == ('database "nodb3" does not exist', "critical")
    assert parsed.fields["Field2"] == "app" and resolve("csv:14").parse(pg_csvlog(3)[0]).level is None
    assert format_from_state("csv:14:12").name == "csv:14:12" and format_from_state("csv:x") is None  # a restart
    for bad in ("csv:x", "csv:0", "csv:1:2:3"):
        with pytest.raises(ConfigError) as err:
            parse_logs_config({"logs": {"sources": [{"name": "a", "stdin": True, "format": bad}]}})
        assert "logs.sources[0].format" in str(err.value) and "csv" in str(err.value)


def test_lines_with_a_steady_number_of_commas_in_their_sentences_are_not_taken_for_csv():
    lines = [f"2026-12-07 03:06:{i % 60:02d} orders: order {i} late, item {i % 5}, qty {i % 3}, store {i % 4}, by {i}s"
             for i in range(60)]
    assert not detect(lines).format.name.startswith("csv")
    assert not detect([line.replace(",", ",,") for line in lines]).format.name.startswith("csv")  # `a,, b` too
    logcat = [f"03-17 16:13:{i % 60:02d}.{i:03d}  1702  8671 D PowerManagerService: ready=true,policy={i % 4},"
              f"wakefulness=1,wksummary=0x23,bootcompleted=true" for i in range(60)]  # a list of pairs after a header
    assert not detect([line.replace("03-17", "17-03-2026") for line in logcat]).format.name.startswith("csv")


def test_logfmt_values_are_unquoted_and_a_line_without_a_message_key_is_mined_without_its_time_and_level():
    logfmt = resolve("logfmt")
    quoted = logfmt.parse(SAMPLES["logfmt"][0][2])
    assert quoted.content == "query failed" and quoted.fields["error"] == 'pq: relation "items" does not exist'
    assert logfmt.parse(SAMPLES["logfmt"][0][0]).fields["component"] == "scrape manager"
    bare = logfmt.parse('ts=2026-03-03T04:02:11.003Z caller=main.go:590 level=info build_context="(go=go1.22.4)"')
    assert bare.content == 'caller=main.go:590 build_context="(go=go1.22.4)"' and bare.level == "info"
    audit = logfmt.parse("type=SYSCALL msg=audit(1700000000.123:456): arch=c000003e syscall=59 success=yes "
                         'comm="bash" msg=\'op=login res=success\'')
    assert audit.content == "type=SYSCALL audit(1700000000.123:456): arch=c000003e syscall=59 success=yes " \
                            "comm=\"bash\" msg='op=login res=success'"  # a bare message ending in ':' introduces the rest
    events = [f"type={kind} msg=audit(17000000{i:02d}.123:{456 + i}): pid={3000 + i} uid=0 auid=4294967295 ses=4294967295 "
              f"msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=10.0.0.{i} terminal=ssh res=failed'"
              for i, kind in enumerate(["USER_LOGIN", "USER_AUTH", "USER_ACCT", "CRED_DISP"] * 15)]
    assert len(mine_lines(events).templates) == 4  # one per kind of event, as auditd's `type` says
    for not_logfmt in ("panic: runtime error: index out of range [3] with length 3", "goroutine 1 [running]:",
                       'level=info msg="unterminated', "a=1"):
        assert logfmt.parse(not_logfmt) is None


def test_prometheus_own_logfmt_lines_give_one_template_per_message_with_their_levels():
    lines = [f'ts=2026-03-03T04:02:1{i}.0Z caller=head.go:713 level=info component=tsdb msg="WAL segment loaded" '
             f'segment={i} maxSegment=3' for i in range(3)]
    lines += [f'ts=2026-03-03T04:02:2{i}.0Z caller=notifier.go:530 level=error component=notifier count={i} '
              f'msg="Error sending alert" err="dial tcp 127.0.0.1:9093: connect: connection refused"' for i in range(2)]
    result = mine_lines(lines, None, None)
    assert result.format == "logfmt"
    assert result.template_ids[:3] == [result.template_ids[0]] * 3 != result.template_ids[3:]
    assert result.template_ids[3] == result.template_ids[4]
    texts = {tid: template.text for tid, template in result.templates.items()}
    assert {(texts[tid], level): n for (tid, level), n in result.counts.items()} == {
        ("WAL segment loaded", "info"): 3, ("Error sending alert", "error"): 2}


def _coloured(code, text):
    return f"\x1b[{code}m{text}\x1b[0m"


def test_colour_codes_are_removed_so_coloured_lines_are_parsed_like_plain_ones():
    uvicorn = [f'{_coloured(32, "INFO")}:     127.0.0.1:5234{i} - "{_coloured(1, "GET /items HTTP/1.1")}" '
               f'{_coloured(32, "200 OK")}' for i in range(3)]
    uvicorn.append(f'{_coloured(31, "ERROR")}:    Exception in ASGI application')
    spring = [f'\x1b[2m2026-03-02 10:41:4{i}.747\x1b[0;39m \x1b[32m INFO\x1b[0;39m \x1b[35m4711\x1b[0;39m '
              f'\x1b[2m---\x1b[0;39m \x1b[2m[           main]\x1b[0;39m \x1b[36mc.e.demo.Application\x1b[0;39m '
              f'\x1b[2m:\x1b[0;39m Started Application in 2.13{i} seconds' for i in range(3)]
    spring.append("\x1b]8;;https://example.org/runbook\x1b\\runbook\x1b]8;;\x1b\\ \x1b[1Gprinted with a link")
    for lines, plain_format, expected in [(uvicorn, "level-column:0", {("<IP> - \"GET /items HTTP/<NUM>\" <NUM> OK",
                                                                       "info"): 3,
                                                                      ("Exception in ASGI application", "error"): 1}),
                                          (spring, "springboot", {("Started Application in <NUM> seconds", "info"): 3,
                                                                  ("runbook printed with a link", "unknown"): 1})]:
        result = mine_lines(lines, None, None)
        texts = {tid: template.text for tid, template in result.templates.items()}
        assert result.format == plain_format
        assert {(texts[tid], level): n for (tid, level), n in result.counts.items()} == expected


@pytest.mark.parametrize("lines, level", [
    (["Mar  3 04:02:11 mail postfix/smtpd[1234]: warning: hostname mx.example does not resolve to address 10.0.0.1"],
     "warning"),  # Postfix
    (["Mar 03 04:02:11 auth: Error: pam_authenticate() failed: Authentication failure"], "error"),  # Dovecot: no host
    (["2026-03-03 04:02:11 worker: [Info]: job 12 done"], "info"),
    (["2026-03-03 04:02:11 worker: Errors: 3 jobs failed"], "unknown"),  # not a level word
    (["[07-Dec-2026 11:40:34 UTC] PHP Warning:  Undefined variable $cart in /srv/app/cart.php on line 10"], "warning"),
    (["[07-Dec-2026 11:40:34 UTC] PHP Notice:  cache miss for key user:1:0 in /srv/app/cache.php on line 12"], "info"),
    (["[07-Dec-2026 11:40:34 UTC] PHP Fatal error:  Uncaught Error: Call to a member function on null"], "critical"),
    (["2026-03-03 04:02:11 client: Connection error: reset by peer"], "error"),  # a word names what failed
    (["2026-03-03 04:02:11 loader: Reading config: /etc/app.yaml"], "unknown"),  # only common level words after one
    (["2026-03-03 04:02:11 loader: one two three four error: x"], "unknown"),  # at most three words before it
])
def test_a_message_that_starts_with_its_level_word_and_a_colon_gets_that_level(lines, level):
    result = mine_lines(lines * 3, None, None)
    assert {lvl for (_, lvl) in result.counts} == {level}


def test_a_warning_pythons_warnings_module_wrote_is_a_warning_with_its_source_line():
    lines = []
    for i in range(30):
        lines.append(f"2026-12-07 12:14:{i:02d},726 INFO shop.orders: order {i} paid")
        if i % 3 == 0:
            lines += [f"/srv/shop/orders.py:10: DeprecationWarning: old_api() is deprecated (call {i})", "  old_api(i)"]
    result = mine_lines(lines, None, None)
    assert counts_by_text_and_level(result) == {("order <NUM> paid", "info"): 30, (
        "<PATH>:<NUM>: DeprecationWarning: old_api() is deprecated (call <NUM>)", "warning"): 10}


@pytest.mark.parametrize("warning", [  # a real Node.js 20's, on its standard error
    "(node:28418) [DEP0005] DeprecationWarning: Buffer() is deprecated due to security and usability issues. Please use "
    "the Buffer.alloc(), Buffer.allocUnsafe(), or Buffer.from() methods instead.",
    "(node:28418) Warning: pool is almost full",
    "(node:28418) MaxListenersExceededWarning: Possible EventEmitter memory leak detected. 11 x listeners added to "
    "[EventEmitter]. MaxListeners is 10. Use emitter.setMaxListeners() to increase limit",
])
def test_a_process_warning_nodejs_wrote_is_a_warning(warning):
    lines = [f"2026-12-08T01:20:{i:02d}.000Z INFO request {i} served" for i in range(30)] + [warning]
    levels = {level for (text, level) in counts_by_text_and_level(mine_lines(lines, None, None)) if "(node:" in text}
    assert levels == {"warning"}  # before: unknown


def test_a_message_passed_on_by_another_program_takes_the_more_severe_level_it_states():
    fpm = ["[07-Dec-2026 12:33:33] NOTICE: fpm is running, pid 29813",  # PHP-FPM, decorate_workers_output = no
           "[07-Dec-2026 12:33:33] NOTICE: ready to handle connections"]
    workers = []
    for i in range(10):
        workers += [f"NOTICE: PHP message: order {i} done",
                    f"NOTICE: PHP message: PHP Warning:  Undefined array key {i} in /var/www/app.php on line 4"]
        if i % 3 == 0:
            workers += [f"[07-Dec-2026 12:33:3{i}] WARNING: [pool www] child 29815, script '/var/www/app.php' executing "
                        "too slow", "NOTICE: PHP message: PHP Fatal error:  Uncaught RuntimeException: unavailable in "
                        "/var/www/app.php:6", "Stack trace:", "#0 {main}", "  thrown in /var/www/app.php on line 6"]
    formats = set()
    for share in (1, 8):  # fpm's own lines few (its workers' `NOTICE:` a level column) or many (whole lines mined)
        result = mine_lines(fpm * share + workers, None, None)
        formats.add(result.format)
        levels = {text: level for (text, level) in counts_by_text_and_level(result)}
        level_of_text = {part: {level for text, level in levels.items() if part in text}
                         for part in ("PHP Warning:", "PHP Fatal error:", "order <NUM> done")}
        assert level_of_text == {"PHP Warning:": {"warning"}, "PHP Fatal error:": {"critical"},  # not fpm's NOTICE
                                 "order <NUM> done": {"info"}}, result.format
    assert formats == {"level-column:0", "none"}


def test_a_dump_that_a_message_ending_in_a_colon_announces_is_part_of_its_record():
    lines = []
    for i in range(20):
        lines.append(f"2026-12-07 12:30:{i:02d} [scrapy.core.engine] DEBUG: Crawled (200) <GET http://shop/p{i}.html>")
        if i % 5 == 0:  # Scrapy's settings, printed by pprint after the line that names them
            lines += ["2026-12-07 12:30:47 [scrapy.crawler] INFO: Overridden settings:",
                      "{'LOG_LEVEL': 'DEBUG',", " 'RETRY_TIMES': 1,", " 'SPIDER_LOADER_WARN_ONLY': True}"]
    result = mine_lines(lines, None, None)
    assert counts_by_text_and_level(result) == {("Crawled (<NUM>) <GET <URL>>", "debug"): 20,
                                                ("Overridden settings:", "info"): 4}
    assert result.format == "generic"


def test_a_php_fatal_errors_stack_trace_is_part_of_its_record_not_records_of_their_own():
    fatal = ["[07-Dec-2026 11:40:34 UTC] PHP Fatal error:  Uncaught RuntimeException: inventory unavailable in "
             "/srv/app/stock.php:20", "Stack trace:", "#0 /srv/app/index.php(21): reserve()", "#1 {main}",
             "  thrown in /srv/app/stock.php on line 20"]
    warning = "[07-Dec-2026 11:40:35 UTC] PHP Warning:  Undefined array key 11 in /srv/app/users.php on line 7"
    result = mine_lines((fatal + [warning] * 20) * 2, None, None)  # as in a real log: 4% of its lines are traces
    texts = {tid: template.text for tid, template in result.templates.items()}
    assert {(texts[tid], level): n for (tid, level), n in result.counts.items()} == {
        ("PHP Fatal error: Uncaught RuntimeException: inventory unavailable in <PATH>:<NUM>", "critical"): 2,
        ("PHP Warning: Undefined array key <NUM> in <PATH> on line <NUM>", "warning"): 40}


def test_a_syslog_line_without_a_host_is_not_read_with_its_program_as_the_host():
    parsed = detect(["Mar 03 04:02:11 imap-login: Info: Login: user=<alice>, method=PLAIN"] * 20)
    assert parsed.format.name == "generic"
    assert parsed.format.parse("Mar 03 04:02:11 imap-login: Info: Login: user=<a>").fields["Component"] == "imap-login"


def test_a_bsd_syslog_tag_without_a_colon_after_its_pid_is_still_the_program_but_a_bracket_in_a_sentence_is_not():
    launchd = [f"Jul  1 09:0{i}:55 mac-7 com.apple.xpc.launchd[1] (com.apple.quicklook.{i}) Service exited with "
               f"abnormal code: {i}" for i in range(5)]
    kernel = [f"Jul  1 09:1{i}:02 mac-7 kernel[0]: Wake reason: XHC{i}" for i in range(5)]
    found = detect((launchd + kernel) * 10)
    assert found.format.name == "syslog"  # before: 50% parsed, so `generic` won and the tag stayed in the message
    parsed = found.format.parse(launchd[0])
    assert (parsed.fields["Component"], parsed.fields["Pid"]) == ("com.apple.xpc.launchd", "1")
    assert parsed.content == "(com.apple.quicklook.0) Service exited with abnormal code: 0"
    assert resolve("syslog").parse("Oct 11 10:00:00 host job of size [123] left the queue") is None


def test_day_month_year_with_slashes_is_a_timestamp_in_the_header_and_in_the_message():
    lines = [f'[0{day}/Mar/2026 04:02:1{day}] "GET /api HTTP/1.1" 200 12' for day in range(1, 4)]
    assert detect(lines * 10).format.name == "generic"
    result = mine_lines([f"cache entry written 0{d}/Mar/2026 04:02:11 expires 0{d}/Apr/2026:04:02:11" for d in range(3)],
                        None, None)
    assert [template.text for template in result.templates.values()] == ["cache entry written <TS> expires <TS>"]


def test_a_byte_order_mark_and_nul_bytes_do_not_hide_the_header():
    lines = ["\ufeff2026-03-03 04:02:11,003 INFO  [main] shop.Orders: order 881 paid",
             "\x00\x00\x002026-03-03 04:02:12,003 INFO  [main] shop.Orders: order 882 paid",
             "2026-03-03 04:02:13,003 INFO  [main] shop.Orders: order 883 paid"]
    result = mine_lines(lines, None, None)
    assert result.format == "log4j" and result.unparsed == 0
    assert [result.templates[tid].text for tid in result.template_ids] == ["order <NUM> paid"] * 3


def test_a_logparser_pattern_cuts_the_header_and_its_level_field_gives_the_level():
    line_format = compile_pattern("<Date> <Time> <Pid> <Level> <Component>: <Content>")
    parsed = line_format.parse("260303 040215 4410 WARN shop.Cache$Evictor: evicted 40 entries")
    assert parsed.content == "evicted 40 entries" and parsed.level == "warning"
    assert parsed.fields["Component"] == "shop.Cache$Evictor"
    assert compile_pattern(r"\[<Time>\] <Program> - <Content>").parse("[10.30 16:49:06] app.exe - open").content == "open"


@pytest.mark.parametrize("bad, message", [
    ("nosuchpreset", "unknown format preset"),
    ("<Date> <Time> <Level>", "needs a <Content>"),
    ("<Date> <Date> <Content>", "appears twice"),
])
def test_a_bad_format_is_refused_naming_the_key(bad, message):
    with pytest.raises(ConfigError) as err:
        parse_logs_config({"logs": {"sources": [{"name": "a", "stdin": True, "format": bad}]}})
    assert "logs.sources[0].format" in str(err.value) and message in str(err.value)


def test_header_shapes_without_a_preset_are_found_from_the_lines():
    level_column = [f"- {1000 + i} 2026.03.03 R{i % 7}-M1 RAS KERNEL {('INFO', 'FATAL')[i % 2]} cache error {i}"
                    for i in range(50)]
    assert detect(level_column).format.name == "level-column:6"
    colon_column = [f"- {1000 + i} 2026.03.03 node{i % 5} Mar 3 04:02:{i % 60:02d} node{i % 5}/node crond[{i}]: "
                    f"session closed for user u{i % 3}" for i in range(50)]
    found = detect(colon_column).format
    assert found.name == "colon-column:8" and found.parse(colon_column[0]).content == "session closed for user u0"
    delimited = [f"20260303-04:02:{i % 60:02d}:{i}|Step_Service|{3000 + i}|onStep changed {i}" for i in range(50)]
    found = detect(delimited).format
    assert found.name == "delimited:pipe:3" and found.parse(delimited[1]).content == "onStep changed 1"
    stamped = [f"[03.03 04:02:{i % 60:02d}] app{i % 3}.exe - {MESSAGES[i % 10]}" for i in range(50)]
    found = detect(stamped).format
    assert found.name == "stamp-prefix>separator:2"  # `program - message`: the program is header too
    assert found.parse(stamped[0]).content == MESSAGES[0]
    assert found.parse(stamped[0]).fields["Header"] == "app0.exe -"
    one_message = [f"[03.03 04:02:{i % 60:02d}] app{i % 3}.exe - host{i}:443 open through proxy" for i in range(50)]
    assert detect(one_message).format.name == "stamp-prefix"  # one message: nothing tells its words from header
    assert detect(["free text without any header", "more free text here"] * 30).format.name == "none"


@pytest.mark.parametrize("lines, name, content, level", [
    (["2026-03-03 04:02:11.513 UTC [2222] LOG:  checkpoint starting: time",
      '2026-03-03 04:02:12.001 UTC [2231] ERROR:  relation "items" does not exist at character 15'],
     "generic", "checkpoint starting: time", "info"),  # PostgreSQL's default log_line_prefix
    (["2026-03-03  4:02:11 0 [Note] InnoDB: Compressed tables use zlib 1.2.13",
      "2026-03-03  4:02:12 8 [Warning] Aborted connection 8 to db: 'shop' user: 'app'"],
     "generic_plain", "InnoDB: Compressed tables use zlib 1.2.13", "info"),  # MariaDB: space-padded hour, thread
    # id; a plugin's `InnoDB:` begins some of its messages, so it stays in them
    (["[2980] 2026/03/03 04:02:11.077469 [INF] Starting nats-server",
      "[2980] 2026/03/03 04:02:12.077537 [WRN] Slow consumer detected"],
     "golog", "Starting nats-server", "info"),  # three-letter levels (NATS, Serilog, zerolog); NATS'
    # pid before Go's date is read as the prefix of Go's log (before 2026-12-07, seventeenth session: level-column:3)
    (["2026-03-03T04:02:11.123456Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections.",
      "2026-03-03T04:02:12.123456Z 8 [ERROR] [MY-010584] [Repl] Replica SQL for channel '': Error on query."],
     "generic", "[Server] /usr/sbin/mysqld: ready for connections.", "info"),  # MySQL 8: [System], error codes
    (["2026-12-07 11:55:07.548 UTC [18686] LOG C-0x55ee43ca79a0: test/app@127.0.0.1:57232 login attempt: db=test",
      "2026-12-07 11:55:07.551 UTC [18686] WARNING C-0x55ee43ca79a0: nodb/app@127.0.0.1:57232 pooler error: no db"],
     "generic", "test/app@127.0.0.1:57232 login attempt: db=test", "info"),  # PgBouncer: LOG without a colon
])
def test_database_and_broker_headers_are_cut_and_their_levels_read(lines, name, content, level):
    found = detect(lines * 20).format
    first, second = (found.parse(line) for line in lines)
    assert (found.name, first.content, first.level) == (name, content, level)
    assert second.level in ("error", "warning")


# A real Icecast 2.4's lines (a `module/function` after the level) and a real supervisord 4.2's at loglevel=debug (its
# levels: CRIT, ERRO, WARN, INFO, DEBG, TRAC, BLAT)
ICECAST = ["DBUG fserve/fserve_add_client Adding client to file serving engine",
           "INFO fserve/fserve_client_create checking for file /stream1 (/usr/share/icecast2/web/stream1)",
           "WARN fserve/fserve_client_create req for file \"/usr/share/icecast2/web/stream1\" No such file",
           "DBUG admin/admin_handle_request Got command (stats)",
           "INFO admin/admin_handle_request Bad or missing password on admin command request (command: stats)",
           "EROR connection/connection_setup_sockets Could not create listener socket on port 8000"]
SUPERVISORD = ["CRIT Supervisor is running as root.  Privileges were not dropped",
               "INFO spawned: 'worker' with pid 10113",
               "DEBG 'worker' stdout output:",
               "DEBG received SIGCHLD indicating a child quit",
               "WARN exited: worker (exit status 1; not expected)",
               "ERRO pool www event buffer overflowed, discarding event 3",
               "TRAC poll: tick",
               "BLAT read event caused by <POutputDispatcher at 140 for <Subprocess at 139 with name worker>>"]


@pytest.mark.parametrize("header, records, levels, cut", [
    ("[2026-12-07  12:03:{s:02d}] ", ICECAST, ["debug", "info", "warning", "debug", "info", "error"], 2),
    ("2026-12-07 16:03:{s:02d},{i:03d} ", SUPERVISORD,
     ["critical", "info", "debug", "debug", "warning", "error", "debug", "debug"], 1),
])
def test_four_letter_levels_are_read_and_cut_with_a_component_with_a_slash_after_them(header, records, levels, cut):
    lines = [header.format(s=i % 60, i=i) + records[i % len(records)] for i in range(8 * len(records))]
    found = detect(lines).format
    parsed = [found.parse(line) for line in lines[:len(records)]]
    assert [p.level for p in parsed] == levels
    assert [p.content for p in parsed] == [record.split(" ", cut)[cut] for record in records]


# Records as zap writes them (a real Caddy 2.6's, an OpenTelemetry Collector's, a Kubernetes operator's in
# controller-runtime's development mode): level, logger, caller, message, fields
ZAP_RECORDS = [
    ("info", "admin", None, "admin endpoint started", {"address": "localhost:2020", "enforce_origin": False}),
    ("debug", "http.handlers.reverse_proxy", None, "selected upstream", {"dial": "127.0.0.1:9", "total_upstreams": 1}),
    ("error", "http.log.error.log0", None, "dial tcp 127.0.0.1:9: connect: connection refused",
     {"request": {"remote_ip": "127.0.0.1", "method": "GET"}, "duration": 0.000593, "status": 502}),
    ("info", None, "service@v0.88.0/telemetry.go:84", "Setting up own telemetry...", None),
    ("info", None, "exporterhelper/queue_sender.go:131", "Exporting failed. Will retry the request after interval.",
     {"kind": "exporter", "data_type": "metrics", "name": "otlp", "interval": "5.52s"}),
    ("info", "setup", None, "starting manager", None),
    ("error", "setup", "cmd/main.go:123", "problem running manager", {"error": "no matches for kind \"Widget\""}),
    ("warn", "controller-runtime.metrics", None, "Serving metrics without authentication", {"bindAddress": ":8080"}),
]


def zap_console_line(i: int, level: str, logger: str | None, caller: str | None, message: str, fields) -> str:
    columns = [f"2026-12-07T16:05:{i % 60:02d}.{i:03d}Z", level.upper() if i % 2 else level, logger, caller, message,
               json.dumps(fields, separators=(", ", ": ")) if fields else None]
    return "\t".join(column for column in columns if column is not None)


def test_zaps_console_columns_are_read_apart_and_give_the_templates_of_its_json_encoder():
    records = [ZAP_RECORDS[i % len(ZAP_RECORDS)] for i in range(64)]
    console = [zap_console_line(i, *record) for i, record in enumerate(records)]
    found = detect(console).format
    parsed = [found.parse(line) for line in console[:len(ZAP_RECORDS)]]
    assert [p.content for p in parsed] == [message for _, _, _, message, _ in ZAP_RECORDS]
    assert [p.fields.get("Logger") for p in parsed] == [logger for _, logger, _, _, _ in ZAP_RECORDS]
    assert [p.fields.get("Caller") for p in parsed] == [caller for _, _, caller, _, _ in ZAP_RECORDS]
    assert [json.loads(p.fields["Fields"]) if "Fields" in p.fields else None for p in parsed] == [
        fields for *_, fields in ZAP_RECORDS]
    assert [p.level for p in parsed] == ["info", "debug", "error", "info", "info", "info", "error", "warning"]
    as_json = [json.dumps({"level": level, "ts": 1796659529.1 + i, "logger": logger, "caller": caller, "msg": message,
                           **(fields or {})}) for i, (level, logger, caller, message, fields) in enumerate(records)]
    templates = {t.text for t in mine_lines(console).templates.values()}
    assert templates == {t.text for t in mine_lines(as_json).templates.values()} and len(templates) == 8


@pytest.mark.parametrize("line, content", [
    ("2026-12-07 16:05:52 INFO\tcolumn one\tcolumn two", "column one\tcolumn two"),  # no one-word logger first
    ("2026-12-07 16:05:52 INFO started\t{\"x\": 1}", "started\t{\"x\": 1}"),  # the level not followed by a tab
    ("2026-12-07T16:05:52Z\tINFO\tstarted\t{\"x\": 1}", "started"),  # a message alone is no logger
])
def test_tabs_elsewhere_leave_the_message_as_it_is(line, content):
    assert resolve("generic").parse(line).content == content


def test_postgresql_session_lines_lose_their_user_and_database_with_debians_default_prefix():
    # Debian's log_line_prefix `%m [%p] %q%u@%d `: the user and database on a session's lines only (a real PostgreSQL 15)
    server = ["LOG:  checkpoint starting: time", "LOG:  database system is ready to accept connections",
              "LOG:  listening on IPv4 address \"127.0.0.1\", port 5432"]
    session = [("nosuch@nodb", 'FATAL:  role "nosuch" does not exist'), ("app@shop", 'FATAL:  role "bob" does not exist'),
               ("app@shop", 'ERROR:  relation "items" does not exist at character 15'),
               ("[unknown]@[unknown]", "LOG:  connection received: host=127.0.0.1 port=40312")]
    lines = [f"2026-12-07 16:22:{i % 60:02d}.{i:03d} UTC [{19700 + i}] " + (
        server[i % 3] if i % 2 else "{} {}".format(*session[i // 2 % 4])) for i in range(80)]
    found = detect(lines).format
    parsed = found.parse(lines[0])
    assert (parsed.content, parsed.level, parsed.fields["User"], parsed.fields["Database"]) == (
        'role "nosuch" does not exist', "critical", "nosuch", "nodb")
    templates = {t.text for t in mine_lines(lines).templates.values()}
    assert templates == {"checkpoint starting: time", "database system is ready to accept connections",
                         "listening on IPv4 address <STR>, port <NUM>", "role <STR> does not exist",
                         "relation <STR> does not exist at character <NUM>",
                         "connection received: host=<IP> port=<NUM>"}


def test_a_prefix_ending_in_a_number_and_a_colon_before_the_level_is_cut():
    # pgpool-II's default log_line_prefix `%m: %a pid %p: ` (a real pgpool-II 4.3), then PostgreSQL's `LEVEL:  `
    apps = ["main", "child", "sr_check_worker", "health_check0", "psql", "pcp_main"]
    messages = ["LOG:  process started", "DEBUG:  authenticate kind = 5", "LOG:  health check failed on node 1",
                "DEBUG:  creating new connection to backend", "ERROR:  unable to forward message to frontend",
                "DEBUG:  reading startup packet", "LOG:  failover: set new primary node: 0"]
    lines = [f"2026-12-07 16:22:{i % 60:02d}.{i:03d}: {apps[i % 6]} pid {19700 + i}: {messages[i % 7]}"
             for i in range(84)]
    assert {t.text for t in mine_lines(lines).templates.values()} == {
        message.split(":  ", 1)[1].replace("5", "<NUM>").replace("1", "<NUM>").replace("0", "<NUM>")
        for message in messages}
    assert [detect(lines).format.parse(line).level for line in lines[:5]] == ["info", "debug", "info", "debug", "error"]
    # BIND's file channel with print-category and print-severity at debug level: `category: debug 3: message`
    functions = ["zone_settimer", "zone_timer", "zone_maintenance", "dns_zone_maintenance", "dns_zone_verifydb"]
    bind = [f"07-Dec-2026 16:02:{i % 60:02d}.{i:03d} general: debug {1 + i % 3}: {functions[i % 5]}: zone z{i}.test/IN: enter"
            for i in range(50)]
    assert {t.text for t in mine_lines(bind).templates.values()} == {f"{f}: zone <*> enter" for f in functions}


def test_a_syslog_header_after_a_date_and_a_time_with_a_space_is_read_where_a_program_and_pid_follow():
    # ProFTPD's own SystemLog: `2026-12-07 16:19:25,975 vm proftpd[19103] localhost (localhost[127.0.0.1]): message`
    lines = [f"2026-12-07 16:19:{i % 60:02d},{i:03d} vm proftpd[{19100 + i}] localhost: {MESSAGES[i % 10]}"
             for i in range(60)]
    found = detect(lines).format
    parsed = found.parse(lines[0])
    assert found.name.startswith("syslog") and (parsed.fields["Host"], parsed.fields["Component"]) == ("vm", "proftpd")
    assert resolve("syslog").parse("2026-12-07 16:19:25 INFO worker: started") is None  # no program[pid]: not syslog
    assert resolve("syslog").parse("2026-12-07 16:19:25.123 7f10 Info: Privoxy version 3.0.34") is None


def test_apaches_vhost_combined_lines_are_access_lines_with_their_virtual_host():
    # a real Apache 2.4's other_vhosts_access.log (Debian's default for virtual hosts: `%v:%p %h %l %u %t "%r" ...`)
    lines = [f'{("shop.test", "api.test")[i % 2]}:80 127.0.0.1 - - [07/Dec/2026:16:37:{i % 60:02d} +0000] '
             f'"GET {("/", "/api/items/")[i % 2]}{i if i % 2 else ""} HTTP/1.1" {(200, 404)[i % 2]} 471 "-" "curl/7.88.1"'
             for i in range(40)]
    found = detect(lines).format
    parsed = found.parse(lines[1])
    assert found.name == "access"
    assert (parsed.content, parsed.fields["VHost"], parsed.fields["Status"]) == ("GET /api/items/1 HTTP/1.1", "api.test:80",
                                                                                "404")
    assert {t.text for t in mine_lines(lines).templates.values()} == {"GET / HTTP/<NUM>", "GET <PATH> HTTP/<NUM>"}


def test_a_component_padded_before_its_pid_is_cut_and_the_level_after_it_read():
    # a real fail2ban 1.0's own log: Python's `%(asctime)s %(name)-24s[%(process)d]: %(levelname)-7s %(message)s`, the
    # name padded to 24 characters and glued to the pid where it is longer
    records = [("fail2ban.server", "INFO", "Starting Fail2ban v1.0.2"),
               ("fail2ban.filterpyinotify", "DEBUG", "Event queue size: 1"),
               ("fail2ban.filter", "INFO", "[sshd] Found 10.0.0.1 - 2026-12-07 16:40:46"),
               ("fail2ban.database", "WARNING", "New database created. Version '4'"),
               ("fail2ban.filterpyinotify", "DEBUG", "Watch WD=1 (None) removed"),
               ("fail2ban.actions", "NOTICE", "[sshd] Ban 10.0.0.9")]
    lines = [f"2026-12-07 16:40:{i % 60:02d},{i:03d} {name:<24}[{24013 + i % 2}]: {level:<7} {message}"
             for i, (name, level, message) in enumerate(records * 10)]
    found = detect(lines).format
    parsed = [found.parse(line) for line in lines[:6]]
    assert [p.content for p in parsed] == [message for *_, message in records]
    assert [p.level for p in parsed] == ["info", "debug", "info", "warning", "debug", "info"]
    assert [(p.fields["Component"], p.fields.get("Pid")) for p in parsed] == [
        (f"{name}[{24013 + i % 2}]", None) if len(name) >= 24 else (name, str(24013 + i % 2))
        for i, (name, *_) in enumerate(records)]


def test_sssd_levels_are_read_from_its_debug_mask_bits():
    lines = SAMPLES["sssd"][0]
    parsed = [resolve("sssd").parse(line) for line in lines]
    assert [p.level for p in parsed] == ["warning", "debug", "info", "error"]  # 0x3f7c0: several bits, important info
    assert [p.fields["Component"] for p in parsed] == ["nss", "nss", "be[files]", "sssd[pam]"]


@pytest.mark.parametrize("day", ["Feb  7", "Feb 07", "Feb 7", "Feb 17"])
def test_a_syslog_day_is_read_padded_with_a_space_or_a_zero_or_not_padded(day):
    # RFC 3164 pads the day with a space, journalctl with a zero; some writers do not pad it at all
    lines = [f"{day} 16:01:{i % 60:02d} host-{i % 3} sshd[{5100 + i}]: {message} from 10.0.0.{i % 250}"
             for i, message in enumerate(["Invalid user admin", "Connection closed by", "Failed password for root",
                                          "Accepted publickey for deploy", "Disconnected from user"] * 12)]
    parsed = resolve("syslog").parse(lines[0])
    assert detect(lines).format.name == "syslog"
    assert (parsed.fields["Timestamp"], parsed.fields["Host"], parsed.content) == (
        f"{day} 16:01:00", "host-0", "Invalid user admin from 10.0.0.0")
    assert [t.text for t in mine_lines([f"seen {day} 16:01:07 on host-1"]).templates.values()] == [
        "seen <TS> on host-<NUM>"]


# A real Prometheus 2.42's own lines (logfmt), as a journald-fed syslog writes them after its header
PROMETHEUS_LINES = [
    'ts=2026-12-07T14:16:03.872Z caller=main.go:513 level=info msg="No time or size retention was set so using the '
    'default time retention" duration=15d',
    'ts=2026-12-07T14:16:03.872Z caller=main.go:551 level=info msg="Starting Prometheus Server" mode=server '
    'version="(version=2.42.0+ds, branch=debian/sid, revision=2.42.0+ds-5+deb12u1)"',
    'ts=2026-12-07T14:16:03.874Z caller=web.go:503 level=info component=web msg="Start listening for connections" '
    'address=127.0.0.1:19090',
    'ts=2026-12-07T14:16:11.809Z caller=main.go:823 level=warn msg="Received SIGTERM, exiting gracefully..."',
    'ts=2026-12-07T14:16:11.810Z caller=main.go:848 level=info msg="Stopping scrape discovery manager..."',
]


def test_logfmt_records_in_syslog_lines_are_read_as_records_with_their_messages_and_levels():
    lines = [f"Dec  7 14:16:{i % 60:02d} vm prometheus[4242]: {line}" for i, line in enumerate(PROMETHEUS_LINES * 8)]
    found = detect(lines).format
    parsed = [found.parse(line) for line in lines[:5]]
    assert found.name == "syslog+logfmt"
    assert [p.level for p in parsed] == ["info", "info", "info", "warning", "info"]
    assert (parsed[1].content, parsed[1].fields["Host"], parsed[1].fields["caller"]) == (
        "Starting Prometheus Server", "vm", "main.go:551")
    assert format_from_state(found.name).name == found.name == resolve("syslog+logfmt").name  # kept, and declarable
    assert len(set(mine_lines(lines).template_ids)) == 5  # before: `level=info msg=<STR>`, one template for four


@pytest.mark.parametrize("program, inner, name", [
    ("kubelet[1234]", '{letter}1207 14:16:{s:02d}.{us:06d}    1234 kubelet.go:{line}] "{message}" node="node-1"',
     "syslog+klog"),  # kubelet under systemd
    ("java[880]", "2026-12-07 14:16:{s:02d},{ms:03d} {word} [main] com.shop.Orders - {message}",
     "syslog+log4j"),  # a Java service's stdout
    ("backup.py[77]", "{word}:backup:{message}", "syslog+python"),  # Python's logging default, no time
])
def test_another_programs_line_format_inside_syslog_lines_is_read_with_its_level(program, inner, name):
    messages = ["Attempting to register node", "Successfully registered node", "Failed to get container stats",
                "Sync loop iteration done", "Error syncing pod, skipping"]
    letters, words = "IIEIE", ["INFO", "INFO", "ERROR", "INFO", "ERROR"]
    lines = [f"Dec  7 14:16:{i % 60:02d} node-1 {program}: " + inner.format(
        letter=letters[i % 5], word=words[i % 5], s=i % 60, us=i * 7919 % 10 ** 6, ms=i % 1000, line=60 + i % 5,
        message=messages[i % 5]) for i in range(60)]
    found = detect(lines).format
    parsed = found.parse(lines[2])
    assert found.name == name and format_from_state(name).name == name == resolve(name).name
    assert parsed.level == "error" and parsed.content.startswith("Failed to get container stats")
    assert len(set(mine_lines(lines).template_ids)) == 5


def test_logfmt_records_among_other_programs_lines_in_syslog_are_read_where_they_stand():
    plain = ["sshd[{pid}]: Accepted publickey for deploy from 10.0.0.{n} port 50122 ssh2",
             "CRON[{pid}]: (root) CMD (run-parts /etc/cron.hourly)",
             "systemd[1]: Started Session {n} of user deploy.",
             "kernel: [12345.678] eth0: link up",
             "sshd[{pid}]: Disconnected from user deploy 10.0.0.{n} port 50122"]
    lines = [f"Dec  7 14:16:{i % 60:02d} vm " + (f"prometheus[4242]: {PROMETHEUS_LINES[i % 5]}" if i % 10 < 3
                                                else plain[i % 5].format(pid=3000 + i, n=i % 200))
             for i in range(100)]
    found = detect(lines).format
    record, text = found.parse(lines[1]), found.parse(lines[4])
    assert found.name == "syslog+logfmt"
    assert (record.content, record.level) == ("Starting Prometheus Server", "info")
    assert text == resolve("syslog").parse(lines[4])  # a line of text is read as syslog alone reads it


@pytest.mark.parametrize("kubelet_lines", [4, 7])  # of every 10: below and above the share that reads one kind alone
def test_a_nodes_syslog_with_kubelets_klog_and_containerds_logfmt_reads_both_where_they_stand(kubelet_lines):
    def line(i: int) -> str:
        if i % 10 < kubelet_lines:
            return (f'kubelet[1234]: {"IE"[i % 2]}1207 14:16:{i % 60:02d}.{i:06d}    1234 kubelet.go:{2000 + i % 2}] '
                    f'"{("SyncLoop UPDATE", "Error syncing pod, skipping")[i % 2]}" pod="default/web-{i % 3}"')
        if i % 10 < kubelet_lines + 2:
            return (f'containerd[880]: time="2026-12-07T14:16:{i % 60:02d}Z" level={("info", "error")[i % 2]} '
                    f'msg="{("StartContainer returns successfully", "failed to pull image")[i % 2]}" id={i:08x}')
        return f"systemd[1]: Started Session {i} of user deploy."
    lines = [f"Dec  7 14:16:{i % 60:02d} node-1 {line(i)}" for i in range(100)]
    found = detect(lines).format
    containerd = next(i for i in range(1, 100, 2) if "containerd" in lines[i])
    kubelet_error, containerd_error, systemd = (found.parse(lines[i]) for i in (1, containerd, 9))
    assert found.name == "syslog+klog|logfmt" and format_from_state(found.name).name == found.name
    assert [(p.content, p.level) for p in (kubelet_error, containerd_error)] == [
        ('Error syncing pod, skipping pod="default/web-1"', "error"), ("failed to pull image", "error")]
    assert systemd == resolve("syslog").parse(lines[9])


@pytest.mark.parametrize("record", [
    'ts=2026-12-07T14:16:{s:02d}Z caller=main.go:{s} level={level} msg="{message}"',  # logfmt
    '{{"level":"{level}","ts":1796652938.1,"caller":"etcdserver/server.go:{s}","msg":"{message}"}}',  # JSON (zap)
])
def test_structured_records_after_a_bare_time_are_read_as_records(record):
    # `kubectl logs --timestamps` and `docker logs -t` write the time before each of the program's lines
    messages = ["starting server", "slow fdatasync", "added member", "ready to serve", "applied snapshot"]
    lines = [f"2026-12-07T14:16:{i % 60:02d}.123456789Z "
             + record.format(s=i % 60, level=("info", "warn")[i % 2], message=messages[i % 5]) for i in range(40)]
    found = detect(lines).format
    parsed = found.parse(lines[1])
    assert found.name.endswith(("+logfmt", "+json"))
    assert (parsed.content, parsed.level) == ("slow fdatasync", "warning")


def test_a_level_word_under_one_level_key_wins_over_a_number_under_another():
    # PowerDNS Recursor 4.8's structured log: `level` is a verbosity, `prio` the severity
    line = ('Dec 07 14:15:38 msg="Failed to update . records" subsystem="housekeeping" level="0" prio="Warning" '
            'tid="0" ts="1796652939.434" rcode="3"')
    assert resolve("generic+logfmt").parse(line).level == "warning"
    assert resolve("json").parse('{"level":0,"prio":"Error","msg":"x"}').level == "error"
    assert resolve("json").parse('{"level":30,"msg":"x"}').level == "info"  # pino's tens, alone, as before
    assert resolve("logfmt").parse('level=error msg="x" prio=Notice').level == "error"  # two words: the first key


def test_logrus_four_letter_levels_before_a_bracket_are_read_and_elsewhere_are_words():
    # logrus's text formatter on a terminal (k3s, dockerd in the foreground): `ERRO[0001] message  key=value`
    levels = {"TRAC": "debug", "DEBU": "debug", "INFO": "info", "WARN": "warning", "ERRO": "error", "FATA": "critical",
              "PANI": "critical"}
    lines = [f"{word}[{i:04d}] {message}" for i, (word, message) in enumerate(zip(
        levels, ["loading plugin  id=io.containerd.snapshotter.v1.native", "serving...  address=/run/k3s/containerd.sock",
                 "Starting k3s v1.28.4+k3s2", "Unable to read /etc/rancher/k3s/k3s.yaml", "could not get container  "
                 "error=\"not found\" id=abc123", "starting kubernetes: preparing server: bootstrap data already found",
                 "runtime error: invalid memory address"]))]
    result = mine_lines(lines * 8)
    assert sorted({level for _, level in result.counts}) == sorted(set(levels.values()))
    assert level_of("a TRAC and an ERRO in a sentence", re.compile(DEFAULT_LEVEL)) == "unknown"


def test_a_process_tag_closed_by_a_pipe_after_the_time_is_part_of_the_header():
    # Squid's cache.log: each process writes its name and a pipe (`kid1|`); a helper writes the pipe after the time
    squid = ["2026/12/07 13:48:49 kid1| Set Current Directory to /var/spool/squid",
             "2026/12/07 13:48:49 kid1| Accepting HTTP Socket connections at conn3 local=[::]:3128 remote=[::] FD 12",
             "2026/12/07 13:48:49| pinger: ICMP socket opened.",
             "2026/12/07 13:48:53 kid2| Processing Configuration File: /etc/squid/squid.conf (depth 0)"]
    found = detect(squid * 10).format
    parsed = [found.parse(line) for line in squid]
    assert found.name.startswith("generic")
    assert [p.content for p in parsed] == ["Set Current Directory to /var/spool/squid",
                                           "Accepting HTTP Socket connections at conn3 local=[::]:3128 remote=[::] FD 12",
                                           "pinger: ICMP socket opened.",
                                           "Processing Configuration File: /etc/squid/squid.conf (depth 0)"]
    assert [p.fields.get("Process") for p in parsed] == ["kid1", "kid1", None, "kid2"]


@pytest.mark.parametrize("name", ["generic", "generic_plain"])
def test_a_component_naming_a_level_and_a_facility_gives_the_level(name):
    # Icinga 2's `severity/facility:` after the time; a component with a slash that is no level stays the component
    line_format = resolve(name)
    warning = line_format.parse("[2026-12-07 13:52:41 +0000] warning/PluginCheckTask: Check command for object "
                                "'vm' (PID: 11589) terminated with exit code 128")
    information = line_format.parse("[2026-12-07 13:52:40 +0000] information/cli: Loading configuration file(s).")
    plain = line_format.parse("2026-12-07 13:52:40 api/v1: request served")
    assert (warning.level, warning.fields["Facility"]) == ("warning", "PluginCheckTask")
    assert warning.content.startswith("Check command for object")
    assert (information.level, information.content) == ("info", "Loading configuration file(s).")
    assert plain.level is None and "Facility" not in plain.fields
    assert plain.content in ("request served", "api/v1: request served")


@pytest.mark.parametrize("line, content, level", [
    ("2026-03-03 04:02:11 [info     ] order paid                     order_id=881",  # structlog's console
     "order paid                     order_id=881", "info"),
    ("2026-03-03 04:02:11.003 | ERROR    | app.db:query:17 - query failed after 3 retries",  # loguru
     "app.db:query:17 - query failed after 3 retries", "error"),
    ("[2026-03-03 04:02:11 +0000] [1234] [INFO] Booting worker with pid: 1235",  # gunicorn
     "Booting worker with pid: 1235", "info"),
    ('2026-03-03 04:02:11.123 UTC [1234] DEBUG1:  autovacuum: processing database "shop"',  # PostgreSQL
     'processing database "shop"', "debug"),
    ("[2026-03-03T04:02:11,123][WARN ][o.e.c.r.a.DiskThresholdMonitor] [node-1] high disk watermark [90%] exceeded",
     "[node-1] high disk watermark [90%] exceeded", "warning"),  # Elasticsearch: bracketed level and logger
    ("2026-03-03 04:02:11.456+0000 [id=31]\tSEVERE\thudson.model.Executor#run: Executor #0 for built-in node died",
     "Executor #0 for built-in node died", "error"),  # Jenkins: a context before the level, tabs
    ("[2026-03-03T04:02:11.789+0000] {taskinstance.py:1937} ERROR - Task failed with exception",
     "Task failed with exception", "error"),  # Airflow: a braced source before the level, " - " after it
    ('2026-03-03T04:02:11.123Z\tERROR\tstore/db.go:88\tquery failed\t{"table": "orders"}',
     "query failed", "error"),  # zap's console encoder: the caller and a tab, the fields after another
    ("[2026-03-03 04:02:11.123][12][warning][config] [source/common/config/grpc_stream.h:201] config stream closed",
     "[source/common/config/grpc_stream.h:201] config stream closed", "warning"),  # Envoy: brackets without spaces
    ("2026-03-03T04:02:11.123Z pid=4410 tid=ov3abc class=HardJob jid=b4a577edbccf1d805744efa9 elapsed=0.4 INFO: done",
     "done", "info"),  # Sidekiq 6 and later: context pairs before the level
    ("[2026/03/03 04:02:11] [ warn] [engine] failed to flush chunk '1-1701.flb', retry in 10 seconds",
     "failed to flush chunk '1-1701.flb', retry in 10 seconds", "warning"),  # Fluent Bit: the level padded in front
    ("2026-03-03 04:02:11.003 +01:00 [ERR] Request failed for order 881",
     "Request failed for order 881", "error"),  # Serilog's file sink: a zone with a colon after a space
    ("2026/03/03 04:02:11| WARNING: Could not determine this machines public hostname",
     "Could not determine this machines public hostname", "warning"),  # Squid's cache.log: a pipe after the time
    ("2026-03-03 04:02:11: (server.c.1704) server started (lighttpd/1.4.69)",
     "(server.c.1704) server started (lighttpd/1.4.69)", None),  # lighttpd's error log: a colon after the time
    ("2026-03-03T04:02:11.258Z silly: cache probe for order 8553", "cache probe for order 8553", "debug"),  # winston
    ("2026-03-03T04:02:11.259Z verbose: order 7 state machine step 2", "order 7 state machine step 2", "debug"),
    ("2026-03-03 04:02:11.342 <TRACE> peer1: Connect delayed by 5 seconds", "Connect delayed by 5 seconds",
     "debug"),  # BIRD's own log file: the level in angle brackets, the protocol's name as the component
    ("2026-03-03T04:02:11Z E! [inputs.nginx] Error in plugin: dial tcp 127.0.0.1:80: connect: connection refused",
     "Error in plugin: dial tcp 127.0.0.1:80: connect: connection refused", "error"),  # Telegraf: wlog's level letters
    ("2026-03-03T04:02:11Z D! [outputs.influxdb] Wrote batch of 55 metrics in 7.32ms", "Wrote batch of 55 metrics in 7.32ms",
     "debug"),
    ("2026-03-03T04:02:11Z I! Loading config: /etc/telegraf/telegraf.conf", "Loading config: /etc/telegraf/telegraf.conf",
     "info"),
    ("130324  8:24:09 [Warning] Access denied for user 'root'@'220.95.238.171' (using password: NO)",  # MySQL 5's
     "Access denied for user 'root'@'220.95.238.171' (using password: NO)", "warning"),  # yyMMdd H:mm:ss
    ("261207 21:49:15 [ERROR] mariadbd got signal 11 ;", "mariadbd got signal 11 ;", "error"),  # MariaDB 10.11's crash
])
def test_the_generic_shape_takes_padded_piped_and_numbered_level_words(line, content, level):
    parsed = resolve("generic").parse(line)
    assert (parsed.content, parsed.level) == (content, level)
    assert detect([line] * 20).format.name in ("generic", "bracket_fields")  # see the next test


def test_a_module_path_with_double_colons_is_the_component_not_part_of_the_message():
    line = "2026-03-03T04:02:11.003456Z  WARN shop::orders::cache: evicted 40 entries"  # Rust's tracing
    for name in ("log4j", "generic"):
        parsed = resolve(name).parse(line)
        assert (parsed.content, parsed.level, parsed.fields["Component"]) == (
            "evicted 40 entries", "warning", "shop::orders::cache")


def test_a_sample_that_one_message_fills_keeps_that_messages_words_before_a_bracket_at_the_same_place():
    users = ["root", "admin", "nobody", "alice", "oracle", "test"]
    lines = [f"Dec 07 06:{i // 60:02d}:{i % 60:02d} imap-login: Info: Disconnected: Aborted login by logging out (auth "
             f"failed, 1 attempts in {i % 20 + 2} secs): user=<{users[i % 6]}>, method=PLAIN, rip=203.0.113.{i % 50}, "
             f"lip=10.0.0.2, secured, session=<{i:08x}AAAB>" for i in range(60)]
    result = mine_lines(["Dec 07 06:00:00 master: Info: Dovecot v2.3.19.1 starting up for imap", *lines])
    texts = {result.templates[tid].text for tid, _ in result.counts}
    assert len(texts) == 2, texts
    assert any(text.startswith("Disconnected: Aborted login by logging out (auth failed,") for text in texts), texts


def test_lines_of_fields_with_a_separator_deep_in_them_are_mined_whole_not_cut_down_to_their_last_values():
    # Squid's native access.log: time, elapsed ms, client, result/status, bytes, method, URL, user, hierarchy, type.
    # Cut at its `-` (the user), every request was `HIER_DIRECT/<IP> text/html` or `HIER_NONE/- text/html`
    results = ["TCP_MISS/200", "TCP_MEM_HIT/200", "TCP_DENIED/403", "TCP_MISS/404", "TCP_REFRESH_MODIFIED/200"]
    methods = ["GET", "HEAD", "POST"]
    lines = [f"{1796633356 + i}.{i * 37 % 1000:03d} {i * 7 % 900:6d} 127.0.0.{i % 9 + 1} {results[i % 5]} "
             f"{200 + i * 13} {methods[i % 3]} http://127.0.0.1:8099/page{i % 40}.html - "
             f"{'HIER_NONE/-' if 'HIT' in results[i % 5] or 'DENIED' in results[i % 5] else 'HIER_DIRECT/127.0.0.1'} "
             f"text/html" for i in range(150)]
    result = mine_lines(lines)
    texts = {result.templates[tid].text for tid, _ in result.counts}
    assert result.format == "none"
    assert len(texts) == 12, texts  # 4 results (the status is a number) x 3 methods
    assert "<NUM> <NUM> <IP> TCP_DENIED/<NUM> <NUM> HEAD <URL> - HIER_NONE/- text/html" in texts


@pytest.mark.parametrize("line, content, level", [
    ("[2026-03-03 04:02:11 +0000] [1234] [INFO] Booting worker with pid: 1235",  # gunicorn
     "Booting worker with pid: 1235", "info"),
    ("[2026-03-03T04:02:11,123][WARN ][o.e.c.r.a.DiskThresholdMonitor] [node-1] high disk watermark [90%] exceeded",
     "high disk watermark [90%] exceeded", "warning"),  # Elasticsearch: the node is a field too
    ("[2026-03-03 04:02:11.123][12][warning][config] [source/common/config/grpc_stream.h:201] config stream closed",
     "config stream closed", "warning"),  # Envoy: the source location is a field too
    ("[2026/03/03 04:02:11] [ warn] [engine] failed to flush chunk '1-1701.flb', retry in 10 seconds",
     "failed to flush chunk '1-1701.flb', retry in 10 seconds", "warning"),  # Fluent Bit: the component
    ("[2026-03-03T04:02:11.003+0000][0.016s][info][gc,heap] Heap region size: 1M", "Heap region size: 1M",
     "info"),  # the JVM's unified logging, which generic read as a time and left the rest in the message
    ("[0.018s][warning][gc,init  ] ConcGCThreads: 2 offset 16", "ConcGCThreads: 2 offset 16", "warning"),
])
def test_lines_that_bracket_every_field_lose_all_of_them_and_keep_their_level(line, content, level):
    found = detect([line] * 20).format
    parsed = found.parse(line)
    assert (found.name, parsed.content, parsed.level) == ("bracket_fields", content, level)


def miner(**kwargs):
    return make_miner("s", max_templates=200, template_max_length=200, level_pattern=DEFAULT_LEVEL, similarity=0.4,
                      depth=4, **kwargs)


def counts_by_text_and_level(result):
    """An offline result's records per (template text, level)."""
    return {(result.templates[tid].text, level): n for (tid, level), n in result.counts.items()}


def mine(source, lines):
    assembler, ids = RecordAssembler(DEFAULT_CONTINUATION), []
    for line in lines:
        record = assembler.feed(line)
        if record:
            ids += [template_id for _, template_id in source.add(record, 0.0)]
    record = assembler.flush()
    if record:
        ids += [template_id for _, template_id in source.add(record, 0.0)]
    return ids + [template_id for _, template_id in source.finish_detection()]


def test_the_level_word_after_a_timestamp_survives_masking_when_lines_are_mined_whole():
    source = miner(line_format="none")
    ids = mine(source, ["2026-03-03 04:02:11,978 ERROR pool exhausted after 30 tries"] * 3)
    text = source.snapshot()[0][ids[0]].text
    assert text.startswith("<TS> ERROR pool exhausted"), text


def test_paths_urls_emails_macs_durations_sizes_and_quoted_strings_are_masked():
    source = miner(line_format="none")
    ids = mine(source, [
        'upload of "report q1.pdf" (10KB) by ann@example.com from 00:1a:2b:3c:4d:5e to https://s3.example.com/b?x=1 '
        "saved in /var/data/reports/q1.pdf took 12ms",
        'upload of "x.csv" (3.5 MB) by bob@example.org from 00:1A:2B:3C:4D:5F to https://s3.example.com/c '
        "saved in /srv/up/x.csv took 2.5s",
    ])
    assert ids[0] == ids[1]
    text = source.snapshot()[0][ids[0]].text
    for mask in ("<STR>", "<SIZE>", "<EMAIL>", "<MAC>", "<URL>", "<PATH>", "<DURATION>"):
        assert mask in text, (mask, text)


@pytest.mark.parametrize("message, masked", [
    ("Relay listener (dynamic+https://relays.syncthing.net/endpoint) starting", "Relay listener (<URL>) starting"),
    ("blocked using rbl.example.com; https://www.spamhaus.org/query/ip/1.2.3.4; from=<x@example.org>",
     "blocked using rbl.example.com; <URL>; from=<<EMAIL>>"),
    ("see https://example.com/docs/x.", "see <URL>."),
    ("listenerSupervisor@dynamic+https://relays.syncthing.net/endpoint: service failed",
     "listenerSupervisor@<URL>: service failed"),
    ("fetched http://evil.example/x.txt? and https://en.wikipedia.org/wiki/Foo_(bar) from http://[::1]:9090/metrics",
     "fetched <URL> and <URL> from <URL>"),  # an empty query, brackets the URL opens: its own
])
def test_a_url_leaves_the_bracket_or_punctuation_that_closes_the_text_around_it(message, masked):
    assert BuiltinMasking().mask(message, "<", ">") == masked


@pytest.mark.parametrize("message, masked", [
    ("GET /search?q=shoes&page=2 HTTP/1.1", "GET /search?q=<VALUE>&page=<VALUE> HTTP/<NUM>"),
    ("POST /write?db=shop HTTP/1.1", "POST /write?db=<VALUE> HTTP/<NUM>"),
    ("GET /api/v1/items?sort=name;order=asc&empty= HTTP/2.0", "GET <PATH>?sort=<VALUE>;order=<VALUE>&empty= HTTP/<NUM>"),
    ("GET /list?tag[]=red&tag[]=blue HTTP/1.1", "GET /list?tag[]=<VALUE>&tag[]=<VALUE> HTTP/<NUM>"),
    ("login failed (POST /?_task=login&_action=login)", "login failed (POST /?_task=<VALUE>&_action=<VALUE>)"),
    ("see /docs?topic=masks.", "see /docs?topic=<VALUE>."),  # a bracket or a full stop at its end: the text's
    ("is that so? yes=1", "is that so? yes=<NUM>"),  # a question's mark, no query
])
def test_a_query_strings_values_are_masked_and_its_keys_kept(message, masked):
    assert BuiltinMasking().mask(message, "<", ">") == masked


def test_access_lines_whose_query_strings_differ_in_words_are_one_template_per_path_and_keys():
    source = miner()
    lines = [f'10.0.0.{i} - - [07/Dec/2026:19:00:{i:02d} +0000] "GET /search?q={word} HTTP/1.1" 200 {100 + i}'
             for i, word in enumerate(["shoes", "hats", "socks", "gloves", "scarves", "boots"] * 5)]
    ids = mine(source, lines)
    assert len(set(ids)) == 1  # before: a template per word, for ever (a plain word is never taken for a value)
    assert source.snapshot()[0][ids[0]].text == "GET /search?q=<VALUE> HTTP/<NUM>"


def test_a_quoted_http_request_line_keeps_its_method_so_requests_by_method_are_templates_of_their_own():
    source = miner(line_format="none")
    lines = [f'10.0.0.{i}:5123{i} - "{method} /api/orders/{i} HTTP/1.1" 200 OK took "{i} ms"'
             for method in ("GET", "POST") for i in range(3)]
    ids = mine(source, lines)
    texts = source.snapshot()[0]
    assert ids[:3] == [ids[0]] * 3 and ids[3:] == [ids[3]] * 3 and ids[0] != ids[3]
    assert texts[ids[3]].text == '<IP> - "POST <PATH> HTTP/<NUM>" <NUM> OK took <STR>'  # other quoted strings: <STR>


@pytest.mark.parametrize("first, second, mask", [
    ("peer fe80::1%eth0 went away", "peer 2001:db8::8a2e:370:7334 went away", "peer <IP> went away"),
    ("client 0:0:0:0:0:0:0:1 refused", "client fe80:0:0:0:200:f8ff:fe21:67cf refused", "client <IP> refused"),
    ("listening on [::1]:9093", "listening on [2001:db8::2]:9094", "listening on [<IP>]:<NUM>"),
    ("compaction took 1h2m3.5s", "compaction took 5m30s", "compaction took <DURATION>"),  # Go's durations
    ("lock held by com.shop.Cart@1b6d3586", "lock held by com.shop.Cart@abcdef7", "lock held by com.shop.Cart@<NUM>"),
    ("packed 9.7kB into the tarball", "packed 12 kB into the tarball", "packed <SIZE> into the tarball"),  # SI's kB
    ("sent 512B to the peer", "sent 3 B to the peer", "sent <SIZE> to the peer"),  # bytes with a bare B
    ("0279718205B: removed", "0BEE4182059: removed", "<NUM>: removed"),  # Postfix queue ids: hex, one ending in B
    ("wrote docs/content/npm.md in full", "wrote man/man1/npm-run.1 in full", "wrote <PATH> in full"),  # relative
    ("loaded C:\\Program Files (x86)\\My App 2\\bin\\core.dll at boot", "loaded C:\\Windows\\System32\\ntdll.dll at boot",
     "loaded <PATH> at boot"),  # a Windows folder's name with spaces
])
def test_ipv6_addresses_go_durations_si_kilobytes_and_identity_hashes_are_masked(first, second, mask):
    source = miner(line_format="none")
    ids = mine(source, [first, second])
    assert ids[0] == ids[1] and source.snapshot()[0][ids[0]].text == mask


def test_words_with_one_slash_and_dates_are_not_relative_paths():
    masker = BuiltinMasking()
    for text in ("I/O error on TCP/IP and/or UDP", "Content-Type: application/json", "HTTP/1.1 only",
                 "com.shop.app/.MainActivity resumed", "rotated on 2026/12/06"):
        assert "<PATH>" not in masker.mask(text, "<", ">"), text


def test_a_windows_path_ends_at_a_space_after_its_file_name_and_two_paths_stay_two():
    masker = BuiltinMasking()
    assert masker.mask("copied C:\\tmp\\a b to D:\\backup\\b", "<", ">") == "copied <PATH> b to <PATH>"
    assert masker.mask("C:\\Users\\Bob Smith\\My Documents\\q3 report.docx saved", "<", ">") == \
        "<PATH> report.docx saved"


@pytest.mark.parametrize("text", ["std::vector<int> resized", "12:34:56 passed", "dead::beef in code"])
def test_text_with_colons_that_is_no_ipv6_address_is_left_alone(text):
    source = miner(line_format="none")
    ids = mine(source, [text])
    assert "<IP>" not in source.snapshot()[0][ids[0]].text


def test_a_year_first_timestamp_with_slashes_is_masked_as_one_timestamp():
    masked = BuiltinMasking().mask("cache rebuilt at 2026/03/03 04:02:11.003 and at 2026/03/04 04:02:11", "<", ">")
    assert masked == "cache rebuilt at <TS> and at <TS>"


def test_day_month_year_timestamps_are_masked_so_a_month_does_not_split_a_template():
    source = miner(line_format="none")
    ids = mine(source, ["1234:M 15 Jan 2026 10:23:45.123 * Ready to accept connections tcp",
                        "1299:M 02 Feb 2026 00:00:01.001 * Ready to accept connections tcp",
                        "Date: Tue, 03 Mar 2026 04:02:11 +0000 mail to ops@example.com refused by relay",
                        "Date: Wed, 04 Mar 2026 05:12:00 GMT mail to dev@example.com refused by relay",
                        "10.0.0.1:51234 [03/Dec/2026:10:00:00.123] www app/web1 0/0/1/12/13 200 512 \"GET / HTTP/1.1\"",
                        "10.0.0.2:51236 [01/Jan/2027:00:00:01.456] www app/web1 0/0/0/9/9 200 733 \"GET / HTTP/1.1\""])
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[4] == ids[5]
    assert source.snapshot()[0][ids[0]].text == "<NUM>:M <TS> * Ready to accept connections tcp"
    assert source.snapshot()[0][ids[2]].text == "Date: <TS> mail to <EMAIL> refused by relay"
    assert "<TS>" in source.snapshot()[0][ids[4]].text, "HAProxy's bracketed time with milliseconds and no zone"


def test_a_quoted_structured_message_is_mined_by_its_words_and_its_pairs_keep_their_keys():
    lines = ['I1203 10:00:00.123456       1 controller.go:116] "Observed a panic in reconciler" controller="deployment"',
             'I1203 10:00:01.123456       1 controller.go:116] "Observed a panic in reconciler" controller="statefulset"',
             'I1203 10:00:02.123456       1 event.go:307] "Event occurred" object="shop/web-1" kind="Pod" reason="Pulled"',
             'E1203 10:00:03.123456       1 event.go:307] "Event occurred" object="shop/web-2" kind="Pod" reason="Failed"',
             'I1203 10:00:04.123456       1 server.go:88] "Serving securely"',
             'I1203 10:00:05.123456       1 access.go:12] "GET /healthz HTTP/1.1" 200 12']
    result = mine_lines(lines, None, None)
    texts = [result.templates[tid].text for tid in result.template_ids]
    assert result.format == "klog"
    assert texts[0] == texts[1] == "Observed a panic in reconciler controller=<STR>"
    assert texts[2] == texts[3] == "Event occurred object=<STR> kind=<STR> reason=<STR>"
    assert texts[4] == "Serving securely"
    assert texts[5] == '"GET /healthz HTTP/<NUM>" <NUM> <NUM>', "a quoted string followed by more than pairs stays"


def test_short_messages_group_only_with_identical_ones():
    source = miner(line_format="none")
    ids = mine(source, ["connection reset", "connection refused", "connection reset", "generating core.2275",
                        "generating core.17"])
    assert ids[0] == ids[2] != ids[1]
    assert ids[3] == ids[4]  # the number after "core." is masked, so the texts are identical
    assert all(i.startswith("s") for i in ids)


def test_a_short_message_whose_word_takes_many_values_joins_one_template_and_a_closed_set_stays_apart():
    rng = random.Random(7)
    pods = [f"shop/web-{''.join(rng.choice('bcdfghjkmnpqrstvwxz') for _ in range(5))}" for _ in range(40)]
    lines = []
    for pod in pods:
        lines += [f"Started container {pod}", f"visible is {rng.choice(['true', 'false', 'gone'])}",
                  "connection reset by peer now"]
    source = miner(line_format="none")
    ids = mine(source, lines + [f"Started container {pod}" for pod in pods[:3]])
    templates = source.snapshot()[0]
    started = ids[0:len(lines):3]
    assert len(set(started[:MAX_VALUES])) == MAX_VALUES  # each of the first values is a template, as before
    assert set(started[MAX_VALUES:]) == {started[MAX_VALUES]}  # then the place holds values: one template
    assert templates[started[MAX_VALUES]].text == "Started container <*>"
    assert set(ids[len(lines):]) == {started[MAX_VALUES]}  # a value seen before joins it too
    assert len({ids[i] for i in range(1, len(lines), 3)}) == 3  # three states of one property stay three templates
    restored = miner(line_format="none", state=source.state())
    assert mine(restored, [f"Started container {pods[0]}", "Started container shop/web-zzzzz", "visible is gone"]) == [
        started[MAX_VALUES], started[MAX_VALUES], ids[lines.index("visible is gone")]]


IS_VALUE = partial(is_value_token, mask_token=mask_token_pattern(mask_names()))


def test_short_templates_alike_but_in_one_place_hold_a_value_there_only_after_max_values_value_words():
    plain = ShortMessages("p", IS_VALUE)  # plain words are different statements (one-word messages behind a header's level)
    assert len({plain.template(["INFO", f"on{chr(65 + i)}resume"], room=True) for i in range(MAX_VALUES + 4)}) == 20
    short = ShortMessages("s", IS_VALUE)
    words = [f"pkg{chr(97 + i)}.deb" for i in range(MAX_VALUES + 2)]
    ids = [short.template(["deleted", word], room=True) for word in words]
    assert [text for _, text in ids[:MAX_VALUES]] == [f"deleted {word}" for word in words[:MAX_VALUES]]
    assert ids[MAX_VALUES] == ids[MAX_VALUES + 1] == ("s17", "deleted <*>")
    assert short.template(["done"], room=True)[1] == "done"  # one token: no place to compare
    assert short.template(["deleted", "again.deb"], room=False) == ("s17", "deleted <*>")
    assert short.template(["deleted", "again"], room=False) == (None, "deleted again")  # a plain word: its own
    assert short.template(["created", "again"], room=False) == (None, "created again")  # full: a new one has no id
    assert ShortMessages("s", IS_VALUE, short.ids).template(["deleted", "more.deb"], room=True) == ("s17", "deleted <*>")


def test_a_multi_line_record_keeps_its_header_parsed_and_a_line_that_does_not_parse_is_mined_whole_and_counted():
    lines = ["2026-03-03 04:02:11,003 ERROR [main] com.shop.Pay: payment failed",
             "java.lang.IllegalStateException: boom",
             "\tat com.shop.Pay.run(Pay.java:12)",
             "2026-03-03 04:02:12,003 INFO [main] com.shop.Pay: payment ok",
             "this line has no header at all"]
    source = miner(line_format="log4j")
    ids = mine(source, lines)
    assert len(ids) == 3 and source.unparsed == 1
    templates, counts, _ = source.snapshot()
    assert templates[ids[0]].text == "payment failed"
    assert counts[(ids[0], "error")] == 1 and counts[(ids[2], "unknown")] == 1


def test_the_format_is_detected_after_the_first_records_and_kept_in_the_state():
    lines = SAMPLES["klog"][0] * 60
    source = miner()
    first = source.add([lines[0]], 0.0)
    assert first == [] and source.format_name == "detecting"  # waits for more lines
    assert source.tick(30.0) == [] and len(source.tick(61.0)) == 1  # a quiet source is decided after a minute
    assert source.format_name == "klog"
    restored = miner(state=source.state())
    assert restored.format_name == "klog" and restored.add([lines[1]], 62.0)[0][1] is not None


def log4j_lines(n, start=0):
    words = ["payment", "refund", "invoice", "order", "cart", "coupon", "basket"]
    return [f"2026-03-03 04:{(start + i) // 60 % 60:02d}:{(start + i) % 60:02d},003 INFO [main] com.shop.Pay: "
            f"{words[i % 7]} {start + i} {('accepted', 'queued', 'sent to bank')[i % 3]}" for i in range(n)]


def json_lines(n):
    return [json.dumps({"level": ("info", "warn")[i % 2], "msg": f"cache {('miss', 'hit', 'evict')[i % 3]} for key {i}"})
            for i in range(n)]


def test_a_detected_format_that_stops_parsing_the_lines_is_replaced_after_twenty_records_and_the_change_is_said(
        caplog):
    source = miner()
    with caplog.at_level("WARNING", logger="exporter.logs.mining"):
        mine(source, log4j_lines(300) + json_lines(700))  # an upgrade switched the program to JSON lines
    assert source.format_name == "json" and source.format_changes == 1
    assert [r.getMessage() for r in caplog.records] == [
        "logs: source s: format log4j parses 0% of the last 20 records; now json (preset json parses 100% of the lines "
        "looked at)"]
    assert source.unparsed == 20  # the JSON records of the run that was looked at (300 before the early look)
    assert miner(state=source.state()).format_name == "json"  # saved


def test_lines_of_one_file_that_alternate_between_layouts_are_said_once_to_need_a_file_each(caplog):
    source = miner()
    with caplog.at_level("WARNING", logger="exporter.logs.mining"):
        mine(source, log4j_lines(300) + json_lines(300) + log4j_lines(300, start=300) + json_lines(300))
    alternating = [r.getMessage() for r in caplog.records if "alternate" in r.getMessage()]
    assert source.format_changes == 3 and alternating == [
        "logs: source s: its lines alternate between layouts (json, then log4j again): a file reads one layout at a "
        "time, so the lines of the other are mined whole; let each program write a file of its own (docs/logs.md, "
        "Limits)"]
    once = miner()
    with caplog.at_level("WARNING", logger="exporter.logs.mining"):
        caplog.clear()
        mine(once, log4j_lines(300) + json_lines(600))  # an upgrade changes the layout once: nothing alternates
    assert once.format_changes == 1 and not [r for r in caplog.records if "alternate" in r.getMessage()]


def nginx_access(i: int) -> str:
    return (f'10.0.{i % 7}.{i % 250} - - [07/Dec/2026:03:22:{i % 60:02d} +0000] "GET /api/orders/{i} HTTP/1.1" '
            f'{(200, 404)[i % 5 == 0]} {100 + i} "-" "curl/7.88.1"')


def nginx_error(i: int) -> str:
    return [f"2026/12/07 03:22:{i % 60:02d} [error] {29 + i % 2}#{29 + i % 2}: *{i} open() \"/usr/share/nginx/html/p{i}"
            f'.html" failed (2: No such file or directory), client: 10.0.0.{i % 250}, server: , request: "GET /p{i}.html '
            'HTTP/1.1", host: "shop"',
            f"2026/12/07 03:22:{i % 60:02d} [info] {29 + i % 2}#{29 + i % 2}: *{i} client 10.0.0.{i % 250} closed "
            "keepalive connection"][i % 2]


def test_a_second_layout_is_read_though_a_few_lines_of_neither_layout_stand_among_its_lines():
    # etcd 3.4 at startup (a real run's shape): capnslog's lines, raft's Go log lines, and two flag warnings of neither
    capnslog_messages = ("embed: data dir = /tmp/etcd", "etcdserver: starting member 8e9e05c5 in cluster cdf81819",
                         "etcdmain: Go Version: go1.19.8", "pkg/fileutil: started to purge file, max: 5",
                         "embed: listening for peers on 127.0.0.1:2380", "auth: simple token is not signed")
    capnslog = [f"2026-12-07 19:01:27.9{i:05d} I | {capnslog_messages[i % 6]}" for i in range(29)]
    raft_messages = ("became follower at term", "switched to configuration voters=(1027)",
                     "received MsgVoteResp from 8e9e05c5 at term", "is starting a new election at term")
    raft = [f"raft2026/12/07 19:01:27 INFO: 8e9e05c5 {raft_messages[i % 4]} {i}" for i in range(11)]
    warnings = ["[WARNING] Deprecated '--logger=capnslog' flag is set; use '--logger=zap' flag instead"] * 2
    found = detect(warnings + capnslog[:8] + raft[:6] + capnslog[8:] + raft[6:]).format
    assert found.name == "generic>separator:2|golog"  # 85% of the lines the first does not parse: read
    assert found.parse(raft[0]).content == "8e9e05c5 became follower at term 0"
    assert found.parse(warnings[0]) is None  # mined whole, as any line no layout of the file parses


def test_influxdbs_http_service_lines_among_its_logfmt_lines_are_read_as_access_lines():
    # a real InfluxDB 1.6's standard error: logfmt records, and its HTTP service's access lines after `[httpd] `
    logfmt = [f'ts=2026-12-07T19:00:24.8{i:05d}Z lvl=info msg="{message}" log_id=170TuGPl000 service={service}'
              for i, (message, service) in enumerate([("Opened service", "subscriber"), ("Starting monitor service",
                                                      "monitor"), ("Registered diagnostics client", "monitor"),
                                                     ("Listening on HTTP", "httpd"), ("Storing statistics", "monitor")]
                                                    * 5)]
    access = [f'[httpd] 127.0.0.1 - - [07/Dec/2026:19:00:29 +0000] "{request} HTTP/1.1" 200 174 "-" "curl/7.88.1" '
              f'788edcbf-f270-11f1-800{i}-000000000000 5537' for i, request in enumerate(
                  ["GET /query?q=SHOW+DATABASES", "POST /write?db=shop", "GET /ping", "POST /write?db=shop",
                   "GET /query?q=SHOW+DATABASES", "GET /ping"])]
    found = detect(logfmt[:12] + access[:3] + logfmt[12:] + access[3:]).format
    assert found.name == "logfmt|access"  # before: the access lines were mined whole, a template per request
    parsed = found.parse(access[1])
    assert (parsed.content, parsed.fields["Service"]) == ("POST /write?db=shop HTTP/1.1", "httpd")


def test_two_layouts_interleaved_in_one_file_are_each_read_by_their_own_format():
    # a container's stdout and stderr in one stream: nginx's access lines and its error log's
    lines = [nginx_error(i) if i % 5 < 2 else nginx_access(i) for i in range(300)]
    result = mine_lines(lines, None, None)
    assert result.format == "access|nginx_error" and result.unparsed == 0
    assert {level for _, level in result.counts} == {"unknown", "error", "info"}  # the error log's levels are read
    assert sorted(t.text for t in result.templates.values()) == [
        "GET <PATH> HTTP/<NUM>", "client <IP> closed keepalive connection",
        'open() <STR> failed (<NUM>: No such file or directory), client: <IP>, server: , request: "GET <*> '
        'HTTP/<NUM>", host: <STR>']
    cri = [f"2026-12-07T03:22:{i % 60:02d}.{i:09d}Z {('stdout', 'stderr')[line[:1] == '2']} F {line}"
           for i, line in enumerate(lines)]
    assert mine_lines(cri, None, None).format == "cri+access|nginx_error"  # the same inside a Kubernetes pod's file
    assert format_from_state("cri+access|nginx_error").name == "cri+access|nginx_error"  # restored after a restart
    declared = resolve("access|nginx_error").parse(nginx_error(1))
    assert declared.level == "info" and declared.content.startswith("client ")
    with pytest.raises(ConfigError) as err:
        parse_logs_config({"logs": {"sources": [{"name": "a", "stdin": True, "format": "access|nosuch"}]}})
    assert "logs.sources[0].format" in str(err.value) and "nosuch" in str(err.value)


def test_two_programs_lines_that_a_broad_preset_reads_alike_are_read_by_their_own_narrower_presets():
    sshd = [f"Mar  3 04:02:{i % 60:02d} web-{i % 3} sshd[{2200 + i}]: {('Accepted', 'Failed')[i % 2]} password for "
            f"user{i % 5} from 10.0.0.{i % 250} port {50000 + i} ssh2" for i in range(150)]
    lines = [line for pair in zip(log4j_lines(150), sshd) for line in pair]
    assert detect(lines).format.name == "syslog|log4j"  # `generic` reads both times, and leaves both headers in
    alone = [t.text for t in mine_lines(log4j_lines(150), None, None).templates.values()]
    assert sorted(t.text for t in mine_lines(lines, None, None).templates.values()) == sorted(alone + [
        "Accepted password for <*> from <IP> port <NUM> ssh2", "Failed password for <*> from <IP> port <NUM> ssh2"])


def test_a_second_layout_that_begins_after_detection_is_added_to_the_format_and_said(caplog):
    source = miner()
    lines = [nginx_access(i) for i in range(300)] + [nginx_error(i) if i % 4 == 0 else nginx_access(i)
                                                     for i in range(300, 700)]
    with caplog.at_level("WARNING", logger="exporter.logs.mining"):
        ids = mine(source, lines)
    assert source.format_name == "access|nginx_error" and source.format_changes == 1
    assert [r.getMessage() for r in caplog.records] == [
        "logs: source s: format access parses 88% of the last 200 records; now access|nginx_error (access parses 88% "
        "of the last 200 records; the 25 others: preset nginx_error parses 100% of the lines looked at)"]
    templates, counts, _ = source.snapshot()
    assert templates[ids[-4]].text.startswith("open() <STR> failed") and counts[(ids[-4], "error")] > 0
    assert miner(state=source.state()).format_name == "access|nginx_error"
    in_pod = miner()  # the same inside a Kubernetes pod's file: looked for inside the wrapper
    mine(in_pod, [f"2026-12-07T03:22:{i % 60:02d}.{i:09d}Z stdout F {line}" for i, line in enumerate(lines)])
    assert in_pod.format_name == "cri+access|nginx_error" and in_pod.format_changes == 1


def test_a_run_of_records_that_no_header_fits_leaves_the_format_as_it_is():
    table = [f"| {i:>4} | {('alpha', 'beta', 'gamma')[i % 3]:<6} | {i * 7:>6} |" for i in range(60)]  # a report dumped
    source = miner()
    mine(source, log4j_lines(300) + table + log4j_lines(300, start=300))
    assert source.format_name == "log4j" and source.format_changes == 0 and source.unparsed == 60


def test_a_source_detected_as_headerless_takes_a_format_once_its_lines_have_a_header():
    banner = [f"shop setting {i} is {('on', 'off', 'auto')[i % 3]} ({i} ms)" for i in range(250)]  # a startup banner
    source = miner()
    ids = mine(source, banner + log4j_lines(600))
    assert source.format_changes == 1 and source.format_name == "log4j"
    templates, _, _ = source.snapshot()
    assert templates[ids[-1]].text.endswith("<NUM> sent to bank") and "INFO" not in templates[ids[-1]].text


def test_a_format_that_fits_is_kept_and_a_source_no_format_fits_is_looked_at_less_and_less_often():
    fitting = miner()
    mine(fitting, log4j_lines(2000))
    assert fitting.format_changes == 0 and fitting.watch.every == DETECT_LINES
    plain = miner()
    mine(plain, [f"{('alpha', 'beta', 'gamma')[i % 3]} went {('up', 'down')[i % 2]} by {i}" for i in range(3000)])
    assert plain.format_name == "none" and plain.format_changes == 0
    assert plain.watch.every == 8 * DETECT_LINES  # looks at 200, 400, 800, 1600: the next after 1,600 more


def test_a_configured_format_is_never_replaced():
    source = miner(line_format="log4j")
    mine(source, json_lines(1000))
    assert source.format_name == "log4j" and source.watch is None and source.unparsed == 1000


def followed_once(log, lines, labels_from_fields):
    """The metric families of a follower that read `lines` from the file `log` to its end, by name."""
    log.write_text("\n".join(lines) + "\n")
    cfg = parse_logs_config({"logs": {"sources": [{"name": "app", "paths": [str(log)], "start_at": "beginning",
                                                   "labels_from_fields": labels_from_fields}]}})
    follower = LogFollower(cfg)
    follower.poll_once()
    for source in follower.sources:
        source.finish(0.0)
    return {f.name: f for f in LogCollector(follower).collect()}


def test_fields_can_become_labels_and_the_source_reports_its_format_and_unparsed_lines(tmp_path):
    families = followed_once(tmp_path / "app.log", SAMPLES["log4j"][0][:2] + ["no header here"], ["Component"])
    (info,) = families["aiops_log_source_info"].samples
    assert info.labels["format"] == "log4j"
    assert families["aiops_log_unparsed_lines"].samples[0].value == 1
    assert families["aiops_log_format_changes"].samples[0].value == 0
    components = {s.labels.get("component") for s in families["aiops_log_lines"].samples}
    assert "com.shop.orders.OrderService" in components


def glob_follower(directory, state_dir=None):
    cfg = parse_logs_config({"logs": {"state_dir": str(state_dir) if state_dir else None, "sources": [
        {"name": "host", "paths": [str(directory / "*.log")], "start_at": "beginning"}]}})
    return LogFollower(cfg)


def append_lines(path, lines):
    with open(path, "a") as handle:
        handle.write("".join(line + "\n" for line in lines))


def test_each_file_of_a_glob_reads_its_own_format_when_the_files_are_written_in_turns(tmp_path):
    follower = glob_follower(tmp_path)
    log4j, json_ = log4j_lines(1000), json_lines(1000)
    for block in range(10):  # two programs writing 100 lines a poll each: the follower reads the files in turns
        append_lines(tmp_path / "pay.log", log4j[100 * block:100 * (block + 1)])
        append_lines(tmp_path / "cache.log", json_[100 * block:100 * (block + 1)])
        follower.poll_once()
    (source,) = follower.sources
    source.finish(0.0)
    families = {f.name: f for f in LogCollector(follower).collect()}
    assert sorted(s.labels["format"] for s in families["aiops_log_source_info"].samples) == ["json", "log4j"]
    assert source.miner.unparsed == 0 and source.miner.format_changes == 0
    assert {o: r.name for o, r in source.miner.origins.items()} == {
        str(tmp_path / "pay.log"): "log4j", str(tmp_path / "cache.log"): "json"}


def test_each_files_detected_format_is_said_in_the_log_with_the_file_and_its_waiting_records(tmp_path, caplog):
    append_lines(tmp_path / "pay.log", log4j_lines(250))
    append_lines(tmp_path / "cache.log", json_lines(3))
    follower = glob_follower(tmp_path)
    with caplog.at_level("INFO", logger="exporter.logs.mining"):
        follower.poll_once()
        for source in follower.sources:
            source.finish(0.0)
    said = sorted(r.getMessage() for r in caplog.records if "waiting records mined" in r.getMessage())
    assert said == [
        f"logs: source host ({tmp_path / 'cache.log'}): format json (preset json parses 100% of the lines looked at); "
        "3 waiting records mined",
        f"logs: source host ({tmp_path / 'pay.log'}): format log4j (preset log4j parses 100% of the lines looked at); "
        "200 waiting records mined"]


def test_a_stack_trace_written_across_two_polls_stays_with_its_own_file_whatever_another_file_wrote_between(tmp_path):
    follower = glob_follower(tmp_path)
    (source,) = follower.sources
    mined = []
    source.on_mined = mined.extend
    append_lines(tmp_path / "a.log", ["2026-03-03 04:00:00,001 ERROR [main] com.shop.Pay: charge failed",
                                      "java.lang.IllegalStateException: card declined"])
    append_lines(tmp_path / "b.log", ["2026-03-03 04:00:00,002 INFO [main] com.shop.Cart: cart 7 saved"])
    follower.poll_once()
    append_lines(tmp_path / "a.log", ["\tat com.shop.Pay.charge(Pay.java:42)", "\tat com.shop.Api.run(Api.java:7)"])
    append_lines(tmp_path / "b.log", ["2026-03-03 04:00:00,003 INFO [main] com.shop.Cart: cart 8 saved"])
    follower.poll_once()
    source.finish(0.0)
    records = sorted(record for record, _ in mined)
    assert records == [
        ["2026-03-03 04:00:00,001 ERROR [main] com.shop.Pay: charge failed",
         "java.lang.IllegalStateException: card declined", "\tat com.shop.Pay.charge(Pay.java:42)",
         "\tat com.shop.Api.run(Api.java:7)"],
        ["2026-03-03 04:00:00,002 INFO [main] com.shop.Cart: cart 7 saved"],
        ["2026-03-03 04:00:00,003 INFO [main] com.shop.Cart: cart 8 saved"]]


def test_each_files_format_is_saved_restored_at_once_and_forgotten_when_the_file_is_gone(tmp_path):
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    append_lines(logs / "pay.log", log4j_lines(250))
    append_lines(logs / "cache.log", json_lines(250))
    first = glob_follower(logs, state)
    first.poll_once()
    first.save_state()
    saved = json.loads((state / "logs-state.json").read_text())["sources"]["host"]["miner"]["formats"]
    assert {path: entry["format"] for path, entry in saved.items()} == {
        str(logs / "pay.log"): "log4j", str(logs / "cache.log"): "json"}
    append_lines(logs / "pay.log", log4j_lines(1, start=250))
    append_lines(logs / "cache.log", json_lines(1))
    again = glob_follower(logs, state)
    (source,) = again.sources
    mined = []
    source.on_mined = mined.extend
    source.follower.start_at = "end"  # only what the files gain from now on (the positions are in the state)
    again.poll_once()
    again.poll_once()  # a poll without new lines: the last record of each file is complete
    assert len(mined) == 2 and source.miner.unparsed == 0  # mined at once with the saved formats, not waiting
    (logs / "cache.log").unlink()
    again.poll_once()
    assert list(source.miner.state()["formats"]) == [str(logs / "pay.log")]


def test_a_field_label_the_format_cannot_give_is_said_once_in_the_log(caplog):
    source = miner(labels_from_fields=("Status", "Component"))
    with caplog.at_level("WARNING", logger="exporter.logs.mining"):
        mine(source, SAMPLES["log4j"][0] * 3)
        mine(miner(labels_from_fields=("Component",)), SAMPLES["log4j"][0])
        mine(miner(labels_from_fields=("status",)), SAMPLES["logfmt"][0])  # any key can be a logfmt field
    assert [r.getMessage() for r in caplog.records] == [
        "logs: source s: format log4j has no field Status (its fields: Component, Content, Level, Pid, Thread, "
        "Timestamp); labels_from_fields gives them an empty value"]


def test_field_labels_beyond_the_cap_are_other_and_the_first_refused_combination_is_said_once(caplog):
    source = make_miner("s", max_templates=3, template_max_length=200, level_pattern=DEFAULT_LEVEL, similarity=0.4,
                        depth=4, line_format="<Request> <Level> <Content>", labels_from_fields=("Request",))
    with caplog.at_level("WARNING", logger="exporter.logs.mining"):
        mine(source, [f"req-{i} INFO order placed for customer" for i in range(6)])
    counts = source.snapshot()[1]
    assert sorted(key[2] for key in counts) == ["other", "req-0", "req-1", "req-2"]
    assert [r.getMessage() for r in caplog.records] == [
        "logs: source s has max_templates (3) combinations of labels_from_fields (Request); records with further "
        "ones (the first: 'req-3') get the value \"other\" for each. A field that holds a value per record (an id, "
        "a path) is not a label: take it out of labels_from_fields"]


def test_labels_from_fields_may_not_overwrite_a_label():
    with pytest.raises(ConfigError, match="labels_from_fields"):
        parse_logs_config({"logs": {"sources": [{"name": "a", "stdin": True, "labels_from_fields": ["Level"]}]}})


def test_the_offline_command_reads_a_file_line_by_line_and_says_how_far_it_got_on_a_long_one(tmp_path, caplog):
    from exporter.logs.offline import iter_lines, with_progress

    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-10-11 22:14:15,003 INFO [main] shop.Orders - order {i} placed\n" for i in range(9000)))
    with log.open("rb") as handle, caplog.at_level("INFO", logger="exporter.logs.offline"):
        lines = with_progress(iter_lines(handle, 16384), "app.log", every=0.0)
        assert next(lines) == "2026-10-11 22:14:15,003 INFO [main] shop.Orders - order 0 placed"
        result = mine_lines(lines)
    assert result.records == 8999 and len(result.templates) == 1
    progress = [r.getMessage() for r in caplog.records if r.name == "exporter.logs.offline"]
    assert [message.split(" (")[0] for message in progress] == ["app.log: 4096 lines mined", "app.log: 8192 lines mined"]


@pytest.mark.integration
def test_the_offline_command_gives_the_ids_and_counts_the_live_follower_counts(tmp_path):
    lines = [line for _ in range(30) for line in SAMPLES["log4j"][0]] + ["free text"]
    log = tmp_path / "app.log"
    log.write_text("\n".join(lines) + "\n")
    result = subprocess.run([sys.executable, "-m", "exporter", "logs", "templates", str(log)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    printed = [row.split("\t")[0] for row in result.stdout.splitlines()]
    assert len(printed) == len(lines)
    assert printed == mine_lines(lines).template_ids

    cfg = parse_logs_config({"logs": {"sources": [{"name": "app", "paths": [str(log)], "start_at": "beginning"}]}})
    follower = LogFollower(cfg)
    follower.poll_once()
    follower.sources[0].finish(0.0)
    live = {}
    for (template_id, _level, *_), count in follower.sources[0].miner.snapshot()[1].items():
        live[template_id] = live.get(template_id, 0) + count
    offline = {}
    for template_id in printed:
        offline[template_id] = offline.get(template_id, 0) + 1
    assert live == offline


@pytest.mark.integration
def test_the_offline_command_refuses_an_unknown_format_with_the_reason(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("x\n")
    result = subprocess.run([sys.executable, "-m", "exporter", "logs", "templates", "--format", "nope", str(log)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "--format: unknown format preset 'nope'" in result.stderr


@pytest.mark.integration
def test_the_offline_command_reads_a_file_whose_name_is_not_a_valid_source_name(tmp_path):
    log = tmp_path / "rabbit@localhost log.txt"
    log.write_text("2026-12-03 07:35:26.249963+00:00 [notice] <0.223.0> Logging: configured log handlers are ACTIVE\n")
    result = subprocess.run([sys.executable, "-m", "exporter", "logs", "templates", str(log)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\t", 1)[1] == "<<NUM>> Logging: configured log handlers are ACTIVE\n"


@pytest.mark.integration
@pytest.mark.parametrize("binary", ["prometheus", "alertmanager"])
def test_the_real_prometheus_and_alertmanager_logs_are_detected_as_logfmt_with_their_levels(binary, tmp_path):
    port = free_port()
    argv = {"prometheus": [f"--config.file={tmp_path / 'p.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}"],
            "alertmanager": [f"--config.file={tmp_path / 'a.yml'}", f"--storage.path={tmp_path / 'data'}",
                             "--cluster.listen-address="]}[binary]
    (tmp_path / "p.yml").write_text("global: {scrape_interval: 15s}\n")
    (tmp_path / "a.yml").write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
    executable = require_binary({"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager"}[binary])
    process = Process(binary, [executable, *argv, f"--web.listen-address=127.0.0.1:{port}",
                               "--log.level=info"], tmp_path / f"{binary}.log")
    process.start_and_wait(f"http://127.0.0.1:{port}/-/ready")
    process.stop()
    result = mine_lines(process.log_path.read_text().splitlines())
    texts = {template.text for template in result.templates.values()}
    assert result.format == "logfmt" and result.unparsed == 0
    assert {level for _, level in result.counts} <= {"debug", "info", "warning", "error", "critical"}
    assert len(texts) >= 3 and not any(re.search(r"(^|\s)(ts|level)=", text) for text in texts), texts


CRI_LINES = [
    "2026-03-03T04:02:11.003456789Z stdout F 2026-03-03 04:02:11,003 INFO  [main] com.shop.Orders: order 881 paid",
    "2026-03-03T04:02:12.003456789Z stderr F 2026-03-03 04:02:12,104 WARN  [main] com.shop.Retry: retry 2 of 5",
    "2026-03-03T04:02:13.003456789Z stdout F 2026-03-03 04:02:13,207 INFO  [main] com.shop.Orders: order 882 paid",
]
DOCKER_LINES = [
    '{"log":"2026-03-03 04:02:11,003 INFO  [main] com.shop.Orders: order 881 paid\\n","stream":"stdout",'
    '"time":"2026-03-03T04:02:11.003Z"}',
    '{"log":"2026-03-03 04:02:12,104 ERROR [main] com.shop.Pay: payment 7 failed\\n","stream":"stderr",'
    '"time":"2026-03-03T04:02:12.104Z"}',
]


@pytest.mark.parametrize("lines, name", [(CRI_LINES, "cri+log4j"), (DOCKER_LINES, "json+log4j")])
def test_a_container_runtime_wrapper_is_detected_with_the_application_format_inside_it(lines, name):
    found = detect(lines)
    assert found.format.name == name and "inside" in found.reason
    parsed = found.format.parse(lines[0])
    assert parsed.content.strip() == "order 881 paid" and parsed.level == "info"
    assert parsed.fields["Thread"] == "main" and ("Stream" in parsed.fields or "stream" in parsed.fields)
    assert resolve(name).parse(lines[1]).level in ("warning", "error")  # the same format, declared by name


APP_LINES_WITH_TRACES = [
    "2026-03-03 04:02:11,003 INFO  [main] com.shop.Orders: order 881 paid",
    "2026-03-03 04:02:12,104 ERROR [main] com.shop.Pay: payment 7 failed",
    "java.lang.IllegalStateException: card declined",
    "\tat com.shop.Pay.charge(Pay.java:42)",
    "Caused by: java.net.SocketTimeoutException: Read timed out",
    "\t... 12 more",
    "2026-03-03 04:02:13,207 INFO  [main] com.shop.Orders: order 882 paid",
    "2026-03-03 04:02:14,000 INFO  [main] com.shop.Worker: job 5 started",
    "Traceback (most recent call last):",
    '  File "/srv/worker.py", line 3, in run',
    "ValueError: bad job 5",
]


@pytest.mark.parametrize("wrap", [
    lambda i, line: f"2026-03-03T04:02:{i:02d}.003456789Z stdout F {line}",  # a pod's log file (CRI)
    lambda i, line: json.dumps({"log": line + "\n", "stream": "stdout", "time": f"2026-03-03T04:02:{i:02d}Z"}),
], ids=["cri", "docker json-file"])
def test_stack_traces_inside_a_container_runtime_wrapper_are_one_record_each(wrap):
    result = mine_lines([wrap(i, line) for i, line in enumerate(APP_LINES_WITH_TRACES)])
    texts = counts_by_text_and_level(result)
    assert result.records == 5  # was 11: every stack frame a record of its own
    assert texts == {("order <NUM> paid", "info"): 2, ("payment <NUM> failed", "error"): 1,
                     ("job <NUM> started", "info"): 1, ("ValueError: bad job <NUM>", "error"): 1}


def test_a_header_alone_on_its_line_takes_the_next_line_as_the_message_as_dotnet_writes_it():
    source = miner()
    ids = mine(source, ["info: Shop.Orders.OrderService[0]", "      Order 881 paid by customer 42",
                        "info: Shop.Orders.OrderService[0]", "      Inventory reserved for order 883",
                        "fail: Microsoft.AspNetCore.Server.Kestrel[13]", "      Connection reset by peer 10.0.0.7",
                        "      System.IO.IOException: Broken pipe", "         at System.Net.Sockets.Send()",
                        "info: Shop.Orders.OrderService[0]", "      Order 882 paid by customer 7"])
    templates, counts, _ = source.snapshot()
    assert source.format_name == "dotnet" and len(ids) == 4 and ids[0] == ids[3] != ids[1] != ids[2]  # records
    assert [templates[template_id].text for template_id in ids[:3]] == [
        "Order <NUM> paid by customer <NUM>", "Inventory reserved for order <NUM>", "Connection reset by peer <IP>"]
    assert (ids[2], "error") in counts


def test_java_util_logging_two_line_records_are_one_record_each_mined_by_their_message_with_its_level():
    lines = ["Mar 03, 2026 4:02:11 AM org.apache.catalina.startup.Catalina start",
             "INFO: Server startup in 1234 ms",
             "Mar 03, 2026 4:02:12 AM org.apache.catalina.core.StandardWrapperValve invoke",
             "SEVERE: Servlet.service() for servlet [jsp] threw exception",
             "java.lang.IllegalStateException: order 881 is gone",
             "\tat org.apache.jsp.index_jsp._jspService(index_jsp.java:42)",
             "Mar 03, 2026 4:02:15 AM org.apache.catalina.startup.Catalina start",
             "INFO: Server startup in 998 ms",
             "Mar 03, 2026 4:03:01 AM hudson.model.AsyncPeriodicWork$1 run",
             "WARNING: Started Fingerprint cleanup"]
    result = mine_lines(lines)
    texts = counts_by_text_and_level(result)
    assert result.format == "jul" and result.records == 4 and result.unparsed == 0
    assert texts == {("Server startup in <NUM> ms", "info"): 2, ("Started Fingerprint cleanup", "warning"): 1,
                     ("Servlet.service() for servlet [jsp] threw exception", "error"): 1}
    assert result.template_ids[:2] == result.template_ids[6:8]  # header and message: one record, one template


def test_samba_records_are_mined_by_their_indented_message_with_samba_debug_levels_as_samba_maps_them():
    lines = ["[2026/03/03 04:02:11,  0] ../../source3/printing/printer_list.c:234(get_printer_list_db)",
             "  get_printer_list_db: Failed to open printer_list.tdb",
             "[2026/03/03 04:02:12.104001,  3, pid=4410] ../../source3/smbd/service.c:358(make_connection_snum)",
             "  make_connection_snum: Connect path is /srv/share for service [public]",
             "[2026/03/03 04:02:12.204001,  1] ../../source3/smbd/server.c:1718(main)",
             "  standard input is not a socket, assuming -D option",
             "[2026/03/03 04:02:13,  3] ../../source3/smbd/service.c:358(make_connection_snum)",
             "  make_connection_snum: Connect path is /srv/other for service [other]",
             "[2026/03/03 04:02:14.001002, 10] ../../source3/lib/util.c:401(debug_ntlmssp_flags)",
             "  Got NTLMSSP neg_flags=0x62088215"]
    result = mine_lines(lines)
    texts = counts_by_text_and_level(result)
    assert result.format == "samba" and result.records == 5 and result.unparsed == 0
    assert texts == {("get_printer_list_db: Failed to open printer_list.tdb", "error"): 1,
                     ("make_connection_snum: Connect path is <PATH> for service <*>", "info"): 2,
                     ("standard input is not a socket, assuming -D option", "warning"): 1,
                     ("Got NTLMSSP neg_flags=<HEX>", "debug"): 1}


def test_an_npm_debug_log_is_read_by_its_level_column_with_npmlogs_silly_as_debug():
    lines = ["0 verbose cli /usr/bin/node /usr/bin/npm", "1 info using npm@11.19.1",
             *[f"{i} silly config load:file:/etc/npmrc.{i}" for i in range(2, 12)],
             "12 verbose title npm run build", "13 error Missing script: \"build\"", "14 verbose exit 1",
             *[f"{i} silly placeDep ROOT is-number@7.0.{i} OK for: want: ^7.0.0" for i in range(15, 25)]]
    result = mine_lines(lines)
    assert result.format == "level-column:1" and result.unparsed == 0
    texts = counts_by_text_and_level(result)
    assert texts[("placeDep ROOT is-number@<NUM> OK for: want: ^<NUM>", "debug")] == 10
    assert texts[("Missing script: <STR>", "error")] == 1


def test_a_line_after_an_ordinary_one_line_record_is_never_joined_to_it_by_its_leading_level():
    lines = ["INFO:     Started server process [4410]", "INFO:     Waiting for application startup.",
             "2026-03-03 04:02:11,003 INFO  [main] com.shop.Cart: cart 7 ready", "WARNING: cart 8 is cold"]
    assert mine_lines(lines).records == 4  # uvicorn's lines, and a level-prefixed line after a log4j one


def test_a_prometheus_container_log_is_detected_as_logfmt_inside_the_kubelet_lines():
    lines = [f"2026-03-03T04:02:1{i}.003456789Z stderr F ts=2026-03-03T04:02:1{i}.003Z caller=main.go:585 "
             f'level={level} msg="Starting Prometheus Server" mode=server' for i, level in enumerate(["info", "error"])]
    found = detect(lines)
    assert found.format.name == "cri+logfmt"
    parsed = found.format.parse(lines[1])
    assert (parsed.content, parsed.level, parsed.fields["Stream"]) == ("Starting Prometheus Server", "error", "stderr")


def test_a_line_the_container_runtime_split_is_one_record_mined_by_its_first_piece():
    long_payload = "x" * 50
    split = [
        "2026-03-03T04:02:12.000000001Z stdout P 2026-03-03 04:02:12,104 WARN  [main] com.shop.Cart: cart 7 holds "
        + long_payload,
        "2026-03-03T04:02:12.000000002Z stdout P " + long_payload,
        "2026-03-03T04:02:12.000000003Z stdout F " + long_payload + " and ends here",
    ]
    source = miner()
    ids = mine(source, CRI_LINES[:1] + split + CRI_LINES[1:])
    templates, counts, _ = source.snapshot()
    assert len(ids) == 4 and source.format_name == "cri+log4j"  # 6 lines, 4 records
    assert templates[ids[1]].text.startswith("cart <NUM> holds x") and (ids[1], "warning") in counts
    assembler = RecordAssembler(DEFAULT_CONTINUATION)
    assert assembler.feed(split[0]) is None and assembler.flush(final=False) is None  # an idle poll waits for the rest
    assert assembler.feed(split[1]) is None and assembler.feed(split[2]) is None
    assert assembler.flush(final=False) == split  # the line is whole


def test_a_blank_line_that_begins_no_record_is_not_a_record_of_its_own():
    assembler = RecordAssembler(DEFAULT_CONTINUATION)  # Elixir's Logger writes a blank line before each record
    records = []
    for line in ["", "12:07:50.492 [info] GET /api/orders/1", "", "12:07:50.494 [info] Sent 200 in 1ms"]:
        records += [record] if (record := assembler.feed(line)) else []
        if line:
            records.append(assembler.flush())  # a quiet source: each record is mined before the next blank line
    assert records == [["12:07:50.492 [info] GET /api/orders/1"], ["12:07:50.494 [info] Sent 200 in 1ms"]]
    assembler.feed("12:07:51.000 [error] failed")
    assert assembler.feed("") is None and assembler.flush() == ["12:07:51.000 [error] failed", ""]  # after one: its


def test_a_wrapper_whose_lines_have_no_header_of_their_own_stays_the_wrapper():
    lines = [f'{{"msg": "retry {i} of 5", "level": "warn"}}' for i in range(5)]
    assert detect(lines).format.name == "json"
    plain = [f"2026-03-03T04:02:1{i}.0Z stdout F retry {i} of 5" for i in range(5)]
    assert detect(plain).format.name == "cri"


def test_a_nested_format_is_restored_from_the_state_and_templates_carry_no_header():
    source = miner()
    ids = mine(source, CRI_LINES)
    assert ids[0] == ids[2] != ids[1] and source.format_name == "cri+log4j"
    assert source.snapshot()[0][ids[0]].text == "order <NUM> paid"
    assert miner(state=source.state()).format_name == "cri+log4j"
    with pytest.raises(ValueError, match="unknown format preset 'nosuch'"):
        resolve("nosuch+log4j")


MESSAGES = ["order 1001 paid by card", "cache warmed in 120 ms", "user alice logged in from 10.0.0.7",
            "connection to db-2 lost, retrying", "job 77 finished with 3 warnings", "config reloaded from /etc/app.yml",
            "queue depth 14 above 10", "request 9f2c timed out after 30 s", "disk /var at 91% full",
            "worker 4 restarted"]
LEVELS_BY_MESSAGE = ["INFO", "INFO", "INFO", "ERROR", "WARN", "INFO", "WARN", "ERROR", "WARN", "INFO"]


def _with_header(header) -> list[str]:
    return [header(i, LEVELS_BY_MESSAGE[i % 10]) + MESSAGES[i % 10] for i in range(60)]


@pytest.mark.parametrize("header, name, has_level", [
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d} node-{i % 4} {lvl} ", "generic>level:2", True),  # host, level
    (lambda i, lvl: f"[03/Mar/2026:04:02:{i % 60:02d} +0000] ", "generic>stamp:1", False),  # a zone after the time
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d},003 {4000 + i} [main] {lvl} shop.Orders (Orders.java:{i}) - ",
     "log4j>separator:3", True),  # logger, caller, then ` - `
    (lambda i, lvl: f"[{lvl}] 2026-03-03 04:02:{i % 60:02d} - ", "bracket_fields>separator:3", True),
    (lambda i, lvl: f"{lvl[0]} 2026-03-03 04:02:{i % 60:02d} ", "none>stamp:3", True),  # one-letter level first
    (lambda i, lvl: f"{lvl[0]} [03/Mar/2026:04:02:{i % 60:02d} +0000] ", "none>bracket:2",
     True),  # one-letter level, then a bracketed common-log time (CUPS' error_log)
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d}.{i:06d} {lvl[0]} | ", "generic>separator:2",
     True),  # one-letter level after the time, then a separator (etcd 3.4's capnslog)
    (lambda i, lvl: f"Mar  3 04:02:{i % 60:02d} node-1 kernel: [{i}.{i * 7919 % 10 ** 6:06d}] ", "syslog",
     False),  # the kernel's uptime stamp (the syslog preset's Uptime field; a header token cut before 2026-12-07)
    (lambda i, lvl: f"[{i * 7919:>5}.{i:06d}] ", "none>number:1", False),  # dmesg: the uptime, padded to 5 digits
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d} +0000 [{lvl.lower()}]: #{i % 4} ", "generic>number:1",
     True),  # Fluentd: a worker id after the level
    (lambda i, lvl: f"Mar  3 04:02:{i % 60:02d} node-1 netd[{100 + i}]: <{lvl.lower()}>  [{1772510531 + i}.{i:04d}] ",
     "syslog>number:2", True),  # a level in angle brackets, then an epoch stamp
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d},003 [{('main', 'pool-1-thread-3', 'worker-2')[i % 3]}] ",
     "generic>bracket:1", False),  # a thread
    (lambda i, lvl: f"Mar 03 04:02:{i % 60:02d} {('startup', 'portmanager', 'c2s')[i % 3]}\t{lvl.lower()}\t",
     "generic>level:2", True),  # a component, then a level in lower case (Prosody's file log)
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d} node-{i % 7} ", "generic>id:1", False),  # a host
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d}.{i:06d}+00:00 [{lvl.lower()}] <0.{200 + i}.0> ", "generic>id:1",
     True),  # an Erlang process id after the level (RabbitMQ)
    (lambda i, lvl: f"2026-03-03T04:02:{i % 60:02d}.{i:06d}+00:00 app[{('web', 'worker', 'clock')[i % 3]}.{i % 2 + 1}]: ",
     "generic>id:1", False),  # the dyno of a Heroku app: letters and digits vary, the punctuation does not
    (lambda i, lvl: f"[03-Mar-2026 04:02:{i % 60:02d}] {lvl}: [pool www] ", "generic>bracket:1",
     True),  # a bracketed context with a space inside (PHP-FPM's pool)
    (lambda i, lvl: f"[04:02:{i % 60:02d}.{i:03d}] {lvl} ({4000 + i} on node-{i % 3}): ", "level-column:1>bracket:1",
     True),  # pid and host in parentheses (pino-pretty)
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d}.{i:03d} {4000 + i} {lvl} shop.api [req-{i:04x}a user-{i % 5} - - -] ",
     "log4j>bracket:2", True),  # a logger, then a request context with ids and dashes (OpenStack's)
    (lambda i, lvl: f"2026-03-03T04:02:{i % 60:02d}.{i:03d}+0000 {lvl} {4000 + i} --- [{('main', 'worker-2')[i % 2]}] "
                    f"{('shop.Orders', 'io.net.Client', 'app.jobs.Runner.Retry')[i % 3]}: ",
     "log4j>id:4", True),  # pid, ---, thread, then a logger of any depth ending in ':'
    (lambda i, lvl: f"{4000 + i} node-{i % 3} {('app', 'cron')[i % 2]}.hw state_change.{lvl.lower()} "
                    f"{1772510531 + i} 1 ", "none>id:6", False),  # six columns: id, host, component, state, epoch, flag
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d} {lvl} shopfront ", "log4j>word=shopfront:1",
     True),  # one host's file: its name, a plain word, on every line
    (lambda i, lvl: f"2026-03-03T04:02:{i % 60:02d}Z shop-api ", "generic>word=shop-api:1", False),  # one program's
    (lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d},003 {4000 + i} {lvl} shopdb "
                    f"{('odoo.models', 'odoo.http', 'odoo.modules.loading')[i % 3]}: ",
     "log4j>id:2", True),  # one database's name, then a logger (Odoo): both cut
])
def test_header_tokens_a_detected_format_leaves_at_the_start_of_messages_are_cut(header, name, has_level):
    lines = _with_header(header)
    found = detect(lines).format
    assert found.name == name
    assert [found.parse(line).content for line in lines[:10]] == MESSAGES
    levels = [found.parse(line).level for line in lines[:10]]
    if has_level:
        assert levels == [{"INFO": "info", "WARN": "warning", "ERROR": "error"}[lvl] for lvl in LEVELS_BY_MESSAGE]
    else:
        assert levels == [None] * 10
    restored = format_from_state(found.name)  # a restarted follower rebuilds it from the saved name
    assert restored is not None and restored.parse(lines[3]) == found.parse(lines[3])


def test_a_bracketed_group_is_one_header_token_with_its_spaces_and_nested_brackets():
    assert split_header_tokens("[pool www] child 12 exited", 2) == ["[pool www]", "child", "12 exited"]
    assert split_header_tokens("(4012 on node-2): started", 5) == ["(4012 on node-2):", "started"]
    assert split_header_tokens("[Peer[myid=1]/0.0.0.0:2181] - up", 1) == ["[Peer[myid=1]/0.0.0.0:2181]", "- up"]
    assert split_header_tokens("[never closed a b", 2) == "[never closed a b".split(None, 2)  # plain tokens then
    assert split_header_tokens("  a  b  ", 5) == ["a", "b"]


def test_a_number_at_one_place_on_many_lines_is_no_level_column():
    lines = [f"CONNECT   Dec 07 11:58:{i % 60:02d}.351 [19183]: {('Connect', 'Request')[i % 2]} (file descriptor 4): "
             f"{('127.0.0.1', 'GET http://shop/a HTTP/1.1')[i % 2]}" for i in range(60)]  # Tinyproxy's connection lines
    found = detect(lines).format
    assert not found.name.startswith("level-column")  # `4):` is no syslog severity (warning) there
    assert found.parse(lines[0]).content == "Connect (file descriptor 4): 127.0.0.1"
    assert LevelColumnFormat(8).parse(lines[0]) is None


def test_a_number_inside_messages_is_not_cut_as_a_header_column():
    lines = [f"2026-03-03 04:02:{i % 60:02d} user {i} {MESSAGES[i % 10]}" for i in range(60)]
    assert detect(lines).format.name == "generic"  # `user 12`: a word before the number, so a message's
    lines = [f"2026-03-03 04:02:{i % 60:02d} {MESSAGES[i % 10]} {i}" for i in range(60)]
    assert detect(lines).format.name == "generic"  # a number ending the message is not a column before it


def test_a_level_word_inside_messages_is_not_cut_as_header():
    lines = [f"- {1000 + i} 2026.03.03 R{i % 7}-M1 RAS KERNEL {('INFO', 'FATAL')[i % 2]} cache error {i}"
             for i in range(50)]  # "error" at the same place on every line, but the level came before it
    assert detect(lines).format.name == "level-column:6"
    lines = [f"2026-03-03 04:02:{i % 60:02d} app: {MESSAGES[i % 10].split()[0]} config {MESSAGES[(i + 3) % 10]}"
             for i in range(50)]
    assert ">" not in detect(lines).format.name  # a rarer level word in lower case: a word of the message
    lines = [f"2026-03-03 04:02:{i % 60:02d} app: {MESSAGES[i % 10].split()[0]} error {i}" for i in range(50)]
    assert ">" not in detect(lines).format.name  # a common one, but what a cut would leave holds no words


def test_a_word_on_every_line_is_a_header_column_only_after_a_header_and_before_the_message():
    lines = [f"2026-03-03 04:02:{i % 60:02d} {MESSAGES[i % 10].split()[0]} {i} ok" for i in range(60)]
    assert ">" not in detect(lines).format.name  # a word that varies is the message's own
    lines = [f"2026-03-03 04:02:{i % 60:02d} shop {'a b' if i % 3 else 'c d'} {MESSAGES[i % 10]}" for i in range(60)]
    assert detect(lines).format.name == "generic>word=shop:1"
    lines = [f"status {('unpacked', 'installed')[i % 2]} lib{i}:amd64 {i}.0" for i in range(60)]
    assert detect(lines).format.name == "none"  # whole lines that all begin with one word: it is the message's
    services = ["nginx", "redis", "postgres", "mailer", "billing"]
    lines = [f"2026-03-03 04:02:{i % 60:02d} INFO Service {services[i % 5]} {('started', 'stopped')[i % 3 > 0]} after "
             f"{i} ms" for i in range(60)]
    assert detect(lines).format.name == "log4j"  # a parameter follows it: cut, `Service` would leave `nginx` first
    lines = [f"2026-03-03 04:02:{i % 60:02d} {'db' if i % 20 == 7 else 'shop'} {MESSAGES[i % 10]}" for i in range(60)]
    assert ">" not in detect(lines).format.name  # a second name on 5% of the lines: not one host's or program's file
    lines[7] = lines[27] = "2026-03-03 04:02:07 shop " + MESSAGES[7]  # on one line in 60 (a stray line): still cut
    assert detect(lines).format.name == "generic>word=shop:1"


def test_one_message_repeated_is_not_read_for_header_tokens():
    lines = ["2026-03-03 04:02:11 worker: job - done"] * 50  # one message: nothing tells its words from a header's
    assert detect(lines).format.name == "generic"


def test_a_line_without_the_header_token_keeps_the_message_the_format_parsed():
    lines = _with_header(lambda i, lvl: f"2026-03-03 04:02:{i % 60:02d} node-{i % 4} {lvl} ")
    found = detect(lines).format
    parsed = found.parse("2026-03-03 04:02:11 node-1 started without a level word")
    assert parsed is not None and parsed.content == "node-1 started without a level word"


def _vsftpd_lines(user_share: float) -> list[str]:
    """vsftpd's own log (vsftpd_log_file, log_ftp_protocol): the user in brackets once one has logged in."""
    messages = ['CONNECT: Client "127.0.0.1"', 'FTP command: Client "127.0.0.1", "USER anonymous"',
                'OK LOGIN: Client "127.0.0.1", anon password "x@y"', 'FTP response: Client "127.0.0.1", "226 Done."',
                'FAIL DOWNLOAD: Client "127.0.0.1", "/nosuch.txt", 0.00Kbyte/sec', 'FAIL LOGIN: Client "10.0.0.7"']
    return [f"Mon Dec  7 14:03:{i % 60:02d} 2026 [pid {15844 + i // 7}] "
            + (f"[{('ftp', 'root', 'deploy')[i % 3]}] " if (i * 37 % 100) < user_share * 100 else "")
            + messages[i % len(messages)] for i in range(120)]


def test_a_bracketed_field_that_most_lines_have_after_the_header_is_cut_where_it_stands():
    lines = _vsftpd_lines(0.75)
    found = detect(lines).format
    contents = {found.parse(line).content for line in lines}
    assert found.name == "generic>bracket:1>bracket:1"
    assert format_from_state(found.name).name == found.name  # kept across restarts
    assert not any(content.startswith("[") for content in contents)
    assert len(set(mine_lines(lines).template_ids)) <= len(set(line.split("] ")[-1] for line in lines))


def test_a_bracketed_group_that_begins_fewer_than_half_of_the_messages_stays_in_them():
    found = detect(_vsftpd_lines(0.3)).format
    assert found.name == "generic>bracket:1"
    assert found.parse('Mon Dec  7 14:03:16 2026 [pid 15844] [ftp] OK LOGIN: Client "127.0.0.1"').content.startswith("[ftp] ")


def test_a_number_after_a_leading_date_and_time_stays_in_the_message():
    lines = [f"20260303 04:02:{i % 60:02d}.{i:03d} {i * 7} floating point alignment exceptions" for i in range(40)]
    found = detect(lines).format
    assert found.name == "stamp-prefix"
    assert found.parse(lines[3]).content == "21 floating point alignment exceptions"


def test_a_component_word_that_begins_only_some_messages_stays_in_them_and_is_still_a_field():
    messages = ["getTasks: caller 1011 does not hold REAL_GET_TASKS", "getRecentTasks: caller 1011 does not hold it",
                "screen turned off", "battery at 40%", "wifi connected to home", "sync finished in 3 s"]
    lines = [f"2026-03-03 04:02:{i % 60:02d}.{i:03d} | INFO     | {messages[i % 6]}" for i in range(60)]
    found = detect(lines).format
    assert found.name == "generic_plain"
    parsed = found.parse(lines[0])
    assert parsed.content == messages[0] and parsed.fields["Component"] == "getTasks" and parsed.level == "info"
    assert found.parse(lines[2]).content == "screen turned off"
    assert format_from_state("generic_plain") is not None
    with_components = [f"2026-03-03 04:02:{i % 60:02d} worker-{i % 3}: {messages[i % 6]}" for i in range(60)]
    found = detect(with_components).format  # on every line: a column of the header, cut from the message
    assert found.name == "generic" and found.parse(with_components[2]).content == "screen turned off"


def test_log4j_with_a_component_word_on_only_some_messages_keeps_it_in_them():
    messages = ["getTasks: caller 1011 does not hold REAL_GET_TASKS", "getRecentTasks: caller 1011 does not hold it",
                "screen turned off", "battery at 40%", "wifi connected to home", "sync finished in 3 s"]
    lines = [f"2026-03-03 04:02:{i % 60:02d},{i:03d} INFO {messages[i % 6]}" for i in range(60)]  # supervisord's
    found = detect(lines).format
    assert found.name == "log4j_plain"
    assert [found.parse(line).content for line in lines[:6]] == messages
    assert found.parse(lines[0]).fields["Component"] == "getTasks" and found.parse(lines[0]).level == "info"
    restored = format_from_state("log4j_plain")
    assert restored is not None and restored.parse(lines[1]) == found.parse(lines[1])


@pytest.mark.parametrize("line, content, level", [
    ("2026-03-03 04:02:12 [main] error count 3 above limit", "error count 3 above limit", None),  # running text
    ("2026-03-03 04:02:12 alert raised for disk /var", "alert raised for disk /var", None),
    ("2026-03-03 04:02:12 ERROR count 3 above limit", "count 3 above limit", "error"),  # a header's level
    ("2026-03-03 04:02:12 info: cache warmed", "cache warmed", "info"),  # winston's `level: message`
    ("2026-03-03T04:02:12.003Z\tinfo\tmain.go:42\tstarted", "started", "info"),  # zap's console encoder
    ("2026-03-03 04:02:12 [ warn] slow flush", "slow flush", "warning"),  # Fluent Bit
    ("2026-03-03 04:02:12 [config] loaded /etc/app.yaml", "[config] loaded /etc/app.yaml", None),  # a module's tag
    ("2026-12-07 12:25:49 us=720630   config = '[UNDEF]'", "us=720630   config = '[UNDEF]'", None),  # OpenVPN
    ("2026-03-03 04:02:12 CONFIG  loaded /etc/app.yaml", "loaded /etc/app.yaml", "info"),  # java.util.logging's
])
def test_a_lower_case_level_word_in_running_text_starts_the_message(line, content, level):
    parsed = resolve("generic").parse(line)
    assert parsed is not None and (parsed.content, parsed.level) == (content, level)
