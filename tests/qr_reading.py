"""Reading QR codes back from what the product renders, as a phone's scanner would."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

_QR_ONLY = zxingcpp.barcode_formats_from_str("QRCode")


def qr_texts(image: Image.Image | bytes) -> list[str]:
    """The text of every QR code in `image` (a picture, or PNG bytes). QR codes only:
    zxing also tries linear formats and now and then reads a few characters of one out of
    a dense QR's modules (seen at error correction level H: an extra 'D49B')."""
    picture = Image.open(io.BytesIO(image)) if isinstance(image, bytes) else image
    return [found.text for found in zxingcpp.read_barcodes(picture, formats=_QR_ONLY)]
