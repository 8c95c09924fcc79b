# bench/plot.gp: the charts of docs/performance.md, drawn by bench/run-all:
#   gnuplot -e "chart='ratios'; data='FILE'; out='PNG'; n=ROWS" bench/plot.gp
# ratios:  one bar per CSV row, vmm/QEMU on a log scale (green: vmm ahead)
#          data lines: index "label" ratio vmm_ahead(0|1)
# startup: launch time and memory, vmm and QEMU side by side (log scale)
#          data lines: "label" vmm qemu
set terminal pngcairo size 1100,650 font "sans,9" noenhanced
set output out
set grid ytics
set logscale y
set style fill solid 0.8 border -1

if (chart eq 'ratios') {
	set title "vmm / QEMU per benchmark row (below 1: vmm lower; see 'ahead' in the table)"
	set boxwidth 0.7
	set xtics rotate by 60 right
	set xrange [-1:n]
	set ylabel "vmm / QEMU"
	set arrow from -1,1 to n,1 nohead lw 2 lc rgb "black"
	plot data using 1:3:($4 > 0 ? 0x2ca02c : 0xd62728):xtic(2) with boxes lc rgb variable notitle
} else {
	set title "Start-up: vmm vs QEMU microvm (same guest, same run)"
	set style data histograms
	set style histogram clustered gap 1
	set boxwidth 0.9
	set xtics rotate by 20 right
	set ylabel "ms or MiB (log)"
	set key top left
	set bmargin 8
	plot data using 2:xtic(1) title "vmm" lc rgb "#1f77b4", \
	     '' using 3 title "QEMU microvm" lc rgb "#ff7f0e"
}
