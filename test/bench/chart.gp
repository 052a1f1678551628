# test/bench/chart.gp: docs/bench.png of `make bench`.
# gnuplot -e "datafile='...'; outfile='...'; subtitle='...'" chart.gp
# datafile lines: "label" V1/V0 V2/V0 V3/V0 V3/V0L (ratios of median TPS in the same run; NaN: not run).
# Bars: V1/V0, V2/V0, V3/V0, V3/V0L per workload; V3's two ratios are printed above their bars.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1400,650 font "DejaVu Sans,10" noenhanced
} else {
    set terminal png size 1400,650 noenhanced
}
set output outfile
set title "Median TPS relative to the baselines, higher is better: V0 (plain table, WHERE organization_id = $1)\nand V0L (plain table, the organization a literal in the query text; none for W6)\n".subtitle
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "NaN"
set logscale y
set yrange [0.005:4]
set ytics ("0.01" 0.01, "0.02" 0.02, "0.05" 0.05, "0.1" 0.1, "0.2" 0.2, "0.5" 0.5, "1" 1, "2" 2, "4" 4)
set grid ytics
set xtics rotate by -25 scale 0
set rmargin 8
set ylabel "ratio to the baseline (log scale)"
set key tmargin center horizontal maxcols 4 maxrows 1 samplen 2 width -2
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "black" front
set arrow from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 3 lw 1 lc rgb "#888888" front
plot datafile using 2:xtic(1) title "V1 / V0: bare current_setting()::uuid policy" lc rgb "#d95f02", \
     '' using 3 title "V2 / V0: (SELECT current_setting()::uuid) policy" lc rgb "#7570b3", \
     '' using 4 title "V3 / V0: tenant_iso, to the bind parameter" lc rgb "#1b9e77", \
     '' using 5 title "V3 / V0L: tenant_iso, to the literal" lc rgb "#0b4f3a", \
     '' using ($0 + 0.1):4:(sprintf("%.2f", $4)) with labels rotate by 90 left offset 0,0.5 font ",8" notitle, \
     '' using ($0 + 0.3):5:(sprintf("%.2f", $5)) with labels rotate by 90 left offset 0,0.5 font ",8" notitle
