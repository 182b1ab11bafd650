#!/bin/bash
# layers.sh SRC OBJ: check the layer rule of libwf.
#
# Every SRC/*.c names its layer in its opening comment, in a line
# " * Layer N: name." (0 base, 1 formats and channels, 2 domain data,
# 3 actions, 4 the driver; wf(7) HACKING).  A file may call its own layer
# and the layers below it, never one above.  The calls are read from the
# objects in OBJ/lib with nm(1): what a file uses (undefined) and where
# each name is defined.  When OBJ has link maps (OBJ/PROGRAM.map, written
# by the Makefile), each program's archive members are checked too:
# wf-run links no action (layer 3), wf-step no driver (layer 4), and the
# other programs neither.
#
# Prints one line per wrong-way call or misplaced member and exits 1 if
# there is any; exits 2 on a file without a layer line.
set -u
src=$1 obj=$2
declare -A layer def
out=()

for c in "$src"/*.c; do
	f=$(basename "$c" .c)
	n=$(sed -n '1,/\*\//s/^ \* Layer \([0-4]\): .*\.$/\1/p' "$c" | head -1)
	if [ -z "$n" ]; then
		echo "layers: $c: no ' * Layer N: name.' line in the opening comment" >&2
		exit 2
	fi
	layer[$f]=$n
done

for f in "${!layer[@]}"; do
	o=$obj/lib/$f.o
	[ -e "$o" ] || { echo "layers: $o: missing (build first)" >&2; exit 2; }
	while read -r sym; do def[$sym]=$f; done < <(nm --defined-only -g "$o" | awk '{ print $3 }')
done

for f in "${!layer[@]}"; do
	while read -r sym; do
		g=${def[$sym]:-}
		[ -n "$g" ] && [ "$g" != "$f" ] || continue
		if [ "${layer[$g]}" -gt "${layer[$f]}" ]; then
			out+=("$f.c (layer ${layer[$f]}) calls $sym of $g.c (layer ${layer[$g]})")
		fi
	done < <(nm -u "$obj/lib/$f.o" | awk '{ print $2 }')
done

# The highest layer, and the layer not allowed, of each program.
for map in "$obj"/*.map; do
	[ -e "$map" ] || continue
	p=$(basename "$map" .map)
	case $p in
	wf-run) deny=3 ;;
	wf-step) deny=4 ;;
	*) deny=3-4 ;;
	esac
	for m in $(grep -o 'libwf\.a([a-z0-9_]*\.o)' "$map" | sed 's/.*(\(.*\)\.o)/\1/' | sort -u); do
		n=${layer[$m]:-}
		[ -n "$n" ] || continue
		case $deny in
		3-4) [ "$n" -lt 3 ] || out+=("$p links $m.o (layer $n)") ;;
		*) [ "$n" != "$deny" ] || out+=("$p links $m.o (layer $n)") ;;
		esac
	done
done
[ ${#out[@]} -eq 0 ] && exit 0
printf '%s\n' "${out[@]}" | sort
exit 1
