"""The grey-box detector on made pictures (no browser): it finds Flutter's error box and
leaves ordinary screens alone."""

from __future__ import annotations

from PIL import Image, ImageDraw

from tests.support.screencheck import grey_boxes


def _screen(tmp_path, draw) -> str:  # noqa: ANN001
    im = Image.new("RGB", (780, 1688), (254, 247, 255))  # the app's light surface at 2x
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 780, 120], fill=(243, 237, 247))  # app bar
    d.text((40, 40), "同步 Sync", fill=(30, 30, 30))
    d.rounded_rectangle([32, 200, 748, 296], radius=40, fill=(103, 80, 164))  # a filled button
    d.rounded_rectangle([32, 320, 748, 416], radius=40, fill=(226, 224, 228))  # disabled button
    d.rectangle([32, 440, 748, 442], fill=(196, 196, 196))  # a divider: grey, but a line
    draw(im, d)
    path = tmp_path / "screen.png"
    im.save(path)
    return str(path)


def test_finds_the_error_box_where_a_row_of_buttons_should_be(tmp_path):
    # RenderErrorBox 0xF0C0C0C0 over the surface, 358 x 48 CSS px at device pixel ratio 2
    png = _screen(tmp_path, lambda im, d: d.rectangle([32, 600, 748, 696], fill=(196, 195, 196)))
    [box] = grey_boxes(png, scale=2)
    assert abs(box[0] - 32) <= 4 and abs(box[1] - 600) <= 4 and abs(box[2] - 749) <= 4 and abs(box[3] - 697) <= 4


def test_an_ordinary_screen_with_text_buttons_and_a_grey_photo_passes(tmp_path):
    def draw(im, d):  # noqa: ANN001
        for y in range(600, 1000, 18):  # lines of text on the light grey of M3 cards
            d.rectangle([32, y - 4, 748, y + 14], fill=(236, 236, 236))
            d.text((40, y), "屋顶漏雨 墙面潮湿 2026-03-02 12:00", fill=(20, 20, 20))
        for x in range(32, 748):  # a grey photo with real gradients (a concrete wall)
            d.line([x, 1100, x, 1500], fill=(190 + x % 12, 190 + x % 12, 190 + x % 12))

    assert grey_boxes(_screen(tmp_path, draw), scale=2) == []


def test_a_small_grey_chip_is_not_a_box(tmp_path):
    png = _screen(tmp_path, lambda im, d: d.rectangle([32, 600, 112, 640], fill=(196, 196, 196)))
    assert grey_boxes(png, scale=2) == []
