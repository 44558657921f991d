"""Reading an uploaded scenario (a YAML file or a zip) and checking its pictures, with no app."""

import contextlib
import hashlib
import io
import random
import struct
import unicodedata
import zipfile

import pytest
from PIL import Image

from simulator import uploads
from simulator.uploads import (
    MAX_FRAMES,
    MAX_PICTURE_BYTES,
    MAX_PICTURES,
    MAX_UPLOAD_BYTES,
    MAX_ZIP_MEMBERS,
    UploadRefused,
    check_picture,
    limits_in_words,
    picture_digest,
    picture_key,
    read_upload,
)

MiB = 1024 * 1024
SCENARIO = b"format: 1\nid: doorstep\ntitle: At the door\n"


def noise(count: int) -> bytes:
    """Return ``count`` bytes that do not compress, the same on every run."""
    return random.Random(count).randbytes(count)


def picture(kind="PNG", size=(12, 8), mode="RGB", **options) -> bytes:
    """Return a small picture of ``kind`` made with Pillow."""
    out = io.BytesIO()
    Image.new(mode, size, "teal" if mode == "RGB" else 1).save(out, kind, **options)
    return out.getvalue()


def animation(kind="GIF", size=(20, 10), frames=5) -> bytes:
    """Return an animation of paletted frames, each with its own corner so Pillow keeps it."""
    images = []
    for i in range(frames):
        image = Image.new("P", size, 0)
        image.putpalette([0, 128, 128, 200, 0, 0, 0, 0, 200])
        image.paste(1 + i % 2, (0, 0, 2, 2 + i % 3))
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, kind, save_all=True, append_images=images[1:], duration=80)
    return out.getvalue()


def zipped(members, method=zipfile.ZIP_DEFLATED) -> bytes:
    """Return a zip of ``members``: (name or ZipInfo, bytes) pairs, or a mapping of them."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items() if isinstance(members, dict) else members:
            archive.writestr(name, data)
    return out.getvalue()


def patched(data: bytes, signature: bytes, offset: int, value: bytes) -> bytes:
    """Return ``data`` with ``value`` written ``offset`` bytes into every header ``signature``."""
    out = bytearray(data)
    start = out.find(signature)
    while start >= 0:
        out[start + offset : start + offset + len(value)] = value
        start = out.find(signature, start + 1)
    return bytes(out)


def refusal(filename, data) -> str:
    """Return what a person is told when an upload is refused."""
    with pytest.raises(UploadRefused) as refused:
        read_upload(filename, data)
    return refused.value.message


def test_limits_are_stated_in_words():
    """The page's sentences state every limit that is enforced."""
    words = " ".join(limits_in_words())
    for figure in ("1 MiB", "8 MiB", "2 MiB", "16 MiB", "6,000 pixels", "16 megapixels"):
        assert figure in words
    assert f"{MAX_PICTURES} pictures" in words and f"{MAX_ZIP_MEMBERS} files" in words
    assert f"{MAX_FRAMES} frames" in words


# A YAML file


def test_a_yaml_file_is_read_as_uploaded():
    """A YAML upload is its bytes, unchanged, under its cleaned name."""
    upload = read_upload("doorstep.yaml", SCENARIO)
    assert (upload.yaml_name, upload.yaml) == ("doorstep.yaml", SCENARIO)
    assert upload.pictures == {} and upload.notes == []


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\pc1234\\Desktop\\door step.yaml", "door step.yaml"),
        ("<script>alert(1)</script>.yaml", "script_.yaml"),
        ("\u202egpj.yaml", "gpj.yaml"),
        ("..", "scenario.yaml"),
        ("", "scenario.yaml"),
        (None, "scenario.yaml"),
        ("a" * 300 + ".yaml", "a" * 90 + ".yaml"),
    ],
)
def test_the_uploaded_name_is_cleaned_before_it_is_shown(sent, shown):
    """Folders, odd characters and excess length never reach the page."""
    assert read_upload(sent, SCENARIO).yaml_name == shown


def test_an_empty_upload_is_refused():
    """Nothing sent is refused with what to do."""
    assert refusal("door.yaml", b"") == (
        "'door.yaml' is empty: choose the scenario's file again and upload it"
    )


def test_a_yaml_file_over_the_limit_is_refused_with_the_limit():
    """A scenario file over 1 MiB is refused before it is parsed."""
    message = refusal("big.yaml", b"# " + b"x" * (1024 * 1024))
    assert message.startswith("'big.yaml' is 1.1 MiB; a scenario file may be at most 1 MiB")
    assert "1,048,576 bytes" in message and "split it" in message


def test_content_not_the_name_decides_zip_or_yaml():
    """A zip named .yaml is read as a zip, and YAML named .zip as YAML."""
    assert read_upload("door.yaml", zipped({"door.yaml": SCENARIO})).yaml == SCENARIO
    assert read_upload("door.zip", SCENARIO).yaml_name == "door.zip"


@pytest.mark.parametrize(
    ("data", "told"),
    [
        (picture("PNG"), "'x' is a PNG picture, not a scenario: upload the scenario's .yaml"),
        (picture("WEBP"), "'x' is a WebP picture, not a scenario"),
        (b"%PDF-1.7\n", "'x' is a PDF document, not a scenario"),
        (b"Rar!\x1a\x07\x00", "'x' is a RAR archive: only .zip archives can be uploaded"),
    ],
)
def test_another_kind_of_file_is_named_for_what_it_is(data, told):
    """A picture, a document or another archive sent as the scenario is named."""
    assert refusal("x", data).startswith(told)


# A zip


def test_a_zip_gives_its_yaml_and_its_pictures():
    """The YAML file and the pictures beside it come back keyed by their src."""
    door, hall = picture("PNG"), picture("JPEG")
    upload = read_upload(
        "door.zip", zipped({"door.yaml": SCENARIO, "door.png": door, "hall.jpg": hall})
    )
    assert (upload.yaml_name, upload.yaml) == ("door.yaml", SCENARIO)
    assert upload.pictures == {"door.png": door, "hall.jpg": hall}
    assert upload.notes == []


def test_pictures_are_keyed_from_the_yaml_files_folder():
    """A zipped folder's pictures are keyed relative to the YAML; others are left out, noted."""
    data = zipped(
        {
            "doorstep/": b"",
            "doorstep/doorstep.yml": SCENARIO,
            "doorstep/img/door.png": picture(),
            "elsewhere/map.gif": picture("GIF"),
        }
    )
    upload = read_upload("doorstep.zip", data)
    assert upload.yaml_name == "doorstep/doorstep.yml"
    assert list(upload.pictures) == ["img/door.png"]
    assert upload.notes == [
        "left out 'elsewhere/map.gif': it is not in the folder of 'doorstep/doorstep.yml', "
        "so the scenario cannot show it"
    ]


def test_a_macs_hidden_files_are_left_out_without_a_note_and_others_with_one():
    """__MACOSX and dot-files are ignored silently; a stray document is noted."""
    data = zipped(
        {
            "door.yaml": SCENARIO,
            "__MACOSX/._door.yaml": b"\x00\x05\x16\x07",
            "._door.png": b"\x00\x05\x16\x07",
            ".DS_Store": b"\x00\x00\x00\x01Bud1",
            "notes.docx": b"PK",
        }
    )
    upload = read_upload("door.zip", data)
    assert upload.pictures == {}
    assert upload.notes == [
        "left out 'notes.docx': only the scenario's .yaml file and its .png, .jpg, .jpeg, "
        ".gif and .webp pictures are used"
    ]


def test_many_left_out_files_are_counted_in_one_note():
    """Notes stop at ten; the rest are counted."""
    upload = read_upload(
        "door.zip", zipped({"door.yaml": SCENARIO} | {f"n{i}.txt": b"x" for i in range(14)})
    )
    assert len(upload.notes) == 11 and upload.notes[-1] == "and 4 more files were left out"


def test_a_zip_with_two_yaml_files_is_refused_naming_both():
    """Two scenarios in one zip are refused with their names."""
    data = zipped({"a/door.yaml": SCENARIO, "b/hall.yml": SCENARIO})
    assert refusal("two.zip", data) == (
        "the zip holds 2 scenario files ('a/door.yaml', 'b/hall.yml'): upload one scenario "
        "at a time, each in its own zip with its pictures"
    )


def test_a_zip_without_a_yaml_file_is_refused():
    """A zip of pictures alone says the scenario file is missing."""
    assert refusal("pics.zip", zipped({"door.png": picture()})) == (
        "the zip holds no .yaml or .yml file: put the scenario's .yaml file in the zip, "
        "beside its pictures"
    )


def test_an_office_document_is_recognised():
    """A .docx is a zip; the person is told it looks like an Office document."""
    data = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    assert "no .yaml or .yml file (it looks like an Office document)" in refusal("s.docx", data)


@pytest.mark.parametrize(
    "name",
    ["../x.png", "/etc/x.png", "a\\b.png", "C:/x.png", "img/../../x.png", "__MACOSX/../x.png"],
)
def test_a_name_that_could_leave_the_zip_is_refused(name):
    """Traversal, absolute, drive-letter and backslash names refuse the whole zip."""
    data = zipped([("door.yaml", SCENARIO), (zipfile.ZipInfo(name), picture())])
    message = refusal("door.zip", data)
    assert message.startswith(f"the zip holds a file named '{name}', which could point outside")
    assert "use only '/' between folders and no '..'" in message


def test_a_name_with_a_hidden_character_is_refused_and_shown_escaped():
    """A NUL (which zipfile would cut the name at) is refused, and shown as an escape."""
    data = zipped({"door.yaml": SCENARIO, "door.pngQ.yaml": b"x"}, zipfile.ZIP_STORED)
    data = data.replace(b"door.pngQ.yaml", b"door.png\x00.yaml")
    assert "a file named 'door.png\\x00.yaml', which could point outside" in refusal("z.zip", data)


def test_a_symbolic_link_is_refused():
    """A member whose Unix mode is a link is refused, not followed."""
    link = zipfile.ZipInfo("door.png")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    data = zipped([("door.yaml", SCENARIO), (link, b"/etc/passwd")])
    assert refusal("door.zip", data) == (
        "'door.png' in the zip is a symbolic link, not a file: put the file itself in the zip"
    )


def test_an_encrypted_zip_is_refused():
    """A member with the encryption flag set refuses the zip with what to do."""
    data = zipped({"door.yaml": SCENARIO}, zipfile.ZIP_STORED)
    data = patched(data, b"PK\x03\x04", 6, b"\x01\x00")
    data = patched(data, b"PK\x01\x02", 8, b"\x01\x00")
    assert refusal("door.zip", data) == (
        "the zip is protected by a password: make it again without one and upload it"
    )


def test_a_zip_with_too_many_members_is_refused():
    """Entries past the limit are counted from the end record and refused."""
    data = zipped({"door.yaml": SCENARIO} | {f"f{i}.txt": b"" for i in range(MAX_ZIP_MEMBERS)})
    assert refusal("many.zip", data) == (
        f"the zip holds {MAX_ZIP_MEMBERS + 1} files and folders; the limit is "
        f"{MAX_ZIP_MEMBERS}: put in only the scenario's .yaml file and its pictures"
    )


def test_a_zip_with_too_many_pictures_is_refused():
    """More pictures than the limit are refused with the limit."""
    tiny = picture(size=(1, 1))
    data = zipped({"door.yaml": SCENARIO} | {f"p{i}.png": tiny for i in range(MAX_PICTURES + 1)})
    assert refusal("many.zip", data).startswith(
        f"the zip holds {MAX_PICTURES + 1} pictures; the limit is {MAX_PICTURES}"
    )


@pytest.mark.parametrize(
    ("first", "second", "told"),
    [
        ("door.png", "door.png", "two files named 'door.png':"),
        ("Door.png", "door.png", "two files named 'Door.png' and 'door.png':"),
        ("./img/door.png", "img//door.png", "two files named 'img/door.png':"),
    ],
)
def test_two_files_of_one_name_are_refused(first, second, told):
    """Names equal once normalised (or but for capitals) refuse the zip."""
    members = [("door.yaml", SCENARIO), (first, picture()), (second, picture("GIF"))]
    with pytest.warns(UserWarning) if first == second else contextlib.nullcontext():
        data = zipped(members)  # zipfile warns of a duplicate name, and writes it
    assert told in refusal("door.zip", data)


def test_a_mac_zips_utf8_names_are_read_as_written():
    """A name written in UTF-8 without the zip's UTF-8 flag is read as UTF-8, not cp437."""
    data = zipped({"door.yaml": SCENARIO, "cafXY.png": picture()}, zipfile.ZIP_STORED)
    data = data.replace(b"cafXY.png", "café.png".encode())
    upload = read_upload("door.zip", data)
    assert list(upload.pictures) == ["café.png"]
    assert picture_key(unicodedata.normalize("NFD", "café.png")) in upload.pictures


def claimed(data: bytes, size: int) -> bytes:
    """Return a zip whose last central directory entry claims ``size`` unpacked bytes."""
    entry = data.rindex(b"PK\x01\x02")
    return data[: entry + 24] + struct.pack("<I", size) + data[entry + 28 :]


def test_a_member_whose_header_understates_its_size_is_refused():
    """A header claiming 100 bytes for a bigger member is caught by its checksum, not trusted."""
    data = zipped({"door.yaml": SCENARIO, "door.png": noise(MAX_PICTURE_BYTES + 4096)})
    message = refusal("door.zip", claimed(data, 100))
    assert message.startswith("'door.png' in the zip is damaged (Bad CRC-32")
    assert message.endswith("make the zip again and upload it")


def test_a_member_whose_header_overstates_its_size_is_refused_before_reading():
    """A claimed size over the limit refuses the member without unpacking it."""
    data = zipped({"door.yaml": SCENARIO, "door.png": picture()})
    assert refusal("door.zip", claimed(data, 3 * 1024 * 1024)) == (
        "'door.png' in the zip is 3 MiB unpacked; a picture may be at most 2 MiB: make it smaller"
    )


def test_a_zip_bomb_is_refused_from_its_size():
    """20 MiB of zeros packed into kilobytes is refused for its size, without unpacking it."""
    data = zipped({"door.yaml": SCENARIO, "door.png": bytes(20 * 1024 * 1024)})
    assert len(data) < 64 * 1024
    assert refusal("bomb.zip", data) == (
        "'door.png' in the zip is 20 MiB unpacked; a picture may be at most 2 MiB: make it smaller"
    )


def test_a_zip_bomb_that_hides_its_size_stops_at_the_size_it_claims():
    """The same bomb claiming 1 MiB is read no further than that and refused as damaged."""
    data = zipped({"door.yaml": SCENARIO, "door.png": bytes(20 * 1024 * 1024)})
    assert "'door.png' in the zip is damaged (Bad CRC-32" in refusal("b.zip", claimed(data, MiB))


def test_a_member_packed_far_too_well_is_refused_as_a_bomb():
    """A member within the size limit that unpacks over 100 times its packed size is refused."""
    data = zipped({"door.yaml": SCENARIO, "door.png": bytes(3 * MiB // 2)})
    assert refusal("bomb.zip", data) == (
        "'door.png' in the zip unpacks to more than 100 times its packed size, as zip bombs "
        "do, so the zip was not read: if it is a real picture, save it again from a picture "
        "editor (PNG, JPEG, GIF and WebP files are already compressed)"
    )


def test_a_picture_over_the_limit_is_refused_with_the_limit():
    """A picture that does not compress, over 2 MiB, is refused with its size and the limit."""
    data = zipped({"door.yaml": SCENARIO, "door.png": noise(MAX_PICTURE_BYTES + 1)})
    assert refusal("door.zip", data) == (
        "'door.png' in the zip is 2.1 MiB unpacked; a picture may be at most 2 MiB: "
        "make it smaller"
    )


def test_a_yaml_file_in_a_zip_over_the_limit_is_refused():
    """The zip's scenario file is held to 1 MiB too."""
    data = zipped({"big.yaml": b"#" + noise(MiB).hex().encode()[:MiB]})
    assert refusal("big.zip", data) == (
        "'big.yaml' in the zip is 1.1 MiB unpacked; a scenario file may be at most 1 MiB: "
        "make it smaller"
    )


def test_the_unpacked_total_is_bounded(monkeypatch):
    """Members each within their limit may not together pass the unpacked total."""
    monkeypatch.setattr(uploads, "MAX_UNPACKED_BYTES", 100 * 1024)
    pictures = {f"p{i}.png": noise(40 * 1024) for i in range(3)}
    message = refusal("door.zip", zipped({"door.yaml": SCENARIO} | pictures))
    assert message.startswith("the scenario file and pictures in the zip come to 121 KiB unpacked")
    assert "the limit is 100 KiB" in message


def test_a_zip_over_the_upload_limit_is_refused():
    """A zip over 8 MiB is refused before it is opened."""
    message = refusal("huge.zip", b"PK\x03\x04" + bytes(MAX_UPLOAD_BYTES))
    assert message.startswith("'huge.zip' is 8.1 MiB; an upload may be at most 8 MiB")


def test_a_compression_method_without_a_bound_is_refused():
    """bzip2 and LZMA members are refused before anything is unpacked."""
    data = zipped({"door.yaml": SCENARIO}, zipfile.ZIP_BZIP2)
    assert refusal("door.zip", data).startswith(
        "'door.yaml' in the zip is packed with a compression method this site does not read"
    )


def test_a_damaged_zip_is_refused():
    """A zip cut short is refused as damaged."""
    data = zipped({"door.yaml": SCENARIO, "door.png": picture()})
    message = refusal("door.zip", data[: len(data) // 2])
    assert message.startswith("'door.zip' is a damaged or incomplete zip file (")
    assert message.endswith("make the zip again and upload it")


def test_picture_keys_match_the_src_as_written():
    """'./' and doubled slashes do not change which picture a src names."""
    assert picture_key("./img//door.png") == "img/door.png"


def test_a_picture_is_stored_under_its_sha256():
    """The digest is the hex SHA-256 of the bytes as uploaded."""
    data = picture()
    assert picture_digest(data) == hashlib.sha256(data).hexdigest()


# Pictures


@pytest.mark.parametrize(
    ("src", "kind", "media_type"),
    [
        ("img/door.png", "PNG", "image/png"),
        ("door.jpg", "JPEG", "image/jpeg"),
        ("door.JPEG", "JPEG", "image/jpeg"),
        ("door.gif", "GIF", "image/gif"),
        ("door.webp", "WEBP", "image/webp"),
    ],
)
def test_a_good_picture_passes_with_its_media_type_and_size(src, kind, media_type):
    """Each format decodes and is served as its own media type."""
    check = check_picture(src, picture(kind))
    assert (check.ok, check.problem, check.media_type) == (True, None, media_type)
    assert (check.src, check.width, check.height, check.frames) == (src, 12, 8, 1)


def test_a_truncated_png_is_damaged():
    """A PNG cut short is reported as damaged, with Pillow's words as detail."""
    noise = io.BytesIO()
    Image.effect_noise((200, 200), 60).save(noise, "PNG")
    assert check_picture("door.png", noise.getvalue()).ok
    check = check_picture("door.png", noise.getvalue()[:-300])
    assert not check.ok and check.problem.startswith("'door.png' is damaged or incomplete (")
    assert check.problem.endswith("open it in a picture editor, save it again and add it again")


def test_a_png_named_jpg_says_what_it_is_and_how_to_fix_it():
    """A picture whose content is not its suffix's format names both fixes."""
    check = check_picture("img/door.jpg", picture("PNG"))
    assert check.problem == (
        "'img/door.jpg' is not a JPEG picture: it looks like a PNG; save it as JPEG, or rename "
        "it to 'door.png' and change its src in the scenario to match"
    )


def test_random_bytes_are_not_a_picture():
    """Bytes no decoder knows are reported as unreadable."""
    check = check_picture("door.png", noise(4096))
    assert check.problem == (
        "'door.png' is not a picture this site can read: it is damaged, or not a PNG, JPEG, "
        "GIF or WebP file; save it again as PNG"
    )


def test_a_picture_over_the_pixel_limit_is_refused_before_decoding():
    """A tiny 1-bit PNG of 20 megapixels is refused (Pillow's warning is an error in tests)."""
    data = picture(size=(5000, 4000), mode="1")
    assert len(data) < 64 * 1024
    assert check_picture("map.png", data).problem == (
        "'map.png' has more than 16 megapixels; a picture may have at most 16 megapixels: "
        "scale it down"
    )


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_picture_over_the_pixel_limit_is_refused_when_warnings_are_not_errors():
    """Where Pillow's warning is only printed, the picture's own measure refuses it."""
    check = check_picture("map.png", picture(size=(5000, 4000), mode="1"))
    assert check.problem == (
        "'map.png' is 5,000 × 4,000 pixels (20.0 megapixels); a picture may have at most "
        "16 megapixels: scale it down"
    )


def test_a_picture_far_over_the_pixel_limit_is_refused_by_pillows_guard():
    """Past twice the limit Pillow refuses it itself; the person is told the same."""
    check = check_picture("map.png", picture(size=(6000, 6000), mode="1"))
    assert "has more than 16 megapixels" in check.problem


def test_a_picture_too_wide_is_refused():
    """A side over 6,000 pixels is refused even when the pixels are few."""
    check = check_picture("strip.png", picture(size=(7000, 2), mode="1"))
    assert check.problem == (
        "'strip.png' is 7,000 × 2 pixels; a side may be at most 6,000 pixels: scale it down"
    )


@pytest.mark.parametrize("kind", ["GIF", "WEBP"])
def test_an_animation_passes_with_its_frames_counted(kind):
    """An animated GIF or WebP decodes every frame."""
    check = check_picture(f"wave.{kind.lower()}", animation(kind))
    assert check.ok and check.frames == 5 and (check.width, check.height) == (20, 10)


def test_an_animation_over_the_pixel_limit_is_refused():
    """Every frame counts: five frames of four megapixels pass sixteen."""
    check = check_picture("wave.gif", animation(size=(2000, 2000), frames=5))
    assert check.problem == (
        "'wave.gif' is an animation of 5 or more frames of 2,000 × 2,000 pixels, 20.0 "
        "megapixels or more in all; an animation may have at most 16 megapixels over all "
        "its frames: use fewer or smaller frames"
    )


def test_an_animation_with_too_many_frames_is_refused():
    """Frames past the limit are not decoded."""
    check = check_picture("wave.gif", animation(size=(2, 2), frames=MAX_FRAMES + 1))
    assert check.problem == (
        f"'wave.gif' has more than {MAX_FRAMES} frames; an animation may have at most "
        f"{MAX_FRAMES}: use fewer frames"
    )


def test_a_picture_over_the_byte_limit_is_refused():
    """The byte limit holds for pictures from anywhere, not only from a zip."""
    check = check_picture("door.png", picture() + bytes(MAX_PICTURE_BYTES))
    assert check.problem == (
        "'door.png' is 2.1 MiB; a picture may be at most 2 MiB: make it smaller"
    )


@pytest.mark.parametrize(
    ("src", "data", "told"),
    [
        ("door.bmp", picture("BMP"), "'door.bmp' is not named .png, .jpg, .jpeg, .gif or .webp"),
        ("door", picture(), "'door' is not named .png"),
        ("door.png", b"", "'door.png' is empty: add the picture again"),
    ],
)
def test_a_picture_without_a_picture_name_or_bytes_is_refused(src, data, told):
    """A wrong suffix or no bytes is reported before decoding."""
    check = check_picture(src, data)
    assert not check.ok and check.problem.startswith(told)
