"""Pure parsers for the demo corpus sources (see DATA.md), one module per format, and the stratified split.

Every parser takes bytes / str / decoded objects that the caller has already read and yields records
``{"text": str, "source": str, "url": str, "meta": dict}`` (``records.make_record``). Nothing here touches the
network, the file system or a subprocess, so each parser is tested on a few hand-made lines.

    records    the Record type and helpers every parser shares
    dictd      dictd dictionaries (gcide, wordnet, foldoc, jargon)
    fortunes   fortune(6) files
    rst        Python docs reST sources
    pod        Perl POD
    troff      man(7) pages
    austen     Jane Austen's novels from an R lazy-load database
    mail       SpamAssassin messages
    sampling   the stratified, seeded sample over sources
"""
