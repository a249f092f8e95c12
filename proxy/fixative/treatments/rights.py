"""Rights metadata embedded in treated images: an XMP packet and an EXIF Copyright.

The XMP carries IPTC's `plus:DataMining` = "prohibited for AI/ML training",
which ExifTool reads as `XMP-plus:DataMining`.
"""

from __future__ import annotations

import unicodedata
from xml.sax.saxutils import escape

from PIL import Image

DMI_PROHIBITED_AIMLTRAINING = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"
EXIF_COPYRIGHT = 0x8298

# Typography the EXIF ASCII type cannot hold, spelled the way people would type it.
_ASCII_SPELLINGS = str.maketrans(
    {
        "©": "(c)", "®": "(R)", "™": "(TM)", "—": "-", "–": "-",
        "‘": "'", "’": "'", "“": '"', "”": '"',
    }
)

_XMP_TEMPLATE = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"
    xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/">
{creator}   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{notice}</rdf:li></rdf:Alt></dc:rights>
   <xmpRights:Marked>True</xmpRights:Marked>
   <xmpRights:UsageTerms>
    <rdf:Alt><rdf:li xml:lang="x-default">{notice}</rdf:li></rdf:Alt>
   </xmpRights:UsageTerms>
   <plus:DataMining>{dmi}</plus:DataMining>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""


def rights_xmp(artist: str, notice: str) -> bytes:
    """UTF-8 XMP packet: dc:creator (if any), dc:rights and usage terms, AI-training opt-out."""
    creator = (
        f"   <dc:creator><rdf:Seq><rdf:li>{escape(artist)}</rdf:li></rdf:Seq></dc:creator>\n"
        if artist
        else ""
    )
    dmi = DMI_PROHIBITED_AIMLTRAINING
    text = _XMP_TEMPLATE.format(creator=creator, notice=escape(notice), dmi=dmi)
    return text.encode("utf-8")


def ascii_notice(text: str) -> str:
    """`text` folded to printable ASCII for EXIF, which has no Unicode string type."""
    spelled = unicodedata.normalize("NFKD", text.translate(_ASCII_SPELLINGS))
    return "".join(c for c in spelled if " " <= c <= "~")


def exif_copyright(notice: str) -> Image.Exif:
    """An EXIF block holding only Copyright (0x8298), folded to ASCII."""
    exif = Image.Exif()
    exif[EXIF_COPYRIGHT] = ascii_notice(notice)
    return exif
