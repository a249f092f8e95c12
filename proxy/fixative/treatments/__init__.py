"""Pure image treatments: bytes in, bytes out, no I/O and no mitmproxy import.

`imageinfo` inspects an upstream body cheaply (header only) and rejects what is
not a safe image; `decoy` draws a stand-in that never sees the artwork;
`watermark` marks a downscaled copy; `rights` builds the metadata they embed.
"""
