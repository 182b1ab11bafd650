# jvown.awk HEADERS... SOURCES...: every function that takes or returns a
# jv says who owns it, in the comment right above its definition or (for
# an exported one) above its declaration in a header or the file: "borrowed",
# "consumes", "owned by the caller", "caller owns", "returns ownership"...
# Prints FILE:LINE: NAME for each that does not.

function owns(text) { return tolower(text) ~ /(borrow|consum|own|steal)/ }

FNR == 1 { comment = ""; incomment = 0; lastend = -1; ret = ""; retline = -1 }

/^[ \t]*\/\*/ { comment = ""; incomment = 1 }
incomment { comment = comment " " $0 }
incomment && /\*\// { incomment = 0; lastend = FNR; next }
incomment { next }

FILENAME ~ /\.h$/ {
	if ($0 ~ /^[ \t]*$/) { comment = ""; next }
	if (match($0, /wf_[a-z0-9_]+\(/)) {
		name = substr($0, RSTART, RLENGTH - 1)
		if (owns(comment)) declared[name] = 1
	}
	next
}

/^(static )?(const )?[A-Za-z_][A-Za-z0-9_ \*]*$/ { ret = $0; retline = FNR; retcomment = (lastend == FNR - 1) ? comment : ""; next }

/^[A-Za-z_][A-Za-z0-9_]*\(/ && retline == FNR - 1 {
	name = $0; sub(/\(.*/, "", name)
	sig = ret " " $0
	while ($0 !~ /\)[ \t]*;?[ \t]*$/ && (getline) > 0) sig = sig " " $0
	if (sig ~ /;[ \t]*$/) {
		if (owns(retcomment)) declared[name] = 1
	} else if ((getline nxt) > 0 && nxt ~ /^\{/) {
		takes = sig ~ /[(,][ \t]*jv[ \t]+\**[a-z_]/ || sig ~ /[(,][ \t]*const jv/
		gives = ret ~ /(^|[ \t])jv[ \t]*\**$/
		if ((takes || gives) && !owns(retcomment) && !declared[name])
			printf "%s:%d: %s\n", FILENAME, retline, name
	}
	comment = ""
}
