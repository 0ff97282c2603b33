# replay.awk: the function part of every update script, taken from the install script sql/pgmq.sql.
# Prints, in the install script's order, each CREATE FUNCTION statement as CREATE OR REPLACE
# FUNCTION, each GRANT or REVOKE ... ON FUNCTION and each COMMENT ON FUNCTION statement, and nothing else. A statement
# starts at the beginning of a line outside dollar quotes and ends at a line ending in ";"
# outside dollar quotes; only $$ quotes are used in sql/pgmq.sql (a $tag$ would need handling here).
BEGIN {
    print "-- Every function of sql/pgmq.sql, replayed by sql/updates/replay.awk."
    quoted = 0
    taking = 0
}
{
    line = $0
    if (!taking && !quoted) {
        if (line ~ /^CREATE FUNCTION /) {
            sub(/^CREATE FUNCTION /, "CREATE OR REPLACE FUNCTION ", line)
            taking = 1
        } else if (line ~ /^(GRANT|REVOKE) .* ON FUNCTION / || line ~ /^COMMENT ON FUNCTION /) {
            taking = 1
        }
    }
    copy = $0
    quoted = (quoted + gsub(/\$\$/, "", copy)) % 2
    if (taking) {
        print line
        if (!quoted && line ~ /;[[:space:]]*$/) {
            taking = 0
            print ""
        }
    }
}
