"""QR images of a ticket: the code holds the ticket secret and nothing else, so
any scanner (ours, a third party's, a USB reader typing it) reads the same string.

Medium error correction survives a cracked or dim phone screen; a 160-bit
secret still fits in a version 3 code (29 x 29 modules), a PNG of under 1 kB.
"""

import io

import qrcode
import qrcode.constants
import qrcode.image.pil
import qrcode.image.svg

BOX_SIZE = 8  # pixels per module in the PNG: about 300 px, crisp on any phone
BORDER = 4  # the quiet zone the QR standard asks for


def _code(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=BOX_SIZE, border=BORDER)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_png(data: str) -> bytes:
    image = _code(data).make_image(image_factory=qrcode.image.pil.PilImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_svg(data: str) -> bytes:
    # The "fill" variant paints a white background, so the code still scans on a
    # page in dark mode.
    image = _code(data).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + image.to_string()
