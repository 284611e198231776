"""Makes assets/fonts/NotoSansSC-subset.otf, the CJK font clientele embeds for charts.

Source: Noto Sans CJK SC Regular (index 2 of NotoSansCJK-Regular.ttc, Debian package
fonts-noto-cjk 1:20220127+repack1-1, SIL Open Font License 1.1; OFL.txt beside this
file). Kept: printable ASCII and Latin-1, general and CJK punctuation, full-width forms,
the 3,755 characters of GB 2312 level 1 (the common hanzi), and every character of the
shipped vocabularies (assets/vocab/*.toml). Hinting is dropped (charts are drawn at
display sizes). Reproduce with fonttools 4.x:

    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb noto
    python3 assets/fonts/subset.py noto/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
"""

import pathlib
import sys

from fontTools import subset
from fontTools.ttLib import TTCollection

HERE = pathlib.Path(__file__).resolve().parent


def gb2312_level1():
    """Rows 16-55 of GB 2312 (bytes 0xB0-0xD7), row 55 ending at 0xF9."""
    chars = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            if hi == 0xD7 and lo > 0xF9:
                break
            chars.append(bytes([hi, lo]).decode("gb2312"))
    return chars


def wanted():
    text = set(chr(c) for c in range(0x20, 0x7F))
    text |= set(chr(c) for c in range(0xA0, 0x100))
    text |= set(chr(c) for c in range(0x2010, 0x2060))  # general punctuation
    text |= set(chr(c) for c in range(0x3000, 0x3040))  # CJK punctuation
    text |= set(chr(c) for c in range(0xFF01, 0xFF5F))  # full-width forms
    text |= set("×÷≥≤±·…→←↑↓")
    text |= set(gb2312_level1())
    for vocab in sorted((HERE.parent / "vocab").glob("*.toml")):
        text |= set(vocab.read_text(encoding="utf-8"))
    return sorted(c for c in text if c.isprintable() or c == " ")


def main(ttc):
    font = TTCollection(ttc).fonts[2]
    assert font["name"].getDebugName(1) == "Noto Sans CJK SC", "expected index 2 = SC"
    options = subset.Options()
    options.hinting = False
    options.desubroutinize = False
    options.layout_features = []  # ab_glyph draws glyph by glyph: no shaping
    options.name_IDs = ["*"]
    options.notdef_outline = True
    s = subset.Subsetter(options)
    s.populate(text="".join(wanted()))
    s.subset(font)
    out = HERE / "NotoSansSC-subset.otf"
    font.save(out)
    print(out, out.stat().st_size, "bytes,", len(font.getGlyphOrder()), "glyphs")


if __name__ == "__main__":
    main(sys.argv[1])
