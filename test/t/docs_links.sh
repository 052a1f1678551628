#!/usr/bin/env bash
# test/t/docs_links.sh: the documentation's links, and the pgTAP example of docs/testing.md.
#
#   1. Every relative link in README.md, CHANGELOG.md and docs/*.md points to a file or
#      directory that exists, and every #anchor (on the same page or on another Markdown page)
#      matches a heading of that page, by GitHub's rules for heading ids: lower case, spaces
#      to "-", punctuation removed ("_" and "-" kept), "-1", "-2" ... for repeated headings.
#      Links inside code spans and fenced code blocks are not links; http(s) and mailto links
#      are not checked.
#   2. Every docs/*.md page is linked from README.md, or from a page README.md links (as
#      docs/citus-notes.md is from docs/citus.md).
#   3. The SQL block right after the line "<!-- tested: tap-example -->" in docs/testing.md
#      has five lines and, run with psql in a fresh database (from template0, with tenant_iso,
#      pgTAP, one compliant tenant table and one that the schema check never set up, created
#      under tenant_iso.unsafe_ddl), prints "ok" for the first and "not ok" for the second.
#
# Prints TAP.  Needs PGHOST/PGPORT/PGUSER (superuser), TI_TMP and TI_BIN (test/run.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."

PSQL=("$TI_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1)
DB=ti_docs_links
ERR="$TI_TMP/docs_links.err"
n=0
: >"$ERR"

ok() {	# ok STATUS DESCRIPTION [DIAGNOSTICS] (STATUS 0 = pass)
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
	return 0
}
cleanup() {
	"$TI_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# 1 and 2: links, anchors, pages reachable from the README (perl: prove needs it anyway).
# Prints one line per test: "PASS<TAB>description" or "FAIL<TAB>description<TAB>diagnostics"
# (diagnostics with "\n" for new lines).
# ---------------------------------------------------------------------------------------------
read -r -d '' LINKS_PL <<'PERL'
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;

my @pages = @ARGV;
my (%anchors, %links);

# GitHub's heading id: lower case, punctuation removed (letters, digits, marks, "_", "-" and
# spaces kept), each space to "-".
sub slug {
    my ($text) = @_;
    $text =~ s/<[^>]*>//g;                      # inline HTML
    $text =~ s/!?\[([^\]]*)\]\([^)]*\)/$1/g;    # links: their text
    $text = lc $text;
    $text =~ s/[^\p{L}\p{N}\p{M}\p{Pc}\- ]//g;
    $text =~ s/ /-/g;
    return $text;
}

sub normalize {
    my ($path) = @_;
    my @out;
    for my $part (split m{/}, $path) {
        next if $part eq '' || $part eq '.';
        if ($part eq '..') { return undef unless @out; pop @out; next; }
        push @out, $part;
    }
    return join '/', @out;
}

sub read_page {
    my ($page) = @_;
    return if exists $anchors{$page};
    $anchors{$page} = {};
    $links{$page} = [];
    open my $fh, '<:encoding(UTF-8)', $page or return;
    my ($fence, %seen) = (undef);
    my $lineno = 0;
    while (my $line = <$fh>) {
        $lineno++;
        chomp $line;
        if (defined $fence) {
            $fence = undef if $line =~ /^\s*\Q$fence\E\s*$/;
            next;
        }
        if ($line =~ /^\s*(```+|~~~+)/) { $fence = $1; next; }
        if ($line =~ /^#{1,6}\s+(.*?)\s*#*\s*$/) {
            my $id = slug($1);
            my $k = $seen{$id}++;
            $anchors{$page}{$k ? "$id-$k" : $id} = 1;
        }
        while ($line =~ /<a\s+(?:id|name)\s*=\s*"([^"]+)"/g) { $anchors{$page}{$1} = 1; }
        (my $text = $line) =~ s/(`+).*?\1//g;   # code spans are not links
        $text =~ s/<!--.*?-->//g;
        while ($text =~ /\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g) {
            push @{ $links{$page} }, [$lineno, $1];
        }
        while ($text =~ /^\s*\[[^\]]+\]:\s*(\S+)/g) { push @{ $links{$page} }, [$lineno, $1]; }
    }
    close $fh;
}

sub result {
    my ($pass, $desc, @diag) = @_;
    print join("\t", $pass ? 'PASS' : 'FAIL', $desc, join('\n', @diag)), "\n";
}

read_page($_) for @pages;

# every target of a page: [line, target, resolved file or undef, anchor or undef]
my %targets;
for my $page (@pages) {
    for my $l (@{ $links{$page} }) {
        my ($lineno, $target) = @$l;
        next if $target =~ /^[a-z][a-z0-9+.-]*:/i;   # http:, https:, mailto:
        my ($path, $anchor) = split /#/, $target, 2;
        my $file;
        if ($path eq '') {
            $file = $page;
        } else {
            my $dir = dirname($page);
            $file = normalize($dir eq '.' ? $path : "$dir/$path");
        }
        push @{ $targets{$page} }, [$lineno, $target, $file, $anchor];
    }
}

for my $page (@pages) {
    my (@missing, @bad_anchor);
    for my $t (@{ $targets{$page} || [] }) {
        my ($lineno, $target, $file, $anchor) = @$t;
        if (!defined $file || !-e $file) {
            push @missing, "$page:$lineno: $target";
            next;
        }
        next unless defined $anchor && $anchor ne '';
        if ($file !~ /\.md$/) {
            push @bad_anchor, "$page:$lineno: $target (an anchor into a file that is not Markdown)";
            next;
        }
        read_page($file);
        push @bad_anchor, "$page:$lineno: $target (no heading \"$anchor\" in $file)"
            unless $anchors{$file}{$anchor};
    }
    my $n = scalar @{ $targets{$page} || [] };
    result(!@missing, "$page: every relative link points to an existing file ($n links)", @missing);
    result(!@bad_anchor, "$page: every #anchor matches a heading", @bad_anchor);
}

# pages linked from the README, and from those pages
my %linked_from;
for my $page (@pages) {
    for my $t (@{ $targets{$page} || [] }) {
        push @{ $linked_from{$t->[2]} }, $page if defined $t->[2] && $t->[2] ne $page;
    }
}
my %level1 = map { $_->[2] => 1 } grep { defined $_->[2] } @{ $targets{'README.md'} || [] };
for my $doc (sort grep { m{^docs/[^/]+\.md$} } @pages) {
    my @from = @{ $linked_from{$doc} || [] };
    my ($direct) = grep { $_ eq 'README.md' } @from;
    my ($via) = grep { $level1{$_} } @from;
    result($direct || $via,
           "$doc is linked from README.md" . ($direct ? '' : $via ? " (through $via)" : ''),
           'linked from: ' . (@from ? join(', ', @from) : 'no page'));
}
PERL

pages=(README.md CHANGELOG.md $(ls docs/*.md))
while IFS=$'\t' read -r status desc diag; do
	if [ "$status" = PASS ]; then
		ok 0 "$desc"
	else
		ok 1 "$desc" "$(printf '%b' "$diag")"
	fi
done < <(perl -CSA -e "$LINKS_PL" "${pages[@]}" 2>>"$ERR" || echo "FAIL	the link checker ran	$(tail -3 "$ERR")")

# ---------------------------------------------------------------------------------------------
# 3: the pgTAP example of docs/testing.md, run as a user would run it
# ---------------------------------------------------------------------------------------------
example=$(awk '
	found && /^```sql[[:space:]]*$/ { inside = 1; next }
	inside && /^```[[:space:]]*$/ { exit }
	inside { print; next }
	/^<!-- tested: tap-example( .*)? -->[[:space:]]*$/ { found = 1; next }
	found && !/^[[:space:]]*$/ { exit }
' docs/testing.md)
lines=$(printf '%s' "$example" | grep -c .)
ok $([ "$lines" -eq 5 ]; echo $?) "docs/testing.md: a sql block of five lines follows <!-- tested: tap-example -->" \
	"found $lines lines: $example"

cleanup
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB TEMPLATE template0" >/dev/null 2>>"$ERR"
"${PSQL[@]}" -d "$DB" \
	-c "SET client_min_messages = warning" \
	-c "CREATE EXTENSION tenant_iso" \
	-c "CREATE EXTENSION pgtap" \
	-c "CREATE TABLE good (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, title text NOT NULL)" \
	-c "SET tenant_iso.unsafe_ddl = on" \
	-c "CREATE TABLE damaged (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, title text NOT NULL)" \
	>/dev/null 2>>"$ERR"
ok $? "a fresh database with tenant_iso, pgTAP, a compliant tenant table and one created under tenant_iso.unsafe_ddl" \
	"$(tail -3 "$ERR")"

out=$(printf '%s\n' "$example" | "$TI_BIN/psql" -X -q -A -t -d "$DB" 2>&1)
ok $? "the example runs with psql" "$out"
ok $(printf '%s\n' "$out" | grep -qE '^ok [0-9]+ - table public\.good is isolated by tenant$'; echo $?) \
	"the example prints ok for the compliant table" "$out"
ok $(printf '%s\n' "$out" | grep -qE '^not ok [0-9]+ - table public\.damaged is isolated by tenant$'; echo $?) \
	"the example prints not ok for the damaged table" "$out"
ok $([ "$(printf '%s\n' "$out" | grep -cE '^(not )?ok [0-9]+')" -eq 2 ]; echo $?) \
	"and one test per tenant table, nothing else" "$out"

echo "1..$n"
