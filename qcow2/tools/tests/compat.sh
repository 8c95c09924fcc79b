#!/bin/sh
# Differential checks: vmm-img/vmm-io and qemu-img/qemu-io run with the same
# arguments on copies of the same qemu-made images must exit alike, print the
# same stdout (program name masked), the same error text (qemu's lines joined
# into one, as vmm prints them) and leave images that qemu-img compare finds
# equal. Each case is a difference that once existed (session-5 sweep).
. "$(dirname "$0")/lib.sh"

if ! qcow2_ready; then
	echo "SKIP: the qcow2 driver is a stub"
	exit 77
fi

# Fixtures, made by qemu only.
mkdir fx
(
	cd fx || exit 1
	qemu-img create -q -f qcow2 v3.qcow2 16M
	qemu-io -f qcow2 -c 'write -P 0x11 0 128k' -c 'write -z 1M 64k' -c 'write -P 0x22 5M 4k' v3.qcow2
	qemu-img create -q -f qcow2 base.qcow2 8M
	qemu-io -f qcow2 -c 'write -P 1 0 1M' base.qcow2
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
	qemu-io -f qcow2 -c 'write -P 2 512k 1M' mid.qcow2
	qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
	qemu-io -f qcow2 -c 'write -P 3 1M 64k' -c 'write -z 0 4k' top.qcow2
	qemu-img create -q -f raw disk.raw 8M
	qemu-io -f raw -c 'write -P 0x5a 0 64k' disk.raw
	qemu-img create -q -f qcow2 snap.qcow2 4M
	qemu-img snapshot -c s1 snap.qcow2
) >/dev/null || { bad "fixtures"; finish; }

mask() {
	sed -e 's/qemu-img/PROG/g; s/vmm-img/PROG/g; s/qemu-io/PROG/g; s/vmm-io/PROG/g' \
	    -e 's/,[0-9]*:[0-9][0-9]:[0-9][0-9]\.[0-9][0-9],[0-9.]*,[0-9.]*$/,T,RATES/' \
	    -e 's/[0-9][0-9.]* sec\b/T sec/; s/; [0-9]*:[0-9][0-9]:[0-9.]* (/; T sec (/' \
	    -e 's/([0-9.]* [KMGTPEi]*B*\/sec and [0-9.]* ops\/sec)/(RATE)/; s/([0-9.]* bytes\/sec and [0-9.]* ops\/sec)/(RATE)/' "$1"
}
# Error text: "PROG: " dropped, lines joined (vmm prints qemu's two lines as one).
errtext() { mask "$1" | sed 's/^PROG: //' | tr '\n' ' ' | sed 's/ *$//'; }

# same_as TOOL description args...: TOOL img or io. USAGE=1: a usage error,
# which qemu-img ends with a second line "Try 'qemu-img --help'..." and vmm
# with " (try 'vmm-img CMD --help')" on the same line: the rest must match.
same_as() {
	tool=$1 desc=$2
	shift 2
	if [ "$tool" = img ]; then q=qemu-img v=$IMG; else q=qemu-io v=$IO; fi
	rm -rf q v
	cp -a fx q && cp -a fx v
	(cd q && "$q" "$@" >../q.out 2>../q.err </dev/null; echo $? >../q.rc)
	(cd v && "$v" "$@" >../v.out 2>../v.err </dev/null; echo $? >../v.rc)
	why=""
	[ "$(cat q.rc)" = "$(cat v.rc)" ] || why="$why exit $(cat v.rc), qemu $(cat q.rc);"
	mask q.out >q.m
	mask v.out >v.m
	cmp -s q.m v.m || why="$why stdout: $(diff q.m v.m | head -6 | tr '\n' '|');"
	if [ -n "$USAGE" ]; then
		[ "$(head -1 q.err | mask /dev/stdin)" = "$(mask v.err | sed "s/ (try 'PROG [a-z]* *--help')\$//")" ] ||
			why="$why stderr '$(cat v.err)', qemu '$(head -1 q.err)';"
	elif [ "$(errtext q.err)" != "$(errtext v.err)" ]; then
		why="$why stderr '$(errtext v.err)', qemu '$(errtext q.err)';"
	fi
	for f in q/*; do
		f=${f#q/}
		if [ ! -e "v/$f" ]; then why="$why no $f;"; continue; fi
		cmp -s "q/$f" "v/$f" && continue
		(cd q && qemu-img compare -q "$f" "../v/$f" >/dev/null 2>&1) || why="$why $f content differs;"
		[ "$(qemu-img info "q/$f" | grep '^virtual size\|^backing file format')" = \
		  "$(qemu-img info "v/$f" | grep '^virtual size\|^backing file format')" ] || why="$why $f info differs;"
	done
	if [ -z "$why" ]; then ok "$tool $desc: as qemu-$tool (exit $(cat v.rc))"
	else bad "$tool $desc:$why"; fi
}

# vmm-io: qemu-io's command checks, usage lines and reports.
same_as io "read -C" -c 'read -C 0 4k' v3.qcow2
same_as io "write -C / discard -C" -c 'write -C -P 7 0 4k' -c 'discard -C 64k 64k' v3.qcow2
same_as io "bad option" -c 'read -x 0 4k' v3.qcow2
same_as io "bad operand count" -c 'read -q 0' -c 'readv -x 0 4k' v3.qcow2
same_as io "too few arguments" -c 'read 0' -c 'alloc' -c 'map x' -c 'truncate' v3.qcow2
same_as io "unknown command" -c 'bogus' v3.qcow2
same_as io "no file open" -c 'close' -c 'length' -c 'read 0 1' v3.qcow2
same_as io "read-only" -r -c 'write 0 4k' -c 'discard 0 4k' v3.qcow2
same_as io "pattern errors" -c 'write -P abc 0 4k' -c 'write -P 0x100 0 4k' -c 'write -z -P 1 0 4k' v3.qcow2
same_as io "map: the image's own layer" -c 'map' top.qcow2
same_as io "alloc: own layer, clipped at the end" -c 'alloc 0 16M' -c 'alloc 1M 64k' -c 'alloc 100M' top.qcow2
same_as io "fractional sizes" -c 'read 1.5 1k' -c 'read 0.5k 1k' -c 'read 1.1k 1k' v3.qcow2
same_as io "options after the operands" -c 'read -q 0 4k -v' -c 'read 0 -1' v3.qcow2
same_as io "read -s/-l need -P" -c 'read -s 1k 0 4k' -c 'read -a 0 4k' v3.qcow2
same_as io "write -s FILE" -c 'write -s ../fx/disk.raw 0 64k' -c 'read -P 0x5a 0 64k' v3.qcow2
same_as io "write -s errors" -c 'write -s nonexist 0 4k' -c 'write -s disk.raw -P 1 0 4k' -c 'write -P 1 -s 0 4k' v3.qcow2
same_as io "write flag checks" -c 'write -n -P 1 0 4k' -c 'write -b -z 0 4k' -c 'write -u 0 4k' v3.qcow2
same_as io "write -z -c is a zero write" -c 'write -z -c 0 4k' -c 'read -P 0 0 4k' v3.qcow2
same_as io "sigraise range" -c 'sigraise 100' -c 'sigraise 0' v3.qcow2
same_as io "prompt on stdin" v3.qcow2
same_as io "not a qcow2 image" -f qcow2 -c 'read 0 1' disk.raw
same_as io "usage lines" -c 'open -x v3.qcow2' -c 'write -x 0 1' v3.qcow2

# vmm-img.
same_as img "convert -B the source's backing" convert -O qcow2 -B mid.qcow2 -F qcow2 top.qcow2 o.qcow2
if [ "$(qemu-img map --output=json q/o.qcow2 | sed 's/, "offset": [0-9]*//')" = \
     "$(qemu-img map --output=json v/o.qcow2 | sed 's/, "offset": [0-9]*//')" ]; then
	ok "convert -B: the output holds only the top layer's clusters, as qemu-img's"
else bad "convert -B: allocation differs: $(qemu-img map --output=json v/o.qcow2 | head -5)"; fi
same_as img "convert -B, another backing" convert -O qcow2 -B base.qcow2 -F qcow2 top.qcow2 o.qcow2
same_as img "convert -B, source without backing" convert -O qcow2 -B base.qcow2 -F qcow2 v3.qcow2 o.qcow2
same_as img "create: qcow2 size rounded up to 512" create -f qcow2 n.qcow2 1000
same_as img "create: bad cluster_size" create -f qcow2 -o cluster_size=3000 n.qcow2 1M
same_as img "create: cluster_size too big" create -f qcow2 -o cluster_size=4M n.qcow2 1M
same_as img "create: extended_l2 with small clusters" create -f qcow2 -o cluster_size=512,extended_l2=on n.qcow2 1M
same_as img "snapshot without an action" snapshot snap.qcow2
same_as img "snapshot -a missing" snapshot -a nosuch snap.qcow2
same_as img "snapshot -d missing" snapshot -d nosuch snap.qcow2
same_as img "convert -l missing" convert -O qcow2 -l nosuch snap.qcow2 o.qcow2
USAGE=1
same_as img "compare: one file" compare disk.raw
same_as img "unknown option" info -x v3.qcow2
same_as img "unknown long option" info --frob v3.qcow2
same_as img "missing option argument" info v3.qcow2 -f
same_as img "missing long option argument" info --output
same_as img "no file name" info
same_as img "check -r foo" check -r foo v3.qcow2
same_as img "resize: one argument" resize v3.qcow2
same_as img "snapshot: two actions" snapshot -l -c x snap.qcow2
USAGE=
same_as img "convert -S not a multiple of 512" convert -S 100 -O raw v3.qcow2 o.raw
same_as img "convert -S bad number" convert -S 1x -O raw v3.qcow2 o.raw
same_as img "convert without an output" convert v3.qcow2
same_as img "map --start-offset bad" map --start-offset=1x v3.qcow2
same_as img "map --max-length bad" map --max-length=-1 v3.qcow2
same_as img "map --start-offset out of range" map --start-offset=99999E v3.qcow2
same_as img "map --max-length above INT64_MAX" map --max-length=9223372036854775808 v3.qcow2
same_as img "resize: bad size" resize v3.qcow2 1x
same_as img "resize: bad preallocation" resize --preallocation=bogus v3.qcow2 +1M
same_as img "resize: qcow2 to a non-multiple of 512" resize --shrink v3.qcow2 1000
same_as img "not a qcow2 image" info -f qcow2 disk.raw
same_as img "convert -m 0" convert -m 0 -O raw disk.raw o.raw
same_as img "convert -m 17" convert -m 17 -O raw disk.raw o.raw
same_as img "convert -B without -F" convert -O qcow2 -B base.qcow2 top.qcow2 o.qcow2
same_as img "convert -o backing_file is -B" convert -O qcow2 -o backing_file=base.qcow2,backing_fmt=qcow2 top.qcow2 o.qcow2
same_as img "convert: an unknown -o key" convert -O qcow2 -o foo=1 disk.raw o.qcow2
same_as img "convert -B to raw" convert -O raw -B base.qcow2 -F qcow2 top.qcow2 o.raw
same_as img "convert: a value the format refuses" convert -O qcow2 -o compat=0.10,extended_l2=on disk.raw o.qcow2
same_as img "create: bad compat" create -f qcow2 -o compat=1.2 n.qcow2 1M
same_as img "create: bad refcount_bits" create -f qcow2 -o refcount_bits=3 n.qcow2 1M
same_as img "create: v2 lazy refcounts" create -f qcow2 -o compat=0.10,lazy_refcounts=on n.qcow2 1M
same_as img "create: v2 zstd" create -f qcow2 -o compat=0.10,compression_type=zstd n.qcow2 1M
same_as img "create: bad compression_type" create -f qcow2 -o compression_type=bogus n.qcow2 1M
same_as img "create: bad preallocation after Formatting" create -f qcow2 -o preallocation=bogus n.qcow2 1M
same_as img "create: bad -o size" create -f qcow2 -o size=1x n.qcow2
same_as img "create: own backing file" create -f qcow2 -b n.qcow2 -F qcow2 n.qcow2
same_as img "create: size above INT64_MAX" create -f qcow2 n.qcow2 8E
same_as img "create: missing directory" create -f qcow2 nodir/n.qcow2 1M
same_as img "create: data_file_raw in Formatting" create -f qcow2 -o data_file=d.raw,data_file_raw=on n.qcow2 1M
same_as img "create: external data file" create -f qcow2 -o data_file=d.raw n.qcow2 1M
if [ "$(stat -c %s q/d.raw)" = "$(stat -c %s v/d.raw)" ]; then ok "create: data file sized as qemu's"
else bad "create: data file $(stat -c %s v/d.raw) bytes, qemu's $(stat -c %s q/d.raw)"; fi
same_as img "snapshot -l -q still lists" snapshot -l -q snap.qcow2
same_as img "snapshot -d takes a name, not an id" snapshot -d 1 snap.qcow2
same_as img "compare -p: the newline after the result" compare -p v3.qcow2 top.qcow2
same_as img "map: data over a hole of the host file is zero" map v3.qcow2
same_as img "map --output=json: zero data clusters" map --output=json v3.qcow2
same_as img "map --output=json of a chain" map --output=json top.qcow2
# check --output=json: qemu's key order (its fragmented-clusters count for
# compressed clusters is the driver's business: dropped here).
qemu-img convert -c -O qcow2 fx/disk.raw comp.qcow2
qemu-img check --output=json comp.qcow2 | grep -v fragmented | tr -d ' \n' | sed 's/,}/}/' >q.json
"$IMG" check --output=json comp.qcow2 | grep -v fragmented | tr -d ' \n' | sed 's/,}/}/' >v.json
if cmp -s q.json v.json; then ok "check --output=json: qemu-img's keys in its order"
else bad "check --output=json: $(cat v.json), qemu-img $(cat q.json)"; fi
finish
