# dist/man/conf2man.awk: the SETTINGS section of capf.conf(5), generated from
# policy/capf.conf.example so that the page lists exactly the settings the
# example documents (a comment block, then "# name = default;" lines).
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	sub(/^[.']/, "\\\\\\&&", s)
	return s
}
/^[a-z_]+: *\{/ { group = $1; sub(/:.*/, "", group); print ".SS " group; desc = ""; next }
/^\};/ { group = ""; next }
group != "" && /^ *# *[a-z_]+ = .*;/ {
	line = $0
	sub(/^ *# */, "", line)
	name = line; sub(/ = .*/, "", name)
	val = line; sub(/^[a-z_]+ = /, "", val)
	note = val; sub(/;[^;]*$/, "", val)
	if (sub(/^.*; *# */, "", note) == 0)
		note = ""
	print ".TP"
	print "\\fB" group "." name "\\fR = " esc(val)
	if (desc != "")
		printf "%s", desc
	if (note != "")
		print esc(note)
	desc = ""
	next
}
group != "" && /^ *#/ {
	line = $0
	sub(/^ *# ?/, "", line)
	desc = desc esc(line) "\n"
	next
}
