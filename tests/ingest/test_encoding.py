import os

import pytest

from ingest.encoding import decode_bytes
from ingest.records import UnreadableFile

LITHUANIAN = "id,title,price\nLT-1,Šilta žieminė striukė su gobtuvu,49.90\nLT-2,Vandeniui atsparūs batai ėjimui,89.00\n"
FRENCH = (
    "id,title,price\nFR-1,Veste chaude d'hiver à capuche,49.90\nFR-2,Chaussures imperméables légères,89.00\n"
)
GERMAN = "id,title,price\nDE-1,Wasserdichte Wanderschuhe für Damen,89.00\nDE-2,Größe 38 Fleecejacke,49.00\n"
CHINESE = "id,title,price\nZH-1,冬季保暖夹克带帽,49.90\nZH-2,防水登山鞋轻便舒适,89.00\n"


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        (LITHUANIAN, "utf-8", "utf-8"),
        (LITHUANIAN, "utf-8-sig", "utf-8-sig"),
        (CHINESE, "utf-16", "utf-16"),
        (LITHUANIAN, "utf-16-le", "utf-16-le"),
        (LITHUANIAN, "utf-16-be", "utf-16-be"),
        (FRENCH, "cp1252", "cp1252"),
        (GERMAN, "cp1252", "cp1252"),
        (LITHUANIAN, "cp1257", "cp1257"),
        (CHINESE, "gb18030", "gb18030"),
    ],
)
def test_spreadsheet_encodings_decode_exactly(text, encoding, expected):
    decoded = decode_bytes(text.encode(encoding), "products.csv")
    assert decoded.text.lstrip("\ufeff") == text
    assert decoded.encoding == expected


def test_binary_file_is_refused_with_a_fix():
    with pytest.raises(UnreadableFile, match="binary"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(200), "products.csv")


def test_undecodable_bytes_are_refused_clearly():
    garbage = bytes(range(0x80, 0x100)) * 20
    with pytest.raises(UnreadableFile, match="save it as UTF-8"):
        decode_bytes(garbage, "products.csv")


def test_broken_bom_file_is_refused():
    with pytest.raises(UnreadableFile, match="byte-order mark"):
        decode_bytes(b"\xef\xbb\xbfid,title\n\xff\xfe\xfa", "products.csv")
