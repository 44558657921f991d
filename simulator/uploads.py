"""Read an uploaded scenario (a YAML file, or a zip of one with its pictures) and check pictures.

Pure: no Flask, no database. Nothing a person sends is trusted: the upload's name is only
ever shown (cleaned), never used as a path; a zip's names and sizes are checked before
anything is read, and every member is read through a bound, whatever its header says.
"""

import io
import math
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from hashlib import sha256

from PIL import Image

from .scenario.schema import IMAGE_SUFFIXES
from .scenario.yamlsafe import MAX_BYTES

KiB, MiB = 1024, 1024 * 1024
MAX_UPLOAD_BYTES = 8 * MiB  # the whole upload, as sent
MAX_PICTURE_BYTES = 2 * MiB  # each picture
MAX_PICTURES = 40
MAX_PIXELS = 16_000_000  # of one picture, every frame of an animation counted
MAX_SIDE = 6_000  # pixels, width or height
MAX_FRAMES = 200  # of an animation; bounds the work as well as the pixels
MAX_ZIP_MEMBERS = 200  # files and folders; a Mac's zip doubles the files with "._" copies
MAX_UNPACKED_BYTES = 16 * MiB  # the YAML and pictures of a zip together, unpacked
MAX_RATIO = 100  # unpacked to packed, past RATIO_FLOOR: a picture is already compressed
RATIO_FLOOR = 256 * KiB
YAML_SUFFIXES = (".yaml", ".yml")
# Deflate's decompressor is given a bound for every read; zipfile gives bzip2's and LZMA's
# none, so a few packed kilobytes of those could unpack to gigabytes in one call.
READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WEBP"}
FORMAT_WORDS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WebP"}
FORMAT_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_PILLOW_FORMATS = tuple(FORMAT_WORDS)  # only these decoders ever see an upload's bytes
MAX_NOTES = 10
_CHUNK = 64 * KiB
_UTF8_NAME = 0x800
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_NOT_SCENARIOS = (
    (b"\x89PNG\r\n\x1a\n", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a Microsoft Office document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)
# Pillow's own guard (a warning past this many pixels, an error past twice as many) is a
# backstop: check_picture measures every frame against MAX_PIXELS before decoding it, so the
# outcome never depends on how the process filters warnings. Set once, never toggled.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
_BOMBS = (Image.DecompressionBombError, Image.DecompressionBombWarning)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error)


class UploadRefused(Exception):
    """An upload that cannot be read: the message says what happened and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Upload:
    """A scenario file as uploaded, its pictures keyed by src, and notes on what was left out."""

    yaml_name: str
    yaml: bytes
    pictures: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PictureCheck:
    """What decoding a picture found: its media type and size, or the problem in words."""

    src: str
    ok: bool
    media_type: str | None = None
    width: int | None = None
    height: int | None = None
    problem: str | None = None
    frames: int = 0


class _Problem(Exception):
    """A picture's problem, raised inside check_picture and returned as its PictureCheck."""


def size_in_words(count: int) -> str:
    """Return a byte count as people read it, rounded up so it never looks within a limit."""
    if count >= MiB:
        amount = f"{math.ceil(count * 10 / MiB) / 10:g}"
        return f"{amount} MiB"
    if count >= KiB:
        return f"{math.ceil(count / KiB)} KiB"
    return f"{count:,} bytes"


def limits_in_words() -> list[str]:
    """Return the upload limits as short sentences for the upload page."""
    return [
        f"Upload a scenario's .yaml file of at most {size_in_words(MAX_BYTES)}, or a .zip file "
        f"of at most {size_in_words(MAX_UPLOAD_BYTES)} holding that file and its pictures.",
        f"A zip holds one .yaml file, at most {MAX_PICTURES} pictures in that file's folder or "
        f"in folders inside it, and at most {MAX_ZIP_MEMBERS} files in all "
        f"({size_in_words(MAX_UNPACKED_BYTES)} unpacked); other files are left out.",
        f"Pictures are PNG, JPEG, GIF or WebP files of at most "
        f"{size_in_words(MAX_PICTURE_BYTES)} each, at most {MAX_SIDE:,} pixels wide or high "
        f"and {MAX_PIXELS // 1_000_000} megapixels in all.",
        f"An animated GIF or WebP may have at most {MAX_FRAMES} frames, and every frame counts "
        "towards its megapixels.",
    ]


def safe_name(filename: str | None) -> str:
    """Return an uploaded file's name fit to show: no folders, no odd characters, not too long."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", filename or ""))[-1]
    kept = "".join(c if c.isalnum() or c in " .-_()" else "_" for c in base)
    kept = re.sub(r"_{2,}", "_", kept).strip(" ._")
    if len(kept) > 100:
        stem, dot, suffix = kept.rpartition(".")
        kept = f"{stem[:90]}.{suffix[:9]}" if dot and len(suffix) <= 9 else kept[:100]
    return kept or "scenario.yaml"


def shown(name: str) -> str:
    """Return a name from inside a zip, shortened if need be, for a message."""
    return name if len(name) <= 120 else name[:117] + "..."


def picture_key(src: str) -> str:
    """Return the key under which Upload.pictures holds the picture an image's src names."""
    parts = unicodedata.normalize("NFC", src).split("/")
    return "/".join(part for part in parts if part not in ("", "."))


def picture_digest(data: bytes) -> str:
    """Return the hex SHA-256 under which a picture's bytes are stored, exactly as uploaded."""
    return sha256(data).hexdigest()


def read_upload(filename: str | None, data: bytes) -> Upload:
    """Read an upload into its YAML and pictures, or raise UploadRefused saying why."""
    name = safe_name(filename)
    if not data:
        raise UploadRefused(f"'{name}' is empty: choose the scenario's file again and upload it")
    if data.startswith(_ZIP_MAGIC):
        return _read_zip(name, data)
    for magic, kind in _NOT_SCENARIOS:
        if data.startswith(magic):
            raise UploadRefused(_not_a_scenario(name, kind))
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        raise UploadRefused(_not_a_scenario(name, "a WebP picture"))
    if len(data) > MAX_BYTES:
        raise UploadRefused(
            f"'{name}' is {size_in_words(len(data))}; a scenario file may be at most "
            f"{size_in_words(MAX_BYTES)} ({MAX_BYTES:,} bytes): split it into smaller scenarios"
        )
    return Upload(name, data)


def _not_a_scenario(name: str, kind: str) -> str:
    """Say that an upload is some other kind of file and what to upload instead."""
    if kind.endswith("archive"):
        return (
            f"'{name}' is {kind}: only .zip archives can be uploaded; make a .zip of the "
            "scenario's .yaml file and its pictures"
        )
    return (
        f"'{name}' is {kind}, not a scenario: upload the scenario's .yaml file, or a .zip "
        "of it with its pictures"
    )


def _read_zip(name: str, data: bytes) -> Upload:
    """Read a zip's one YAML file and the pictures in its folder, within every limit."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(
            f"'{name}' is {size_in_words(len(data))}; an upload may be at most "
            f"{size_in_words(MAX_UPLOAD_BYTES)}: make the pictures smaller, or leave out "
            "those the scenario does not use"
        )
    _refuse_many_members(_declared_members(data))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (*_ZIP_ERRORS, NotImplementedError) as exc:
        raise UploadRefused(_damaged(name, exc)) from None
    with archive:
        members = archive.infolist()
        _refuse_many_members(len(members))
        files, notes = _sorted_members(members)
        yaml_name, yaml_info = _one_yaml(files, members)
        pictures = _pictures_beside(yaml_name, files, notes)
        wanted = {name: files[name] for name in (yaml_name, *pictures.values())}
        _refuse_unreadable(wanted)
        read = {name: _read_member(archive, info, name) for name, info in wanted.items()}
    _refuse_unpacked(sum(map(len, read.values())))
    found = {key: read[name] for key, name in pictures.items()}
    return Upload(yaml_name, read[yaml_name], found, _capped(notes))


def _damaged(name: str, exc: Exception) -> str:
    """Say that a zip cannot be read, with the reader's own words as detail."""
    return (
        f"'{name}' is a damaged or incomplete zip file ({exc}): make the zip again and upload it"
    )


def _declared_members(data: bytes) -> int:
    """Return how many entries a zip's end record declares, before any entry is parsed."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65_535))
    if end < 0 or end + 22 > len(data):
        return 0
    count = int.from_bytes(data[end + 10 : end + 12], "little")
    return 0 if count == 0xFFFF else count  # a Zip64 count is checked once parsed


def _refuse_many_members(count: int) -> None:
    """Refuse a zip with more entries than MAX_ZIP_MEMBERS."""
    if count > MAX_ZIP_MEMBERS:
        raise UploadRefused(
            f"the zip holds {count:,} files and folders; the limit is {MAX_ZIP_MEMBERS}: put "
            "in only the scenario's .yaml file and its pictures"
        )


def _member_name(info: zipfile.ZipInfo) -> str:
    """Return a member's name as its maker meant it, checked safe, or raise UploadRefused."""
    name = info.orig_filename
    if not info.flag_bits & _UTF8_NAME:
        try:  # a Mac writes UTF-8 names without saying so; zipfile then reads them as cp437
            name = name.encode("cp437").decode("utf-8")
        except UnicodeError:
            pass
    name = unicodedata.normalize("NFC", name)
    unsafe = (
        "\\" in name
        or name.startswith("/")
        or re.match(r"^[A-Za-z]:", name)
        or ".." in name.split("/")
        or any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name)
    )
    if unsafe:
        raise UploadRefused(
            f"the zip holds a file named '{shown(_escaped(name))}', "
            "which could point outside the zip or hide what it is: make the zip again from "
            "the scenario's folder, with names that use only '/' between folders and no '..'"
        )
    return picture_key(name)


def _escaped(name: str) -> str:
    """Return a name with its control and invisible characters written as escapes."""
    return "".join(
        c.encode("unicode_escape").decode() if unicodedata.category(c)[0] == "C" else c
        for c in name
    )


def _ignored(name: str) -> bool:
    """Tell whether a member is a Mac's or a tool's hidden file, left out without a note."""
    parts = name.split("/")
    return parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts)


def _sorted_members(members: list[zipfile.ZipInfo]) -> tuple[dict, list[str]]:
    """Return the zip's ordinary files by normalised name, and notes on those left out."""
    files: dict[str, zipfile.ZipInfo] = {}
    seen: dict[str, str] = {}
    notes: list[str] = []
    for info in members:
        name = _member_name(info)
        if info.flag_bits & 0x1:
            raise UploadRefused(
                "the zip is protected by a password: make it again without one and upload it"
            )
        if info.is_dir() or not name or _ignored(name):
            continue
        _refuse_special(info, name)
        _refuse_twin(seen, name)
        if name.lower().endswith(YAML_SUFFIXES + IMAGE_SUFFIXES):
            files[name] = info
        else:
            notes.append(
                f"left out '{shown(name)}': only the scenario's .yaml file and its .png, "
                ".jpg, .jpeg, .gif and .webp pictures are used"
            )
    return files, notes


def _refuse_twin(seen: dict[str, str], name: str) -> None:
    """Refuse a second file of one name, capital letters aside, and remember this one."""
    twin = seen.get(name.casefold())
    if twin is not None:
        both = f"'{shown(name)}'" if twin == name else f"'{shown(twin)}' and '{shown(name)}'"
        raise UploadRefused(
            f"the zip holds two files named {both}: give each file its own name (names that "
            "differ only in capital letters count as one)"
        )
    seen[name.casefold()] = name


def _refuse_special(info: zipfile.ZipInfo, name: str) -> None:
    """Refuse a symbolic link or other special file, told apart by its Unix mode."""
    kind = (info.external_attr >> 16) & 0o170000
    if kind == 0o120000:
        raise UploadRefused(
            f"'{shown(name)}' in the zip is a symbolic link, not a file: put the file itself "
            "in the zip"
        )
    if kind not in (0, 0o100000):
        raise UploadRefused(
            f"'{shown(name)}' in the zip is not an ordinary file: put only the scenario's "
            ".yaml file and its pictures in the zip"
        )


def _one_yaml(files: dict, members: list[zipfile.ZipInfo]) -> tuple[str, zipfile.ZipInfo]:
    """Return the zip's one YAML file, or refuse a zip with none or several."""
    found = [name for name in files if name.lower().endswith(YAML_SUFFIXES)]
    if not found:
        office = any(info.filename == "[Content_Types].xml" for info in members)
        raise UploadRefused(
            "the zip holds no .yaml or .yml file"
            + (" (it looks like an Office document)" if office else "")
            + ": put the scenario's .yaml file in the zip, beside its pictures"
        )
    if len(found) > 1:
        listed = ", ".join(f"'{shown(name)}'" for name in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        raise UploadRefused(
            f"the zip holds {len(found)} scenario files ({listed}{more}): upload one "
            "scenario at a time, each in its own zip with its pictures"
        )
    return found[0], files[found[0]]


def _pictures_beside(yaml_name: str, files: dict, notes: list[str]) -> dict[str, str]:
    """Return the names of the pictures in the YAML file's folder or below, keyed by src."""
    folder = yaml_name.rpartition("/")[0]
    prefix = f"{folder}/" if folder else ""
    pictures = {}
    for name in files:
        if not name.lower().endswith(IMAGE_SUFFIXES):
            continue
        if name.startswith(prefix):
            pictures[name[len(prefix) :]] = name
        else:
            notes.append(
                f"left out '{shown(name)}': it is not in the folder of '{shown(yaml_name)}', "
                "so the scenario cannot show it"
            )
    if len(pictures) > MAX_PICTURES:
        raise UploadRefused(
            f"the zip holds {len(pictures)} pictures; the limit is {MAX_PICTURES}: leave out "
            "those the scenario does not use"
        )
    return pictures


def _refuse_unreadable(wanted: dict[str, zipfile.ZipInfo]) -> None:
    """Refuse, before reading, members packed in a way not read here or declared too big."""
    for name, info in wanted.items():
        if info.compress_type not in READABLE_METHODS:
            raise UploadRefused(
                f"'{shown(name)}' in the zip is packed with a compression method this site "
                "does not read: make the zip again with the usual one (Deflate), as Windows, "
                "macOS and most zip tools do"
            )
        limit, kind = _limit(name)
        if info.file_size > limit:
            raise UploadRefused(_too_big(name, size_in_words(info.file_size), limit, kind))
    _refuse_unpacked(sum(info.file_size for info in wanted.values()))


def _limit(name: str) -> tuple[int, str]:
    """Return the most bytes a member may unpack to, and what it is, for messages."""
    if name.lower().endswith(YAML_SUFFIXES):
        return MAX_BYTES, "a scenario file"
    return MAX_PICTURE_BYTES, "a picture"


def _refuse_unpacked(total: int) -> None:
    """Refuse a zip whose YAML file and pictures come to more than MAX_UNPACKED_BYTES."""
    if total > MAX_UNPACKED_BYTES:
        raise UploadRefused(
            f"the scenario file and pictures in the zip come to {size_in_words(total)} "
            f"unpacked; the limit is {size_in_words(MAX_UNPACKED_BYTES)}: make the pictures "
            "smaller, or leave out those the scenario does not use"
        )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """Read one member, never more than its limit + 1 bytes, refusing a bomb as it unpacks."""
    limit, kind = _limit(name)
    chunks, size = [], 0
    try:
        with archive.open(info) as stream:
            while size <= limit:
                chunk = stream.read(min(_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
                    raise UploadRefused(_bomb(name))
    except (*_ZIP_ERRORS, NotImplementedError, RuntimeError) as exc:
        raise UploadRefused(
            f"'{shown(name)}' in the zip is damaged ({exc}): make the zip again and upload it"
        ) from None
    if size > limit:  # its header understated its size
        raise UploadRefused(_too_big(name, f"more than {size_in_words(limit)}", limit, kind))
    return b"".join(chunks)


def _too_big(name: str, size: str, limit: int, kind: str) -> str:
    """Say that a member unpacks to more than its limit."""
    return (
        f"'{shown(name)}' in the zip is {size} unpacked; {kind} may be at most "
        f"{size_in_words(limit)}: make it smaller"
    )


def _bomb(name: str) -> str:
    """Say that a member unpacks suspiciously far, as zip bombs do."""
    return (
        f"'{shown(name)}' in the zip unpacks to more than {MAX_RATIO} times its packed size, "
        "as zip bombs do, so the zip was not read: if it is a real picture, save it again "
        "from a picture editor (PNG, JPEG, GIF and WebP files are already compressed)"
    )


def _capped(notes: list[str]) -> list[str]:
    """Return at most MAX_NOTES notes, the rest counted in one more."""
    if len(notes) <= MAX_NOTES:
        return notes
    return [*notes[:MAX_NOTES], f"and {len(notes) - MAX_NOTES} more files were left out"]


def check_picture(src: str, data: bytes) -> PictureCheck:
    """Decode a picture fully, within the limits, and say whether it may be shown."""
    name = shown(src)
    expected = FORMATS.get("." + src.rpartition(".")[2].lower()) if "." in src else None
    if expected is None:
        problem = (
            f"'{name}' is not named .png, .jpg, .jpeg, .gif or .webp: only those can be shown"
        )
        return PictureCheck(src, False, problem=problem)
    try:
        return _decoded(src, name, expected, data)
    except _Problem as problem:
        return PictureCheck(src, False, problem=str(problem))


def _decoded(src: str, name: str, expected: str, data: bytes) -> PictureCheck:
    """Return the check of a picture that decodes, or raise _Problem."""
    if not data:
        raise _Problem(f"'{name}' is empty: add the picture again")
    if len(data) > MAX_PICTURE_BYTES:
        raise _Problem(
            f"'{name}' is {size_in_words(len(data))}; a picture may be at most "
            f"{size_in_words(MAX_PICTURE_BYTES)}: make it smaller"
        )
    found = _verified_format(name, expected, data)
    if found != expected:
        raise _Problem(_mismatch(src, name, expected, found))
    width, height, frames = _decode_frames(name, data)
    return PictureCheck(src, True, MEDIA_TYPES[found], width, height, frames=frames)


def _verified_format(name: str, expected: str, data: bytes) -> str:
    """Return the format Pillow finds, once verify() has checked the file's structure."""
    try:
        with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS) as image:
            found = "JPEG" if image.format == "MPO" else image.format
            _within_limits(name, image.size, image.width * image.height, 1)
            image.verify()
    except _Problem:
        raise
    except Image.UnidentifiedImageError:
        raise _Problem(
            f"'{name}' is not a picture this site can read: it is damaged, or not a PNG, "
            f"JPEG, GIF or WebP file; save it again as {FORMAT_WORDS[expected]}"
        ) from None
    except _BOMBS:
        raise _Problem(_too_many_pixels(name)) from None
    except Exception as exc:  # Pillow's plugins raise many kinds for a damaged file
        raise _Problem(_broken(name, exc)) from None
    return found


def _decode_frames(name: str, data: bytes) -> tuple[int, int, int]:
    """Decode every frame's pixels, each measured before it is decoded; return size and frames."""
    try:
        with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS) as image:
            width, height = image.size
            pixels, frames = 0, 0
            while True:
                frames += 1
                pixels += image.width * image.height
                _within_limits(name, image.size, pixels, frames)
                image.load()
                try:
                    image.seek(frames)
                except EOFError:
                    return width, height, frames
    except _Problem:
        raise
    except _BOMBS:
        raise _Problem(_too_many_pixels(name)) from None
    except Exception as exc:  # Pillow's plugins raise many kinds for a damaged file
        raise _Problem(_broken(name, exc)) from None


def _within_limits(name: str, size: tuple[int, int], pixels: int, frames: int) -> None:
    """Raise _Problem when a frame's sides, the pixels so far or the frames pass a limit."""
    width, height = size
    if max(width, height) > MAX_SIDE:
        raise _Problem(
            f"'{name}' is {width:,} × {height:,} pixels; a side may be at most {MAX_SIDE:,} "
            "pixels: scale it down"
        )
    if frames > MAX_FRAMES:
        raise _Problem(
            f"'{name}' has more than {MAX_FRAMES} frames; an animation may have at most "
            f"{MAX_FRAMES}: use fewer frames"
        )
    if pixels > MAX_PIXELS and frames == 1:
        raise _Problem(
            f"'{name}' is {width:,} × {height:,} pixels ({pixels / 1e6:.1f} megapixels); a "
            f"picture may have at most {MAX_PIXELS / 1e6:g} megapixels: scale it down"
        )
    if pixels > MAX_PIXELS:
        raise _Problem(
            f"'{name}' is an animation of {frames} or more frames of {width:,} × {height:,} "
            f"pixels, {pixels / 1e6:.1f} megapixels or more in all; an animation may have at "
            f"most {MAX_PIXELS / 1e6:g} megapixels over all its frames: use fewer or smaller "
            "frames"
        )


def _too_many_pixels(name: str) -> str:
    """Say that a picture declares more pixels than Pillow's guard allows."""
    return (
        f"'{name}' has more than {MAX_PIXELS / 1e6:g} megapixels; a picture may have at most "
        f"{MAX_PIXELS / 1e6:g} megapixels: scale it down"
    )


def _broken(name: str, exc: Exception) -> str:
    """Say that a picture is damaged, with Pillow's own words as detail."""
    detail = str(exc) or type(exc).__name__
    return (
        f"'{name}' is damaged or incomplete ({detail}): open it in a picture editor, save it "
        "again and add it again"
    )


def _mismatch(src: str, name: str, expected: str, found: str) -> str:
    """Say that a picture's content is another format than its name's suffix says."""
    stem = src.rpartition("/")[2].rpartition(".")[0]
    return (
        f"'{name}' is not a {FORMAT_WORDS[expected]} picture: it looks like a "
        f"{FORMAT_WORDS[found]}; save it as {FORMAT_WORDS[expected]}, or rename it to "
        f"'{stem}{FORMAT_SUFFIX[found]}' and change its src in the scenario to match"
    )
