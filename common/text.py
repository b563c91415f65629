import unicodedata


def unaccent(text: str) -> str:
    """Lower-case `text` without Vietnamese diacritics, so "thu vien" finds "Thư viện"."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
