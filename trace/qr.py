"""QR code images: the one PNG renderer every package serves its Digital Link codes with."""

from __future__ import annotations

import io
from functools import lru_cache

QUIET_ZONE = 4
"""Light modules around the symbol, as ISO/IEC 18004 requires."""


@lru_cache(maxsize=512)
def qr_png(text: str, scale: int = 8) -> bytes:
    """Return a 1-bit PNG of the QR code (error correction M) of ``text``.

    :param text: what the code carries, usually a GS1 Digital Link URI.
    :param scale: pixels per module; the quiet zone is :data:`QUIET_ZONE` modules.
    """
    import qrcode  # imported on first use: importing this module stays cheap
    from qrcode.image.pil import PilImage

    image = qrcode.make(
        text,
        image_factory=PilImage,
        box_size=scale,
        border=QUIET_ZONE,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    buffer = io.BytesIO()
    image.save(buffer, kind="PNG")
    return buffer.getvalue()
