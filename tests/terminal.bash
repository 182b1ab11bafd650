# A real terminal for tests (tmux): run a command in it, read its screen,
# type into it, and wait for its exit status.  The test sets $SOCK (its
# own tmux server) and kills that server in teardown.

# Run COMMAND in a fresh terminal; its exit status goes to $WORK/rc.
term_run() {
	tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 160 -y 45 \
		"cd '$WORK' && env PATH='$PATH' HOME='$HOME' WF_STATE_DIR='$WF_STATE_DIR' XDG_CONFIG_HOME='$XDG_CONFIG_HOME' NO_COLOR=1 $1; echo \"EXIT=\$?\" > '$WORK/rc'; sleep 60"
}

# What the terminal shows now.
screen() {
	tmux -L "$SOCK" capture-pane -p -t t
}

# Whether the terminal shows TEXT now.
on_screen() {
	screen | grep -qF -- "$1"
}

# Wait until the terminal shows TEXT; else show what it shows.
wait_for() {
	wait_until on_screen "$1" && return 0
	echo "--- screen, waiting for: $1" >&2
	screen >&2
	return 1
}

# Type into the terminal: tmux send-keys words (text, Enter, C-c).
keys() {
	tmux -L "$SOCK" send-keys -t t "$@"
}

# The exit status of the command in the terminal, once it has exited.
exit_code() {
	wait_until test -s "$WORK/rc" || { screen >&2; return 1; }
	sed 's/EXIT=//' "$WORK/rc"
}
