"""Perl POD: tiny hand-made inputs with exact expected outputs."""

from __future__ import annotations

from pipelines.corpus.pod import parse_pod, pod_inline

FILLER = "Filler sentence that makes this section long enough to be kept as a document. " * 3  # 240 chars


POD = f"""=encoding utf8

=head1 NAME

perlfrob - how to frob

=head1 DESCRIPTION

Use B<frob> with C<< $x->frob >> or I<see> L<the guide|perlguide> and L<perlvar/"$_">; 1 E<gt> 0.
{FILLER}

=over 4

=item *

First point.

=item B<-v>

Verbose.

=back

    my $x = B<not markup in verbatim>;

=cut
"""


def test_pod_inline_codes():
    assert pod_inline("B<C<x>> E<lt>E<0x41>E<101> X<idx>L</Taint mode>") == "x <Ae Taint mode"


def test_parse_pod_splits_at_head1_and_strips_markup_lightly():
    records = list(parse_pod(POD, "perlfrob"))
    assert len(records) == 1  # NAME is under 200 characters
    (record,) = records
    assert record["url"] == "perldoc://perlfrob#description"
    assert record["meta"] == {"file": "perlfrob", "section": "DESCRIPTION"}
    assert record["source"] == "perl-docs"
    assert record["text"] == (
        "DESCRIPTION\n\n"
        f"Use frob with $x->frob or see the guide and $_ in perlvar; 1 > 0.\n{FILLER.rstrip()}\n\n"
        "- First point.\n\n"
        "-v\n\n"
        "Verbose.\n\n"
        "    my $x = B<not markup in verbatim>;"
    )
