#!/usr/bin/env bash
# test/check_log.sh LOG...: fails when a server log shows a crash or a leaked resource.
status=0
for log in "$@"; do
	if grep -nE 'terminated by signal|PANIC|was terminated|server process .* exited with exit code [^01]|leaked|TRAP:' "$log" |
		grep -vE 'pgmq_test_expected_crash'; then
		echo "crash or leak reported in $log"
		status=1
	fi
done
exit $status
