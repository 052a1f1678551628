# test/bench/chart.gp: docs/bench.png of `make bench`.
# gnuplot -e "datafile='...'; outfile='...'; subtitle='...'" chart.gp
# datafile lines: "label" V1-ratio V2-ratio V3-ratio (median TPS relative to V0 in the same run)
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,600 font "DejaVu Sans,10" noenhanced
} else {
    set terminal png size 1200,600 noenhanced
}
set output outfile
set title "Median TPS relative to V0 (no row level security, explicit WHERE organization_id = $1), higher is better\n".subtitle
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.005:4]
set ytics ("0.01" 0.01, "0.02" 0.02, "0.05" 0.05, "0.1" 0.1, "0.2" 0.2, "0.5" 0.5, "1" 1, "2" 2, "4" 4)
set grid ytics
set xtics rotate by -25 scale 0
set ylabel "ratio to V0 (log scale)"
set key tmargin center horizontal maxcols 3 maxrows 1 samplen 2 width -4
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "black" front
set arrow from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 3 lw 1 lc rgb "#888888" front
plot datafile using 2:xtic(1) title "V1: bare current_setting()::uuid policy" lc rgb "#d95f02", \
     '' using 3 title "V2: (SELECT current_setting()::uuid) policy" lc rgb "#7570b3", \
     '' using 4 title "V3: tenant_iso" lc rgb "#1b9e77"
