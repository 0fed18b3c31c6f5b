"""Upload checking (app/documents/files.py): type by content, sizes, zip bombs, XML bombs, names."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from app.documents import files
from app.documents.files import check_upload, sanitize_name
from app.documents.word_in import docx_to_markdown
from app.errors import ValidationError
from tests import docx_samples

ROOT = Path(__file__).resolve().parents[1]
CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="xml" ContentType="application/xml"/>'
      '<Override PartName="/word/document.xml" '
      'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
BOMB_MB = 256


def pdf_bytes() -> bytes:
    from weasyprint import HTML

    return HTML(string="<p>様式</p>").write_pdf()


def jpeg_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 90, 200)).save(out, "JPEG")
    return out.getvalue()


def xlsx_bytes() -> bytes:
    wb = Workbook()
    wb.active.append(["氏名", "住所"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 400


@pytest.fixture(scope="session")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real zip bomb named .docx: a 256 MiB word/document.xml deflated to about 1 MB."""
    path = tmp_path_factory.mktemp("bomb") / "手引き.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", CT)
        with z.open("word/document.xml", "w") as f:
            chunk = b"<w:t>" + b"A" * (1024 * 1024 - 5)
            for _ in range(BOMB_MB):
                f.write(chunk)
    return path


def lying(data: bytes, member: str, claimed: int) -> bytes:
    """The zip with `member`'s uncompressed size rewritten (local header and central directory)."""
    raw = bytearray(data)
    name = member.encode()
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = 0
        while (pos := raw.find(sig, pos)) >= 0:
            name_len_at = 26 if sig == b"PK\x03\x04" else 28
            n = struct.unpack("<H", raw[pos + name_len_at:pos + name_len_at + 2])[0]
            start = pos + (30 if sig == b"PK\x03\x04" else 46)
            if bytes(raw[start:start + n]) == name:
                raw[pos + size_at:pos + size_at + 4] = struct.pack("<I", claimed)
            pos += 4
    return bytes(raw)


def _script(code: str) -> str:
    """Run a check in a fresh interpreter: elapsed seconds and peak memory growth (MB)."""
    script = (
        "import json, resource, sys, time\n"
        "from app.documents import files, word_in\n"
        "from app.errors import ValidationError\n"
        f"data = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "t = time.perf_counter()\n"
        "try:\n"
        f"    {code}\n"
        "    message = None\n"
        "except ValidationError as err:\n"
        "    message = err.message\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'grown_mb': "
        "(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, 'message': message}))\n"
    )
    return script


def run_measured(code: str, path: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", _script(code), str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


# --- accepted -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "make", "code"), [
    ("申請書様式.pdf", pdf_bytes, "pdf"),
    ("窓口画面.png", docx_samples.png, "png"),
    ("写真.JPEG", jpeg_bytes, "jpg"),
    ("手引き.docx", docx_samples.manual_docx, "docx"),
    ("一覧表.xlsx", xlsx_bytes, "xlsx"),
])
def test_allowed_types_are_recognised_by_content(name: str, make, code: str) -> None:  # type: ignore[no-untyped-def]
    upload = check_upload(name, make())
    assert upload.kind.code == code
    assert upload.name.endswith(files.KINDS[code].extension)
    assert upload.name.split(".")[0] == name.split(".")[0]  # the Japanese name is kept


# --- refused, with the reason in plain Japanese ---------------------------------------------------

def test_executable_renamed_pdf_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        check_upload("申請書.pdf", EXE)
    assert err.value.message == "ファイル「申請書.pdf」はPDFではありません（中身はWindows の実行ファイル（.exe など）です）。登録できません。"


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("様式.docx", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "Linux の実行ファイル"),
    ("様式.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "古い形式の Office 文書（.doc / .xls）"),
    ("画面.png", b"GIF89a" + b"\x00" * 50, "GIF 画像"),
    ("様式.pdf", b"<html><script>alert(1)</script></html>", "HTML・XML などのテキスト"),
    ("様式.xlsx", b"#!/bin/sh\nrm -rf /\n", "スクリプト"),
])
def test_other_contents_are_named(name: str, data: bytes, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        check_upload(name, data)


def test_a_real_file_with_the_wrong_extension_says_which_it_is() -> None:
    with pytest.raises(ValidationError) as err:
        check_upload("様式.pdf", docx_samples.manual_docx())
    assert "名前が.pdfですが、中身はWord 文書（.docx）です" in err.value.message
    with pytest.raises(ValidationError, match="中身はPDFです"):
        check_upload("画面.png", pdf_bytes(), allowed=files.IMAGES)


def test_disallowed_extension_lists_what_is_allowed() -> None:
    with pytest.raises(ValidationError) as err:
        check_upload("setup.exe", EXE)
    assert "（.exe）は登録できません" in err.value.message and "PDF・Excel" in err.value.message


def test_file_over_the_limit_is_refused() -> None:
    data = b"%PDF-1.7\n" + b"0" * (10 * files.MB)
    with pytest.raises(ValidationError) as err:
        check_upload("大きな様式.pdf", data)
    assert err.value.message.startswith("ファイル「大きな様式.pdf」は10.0MBで、上限（10.0MB）を超えています。")
    assert check_upload("小さな様式.pdf", pdf_bytes(), limits=files.Limits(max_bytes=files.MB)).kind is files.PDF


def test_empty_file_is_refused() -> None:
    with pytest.raises(ValidationError, match="空です"):
        check_upload("様式.pdf", b"")


def test_macro_document_renamed_docx_is_refused() -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr("[Content_Types].xml", CT.replace("wordprocessingml.document.main", "x").replace(
            "application/vnd.openxmlformats-officedocument.x+xml", "application/vnd.ms-word.document.macroEnabled.main+xml"))
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/vbaProject.bin", b"\x00" * 10)
    with pytest.raises(ValidationError, match="マクロを含む Word 文書"):
        check_upload("様式.docx", data.getvalue())


def test_plain_zip_renamed_docx_is_refused() -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValidationError, match="中身はZIP 圧縮ファイルです"):
        check_upload("様式.docx", data.getvalue())


def test_too_many_members_is_refused() -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr("[Content_Types].xml", CT)
        for i in range(1001):
            z.writestr(f"word/media/x{i}.bin", b"")
    with pytest.raises(ValidationError, match="中のファイルの数が多すぎます（1002個、上限1000個）"):
        check_upload("様式.docx", data.getvalue())


def test_zip_bomb_docx_is_refused_fast_without_memory(bomb: Path) -> None:
    assert bomb.stat().st_size < 3 * files.MB
    for code in ("files.check_upload('手引き.docx', data)", "word_in.docx_to_markdown(data)"):
        result = run_measured(code, bomb)
        assert result["message"] and "圧縮爆弾の疑いがあるため受け付けません" in result["message"], result
        assert "256.0MB" in result["message"]
        assert result["seconds"] < 2, result
        assert result["grown_mb"] < 100, result


def test_zip_member_lying_about_its_size_is_refused_without_inflating_it(bomb: Path, tmp_path: Path) -> None:
    path = tmp_path / "lying.docx"
    path.write_bytes(lying(bomb.read_bytes(), "word/document.xml", 2000))
    assert zipfile.ZipFile(path).getinfo("word/document.xml").file_size == 2000
    result = run_measured("word_in.docx_to_markdown(data)", path)
    assert result["message"] and "壊れているため開けません" in result["message"], result
    assert result["seconds"] < 2 and result["grown_mb"] < 100, result


def test_xml_bomb_in_docx_is_refused() -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
              '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
              '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
              '<w:t>&lol3;</w:t></w:r></w:p></w:body></w:document>')
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("word/document.xml", laughs)
    assert check_upload("様式.docx", data.getvalue()).kind is files.DOCX  # a valid package …
    with pytest.raises(ValidationError, match="安全でない XML（DTD・エンティティ宣言）"):
        docx_to_markdown(data.getvalue())  # … whose text is never expanded


def test_xml_bomb_in_content_types_is_refused() -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><Types>&a;</Types>')
        z.writestr("word/document.xml", "<x/>")
    with pytest.raises(ValidationError, match="安全でない XML"):
        check_upload("様式.docx", data.getvalue())


def test_image_with_huge_dimensions_is_refused() -> None:
    png = bytearray(docx_samples.png())
    png[16:24] = struct.pack(">II", 60000, 60000)
    with pytest.raises(ValidationError, match="60000×60000ピクセル"):
        check_upload("画面.png", bytes(png))


def test_checks_are_quick_for_a_normal_file() -> None:
    data = docx_samples.manual_docx()
    started = time.perf_counter()
    for _ in range(20):
        check_upload("手引き.docx", data)
    assert time.perf_counter() - started < 2


# --- names ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "clean"), [
    ("申請書様式（第1号）.pdf", "申請書様式（第1号）.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\tanaka\\Desktop\\委任状.docx", "委任状.docx"),
    ("請求書\u202efdp.exe", "請求書fdp.exe"),  # right-to-left override: no disguised extension
    ("届出\x00\x07書.pdf", "届出書.pdf"),
    ("ガイド.pdf".replace("ガ", "カ\u3099"), "ガイド.pdf"),  # a Mac's decomposed kana, composed (NFC)
    ('様式<1>:"a|b"?*.xlsx', "様式1ab.xlsx"),
    ("   ..隠し.png  ", "隠し.png"),
    ("CON.pdf", "_CON.pdf"),
    ("....pdf", "file.pdf"),
    ("あ" * 300 + ".pdf", "あ" * 100 + ".pdf"),
    ("様式.PDF", "様式.pdf"),
])
def test_names_are_sanitised(raw: str, clean: str) -> None:
    assert sanitize_name(raw) == clean
