#!/usr/bin/env bats
# The house rules of lib/ (wf(7) HACKING): every file names its layer,
# no file calls a layer above its own, each program links only the
# layers it may, files and functions stay short, and every function that
# takes or returns a jv says who owns it.

load helpers

# The objects and link maps of the programs under test: beside $WF_BIN
# (build/asan/bin -> build/asan/obj) or the default build/obj.
objdir() {
	if [ -n "${WF_OBJ:-}" ]; then echo "$WF_OBJ"
	elif [ -d "$WF_BIN/../obj/lib" ]; then (cd "$WF_BIN/../obj" && pwd)
	else echo "$REPO_ROOT/build/obj"
	fi
}

@test "every lib file names its layer, calls no layer above its own, and each program links only the layers it may" {
	obj=$(objdir)
	[ -e "$obj/wf-run.map" ] && [ -e "$obj/wf-step.map" ]
	run "$REPO_ROOT/tests/lint/layers.sh" "$REPO_ROOT/lib" "$obj"
	assert_success
	assert_output ""
}

@test "the layer check fails on a call from a lower layer to a higher one, and on a program linking a layer it may not" {
	obj=$(objdir)
	cp -r "$REPO_ROOT/lib" src
	mkdir -p o/lib
	cp "$obj"/lib/*.o o/lib/
	cp "$obj"/*.map o/
	# a name an action file (layer 3) defines, called from a new base file (layer 0)
	act=$(grep -l '^ \* Layer 3: ' src/*.c | head -1)
	sym=$(nm --defined-only -g "o/lib/$(basename "$act" .c).o" | awk '$2 == "T" { print $3; exit }')
	[ -n "$sym" ]
	printf '/*\n * probe.c: a base file that calls an action.\n *\n * Layer 0: base.\n */\nvoid %s(void);\nvoid wf_layers_probe(void);\nvoid wf_layers_probe(void) { %s(); }\n' "$sym" "$sym" > src/probe.c
	cc -c -o o/lib/probe.o src/probe.c
	run "$REPO_ROOT/tests/lint/layers.sh" src o
	assert_failure 1
	assert_output "probe.c (layer 0) calls $sym of $(basename "$act") (layer 3)"
	rm src/probe.c o/lib/probe.o
	# wf-run linking an action
	printf '%s\n' "$obj/libwf.a($(basename "$act" .c).o)" >> o/wf-run.map
	run "$REPO_ROOT/tests/lint/layers.sh" src o
	assert_failure 1
	assert_output "wf-run links $(basename "$act" .c).o (layer 3)"
}

@test "no file in lib/ is over 900 lines and no function over 120" {
	cd "$REPO_ROOT"
	run awk -f tests/lint/sizes.awk lib/*.c lib/*.h cmd/*.c
	assert_success
	assert_output ""
}

@test "the size check names a function over 120 lines and a file over 900" {
	{ printf 'static int\nlong_one(void)\n{\n'; for i in $(seq 120); do echo '	(void)0;'; done; printf '\treturn 0;\n}\n'; } > lib.c
	mkdir lib && seq 901 > lib/big.c
	run awk -f "$REPO_ROOT/tests/lint/sizes.awk" lib.c lib/big.c
	assert_output "lib.c:2: long_one: 123 lines
lib/big.c: 901 lines"
}

@test "every function that takes or returns a jv says who owns it" {
	cd "$REPO_ROOT"
	run awk -f tests/lint/jvown.awk lib/*.h lib/*.c cmd/*.c
	assert_success
	assert_output ""
}

@test "the ownership check names a function whose comment does not say who owns its jv" {
	cat > a.h <<'H'
/* V borrowed. */
int wf_said(jv v);
/* Nothing about it. */
int wf_silent(jv v);
H
	cat > a.c <<'C'
/* Builds it; the caller owns the result. */
static jv
made(void)
{
	return jv_null();
}

/* Builds it. */
static jv
unsaid(void)
{
	return jv_null();
}

int
wf_said(jv v)
{
	return 0;
}

int
wf_silent(jv v)
{
	return 0;
}
C
	run awk -f "$REPO_ROOT/tests/lint/jvown.awk" a.h a.c
	assert_output "a.c:9: unsaid
a.c:21: wf_silent"
}

@test "the README's map of the code names every lib file, at the layer its opening comment gives" {
	cd "$REPO_ROOT/lib"
	rows=$(sed -n '/^## Finding your way in the code/,/^## /p' ../README.md | grep '^| [0-4] ')
	[ "$(wc -l <<<"$rows")" -eq 5 ]
	declare -A mapped
	while IFS='|' read -r _ layer files _; do
		n=${layer# }; n=${n%% *}
		for pat in $(grep -o '`[^`]*`' <<<"$files" | tr -d '`'); do
			matched=0
			for f in $pat; do
				[ -e "$f" ] || { echo "README names $pat, which matches no file in lib/" >&2; return 1; }
				grep -q "^ \* Layer $n: " "$f" || { echo "README puts $f in layer $n; its comment says otherwise" >&2; return 1; }
				mapped[$f]=1 matched=1
			done
			[ $matched = 1 ]
		done
	done <<<"$rows"
	for f in *.c; do
		[ -n "${mapped[$f]:-}" ] || { echo "README's map does not name lib/$f" >&2; return 1; }
	done
}
