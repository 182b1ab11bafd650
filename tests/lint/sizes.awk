# sizes.awk FILES...: the size rule of wf(7) HACKING.  Prints each
# function longer than FN lines (default 120) and each file under lib/
# longer than FILE lines (default 900), as FILE:LINE: NAME: N lines.
# Functions are written in the house style: the return type on its own
# line, the name at the start of the next, the body from a "{" to a "}"
# in the first column.

BEGIN { if (!FN) FN = 120; if (!FILE) FILE = 900 }

FNR == 1 && NR > 1 { flush() }
FNR == 1 { name = ""; start = 0 }

/^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name); line = FNR }
/^\{/ { start = FNR }
/^\}/ && start {
	if (FNR - start + 1 > FN) printf "%s:%d: %s: %d lines\n", FILENAME, line, name, FNR - start + 1
	start = 0
}
{ lines = FNR; file = FILENAME }

function flush() { if (file ~ /(^|\/)lib\// && lines > FILE) printf "%s: %d lines\n", file, lines }
END { flush() }
