#!/bin/sh
# tests/host: a p2p host slow to start, for test_sup_slow_start: sleeps
# 0.3 s, then execs the real host ($HN_TEST_REAL_HOST) with the same
# arguments.  The supervisor's first RSS sample and a SIGTERM can then
# reach the host before it installed its SIGTERM handler (what a loaded
# machine does by chance).
sleep 0.3
exec "${HN_TEST_REAL_HOST:?HN_TEST_REAL_HOST not set}" "$@"
