"""Image treatments: bytes in, bytes out, no mitmproxy import.

`imageinfo` inspects an upstream body cheaply (header only) and rejects what is
not a safe image. Decoy styles: `decoy` (generated: painted from a seed, never sees
the artwork), `blurred`, `notice`, `folder`. `watermark` marks a downscaled copy;
`tracemark` hides a client's tag in the pixels; `rights` builds the XMP they embed,
`xmpinsert` adds it to originals byte for byte. `apply` is what the render pool runs,
`service` the pool itself, `diskcache` its optional on-disk tier.
"""
